//! Opening handshakes over a blocking stream.

use super::{BlockingTransport, MaybeTlsStream, WebSocket};
use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::handshake::{
    reason_phrase, reject_response, AcceptOptions, ClientOptions, HandshakeError, RejectedResponse,
    Request, ServerOptions, WsUrl,
};
use crate::timer::Timeout;
use crate::upgrade::{ClientUpgrade, Opened, ServerUpgrade};
use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The longest an opening handshake may take, from the first read to the
/// complete request or response. Without a bound on the whole handshake, a
/// peer that trickles one byte just faster than the socket's read timeout
/// (slowloris) would hold a thread until the 16 KiB header limit; 10 s is
/// what mature servers allow. Enforced through the transport's read timeout,
/// so a [`BlockingTransport`] without one is only checked between reads.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect to a `ws://` URL (or, with the `rustls` feature, a `wss://`
/// one) with default options.
///
/// ```
/// # use rfc6455::{blocking, Message};
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     let mut ws = blocking::accept(listener.accept().unwrap().0).unwrap();
/// #     let message = ws.read().unwrap();
/// #     ws.send(message).unwrap();
/// # });
/// let mut ws = blocking::connect(&url)?; // e.g. "ws://127.0.0.1:9001/"
/// ws.send(Message::text("ping?"))?;
/// assert_eq!(ws.read()?.as_text(), Some("ping?"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect(url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    connect_with(url, ClientOptions::default(), Config::default())
}

/// Connect with subprotocols, headers, a connect timeout, limits and a
/// proxy.
///
/// The connection goes through the proxy `options.proxy` selects: by
/// default the environment's (`HTTP_PROXY` for `ws://`, `HTTPS_PROXY` for
/// `wss://`, `ALL_PROXY`, `NO_PROXY`; see
/// [`ProxyConfig`](crate::ProxyConfig)). Connecting to the proxy is bounded
/// by the connect timeout; TLS to an `https://` proxy and the proxy's reply
/// by [`HANDSHAKE_TIMEOUT`]. A proxy's failures are [`Error::Proxy`].
///
/// `wss://` URLs need the `rustls` feature: TLS with SNI for the URL's host,
/// the certificate verified against the Mozilla roots compiled into the
/// crate (`blocking::default_tls_config`).
/// Without the feature they fail with [`io::ErrorKind::Unsupported`]; open a
/// TLS stream yourself and use [`client`].
///
/// The server's `101` response (status, headers, chosen subprotocol) stays
/// available from [`WebSocket::response`].
///
/// ```
/// use rfc6455::{blocking, AcceptOptions, ClientOptions, Config};
/// use std::time::Duration;
///
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/feed", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     let tcp = listener.accept().unwrap().0;
/// #     let _ws = blocking::accept_with(tcp, Config::default(), |request| {
/// #         assert_eq!(request.header("authorization"), Some("Bearer s3cret"));
/// #         Ok(AcceptOptions { protocol: Some("feed.v2".into()), ..Default::default() })
/// #     }).unwrap();
/// # });
/// let options = ClientOptions {
///     protocols: vec!["feed.v2".into(), "feed.v1".into()],
///     headers: vec![("Authorization".into(), "Bearer s3cret".into())],
///     connect_timeout: Some(Duration::from_secs(5)),
///     ..ClientOptions::default()
/// };
/// let ws = blocking::connect_with(&url, options, Config::default())?;
/// assert_eq!(ws.protocol(), Some("feed.v2"));
/// assert_eq!(ws.response().map(|r| r.status), Some(101));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    let (route, leftover) = super::proxy::open(&parsed, &options, None)?;
    client_after(
        MaybeTlsStream::from(route),
        &parsed,
        options,
        config,
        &leftover,
    )
}

/// Open a TCP connection to `host` and `port` (the server's, or a
/// proxy's): each address the host resolves to in turn, each bounded by
/// [`ClientOptions::connect_timeout`], until one answers.
pub(super) fn tcp_connect(
    host: &str,
    port: u16,
    options: &ClientOptions,
) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        let attempt = match options.connect_timeout {
            Some(timeout) => TcpStream::connect_timeout(&addr, timeout),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => {
                // Frames are written whole; waiting to coalesce them only adds latency.
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Io(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the host has no address")
    })))
}

/// Run the client handshake over a stream the caller opened (TCP, TLS, ...).
///
/// ```
/// use rfc6455::{blocking, ClientOptions, Config};
/// use std::net::TcpStream;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?;
/// # std::thread::spawn(move || { let _ = blocking::accept(listener.accept().unwrap().0); });
///
/// // A socket set up by hand (a proxy tunnel, socket options, ...).
/// let tcp = TcpStream::connect(addr)?;
/// tcp.set_nodelay(true)?;
/// let ws = blocking::client(tcp, "ws://example.com/feed", ClientOptions::default(), Config::default())?;
/// assert_eq!(ws.response().map(|r| r.status), Some(101));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client<S: BlockingTransport>(
    stream: S,
    url: &str,
    options: ClientOptions,
    config: Config,
) -> Result<WebSocket<S>, Error> {
    client_after(stream, &WsUrl::parse(url)?, options, config, &[])
}

/// The client handshake, with `early` bytes already received from the
/// server (what a proxy passed on after its reply).
pub(super) fn client_after<S: BlockingTransport>(
    mut stream: S,
    parsed: &WsUrl,
    options: ClientOptions,
    config: Config,
    early: &[u8],
) -> Result<WebSocket<S>, Error> {
    let mut upgrade = ClientUpgrade::new(parsed, options, config);
    stream.write_all(upgrade.request())?;
    stream.flush()?;
    if let Some((conn, response)) = upgrade.receive(early)? {
        return Ok(WebSocket::opened(stream, conn, Opened::client(response)));
    }
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
            return Ok(WebSocket::opened(stream, conn, Opened::client(response)));
        }
    }
}

/// The application's refusal of an upgrade request.
///
/// ```
/// use rfc6455::blocking::Rejection;
///
/// let mut rejection = Rejection::new(429, "slow down");
/// rejection.headers.push(("Retry-After".into(), "30".into()));
/// assert_eq!(rejection.status, 429);
/// ```
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
    ///
    /// ```
    /// let rejection = rfc6455::blocking::Rejection::new(403, "members only");
    /// assert_eq!(rejection.body, b"members only");
    /// assert_eq!(rejection.headers[0].0, "Content-Type");
    /// ```
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
            reason: reason_phrase(self.status).into(),
            headers: self.headers,
            body: self.body,
        }))
    }
}

/// Accept a WebSocket upgrade on `stream` with default settings.
///
/// ```
/// use rfc6455::blocking;
/// use std::net::TcpListener;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # std::thread::spawn(move || { let mut ws = blocking::connect(&url).unwrap(); ws.send("hi").unwrap(); });
/// // One thread per connection (a thread pool in a real server).
/// let (tcp, _) = listener.accept()?;
/// let handler = std::thread::spawn(move || -> Result<(), rfc6455::Error> {
///     let mut ws = blocking::accept(tcp)?;
///     let message = ws.read()?;
///     assert_eq!(message.as_text(), Some("hi"));
///     Ok(())
/// });
/// handler.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accept<S: BlockingTransport>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, Config::default(), |_| Ok(AcceptOptions::default()))
}

/// Accept an upgrade, letting `decide` see the request (path, headers,
/// offered subprotocols) and pick a subprotocol or refuse. Invalid requests
/// are answered with the matching HTTP error (400, 405, 426, 431) and a
/// refusal with its status; both return [`Error::Handshake`].
///
/// ```
/// use rfc6455::blocking::{self, Rejection};
/// use rfc6455::{AcceptOptions, Config};
/// use std::net::TcpListener;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?;
/// # std::thread::spawn(move || {
/// #     let _ = blocking::connect(&format!("ws://{addr}/admin"));
/// #     let options = rfc6455::ClientOptions { protocols: vec!["chat".into()], ..Default::default() };
/// #     let _ = blocking::connect_with(&format!("ws://{addr}/chat"), options, Config::default());
/// # });
/// let decide = |request: &rfc6455::Request| {
///     if request.path() != "/chat" {
///         return Err(Rejection::new(404, "no such room"));
///     }
///     Ok(AcceptOptions {
///         protocol: request.protocols.iter().find(|p| *p == "chat").cloned(),
///         ..AcceptOptions::default()
///     })
/// };
/// // The first client asks for /admin: refused with a 404.
/// let refused = blocking::accept_with(listener.accept()?.0, Config::default(), decide);
/// assert!(refused.is_err());
/// // The second asks for /chat with the "chat" subprotocol.
/// let ws = blocking::accept_with(listener.accept()?.0, Config::default(), decide)?;
/// assert_eq!((ws.protocol(), ws.request().map(|r| r.path())), (Some("chat"), Some("/chat")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accept_with<S, F>(mut stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: BlockingTransport,
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    // Frames are written whole; waiting to coalesce them only adds
    // latency (pipelined echoes would wait ~40 ms for delayed ACKs).
    let _ = stream.set_nodelay(true);
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
            Ok(WebSocket::opened(
                stream,
                conn,
                Opened::server(request, protocol),
            ))
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
pub(super) struct HandshakeClock {
    deadline: Instant,
    caller_timeout: Option<Duration>,
}

impl HandshakeClock {
    pub(super) fn start<S: BlockingTransport>(stream: &S) -> Self {
        HandshakeClock {
            deadline: Instant::now() + HANDSHAKE_TIMEOUT,
            caller_timeout: stream.read_timeout().ok().flatten(),
        }
    }

    pub(super) fn read<S: BlockingTransport>(
        &mut self,
        stream: &mut S,
        buf: &mut [u8],
    ) -> Result<usize, Error> {
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

    pub(super) fn restore<S: BlockingTransport>(&self, stream: &mut S) {
        let _ = stream.set_read_timeout(self.caller_timeout);
    }

    fn expired() -> Error {
        Error::Timeout(Timeout::Handshake)
    }
}
