//! Why going through a proxy failed.
//!
//! [`ProxyErrorKind`] is what went wrong; [`ProxyError`] adds which proxy
//! (its URL without credentials), since a client may pick it from the
//! environment without the caller ever writing it down.

use crate::handshake::RejectedResponse;
use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

/// What went wrong with a proxy.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyErrorKind {
    /// The proxy URL does not parse; says which part.
    InvalidUrl(&'static str),
    /// The proxy URL's scheme is not `http`, `https`, `socks5` or `socks5h`
    /// (or `https` without the `rustls` feature).
    UnsupportedScheme(String),
    /// The HTTP proxy answered `CONNECT` with a status other than 2xx:
    /// `407` (its `Proxy-Authenticate` challenge is in the headers), `403`,
    /// `502`...
    Refused(Box<RejectedResponse>),
    /// The proxy's reply is not well-formed HTTP or SOCKS5; says what.
    MalformedReply(&'static str),
    /// The HTTP proxy's reply header is over the size limit.
    ReplyTooLarge,
    /// The SOCKS5 proxy accepts none of the authentication methods offered
    /// (RFC 1928 §3: `X'FF'`): it wants credentials and the URL has none.
    NoAcceptableAuth,
    /// The SOCKS5 proxy refused the username and password (RFC 1929 §2).
    AuthFailed,
    /// A SOCKS5 username or password, or a host name sent to a SOCKS5
    /// proxy, is longer than the 255 bytes the protocol can carry.
    TooLong(&'static str),
    /// The SOCKS5 proxy could not connect to the server: its reply code
    /// (RFC 1928 §6), see [`socks_reply_reason`].
    SocksReply(u8),
    /// The proxy closed the connection before it finished replying.
    Closed,
    /// The proxy did not accept the connection, or did not finish its
    /// reply, in time.
    Timeout,
    /// The proxy could not be reached or resolved (adapters only).
    #[cfg(feature = "std")]
    Io(std::io::Error),
    /// TLS to an `https://` proxy failed (adapters only).
    #[cfg(feature = "rustls")]
    Tls(rustls::Error),
}

/// RFC 1928 §6: the meaning of a SOCKS5 reply code.
pub fn socks_reply_reason(code: u8) -> &'static str {
    match code {
        0x00 => "succeeded",
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unassigned reply code",
    }
}

impl fmt::Display for ProxyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyErrorKind::InvalidUrl(what) => write!(f, "invalid proxy URL: {what}"),
            ProxyErrorKind::UnsupportedScheme(s) => write!(
                f,
                "proxy scheme {s:?} is not http, https, socks5 or socks5h{}",
                if cfg!(feature = "rustls") {
                    ""
                } else {
                    " (https needs the rustls feature)"
                }
            ),
            ProxyErrorKind::Refused(r) => write!(f, "CONNECT refused with {r}"),
            ProxyErrorKind::MalformedReply(what) => write!(f, "malformed reply: {what}"),
            ProxyErrorKind::ReplyTooLarge => f.write_str("reply header too large"),
            ProxyErrorKind::NoAcceptableAuth => {
                f.write_str("no acceptable authentication method (credentials needed?)")
            }
            ProxyErrorKind::AuthFailed => f.write_str("username/password refused"),
            ProxyErrorKind::TooLong(what) => write!(f, "{what} longer than 255 bytes"),
            ProxyErrorKind::SocksReply(code) => {
                write!(f, "SOCKS5 reply {code:#04x}: {}", socks_reply_reason(*code))
            }
            ProxyErrorKind::Closed => f.write_str("connection closed during the proxy exchange"),
            ProxyErrorKind::Timeout => f.write_str("timed out"),
            #[cfg(feature = "std")]
            ProxyErrorKind::Io(e) => write!(f, "cannot connect: {e}"),
            #[cfg(feature = "rustls")]
            ProxyErrorKind::Tls(e) => write!(f, "TLS to the proxy failed: {e}"),
        }
    }
}

/// The I/O or TLS error's text is already in `Display`, so `source`
/// continues with that error's own source, as for [`crate::Error`].
#[cfg(feature = "std")]
impl std::error::Error for ProxyErrorKind {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProxyErrorKind::Io(e) => e.source(),
            #[cfg(feature = "rustls")]
            ProxyErrorKind::Tls(e) => e.source(),
            _ => None,
        }
    }
}

impl ProxyErrorKind {
    /// A transport failure while talking to the proxy (connecting, TLS to
    /// it, reading its reply), as a proxy error: timeouts become
    /// [`Timeout`](Self::Timeout), an early end [`Closed`](Self::Closed),
    /// so every adapter reports them alike.
    #[cfg(feature = "std")]
    pub(crate) fn from_transport(error: crate::Error) -> Self {
        use std::io::ErrorKind;
        match error {
            crate::Error::Timeout(_) => ProxyErrorKind::Timeout,
            crate::Error::Io(e)
                if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
            {
                ProxyErrorKind::Timeout
            }
            crate::Error::Io(e) if e.kind() == ErrorKind::UnexpectedEof => ProxyErrorKind::Closed,
            crate::Error::Io(e) => ProxyErrorKind::Io(e),
            #[cfg(feature = "rustls")]
            crate::Error::Tls(e) => ProxyErrorKind::Tls(e),
            other => ProxyErrorKind::Io(std::io::Error::other(other.to_string())),
        }
    }
}

/// A proxy failure, naming the proxy (its URL without credentials).
#[derive(Debug)]
pub struct ProxyError {
    proxy: String,
    kind: ProxyErrorKind,
}

impl ProxyError {
    /// A failure of the proxy named `proxy` (pass a URL without
    /// credentials, e.g. a [`ProxyUrl`](super::ProxyUrl)'s `Display`).
    pub fn new(proxy: impl Into<String>, kind: ProxyErrorKind) -> Self {
        ProxyError {
            proxy: proxy.into(),
            kind,
        }
    }

    /// The proxy, as `scheme://host:port`.
    pub fn proxy(&self) -> &str {
        &self.proxy
    }

    /// What went wrong.
    pub fn kind(&self) -> &ProxyErrorKind {
        &self.kind
    }

    /// The HTTP proxy's refusal (status, reason, headers such as
    /// `Proxy-Authenticate`, the start of the body), if that is the failure.
    pub fn response(&self) -> Option<&RejectedResponse> {
        match &self.kind {
            ProxyErrorKind::Refused(r) => Some(r),
            _ => None,
        }
    }

    /// The HTTP status the proxy refused `CONNECT` with, if it did.
    pub fn status(&self) -> Option<u16> {
        self.response().map(|r| r.status)
    }

    /// Whether the proxy was too slow to accept or to reply.
    pub fn is_timeout(&self) -> bool {
        match &self.kind {
            ProxyErrorKind::Timeout => true,
            #[cfg(feature = "std")]
            ProxyErrorKind::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ),
            _ => false,
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proxy {}: {}", self.proxy, self.kind)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}
