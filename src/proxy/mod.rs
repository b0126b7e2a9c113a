//! Clients through proxies: HTTP `CONNECT` and SOCKS5, sans-IO.
//!
//! A proxy sits between the client and the server; the client first asks
//! it for a tunnel to the server, then runs TLS (for `wss://`) and the
//! WebSocket handshake inside that tunnel. Asking is a short exchange of
//! bytes, done here the way the rest of the crate does protocols: a
//! [`Tunnel`] gives [`output`](Tunnel::output) to send, takes what the
//! proxy answers in [`receive`](Tunnel::receive), and says when the tunnel
//! is up, handing back any bytes that followed the proxy's reply. It never
//! touches a socket or a clock, so every adapter drives the same code.
//!
//! - `url`: proxy URLs ([`ProxyUrl`]): `http://`, `https://`, `socks5://`
//!   (the client resolves the server's name), `socks5h://` (the proxy
//!   does), credentials percent-decoded.
//! - `http`: the `CONNECT` exchange ([`HttpConnect`]).
//! - `socks`: the SOCKS5 exchange ([`Socks5`]).
//! - `env` (feature `std`): which proxy a URL goes through: an explicit
//!   one, or the conventional environment variables ([`ProxyConfig`]).
//! - `error`: [`ProxyError`], naming the proxy.
//!
//! The `blocking`, `mio` and `tokio` clients use all of this through
//! [`ClientOptions::proxy`](crate::ClientOptions::proxy). Another adapter
//! needs four steps: `ProxyConfig::proxy_for` (feature `std`) picks the
//! proxy, `Tunnel::for_url` builds the exchange (an async adapter resolves
//! the host itself when `ProxyUrl::resolves_locally`, then calls
//! [`Tunnel::new`]), a connection to the proxy's host and port carries it,
//! and a loop like this one drives it (here with a SOCKS5 proxy's replies
//! as literal bytes):
//!
//! ```
//! use rfc6455::handshake::Status;
//! use rfc6455::proxy::{ProxyUrl, SocksAddr, Tunnel};
//!
//! let proxy = ProxyUrl::parse("socks5h://127.0.0.1:1080")?;
//! let target = SocksAddr::Domain("example.com".into());
//! let mut tunnel = Tunnel::new(&proxy, "example.com", &target, 443)?;
//! // What the proxy answers: "no authentication", then "succeeded", then
//! // the server's first byte, in arbitrary pieces.
//! let mut replies: &[&[u8]] = &[b"\x05\x00\x05\x00\x00", b"\x01\0\0\0\0\0\0!"];
//! let leftover = loop {
//!     let request = tunnel.output().to_vec(); // write this to the proxy...
//!     tunnel.advance_output(request.len());   // ...and say how much went out
//!     let (read, rest) = replies.split_first().expect("the proxy replied");
//!     replies = rest;
//!     if let Status::Complete(leftover) = tunnel.receive(read)? {
//!         break leftover; // the tunnel is up: TLS or the handshake next
//!     }
//! };
//! assert_eq!(leftover, b"!");
//! # Ok::<(), rfc6455::proxy::ProxyErrorKind>(())
//! ```

#[cfg(feature = "std")]
mod env;
mod error;
mod http;
#[cfg(feature = "std")]
mod resolve;
mod socks;
mod url;

#[cfg(feature = "std")]
pub use env::no_proxy_matches;
pub use error::{socks_reply_reason, ProxyError, ProxyErrorKind};
pub use http::{HttpConnect, MAX_REPLY};
pub use socks::{Socks5, SocksAddr};
pub use url::{ProxyScheme, ProxyUrl};

use crate::handshake::Status;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Which proxy a client goes through: part of
/// [`ClientOptions`](crate::ClientOptions), read by every adapter's
/// `connect`.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProxyConfig {
    /// The conventional environment variables (the default), read when
    /// connecting: `http_proxy` / `HTTP_PROXY` for `ws://`, `https_proxy` /
    /// `HTTPS_PROXY` for `wss://`, `all_proxy` / `ALL_PROXY` for either,
    /// and `no_proxy` / `NO_PROXY` for the hosts that bypass them. The
    /// lowercase name wins when both are set, as in curl; `HTTP_PROXY`
    /// is ignored when `REQUEST_METHOD` is set (a CGI program, where any
    /// client can set it with a `Proxy:` header, "httpoxy"). Without the
    /// `std` feature there is no environment: direct.
    #[default]
    Environment,
    /// This proxy for every URL, whatever the environment says, e.g.
    /// `http://user:pass@proxy:3128` or `socks5h://127.0.0.1:1080`.
    Url(String),
    /// No proxy: connect directly, ignoring the environment.
    Direct,
}

impl ProxyConfig {
    /// An explicit proxy URL (checked when connecting).
    pub fn url(url: impl Into<String>) -> Self {
        ProxyConfig::Url(url.into())
    }
}

impl fmt::Debug for ProxyConfig {
    /// An explicit URL is shown without its credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyConfig::Environment => f.write_str("Environment"),
            ProxyConfig::Url(u) => f.debug_tuple("Url").field(&url::redact(u)).finish(),
            ProxyConfig::Direct => f.write_str("Direct"),
        }
    }
}

/// The exchange that opens a tunnel through a proxy, either kind.
#[derive(Debug, Clone)]
pub enum Tunnel {
    /// HTTP `CONNECT`.
    Http(HttpConnect),
    /// SOCKS5.
    Socks5(Socks5),
}

impl Tunnel {
    /// The exchange for `proxy`, to reach `host:port`. For SOCKS5, `addr`
    /// is what the proxy is asked to connect to: the name for
    /// `socks5h://`, an address the caller resolved for `socks5://`
    /// (ignored for HTTP proxies, which always get `host`).
    pub fn new(
        proxy: &ProxyUrl,
        host: &str,
        addr: &SocksAddr,
        port: u16,
    ) -> Result<Self, ProxyErrorKind> {
        let credentials = proxy
            .credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()));
        Ok(if proxy.scheme.is_http() {
            Tunnel::Http(HttpConnect::new(host, port, credentials))
        } else {
            Tunnel::Socks5(Socks5::new(addr, port, credentials)?)
        })
    }

    /// Bytes to send to the proxy now (empty while waiting for a reply).
    pub fn output(&self) -> &[u8] {
        match self {
            Tunnel::Http(c) => c.output(),
            Tunnel::Socks5(s) => s.output(),
        }
    }

    /// `n` bytes of [`output`](Self::output) were sent.
    pub fn advance_output(&mut self, n: usize) {
        match self {
            Tunnel::Http(c) => c.advance_output(n),
            Tunnel::Socks5(s) => s.advance_output(n),
        }
    }

    /// Hand in bytes from the proxy. `Partial`: send any new
    /// [`output`](Self::output) and wait for more. `Complete(leftover)`:
    /// the tunnel is up; `leftover` came after the proxy's reply and
    /// belongs to the server (feed it to TLS or the WebSocket handshake).
    pub fn receive(&mut self, data: &[u8]) -> Result<Status<Vec<u8>>, ProxyErrorKind> {
        match self {
            Tunnel::Http(c) => c.receive(data),
            Tunnel::Socks5(s) => s.receive(data),
        }
    }
}

/// Helpers the exchanges' tests share.
#[cfg(test)]
pub(crate) mod test_util {
    use super::ProxyErrorKind;
    use crate::handshake::Status;
    use alloc::vec::Vec;

    /// Feeds `pieces` to `receive` until it stops asking for more; the
    /// outcome, with the pieces after a completing one appended to its
    /// leftover (they are what the caller reads next).
    pub(crate) fn feed(
        mut receive: impl FnMut(&[u8]) -> Result<Status<Vec<u8>>, ProxyErrorKind>,
        pieces: &[&[u8]],
    ) -> Result<Status<Vec<u8>>, ProxyErrorKind> {
        let mut last = Ok(Status::Partial);
        for (i, piece) in pieces.iter().enumerate() {
            last = receive(piece);
            if let Ok(Status::Complete(leftover)) = &mut last {
                leftover.extend(pieces[i + 1..].concat());
            }
            if !matches!(last, Ok(Status::Partial)) {
                break;
            }
        }
        last
    }

    /// `reply` whole, split in two at every position, and byte by byte.
    pub(crate) fn splits(reply: &[u8]) -> Vec<Vec<&[u8]>> {
        let mut all = alloc::vec![alloc::vec![reply]];
        all.extend((0..=reply.len()).map(|i| alloc::vec![&reply[..i], &reply[i..]]));
        all.push(reply.chunks(1).collect());
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tunnel_per_scheme_with_the_url_credentials() {
        let target = SocksAddr::Domain("ws.example".into());
        let proxy = ProxyUrl::parse("http://a:b@p:1").unwrap();
        let tunnel = Tunnel::new(&proxy, "ws.example", &target, 443).unwrap();
        let request = core::str::from_utf8(tunnel.output()).unwrap();
        assert!(request.starts_with("CONNECT ws.example:443 HTTP/1.1\r\n"));
        assert!(request.contains("Proxy-Authorization: Basic YTpi\r\n"));
        let proxy = ProxyUrl::parse("socks5h://a:b@p").unwrap();
        let tunnel = Tunnel::new(&proxy, "ws.example", &target, 443).unwrap();
        assert_eq!(tunnel.output(), b"\x05\x02\x00\x02");
    }

    #[test]
    fn debug_hides_credentials() {
        let config = ProxyConfig::url("http://u:secret@p:1");
        assert_eq!(alloc::format!("{config:?}"), "Url(\"http://***@p:1\")");
    }
}
