//! A thread-per-connection echo server.
//!
//! ```sh
//! cargo run --release --example echo-server -- 127.0.0.1:9001
//! ```
//! Echoes text and binary messages up to 64 MiB; answers pings; closes
//! cleanly when the client does.

use rfc6455::{blocking, Config, Error};
use std::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    eprintln!("echo-server listening on ws://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        std::thread::spawn(move || {
            let peer = stream.peer_addr().ok();
            let _ = stream.set_nodelay(true);
            let config = Config::default().with_max_size(64 << 20);
            let mut ws = match blocking::accept_with(stream, config, |_| Ok(Default::default())) {
                Ok(ws) => ws,
                Err(e) => {
                    eprintln!("{peer:?}: handshake failed: {e}");
                    return;
                }
            };
            loop {
                match ws.read() {
                    Ok(message) => {
                        if let Err(e) = ws.send(message) {
                            eprintln!("{peer:?}: send failed: {e}");
                            return;
                        }
                    }
                    Err(Error::Closed { .. }) => return,
                    Err(e) => {
                        eprintln!("{peer:?}: {e}");
                        return;
                    }
                }
            }
        });
    }
    Ok(())
}
