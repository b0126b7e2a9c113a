//! How errors read: each level of `source()` adds something new, reasons
//! are not padded, `Closed` says who closed, `is_timeout` is right.

mod common;

use rfc6455::blocking::{self, Rejection};
use rfc6455::handshake::{ClientHandshake, HandshakeError, Status};
use rfc6455::{
    ClientOptions, CloseCode, ClosedBy, Config, Connection, Error, FastRng, Message, Role, Timeout,
    WsUrl,
};
use std::io;

/// The text of `error` and of every source under it.
fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut texts = vec![error.to_string()];
    let mut next = error.source();
    while let Some(cause) = next {
        texts.push(cause.to_string());
        next = cause.source();
    }
    texts
}

/// No level of the chain repeats a level below it.
fn assert_reads_once(error: &(dyn std::error::Error + 'static)) {
    let texts = chain(error);
    for (i, outer) in texts.iter().enumerate() {
        for inner in &texts[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{outer:?} repeats its source {inner:?} (chain {texts:?})"
            );
        }
    }
}

#[test]
fn a_refused_handshake_reads_once_on_both_sides() {
    let (url, server) = common::spawn_server_with(
        Config::default(),
        |_| Err(Rejection::new(403, "no entry")),
        |result| result.map(|_| ()).unwrap_err(),
    );
    let client = blocking::connect(&url).unwrap_err();
    assert_eq!(
        client.to_string(),
        "handshake failed: refused with 403 Forbidden"
    );
    assert_reads_once(&client);
    let server = server.join().unwrap();
    assert_eq!(
        server.to_string(),
        "handshake failed: refused with 403 Forbidden"
    );
    assert_reads_once(&server);
}

#[test]
fn an_empty_reason_phrase_adds_no_space() {
    let url = WsUrl::parse("ws://example.com/").unwrap();
    let handshake = ClientHandshake::new(&url, ClientOptions::default(), &mut FastRng::new());
    let error = match handshake.parse_response(b"HTTP/1.1 403 \r\nContent-Length: 0\r\n\r\n") {
        Err(e @ HandshakeError::Rejected(_)) => Error::from(e),
        Ok(Status::Partial) => panic!("the response is whole"),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(error.to_string(), "handshake failed: refused with 403");
}

#[test]
fn io_and_tls_errors_read_once() {
    let io = Error::from(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "reset by peer",
    ));
    assert_eq!(io.to_string(), "I/O error: reset by peer");
    assert_reads_once(&io);
    let protocol = {
        let mut server = Connection::new(Role::Server, Config::default());
        server.receive(b"\x81\x00"); // unmasked: a client must mask
        server.poll_event().unwrap_err()
    };
    assert_eq!(protocol.close_code(), Some(CloseCode::PROTOCOL_ERROR));
    assert_reads_once(&protocol);
}

#[cfg(feature = "rustls")]
#[test]
fn tls_errors_inside_io_errors_read_once() {
    use rfc6455::rustls;
    let wrapped = io::Error::new(
        io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(rustls::CertificateError::Expired),
    );
    let error = Error::from(wrapped);
    assert!(matches!(error, Error::Tls(_)));
    assert_reads_once(&error);
}

/// Two connections and the bytes between them, until both are quiet.
fn shuttle(a: &mut Connection, b: &mut Connection) {
    loop {
        let (ab, ba) = (a.take_output(), b.take_output());
        if ab.is_empty() && ba.is_empty() {
            return;
        }
        b.receive(&ab);
        a.receive(&ba);
        while a.poll_event().unwrap().is_some() {}
        while b.poll_event().unwrap().is_some() {}
    }
}

#[test]
fn closed_says_who_closed() {
    let mut client = Connection::new(Role::Client, Config::default());
    let mut server = Connection::new(Role::Server, Config::default());
    client.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(client.closed_by(), Some(ClosedBy::Us));
    shuttle(&mut client, &mut server);
    assert_eq!(client.closed_by(), Some(ClosedBy::Us));
    assert_eq!(server.closed_by(), Some(ClosedBy::Peer));
    assert_eq!(
        client.closed_error().to_string(),
        "connection closed by us (the peer replied 1000)"
    );
    assert_eq!(
        server.closed_error().to_string(),
        "connection closed by the peer with 1000 \"bye\""
    );
    assert_eq!(
        server.peer_close_frame().map(|f| f.code),
        Some(CloseCode::NORMAL)
    );

    let mut dropped = Connection::new(Role::Client, Config::default());
    dropped.send(Message::text("hi")).unwrap();
    dropped.receive_eof();
    assert_eq!(dropped.closed_by(), Some(ClosedBy::Transport));
    let error = dropped.closed_error();
    assert!(matches!(
        error,
        Error::Closed {
            by: ClosedBy::Transport,
            clean: false,
            frame: None
        }
    ));
    assert_eq!(
        error.to_string(),
        "connection lost: the transport ended before the close handshake"
    );
}

#[test]
fn a_close_without_a_code_has_no_frame() {
    let mut client = Connection::new(Role::Client, Config::default());
    client.receive(b"\x88\x00");
    while client.poll_event().unwrap().is_some() {}
    assert_eq!(client.peer_close_frame(), None);
    assert_eq!(client.closed_by(), Some(ClosedBy::Peer));
    assert_eq!(
        client.closed_error().to_string(),
        "connection closed by the peer"
    );
}

#[test]
fn timeouts_are_timeouts() {
    for kind in [io::ErrorKind::TimedOut, io::ErrorKind::WouldBlock] {
        assert!(Error::from(io::Error::from(kind)).is_timeout());
    }
    for which in [
        Timeout::Connect,
        Timeout::Handshake,
        Timeout::Pong,
        Timeout::Close,
    ] {
        let error = Error::from(which);
        assert!(error.is_timeout(), "{error}");
        assert!(error.to_string().starts_with("timed out: "));
    }
    assert!(!Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).is_timeout());
    assert!(!Error::SendAfterClose.is_timeout());
}
