//! Which proxy a URL goes through (feature `std`): an explicit one, or the
//! conventional environment variables.
//!
//! There is no standard for these variables, only habits (curl, wget,
//! Python, Go, reqwest). The rules here, with the reason for each:
//!
//! - `ws://` reads `http_proxy`, `wss://` reads `https_proxy`, and both
//!   fall back to `all_proxy`: a WebSocket URL is an HTTP(S) URL that
//!   upgrades, so it goes where HTTP(S) goes.
//! - Each name is read lowercase first, then uppercase: the lowercase form
//!   is the older convention and the one curl, wget and Python prefer when
//!   both are set.
//! - `HTTP_PROXY` (uppercase only) is ignored when `REQUEST_METHOD` is set:
//!   in a CGI program the web server sets `HTTP_PROXY` from a request's
//!   `Proxy:` header, so any client could pick our proxy ("httpoxy",
//!   CVE-2016-5385); curl ignores `HTTP_PROXY` always, reqwest under CGI.
//! - An empty value counts as unset.
//! - `no_proxy` (then `NO_PROXY`) lists hosts that bypass the proxy: see
//!   [`no_proxy_matches`].

use super::url::redact;
use super::{ProxyConfig, ProxyError, ProxyUrl};
use crate::handshake::WsUrl;
use std::net::IpAddr;

impl ProxyConfig {
    /// The proxy for a connection to `url`, reading the process
    /// environment when this is [`ProxyConfig::Environment`]; `None`:
    /// connect directly. A malformed proxy URL, or an unsupported scheme,
    /// is an error (rather than a silent direct connection).
    pub fn proxy_for(&self, url: &WsUrl) -> Result<Option<ProxyUrl>, ProxyError> {
        self.proxy_for_with(url, |name| std::env::var(name).ok())
    }

    /// As [`proxy_for`](Self::proxy_for), reading variables through
    /// `lookup` (for tests, or an environment of your own).
    pub fn proxy_for_with(
        &self,
        url: &WsUrl,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ProxyUrl>, ProxyError> {
        let raw = match self {
            ProxyConfig::Direct => return Ok(None),
            ProxyConfig::Url(raw) => raw.clone(),
            ProxyConfig::Environment => {
                let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
                let either = |lower: &str, upper: &str| get(lower).or_else(|| get(upper));
                let cgi = get("REQUEST_METHOD").is_some();
                let scheme_proxy = if url.secure {
                    either("https_proxy", "HTTPS_PROXY")
                } else if cgi {
                    get("http_proxy")
                } else {
                    either("http_proxy", "HTTP_PROXY")
                };
                let Some(raw) = scheme_proxy.or_else(|| either("all_proxy", "ALL_PROXY")) else {
                    return Ok(None);
                };
                let no_proxy = either("no_proxy", "NO_PROXY").unwrap_or_default();
                if no_proxy_matches(&no_proxy, &url.host, url.port) {
                    return Ok(None);
                }
                raw
            }
        };
        ProxyUrl::parse(&raw)
            .map(Some)
            .map_err(|kind| ProxyError::new(redact(&raw), kind))
    }
}

/// Whether `host:port` is in a `NO_PROXY` list, and so bypasses the proxy.
///
/// The list is separated by commas (spaces around entries are ignored).
/// An entry is:
/// - `*`: every host;
/// - a name, `example.com`: that host and every subdomain
///   (`ws.example.com`); a leading dot or `*.` changes nothing
///   (`.example.com` also matches `example.com`, as in curl);
/// - an IP address, `10.1.2.3` or `::1` (optionally `[::1]`): that
///   address, written in any form; names are not resolved to compare;
/// - a CIDR block, `10.0.0.0/8` or `fd00::/8`: every address in it;
/// - any of these but `*` followed by `:port`: only connections to that
///   port (`[::1]:8080` for IPv6).
///
/// Names compare case-insensitively and a trailing dot is ignored.
pub fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.');
    let host_ip = host.parse::<IpAddr>().ok();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| entry == "*" || entry_matches(entry, host, host_ip, port))
}

fn entry_matches(entry: &str, host: &str, host_ip: Option<IpAddr>, port: u16) -> bool {
    let (name, entry_port) = split_entry(entry);
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    let (addr, prefix) = match name.split_once('/') {
        Some((addr, bits)) => match bits.parse::<u8>() {
            Ok(bits) => (addr, Some(bits)),
            Err(_) => return false,
        },
        None => (name, None),
    };
    if let Ok(net) = addr.parse::<IpAddr>() {
        return host_ip.is_some_and(|ip| in_block(ip, net, prefix));
    }
    if prefix.is_some() {
        return false;
    }
    let domain = name
        .trim_start_matches('*')
        .trim_start_matches('.')
        .trim_end_matches('.');
    if domain.is_empty() {
        return false;
    }
    host.eq_ignore_ascii_case(domain)
        || (host.len() > domain.len()
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain))
}

/// `name[:port]`, `[v6][:port]`, or a bare IPv6 address (which has
/// colons of its own, so it takes no port without brackets).
fn split_entry(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((v6, tail)) => (v6, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// Whether `ip` is `net`, or in `net/prefix`. An IPv4-mapped IPv6 host
/// address (`::ffff:10.0.0.1`) counts as its IPv4 address.
fn in_block(ip: IpAddr, net: IpAddr, prefix: Option<u8>) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let bits = u32::from(prefix.unwrap_or(width as u8));
    if bits > width {
        return false;
    }
    let mask = match width - bits {
        shift if shift >= 128 => 0,
        shift => (u128::MAX >> shift << shift) & (u128::MAX >> (128 - width)),
    };
    ip & mask == net & mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::ProxyScheme;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).into())
        }
    }

    /// The proxy chosen for `url` under `vars`, as `host:port`.
    fn chosen(url: &str, vars: &[(&str, &str)]) -> Option<String> {
        let url = WsUrl::parse(url).unwrap();
        ProxyConfig::Environment
            .proxy_for_with(&url, env(vars))
            .unwrap()
            .map(|p| p.authority())
    }

    #[test]
    fn scheme_variables_and_fallback() {
        let vars = [
            ("http_proxy", "http://plain:1"),
            ("https_proxy", "http://secure:2"),
            ("all_proxy", "socks5://all:3"),
        ];
        assert_eq!(chosen("ws://h/", &vars).as_deref(), Some("plain:1"));
        assert_eq!(chosen("wss://h/", &vars).as_deref(), Some("secure:2"));
        assert_eq!(chosen("ws://h/", &vars[1..]).as_deref(), Some("all:3"));
        assert_eq!(
            chosen("wss://h/", &[vars[0], vars[2]]).as_deref(),
            Some("all:3")
        );
        assert_eq!(chosen("wss://h/", &vars[..1]), None);
        assert_eq!(chosen("ws://h/", &[]), None);
    }

    #[test]
    fn lowercase_wins_and_uppercase_is_read() {
        let both = [("http_proxy", "lower:1"), ("HTTP_PROXY", "upper:2")];
        assert_eq!(chosen("ws://h/", &both).as_deref(), Some("lower:1"));
        assert_eq!(chosen("ws://h/", &both[1..]).as_deref(), Some("upper:2"));
        let both = [("HTTPS_PROXY", "upper:2"), ("https_proxy", "lower:1")];
        assert_eq!(chosen("wss://h/", &both).as_deref(), Some("lower:1"));
        assert_eq!(chosen("wss://h/", &both[..1]).as_deref(), Some("upper:2"));
        let all = [("ALL_PROXY", "upper:2"), ("all_proxy", "lower:1")];
        assert_eq!(chosen("ws://h/", &all).as_deref(), Some("lower:1"));
        assert_eq!(chosen("ws://h/", &all[..1]).as_deref(), Some("upper:2"));
        // Empty counts as unset, so the next one is read.
        let empty = [("http_proxy", " "), ("HTTP_PROXY", "upper:2")];
        assert_eq!(chosen("ws://h/", &empty).as_deref(), Some("upper:2"));
        // The scheme's variable beats all_proxy whatever the case.
        let mixed = [("all_proxy", "all:3"), ("HTTP_PROXY", "upper:2")];
        assert_eq!(chosen("ws://h/", &mixed).as_deref(), Some("upper:2"));
    }

    #[test]
    fn http_proxy_uppercase_is_ignored_under_cgi() {
        let cgi = [("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "evil:1")];
        assert_eq!(chosen("ws://h/", &cgi), None);
        let cgi = [("REQUEST_METHOD", "GET"), ("http_proxy", "ok:1")];
        assert_eq!(chosen("ws://h/", &cgi).as_deref(), Some("ok:1"));
    }

    #[test]
    fn no_proxy_bypasses_in_either_case() {
        let vars = [("http_proxy", "p:1"), ("no_proxy", "h")];
        assert_eq!(chosen("ws://h/", &vars), None);
        assert_eq!(chosen("ws://other/", &vars).as_deref(), Some("p:1"));
        let vars = [("http_proxy", "p:1"), ("NO_PROXY", "h")];
        assert_eq!(chosen("ws://h/", &vars), None);
        // Lowercase first here too: a set no_proxy hides NO_PROXY.
        let vars = [("http_proxy", "p:1"), ("no_proxy", "x"), ("NO_PROXY", "h")];
        assert_eq!(chosen("ws://h/", &vars).as_deref(), Some("p:1"));
    }

    #[test]
    fn explicit_and_direct_ignore_the_environment() {
        let url = WsUrl::parse("ws://h/").unwrap();
        let vars = [("http_proxy", "p:1"), ("no_proxy", "*")];
        let explicit = ProxyConfig::url("socks5h://s:9");
        let plan = explicit.proxy_for_with(&url, env(&vars)).unwrap().unwrap();
        assert_eq!(
            (plan.scheme, plan.authority()),
            (ProxyScheme::Socks5h, "s:9".into())
        );
        let direct = ProxyConfig::Direct.proxy_for_with(&url, env(&vars[..1]));
        assert_eq!(direct.unwrap(), None);
    }

    #[test]
    fn malformed_proxy_urls_are_errors_naming_the_proxy_without_secrets() {
        let url = WsUrl::parse("ws://h/").unwrap();
        let vars = [("http_proxy", "http://u:secret@proxy:99999")];
        let err = ProxyConfig::Environment
            .proxy_for_with(&url, env(&vars))
            .unwrap_err();
        assert_eq!(err.proxy(), "http://***@proxy:99999");
        assert_eq!(
            err.to_string(),
            "proxy http://***@proxy:99999: invalid proxy URL: invalid port"
        );
        let err = ProxyConfig::url("gopher://p")
            .proxy_for_with(&url, env(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("\"gopher\" is not"), "{err}");
    }

    #[test]
    fn no_proxy_names() {
        let cases = [
            ("example.com", "example.com", true),
            ("example.com", "ws.example.com", true),
            ("example.com", "a.b.example.com", true),
            ("example.com", "badexample.com", false),
            ("example.com", "example.com.evil", false),
            (".example.com", "example.com", true),
            (".example.com", "ws.example.com", true),
            ("*.example.com", "ws.example.com", true),
            ("EXAMPLE.com", "Ws.Example.COM.", true),
            ("example.com.", "example.com", true),
            ("localhost", "localhost", true),
            ("other, localhost ,x", "localhost", true),
            ("*", "anything", true),
            ("", "anything", false),
            (" , ,", "anything", false),
            ("*example.com", "ws.example.com", true),
            (".", "anything", false),
        ];
        for (list, host, expected) in cases {
            assert_eq!(
                no_proxy_matches(list, host, 80),
                expected,
                "{list:?} {host}"
            );
        }
    }

    #[test]
    fn no_proxy_addresses_blocks_and_ports() {
        let cases = [
            ("127.0.0.1", "127.0.0.1", 80, true),
            ("127.0.0.1", "127.0.0.2", 80, false),
            ("::1", "::1", 80, true),
            ("[::1]", "0:0:0:0:0:0:0:1", 80, true),
            ("::1", "127.0.0.1", 80, false),
            ("10.0.0.0/8", "10.200.3.4", 80, true),
            ("10.0.0.0/8", "11.0.0.1", 80, false),
            ("10.0.0.0/8", "::ffff:10.0.0.1", 80, true),
            ("192.168.1.0/24", "192.168.1.255", 80, true),
            ("192.168.1.0/24", "192.168.2.0", 80, false),
            ("0.0.0.0/0", "8.8.8.8", 80, true),
            ("fd00::/8", "fd12::1", 80, true),
            ("fd00::/8", "fe80::1", 80, false),
            ("::/0", "2001:db8::1", 80, true),
            ("10.0.0.0/33", "10.0.0.1", 80, false),
            ("10.0.0.0/x", "10.0.0.1", 80, false),
            ("10.0.0.1", "ten.example", 80, false),
            ("example.com/8", "example.com", 80, false),
            ("example.com:8080", "example.com", 8080, true),
            ("example.com:8080", "example.com", 80, false),
            ("127.0.0.1:9001", "127.0.0.1", 9001, true),
            ("127.0.0.1:9001", "127.0.0.1", 9002, false),
            ("[::1]:9001", "::1", 9001, true),
            ("[::1]:9001", "::1", 9002, false),
        ];
        for (list, host, port, expected) in cases {
            assert_eq!(
                no_proxy_matches(list, host, port),
                expected,
                "{list:?} {host}:{port}"
            );
        }
    }
}
