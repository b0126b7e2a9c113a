//! Echo server on tungstenite: a thread per connection, blocking I/O (the
//! crate's own model, and the same shape as rfc6455's examples/echo-server).
//!
//! ```sh
//! echo-tungstenite [ADDR]   # default 127.0.0.1:9002
//! ```

use std::net::TcpListener;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::Message;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(&addr)?;
    eprintln!(
        "echo-tungstenite listening on ws://{}",
        listener.local_addr()?
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let config = WebSocketConfig::default()
                .max_message_size(Some(64 << 20))
                .max_frame_size(Some(64 << 20));
            let Ok(mut ws) = tungstenite::accept_with_config(stream, Some(config)) else {
                return;
            };
            loop {
                match ws.read() {
                    Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                        if ws.send(message).is_err() {
                            return;
                        }
                    }
                    // Pings are answered and closes replied to by read().
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
    }
    Ok(())
}
