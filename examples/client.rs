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

use rfc6455::blocking::{self, MaybeTlsStream, WebSocket};
use rfc6455::{CloseCode, Error, Message};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::mpsc;

enum Input {
    Line(String),
    End,
}

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
    let mut ws = match connected {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("connect {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Standard input is read on its own thread; the socket is polled with a
    // short read timeout so incoming messages print while we wait for lines.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(line) => {
                    if tx.send(Input::Line(line)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(Input::End);
    });
    let _ = ws
        .get_mut()
        .set_read_timeout(Some(std::time::Duration::from_millis(20)));
    let stdout = std::io::stdout();
    loop {
        loop {
            match rx.try_recv() {
                Ok(Input::Line(line)) => {
                    if let Err(e) = ws.send(Message::text(line)) {
                        eprintln!("send: {e}");
                        return ExitCode::FAILURE;
                    }
                }
                Ok(Input::End) | Err(mpsc::TryRecvError::Disconnected) => {
                    return finish(ws, &stdout);
                }
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        match ws.read() {
            Ok(message) => print_message(&stdout, &message),
            Err(Error::Io(e)) if is_timeout(&e) => continue,
            Err(Error::Closed { frame, .. }) => {
                eprintln!("server closed the connection: {frame:?}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("read: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
}

/// Close with 1000 and print what arrives until the server's close frame.
fn finish(mut ws: WebSocket<MaybeTlsStream>, stdout: &std::io::Stdout) -> ExitCode {
    if let Err(e) = ws.close(CloseCode::NORMAL, "") {
        eprintln!("close: {e}");
        return ExitCode::FAILURE;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match ws.read() {
            Ok(message) => print_message(stdout, &message),
            Err(Error::Closed { clean: true, .. }) => return ExitCode::SUCCESS,
            Err(Error::Io(e)) if is_timeout(&e) && std::time::Instant::now() < deadline => continue,
            Err(e) => {
                eprintln!("close handshake: {e}");
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

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
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
