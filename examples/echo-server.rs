//! A thread-per-connection echo server, over `ws://` or `wss://`.
//!
//! ```sh
//! cargo run --release --example echo-server -- 127.0.0.1:9001
//! cargo run --release --features rustls --example echo-server -- \
//!     127.0.0.1:9443 --tls cert.pem key.pem
//! ```
//! Echoes text and binary messages up to 64 MiB; answers pings; closes
//! cleanly when the client does, echoing its close code. `--tls CERT KEY`
//! (feature `rustls`) serves `wss://` with PEM files: the certificate
//! chain, leaf first, and its private key.
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

use rfc6455::blocking::{self, BlockingTransport, Rejection, WebSocket};
use rfc6455::{AcceptOptions, CloseCode, Config, Error, Request};
use std::net::TcpListener;
use std::process::ExitCode;

#[path = "support/close_request.rs"]
mod close_request;
use close_request::requested_close;

#[path = "support/pem_server_config.rs"]
mod pem_server_config;

/// The one subprotocol this server speaks.
const PROTOCOL: &str = "echo";

const USAGE: &str = "usage: echo-server [ADDR] [--tls CERT.pem KEY.pem]";

struct Args {
    addr: String,
    tls: Option<(String, String)>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut addr = None;
    let mut tls = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tls" => {
                let (Some(cert), Some(key)) = (args.next(), args.next()) else {
                    return Err("--tls needs two files: CERT.pem KEY.pem".into());
                };
                if tls.replace((cert, key)).is_some() {
                    return Err("--tls given twice".into());
                }
            }
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ => {
                if addr.replace(arg).is_some() {
                    return Err("more than one address".into());
                }
            }
        }
    }
    Ok(Args {
        addr: addr.unwrap_or_else(|| "127.0.0.1:9001".into()),
        tls,
    })
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("echo-server: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let acceptor = match &args.tls {
        None => Acceptor::Plain,
        Some((cert, key)) => match pem_server_config::server_config(cert, key) {
            #[cfg(feature = "rustls")]
            Ok(config) => Acceptor::Tls(config),
            #[cfg(not(feature = "rustls"))]
            Ok(never) => match never {},
            Err(e) => {
                eprintln!("echo-server: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    match serve(&args.addr, acceptor) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How a new TCP connection becomes a WebSocket.
#[derive(Clone)]
enum Acceptor {
    Plain,
    #[cfg(feature = "rustls")]
    Tls(std::sync::Arc<rfc6455::rustls::ServerConfig>),
}

fn serve(addr: &str, acceptor: Acceptor) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    let scheme = match acceptor {
        Acceptor::Plain => "ws",
        #[cfg(feature = "rustls")]
        Acceptor::Tls(_) => "wss",
    };
    eprintln!(
        "echo-server listening on {scheme}://{}",
        listener.local_addr()?
    );
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        std::thread::spawn(move || {
            let peer = stream.peer_addr().ok();
            let mut close_after_first = None;
            let decide = |request: &Request| {
                close_after_first = requested_close(request);
                choose(request)
            };
            let result = match acceptor {
                Acceptor::Plain => blocking::accept_with(stream, config(), decide)
                    .and_then(|ws| echo(ws, close_after_first)),
                #[cfg(feature = "rustls")]
                Acceptor::Tls(tls) => blocking::accept_tls_with(stream, tls, config(), decide)
                    .and_then(|ws| echo(ws, close_after_first)),
            };
            match result {
                Ok(()) | Err(Error::Closed { .. }) => {}
                Err(e) => eprintln!("{peer:?}: {e}"),
            }
        });
    }
    Ok(())
}

fn config() -> Config {
    Config::default().with_max_size(64 << 20)
}

/// Select the `echo` subprotocol if offered.
fn choose(request: &Request) -> Result<AcceptOptions, Rejection> {
    Ok(AcceptOptions {
        protocol: request
            .protocols
            .iter()
            .find(|p| p.as_str() == PROTOCOL)
            .cloned(),
        ..AcceptOptions::default()
    })
}

/// Echo every message until the connection ends; after the first one,
/// close with `close_after_first` if the request asked for it.
fn echo<S: BlockingTransport>(
    mut ws: WebSocket<S>,
    mut close_after_first: Option<(CloseCode, String)>,
) -> Result<(), Error> {
    loop {
        let message = ws.read()?;
        ws.send(message)?;
        if let Some((code, reason)) = close_after_first.take() {
            ws.close(code, &reason)?;
        }
    }
}
