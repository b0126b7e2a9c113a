//! The frame header decoder on arbitrary bytes.
//!
//! Invariants: a decoded header re-encodes to a header that decodes the same;
//! the bytes it claims are all present and nothing after them matters; every
//! shorter prefix asks for more; errors are exactly the two the header alone
//! can show (a reserved opcode, a 64-bit length with its top bit set).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::frame::{FrameHeader, MAX_HEADER_LEN};
use rfc6455::ProtocolError;

fuzz_target!(|data: &[u8]| {
    match FrameHeader::parse(data) {
        Ok(Some((header, len))) => {
            assert!((2..=MAX_HEADER_LEN).contains(&len) && len <= data.len());
            assert!(header.payload_len >> 63 == 0);
            assert_eq!(header.mask.is_some(), data[1] & 0x80 != 0);
            // Only the claimed bytes matter, and a header split anywhere
            // before its end is incomplete, never an error.
            assert_eq!(FrameHeader::parse(&data[..len]), Ok(Some((header, len))));
            for cut in 0..len {
                assert_eq!(FrameHeader::parse(&data[..cut]), Ok(None));
            }
            // The minimal encoding is never longer and decodes the same.
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut out);
            assert_eq!(n, header.encoded_len());
            assert!(n <= len);
            assert_eq!(FrameHeader::parse(&out[..n]), Ok(Some((header, n))));
        }
        Ok(None) => assert!(data.len() < MAX_HEADER_LEN),
        Err(ProtocolError::UnknownOpcode(op)) => {
            assert_eq!(op, data[0] & 0x0f);
            assert!(matches!(op, 3..=7 | 0xb..=0xf));
        }
        Err(ProtocolError::InvalidLength) => {
            assert_eq!(data[1] & 0x7f, 127);
            assert!(data[2] & 0x80 != 0);
        }
        Err(other) => panic!("unexpected header error {other:?}"),
    }
});
