//! The server's parser of upgrade requests, on arbitrary bytes in
//! arbitrary reads.
//!
//! Input: `max size/64, max headers, split seed (4), max read`, then the
//! request bytes.
//!
//! Invariants: feeding the bytes in pieces (`ServerUpgrade`) ends exactly as
//! one parse of them all; a partial header never exceeds the size limit;
//! every error has an HTTP answer that is itself valid HTTP with that
//! status; an accepted request gets a `101` that a client holding the same
//! key and offers accepts, with the subprotocol the server chose.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use rfc6455::handshake::{AcceptOptions, ClientOptions, Request, ServerOptions, Status};
use rfc6455::{ClientHandshake, Config, ServerUpgrade, WsUrl};
use rfc6455_fuzz::{split, FixedRng, Input};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let options = ServerOptions {
        max_request_size: usize::from(input.byte()) * 64,
        max_headers: usize::from(input.byte() % 80),
    };
    let (seed, max_chunk) = (input.u32(), input.byte());
    let bytes = input.rest();

    let whole = Request::parse(bytes, &options);
    let mut upgrade = ServerUpgrade::with_options(Config::default(), options.clone());
    let mut fed = 0;
    let mut pieces = Ok(None);
    for piece in split(bytes, seed, max_chunk) {
        fed += piece.len();
        pieces = upgrade.receive(piece);
        if !matches!(pieces, Ok(None)) {
            break;
        }
    }
    match (&whole, &pieces) {
        (Ok(Status::Partial), Ok(None)) => {
            assert!(
                bytes.len() <= options.max_request_size,
                "partial past the limit"
            );
        }
        (Ok(Status::Complete((request, consumed))), Ok(Some(same))) => {
            assert_eq!(request, same, "reads changed the request");
            assert!(*consumed <= bytes.len().min(options.max_request_size));
            assert_eq!(upgrade.leftover(), &bytes[*consumed..fed]);
            check_accept(request, &bytes[..*consumed], &options);
        }
        (Err(whole), Err(pieces)) => {
            // A header over the limit is found as soon as the limit is
            // passed, whatever the reads; anything else is the same error.
            assert_eq!(whole, pieces, "reads changed the error");
            let status = whole
                .http_status()
                .expect("every request error has a status");
            let response = whole.http_response().expect("and a response");
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut parsed = httparse::Response::new(&mut headers);
            let n = match parsed.parse(&response) {
                Ok(httparse::Status::Complete(n)) => n,
                other => panic!("error response is not HTTP: {other:?}"),
            };
            assert_eq!(parsed.code, Some(status));
            let length = parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| {
                    core::str::from_utf8(h.value)
                        .unwrap()
                        .parse::<usize>()
                        .unwrap()
                });
            assert_eq!(length, Some(response.len() - n), "Content-Length is exact");
        }
        other => panic!("one parse and piecewise parsing disagree: {other:?}"),
    }
});

/// The request was valid: accept it with the first offered subprotocol and
/// check that a client with the same key and offers agrees.
fn check_accept(request: &Request, raw: &[u8], options: &ServerOptions) {
    assert_eq!(request.method, "GET");
    assert!(request.path().len() <= request.path.len());
    assert_eq!(
        Request::parse(raw, options).map(|s| s.is_complete()),
        Ok(true),
        "the header alone parses"
    );
    let nonce = base64::engine::general_purpose::STANDARD
        .decode(request.key())
        .expect("a validated key is base64");
    assert_eq!(nonce.len(), 16, "a validated key holds 16 bytes");
    let accept = AcceptOptions {
        protocol: request.protocols.first().cloned(),
        ..AcceptOptions::default()
    };
    let response = request.accept(&accept);
    let client_options = ClientOptions {
        protocols: request.protocols.clone(),
        extensions: request.extensions.clone(),
        ..ClientOptions::default()
    };
    let url = WsUrl::parse("ws://example.com/").expect("valid URL");
    let client = ClientHandshake::new(&url, client_options, &mut FixedRng(nonce, 0));
    if client.key() != request.key() {
        // A key in a non-canonical base64 spelling cannot be re-created
        // from its bytes; the accept value is computed on the spelling.
        return;
    }
    match client.parse_response(&response) {
        Ok(Status::Complete((agreed, consumed))) => {
            assert_eq!(consumed, response.len());
            assert_eq!(agreed.protocol, accept.protocol);
        }
        other => panic!("the client refused our own 101: {other:?}"),
    }
}
