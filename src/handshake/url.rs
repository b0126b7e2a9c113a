//! `ws://` and `wss://` URLs (RFC 6455 §3).
//!
//! Only what a handshake needs: scheme, host, port, and the request target.
//! A general URL parser would accept forms (user info, fragments, relative
//! references) that RFC 6455 forbids, so this one is strict by design.

use super::HandshakeError;
use alloc::format;
use alloc::string::String;
use core::fmt;

/// A parsed WebSocket URL.
///
/// ```
/// use rfc6455::WsUrl;
///
/// let url = WsUrl::parse("wss://[::1]:8443/feed?since=3")?;
/// assert!(url.secure);
/// assert_eq!((url.host.as_str(), url.port), ("::1", 8443));
/// assert_eq!(url.path_and_query, "/feed?since=3");
/// assert_eq!(url.host_header(), "[::1]:8443");
/// assert!(WsUrl::parse("http://example.com/").is_err());
/// # Ok::<(), rfc6455::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// `true` for `wss://` (TLS), `false` for `ws://`.
    pub secure: bool,
    /// The host, without the brackets of an IPv6 literal.
    pub host: String,
    /// The port, explicit or the scheme's default (80 or 443).
    pub port: u16,
    /// The request target: path and query, `/` when the URL has no path.
    pub path_and_query: String,
}

/// Why a string is not a usable WebSocket URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `ws` or `wss` (or there is no `scheme://`).
    UnsupportedScheme(String),
    /// The URL has no host.
    MissingHost,
    /// The host has characters no host may have, or a malformed IPv6 literal.
    InvalidHost,
    /// The URL carries user info (`user@host`), which RFC 6455 §3 does not allow.
    UserInfo,
    /// The port is not a number from 1 to 65535.
    InvalidPort,
    /// The URL has a fragment (`#`), which RFC 6455 §3 forbids.
    Fragment,
    /// The path or query holds spaces, control or non-ASCII characters
    /// (percent-encode them).
    InvalidPath,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::UnsupportedScheme(s) => write!(f, "scheme {s:?} is not ws or wss"),
            UrlError::MissingHost => f.write_str("missing host"),
            UrlError::InvalidHost => f.write_str("invalid host"),
            UrlError::UserInfo => f.write_str("user info is not allowed"),
            UrlError::InvalidPort => f.write_str("invalid port"),
            UrlError::Fragment => f.write_str("fragments are not allowed"),
            UrlError::InvalidPath => {
                f.write_str("path has characters that must be percent-encoded")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UrlError {}

impl WsUrl {
    /// Parses `ws://host[:port][/path][?query]` or the `wss://` form.
    pub fn parse(url: &str) -> Result<WsUrl, HandshakeError> {
        Ok(parse_url(url)?)
    }

    /// The default port of the scheme: 443 for `wss`, 80 for `ws`.
    ///
    /// ```
    /// let url = rfc6455::WsUrl::parse("wss://example.com")?;
    /// assert_eq!((url.port, url.default_port()), (443, 443));
    /// # Ok::<(), rfc6455::HandshakeError>(())
    /// ```
    pub fn default_port(&self) -> u16 {
        if self.secure {
            443
        } else {
            80
        }
    }

    /// The `Host` header value: IPv6 literals in brackets, and the port only
    /// when it is not the scheme's default (RFC 6455 §4.1 item 4).
    ///
    /// ```
    /// use rfc6455::WsUrl;
    /// assert_eq!(WsUrl::parse("ws://example.com:80/")?.host_header(), "example.com");
    /// assert_eq!(WsUrl::parse("ws://example.com:8080/")?.host_header(), "example.com:8080");
    /// # Ok::<(), rfc6455::HandshakeError>(())
    /// ```
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(
            f,
            "{scheme}://{}{}",
            self.host_header(),
            self.path_and_query
        )
    }
}

fn parse_url(url: &str) -> Result<WsUrl, UrlError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| UrlError::UnsupportedScheme(String::new()))?;
    // RFC 6455 §3: the schemes are "ws" (port 80) and "wss" (port 443);
    // RFC 3986 §3.1: schemes compare case-insensitively.
    let secure = if scheme.eq_ignore_ascii_case("ws") {
        false
    } else if scheme.eq_ignore_ascii_case("wss") {
        true
    } else {
        return Err(UrlError::UnsupportedScheme(scheme.into()));
    };
    // RFC 6455 §3: fragment identifiers are meaningless in WebSocket URIs
    // and MUST NOT be used; a '#' must be escaped as %23.
    if rest.contains('#') {
        return Err(UrlError::Fragment);
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(UrlError::UserInfo);
    }
    let (host, port) = split_host_port(authority)?;
    let port = match port {
        // RFC 3986 §3.2.3: an empty port means the default one.
        None | Some("") => {
            if secure {
                443
            } else {
                80
            }
        }
        Some(p) => parse_port(p)?,
    };
    // The target goes verbatim onto the request line, so it must not hold
    // anything that would end or split that line.
    if !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(UrlError::InvalidPath);
    }
    // RFC 6455 §3: an empty path is "/", and the query follows it.
    let path_and_query = if target.starts_with('/') {
        target.into()
    } else {
        format!("/{target}")
    };
    Ok(WsUrl {
        secure,
        host: host.into(),
        port,
        path_and_query,
    })
}

/// Splits `host[:port]` or `[v6][:port]`; the host comes back unbracketed.
pub(crate) fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), UrlError> {
    if authority.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(UrlError::InvalidHost)?;
        if !is_ipv6_literal(host) {
            return Err(UrlError::InvalidHost);
        }
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(UrlError::InvalidHost),
            },
        };
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if !host.bytes().all(is_reg_name_byte) {
        return Err(UrlError::InvalidHost);
    }
    Ok((host, port))
}

/// RFC 3986 §3.2.2 `reg-name`: unreserved, percent-encoded, sub-delims.
fn is_reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)
}

/// A light check of an IPv6 literal: hex digits, colons, and dots for an
/// embedded IPv4 tail. The connect call rejects anything subtler.
fn is_ipv6_literal(s: &str) -> bool {
    s.contains(':')
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

pub(crate) fn parse_port(p: &str) -> Result<u16, UrlError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidPort);
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::InvalidPort),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URL, then the expected secure, host, port, target, Host header.
    #[rustfmt::skip]
    const VALID: &[(&str, bool, &str, u16, &str, &str)] = &[
        ("ws://example.com", false, "example.com", 80, "/", "example.com"),
        ("wss://example.com", true, "example.com", 443, "/", "example.com"),
        ("ws://example.com:80/", false, "example.com", 80, "/", "example.com"),
        ("wss://example.com:443/a", true, "example.com", 443, "/a", "example.com"),
        ("ws://example.com:443/", false, "example.com", 443, "/", "example.com:443"),
        ("wss://example.com:80/", true, "example.com", 80, "/", "example.com:80"),
        ("ws://h:9001/chat?room=1&x=%20", false, "h", 9001, "/chat?room=1&x=%20", "h:9001"),
        ("ws://h?q=1", false, "h", 80, "/?q=1", "h"),
        ("ws://h:/p", false, "h", 80, "/p", "h"),
        ("WSS://Example.COM/", true, "Example.COM", 443, "/", "Example.COM"),
        ("ws://127.0.0.1:8080", false, "127.0.0.1", 8080, "/", "127.0.0.1:8080"),
        ("ws://[::1]", false, "::1", 80, "/", "[::1]"),
        ("ws://[::1]:9001/x", false, "::1", 9001, "/x", "[::1]:9001"),
        ("wss://[2001:db8::7]:443", true, "2001:db8::7", 443, "/", "[2001:db8::7]"),
        ("ws://[::ffff:1.2.3.4]/", false, "::ffff:1.2.3.4", 80, "/", "[::ffff:1.2.3.4]"),
    ];

    #[test]
    fn valid_urls() {
        for &(url, secure, host, port, target, host_header) in VALID {
            let parsed = WsUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            let expected = WsUrl {
                secure,
                host: host.into(),
                port,
                path_and_query: target.into(),
            };
            assert_eq!(parsed, expected, "{url}");
            assert_eq!(parsed.host_header(), host_header, "{url}");
        }
    }

    fn err(url: &str, expected: UrlError) {
        assert_eq!(
            WsUrl::parse(url),
            Err(HandshakeError::InvalidUrl(expected)),
            "{url}"
        );
    }

    #[test]
    fn invalid_urls() {
        err(
            "http://example.com/",
            UrlError::UnsupportedScheme("http".into()),
        );
        err("example.com/chat", UrlError::UnsupportedScheme("".into()));
        err("ws:/example.com", UrlError::UnsupportedScheme("".into()));
        err("ws://example.com/#frag", UrlError::Fragment);
        err("ws://example.com#", UrlError::Fragment);
        err("ws://", UrlError::MissingHost);
        err("ws:///path", UrlError::MissingHost);
        err("wss://:443/", UrlError::MissingHost);
        err("ws://user:pw@example.com/", UrlError::UserInfo);
        err("ws://h:0/", UrlError::InvalidPort);
        err("ws://h:65536/", UrlError::InvalidPort);
        err("ws://h:12a/", UrlError::InvalidPort);
        err("ws://h:+80/", UrlError::InvalidPort);
        err("ws://[::1/", UrlError::InvalidHost);
        err("ws://[zz::1]/", UrlError::InvalidHost);
        err("ws://[::1]x/", UrlError::InvalidHost);
        err("ws://ho st/", UrlError::InvalidHost);
        err("ws://h/a b", UrlError::InvalidPath);
        err("ws://h/a\r\nX: y", UrlError::InvalidPath);
        err("ws://h/é", UrlError::InvalidPath);
    }

    #[test]
    fn display_round_trips() {
        for url in ["ws://h/", "wss://[::1]:8443/a?b", "ws://h:81/x"] {
            let parsed = WsUrl::parse(url).unwrap();
            assert_eq!(alloc::string::ToString::to_string(&parsed), url);
        }
    }
}
