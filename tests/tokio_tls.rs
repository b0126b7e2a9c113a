//! `wss://` with the tokio adapter's client (rustls driven over the async
//! stream) against the blocking adapter's TLS server.
#![cfg(all(feature = "tokio", feature = "rustls"))]

mod common;

use common::certs::{server_config, Ca};
use rfc6455::rustls::{self, CertificateError};
use rfc6455::tokio as ws;
use rfc6455::{CloseCode, Config, Error, Message};
use std::thread::JoinHandle;

/// A one-connection blocking TLS echo server; returns its port.
fn serve(ca: &Ca) -> (u16, JoinHandle<Result<usize, Error>>) {
    let tls = server_config(ca.leaf(&["localhost", "127.0.0.1"]));
    common::certs::serve(tls, |mut ws| common::echo(&mut ws))
}

#[tokio::test]
async fn echo_and_close_handshake_over_tls() {
    let ca = Ca::new("test CA");
    let (port, server) = serve(&ca);
    let url = format!("wss://localhost:{port}/chat");
    let mut socket = ws::connect_tls(
        &url,
        ca.client_config(),
        Default::default(),
        Config::default(),
    )
    .await
    .unwrap();
    assert!(socket.get_ref().is_tls());
    let big: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    for message in [Message::text("over TLS"), Message::binary(big)] {
        socket.send(message.clone()).await.unwrap();
        assert_eq!(socket.read().await.unwrap(), message);
    }
    let frame = socket.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(frame.unwrap().code, CloseCode::NORMAL);
    assert!(matches!(
        socket.read().await,
        Err(Error::Closed { clean: true, .. })
    ));
    assert_eq!(server.join().unwrap().unwrap(), 2);
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error_from_connect() {
    let ca = Ca::new("test CA");
    let stranger = Ca::new("someone else's CA");
    let (port, server) = serve(&ca);
    let url = format!("wss://127.0.0.1:{port}/");
    let result = ws::connect_tls(
        &url,
        stranger.client_config(),
        Default::default(),
        Config::default(),
    )
    .await;
    match result {
        Err(Error::Tls(e)) => assert_eq!(
            e,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        ),
        Err(other) => panic!("expected a TLS error, got {other:?}"),
        Ok(_) => panic!("connected through an untrusted certificate"),
    }
    // The server saw our alert (or the closed connection), not a request.
    assert!(server.join().unwrap().is_err());
}
