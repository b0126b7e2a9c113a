//! The client's parser of the server's response, driven through
//! `ClientUpgrade` (so permessage-deflate negotiation and the bytes after
//! the header are covered too), on arbitrary bytes in arbitrary reads.
//!
//! Input: `flags, max size/64, split seed (4), max read`, then the response.
//! flags: bit 0 offer permessage-deflate. The request's key is the RFC 6455
//! §1.3 sample nonce, so seeds can carry the matching accept value.
//!
//! Invariants: pieces end exactly as one read; an accepted response agrees
//! only to what we offered; a refusal carries its non-101 status; the
//! connection it yields handles the leftover bytes like any other.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::handshake::{ClientOptions, HandshakeError, RejectedResponse};
use rfc6455::{ClientUpgrade, Config, Error, WsUrl};
use rfc6455_fuzz::{assert_events_within_limits, drain, small_config, split, FixedRng, Input};

const PROTOCOLS: [&str; 2] = ["chat", "superchat"];

fn upgrade(deflate: bool, max_size: usize) -> (ClientUpgrade, Config) {
    let mut config: Config = small_config(0, 16, 16);
    if !deflate {
        config.deflate = None;
    }
    let options = ClientOptions {
        protocols: PROTOCOLS.iter().map(|p| p.to_string()).collect(),
        max_response_size: max_size,
        ..ClientOptions::default()
    };
    let url = WsUrl::parse("ws://server.example.com/chat").expect("valid URL");
    let mut rng = FixedRng(b"the sample nonce".to_vec(), 0);
    let upgrade = ClientUpgrade::with_rng(&url, options, config.clone(), &mut rng);
    (upgrade, config)
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let deflate = input.byte() & 1 != 0;
    let max_size = usize::from(input.byte()) * 64;
    let (seed, max_chunk) = (input.u32(), input.byte());
    let bytes = input.rest();

    let (mut whole, config) = upgrade(deflate, max_size);
    let whole = whole.receive(bytes);
    let (mut pieces_upgrade, _) = upgrade(deflate, max_size);
    let mut pieces = Ok(None);
    let mut rest = split(bytes, seed, max_chunk).into_iter();
    for piece in rest.by_ref() {
        pieces = pieces_upgrade.receive(piece);
        if !matches!(pieces, Ok(None)) {
            break;
        }
    }
    // Reads after the header's end go to the connection.
    if let Ok(Some((conn, _))) = &mut pieces {
        rest.for_each(|piece| conn.receive(piece));
    }
    match (whole, pieces) {
        (Ok(None), Ok(None)) => assert!(bytes.len() <= max_size, "partial past the limit"),
        (Ok(Some((mut a, response))), Ok(Some((mut b, same)))) => {
            assert_eq!(response, same, "reads changed the response");
            if let Some(p) = &response.protocol {
                assert!(PROTOCOLS.contains(&p.as_str()), "unoffered subprotocol");
            }
            for e in &response.extensions {
                assert!(deflate && e.name.eq_ignore_ascii_case("permessage-deflate"));
            }
            assert_eq!(a.is_compressed(), b.is_compressed());
            assert!(!a.is_compressed() || deflate);
            // The bytes after the header went to the connection.
            let (mut ea, mut eb) = (Vec::new(), Vec::new());
            let (xa, xb) = (drain(&mut a, &mut ea), drain(&mut b, &mut eb));
            assert_eq!((ea.clone(), xa), (eb, xb));
            assert_events_within_limits(&ea, &config, a.is_compressed());
        }
        (Err(Error::Handshake(a)), Err(Error::Handshake(b))) => {
            match (&a, &b) {
                // A refusal carries what of the body had arrived when its
                // header was complete: with fewer reads, more of it.
                (HandshakeError::Rejected(a), HandshakeError::Rejected(b)) => {
                    assert_ne!(a.status, 101);
                    assert_eq!(
                        (a.status, &a.reason, &a.headers),
                        (b.status, &b.reason, &b.headers)
                    );
                    assert!(a.body.len() <= RejectedResponse::MAX_BODY);
                    assert!(a.body.starts_with(&b.body), "body is what had arrived");
                }
                _ => assert_eq!(a, b, "reads changed the error"),
            }
        }
        other => panic!("one read and pieces disagree: {other:?}"),
    }
});
