//! An echo server on the tokio adapter: the tokio testee of Autobahn's
//! server mode, and the server the tokio load benchmark runs against.
//!
//! ```sh
//! cargo run --release --features tokio --example tokio-echo-server -- 127.0.0.1:9003 --threads 2
//! cargo run --release --features tokio,rustls --example tokio-echo-server -- \
//!     127.0.0.1:9443 --tls cert.pem key.pem
//! ```
//! Echoes text and binary messages up to 64 MiB and answers pings, a task
//! per connection. The runtime is tokio's current-thread one by default (one
//! core, like `mio-echo-server`'s single loop); `--threads N` runs the
//! multi-threaded runtime with N workers. `--tls CERT KEY` (feature
//! `rustls`) serves `wss://` with PEM files, as `echo-server --tls` does.
//! Like `echo-server`, it chooses the `echo` subprotocol when offered, and a
//! request with `?close=CODE&reason=TEXT` is closed that way after its
//! first echo (the interop tests use it).

use rfc6455::tokio::{self as ws, Rejection, WebSocket};
use rfc6455::{AcceptOptions, CloseCode, Config, Error, Request};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

#[path = "support/close_request.rs"]
mod close_request;

#[path = "support/pem_server_config.rs"]
mod pem_server_config;

const USAGE: &str = "usage: tokio-echo-server [ADDR] [--threads N] [--tls CERT.pem KEY.pem]";

/// How a new TCP connection becomes a WebSocket.
#[derive(Clone)]
enum Acceptor {
    Plain,
    #[cfg(feature = "rustls")]
    Tls(std::sync::Arc<rfc6455::rustls::ServerConfig>),
}

fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:9003".to_string();
    let mut threads = None;
    let mut tls = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--threads" {
            let n = args
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .expect("--threads takes a positive number");
            threads = Some(n);
        } else if arg == "--tls" {
            let (Some(cert), Some(key)) = (args.next(), args.next()) else {
                usage_error("--tls needs two files: CERT.pem KEY.pem");
            };
            tls = Some((cert, key));
        } else if arg.starts_with('-') {
            usage_error(&format!("unknown option {arg}"));
        } else {
            addr = arg;
        }
    }
    let acceptor = match tls {
        None => Acceptor::Plain,
        Some((cert, key)) => match pem_server_config::server_config(&cert, &key) {
            #[cfg(feature = "rustls")]
            Ok(config) => Acceptor::Tls(config),
            #[cfg(not(feature = "rustls"))]
            Ok(never) => match never {},
            Err(e) => usage_error(&e),
        },
    };
    let runtime = match threads {
        None => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    }
    .enable_all()
    .build()?;
    // On the main thread, as `#[tokio::main]` would: with the current-thread
    // runtime the process then has one thread, and glibc skips the
    // cancellation bookkeeping around every send and recv and the locking
    // in malloc that a second thread turns on (about 100 instructions per
    // small echo under callgrind). The reason it once ran on a thread of
    // its own, the main heap's trimming faulting a 1 MiB message's pages
    // in again on every echo, went with the read path that reads a large
    // frame into a buffer sized for it: 2 page faults per 1 MiB echo here.
    let threads = threads.unwrap_or(1);
    runtime.block_on(serve(addr, threads, acceptor))
}

fn usage_error(message: &str) -> ! {
    eprintln!("tokio-echo-server: {message}");
    eprintln!("{USAGE}");
    std::process::exit(2)
}

async fn serve(addr: String, threads: usize, acceptor: Acceptor) -> std::io::Result<()> {
    let listener = TcpListener::bind(&addr).await?;
    let scheme = match acceptor {
        Acceptor::Plain => "ws",
        #[cfg(feature = "rustls")]
        Acceptor::Tls(_) => "wss",
    };
    eprintln!(
        "tokio-echo-server listening on {scheme}://{} with {threads} thread(s)",
        listener.local_addr()?
    );
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(connection(tcp, acceptor.clone()));
    }
}

/// The handshake (TLS first with `--tls`), then the echo; errors end the
/// connection quietly (a protocol violation has had its close frame sent
/// already).
async fn connection(tcp: TcpStream, acceptor: Acceptor) -> Result<(), Error> {
    let config = Config::default().with_max_size(64 << 20);
    let mut close = None;
    let decide = |request: &Request| {
        close = close_request::requested_close(request);
        choose_echo_protocol(request)
    };
    match acceptor {
        Acceptor::Plain => {
            let socket = ws::accept_with(tcp, config, decide).await?;
            echo(socket, close).await
        }
        #[cfg(feature = "rustls")]
        Acceptor::Tls(tls) => {
            let socket = ws::accept_tls_with(tcp, tls, config, decide).await?;
            echo(socket, close).await
        }
    }
}

/// Echo until the peer closes; after the first echo, close with `close`
/// if the request asked for it.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    mut socket: WebSocket<S>,
    mut close: Option<(CloseCode, String)>,
) -> Result<(), Error> {
    loop {
        // The message is lent, not allocated; the echo of one that came
        // alone is written before read_with returns, and the echoes of
        // messages one read brought together leave in one write.
        let echoed = socket
            .read_with(|message, replies| replies.send(message))
            .await;
        match echoed.and_then(|sent| sent) {
            Ok(()) => {
                if let Some((code, reason)) = close.take() {
                    socket.close(code, &reason).await?;
                }
            }
            Err(Error::Closed { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Select the `echo` subprotocol when the client offers it.
fn choose_echo_protocol(request: &Request) -> Result<AcceptOptions, Rejection> {
    let protocol = request.protocols.iter().find(|p| p.as_str() == "echo");
    Ok(AcceptOptions {
        protocol: protocol.cloned(),
        ..AcceptOptions::default()
    })
}
