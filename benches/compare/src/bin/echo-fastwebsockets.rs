//! Echo server on fastwebsockets, on a single-threaded tokio runtime.
//!
//! fastwebsockets leaves the HTTP upgrade to hyper; to keep hyper out of
//! the comparison, the opening handshake is done by rfc6455's sans-IO
//! `ServerUpgrade` and the upgraded stream is then handed to
//! fastwebsockets. Only the messages that follow are measured.
//!
//! ```sh
//! echo-fastwebsockets [ADDR]   # default 127.0.0.1:9003
//! ```

use fastwebsockets::{FragmentCollector, Frame, OpCode, Role, WebSocket};
use rfc6455::{AcceptOptions, Config, ServerUpgrade};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Read the upgrade request and write the `101` response.
async fn handshake(stream: &mut TcpStream) -> Option<()> {
    let mut upgrade = ServerUpgrade::new(Config::default());
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        if let Some(request) = upgrade.receive(&buf[..n]).ok()? {
            // The client sends no frame before it has the response.
            if !upgrade.leftover().is_empty() {
                return None;
            }
            let (response, _) = upgrade.accept(&request, AcceptOptions::default());
            stream.write_all(&response).await.ok()?;
            return Some(());
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        eprintln!(
            "echo-fastwebsockets listening on ws://{}",
            listener.local_addr()?
        );
        loop {
            let (mut stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                if handshake(&mut stream).await.is_none() {
                    return;
                }
                let mut ws = WebSocket::after_handshake(stream, Role::Server);
                ws.set_max_message_size(64 << 20);
                let mut ws = FragmentCollector::new(ws);
                while let Ok(frame) = ws.read_frame().await {
                    match frame.opcode {
                        // Pings are answered by read_frame().
                        OpCode::Text | OpCode::Binary => {
                            let echo = Frame::new(true, frame.opcode, None, frame.payload);
                            if ws.write_frame(echo).await.is_err() {
                                return;
                            }
                        }
                        OpCode::Close => return,
                        _ => {}
                    }
                }
            });
        }
    })
}
