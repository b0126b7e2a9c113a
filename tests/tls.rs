//! `wss://` over loopback with the blocking adapter: certificates are made
//! here with rcgen, per test, so nothing is read from disk or the network.
#![cfg(feature = "rustls")]

mod common;

use common::certs::{serve, server_config, Ca, Leaf};
use rcgen::date_time_ymd;
use rfc6455::blocking::{self, MaybeTlsStream, TlsServerStream, WebSocket};
use rfc6455::rustls;
use rfc6455::rustls::crypto::ring;
use rfc6455::rustls::server::WebPkiClientVerifier;
use rfc6455::rustls::{AlertDescription, CertificateError, ClientConfig, ServerConfig};
use rfc6455::{CloseCode, Config, Error, Message};
use std::io;
use std::sync::Arc;
use std::time::Duration;

fn big_config() -> Config {
    Config::default().with_max_size(32 << 20)
}

/// The server side of most tests: echo until the client closes.
fn echo(mut ws: WebSocket<TlsServerStream>) -> Result<usize, Error> {
    common::echo(&mut ws)
}

fn connect(url: &str, tls: Arc<ClientConfig>) -> Result<WebSocket<MaybeTlsStream>, Error> {
    blocking::connect_tls(url, tls, Default::default(), big_config())
}

fn expect_tls_error(result: Result<WebSocket<MaybeTlsStream>, Error>) -> rustls::Error {
    match result {
        Err(Error::Tls(e)) => e,
        Err(other) => panic!("expected a TLS error, got {other:?}"),
        Ok(_) => panic!("expected a TLS error, the connection succeeded"),
    }
}

#[test]
fn echo_and_close_handshake_over_tls() {
    let ca = Ca::new("test CA");
    let (port, server) = serve(server_config(ca.leaf(&["localhost", "127.0.0.1"])), echo);
    let mut ws = connect(&format!("wss://127.0.0.1:{port}/chat"), ca.client_config()).unwrap();
    assert!(ws.get_ref().is_tls());
    common::assert_echo_then_clean_close(&mut ws);
    assert_eq!(server.join().unwrap().unwrap(), 2);
    // Once closed, it stays closed.
    assert!(matches!(ws.read(), Err(Error::Closed { clean: true, .. })));
}

#[test]
fn server_names_resolve_through_sni() {
    let ca = Ca::new("test CA");
    let (port, server) = serve(server_config(ca.leaf(&["localhost"])), echo);
    let mut ws = connect(&format!("wss://localhost:{port}/"), ca.client_config()).unwrap();
    ws.send(Message::text("sni")).unwrap();
    assert_eq!(ws.read().unwrap().as_text(), Some("sni"));
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap().unwrap(), 1);
}

#[test]
fn sixteen_mebibyte_message_over_tls() {
    let ca = Ca::new("test CA");
    let (port, server) = serve(server_config(ca.leaf(&["127.0.0.1"])), echo);
    let mut ws = connect(&format!("wss://127.0.0.1:{port}/"), ca.client_config()).unwrap();
    let payload: Vec<u8> = (0..16usize << 20).map(|i| (i * 31 % 251) as u8).collect();
    ws.send(Message::binary(payload.clone())).unwrap();
    let echoed = ws.read().unwrap();
    assert_eq!(echoed.len(), payload.len());
    assert!(echoed.as_bytes() == payload.as_slice());
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap().unwrap(), 1);
}

#[test]
fn server_closing_first_sends_close_notify() {
    let ca = Ca::new("test CA");
    let (port, server) = serve(server_config(ca.leaf(&["127.0.0.1"])), |mut ws| {
        ws.close(CloseCode::GOING_AWAY, "shutting down")?;
        match ws.read() {
            Err(Error::Closed { clean, .. }) => Ok(clean),
            other => panic!("expected the close reply, got {other:?}"),
        }
    });
    let mut ws = connect(&format!("wss://127.0.0.1:{port}/"), ca.client_config()).unwrap();
    match ws.read() {
        Err(Error::Closed {
            frame: Some(frame),
            clean: true,
            by: rfc6455::ClosedBy::Peer,
        }) => {
            assert_eq!(frame.code, CloseCode::GOING_AWAY);
            assert_eq!(frame.reason.as_str(), "shutting down");
        }
        other => panic!("expected a clean close, got {other:?}"),
    }
    assert!(server.join().unwrap().unwrap());
}

/// Serve `leaf` at 127.0.0.1, connect with `connect`, and return the
/// client's TLS error once the server has seen the matching alert.
fn refused(
    leaf: Leaf,
    connect: impl FnOnce(String) -> Result<WebSocket<MaybeTlsStream>, Error>,
) -> rustls::Error {
    let (port, server) = serve(server_config(leaf), echo);
    let error = match connect(format!("wss://127.0.0.1:{port}/")) {
        Err(Error::Tls(e)) => e,
        Err(other) => panic!("expected a TLS error, got {other:?}"),
        Ok(_) => panic!("expected a TLS error, the connection succeeded"),
    };
    match server.join().unwrap() {
        Err(Error::Tls(rustls::Error::AlertReceived(alert))) => assert!(
            matches!(
                alert,
                AlertDescription::BadCertificate
                    | AlertDescription::UnknownCA
                    | AlertDescription::CertificateExpired
            ),
            "alert {alert:?}"
        ),
        other => panic!("expected the client's alert, got {other:?}"),
    }
    error
}

#[test]
fn wrong_hostname_is_a_name_mismatch() {
    let ca = Ca::new("test CA");
    let error = refused(ca.leaf(&["other.example"]), |url| {
        connect(&url, ca.client_config())
    });
    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{error:?}"
    );
}

#[test]
fn untrusted_root_is_an_unknown_issuer() {
    let ca = Ca::new("test CA");
    let stranger = Ca::new("someone else's CA");
    let error = refused(ca.leaf(&["127.0.0.1"]), |url| {
        connect(&url, stranger.client_config())
    });
    let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
    assert_eq!(error, unknown);
}

#[test]
fn default_roots_refuse_a_private_ca() {
    // connect() verifies against the bundled web roots: a test CA is not one.
    let ca = Ca::new("test CA");
    let error = refused(ca.leaf(&["127.0.0.1"]), |url| blocking::connect(&url));
    let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
    assert_eq!(error, unknown);
}

#[test]
fn expired_certificate_is_refused() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf_with(&["127.0.0.1"], |params| {
        params.not_before = date_time_ymd(2001, 1, 1);
        params.not_after = date_time_ymd(2002, 1, 1);
    });
    let error = refused(leaf, |url| connect(&url, ca.client_config()));
    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        ),
        "{error:?}"
    );
}

#[test]
fn plain_client_at_a_tls_server_is_a_tls_error_there() {
    let ca = Ca::new("test CA");
    let (port, server) = serve(server_config(ca.leaf(&["127.0.0.1"])), echo);
    // ws:// with the TLS-capable call goes without TLS.
    let client = connect(&format!("ws://127.0.0.1:{port}/"), ca.client_config());
    assert!(client.is_err());
    assert!(
        matches!(server.join().unwrap(), Err(Error::Tls(_))),
        "the server should fail in TLS"
    );
}

#[test]
fn client_certificates_are_presented() {
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(client_ca.roots()),
        Arc::new(ring::default_provider()),
    )
    .build()
    .unwrap();
    let leaf = server_ca.leaf(&["127.0.0.1"]);
    let mut tls = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(leaf.chain, leaf.key)
        .unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tls = Arc::new(tls);

    // Without a client certificate the server refuses the handshake.
    let (port, server) = serve(tls.clone(), echo);
    let refused = connect(
        &format!("wss://127.0.0.1:{port}/"),
        server_ca.client_config(),
    );
    assert!(refused.is_err(), "the server must ask for a certificate");
    assert!(matches!(
        server.join().unwrap(),
        Err(Error::Tls(rustls::Error::NoCertificatesPresented))
    ));

    // With one, signed by the CA the server trusts, it goes through.
    let identity = client_ca.leaf(&["client.example"]);
    let client_tls = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(server_ca.roots())
        .with_client_auth_cert(identity.chain, identity.key)
        .unwrap();
    let (port, server) = serve(tls, echo);
    let mut ws = connect(&format!("wss://127.0.0.1:{port}/"), Arc::new(client_tls)).unwrap();
    ws.send(Message::text("mutual")).unwrap();
    assert_eq!(ws.read().unwrap().as_text(), Some("mutual"));
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap().unwrap(), 1);
}

#[test]
fn server_picking_another_alpn_protocol_is_refused() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["127.0.0.1"]);
    let mut tls = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.chain, leaf.key)
        .unwrap();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    let (port, _server) = serve(Arc::new(tls), echo);
    let mut client = (*ca.client_config()).clone();
    client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let error = expect_tls_error(connect(
        &format!("wss://127.0.0.1:{port}/"),
        Arc::new(client),
    ));
    assert!(matches!(error, rustls::Error::General(_)), "{error:?}");
}

#[test]
fn read_timeouts_over_tls_lose_nothing() {
    let ca = Ca::new("test CA");
    let (port, server) = serve(server_config(ca.leaf(&["127.0.0.1"])), |mut ws| {
        std::thread::sleep(Duration::from_millis(300));
        ws.send(Message::text("late"))?;
        echo(ws)
    });
    let mut ws = connect(&format!("wss://127.0.0.1:{port}/"), ca.client_config()).unwrap();
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut timeouts = 0;
    let message = loop {
        match ws.read() {
            Ok(message) => break message,
            Err(Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                timeouts += 1
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert!(timeouts > 0, "the read should have timed out first");
    assert_eq!(message.as_text(), Some("late"));
    ws.get_mut().set_read_timeout(None).unwrap();
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap().unwrap(), 0);
}

#[test]
fn tls_errors_display_as_tls() {
    let error = Error::from(io::Error::new(
        io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
    ));
    assert!(matches!(error, Error::Tls(_)));
    assert!(error.to_string().starts_with("TLS error"), "{error}");
    let plain = Error::from(io::Error::from(io::ErrorKind::ConnectionReset));
    assert!(matches!(plain, Error::Io(_)));
}
