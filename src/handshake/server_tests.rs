//! Server-side tests on literal request bytes, grouped by RFC 6455 §4.2.1.

use super::*;
use alloc::string::ToString;
use alloc::vec;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The RFC 6455 §1.3 request, with `replace` overriding (or, with an empty
/// value, removing) the named headers.
fn request_with(request_line: &str, replace: &[(&str, &str)]) -> Vec<u8> {
    let defaults = [
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    ];
    super::super::test_header_block(request_line, &defaults, replace)
}

fn request(replace: &[(&str, &str)]) -> Vec<u8> {
    request_with("GET /chat HTTP/1.1", replace)
}

fn parse(buf: &[u8]) -> Result<Status<(Request, usize)>, HandshakeError> {
    Request::parse(buf, &ServerOptions::default())
}

fn complete(buf: &[u8]) -> (Request, usize) {
    match parse(buf) {
        Ok(Status::Complete(done)) => done,
        other => panic!("expected a complete request, got {other:?}"),
    }
}

/// Asserts the request fails with `expected`, answered with `status`.
fn fails(buf: &[u8], expected: HandshakeError, status: u16) {
    let err = match parse(buf) {
        Err(e) => e,
        other => panic!("expected {expected:?}, got {other:?}"),
    };
    assert_eq!(err, expected);
    assert_eq!(err.http_status(), Some(status));
    let response = err.http_response().unwrap();
    let head = format!("HTTP/1.1 {status} ");
    assert!(response.starts_with(head.as_bytes()), "{response:?}");
}

fn response_has(response: &[u8], line: &str) -> bool {
    let text = core::str::from_utf8(response).unwrap();
    text.split("\r\n").any(|l| l == line)
}

#[test]
fn rfc_example_request_is_accepted() {
    let buf = request(&[
        ("Origin", "http://example.com"),
        ("Sec-WebSocket-Protocol", "chat, superchat"),
    ]);
    let (req, consumed) = complete(&buf);
    assert_eq!(consumed, buf.len());
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/chat");
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query(), None);
    assert_eq!(req.key(), KEY);
    assert_eq!(req.header("origin"), Some("http://example.com"));
    assert_eq!(req.protocols, vec!["chat", "superchat"]);
    assert!(req.extensions.is_empty());
}

// RFC 6455 §4.2.2 item 5: the example's 101 response, byte for byte.
#[test]
fn accept_builds_the_rfc_response() {
    let (req, _) = complete(&request(&[("Sec-WebSocket-Protocol", "chat, superchat")]));
    let options = AcceptOptions {
        protocol: Some("chat".into()),
        ..AcceptOptions::default()
    };
    assert_eq!(
        req.accept(&options),
        b"HTTP/1.1 101 Switching Protocols\r\n\
          Upgrade: websocket\r\n\
          Connection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
          Sec-WebSocket-Protocol: chat\r\n\r\n"
    );
}

#[test]
fn accept_writes_extensions_and_extra_headers() {
    let (req, _) = complete(&request(&[]));
    let options = AcceptOptions {
        protocol: None,
        extensions: vec![ExtensionOffer {
            name: "permessage-deflate".into(),
            params: vec![("server_no_context_takeover".into(), None)],
        }],
        headers: vec![("Set-Cookie".into(), "a=1".into())],
    };
    let response = req.accept(&options);
    assert!(response_has(
        &response,
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"
    ));
    assert!(response_has(&response, "Set-Cookie: a=1"));
    assert!(!response_has(&response, "Sec-WebSocket-Protocol: "));
    assert!(response.ends_with(b"a=1\r\n\r\n"));
}

#[test]
fn path_and_query_are_split() {
    let (req, _) = complete(&request_with("GET /chat/room?id=7&x HTTP/1.1", &[]));
    assert_eq!(req.path, "/chat/room?id=7&x");
    assert_eq!(req.path(), "/chat/room");
    assert_eq!(req.query(), Some("id=7&x"));
}

#[test]
fn offered_extensions_are_parsed_across_lines() {
    let mut buf = request(&[(
        "Sec-WebSocket-Extensions",
        "permessage-deflate; client_max_window_bits",
    )]);
    // A second extensions line, just before the final CRLF.
    buf.truncate(buf.len() - 2);
    buf.extend_from_slice(b"sec-websocket-extensions: x-foo; a=\"1\"\r\n\r\n");
    let (req, _) = complete(&buf);
    assert_eq!(
        req.extensions,
        vec![
            ExtensionOffer {
                name: "permessage-deflate".into(),
                params: vec![("client_max_window_bits".into(), None)],
            },
            ExtensionOffer {
                name: "x-foo".into(),
                params: vec![("a".into(), Some("1".into()))],
            },
        ]
    );
}

// --- RFC 6455 §4.2.1, one test per rule -----------------------------------

#[test]
fn plain_http_request_is_not_upgrade() {
    let buf = b"GET /index.html HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nbody";
    let err = match parse(buf) {
        Err(HandshakeError::NotUpgrade(plain)) => plain,
        other => panic!("{other:?}"),
    };
    assert_eq!(err.method, "GET");
    assert_eq!(err.path, "/index.html");
    assert_eq!(err.version, 1);
    assert_eq!(err.header("accept"), Some("*/*"));
    assert_eq!(err.consumed, buf.len() - 4);
    let response = HandshakeError::NotUpgrade(err).http_response().unwrap();
    assert!(response.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
    assert!(response_has(&response, "Upgrade: websocket"));
}

#[test]
fn upgrade_to_another_protocol_is_not_upgrade() {
    let buf = request(&[("Upgrade", "h2c")]);
    assert!(matches!(parse(&buf), Err(HandshakeError::NotUpgrade(_))));
}

#[test]
fn upgrade_token_is_case_insensitive_in_a_list() {
    complete(&request(&[("Upgrade", "foo/1, WebSocket")]));
}

#[test]
fn method_must_be_get() {
    let buf = request_with("POST /chat HTTP/1.1", &[]);
    fails(&buf, HandshakeError::MethodNotAllowed("POST".into()), 405);
    let response = HandshakeError::MethodNotAllowed("POST".into())
        .http_response()
        .unwrap();
    assert!(response_has(&response, "Allow: GET"));
}

#[test]
fn http_version_must_be_1_1() {
    let buf = request_with("GET /chat HTTP/1.0", &[]);
    fails(&buf, HandshakeError::UnsupportedHttpVersion, 400);
}

#[test]
fn host_is_required() {
    fails(&request(&[("Host", "")]), HandshakeError::MissingHost, 400);
}

#[test]
fn host_must_not_repeat() {
    let buf = request(&[("host", "other.example")]);
    fails(&buf, HandshakeError::MissingHost, 400);
}

#[test]
fn connection_must_contain_upgrade() {
    let buf = request(&[("Connection", "keep-alive")]);
    fails(&buf, HandshakeError::ConnectionNotUpgrade, 400);
    fails(
        &request(&[("Connection", "")]),
        HandshakeError::ConnectionNotUpgrade,
        400,
    );
}

#[test]
fn connection_token_list_is_accepted() {
    complete(&request(&[("Connection", "keep-alive, upgrade")]));
}

#[test]
fn key_is_required() {
    fails(
        &request(&[("Sec-WebSocket-Key", "")]),
        HandshakeError::MissingKey,
        400,
    );
}

#[test]
fn key_must_decode_to_16_bytes() {
    // "Hello, world!" is 13 bytes: a key often seen in hand-written curl calls.
    let buf = request(&[("Sec-WebSocket-Key", "SGVsbG8sIHdvcmxkIQ==")]);
    fails(&buf, HandshakeError::InvalidKey, 400);
    let buf = request(&[("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA")]);
    fails(&buf, HandshakeError::InvalidKey, 400);
    let buf = request(&[("Sec-WebSocket-Key", "not base64 at all!!!!!==")]);
    fails(&buf, HandshakeError::InvalidKey, 400);
}

#[test]
fn key_must_not_repeat() {
    let buf = request(&[("sec-websocket-key", KEY)]);
    fails(&buf, HandshakeError::InvalidKey, 400);
}

#[test]
fn version_must_be_13() {
    let buf = request(&[("Sec-WebSocket-Version", "8")]);
    fails(&buf, HandshakeError::UnsupportedVersion, 426);
    let response = HandshakeError::UnsupportedVersion.http_response().unwrap();
    assert!(response_has(&response, "Sec-WebSocket-Version: 13"));
}

#[test]
fn version_is_required() {
    let buf = request(&[("Sec-WebSocket-Version", "")]);
    fails(&buf, HandshakeError::UnsupportedVersion, 426);
}

#[test]
fn malformed_extension_offer_is_rejected() {
    let buf = request(&[("Sec-WebSocket-Extensions", "permessage-deflate; =1")]);
    match parse(&buf) {
        Err(e @ HandshakeError::InvalidExtensionHeader(_)) => {
            assert_eq!(e.http_status(), Some(400));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_http_is_400() {
    fails(
        b"GET /chat HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n",
        HandshakeError::MalformedHttp("invalid header name"),
        400,
    );
    fails(
        b"GET /chat HTTP/9.9\r\n\r\n",
        HandshakeError::MalformedHttp("invalid HTTP version"),
        400,
    );
}

// --- limits -----------------------------------------------------------------

#[test]
fn oversized_header_is_431_even_when_incomplete() {
    let options = ServerOptions {
        max_request_size: 256,
        ..ServerOptions::default()
    };
    let mut buf = request(&[]);
    buf.truncate(buf.len() - 2);
    let filler = format!("X-Filler: {}\r\n", "a".repeat(300));
    buf.extend_from_slice(filler.as_bytes());
    // Incomplete, but already over the limit.
    let err = Request::parse(&buf, &options).unwrap_err();
    assert_eq!(err, HandshakeError::HeaderTooLarge);
    assert_eq!(err.http_status(), Some(431));
    let response = err.http_response().unwrap();
    assert!(response.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    // Complete, and over the limit.
    buf.extend_from_slice(b"\r\n");
    assert_eq!(
        Request::parse(&buf, &options),
        Err(HandshakeError::HeaderTooLarge)
    );
}

#[test]
fn header_exactly_at_the_limit_is_accepted() {
    let buf = request(&[]);
    let options = ServerOptions {
        max_request_size: buf.len(),
        ..ServerOptions::default()
    };
    assert!(Request::parse(&buf, &options).unwrap().is_complete());
    // Bytes after a header that fits do not count against the limit.
    let mut longer = buf.clone();
    longer.extend_from_slice(&[0x81; 64]);
    match Request::parse(&longer, &options) {
        Ok(Status::Complete((_, consumed))) => assert_eq!(consumed, buf.len()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn too_many_headers_is_431() {
    let options = ServerOptions {
        max_headers: 8,
        ..ServerOptions::default()
    };
    let extra: Vec<(String, String)> = (0..4)
        .map(|i| (format!("X-Extra-{i}"), "v".to_string()))
        .collect();
    let extra: Vec<(&str, &str)> = extra
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let buf = request(&extra);
    let err = Request::parse(&buf, &options).unwrap_err();
    assert_eq!(err, HandshakeError::TooManyHeaders);
    assert_eq!(err.http_status(), Some(431));
    // The default limit has room for them.
    assert!(Request::parse(&buf, &ServerOptions::default())
        .unwrap()
        .is_complete());
}

// --- incremental input ------------------------------------------------------

#[test]
fn byte_by_byte_arrival() {
    let buf = request(&[("Sec-WebSocket-Protocol", "chat")]);
    for end in 0..buf.len() {
        assert_eq!(
            parse(&buf[..end]),
            Ok(Status::Partial),
            "prefix of {end} bytes"
        );
    }
    let (req, consumed) = complete(&buf);
    assert_eq!(consumed, buf.len());
    assert_eq!(req.protocols, vec!["chat"]);
}

#[test]
fn leftover_bytes_are_not_consumed() {
    let mut buf = request(&[]);
    let header_len = buf.len();
    // A masked text frame the client sent right behind its request.
    buf.extend_from_slice(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    let (_, consumed) = complete(&buf);
    assert_eq!(consumed, header_len);
    assert!(consumed < buf.len());
}

// --- real clients -----------------------------------------------------------

#[test]
fn chromium_request() {
    let buf: &[u8] = b"GET /chat?room=lobby HTTP/1.1\r\n\
        Host: localhost:9001\r\n\
        Connection: Upgrade\r\n\
        Pragma: no-cache\r\n\
        Cache-Control: no-cache\r\n\
        User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
        Upgrade: websocket\r\n\
        Origin: http://localhost:8000\r\n\
        Sec-WebSocket-Version: 13\r\n\
        Accept-Encoding: gzip, deflate, br, zstd\r\n\
        Accept-Language: en-US,en;q=0.9\r\n\
        Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    let (req, consumed) = complete(buf);
    assert_eq!(consumed, buf.len());
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query(), Some("room=lobby"));
    assert_eq!(req.header("origin"), Some("http://localhost:8000"));
    assert_eq!(req.protocols, vec!["chat", "superchat"]);
    assert_eq!(req.extensions.len(), 1);
    assert_eq!(req.extensions[0].name, "permessage-deflate");
    assert_eq!(
        req.extensions[0].params,
        vec![("client_max_window_bits".into(), None)]
    );
    let response = req.accept(&AcceptOptions::default());
    assert!(response_has(
        &response,
        "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk="
    ));
}

#[test]
fn curl_request() {
    let buf: &[u8] = b"GET /echo HTTP/1.1\r\n\
        Host: example.com\r\n\
        User-Agent: curl/8.5.0\r\n\
        Accept: */*\r\n\
        Upgrade: websocket\r\n\
        Sec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: 4fLQ9HZBwbyIzGpfVIzCmw==\r\n\
        Connection: Upgrade\r\n\r\n";
    let (req, consumed) = complete(buf);
    assert_eq!(consumed, buf.len());
    assert_eq!(req.path(), "/echo");
    assert!(req.protocols.is_empty());
    assert!(req.extensions.is_empty());
    assert_eq!(req.header("USER-AGENT"), Some("curl/8.5.0"));
}

// --- reject_response ----------------------------------------------------------

#[test]
fn reject_response_is_complete_http() {
    let headers = vec![
        ("WWW-Authenticate".to_string(), "Basic".to_string()),
        ("content-length".to_string(), "999".to_string()),
    ];
    assert_eq!(
        reject_response(401, &headers, b"no"),
        b"HTTP/1.1 401 Unauthorized\r\n\
          WWW-Authenticate: Basic\r\n\
          Content-Length: 2\r\n\
          Connection: close\r\n\r\nno"
    );
}
