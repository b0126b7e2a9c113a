//! An echo server on the tokio adapter: the tokio testee of Autobahn's
//! server mode, and the server the tokio load benchmark runs against.
//!
//! ```sh
//! cargo run --release --features tokio --example tokio-echo-server -- 127.0.0.1:9003 --threads 2
//! ```
//! Echoes text and binary messages up to 64 MiB and answers pings, a task
//! per connection. The runtime is tokio's current-thread one by default (one
//! core, like `mio-echo-server`'s single loop); `--threads N` runs the
//! multi-threaded runtime with N workers. Like `echo-server`, it chooses the
//! `echo` subprotocol when offered, and a request with
//! `?close=CODE&reason=TEXT` is closed that way after its first echo (the
//! interop tests use it).

use rfc6455::tokio::{self as ws, Rejection};
use rfc6455::{AcceptOptions, Config, Error, Request};
use tokio::net::{TcpListener, TcpStream};

#[path = "support/close_request.rs"]
mod close_request;

fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:9003".to_string();
    let mut threads = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--threads" {
            let n = args
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .expect("--threads takes a positive number");
            threads = Some(n);
        } else {
            addr = arg;
        }
    }
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
    // The runtime runs on a thread of its own, as mio-echo-server's event
    // loops do: glibc gives the main thread's heap back to the system
    // (brk) whenever its top is free, so echoing megabyte messages there
    // would fault every page of each buffer in again.
    let server = std::thread::spawn(move || runtime.block_on(serve(addr, threads.unwrap_or(1))));
    server.join().expect("the server thread panicked")
}

async fn serve(addr: String, threads: usize) -> std::io::Result<()> {
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "tokio-echo-server listening on ws://{} with {threads} thread(s)",
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
        tokio::spawn(echo(tcp));
    }
}

/// Echo until the peer closes; errors end the connection quietly (a
/// protocol violation has had its close frame sent already).
async fn echo(tcp: TcpStream) -> Result<(), Error> {
    let config = Config::default().with_max_size(64 << 20);
    let mut close = None;
    let decide = |request: &Request| {
        close = close_request::requested_close(request);
        choose_echo_protocol(request)
    };
    let mut socket = ws::accept_with(tcp, config, decide).await?;
    loop {
        match socket.read().await {
            Ok(message) => {
                // Queued; the next read writes every echo queued since the
                // last one before it waits (one write per batch of input).
                socket.feed(message).await?;
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
