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

#[path = "../single_thread.rs"]
mod single_thread;

use fastwebsockets::{FragmentCollector, Frame, OpCode, Role, WebSocket};
use rfc6455::{AcceptOptions, Config, ServerUpgrade};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
    single_thread::serve(
        "echo-fastwebsockets",
        "127.0.0.1:9003",
        |mut stream| async move {
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
        },
    )
}
