//! A small wscat: send each line of standard input as a text message, print
//! every message that arrives on its own line.
//!
//! ```sh
//! cargo run --release --example client -- ws://127.0.0.1:9001
//! cargo run --release --features rustls --example client -- wss://example.com/
//! cargo run --release --features rustls --example client -- --ca ca.pem wss://127.0.0.1:9443
//! ```
//! At the end of input it closes with 1000 and exits 0 once the close
//! handshake is done. `wss://` servers are verified against the Mozilla
//! roots, or only against the PEM certificates given with `--ca`.
//!
//! Proxies come from the environment, as for curl:
//! ```sh
//! HTTP_PROXY=http://127.0.0.1:8888 cargo run --example client -- ws://host/
//! HTTPS_PROXY=socks5h://127.0.0.1:1080 cargo run --features rustls --example client -- wss://host/
//! ```
//! (`ALL_PROXY` for either scheme, `NO_PROXY` for hosts to reach directly.)

use rfc6455::blocking::{self, MaybeTlsStream, ReadHalf, WebSocket, WriteHalf};
use rfc6455::{CloseCode, ClosedBy, Error, Message};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the server may take to answer our close.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (ca, url) = match args.as_slice() {
        [url] if !url.starts_with('-') => (None, url),
        [flag, ca, url] if flag == "--ca" => (Some(ca), url),
        _ => {
            eprintln!("usage: client [--ca CA.pem] ws[s]://HOST:PORT/PATH");
            return ExitCode::from(2);
        }
    };
    let connected = match ca {
        None => blocking::connect(url),
        Some(ca) => connect_trusting(url, ca),
    };
    // Two threads, one socket: standard input feeds the writer half while
    // this thread blocks reading, so messages print as they arrive.
    let (reader, writer) = match connected.and_then(WebSocket::split) {
        Ok(halves) => halves,
        Err(e) => {
            eprintln!("connect {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let send_failed = Arc::new(AtomicBool::new(false));
    let failed = send_failed.clone();
    std::thread::spawn(move || {
        if let Err(e) = send_lines(writer) {
            eprintln!("send: {e}");
            failed.store(true, Ordering::SeqCst);
        }
    });
    let code = print_messages(reader);
    if send_failed.load(Ordering::SeqCst) {
        return ExitCode::FAILURE;
    }
    code
}

/// Each line of standard input as a text message; at its end, close with 1000.
fn send_lines(mut writer: WriteHalf) -> Result<(), Error> {
    for line in std::io::stdin().lock().lines() {
        match line {
            Ok(line) => writer.send(line)?,
            Err(_) => break,
        }
    }
    writer.close(CloseCode::NORMAL, "")
}

/// Print every message until the connection is over: success once our close
/// is answered or the server closes, failure on any error.
fn print_messages(mut reader: ReadHalf) -> ExitCode {
    // Wake up once a second to bound the wait for the close reply.
    let _ = reader.set_read_timeout(Some(Duration::from_secs(1)));
    let mut closing_since = None;
    let stdout = std::io::stdout();
    loop {
        match reader.read() {
            Ok(message) => print_message(&stdout, &message),
            Err(e) if e.is_timeout() => {
                if reader.state().is_closing() {
                    let since = *closing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > CLOSE_WAIT {
                        eprintln!("close handshake: no reply from the server");
                        return ExitCode::FAILURE;
                    }
                }
            }
            Err(Error::Closed {
                by: ClosedBy::Us,
                clean: true,
                ..
            }) => return ExitCode::SUCCESS,
            Err(e @ Error::Closed { .. }) => {
                eprintln!("{e}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("read: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
}

fn print_message(stdout: &std::io::Stdout, message: &Message) {
    let mut out = stdout.lock();
    let _ = match message {
        Message::Text(text) => writeln!(out, "{text}"),
        Message::Binary(data) => writeln!(out, "<{} bytes of binary>", data.len()),
    };
    let _ = out.flush();
}

/// Connect trusting only the certificates in the PEM file `ca`.
#[cfg(feature = "rustls")]
fn connect_trusting(url: &str, ca: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    use rfc6455::rustls::pki_types::{pem::PemObject, CertificateDer};
    let invalid = |e: &dyn std::fmt::Display| {
        Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{ca}: {e}"),
        ))
    };
    let mut roots = rfc6455::rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| invalid(&e))? {
        roots.add(cert.map_err(|e| invalid(&e))?)?;
    }
    let tls = blocking::tls_config_with_roots(roots);
    blocking::connect_tls(url, tls, Default::default(), Default::default())
}

#[cfg(not(feature = "rustls"))]
fn connect_trusting(_url: &str, _ca: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    Err(Error::Io(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "--ca needs the rustls feature",
    )))
}
