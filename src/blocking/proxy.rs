//! Blocking connections through a proxy: TCP to the proxy (within the
//! connect timeout), TLS for an `https://` proxy, then the sans-IO
//! [`Tunnel`] exchange driven over it (each within
//! [`HANDSHAKE_TIMEOUT`](super::HANDSHAKE_TIMEOUT)).

use super::handshake::{tcp_connect, HandshakeClock};
use super::{BlockingTransport, MaybeTlsStream};
use crate::error::Error;
use crate::handshake::{ClientOptions, Status, WsUrl};
use crate::proxy::{ProxyError, ProxyErrorKind, ProxyScheme, ProxyUrl, Tunnel};
use std::net::TcpStream;

/// The TLS configuration an `https://` proxy is verified with: the one the
/// WebSocket connection uses.
#[cfg(feature = "rustls")]
pub(crate) type ProxyTls<'a> = Option<&'a std::sync::Arc<rustls::ClientConfig>>;
#[cfg(not(feature = "rustls"))]
pub(crate) type ProxyTls<'a> = Option<&'a ()>;

/// A byte stream to the server, before any TLS of the server's own.
pub(super) enum Route {
    /// TCP: to the server, or a tunnel through an HTTP or SOCKS5 proxy.
    Tcp(TcpStream),
    /// A tunnel inside TLS to an `https://` proxy.
    #[cfg(feature = "rustls")]
    Tls(Box<super::TlsClientStream>),
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
/// which are the server's.
pub(super) fn open(
    url: &WsUrl,
    options: &ClientOptions,
    tls: ProxyTls<'_>,
) -> Result<(Route, Vec<u8>), Error> {
    let Some(proxy) = options.proxy.proxy_for(url)? else {
        let stream = tcp_connect(&url.host, url.port, options)?;
        return Ok((Route::Tcp(stream), Vec::new()));
    };
    let fail = |kind| Error::from(ProxyError::new(proxy.to_string(), kind));
    let mut tunnel = Tunnel::for_url(&proxy, url).map_err(fail)?;
    let mut stream = connect_to_proxy(&proxy, options, tls).map_err(fail)?;
    let leftover = match &mut stream {
        Route::Tcp(tcp) => exchange(tcp, &mut tunnel),
        #[cfg(feature = "rustls")]
        Route::Tls(tls) => exchange(&mut **tls, &mut tunnel),
    }
    .map_err(fail)?;
    Ok((stream, leftover))
}

/// TCP to the proxy, then TLS for an `https://` proxy.
fn connect_to_proxy(
    proxy: &ProxyUrl,
    options: &ClientOptions,
    tls: ProxyTls<'_>,
) -> Result<Route, ProxyErrorKind> {
    let tcp =
        tcp_connect(&proxy.host, proxy.port, options).map_err(ProxyErrorKind::from_transport)?;
    match proxy.scheme {
        ProxyScheme::Https => https(proxy, tcp, tls),
        _ => Ok(Route::Tcp(tcp)),
    }
}

/// A TLS client session for an `https://` proxy, verified under `tls` (the
/// connection's own configuration) or the bundled roots, with SNI for the
/// proxy's host: every adapter starts TLS to a proxy with it.
#[cfg(feature = "rustls")]
pub(crate) fn proxy_session(
    proxy: &ProxyUrl,
    tls: ProxyTls<'_>,
) -> Result<rustls::ClientConnection, ProxyErrorKind> {
    let config = tls.cloned().unwrap_or_else(super::default_tls_config);
    super::tls::client_session_for(&proxy.host, config).map_err(ProxyErrorKind::from_transport)
}

#[cfg(feature = "rustls")]
fn https(proxy: &ProxyUrl, tcp: TcpStream, tls: ProxyTls<'_>) -> Result<Route, ProxyErrorKind> {
    let session = proxy_session(proxy, tls)?;
    // A proxy that accepts TCP and stays silent must not hold the TLS
    // handshake forever.
    tcp.set_read_timeout(Some(super::HANDSHAKE_TIMEOUT))
        .map_err(ProxyErrorKind::Io)?;
    let stream = super::tls::tls_over(session, tcp, &[]).map_err(ProxyErrorKind::from_transport)?;
    stream
        .sock
        .set_read_timeout(None)
        .map_err(ProxyErrorKind::Io)?;
    Ok(Route::Tls(Box::new(stream)))
}

#[cfg(not(feature = "rustls"))]
fn https(_proxy: &ProxyUrl, _tcp: TcpStream, _tls: ProxyTls<'_>) -> Result<Route, ProxyErrorKind> {
    Err(ProxyErrorKind::UnsupportedScheme("https".into()))
}

/// Sends the tunnel's requests and feeds it the proxy's replies until the
/// tunnel is up, within [`HANDSHAKE_TIMEOUT`](super::HANDSHAKE_TIMEOUT).
fn exchange<S: BlockingTransport>(
    stream: &mut S,
    tunnel: &mut Tunnel,
) -> Result<Vec<u8>, ProxyErrorKind> {
    let mut clock = HandshakeClock::start(stream);
    let mut buf = [0u8; 1024];
    loop {
        if !tunnel.output().is_empty() {
            stream
                .write_all(tunnel.output())
                .map_err(|e| ProxyErrorKind::from_transport(e.into()))?;
            let n = tunnel.output().len();
            tunnel.advance_output(n);
            stream
                .flush()
                .map_err(|e| ProxyErrorKind::from_transport(e.into()))?;
        }
        let n = clock
            .read(stream, &mut buf)
            .map_err(ProxyErrorKind::from_transport)?;
        if n == 0 {
            return Err(ProxyErrorKind::Closed);
        }
        if let Status::Complete(leftover) = tunnel.receive(&buf[..n])? {
            clock.restore(stream);
            return Ok(leftover);
        }
    }
}
