//! Upgrading hyper 1.x requests into the tokio adapter's WebSocket: the
//! decide step sees the request and picks a subprotocol; invalid or refused
//! requests get the same HTTP answers as from `tokio::accept_with`.
#![cfg(feature = "hyper")]

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use rfc6455::handshake::HandshakeError;
use rfc6455::tokio::hyper::{upgrade, upgrade_with_options, TokioIo};
use rfc6455::tokio::{self as ws, Options, Rejection};
use rfc6455::{AcceptOptions, ClientOptions, CloseCode, Config, Error, Event, Message, Timeouts};
use std::convert::Infallible;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

/// A hyper server on a free port whose every request is a WebSocket echo
/// upgrade; refuses requests carrying `X-Deny`.
async fn server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(
                http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service_fn(handle))
                    .with_upgrades(),
            );
        }
    });
    addr.to_string()
}

async fn handle(
    mut request: Request<hyper::body::Incoming>,
) -> Result<Response<String>, Infallible> {
    let decide = |req: &rfc6455::Request| {
        if req.header("X-Deny").is_some() {
            return Err(Rejection::new(403, "denied"));
        }
        let protocol = req.protocols.iter().find(|p| *p == "echo").cloned();
        Ok(AcceptOptions {
            protocol,
            ..AcceptOptions::default()
        })
    };
    Ok(match upgrade(&mut request, Config::default(), decide) {
        Ok((response, pending)) => {
            tokio::spawn(async move {
                let mut socket = pending.await.unwrap();
                assert_eq!(socket.request().unwrap().path(), "/ws");
                while let Ok(message) = socket.read().await {
                    socket.send(message).await.unwrap();
                }
            });
            response
        }
        Err(refusal) => refusal,
    })
}

#[tokio::test]
async fn echo_through_a_hyper_upgrade() {
    let addr = server().await;
    let options = ClientOptions {
        protocols: vec!["chat".into(), "echo".into()],
        ..ClientOptions::default()
    };
    let mut client = ws::connect_with(&format!("ws://{addr}/ws"), options, Config::default())
        .await
        .unwrap();
    assert_eq!(client.protocol(), Some("echo"));
    // permessage-deflate was negotiated through hyper's headers too.
    assert!(client.connection().is_compressed() == cfg!(feature = "deflate"));
    let big = "hyper ".repeat(100_000);
    for text in ["hello", big.as_str()] {
        client.send(Message::text(text)).await.unwrap();
        assert_eq!(client.read().await.unwrap().as_text(), Some(text));
    }
    let frame = client.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(frame.unwrap().code, CloseCode::NORMAL);
}

#[tokio::test]
async fn a_refusal_from_decide_is_the_response() {
    let addr = server().await;
    let options = ClientOptions {
        headers: vec![("X-Deny".into(), "1".into())],
        ..ClientOptions::default()
    };
    match ws::connect_with(&format!("ws://{addr}/ws"), options, Config::default()).await {
        Err(Error::Handshake(HandshakeError::Rejected(response))) => {
            assert_eq!(response.status, 403);
            assert_eq!(response.body, b"denied");
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}

/// Invalid upgrades get the status the sans-IO checks give everywhere.
#[tokio::test]
async fn invalid_requests_get_the_shared_http_errors() {
    let addr = server().await;
    let cases: [(&str, &str); 3] = [
        // No Upgrade header: plain HTTP, answered 426 Upgrade Required.
        ("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 426 "),
        // A key that is not 16 bytes of base64.
        (
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "HTTP/1.1 400 ",
        ),
        // Version 8 instead of 13.
        (
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
            "HTTP/1.1 426 ",
        ),
    ];
    for (request, status) in cases {
        let mut tcp = TcpStream::connect(&addr).await.unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 4096];
        let n = tcp.read(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with(status), "{request:?} -> {answer}");
    }
}

/// `upgrade_with_options`: the upgraded socket keeps the configured
/// keepalive, so a client that says nothing is pinged after 100 ms (the
/// default is 20 s).
#[tokio::test]
async fn an_upgraded_socket_keeps_the_configured_keepalive() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = |mut request: Request<hyper::body::Incoming>| async move {
        let options = Options {
            timeouts: Timeouts {
                ping_after: Some(Duration::from_millis(100)),
                ..Timeouts::default()
            },
            ..Options::default()
        };
        let (response, pending) =
            upgrade_with_options(&mut request, options, |_| Ok(AcceptOptions::default())).unwrap();
        tokio::spawn(async move {
            let mut socket = pending.await.unwrap();
            // Reading drives the keepalive timer.
            let _ = socket.read().await;
        });
        Ok::<Response<String>, Infallible>(response)
    };
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        http1::Builder::new()
            .serve_connection(TokioIo::new(tcp), service_fn(handle))
            .with_upgrades()
            .await
    });
    let mut client = ws::connect(&format!("ws://{addr}/ws")).await.unwrap();
    let start = Instant::now();
    let event = timeout(Duration::from_secs(30), client.read_event())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(event, Event::Ping(_)), "{event:?}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}
