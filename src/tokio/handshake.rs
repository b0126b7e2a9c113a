//! Opening handshakes over an async stream, bounded by the handshake
//! deadline of [`Options::timeouts`] (by default 10 s, as the blocking
//! adapter's `HANDSHAKE_TIMEOUT`), counted by a sans-IO [`Keepalive`].

use super::options::Options;
use super::socket::{Session, WebSocket};
use super::stream::MaybeTlsStream;
use crate::blocking::{answer, ProxyTls, Rejection};
use crate::config::Config;
use crate::error::Error;
use crate::handshake::{AcceptOptions, ClientOptions, Request, ServerOptions, WsUrl};
use crate::timer::{Keepalive, Timeout};
use crate::upgrade::{ClientUpgrade, ServerUpgrade};
use core::future::Future;
use core::time::Duration;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Bytes read per call during the handshake (the upgrade keeps only what
/// it needs to parse the header).
const HANDSHAKE_CHUNK: usize = 4096;

/// Connect to a `ws://` URL (or, with the `rustls` feature, a `wss://`
/// one) with default options.
///
/// **Cancel safety**: not cancel-safe (nothing to resume: dropping it
/// drops the half-open connection).
pub async fn connect(url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    connect_with_options(url, ClientOptions::default(), Options::default()).await
}

/// Connect with subprotocols, headers, a connect timeout, limits and a
/// proxy. The TCP connection (each attempt also bounded by
/// [`ClientOptions::connect_timeout`]), the proxy's tunnel and the
/// handshake together must finish within the handshake deadline.
///
/// The connection goes through the proxy `options.proxy` selects, as the
/// blocking [`connect_with`](crate::blocking::connect_with) does: by
/// default the environment's (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`,
/// `NO_PROXY`; see [`ProxyConfig`](crate::ProxyConfig)). A proxy's
/// failures, a silent one included, are [`Error::Proxy`].
///
/// `wss://` URLs need the `rustls` feature (TLS verified against the
/// Mozilla roots compiled into the crate); without it they fail with
/// [`io::ErrorKind::Unsupported`]: open a TLS stream yourself and use
/// [`client`].
pub async fn connect_with(
    url: &str,
    options: ClientOptions,
    config: Config,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    connect_with_options(url, options, config.into()).await
}

/// [`connect_with`] with deadlines and a high-water mark of your own:
/// `options.timeouts.handshake` bounds everything up to the server's `101`
/// (a silent server is cut off with [`Error::Timeout`]), and the socket
/// returned keeps the keepalive and close deadlines.
///
/// ```no_run
/// use rfc6455::tokio::{self as ws, Options};
/// use rfc6455::{ClientOptions, Timeouts};
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), rfc6455::Error> {
/// let options = Options {
///     timeouts: Timeouts { handshake: Some(Duration::from_secs(3)), ..Timeouts::default() },
///     ..Options::default()
/// };
/// let socket = ws::connect_with_options("ws://127.0.0.1:9001/", ClientOptions::default(), options).await?;
/// # Ok(()) }
/// ```
pub async fn connect_with_options(
    url: &str,
    client: ClientOptions,
    options: Options,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let parsed = WsUrl::parse(url)?;
    if parsed.secure {
        #[cfg(feature = "rustls")]
        return super::tls::connect_parsed(
            &parsed,
            crate::blocking::default_tls_config(),
            client,
            options,
        )
        .await;
        #[cfg(not(feature = "rustls"))]
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "wss:// needs the rustls feature (or a TLS stream passed to tokio::client)",
        )));
    }
    connect_plain(&parsed, client, options, None).await
}

/// `ws://`: the route to the server (direct, or a tunnel through the
/// proxy; `tls` verifies an `https://` proxy), then the handshake, all
/// within the handshake deadline.
pub(super) async fn connect_plain(
    url: &WsUrl,
    client: ClientOptions,
    options: Options,
    tls: ProxyTls<'_>,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let timer = options.start_timer();
    let (route, early) = super::proxy::open(url, &client, tls, &timer).await?;
    run_client(route.into(), url, client, options, timer, &early).await
}

/// Open a TCP connection to `host` and `port` (the server's or a
/// proxy's): each address the host resolves to in turn, each attempt
/// bounded by `connect_timeout`, until one answers. No Nagle's delay:
/// frames are written whole, waiting to coalesce them only adds latency.
pub(super) async fn tcp_connect(
    host: &str,
    port: u16,
    connect_timeout: Option<Duration>,
) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        let attempt = match connect_timeout {
            Some(limit) => tokio::time::timeout(limit, TcpStream::connect(addr))
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))
                }),
            None => TcpStream::connect(addr).await,
        };
        match attempt {
            Ok(stream) => {
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

/// Run the client handshake over a stream the caller opened (TCP, TLS,
/// a Unix socket, an in-memory duplex...).
pub async fn client<S>(
    stream: S,
    url: &str,
    options: ClientOptions,
    config: Config,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    client_with_options(stream, url, options, config.into()).await
}

/// [`client`] with deadlines and a high-water mark of your own, as
/// [`connect_with_options`].
pub async fn client_with_options<S>(
    stream: S,
    url: &str,
    client: ClientOptions,
    options: Options,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let parsed = WsUrl::parse(url)?;
    let timer = options.start_timer();
    run_client(stream, &parsed, client, options, timer, &[]).await
}

/// The client handshake, with `early` bytes already received from the
/// server (what a proxy passed on after its reply).
pub(super) async fn run_client<S>(
    mut stream: S,
    url: &WsUrl,
    client: ClientOptions,
    options: Options,
    timer: Keepalive<Instant>,
    early: &[u8],
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut upgrade = ClientUpgrade::new(url, client, crate::config::shared(&options.config));
    let exchange = async {
        stream.write_all(upgrade.request()).await?;
        stream.flush().await?;
        if let Some(done) = upgrade.receive(early)? {
            return Ok::<_, Error>(done);
        }
        let mut buf = [0u8; HANDSHAKE_CHUNK];
        loop {
            let n = read_some(&mut stream, &mut buf).await?;
            if let Some(done) = upgrade.receive(&buf[..n])? {
                return Ok::<_, Error>(done);
            }
        }
    };
    let (conn, response) = within(&timer, exchange).await?;
    let session = Session::client(response);
    let mark = options.high_water_mark;
    Ok(WebSocket::with_session(stream, conn, timer, session, mark))
}

/// Accept a WebSocket upgrade on `stream` with default settings.
///
/// **Cancel safety**: not cancel-safe (dropping it drops the stream).
pub async fn accept<S>(stream: S) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with_options(stream, Options::default(), accept_all).await
}

/// The decision of [`accept`]: every valid request, no subprotocol.
pub(super) fn accept_all(_: &Request) -> Result<AcceptOptions, Rejection> {
    Ok(AcceptOptions::default())
}

/// Accept an upgrade, letting `decide` see the request (path, headers,
/// offered subprotocols) and pick a subprotocol or refuse, exactly as
/// [`blocking::accept_with`](crate::blocking::accept_with). Invalid
/// requests are answered with the matching HTTP error (400, 405, 426, 431)
/// and a refusal with its status; both return [`Error::Handshake`]. A
/// client that has not sent its whole request within the handshake deadline
/// is cut off with [`Error::Timeout`] (`is_timeout()` is true).
pub async fn accept_with<S, F>(stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    accept_with_options(stream, config.into(), decide).await
}

/// [`accept_with`] with deadlines and a high-water mark of your own:
/// `options.timeouts.handshake` bounds the wait for the request and the
/// answer to it, and the socket returned keeps the keepalive and close
/// deadlines (see [`Options`] for an example).
pub async fn accept_with_options<S, F>(
    stream: S,
    options: Options,
    decide: F,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    let timer = options.start_timer();
    run_server(stream, options, timer, decide).await
}

/// The server handshake on a stream already counted against `timer`'s
/// handshake deadline (the TLS handshake before it, for `wss://`).
pub(super) async fn run_server<S, F>(
    mut stream: S,
    options: Options,
    timer: Keepalive<Instant>,
    decide: F,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    let mut upgrade = ServerUpgrade::with_options(
        crate::config::shared(&options.config),
        ServerOptions::default(),
    );
    let receiving = async {
        let mut buf = [0u8; HANDSHAKE_CHUNK];
        loop {
            let n = read_some(&mut stream, &mut buf).await?;
            if let Some(request) = upgrade.receive(&buf[..n])? {
                return Ok::<_, Error>(request);
            }
        }
    };
    let request = match within(&timer, receiving).await {
        Ok(request) => request,
        Err(error) => {
            // Answer with the matching HTTP status (400, 426, 431...)
            // before closing, as RFC 6455 §4.2.1 asks.
            if let Error::Handshake(e) = &error {
                if let Some(response) = e.http_response() {
                    let _ = within(&timer, stream.write_all(&response)).await;
                }
            }
            let _ = within(&timer, stream.shutdown()).await;
            return Err(error);
        }
    };
    let (response, outcome) = answer(upgrade, &request, decide);
    let written = within(&timer, async {
        stream.write_all(&response).await?;
        stream.flush().await?;
        Ok::<_, io::Error>(())
    })
    .await;
    match outcome {
        Ok((conn, protocol)) => {
            written?;
            let session = Session::server(protocol, request);
            let mark = options.high_water_mark;
            Ok(WebSocket::with_session(stream, conn, timer, session, mark))
        }
        Err(error) => {
            let _ = within(&timer, stream.shutdown()).await;
            Err(error)
        }
    }
}

/// Run `work` until the timer's (handshake) deadline.
pub(super) async fn within<T, E>(
    timer: &Keepalive<Instant>,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, Error>
where
    Error: From<E>,
{
    match timer.poll_timeout() {
        Some(deadline) => match tokio::time::timeout_at(deadline, work).await {
            Ok(result) => result.map_err(Error::from),
            Err(_) => Err(super::engine::timeout_error(Timeout::Handshake)),
        },
        None => work.await.map_err(Error::from),
    }
}

/// One read; the end of the stream before the handshake is done is an
/// error.
async fn read_some<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut [u8]) -> Result<usize, Error> {
    match stream.read(buf).await? {
        0 => Err(Error::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed during the handshake",
        ))),
        n => Ok(n),
    }
}
