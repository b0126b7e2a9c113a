//! A peer that breaks the protocol gets the right close code and then loses
//! its TCP connection (RFC 6455 §7.1.7, §7.4.1). The peer is a raw socket
//! that does the handshake and writes its frames by hand.

mod common;

use common::{assert_eof, client_frame, join, raw_handshake, read_close_frame, spawn_server_with};
use rfc6455::{Config, Error, ProtocolError};
use std::io::Write;

/// Serve one connection with `config`, send `bytes` from a raw client after
/// a valid handshake, and check the server answers with a close frame
/// carrying `code`, fails its read() with `expected`, and closes TCP.
fn assert_server_fails(config: Config, bytes: &[u8], code: u16, expected: ProtocolError) {
    let (url, server) = spawn_server_with(config, common::accept_all, |ws| {
        let mut ws = ws.expect("server handshake");
        let failure = ws.read();
        // Once failed, the connection stays closed, uncleanly.
        let (frame, clean) = common::expect_closed(ws.read());
        assert!(frame.is_none() && !clean);
        failure
    });
    let mut raw = raw_handshake(&url);
    raw.write_all(bytes).unwrap();
    let (sent_code, reason) = read_close_frame(&mut raw);
    assert_eq!(sent_code, code, "close reason: {reason:?}");
    assert_eof(&mut raw);
    match join(server) {
        Err(Error::Protocol(error)) => assert_eq!(error, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

#[test]
fn unmasked_client_frame_gets_1002() {
    // RFC 6455 §5.1: a server MUST close on an unmasked client frame.
    assert_server_fails(
        Config::default(),
        &client_frame(0x81, b"hello", false),
        1002,
        ProtocolError::UnmaskedFrame,
    );
}

#[test]
fn invalid_utf8_text_gets_1007() {
    // RFC 6455 §8.1: text that is not UTF-8 fails the connection with 1007.
    assert_server_fails(
        Config::default(),
        &client_frame(0x81, b"ok \xff\xfe", true),
        1007,
        ProtocolError::InvalidUtf8,
    );
}

#[test]
fn frame_over_the_limit_gets_1009() {
    // Only the header is sent: the limit applies before any payload is
    // read, and no unread payload is left for the server to reset over.
    let frame = client_frame(0x82, &[0u8; 2048], true);
    assert_server_fails(
        Config::default().with_max_size(1024),
        &frame[..8],
        1009,
        ProtocolError::FrameTooLarge,
    );
}

#[test]
fn unknown_opcode_gets_1002() {
    assert_server_fails(
        Config::default(),
        &client_frame(0x83, b"", true),
        1002,
        ProtocolError::UnknownOpcode(3),
    );
}

#[test]
fn reserved_bits_without_extension_get_1002() {
    assert_server_fails(
        Config::default(),
        &client_frame(0xc1, b"x", true),
        1002,
        ProtocolError::ReservedBits,
    );
}
