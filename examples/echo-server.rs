//! A thread-per-connection echo server.
//!
//! ```sh
//! cargo run --release --example echo-server -- 127.0.0.1:9001
//! ```
//! Echoes text and binary messages up to 64 MiB; answers pings; closes
//! cleanly when the client does, echoing its close code.
//!
//! Two small additions let interop tests (tests/interop/) check what a plain
//! echo cannot show:
//!
//! - **Subprotocol**: if the client offers `echo` among its subprotocols,
//!   the server selects it; any other offer is left unanswered, as RFC 6455
//!   §4.2.2 allows.
//! - **Server-initiated close**: a request path with `?close=CODE` (and
//!   optionally `&reason=TEXT`, letters, digits and `-` only) makes the
//!   server close with that code and reason right after echoing the first
//!   message, so a peer can see a close that the server started.

use rfc6455::{blocking, AcceptOptions, CloseCode, Config, Error, Request};
use std::net::TcpListener;

/// The one subprotocol this server speaks.
const PROTOCOL: &str = "echo";

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
            let mut close_after_first = None;
            let accepted = blocking::accept_with(stream, config, |request| {
                close_after_first = requested_close(request);
                Ok(AcceptOptions {
                    protocol: request
                        .protocols
                        .iter()
                        .find(|p| p.as_str() == PROTOCOL)
                        .cloned(),
                    ..AcceptOptions::default()
                })
            });
            let mut ws = match accepted {
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
                        if let Some((code, reason)) = close_after_first.take() {
                            if let Err(e) = ws.close(code, &reason) {
                                eprintln!("{peer:?}: close failed: {e}");
                                return;
                            }
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

/// The close asked for in the query (`?close=4002&reason=bye`), if the code
/// is one that may be sent and the reason needs no decoding.
fn requested_close(request: &Request) -> Option<(CloseCode, String)> {
    let mut code = None;
    let mut reason = String::new();
    for pair in request.query()?.split('&') {
        match pair.split_once('=') {
            Some(("close", value)) => code = value.parse::<u16>().ok().map(CloseCode),
            Some(("reason", value)) => reason = value.into(),
            _ => {}
        }
    }
    let plain = reason
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    code.filter(|c| c.is_valid_on_wire() && plain)
        .map(|c| (c, reason))
}
