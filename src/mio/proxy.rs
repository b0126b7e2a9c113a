//! Non-blocking connections through a proxy: the TCP connection goes to
//! the proxy (and, for an `https://` proxy, a TLS session over it, whose
//! handshake runs as the first bytes are written and read), and the
//! socket's first phase drives the sans-IO [`Tunnel`] over that stream
//! (beneath the server's TLS) before the WebSocket handshake is queued.
//! The handshake timeout covers the proxy's reply too.

use super::socket::tcp_connect;
use super::ClientStream;
use crate::blocking::ProxyTls;
use crate::error::Error;
use crate::handshake::WsUrl;
use crate::proxy::{ProxyConfig, ProxyError, ProxyErrorKind, ProxyScheme, ProxyUrl, Tunnel};
use ::mio::net::TcpStream;
use std::io;

/// A proxy exchange in progress, and the proxy's name for errors.
#[derive(Debug)]
pub(super) struct Proxying {
    pub(super) tunnel: Tunnel,
    pub(super) proxy: String,
}

impl Proxying {
    /// A proxy error naming this proxy.
    pub(super) fn error(&self, kind: ProxyErrorKind) -> Error {
        Error::from(ProxyError::new(self.proxy.clone(), kind))
    }

    /// A failure of the stream to the proxy, as a proxy error: TLS errors
    /// (an `https://` proxy's certificate) keep their type.
    pub(super) fn transport_error(&self, e: io::Error) -> Error {
        self.error(ProxyErrorKind::from_transport(Error::from(e)))
    }
}

/// A non-blocking connection, started, to the server for `url` or to the
/// proxy `proxy` selects for it (with the exchange to run first). `tls`
/// verifies an `https://` proxy (the bundled roots when `None`).
pub(super) fn open(
    url: &WsUrl,
    proxy: &ProxyConfig,
    tls: ProxyTls<'_>,
) -> Result<(ClientStream, Option<Proxying>), Error> {
    let Some(proxy) = proxy.proxy_for(url)? else {
        return Ok((ClientStream::Tcp(tcp_connect(&url.host, url.port)?), None));
    };
    let name = proxy.to_string();
    let fail = |kind| Error::from(ProxyError::new(name.clone(), kind));
    let tunnel = Tunnel::for_url(&proxy, url).map_err(fail)?;
    let tcp = tcp_connect(&proxy.host, proxy.port).map_err(|e| fail(ProxyErrorKind::Io(e)))?;
    let stream = match proxy.scheme {
        ProxyScheme::Https => https(&proxy, tcp, tls).map_err(fail)?,
        _ => ClientStream::Tcp(tcp),
    };
    Ok((
        stream,
        Some(Proxying {
            tunnel,
            proxy: name,
        }),
    ))
}

/// A TLS session to the proxy over `tcp`, its handshake not yet started:
/// it runs as the tunnel's requests, which wait in the session until it is
/// done, are flushed, and as the proxy's replies are read.
#[cfg(feature = "rustls")]
fn https(
    proxy: &ProxyUrl,
    tcp: TcpStream,
    tls: ProxyTls<'_>,
) -> Result<ClientStream, ProxyErrorKind> {
    let session = crate::blocking::proxy_session(proxy, tls)?;
    Ok(ClientStream::ProxyTls(Box::new(super::TlsStream::new(
        session, tcp,
    ))))
}

#[cfg(not(feature = "rustls"))]
fn https(
    _proxy: &ProxyUrl,
    _tcp: TcpStream,
    _tls: ProxyTls<'_>,
) -> Result<ClientStream, ProxyErrorKind> {
    Err(ProxyErrorKind::UnsupportedScheme("https".into()))
}
