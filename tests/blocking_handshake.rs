//! The opening handshake over loopback: refusals with an HTTP status,
//! requests that are not (valid) upgrades, and subprotocol selection.

mod common;

use common::{join, raw_http, spawn_server_with};
use rfc6455::blocking::{self, Rejection};
use rfc6455::{AcceptOptions, ClientOptions, CloseCode, Config, Error, HandshakeError};

#[test]
fn refused_upgrade_reports_403_to_both_sides() {
    let (url, server) = spawn_server_with(
        Config::default(),
        |request| {
            assert_eq!(request.path(), "/");
            Err(Rejection::new(403, "forbidden"))
        },
        |ws| ws.map(|_| ()),
    );
    let rejected = match blocking::connect(&url) {
        Err(Error::Handshake(HandshakeError::Rejected(r))) => r,
        other => panic!("expected a 403 refusal, got {other:?}"),
    };
    assert_eq!(rejected.status, 403);
    assert_eq!(rejected.body, b"forbidden");
    match join(server) {
        Err(Error::Handshake(HandshakeError::Rejected(r))) => assert_eq!(r.status, 403),
        other => panic!("server should report its refusal, got {other:?}"),
    }
}

/// Send the hand-written upgrade request with its version line replaced
/// by `version_line`: the answer must be 426 naming version 13 (RFC 6455
/// §4.4), and the server's accept must fail with UnsupportedVersion.
fn assert_426_for_version(version_line: &str) {
    let (url, server) =
        spawn_server_with(Config::default(), common::accept_all, |ws| ws.map(|_| ()));
    let request =
        common::raw_upgrade_request(&url).replace("Sec-WebSocket-Version: 13\r\n", version_line);
    let answer = raw_http(&url, &request);
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(
        answer.contains("\r\nSec-WebSocket-Version: 13\r\n"),
        "{answer}"
    );
    assert!(matches!(
        join(server),
        Err(Error::Handshake(HandshakeError::UnsupportedVersion))
    ));
}

#[test]
fn wrong_version_gets_426_naming_version_13() {
    assert_426_for_version("Sec-WebSocket-Version: 8\r\n");
}

#[test]
fn missing_version_gets_426() {
    assert_426_for_version("");
}

#[test]
fn plain_get_gets_426_upgrade_required() {
    let (url, server) =
        spawn_server_with(Config::default(), common::accept_all, |ws| ws.map(|_| ()));
    let host = common::host_port(&url);
    let answer = raw_http(
        &url,
        &format!("GET /index.html HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    );
    // RFC 7231 §6.5.15: a 426 names the protocol to upgrade to.
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(answer.contains("\r\nUpgrade: websocket\r\n"), "{answer}");
    // The server sees the plain request, to serve it itself if it wants to.
    match join(server) {
        Err(Error::Handshake(HandshakeError::NotUpgrade(request))) => {
            assert_eq!(request.method, "GET");
            assert_eq!(request.path, "/index.html");
        }
        other => panic!("expected NotUpgrade, got {other:?}"),
    }
}

#[test]
fn server_picks_a_subprotocol_the_client_offered() {
    let (url, server) = spawn_server_with(
        Config::default(),
        |request| {
            assert_eq!(request.protocols, ["chat.v2", "chat"]);
            Ok(AcceptOptions {
                protocol: Some("chat".into()),
                ..AcceptOptions::default()
            })
        },
        |ws| {
            let mut ws = ws.expect("server handshake");
            let protocol = ws.protocol().map(String::from);
            common::echo(&mut ws).unwrap();
            protocol
        },
    );
    let options = ClientOptions {
        protocols: vec!["chat.v2".into(), "chat".into()],
        ..ClientOptions::default()
    };
    let mut ws = common::connect_with(&url, options, Config::default());
    assert_eq!(ws.protocol(), Some("chat"));
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(join(server).as_deref(), Some("chat"));
}

#[test]
fn no_subprotocol_when_none_is_offered() {
    let (url, server) = common::spawn_server(|ws| ws.protocol().map(String::from));
    let ws = common::connect(&url);
    assert_eq!(ws.protocol(), None);
    assert_eq!(join(server), None);
}
