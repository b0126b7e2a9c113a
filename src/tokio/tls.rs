//! `wss://` for the tokio adapter (features `tokio` and `rustls`): a rustls
//! session, client or server, driven over any `AsyncRead + AsyncWrite`.
//!
//! rustls is sans-IO like this crate's core: it takes TLS records in
//! (`read_tls`) and hands records out (`write_tls`). [`TlsStream`] moves
//! them with the stream's poll functions, so no TLS glue crate is needed;
//! one driver serves both sides, as it only needs what rustls's
//! `ConnectionCommon` offers. As in the blocking adapter, the TLS
//! handshake finishes before the WebSocket one starts, within the same
//! handshake deadline, so a refused certificate is an [`Error::Tls`] from
//! [`connect_tls`] and a client that is no TLS client at all is one from
//! [`accept_tls`].

use super::handshake::{accept_all, connect_plain, run_client, run_server, within};
use super::options::Options;
use super::proxy::Route;
use super::stream::MaybeTlsStream;
use super::WebSocket;
use crate::blocking::{check_alpn, client_session, receive_early, Rejection};
use crate::config::Config;
use crate::error::Error;
use crate::handshake::{AcceptOptions, ClientOptions, Request, WsUrl};
use crate::timer::Keepalive;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::task::{ready, Context, Poll};
use rustls::{
    ClientConfig, ClientConnection, ConnectionCommon, ServerConfig, ServerConnection, SideData,
};
use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A rustls server session over an async stream (TCP by default), as
/// [`accept_tls`] wraps it.
pub type TlsServerStream<S = TcpStream> = TlsStream<S, ServerConnection>;

/// Connect to a `wss://` URL with your own TLS configuration (a private CA,
/// client certificates); a `ws://` URL connects without TLS. Through the
/// proxy `options.proxy` selects, as [`connect_with`](super::connect_with);
/// an `https://` proxy is verified with `tls` too.
///
/// ```no_run
/// # async fn run() -> Result<(), rfc6455::Error> {
/// use rfc6455::{blocking, tokio as ws, ClientOptions, Config};
/// let tls = blocking::default_tls_config();
/// let options = ClientOptions::default();
/// let mut socket = ws::connect_tls("wss://echo.example/", tls, options, Config::default()).await?;
/// socket.send(rfc6455::Message::text("hi")).await?;
/// # Ok(()) }
/// ```
pub async fn connect_tls(
    url: &str,
    tls: Arc<ClientConfig>,
    options: ClientOptions,
    config: Config,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    connect_tls_with_options(url, tls, options, config.into()).await
}

/// [`connect_tls`] with deadlines and a high-water mark of your own, as
/// [`connect_with_options`](super::connect_with_options): the TLS
/// handshake counts against `options.timeouts.handshake` too.
pub async fn connect_tls_with_options(
    url: &str,
    tls: Arc<ClientConfig>,
    client: ClientOptions,
    options: Options,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let parsed = WsUrl::parse(url)?;
    if !parsed.secure {
        return connect_plain(&parsed, client, options, Some(&tls)).await;
    }
    connect_parsed(&parsed, tls, client, options).await
}

/// The route to the server (direct, or a tunnel through the proxy, which
/// `tls` also verifies if it is `https://`), then TLS with SNI for the
/// URL's host, then the WebSocket handshake, all within the handshake
/// deadline.
pub(super) async fn connect_parsed(
    url: &WsUrl,
    tls: Arc<ClientConfig>,
    client: ClientOptions,
    options: Options,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let session = client_session(url, tls.clone())?;
    let timer = options.start_timer();
    let (route, early) = super::proxy::open(url, &client, Some(&tls), &timer).await?;
    let stream = match route {
        Route::Tcp(tcp) => {
            MaybeTlsStream::Rustls(Box::new(tls_over(tcp, session, &early, &timer).await?))
        }
        Route::Tls(proxy) => {
            MaybeTlsStream::RustlsInTls(Box::new(tls_over(*proxy, session, &early, &timer).await?))
        }
    };
    run_client(stream, url, client, options, timer, &[]).await
}

/// `session` over `io`, its handshake finished within the timer's
/// deadline, starting with the server's `early` bytes.
pub(super) async fn tls_over<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    mut session: ClientConnection,
    early: &[u8],
    timer: &Keepalive<Instant>,
) -> Result<TlsStream<S>, Error> {
    receive_early(&mut session, early)?;
    let mut stream = TlsStream::new(io, session);
    within(timer, poll_fn(|cx| stream.poll_handshake(cx))).await?;
    check_alpn(&stream.session)?;
    Ok(stream)
}

/// Accept `wss://` on `stream` (a `tokio::net::TcpStream`, or any async
/// stream) with default WebSocket settings: the TLS handshake with `tls`,
/// then the upgrade, as the blocking adapter's `accept_tls`.
///
/// ```no_run
/// use rfc6455::rustls::ServerConfig;
/// use rfc6455::tokio as ws;
/// use std::sync::Arc;
/// use tokio::net::TcpListener;
///
/// # async fn serve(tls: Arc<ServerConfig>) -> Result<(), rfc6455::Error> {
/// let listener = TcpListener::bind("127.0.0.1:9443").await?;
/// let (tcp, _) = listener.accept().await?;
/// let mut socket = ws::accept_tls(tcp, tls).await?;
/// while let Ok(message) = socket.read().await {
///     socket.send(message).await?;
/// }
/// # Ok(()) }
/// ```
///
/// **Cancel safety**: not cancel-safe (dropping it drops the stream).
pub async fn accept_tls<S>(
    stream: S,
    tls: Arc<ServerConfig>,
) -> Result<WebSocket<TlsServerStream<S>>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_tls_with_options(stream, tls, Options::default(), accept_all).await
}

/// As [`accept_tls`], with the choices of
/// [`accept_with`](super::accept_with): `decide` sees the request (over
/// TLS) and picks a subprotocol or refuses.
pub async fn accept_tls_with<S, F>(
    stream: S,
    tls: Arc<ServerConfig>,
    config: Config,
    decide: F,
) -> Result<WebSocket<TlsServerStream<S>>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    accept_tls_with_options(stream, tls, config.into(), decide).await
}

/// [`accept_tls_with`] with deadlines and a high-water mark of your own.
/// The TLS handshake and the upgrade together must finish within
/// `options.timeouts.handshake`: a client that stalls in either is cut off
/// with [`Error::Timeout`]. A client that does not speak TLS gets an alert
/// and [`Error::Tls`].
pub async fn accept_tls_with_options<S, F>(
    stream: S,
    tls: Arc<ServerConfig>,
    options: Options,
    decide: F,
) -> Result<WebSocket<TlsServerStream<S>>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    let timer = options.start_timer();
    let mut stream = TlsStream::new(stream, ServerConnection::new(tls)?);
    // On failure our alert, if any, went out with it; dropping the stream
    // closes the connection.
    within(&timer, poll_fn(|cx| stream.poll_handshake(cx))).await?;
    run_server(stream, options, timer, decide).await
}

/// A rustls session over an async stream: a client one
/// (`ClientConnection`, the default) or a server one
/// ([`TlsServerStream`]).
#[derive(Debug)]
pub struct TlsStream<S, C = ClientConnection> {
    io: S,
    session: C,
}

impl<S, C, D> TlsStream<S, C>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    D: SideData,
{
    /// Run `session` over `io`; the TLS handshake happens as the stream is
    /// read and written.
    pub fn new(io: S, session: C) -> Self {
        TlsStream { io, session }
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The TLS session (negotiated protocol, peer certificates...).
    pub fn session(&self) -> &C {
        &self.session
    }

    /// Drive the TLS handshake to its end.
    pub fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.session.is_handshaking() {
            if self.session.wants_write() {
                ready!(self.poll_write_tls(cx))?;
                continue;
            }
            if ready!(self.poll_read_tls(cx))? == 0 {
                return Poll::Ready(Err(Error::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the TLS handshake",
                ))));
            }
        }
        ready!(self.poll_write_tls(cx))?;
        Poll::Ready(Ok(()))
    }

    /// Write TLS records until the session has none or the stream is full.
    fn poll_write_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.session.wants_write() {
            let mut io = Bridge {
                io: &mut self.io,
                cx,
            };
            match self.session.write_tls(&mut io) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Read TLS records once and process them; `Ok(0)` at the end of the
    /// stream. A TLS error queues its alert, which is sent on the way out.
    fn poll_read_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut io = Bridge {
            io: &mut self.io,
            cx,
        };
        let n = match self.session.read_tls(&mut io) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if let Err(e) = self.session.process_new_packets() {
            let _ = self.poll_write_tls(cx);
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
        }
        Poll::Ready(Ok(n))
    }
}

impl<S, C, D> AsyncRead for TlsStream<S, C>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: DerefMut + Deref<Target = ConnectionCommon<D>> + Unpin,
    D: SideData,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match this.session.reader().read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // UnexpectedEof: TCP ended without close_notify.
                Err(e) => return Poll::Ready(Err(e)),
            }
            // Records the session owes the peer (key updates, alerts) go
            // out while we wait; a full stream does not hold up reading.
            if let Poll::Ready(Err(e)) = this.poll_write_tls(cx) {
                return Poll::Ready(Err(e));
            }
            // At EOF the reader above reports it on the next turn.
            ready!(this.poll_read_tls(cx))?;
        }
    }
}

impl<S, C, D> AsyncWrite for TlsStream<S, C>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: DerefMut + Deref<Target = ConnectionCommon<D>> + Unpin,
    D: SideData,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Backpressure: encrypt more only once earlier records are out, so
        // the session's buffer stays bounded by one write's worth.
        ready!(this.poll_write_tls(cx))?;
        let n = this.session.writer().write_vectored(bufs)?;
        if let Poll::Ready(Err(e)) = this.poll_write_tls(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.session.writer().flush()?;
        ready!(this.poll_write_tls(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.session.send_close_notify();
        ready!(this.poll_write_tls(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The async stream seen as a `std::io` one for rustls's record I/O:
/// `Pending` becomes `WouldBlock` (with the task's waker registered).
struct Bridge<'a, 'b, S> {
    io: &'a mut S,
    cx: &'a mut Context<'b>,
}

impl<S: AsyncRead + Unpin> Read for Bridge<'_, '_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut *self.io).poll_read(self.cx, &mut buf) {
            Poll::Ready(Ok(())) => Ok(buf.filled().len()),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl<S: AsyncWrite + Unpin> Write for Bridge<'_, '_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_write(self.cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_write_vectored(self.cx, bufs) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match Pin::new(&mut *self.io).poll_flush(self.cx) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}
