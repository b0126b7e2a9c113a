//! The tokio client through real proxies: tinyproxy for HTTP `CONNECT`
//! (with and without Basic authentication, `ws://` and `wss://`),
//! microsocks for SOCKS5 (local and remote name resolution, with
//! username/password), an `https://` proxy carrying `wss://` inside its
//! TLS, and the ways a proxy fails, each an [`Error::Proxy`] naming it.
//!
//! Without tinyproxy or microsocks installed the tests that need them say
//! so and pass, unless `RFC6455_REQUIRE_PROXIES` is set, as
//! `tests/proxy/run.sh` does.
#![cfg(feature = "tokio")]

mod common;

use common::join;
use common::proxies::{free_port, microsocks, tinyproxy, Proxy};
use rfc6455::proxy::ProxyErrorKind;
use rfc6455::tokio::{self as ws, MaybeTlsStream, WebSocket};
use rfc6455::{
    ClientOptions, CloseCode, Config, Error, HandshakeError, Message, ProxyConfig, ProxyError,
    WsUrl,
};
use std::net::TcpListener;
use std::time::Instant;

fn through(proxy: &str) -> ClientOptions {
    ClientOptions {
        proxy: ProxyConfig::url(proxy),
        ..ClientOptions::default()
    }
}

async fn connect_via(url: &str, proxy: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    ws::connect_with(url, through(proxy), Config::default()).await
}

/// One message there and back, then a clean close.
async fn echo_once(socket: &mut WebSocket<MaybeTlsStream>) {
    let message = Message::text("through the proxy");
    socket.send(message.clone()).await.unwrap();
    assert_eq!(socket.read().await.unwrap(), message);
    let reply = socket.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(reply.map(|frame| frame.code), Some(CloseCode::NORMAL));
}

/// Echo through `proxy_url` (served by `proxy`) to a server reached as
/// `target_host`, checking the TCP connection really ends at the proxy.
async fn echo_through(proxy: &Proxy, proxy_url: &str, target_host: &str) {
    let (url, server) = common::spawn_echo_server(1);
    let url = url.replace("127.0.0.1", target_host);
    let mut socket = connect_via(&url, proxy_url)
        .await
        .unwrap_or_else(|e| panic!("{proxy_url}: {e}"));
    assert_eq!(
        socket.get_ref().tcp().peer_addr().unwrap().port(),
        proxy.port
    );
    echo_once(&mut socket).await;
    assert_eq!(join(server), vec![1]);
}

/// The proxy error a connection attempt ended with.
fn proxy_error(result: Result<WebSocket<MaybeTlsStream>, Error>) -> Box<ProxyError> {
    match result {
        Err(Error::Proxy(e)) => e,
        Err(other) => panic!("expected a proxy error, got {other:?}"),
        Ok(_) => panic!("expected a proxy error, the connection succeeded"),
    }
}

#[tokio::test]
async fn http_connect_without_and_with_basic_auth() {
    if let Some(proxy) = tinyproxy(&[]) {
        echo_through(&proxy, &proxy.url("http", ""), "127.0.0.1").await;
    }
    if let Some(proxy) = tinyproxy(&["BasicAuth alice secret"]) {
        echo_through(&proxy, &proxy.url("http", "alice:s%65cret"), "localhost").await;
    }
}

#[tokio::test]
async fn socks5_and_socks5h_with_username_and_password() {
    let Some(proxy) = microsocks(Some(("bob", "p@ss"))) else {
        return;
    };
    // socks5:// resolves "localhost" here (with tokio's resolver),
    // socks5h:// has the proxy do it.
    for scheme in ["socks5", "socks5h"] {
        for host in ["127.0.0.1", "localhost"] {
            echo_through(&proxy, &proxy.url(scheme, "bob:p%40ss"), host).await;
        }
    }
    let (_listener, url) = common::listen();
    let wrong = proxy_error(connect_via(&url, &proxy.url("socks5h", "bob:nope")).await);
    assert!(
        matches!(wrong.kind(), ProxyErrorKind::AuthFailed),
        "{wrong}"
    );
}

#[cfg(feature = "rustls")]
#[tokio::test]
async fn wss_inside_a_connect_tunnel() {
    let Some(proxy) = tinyproxy(&[]) else { return };
    let ca = common::certs::Ca::new("tokio proxy test CA");
    let (port, server) = common::proxies::spawn_tls_echo_server(&ca);
    let mut socket = ws::connect_tls(
        &format!("wss://localhost:{port}/"),
        ca.client_config(),
        through(&proxy.url("http", "")),
        Config::default(),
    )
    .await
    .unwrap();
    assert!(matches!(socket.get_ref(), MaybeTlsStream::Rustls(_)));
    assert_eq!(
        socket.get_ref().tcp().peer_addr().unwrap().port(),
        proxy.port
    );
    echo_once(&mut socket).await;
    assert_eq!(join(server), 1);
}

#[cfg(feature = "rustls")]
#[tokio::test]
async fn wss_inside_an_https_proxy_tls() {
    let ca = common::certs::Ca::new("tokio https proxy test CA");
    let (proxy_port, proxy) = common::proxies::spawn_https_proxy(&ca);
    let (port, server) = common::proxies::spawn_tls_echo_server(&ca);
    let mut socket = ws::connect_tls(
        &format!("wss://localhost:{port}/"),
        ca.client_config(),
        through(&format!("https://localhost:{proxy_port}")),
        Config::default(),
    )
    .await
    .unwrap();
    assert!(matches!(socket.get_ref(), MaybeTlsStream::RustlsInTls(_)));
    assert_eq!(
        socket.get_ref().tcp().peer_addr().unwrap().port(),
        proxy_port
    );
    echo_once(&mut socket).await;
    assert_eq!(join(server), 1);
    common::proxies::assert_connect_to(&join(proxy), &format!("localhost:{port}"));
}

#[tokio::test]
async fn refusals_carry_the_proxy_status() {
    let (_listener, url) = common::listen();
    if let Some(proxy) = tinyproxy(&["BasicAuth alice secret"]) {
        let error = proxy_error(connect_via(&url, &proxy.url("http", "")).await);
        assert_eq!(error.status(), Some(407), "{error}");
        let challenge = error.response().unwrap().header("Proxy-Authenticate");
        assert!(
            challenge.unwrap_or_default().starts_with("Basic"),
            "{error:?}"
        );
        assert_eq!(error.proxy(), proxy.url("http", ""));
    }
    if let Some(proxy) = tinyproxy(&["ConnectPort 9"]) {
        let error = proxy_error(connect_via(&url, &proxy.url("http", "")).await);
        assert_eq!(error.status(), Some(403), "{error}");
    }
}

#[tokio::test]
async fn a_proxy_that_is_down_is_an_error_naming_it() {
    let port = free_port();
    for scheme in ["http", "socks5"] {
        let proxy = format!("{scheme}://user:pw@127.0.0.1:{port}");
        let error = proxy_error(connect_via("ws://127.0.0.1:9/", &proxy).await);
        assert_eq!(error.proxy(), format!("{scheme}://127.0.0.1:{port}"));
        let ProxyErrorKind::Io(io) = error.kind() else {
            panic!("{error}");
        };
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}

#[tokio::test]
async fn a_silent_proxy_is_cut_off_at_the_handshake_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let started = Instant::now();
    let error = proxy_error(connect_via("ws://127.0.0.1:9/", &proxy).await);
    assert!(error.is_timeout(), "{error}");
    assert!(matches!(error.kind(), ProxyErrorKind::Timeout), "{error}");
    let deadline = ws::Timeouts::default().handshake.unwrap();
    let took = started.elapsed();
    assert!(took >= deadline && took < deadline * 2, "{took:?}");
    drop(listener);
}

#[tokio::test]
async fn no_proxy_hosts_bypass_the_proxy() {
    // The proxy variables of an environment of our own: a proxy that is
    // down, and the test server's address in NO_PROXY.
    let dead_proxy = format!("http://127.0.0.1:{}", free_port());
    let (url, server) = common::spawn_echo_server(1);
    let variables = |no_proxy: &'static str| {
        let dead_proxy = dead_proxy.clone();
        move |name: &str| match name {
            "HTTP_PROXY" => Some(dead_proxy.clone()),
            "NO_PROXY" => Some(no_proxy.to_string()),
            _ => None,
        }
    };
    let choose = |no_proxy| {
        let parsed = WsUrl::parse(&url).unwrap();
        let chosen = ProxyConfig::Environment
            .proxy_for_with(&parsed, variables(no_proxy))
            .unwrap();
        ClientOptions {
            proxy: chosen.map_or(ProxyConfig::Direct, |p| ProxyConfig::url(p.to_string())),
            ..ClientOptions::default()
        }
    };
    let options = choose("example.com, 127.0.0.1");
    assert_eq!(options.proxy, ProxyConfig::Direct);
    let mut socket = ws::connect_with(&url, options, Config::default())
        .await
        .unwrap();
    echo_once(&mut socket).await;
    assert_eq!(join(server), vec![1]);
    // Without the bypass the dead proxy is used, and named.
    let error = proxy_error(ws::connect_with(&url, choose("example.com"), Config::default()).await);
    assert_eq!(error.proxy(), dead_proxy);
}

#[tokio::test]
async fn bytes_after_the_proxy_reply_reach_the_websocket_handshake() {
    // A hand-made proxy that answers CONNECT and, in the same write, the
    // "server's" refusal of the upgrade: the client must read that
    // refusal from the bytes the tunnel handed on, not wait for more.
    let (proxy, fake) = common::proxies::fake_http_proxy(|tcp| {
        use std::io::{Read, Write};
        tcp.write_all(
            b"HTTP/1.1 200 Connection established\r\n\r\n\
              HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        // Hold the connection until the client gives up on it.
        let mut rest = Vec::new();
        let _ = tcp.read_to_end(&mut rest);
    });
    match connect_via("ws://127.0.0.1:9/", &proxy).await {
        Err(Error::Handshake(HandshakeError::Rejected(response))) => {
            assert_eq!(response.status, 403)
        }
        Err(other) => panic!("expected the server's refusal, got {other:?}"),
        Ok(_) => panic!("expected the server's refusal, the connection opened"),
    }
    join(fake);
}
