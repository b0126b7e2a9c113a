//! The incremental UTF-8 validator against `core::str::from_utf8`, on
//! arbitrary bytes fed in arbitrary pieces.
//!
//! Input: `split seed (4), max piece`, then the bytes.
//!
//! Invariants: the verdict equals `from_utf8` on the whole; the validator
//! fails on the piece holding the first byte after which no continuation
//! could make the prefix valid (fail fast, RFC 6455 §8.1), not earlier and
//! not later; `is_complete` says whether the bytes so far end on a code
//! point boundary.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::utf8::Utf8Validator;
use rfc6455_fuzz::{split, Input};

/// Whether `bytes` can still be the start of valid UTF-8.
fn viable_prefix(bytes: &[u8]) -> bool {
    match core::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let (seed, max_piece) = (input.u32(), input.byte());
    let bytes = input.rest();
    let pieces = split(bytes, seed, max_piece);
    let mut validator = Utf8Validator::new();
    let mut end = 0;
    let mut verdict = Ok(());
    for (i, piece) in pieces.iter().enumerate() {
        let start = end;
        end += piece.len();
        let last = i + 1 == pieces.len();
        let result = if last {
            validator.finish(piece)
        } else {
            validator.feed(piece)
        };
        if result.is_err() {
            // Fail fast: the bytes before this piece were still viable (or,
            // for finish, the whole piece was read and the end is the error).
            assert!(viable_prefix(&bytes[..start]), "failed too late");
            assert!(
                !viable_prefix(&bytes[..end]) || last,
                "failed on a viable prefix"
            );
            verdict = result;
            break;
        }
        assert!(
            viable_prefix(&bytes[..end]),
            "accepted an impossible prefix"
        );
        let complete = core::str::from_utf8(&bytes[..end]).is_ok();
        assert_eq!(validator.is_complete(), complete, "code point boundary");
    }
    assert_eq!(verdict.is_ok(), core::str::from_utf8(bytes).is_ok());
});
