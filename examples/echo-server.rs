//! A thread-per-connection echo server, over `ws://` or `wss://`.
//!
//! ```sh
//! cargo run --release --example echo-server -- 127.0.0.1:9001
//! cargo run --release --features rustls --example echo-server -- \
//!     127.0.0.1:9443 --tls cert.pem key.pem
//! ```
//! Echoes text and binary messages up to 64 MiB; answers pings; closes
//! cleanly when the client does. `--tls CERT KEY` (feature `rustls`) takes
//! PEM files: the certificate chain, leaf first, and its private key.

use rfc6455::blocking::{self, Transport, WebSocket};
use rfc6455::{Config, Error};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

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
        Some((cert, key)) => match tls::server_config(cert, key) {
            Ok(acceptor) => acceptor,
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
            let _ = stream.set_nodelay(true);
            let result = match acceptor {
                Acceptor::Plain => accept(stream).and_then(echo),
                #[cfg(feature = "rustls")]
                Acceptor::Tls(tls) => tls::accept(stream, tls).and_then(echo),
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

fn accept(stream: TcpStream) -> Result<WebSocket<TcpStream>, Error> {
    blocking::accept_with(stream, config(), |_| Ok(Default::default()))
}

/// Echo every message until the connection ends.
fn echo<S: Transport>(mut ws: WebSocket<S>) -> Result<(), Error> {
    loop {
        let message = ws.read()?;
        ws.send(message)?;
    }
}

#[cfg(feature = "rustls")]
mod tls {
    use super::{config, Acceptor};
    use rfc6455::blocking::{self, TlsServerStream, WebSocket};
    use rfc6455::rustls::crypto::ring;
    use rfc6455::rustls::pki_types::pem::PemObject;
    use rfc6455::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rfc6455::rustls::ServerConfig;
    use rfc6455::Error;
    use std::net::TcpStream;
    use std::sync::Arc;

    /// A server configuration from PEM files, offering ALPN `http/1.1`.
    pub fn server_config(cert: &str, key: &str) -> Result<Acceptor, String> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{cert}: {e}"))?;
        if chain.is_empty() {
            return Err(format!("{cert}: no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| format!("TLS configuration: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Acceptor::Tls(Arc::new(config)))
    }

    pub fn accept(
        stream: TcpStream,
        tls: Arc<ServerConfig>,
    ) -> Result<WebSocket<TlsServerStream>, Error> {
        blocking::accept_tls_with(stream, tls, config(), |_| Ok(Default::default()))
    }
}

#[cfg(not(feature = "rustls"))]
mod tls {
    use super::Acceptor;

    pub fn server_config(_cert: &str, _key: &str) -> Result<Acceptor, String> {
        Err("--tls needs the rustls feature: cargo run --features rustls ...".into())
    }
}
