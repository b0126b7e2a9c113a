//! The tunnel for a WebSocket URL (feature `std`): what to ask the proxy
//! for, resolving the server's name first for `socks5://`.

use super::{ProxyErrorKind, ProxyScheme, ProxyUrl, SocksAddr, Tunnel};
use crate::handshake::WsUrl;
use std::net::{IpAddr, ToSocketAddrs};

impl ProxyUrl {
    /// Whether the client resolves `url`'s host before asking this proxy:
    /// a `socks5://` proxy and a host name. An async adapter resolves it
    /// its own way and calls [`Tunnel::new`]; otherwise
    /// [`Tunnel::for_url`] does no DNS.
    pub fn resolves_locally(&self, url: &WsUrl) -> bool {
        self.scheme == ProxyScheme::Socks5 && url.host.parse::<IpAddr>().is_err()
    }
}

impl Tunnel {
    /// The exchange that asks `proxy` for a tunnel to `url`'s host and
    /// port. When [`ProxyUrl::resolves_locally`], the host is resolved here
    /// (blocking on DNS, the first address wins); `socks5h://` and HTTP
    /// proxies get the name.
    pub fn for_url(proxy: &ProxyUrl, url: &WsUrl) -> Result<Tunnel, ProxyErrorKind> {
        let addr = match (url.host.parse::<IpAddr>(), proxy.scheme) {
            (Ok(ip), _) => SocksAddr::from(ip),
            (Err(_), ProxyScheme::Socks5) => {
                let resolved = (url.host.as_str(), url.port)
                    .to_socket_addrs()
                    .map_err(ProxyErrorKind::Io)?
                    .next()
                    .ok_or_else(|| {
                        ProxyErrorKind::Io(std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "the server's host name has no address",
                        ))
                    })?;
                SocksAddr::from(resolved.ip())
            }
            (Err(_), _) => SocksAddr::Domain(url.host.clone()),
        };
        Tunnel::new(proxy, &url.host, &addr, url.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_request(proxy: &str, url: &str) -> Vec<u8> {
        let proxy = ProxyUrl::parse(proxy).unwrap();
        let mut tunnel = Tunnel::for_url(&proxy, &WsUrl::parse(url).unwrap()).unwrap();
        let n = tunnel.output().len();
        tunnel.advance_output(n);
        // After "no authentication", the CONNECT request is due.
        match tunnel.receive(b"\x05\x00").unwrap() {
            crate::handshake::Status::Partial => tunnel.output().to_vec(),
            done => panic!("{done:?}"),
        }
    }

    #[test]
    fn only_socks5_with_a_name_resolves_locally() {
        let name = WsUrl::parse("ws://example.com/").unwrap();
        let literal = WsUrl::parse("ws://[::1]/").unwrap();
        let socks5 = ProxyUrl::parse("socks5://p").unwrap();
        assert!(socks5.resolves_locally(&name));
        assert!(!socks5.resolves_locally(&literal));
        for other in ["socks5h://p", "http://p", "https://p"] {
            assert!(!ProxyUrl::parse(other).unwrap().resolves_locally(&name));
        }
    }

    #[test]
    fn socks5_resolves_locally_and_socks5h_sends_the_name() {
        // localhost is 127.0.0.1 or ::1, whichever the resolver lists first.
        let mut v6_loopback = b"\x05\x01\x00\x04".to_vec();
        v6_loopback.extend_from_slice(&[0; 15]);
        v6_loopback.extend_from_slice(b"\x01\x01\x02");
        let local = first_request("socks5://p", "ws://localhost:258/");
        assert!(
            local == b"\x05\x01\x00\x01\x7f\x00\x00\x01\x01\x02" || local == v6_loopback,
            "{local:x?}"
        );
        assert_eq!(
            first_request("socks5h://p", "ws://localhost:258/"),
            b"\x05\x01\x00\x03\x09localhost\x01\x02"
        );
        // Literals go as addresses either way.
        let mut v6 = b"\x05\x01\x00\x04".to_vec();
        v6.extend_from_slice(&[0; 15]);
        v6.extend_from_slice(b"\x01\x00\x50");
        assert_eq!(first_request("socks5h://p", "ws://[::1]/"), v6);
    }
}
