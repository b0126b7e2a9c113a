//! Proxy URLs: `http://`, `https://`, `socks5://`, `socks5h://`, with
//! optional credentials.
//!
//! The forms people put in `HTTP_PROXY` and friends: a bare `host:port`
//! means `http://host:port` (as curl and reqwest read it), a trailing path
//! such as `/` is ignored, and credentials are percent-decoded (a `@` or `:`
//! in a password is written `%40` or `%3A`).

use super::ProxyErrorKind;
use crate::handshake::{parse_port, split_host_port};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// How the client talks to the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyScheme {
    /// An HTTP proxy, asked with `CONNECT` (RFC 9110 §9.3.6); default port 80.
    Http,
    /// An HTTP proxy reached over TLS (feature `rustls`); default port 443.
    Https,
    /// SOCKS5 (RFC 1928), the client resolving the server's name; default
    /// port 1080.
    Socks5,
    /// SOCKS5 with the name sent to the proxy, which resolves it; default
    /// port 1080.
    Socks5h,
}

impl ProxyScheme {
    /// The scheme as written in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
            ProxyScheme::Socks5 => "socks5",
            ProxyScheme::Socks5h => "socks5h",
        }
    }

    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            ProxyScheme::Http => 80,
            ProxyScheme::Https => 443,
            ProxyScheme::Socks5 | ProxyScheme::Socks5h => 1080,
        }
    }

    /// Whether the proxy speaks HTTP (`CONNECT`) rather than SOCKS.
    pub fn is_http(self) -> bool {
        matches!(self, ProxyScheme::Http | ProxyScheme::Https)
    }
}

/// A parsed proxy URL. `Display` and `Debug` never show the password, so
/// the URL can go into logs and error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// How to talk to the proxy.
    pub scheme: ProxyScheme,
    /// The proxy's host, without the brackets of an IPv6 literal.
    pub host: String,
    /// The proxy's port, explicit or the scheme's default.
    pub port: u16,
    /// Credentials from the URL, percent-decoded: `(username, password)`.
    /// A URL with a username and no password has an empty password.
    pub credentials: Option<(String, String)>,
}

impl ProxyUrl {
    /// Parses `scheme://[user[:password]@]host[:port][/]`, or `host:port`
    /// for an HTTP proxy.
    pub fn parse(url: &str) -> Result<ProxyUrl, ProxyErrorKind> {
        let url = url.trim();
        let (scheme, rest) = match url.split_once("://") {
            Some((scheme, rest)) => (scheme, rest),
            None => ("http", url),
        };
        let scheme = parse_scheme(scheme)?;
        // Whatever follows the authority (a path, usually "/") means
        // nothing to a proxy.
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (host, port) =
            split_host_port(hostport).map_err(|e| ProxyErrorKind::InvalidUrl(url_reason(&e)))?;
        let port = match port {
            None | Some("") => scheme.default_port(),
            Some(p) => parse_port(p).map_err(|_| ProxyErrorKind::InvalidUrl("invalid port"))?,
        };
        let credentials = userinfo.map(parse_userinfo).transpose()?;
        Ok(ProxyUrl {
            scheme,
            host: host.into(),
            port,
            credentials,
        })
    }

    /// `host:port`, an IPv6 literal in brackets: the form `CONNECT` and the
    /// `Host` header take (RFC 9110 §7.2, RFC 3986 §3.2.2).
    pub fn authority(&self) -> String {
        authority(&self.host, self.port)
    }
}

/// `host:port` with IPv6 literals bracketed.
pub(crate) fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl fmt::Display for ProxyUrl {
    /// `scheme://host:port`: credentials are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.authority())
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field(
                "credentials",
                &self
                    .credentials
                    .as_ref()
                    .map(|(user, _)| (user, "<redacted>")),
            )
            .finish()
    }
}

/// A proxy URL as given, credentials replaced, for messages about a URL
/// that did not parse.
pub(crate) fn redact(url: &str) -> String {
    let url = url.trim();
    let (prefix, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, hostport)) => format!("{prefix}***@{hostport}{}", &rest[end..]),
        None => url.into(),
    }
}

fn parse_scheme(scheme: &str) -> Result<ProxyScheme, ProxyErrorKind> {
    const SCHEMES: [ProxyScheme; 4] = [
        ProxyScheme::Http,
        ProxyScheme::Https,
        ProxyScheme::Socks5,
        ProxyScheme::Socks5h,
    ];
    // RFC 3986 §3.1: schemes compare case-insensitively.
    SCHEMES
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(scheme))
        .ok_or_else(|| ProxyErrorKind::UnsupportedScheme(scheme.into()))
}

fn url_reason(e: &crate::handshake::UrlError) -> &'static str {
    use crate::handshake::UrlError;
    match e {
        UrlError::MissingHost => "missing host",
        _ => "invalid host",
    }
}

/// `user[:password]`, each percent-decoded (RFC 3986 §3.2.1).
fn parse_userinfo(userinfo: &str) -> Result<(String, String), ProxyErrorKind> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    Ok((percent_decode(user)?, percent_decode(password)?))
}

/// RFC 3986 §2.1: `%XX` is the octet XX; the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, ProxyErrorKind> {
    let bad = ProxyErrorKind::InvalidUrl("invalid percent-encoding in the credentials");
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = |b: Option<u8>| b.and_then(|b| (b as char).to_digit(16));
        match (hex(bytes.next()), hex(bytes.next())) {
            (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
            _ => return Err(bad),
        }
    }
    String::from_utf8(out).map_err(|_| bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn creds(user: &str, password: &str) -> Option<(String, String)> {
        Some((user.into(), password.into()))
    }

    #[test]
    fn schemes_ports_and_hosts() {
        #[rustfmt::skip]
        let cases: &[(&str, ProxyScheme, &str, u16)] = &[
            ("http://proxy:3128", ProxyScheme::Http, "proxy", 3128),
            ("http://proxy", ProxyScheme::Http, "proxy", 80),
            ("HTTP://Proxy.Corp:8080/", ProxyScheme::Http, "Proxy.Corp", 8080),
            ("https://proxy", ProxyScheme::Https, "proxy", 443),
            ("socks5://127.0.0.1", ProxyScheme::Socks5, "127.0.0.1", 1080),
            ("socks5h://[::1]:9050", ProxyScheme::Socks5h, "::1", 9050),
            ("127.0.0.1:8888", ProxyScheme::Http, "127.0.0.1", 8888),
            ("  http://p:1/anything?x  ", ProxyScheme::Http, "p", 1),
        ];
        for &(url, scheme, host, port) in cases {
            let parsed = ProxyUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (parsed.scheme, parsed.host.as_str(), parsed.port),
                (scheme, host, port)
            );
            assert_eq!(parsed.credentials, None, "{url}");
        }
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let url = ProxyUrl::parse("http://us%65r:p%40ss%3Aw%C3%B6rd@proxy:8080").unwrap();
        assert_eq!(url.credentials, creds("user", "p@ss:wörd"));
        let url = ProxyUrl::parse("socks5://alice@h").unwrap();
        assert_eq!(url.credentials, creds("alice", ""));
        // The last '@' ends the userinfo.
        let url = ProxyUrl::parse("http://a@b:c@d@host:1").unwrap();
        assert_eq!(url.credentials, creds("a@b", "c@d"));
        assert_eq!(url.host, "host");
    }

    #[test]
    fn display_and_debug_hide_the_password() {
        let url = ProxyUrl::parse("http://user:secret@[::1]:3128/").unwrap();
        assert_eq!(url.to_string(), "http://[::1]:3128");
        let debug = alloc::format!("{url:?}");
        assert!(
            !debug.contains("secret") && debug.contains("user"),
            "{debug}"
        );
        assert_eq!(redact("http://u:secret@h:1/x"), "http://***@h:1/x");
        assert_eq!(redact("u:secret@h:1"), "***@h:1");
        assert_eq!(redact("http://h:1"), "http://h:1");
    }

    #[test]
    fn malformed_urls() {
        use ProxyErrorKind::{InvalidUrl, UnsupportedScheme};
        #[rustfmt::skip]
        let cases: &[(&str, ProxyErrorKind)] = &[
            ("ftp://proxy", UnsupportedScheme("ftp".into())),
            ("socks4://proxy", UnsupportedScheme("socks4".into())),
            ("http://", InvalidUrl("missing host")),
            ("http://:8080", InvalidUrl("missing host")),
            ("http://user@", InvalidUrl("missing host")),
            ("http://pro xy:1", InvalidUrl("invalid host")),
            ("http://[::1:80", InvalidUrl("invalid host")),
            ("http://proxy:80a", InvalidUrl("invalid port")),
            ("http://proxy:0", InvalidUrl("invalid port")),
            ("http://proxy:65536", InvalidUrl("invalid port")),
            ("http://u:%zz@proxy", InvalidUrl("invalid percent-encoding in the credentials")),
            ("http://u:%ff@proxy", InvalidUrl("invalid percent-encoding in the credentials")),
            ("http://u:%4@proxy", InvalidUrl("invalid percent-encoding in the credentials")),
        ];
        for (url, expected) in cases {
            match ProxyUrl::parse(url) {
                Err(e) => assert_eq!(e.to_string(), expected.to_string(), "{url}"),
                Ok(parsed) => panic!("{url} parsed as {parsed:?}"),
            }
        }
    }
}
