//! Non-blocking connections through a proxy: the TCP connection goes to
//! the proxy, and the socket's first phase drives the sans-IO [`Tunnel`]
//! over the raw stream (beneath TLS) before the WebSocket handshake is
//! queued. The handshake timeout covers the proxy's reply too.

use super::socket::tcp_connect;
use crate::error::Error;
use crate::handshake::WsUrl;
use crate::proxy::{ProxyConfig, ProxyError, ProxyErrorKind, ProxyScheme, Tunnel};
use ::mio::net::TcpStream;

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
}

/// A non-blocking TCP connection, started, to the server for `url` or to
/// the proxy `proxy` selects for it (with the exchange to run first).
pub(super) fn open(
    url: &WsUrl,
    proxy: &ProxyConfig,
) -> Result<(TcpStream, Option<Proxying>), Error> {
    let Some(proxy) = proxy.proxy_for(url)? else {
        return Ok((tcp_connect(&url.host, url.port)?, None));
    };
    let name = proxy.to_string();
    let fail = |kind| Error::from(ProxyError::new(name.clone(), kind));
    if proxy.scheme == ProxyScheme::Https {
        // TLS to the proxy with TLS to the server inside it is done by the
        // blocking adapter only.
        return Err(fail(ProxyErrorKind::UnsupportedScheme(
            "https (in the mio adapter)".into(),
        )));
    }
    let tunnel = Tunnel::for_url(&proxy, url).map_err(fail)?;
    let stream = tcp_connect(&proxy.host, proxy.port).map_err(|e| fail(ProxyErrorKind::Io(e)))?;
    Ok((
        stream,
        Some(Proxying {
            tunnel,
            proxy: name,
        }),
    ))
}
