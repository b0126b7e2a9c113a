//! The Autobahn testsuite's testee in server mode (`wstest -m fuzzingclient`).
//!
//! ```sh
//! cargo run --release --example autobahn-server -- 127.0.0.1:9011
//! ```
//! An echo server with every feature the crate has enabled and limits large
//! enough for section 9 (16 MiB frames and messages).

use rfc6455::{blocking, Config, Error};
use std::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9011".into());
    let listener = TcpListener::bind(&addr)?;
    eprintln!(
        "autobahn-server listening on ws://{}",
        listener.local_addr()?
    );
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let config = Config::default().with_max_size(16 << 20);
            let Ok(mut ws) = blocking::accept_with(stream, config, |_| Ok(Default::default()))
            else {
                return;
            };
            loop {
                match ws.read() {
                    Ok(message) => {
                        if ws.send(message).is_err() {
                            return;
                        }
                    }
                    Err(Error::Closed { .. }) => return,
                    Err(_) => return,
                }
            }
        });
    }
    Ok(())
}
