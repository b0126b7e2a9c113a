//! Client-side tests on literal bytes, grouped by RFC 6455 §4.1.

use super::*;
use crate::rng::FastRng;
use alloc::format;
use alloc::string::ToString;
use alloc::vec;

/// A random source that hands out the RFC 6455 §1.3 sample nonce.
struct SampleNonce;

impl RandomSource for SampleNonce {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.copy_from_slice(b"the sample nonce");
    }
}

const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn handshake(options: ClientOptions) -> ClientHandshake {
    let url = WsUrl::parse("ws://server.example.com/chat").unwrap();
    ClientHandshake::new(&url, options, &mut SampleNonce)
}

fn offering_chat() -> ClientHandshake {
    handshake(ClientOptions {
        protocols: vec!["chat".into(), "superchat".into()],
        extensions: vec![ExtensionOffer {
            name: "permessage-deflate".into(),
            params: vec![("client_max_window_bits".into(), None)],
        }],
        ..ClientOptions::default()
    })
}

/// The RFC 6455 §1.3 response, with `replace` overriding (or, with an empty
/// value, removing) the named headers; other names are appended.
fn response(replace: &[(&str, &str)]) -> Vec<u8> {
    let defaults = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", ACCEPT),
    ];
    super::super::test_header_block("HTTP/1.1 101 Switching Protocols", &defaults, replace)
}

fn complete(hs: &ClientHandshake, buf: &[u8]) -> (ServerResponse, usize) {
    match hs.parse_response(buf) {
        Ok(Status::Complete(done)) => done,
        other => panic!("expected a complete response, got {other:?}"),
    }
}

fn fails(hs: &ClientHandshake, buf: &[u8], expected: HandshakeError) {
    assert_eq!(hs.parse_response(buf), Err(expected));
}

// RFC 6455 §1.3 / §4.1: the request, byte for byte.
#[test]
fn request_bytes() {
    let hs = handshake(ClientOptions {
        protocols: vec!["chat".into(), "superchat".into()],
        headers: vec![("Origin".into(), "http://example.com".into())],
        ..ClientOptions::default()
    });
    assert_eq!(hs.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(
        hs.request(),
        b"GET /chat HTTP/1.1\r\n\
          Host: server.example.com\r\n\
          Upgrade: websocket\r\n\
          Connection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
          Sec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Protocol: chat, superchat\r\n\
          Origin: http://example.com\r\n\r\n"
    );
}

#[test]
fn request_carries_port_query_and_extensions() {
    let url = WsUrl::parse("wss://[::1]:8443/a?b=c").unwrap();
    let options = ClientOptions {
        extensions: vec![ExtensionOffer {
            name: "permessage-deflate".into(),
            params: vec![("client_max_window_bits".into(), None)],
        }],
        ..ClientOptions::default()
    };
    let hs = ClientHandshake::new(&url, options, &mut SampleNonce);
    let text = core::str::from_utf8(hs.request()).unwrap();
    assert!(text.starts_with("GET /a?b=c HTTP/1.1\r\nHost: [::1]:8443\r\n"));
    assert!(text
        .contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
    assert!(!text.contains("Sec-WebSocket-Protocol"));
}

// RFC 6455 §4.1 item 7: a fresh random nonce per handshake.
#[test]
fn keys_are_fresh_16_byte_nonces() {
    let url = WsUrl::parse("ws://h/").unwrap();
    let mut rng = FastRng::from_seed(3);
    let a = ClientHandshake::new(&url, ClientOptions::default(), &mut rng);
    let b = ClientHandshake::new(&url, ClientOptions::default(), &mut rng);
    assert_ne!(a.key(), b.key());
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(a.key())
        .unwrap();
    assert_eq!(decoded.len(), 16);
}

#[test]
fn valid_response_is_accepted() {
    let hs = offering_chat();
    let buf = response(&[
        ("Sec-WebSocket-Protocol", "chat"),
        (
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits=10",
        ),
        ("Set-Cookie", "a=1"),
    ]);
    let (resp, consumed) = complete(&hs, &buf);
    assert_eq!(consumed, buf.len());
    assert_eq!(resp.protocol.as_deref(), Some("chat"));
    assert_eq!(resp.extensions.len(), 1);
    assert_eq!(
        resp.extensions[0].params,
        vec![("client_max_window_bits".into(), Some("10".into()))]
    );
    assert!(resp
        .headers
        .iter()
        .any(|(n, v)| n == "Set-Cookie" && v == "a=1"));
}

#[test]
fn header_tokens_are_case_insensitive() {
    let hs = handshake(ClientOptions::default());
    complete(
        &hs,
        &response(&[
            ("Upgrade", "WebSocket"),
            ("Connection", "keep-alive, UPGRADE"),
        ]),
    );
}

// --- RFC 6455 §4.1, the client's checks of the response, one test per rule ---

#[test]
fn non_101_status_is_rejected_with_headers_and_body() {
    let hs = handshake(ClientOptions::default());
    let buf = b"HTTP/1.1 401 Unauthorized\r\n\
        WWW-Authenticate: Bearer\r\n\
        Content-Length: 12\r\n\r\nlogin first!";
    let err = hs.parse_response(buf).unwrap_err();
    assert_eq!(err.to_string(), "refused with 401 Unauthorized");
    let HandshakeError::Rejected(rejected) = err else {
        panic!("{err:?}");
    };
    assert_eq!(rejected.status, 401);
    assert_eq!(rejected.reason, "Unauthorized");
    assert_eq!(rejected.to_string(), "401 Unauthorized");
    assert_eq!(rejected.header("www-authenticate"), Some("Bearer"));
    assert_eq!(rejected.body, b"login first!");
}

#[test]
fn rejected_body_is_capped() {
    let hs = handshake(ClientOptions::default());
    let mut buf = b"HTTP/1.1 500 Internal Server Error\r\n\r\n".to_vec();
    buf.extend_from_slice(&[b'x'; 5000]);
    let Err(HandshakeError::Rejected(rejected)) = hs.parse_response(&buf) else {
        panic!("expected a rejection");
    };
    assert_eq!(rejected.body.len(), RejectedResponse::MAX_BODY);
    // A 200 is a refusal too (e.g. a proxy's login page).
    let Err(HandshakeError::Rejected(ok)) = hs.parse_response(b"HTTP/1.1 200 OK\r\n\r\n") else {
        panic!("expected a rejection");
    };
    assert_eq!((ok.status, ok.body.len()), (200, 0));
}

#[test]
fn http_1_0_is_refused() {
    let hs = handshake(ClientOptions::default());
    let mut buf = response(&[]);
    buf[7] = b'0';
    fails(&hs, &buf, HandshakeError::UnsupportedHttpVersion);
}

#[test]
fn upgrade_must_be_websocket() {
    let hs = handshake(ClientOptions::default());
    fails(
        &hs,
        &response(&[("Upgrade", "h2c")]),
        HandshakeError::UpgradeNotWebSocket,
    );
    fails(
        &hs,
        &response(&[("Upgrade", "")]),
        HandshakeError::UpgradeNotWebSocket,
    );
}

#[test]
fn connection_must_contain_upgrade() {
    let hs = handshake(ClientOptions::default());
    let buf = response(&[("Connection", "keep-alive")]);
    fails(&hs, &buf, HandshakeError::ConnectionNotUpgrade);
}

#[test]
fn accept_must_match() {
    let hs = handshake(ClientOptions::default());
    let wrong = response(&[("Sec-WebSocket-Accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")]);
    fails(&hs, &wrong, HandshakeError::AcceptMismatch);
    let missing = response(&[("Sec-WebSocket-Accept", "")]);
    fails(&hs, &missing, HandshakeError::AcceptMismatch);
    let repeated = response(&[("sec-websocket-accept", ACCEPT)]);
    fails(&hs, &repeated, HandshakeError::AcceptMismatch);
}

#[test]
fn protocol_must_be_one_we_offered() {
    let hs = offering_chat();
    let buf = response(&[("Sec-WebSocket-Protocol", "mqtt")]);
    fails(&hs, &buf, HandshakeError::UnexpectedProtocol("mqtt".into()));
    // Offering none and getting one is just as wrong.
    let none = handshake(ClientOptions::default());
    let buf = response(&[("Sec-WebSocket-Protocol", "chat")]);
    fails(
        &none,
        &buf,
        HandshakeError::UnexpectedProtocol("chat".into()),
    );
}

#[test]
fn only_one_protocol_may_be_chosen() {
    let hs = offering_chat();
    let buf = response(&[("Sec-WebSocket-Protocol", "chat, superchat")]);
    fails(
        &hs,
        &buf,
        HandshakeError::UnexpectedProtocol("superchat".into()),
    );
}

#[test]
fn no_protocol_chosen_is_fine() {
    let (resp, _) = complete(&offering_chat(), &response(&[]));
    assert_eq!(resp.protocol, None);
}

#[test]
fn extension_must_be_one_we_offered() {
    let hs = offering_chat();
    let buf = response(&[("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")]);
    fails(
        &hs,
        &buf,
        HandshakeError::UnexpectedExtension("x-webkit-deflate-frame".into()),
    );
    let none = handshake(ClientOptions::default());
    let buf = response(&[("Sec-WebSocket-Extensions", "permessage-deflate")]);
    fails(
        &none,
        &buf,
        HandshakeError::UnexpectedExtension("permessage-deflate".into()),
    );
}

#[test]
fn malformed_extension_response_is_refused() {
    let hs = offering_chat();
    let buf = response(&[("Sec-WebSocket-Extensions", "permessage-deflate;")]);
    assert!(matches!(
        hs.parse_response(&buf),
        Err(HandshakeError::InvalidExtensionHeader(_))
    ));
}

#[test]
fn malformed_http_is_refused() {
    let hs = handshake(ClientOptions::default());
    assert!(matches!(
        hs.parse_response(b"HTTP/1.1 1x1 Switching\r\n\r\n"),
        Err(HandshakeError::MalformedHttp(_))
    ));
}

// --- limits and incremental input ---------------------------------------------

#[test]
fn oversized_response_is_refused_even_when_incomplete() {
    let hs = handshake(ClientOptions {
        max_response_size: 128,
        ..ClientOptions::default()
    });
    let mut buf = response(&[]);
    buf.truncate(buf.len() - 2);
    buf.extend_from_slice(format!("X-Pad: {}\r\n", "p".repeat(200)).as_bytes());
    fails(&hs, &buf, HandshakeError::HeaderTooLarge);
}

#[test]
fn too_many_response_headers_are_refused() {
    let hs = handshake(ClientOptions::default());
    let mut buf = response(&[]);
    buf.truncate(buf.len() - 2);
    for i in 0..MAX_RESPONSE_HEADERS {
        buf.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    buf.extend_from_slice(b"\r\n");
    fails(&hs, &buf, HandshakeError::TooManyHeaders);
}

#[test]
fn byte_by_byte_arrival() {
    let hs = offering_chat();
    let buf = response(&[("Sec-WebSocket-Protocol", "superchat")]);
    for end in 0..buf.len() {
        assert_eq!(
            hs.parse_response(&buf[..end]),
            Ok(Status::Partial),
            "{end} bytes"
        );
    }
    let (resp, consumed) = complete(&hs, &buf);
    assert_eq!(consumed, buf.len());
    assert_eq!(resp.protocol.as_deref(), Some("superchat"));
}

#[test]
fn leftover_bytes_are_not_consumed() {
    let hs = handshake(ClientOptions::default());
    let mut buf = response(&[]);
    let header_len = buf.len();
    // An unmasked text frame "Hello" the server sent right after the 101.
    buf.extend_from_slice(b"\x81\x05Hello");
    let (_, consumed) = complete(&hs, &buf);
    assert_eq!(consumed, header_len);
    assert_eq!(&buf[consumed..], b"\x81\x05Hello");
}
