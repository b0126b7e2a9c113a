//! The mio client through real proxies (tinyproxy for HTTP `CONNECT`,
//! microsocks for SOCKS5) and an in-test `https://` proxy: the tunnel is negotiated without blocking before
//! the WebSocket handshake (and TLS, for `wss://`), and proxy failures come
//! out of the event loop as errors, a silent proxy as the handshake
//! timeout.
#![cfg(feature = "mio")]

mod common;

use common::mio_loop::{echo, run};
use common::proxies::{free_port, microsocks, tinyproxy};
use common::{join, spawn_echo_server};
#[cfg(feature = "rustls")]
use rfc6455::mio::ClientStream;
use rfc6455::mio::{Event, Options, Timeout, Transport, WebSocket};
use rfc6455::proxy::ProxyErrorKind;
use rfc6455::{ClientOptions, CloseCode, Error, Message, ProxyConfig};
use std::net::TcpListener;
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(20);

fn through(proxy: &str) -> ClientOptions {
    ClientOptions {
        proxy: ProxyConfig::url(proxy),
        ..ClientOptions::default()
    }
}

/// Send `message` once open, close after its echo; the messages seen.
fn echo_one<S: Transport>(ws: WebSocket<S>, message: Message) -> Result<Vec<Message>, Error> {
    let mut got = Vec::new();
    let mut message = Some(message);
    let ws = run(ws, BOUND, |ws, event, _| match event {
        Event::Open => ws.send(message.take().unwrap()).unwrap(),
        Event::Message(message) => {
            got.push(message);
            ws.close(CloseCode::NORMAL, "done").unwrap();
        }
        _ => {}
    })?;
    assert_eq!(ws.state(), rfc6455::State::Closed { clean: true });
    Ok(got)
}

/// [`echo_one`] with a short text.
fn one_echo<S: Transport>(ws: WebSocket<S>) -> Result<Vec<Message>, Error> {
    echo_one(ws, Message::text("through the proxy"))
}

/// A message of many TLS records (16 KiB of plaintext at most each), so
/// both sessions of TLS inside TLS buffer, split and backpressure.
#[cfg(feature = "rustls")]
fn large_message() -> Message {
    Message::binary(
        (0..300_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    )
}

fn echo_through(proxy: &str, host: &str) {
    let (url, server) = spawn_echo_server(1);
    let url = url.replace("127.0.0.1", host);
    let ws = WebSocket::connect(&url, through(proxy), &Options::default()).unwrap();
    assert_eq!(
        one_echo(ws).unwrap(),
        vec![Message::text("through the proxy")]
    );
    assert_eq!(join(server), vec![1]);
}

/// The proxy error the loop ended with.
fn proxy_error<S: Transport>(ws: WebSocket<S>) -> Box<rfc6455::ProxyError> {
    match run(ws, BOUND, echo) {
        Err(Error::Proxy(e)) => e,
        Err(other) => panic!("expected a proxy error, got {other:?}"),
        Ok(_) => panic!("expected a proxy error, the loop ended cleanly"),
    }
}

#[test]
fn http_connect_and_socks5_tunnels() {
    if let Some(proxy) = tinyproxy(&[]) {
        echo_through(&proxy.url("http", ""), "127.0.0.1");
    }
    if let Some(proxy) = microsocks(Some(("u", "p"))) {
        echo_through(&proxy.url("socks5", "u:p"), "127.0.0.1");
        echo_through(&proxy.url("socks5h", "u:p"), "localhost");
    }
}

/// A `wss://` echo of `message` through `proxy` (listening on
/// `proxy_port`), the server's certificate and the proxy's signed by `ca`;
/// the server's port.
#[cfg(feature = "rustls")]
fn wss_echo_through(proxy: &str, proxy_port: u16, ca: &common::certs::Ca, message: Message) -> u16 {
    let (port, server) = common::proxies::spawn_tls_echo_server(ca);
    let ws = WebSocket::connect_tls(
        &format!("wss://localhost:{port}/"),
        ca.client_config(),
        through(proxy),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        ws.get_ref().socket().tcp().peer_addr().unwrap().port(),
        proxy_port
    );
    let tls_to_the_proxy = matches!(ws.get_ref().socket(), ClientStream::ProxyTls(_));
    assert_eq!(tls_to_the_proxy, proxy.starts_with("https://"));
    assert_eq!(echo_one(ws, message.clone()).unwrap(), vec![message]);
    assert_eq!(join(server), 1);
    port
}

#[cfg(feature = "rustls")]
#[test]
fn wss_inside_a_connect_tunnel() {
    let Some(proxy) = tinyproxy(&[]) else { return };
    let ca = common::certs::Ca::new("mio proxy test CA");
    let message = Message::text("through the proxy");
    wss_echo_through(&proxy.url("http", ""), proxy.port, &ca, message);
}

#[cfg(feature = "rustls")]
#[test]
fn https_proxy_carries_plain_ws_inside_its_tls() {
    let ca = common::certs::Ca::new("mio https proxy test CA");
    let (proxy_port, proxy) = common::proxies::spawn_https_proxy(&ca);
    let (url, server) = spawn_echo_server(1);
    let ws = WebSocket::connect_with_proxy_tls(
        &url,
        ca.client_config(),
        through(&format!("https://localhost:{proxy_port}")),
        &Options::default(),
    )
    .unwrap();
    assert!(matches!(ws.get_ref(), ClientStream::ProxyTls(_)));
    assert_eq!(ws.get_ref().tcp().peer_addr().unwrap().port(), proxy_port);
    assert_eq!(
        echo_one(ws, large_message()).unwrap(),
        vec![large_message()]
    );
    assert_eq!(join(server), vec![1]);
    let target = url.trim_start_matches("ws://").trim_end_matches('/');
    common::proxies::assert_connect_to(&join(proxy), target);
}

#[cfg(feature = "rustls")]
#[test]
fn https_proxy_carries_wss_tls_inside_tls() {
    let ca = common::certs::Ca::new("mio https proxy test CA");
    let (proxy_port, proxy) = common::proxies::spawn_https_proxy(&ca);
    let proxy_url = format!("https://localhost:{proxy_port}");
    let port = wss_echo_through(&proxy_url, proxy_port, &ca, large_message());
    common::proxies::assert_connect_to(&join(proxy), &format!("localhost:{port}"));
}

#[cfg(feature = "rustls")]
#[test]
fn an_https_proxy_with_an_untrusted_certificate_is_a_tls_error_naming_it() {
    let ca = common::certs::Ca::new("unknown to the Mozilla roots");
    let (proxy_port, _proxy) = common::proxies::spawn_https_proxy(&ca);
    let proxy = format!("https://localhost:{proxy_port}");
    // connect verifies the proxy against the bundled roots.
    let ws = WebSocket::connect("ws://127.0.0.1:9/", through(&proxy), &Options::default());
    let error = proxy_error(ws.unwrap());
    assert_eq!(error.proxy(), proxy);
    common::proxies::assert_untrusted_certificate(&error);
}

#[test]
fn refusals_are_proxy_errors() {
    let (_listener, url) = common::listen();
    if let Some(proxy) = tinyproxy(&["BasicAuth alice secret"]) {
        let ws = WebSocket::connect(&url, through(&proxy.url("http", "")), &Options::default());
        let error = proxy_error(ws.unwrap());
        assert_eq!(error.status(), Some(407), "{error}");
        assert!(error
            .response()
            .unwrap()
            .header("Proxy-Authenticate")
            .is_some());
    }
    if let Some(proxy) = microsocks(None) {
        let closed = format!("ws://127.0.0.1:{}/", free_port());
        let ws = WebSocket::connect(
            &closed,
            through(&proxy.url("socks5", "")),
            &Options::default(),
        );
        let error = proxy_error(ws.unwrap());
        assert!(
            matches!(error.kind(), ProxyErrorKind::SocksReply(5)),
            "{error}"
        );
    }
}

#[test]
fn a_proxy_that_is_down_is_an_error_naming_it() {
    let port = free_port();
    let proxy = format!("http://127.0.0.1:{port}");
    let ws = WebSocket::connect("ws://127.0.0.1:9/", through(&proxy), &Options::default());
    let error = proxy_error(ws.unwrap());
    assert_eq!(error.proxy(), proxy);
    let ProxyErrorKind::Io(io) = error.kind() else {
        panic!("{error}");
    };
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_silent_proxy_runs_into_the_handshake_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let mut options = Options::default();
    options.timeouts.handshake = Some(Duration::from_millis(300));
    let mut ws = WebSocket::connect("ws://127.0.0.1:9/", through(&proxy), &options).unwrap();
    let started = Instant::now();
    let mut poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(4);
    ws.register(poll.registry(), mio::Token(0)).unwrap();
    let expired = loop {
        assert!(started.elapsed() < BOUND, "no timeout");
        while ws.poll_event().unwrap().is_some() {}
        ws.flush(poll.registry()).unwrap();
        let wait = ws
            .poll_timeout()
            .map(|at| at.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, wait).unwrap();
        for event in events.iter() {
            ws.ready(event);
        }
        if let Some(why) = ws.handle_timeout(Instant::now()) {
            break why;
        }
    };
    assert_eq!(expired, Timeout::Handshake);
    assert!(ws.is_finished());
    drop(listener);
}
