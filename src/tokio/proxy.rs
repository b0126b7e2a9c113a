//! Async connections through a proxy: TCP to the proxy (each attempt
//! within the connect timeout), TLS for an `https://` proxy, then the
//! sans-IO [`Tunnel`] exchange driven over it, all within the handshake
//! deadline. The server's name is resolved with tokio's resolver when a
//! `socks5://` proxy needs an address, so no thread blocks on DNS.

use super::handshake::{tcp_connect, within};
use super::stream::MaybeTlsStream;
use crate::blocking::ProxyTls;
use crate::error::Error;
use crate::handshake::{ClientOptions, Status, WsUrl};
use crate::proxy::{ProxyError, ProxyErrorKind, ProxyScheme, ProxyUrl, SocksAddr, Tunnel};
use crate::timer::Keepalive;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A byte stream to the server, before any TLS of the server's own.
pub(super) enum Route {
    /// TCP: to the server, or a tunnel through an HTTP or SOCKS5 proxy.
    Tcp(TcpStream),
    /// A tunnel inside TLS to an `https://` proxy.
    #[cfg(feature = "rustls")]
    Tls(Box<super::TlsStream<TcpStream>>),
}

impl From<Route> for MaybeTlsStream {
    fn from(route: Route) -> Self {
        match route {
            Route::Tcp(tcp) => MaybeTlsStream::Plain(tcp),
            #[cfg(feature = "rustls")]
            Route::Tls(tls) => MaybeTlsStream::Rustls(tls),
        }
    }
}

/// The route to the server for `url`, direct or through the proxy
/// `options.proxy` selects, and the bytes the proxy sent after its reply,
/// which are the server's. Bounded by the timer's (handshake) deadline;
/// through a proxy, running into it is a proxy error.
pub(super) async fn open(
    url: &WsUrl,
    options: &ClientOptions,
    tls: ProxyTls<'_>,
    timer: &Keepalive<Instant>,
) -> Result<(Route, Vec<u8>), Error> {
    let Some(proxy) = options.proxy.proxy_for(url)? else {
        let tcp = within(
            timer,
            tcp_connect(&url.host, url.port, options.connect_timeout),
        )
        .await?;
        return Ok((Route::Tcp(tcp), Vec::new()));
    };
    let through = async {
        let mut tunnel = tunnel_for(&proxy, url).await?;
        let tcp = tcp_connect(&proxy.host, proxy.port, options.connect_timeout)
            .await
            .map_err(ProxyErrorKind::from_transport)?;
        let mut route = match proxy.scheme {
            ProxyScheme::Https => https(&proxy, tcp, tls).await?,
            _ => Route::Tcp(tcp),
        };
        let leftover = match &mut route {
            Route::Tcp(tcp) => exchange(tcp, &mut tunnel).await,
            #[cfg(feature = "rustls")]
            Route::Tls(tls) => exchange(&mut **tls, &mut tunnel).await,
        }?;
        Ok((route, leftover))
    };
    let outcome = match timer.poll_timeout() {
        Some(deadline) => tokio::time::timeout_at(deadline, through)
            .await
            .unwrap_or(Err(ProxyErrorKind::Timeout)),
        None => through.await,
    };
    outcome.map_err(|kind| Error::from(ProxyError::new(proxy.to_string(), kind)))
}

/// The exchange asking `proxy` for `url`; for `socks5://` and a host
/// name, the name resolved here first (the first address wins).
async fn tunnel_for(proxy: &ProxyUrl, url: &WsUrl) -> Result<Tunnel, ProxyErrorKind> {
    if !proxy.resolves_locally(url) {
        return Tunnel::for_url(proxy, url);
    }
    let resolved = tokio::net::lookup_host((url.host.as_str(), url.port))
        .await
        .map_err(ProxyErrorKind::Io)?
        .next()
        .ok_or_else(|| {
            ProxyErrorKind::Io(io::Error::new(
                io::ErrorKind::NotFound,
                "the server's host name has no address",
            ))
        })?;
    Tunnel::new(proxy, &url.host, &SocksAddr::from(resolved.ip()), url.port)
}

/// TLS to an `https://` proxy, verified with the connection's own TLS
/// configuration (or the bundled roots).
#[cfg(feature = "rustls")]
async fn https(
    proxy: &ProxyUrl,
    tcp: TcpStream,
    tls: ProxyTls<'_>,
) -> Result<Route, ProxyErrorKind> {
    let session = crate::blocking::proxy_session(proxy, tls)?;
    let mut stream = super::TlsStream::new(tcp, session);
    std::future::poll_fn(|cx| stream.poll_handshake(cx))
        .await
        .map_err(ProxyErrorKind::from_transport)?;
    Ok(Route::Tls(Box::new(stream)))
}

#[cfg(not(feature = "rustls"))]
async fn https(
    _proxy: &ProxyUrl,
    _tcp: TcpStream,
    _tls: ProxyTls<'_>,
) -> Result<Route, ProxyErrorKind> {
    Err(ProxyErrorKind::UnsupportedScheme("https".into()))
}

/// Sends the tunnel's requests and feeds it the proxy's replies until the
/// tunnel is up; the bytes that followed the reply.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    tunnel: &mut Tunnel,
) -> Result<Vec<u8>, ProxyErrorKind> {
    let transport = |e: io::Error| ProxyErrorKind::from_transport(e.into());
    let mut buf = [0u8; 1024];
    loop {
        if !tunnel.output().is_empty() {
            stream.write_all(tunnel.output()).await.map_err(transport)?;
            let n = tunnel.output().len();
            tunnel.advance_output(n);
            stream.flush().await.map_err(transport)?;
        }
        let n = stream.read(&mut buf).await.map_err(transport)?;
        if n == 0 {
            return Err(ProxyErrorKind::Closed);
        }
        if let Status::Complete(leftover) = tunnel.receive(&buf[..n])? {
            return Ok(leftover);
        }
    }
}
