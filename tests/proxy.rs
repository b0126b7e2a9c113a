//! Blocking clients through real proxies: tinyproxy for HTTP `CONNECT`
//! (with and without Basic authentication, `ws://` and `wss://`),
//! microsocks for SOCKS5 (with and without username/password, local and
//! remote name resolution), and every way a proxy can fail.
//!
//! The proxies are started per test (see `common::proxies`); without them
//! installed the tests that need them say so and pass, unless
//! `RFC6455_REQUIRE_PROXIES` is set, as `tests/proxy/run.sh` does.

mod common;

use common::proxies::{free_port, microsocks, tinyproxy, Proxy};
use common::{assert_echo_then_clean_close, join, spawn_echo_server};
use rfc6455::blocking::{self, MaybeTlsStream, WebSocket};
use rfc6455::proxy::ProxyErrorKind;
use rfc6455::{ClientOptions, Config, Error, ProxyConfig, ProxyError};
use std::net::TcpListener;
use std::time::Instant;

fn through(proxy: &str) -> ClientOptions {
    ClientOptions {
        proxy: ProxyConfig::url(proxy),
        ..ClientOptions::default()
    }
}

fn connect_via(url: &str, proxy: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    blocking::connect_with(url, through(proxy), Config::default())
}

/// Echo through `proxy_url` (served by `proxy`) and check the client's TCP
/// connection really ends at the proxy.
fn echo_through(proxy: &Proxy, proxy_url: &str, target_host: &str) {
    let (url, server) = spawn_echo_server(1);
    let url = url.replace("127.0.0.1", target_host);
    let mut ws = connect_via(&url, proxy_url).unwrap_or_else(|e| panic!("{proxy_url}: {e}"));
    assert_eq!(ws.get_ref().tcp().peer_addr().unwrap().port(), proxy.port);
    ws.get_mut()
        .set_read_timeout(Some(common::TIMEOUT))
        .unwrap();
    assert_echo_then_clean_close(&mut ws);
    assert_eq!(join(server), vec![2]);
}

/// The proxy error a connection attempt ended with.
fn proxy_error(result: Result<WebSocket<MaybeTlsStream>, Error>) -> Box<ProxyError> {
    match result {
        Err(Error::Proxy(e)) => e,
        Err(other) => panic!("expected a proxy error, got {other:?}"),
        Ok(_) => panic!("expected a proxy error, the connection succeeded"),
    }
}

// ----- HTTP CONNECT (tinyproxy) -----

#[test]
fn http_connect_tunnel() {
    let Some(proxy) = tinyproxy(&[]) else { return };
    echo_through(&proxy, &proxy.url("http", ""), "127.0.0.1");
    // The proxy resolves names for CONNECT.
    echo_through(&proxy, &proxy.url("http", ""), "localhost");
    // A bare host:port in a proxy variable means http://.
    echo_through(&proxy, &format!("127.0.0.1:{}", proxy.port), "127.0.0.1");
}

#[test]
fn http_connect_with_basic_auth_from_percent_decoded_credentials() {
    // tinyproxy's configuration takes no '@' or ':' in a password (the
    // SOCKS5 test has those); any percent-encoded character shows decoding.
    let Some(proxy) = tinyproxy(&["BasicAuth alice secret"]) else {
        return;
    };
    echo_through(&proxy, &proxy.url("http", "al%69ce:s%65cret"), "127.0.0.1");
}

#[test]
fn http_407_carries_the_challenge() {
    let Some(proxy) = tinyproxy(&["BasicAuth alice secret"]) else {
        return;
    };
    let (_listener, url) = common::listen();
    let error = proxy_error(connect_via(&url, &proxy.url("http", "")));
    assert_eq!(error.status(), Some(407), "{error}");
    let response = error.response().unwrap();
    let challenge = response.header("Proxy-Authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Basic"), "{challenge:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "proxy http://127.0.0.1:{}: CONNECT refused with 407 Proxy Authentication Required",
            proxy.port
        )
    );
    // Wrong credentials: tinyproxy 1.11 answers 401 (with WWW-Authenticate)
    // where RFC 9110 §15.5.8 says 407; either way a refusal with its
    // status, and the error names the proxy without the credentials.
    let error = proxy_error(connect_via(&url, &proxy.url("http", "alice:wrong")));
    assert!(matches!(error.status(), Some(401 | 407)), "{error}");
    assert_eq!(error.proxy(), format!("http://127.0.0.1:{}", proxy.port));
    assert!(!format!("{error} {error:?}").contains("wrong"), "{error:?}");
}

#[test]
fn http_403_for_a_port_the_proxy_does_not_allow() {
    let Some(proxy) = tinyproxy(&["ConnectPort 9"]) else {
        return;
    };
    let (_listener, url) = common::listen();
    let error = proxy_error(connect_via(&url, &proxy.url("http", "")));
    assert_eq!(error.status(), Some(403), "{error}");
    assert!(
        error.to_string().contains("CONNECT refused with 403"),
        "{error}"
    );
}

#[cfg(feature = "rustls")]
#[test]
fn wss_inside_a_connect_tunnel() {
    let Some(proxy) = tinyproxy(&[]) else { return };
    let ca = common::certs::Ca::new("proxy test CA");
    let (port, server) = common::proxies::spawn_tls_echo_server(&ca);
    let url = format!("wss://localhost:{port}/");
    let mut ws = blocking::connect_tls(
        &url,
        ca.client_config(),
        through(&proxy.url("http", "")),
        Config::default(),
    )
    .unwrap();
    assert!(ws.get_ref().is_tls());
    assert_eq!(ws.get_ref().tcp().peer_addr().unwrap().port(), proxy.port);
    assert_echo_then_clean_close(&mut ws);
    assert_eq!(join(server), 2);
}

/// Echo through `proxy_url` to a server on `[::1]`: the CONNECT target is
/// bracketed, the SOCKS5 address is of type IPv6. Skipped without IPv6.
fn echo_to_ipv6_through(proxy_url: &str) {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback");
        return;
    };
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    assert!(url.starts_with("ws://[::1]:"), "{url}");
    let server = std::thread::spawn(move || {
        let mut ws = blocking::accept(common::accept_tcp(&listener)).unwrap();
        common::echo(&mut ws).unwrap()
    });
    let mut ws = connect_via(&url, proxy_url).unwrap_or_else(|e| panic!("{proxy_url}: {e}"));
    ws.get_mut()
        .set_read_timeout(Some(common::TIMEOUT))
        .unwrap();
    assert_echo_then_clean_close(&mut ws);
    assert_eq!(join(server), 2);
}

#[test]
fn ipv6_servers_through_both_kinds_of_proxy() {
    if let Some(proxy) = tinyproxy(&[]) {
        echo_to_ipv6_through(&proxy.url("http", ""));
    }
    if let Some(proxy) = microsocks(None) {
        echo_to_ipv6_through(&proxy.url("socks5", ""));
        echo_to_ipv6_through(&proxy.url("socks5h", ""));
    }
}

// ----- SOCKS5 (microsocks) -----

#[test]
fn socks5_without_authentication() {
    let Some(proxy) = microsocks(None) else {
        return;
    };
    echo_through(&proxy, &proxy.url("socks5", ""), "127.0.0.1");
    // socks5:// resolves here, socks5h:// at the proxy.
    echo_through(&proxy, &proxy.url("socks5", ""), "localhost");
    echo_through(&proxy, &proxy.url("socks5h", ""), "localhost");
}

#[test]
fn socks5_with_username_and_password() {
    let Some(proxy) = microsocks(Some(("bob", "p@ss:w0rd"))) else {
        return;
    };
    echo_through(
        &proxy,
        &proxy.url("socks5h", "bob:p%40ss%3Aw0rd"),
        "localhost",
    );
    let (_listener, url) = common::listen();
    let wrong = proxy_error(connect_via(&url, &proxy.url("socks5", "bob:nope")));
    assert!(
        matches!(wrong.kind(), ProxyErrorKind::AuthFailed),
        "{wrong}"
    );
    let none = proxy_error(connect_via(&url, &proxy.url("socks5", "")));
    assert!(
        matches!(none.kind(), ProxyErrorKind::NoAcceptableAuth),
        "{none}"
    );
}

#[test]
fn socks5_reply_code_when_the_server_is_down() {
    let Some(proxy) = microsocks(None) else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/", free_port());
    let error = proxy_error(connect_via(&url, &proxy.url("socks5", "")));
    assert!(
        matches!(error.kind(), ProxyErrorKind::SocksReply(5)),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "proxy socks5://127.0.0.1:{}: SOCKS5 reply 0x05: connection refused",
            proxy.port
        )
    );
}

// ----- failures that need no proxy program -----

#[test]
fn a_proxy_that_is_down_is_an_error_naming_it() {
    let port = free_port();
    for scheme in ["http", "socks5h"] {
        let proxy = format!("{scheme}://user:pw@127.0.0.1:{port}");
        let error = proxy_error(connect_via("ws://127.0.0.1:9/", &proxy));
        assert_eq!(error.proxy(), format!("{scheme}://127.0.0.1:{port}"));
        let ProxyErrorKind::Io(io) = error.kind() else {
            panic!("{error}");
        };
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}

#[test]
fn a_silent_proxy_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let started = Instant::now();
    let error = proxy_error(connect_via("ws://127.0.0.1:9/", &proxy));
    assert!(error.is_timeout(), "{error}");
    assert!(matches!(error.kind(), ProxyErrorKind::Timeout));
    let took = started.elapsed();
    assert!(
        took >= blocking::HANDSHAKE_TIMEOUT && took < blocking::HANDSHAKE_TIMEOUT * 2,
        "{took:?}"
    );
    drop(listener);
}

#[test]
fn a_proxy_that_hangs_up_mid_reply() {
    let (proxy, server) = common::proxies::fake_http_proxy(|tcp| {
        use std::io::Write;
        tcp.write_all(b"HTTP/1.1 200 Conn").unwrap();
    });
    let error = proxy_error(connect_via("ws://127.0.0.1:9/", &proxy));
    assert!(matches!(error.kind(), ProxyErrorKind::Closed), "{error}");
    join(server);
}

#[test]
fn a_proxy_reply_that_never_ends_is_cut_off_at_the_limit() {
    let (proxy, server) = common::proxies::fake_http_proxy(|tcp| {
        use std::io::Write;
        let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\nX-Filler: ");
        // Far more than the limit, until the client hangs up.
        let filler = [b'a'; 4096];
        for _ in 0..64 {
            if tcp.write_all(&filler).is_err() {
                break;
            }
        }
    });
    let error = proxy_error(connect_via("ws://127.0.0.1:9/", &proxy));
    assert!(
        matches!(error.kind(), ProxyErrorKind::ReplyTooLarge),
        "{error}"
    );
    join(server);
}

#[test]
fn malformed_and_unsupported_proxy_urls() {
    let error = proxy_error(connect_via("ws://127.0.0.1:9/", "http://u:pw@proxy:99999"));
    assert!(
        matches!(error.kind(), ProxyErrorKind::InvalidUrl(_)),
        "{error}"
    );
    assert_eq!(error.proxy(), "http://***@proxy:99999");
    let error = proxy_error(connect_via("ws://127.0.0.1:9/", "socks4://proxy:1080"));
    assert!(
        matches!(error.kind(), ProxyErrorKind::UnsupportedScheme(s) if s == "socks4"),
        "{error}"
    );
}

#[test]
fn direct_ignores_the_proxy_settings() {
    let (url, server) = spawn_echo_server(1);
    let options = ClientOptions {
        proxy: ProxyConfig::Direct,
        ..ClientOptions::default()
    };
    let mut ws = blocking::connect_with(&url, options, Config::default()).unwrap();
    ws.get_mut()
        .set_read_timeout(Some(common::TIMEOUT))
        .unwrap();
    assert_echo_then_clean_close(&mut ws);
    assert_eq!(join(server), vec![2]);
}

// ----- https:// proxies: TLS to the proxy -----

#[cfg(feature = "rustls")]
#[test]
fn https_proxy_carries_wss_inside_its_tls() {
    let ca = common::certs::Ca::new("https proxy test CA");
    let (proxy_port, proxy) = common::proxies::spawn_https_proxy(&ca);
    let (port, server) = common::proxies::spawn_tls_echo_server(&ca);
    let mut ws = blocking::connect_tls(
        &format!("wss://localhost:{port}/"),
        ca.client_config(),
        through(&format!("https://localhost:{proxy_port}")),
        Config::default(),
    )
    .unwrap();
    assert!(matches!(ws.get_ref(), MaybeTlsStream::RustlsInTls(_)));
    assert_eq!(ws.get_ref().tcp().peer_addr().unwrap().port(), proxy_port);
    ws.get_mut()
        .set_read_timeout(Some(common::TIMEOUT))
        .unwrap();
    assert_echo_then_clean_close(&mut ws);
    assert_eq!(join(server), 2);
    common::proxies::assert_connect_to(&join(proxy), &format!("localhost:{port}"));
}

#[cfg(feature = "rustls")]
#[test]
fn https_proxy_carries_plain_ws() {
    let ca = common::certs::Ca::new("https proxy test CA");
    let (proxy_port, proxy) = common::proxies::spawn_https_proxy(&ca);
    let (url, server) = spawn_echo_server(1);
    let mut ws = blocking::connect_tls(
        &url,
        ca.client_config(),
        through(&format!("https://localhost:{proxy_port}")),
        Config::default(),
    )
    .unwrap();
    assert!(matches!(ws.get_ref(), MaybeTlsStream::Rustls(_)));
    ws.get_mut()
        .set_read_timeout(Some(common::TIMEOUT))
        .unwrap();
    assert_echo_then_clean_close(&mut ws);
    assert_eq!(join(server), vec![2]);
    join(proxy);
}

#[cfg(feature = "rustls")]
#[test]
fn an_https_proxy_with_an_untrusted_certificate_is_refused() {
    let ca = common::certs::Ca::new("unknown to the Mozilla roots");
    let (proxy_port, _proxy) = common::proxies::spawn_https_proxy(&ca);
    // connect_with verifies the proxy against the bundled roots.
    let result = connect_via(
        "ws://127.0.0.1:9/",
        &format!("https://localhost:{proxy_port}"),
    );
    common::proxies::assert_untrusted_certificate(&proxy_error(result));
}
