//! A `wss://` server on the tokio adapter (`tokio::accept_tls*`): the
//! crate's tokio and blocking TLS clients against it, the decide step over
//! TLS, and clients that are no TLS client or stall in the TLS handshake.
#![cfg(all(feature = "tokio", feature = "rustls"))]

mod common;

use common::certs::{server_config, Ca};
use rfc6455::blocking::{self, BlockingTransport};
use rfc6455::rustls::{ClientConnection, ServerConfig};
use rfc6455::tokio::{self as ws, Options, TlsServerStream, WebSocket};
use rfc6455::{
    AcceptOptions, ClientOptions, CloseCode, Config, Error, Message, Request, Timeout, Timeouts,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

/// The longest any step may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(30);

/// A certificate authority and a server configuration with a leaf it signed
/// for the loopback names.
fn tls() -> (Ca, Arc<ServerConfig>) {
    let ca = Ca::new("test CA");
    let config = server_config(ca.leaf(&["localhost", "127.0.0.1"]));
    (ca, config)
}

async fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// Echo until the peer closes; how many messages came back.
async fn echo(mut socket: WebSocket<TlsServerStream>) -> Result<usize, Error> {
    let mut echoed = 0;
    loop {
        match socket.read().await {
            Ok(message) => {
                socket.send(message).await?;
                echoed += 1;
            }
            Err(Error::Closed { .. }) => return Ok(echoed),
            Err(e) => return Err(e),
        }
    }
}

/// A one-connection `wss://` echo server on the tokio adapter that accepts
/// the `chat` subprotocol when offered; the request's path and the number
/// of messages echoed.
fn serve_echo(listener: TcpListener, tls: Arc<ServerConfig>) -> JoinHandle<(String, usize)> {
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut path = String::new();
        let decide = |request: &Request| {
            path = request.path.clone();
            let chat = request.protocols.iter().find(|p| *p == "chat").cloned();
            Ok(AcceptOptions {
                protocol: chat,
                ..AcceptOptions::default()
            })
        };
        let socket = ws::accept_tls_with(tcp, tls, Config::default(), decide)
            .await
            .unwrap();
        assert!(socket.get_ref().session().alpn_protocol() == Some(b"http/1.1"));
        let echoed = echo(socket).await.unwrap();
        (path, echoed)
    })
}

fn chat_client() -> ClientOptions {
    ClientOptions {
        protocols: vec!["superchat".into(), "chat".into()],
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn tokio_client_echo_and_close_over_tls() {
    let (ca, tls) = tls();
    let (listener, port) = listen().await;
    let server = serve_echo(listener, tls);
    let url = format!("wss://localhost:{port}/room/7?x=1");
    let mut client = ws::connect_tls(&url, ca.client_config(), chat_client(), Config::default())
        .await
        .unwrap();
    assert!(client.get_ref().is_tls());
    // The decide step saw the request over TLS and picked `chat`.
    assert_eq!(client.protocol(), Some("chat"));
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 + i / 251) as u8).collect();
    for message in [Message::text("hello over wss"), Message::binary(big)] {
        client.send(message.clone()).await.unwrap();
        assert_eq!(client.read().await.unwrap(), message);
    }
    let frame = client
        .close_and_wait(CloseCode::NORMAL, "bye")
        .await
        .unwrap();
    assert_eq!(frame.unwrap().code, CloseCode::NORMAL);
    assert!(matches!(
        client.read().await,
        Err(Error::Closed { clean: true, .. })
    ));
    let served = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(served, ("/room/7?x=1".to_string(), 2));
}

#[tokio::test]
async fn blocking_client_echo_and_close_over_tls() {
    let (ca, tls) = tls();
    let (listener, port) = listen().await;
    let server = serve_echo(listener, tls);
    let client = tokio::task::spawn_blocking(move || {
        let url = format!("wss://127.0.0.1:{port}/blocking");
        let mut ws =
            blocking::connect_tls(&url, ca.client_config(), chat_client(), Config::default())
                .unwrap();
        ws.get_mut().set_read_timeout(Some(LIMIT)).unwrap();
        assert_eq!(ws.protocol(), Some("chat"));
        common::assert_echo_then_clean_close(&mut ws);
    });
    timeout(LIMIT, client).await.unwrap().unwrap();
    let served = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(served, ("/blocking".to_string(), 2));
}

/// A client offering no subprotocol the server knows gets none, and
/// `accept_tls` (no decide step) accepts any valid request.
#[tokio::test]
async fn accept_tls_takes_every_valid_request() {
    let (ca, tls) = tls();
    let (listener, port) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let socket = ws::accept_tls(tcp, tls).await.unwrap();
        assert_eq!(socket.request().unwrap().protocols, ["superchat"]);
        echo(socket).await
    });
    let url = format!("wss://localhost:{port}/");
    let options = ClientOptions {
        protocols: vec!["superchat".into()],
        ..ClientOptions::default()
    };
    let mut client = ws::connect_tls(&url, ca.client_config(), options, Config::default())
        .await
        .unwrap();
    assert_eq!(client.protocol(), None);
    client.send(Message::text("x")).await.unwrap();
    assert_eq!(client.read().await.unwrap(), Message::text("x"));
    client.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(timeout(LIMIT, server).await.unwrap().unwrap().unwrap(), 1);
}

/// A `ws://` client that speaks plain HTTP to the TLS server: the server
/// fails at once with a TLS error (no panic, no wait for the deadline) and
/// the client's handshake fails too.
#[tokio::test]
async fn a_plain_client_against_the_tls_server_fails_cleanly() {
    let (_ca, tls) = tls();
    let (listener, port) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let start = Instant::now();
        let result = ws::accept_tls(tcp, tls).await;
        (result.map(|_| ()), start.elapsed())
    });
    let client = ws::connect(&format!("ws://127.0.0.1:{port}/")).await;
    assert!(client.is_err(), "a plain client got through");
    let (result, elapsed) = timeout(LIMIT, server).await.unwrap().unwrap();
    match result {
        Err(Error::Tls(_)) => {}
        other => panic!("expected a TLS error, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

/// Bytes that are no TLS ClientHello end the handshake at once with a TLS
/// error (the handshake deadline, 10 s here, is never reached), whatever
/// they are, and nothing panics.
#[tokio::test]
async fn bad_client_hellos_are_errors_at_once() {
    let (_ca, tls) = tls();
    let cases: [(&str, &[u8]); 5] = [
        ("plain HTTP", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        (
            "a record longer than TLS allows",
            b"\x16\x03\x01\xff\xff\x01",
        ),
        (
            "a ClientHello cut short inside its record",
            b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03",
        ),
        (
            "an SSLv2 hello",
            b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10",
        ),
        (
            "an alert instead of a hello",
            b"\x15\x03\x03\x00\x02\x02\x28",
        ),
    ];
    for (name, hello) in cases {
        let (listener, port) = listen().await;
        let mut peer = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        peer.write_all(hello).await.unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        let start = Instant::now();
        let accepted = timeout(LIMIT, ws::accept_tls(tcp, tls.clone()))
            .await
            .unwrap();
        let elapsed = start.elapsed();
        match accepted {
            Err(e) => assert!(matches!(e, Error::Tls(_)), "{name}: {e:?}"),
            Ok(_) => panic!("{name}: accepted"),
        }
        assert!(elapsed < Duration::from_secs(2), "{name}: {elapsed:?}");
    }
}

/// A client that sends half its ClientHello and then nothing is cut off at
/// the configured handshake deadline.
#[tokio::test]
async fn a_client_stalled_in_the_tls_handshake_times_out() {
    let (ca, tls) = tls();
    let (listener, port) = listen().await;
    let mut hello = Vec::new();
    let mut session =
        ClientConnection::new(ca.client_config(), "localhost".try_into().unwrap()).unwrap();
    session.write_tls(&mut hello).unwrap();
    assert!(hello.len() > 100, "a ClientHello of {} bytes", hello.len());
    let mut peer = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    peer.write_all(&hello[..hello.len() / 2]).await.unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    let options = Options {
        timeouts: Timeouts {
            handshake: Some(Duration::from_millis(200)),
            ..Timeouts::default()
        },
        ..Options::default()
    };
    let start = Instant::now();
    let accepted = timeout(
        LIMIT,
        ws::accept_tls_with_options(tcp, tls, options, |_| Ok(AcceptOptions::default())),
    )
    .await
    .unwrap();
    let elapsed = start.elapsed();
    match accepted {
        Err(e) if e.is_timeout() => {
            assert!(matches!(e, Error::Timeout(Timeout::Handshake)), "{e:?}")
        }
        Err(other) => panic!("expected a timeout, got {other:?}"),
        Ok(_) => panic!("half a ClientHello was accepted"),
    }
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// The TLS handshake and the upgrade share one deadline: a client that
/// finishes TLS but sends only half its request is cut off when the
/// deadline counted from the start of the TLS handshake passes.
#[tokio::test]
async fn tls_and_the_upgrade_share_the_handshake_deadline() {
    let (ca, tls) = tls();
    let (listener, port) = listen().await;
    let deadline = Duration::from_millis(400);
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let options = Options {
            timeouts: Timeouts {
                handshake: Some(deadline),
                ..Timeouts::default()
            },
            ..Options::default()
        };
        let start = Instant::now();
        let result =
            ws::accept_tls_with_options(tcp, tls, options, |_| Ok(AcceptOptions::default())).await;
        (result.map(|_| ()), start.elapsed())
    });
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let session =
        ClientConnection::new(ca.client_config(), "localhost".try_into().unwrap()).unwrap();
    let mut client = ws::TlsStream::new(tcp, session);
    // Spend half the deadline in the TLS handshake, then half a request.
    tokio::time::sleep(deadline / 2).await;
    std::future::poll_fn(|cx| client.poll_handshake(cx))
        .await
        .unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    client.flush().await.unwrap();
    let (result, elapsed) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Handshake))),
        "{result:?}"
    );
    assert!(elapsed >= deadline, "{elapsed:?}");
    assert!(elapsed < deadline * 2, "{elapsed:?}");
}
