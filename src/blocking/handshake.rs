//! Opening handshakes over a blocking stream.

use super::{MaybeTlsStream, Transport, WebSocket};
use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::handshake::{
    reject_response, AcceptOptions, ClientOptions, HandshakeError, RejectedResponse, Request,
    ServerOptions, WsUrl,
};
use crate::upgrade::{ClientUpgrade, ServerUpgrade};
use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The longest an opening handshake may take, from the first read to the
/// complete request or response. Without a bound on the whole handshake, a
/// peer that trickles one byte just faster than the socket's read timeout
/// (slowloris) would hold a thread until the 16 KiB header limit; 10 s is
/// what mature servers allow. Enforced through the transport's read timeout,
/// so a [`Transport`] without one is only checked between reads.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect to a `ws://` URL (or, with the `rustls` feature, a `wss://`
/// one) with default options.
pub fn connect(url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    connect_with(url, ClientOptions::default(), Config::default())
}

/// Connect with subprotocols, headers and limits.
///
/// `wss://` URLs need the `rustls` feature: TLS with SNI for the URL's host,
/// the certificate verified against the Mozilla roots compiled into the
/// crate (`blocking::default_tls_config`).
/// Without the feature they fail with [`io::ErrorKind::Unsupported`]; open a
/// TLS stream yourself and use [`client`].
pub fn connect_with(
    url: &str,
    options: ClientOptions,
    config: Config,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let parsed = WsUrl::parse(url)?;
    if parsed.secure {
        #[cfg(feature = "rustls")]
        return super::tls::connect_parsed(
            &parsed,
            url,
            super::tls::default_tls_config(),
            options,
            config,
        );
        #[cfg(not(feature = "rustls"))]
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "wss:// needs the rustls feature (or a TLS stream passed to blocking::client)",
        )));
    }
    let stream = tcp_connect(&parsed)?;
    client(MaybeTlsStream::Plain(stream), url, options, config)
}

/// Open the TCP connection for `url`.
pub(super) fn tcp_connect(url: &WsUrl) -> Result<TcpStream, Error> {
    let stream = TcpStream::connect((url.host.as_str(), url.port))?;
    // Frames are written whole; waiting to coalesce them only adds latency.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Run the client handshake over a stream the caller opened (TCP, TLS, ...).
pub fn client<S: Transport>(
    mut stream: S,
    url: &str,
    options: ClientOptions,
    config: Config,
) -> Result<WebSocket<S>, Error> {
    let parsed = WsUrl::parse(url)?;
    let mut upgrade = ClientUpgrade::new(&parsed, options, config);
    stream.write_all(upgrade.request())?;
    stream.flush()?;
    let mut buf = [0u8; 4096];
    let mut clock = HandshakeClock::start(&stream);
    loop {
        let n = clock.read(&mut stream, &mut buf)?;
        if n == 0 {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed during the handshake",
            )));
        }
        if let Some((conn, response)) = upgrade.receive(&buf[..n])? {
            clock.restore(&mut stream);
            return Ok(WebSocket::from_parts(stream, conn, response.protocol));
        }
    }
}

/// The application's refusal of an upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The HTTP status, e.g. 403.
    pub status: u16,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
}

impl Rejection {
    /// A refusal with a status and a plain-text body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Rejection {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.into(),
        }
    }

    /// The HTTP response that carries this refusal.
    pub(crate) fn response(&self) -> Vec<u8> {
        reject_response(self.status, &self.headers, &self.body)
    }

    /// The error the accepting side reports for this refusal.
    pub(crate) fn into_error(self) -> HandshakeError {
        HandshakeError::Rejected(Box::new(RejectedResponse {
            status: self.status,
            reason: String::new(),
            headers: self.headers,
            body: self.body,
        }))
    }
}

/// Accept a WebSocket upgrade on `stream` with default settings.
pub fn accept<S: Transport>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, Config::default(), |_| Ok(AcceptOptions::default()))
}

/// Accept an upgrade, letting `decide` see the request (path, headers,
/// offered subprotocols) and pick a subprotocol or refuse. Invalid requests
/// are answered with the matching HTTP error (400, 405, 426, 431) and a
/// refusal with its status; both return [`Error::Handshake`].
pub fn accept_with<S, F>(mut stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    let mut upgrade = ServerUpgrade::with_options(config, ServerOptions::default());
    let mut buf = [0u8; 4096];
    let mut clock = HandshakeClock::start(&stream);
    let request = loop {
        let n = clock.read(&mut stream, &mut buf)?;
        if n == 0 {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed during the handshake",
            )));
        }
        match upgrade.receive(&buf[..n]) {
            Ok(Some(request)) => {
                clock.restore(&mut stream);
                break request;
            }
            Ok(None) => continue,
            Err(error) => {
                if let Some(response) = error.http_response() {
                    let _ = stream.write_all(&response);
                    let _ = stream.flush();
                }
                let _ = stream.shutdown();
                return Err(Error::Handshake(error));
            }
        }
    };
    match answer(upgrade, &request, decide) {
        (response, Ok((conn, protocol))) => {
            stream.write_all(&response)?;
            stream.flush()?;
            Ok(WebSocket::from_parts(stream, conn, protocol))
        }
        (response, Err(error)) => {
            let _ = stream.write_all(&response);
            let _ = stream.flush();
            let _ = stream.shutdown();
            Err(error)
        }
    }
}

/// The application's decision on a valid request, sans-IO: the response
/// bytes to write, then the open connection with its subprotocol, or (for
/// a refusal) the error to report once the response is written and the
/// transport closed. Shared by the adapters that take a `decide` callback.
#[allow(clippy::type_complexity)]
pub(crate) fn answer<F>(
    upgrade: ServerUpgrade,
    request: &Request,
    decide: F,
) -> (Vec<u8>, Result<(Connection, Option<String>), Error>)
where
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    match decide(request) {
        Ok(options) => {
            let protocol = options.protocol.clone();
            let (response, conn) = upgrade.accept(request, options);
            (response, Ok((conn, protocol)))
        }
        Err(rejection) => (
            rejection.response(),
            Err(Error::Handshake(rejection.into_error())),
        ),
    }
}

fn read_some<S: Read>(stream: &mut S, buf: &mut [u8]) -> Result<usize, Error> {
    loop {
        match stream.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::from(e)),
        }
    }
}

/// The [`HANDSHAKE_TIMEOUT`] deadline, applied by shortening the socket's
/// read timeout as it approaches, and the caller's own timeout to put back.
struct HandshakeClock {
    deadline: Instant,
    caller_timeout: Option<Duration>,
}

impl HandshakeClock {
    fn start<S: Transport>(stream: &S) -> Self {
        HandshakeClock {
            deadline: Instant::now() + HANDSHAKE_TIMEOUT,
            caller_timeout: stream.read_timeout().ok().flatten(),
        }
    }

    fn read<S: Transport>(&mut self, stream: &mut S, buf: &mut [u8]) -> Result<usize, Error> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Self::expired());
        }
        let bound = self.caller_timeout.map_or(left, |t| t.min(left));
        let _ = stream.set_read_timeout(Some(bound));
        match read_some(stream, buf) {
            Err(Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) && Instant::now() >= self.deadline =>
            {
                Err(Self::expired())
            }
            other => other,
        }
    }

    fn restore<S: Transport>(&self, stream: &mut S) {
        let _ = stream.set_read_timeout(self.caller_timeout);
    }

    fn expired() -> Error {
        Error::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            "the opening handshake took longer than HANDSHAKE_TIMEOUT",
        ))
    }
}
