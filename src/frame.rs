//! Frame headers (RFC 6455 §5.2): opcode, flags, mask key and payload length.
//!
//! [`FrameHeader::parse`] is the only entry point for untrusted header bytes.
//! It never panics and never allocates: it returns `Ok(None)` when the header
//! is incomplete (2 to 14 bytes are needed), so a header split across reads at
//! any byte decodes the same as one whole read. Payload limits and role rules
//! are the connection's job; the codec checks only what the header alone can
//! prove wrong.

use crate::error::ProtocolError;

/// A frame opcode (RFC 6455 §5.2, §11.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decode the low nibble of the first header byte.
    ///
    /// ```
    /// use rfc6455::frame::OpCode;
    /// use rfc6455::ProtocolError;
    /// assert_eq!(OpCode::from_u8(0x9), Ok(OpCode::Ping));
    /// assert_eq!(OpCode::from_u8(0x3), Err(ProtocolError::UnknownOpcode(0x3)));
    /// ```
    pub fn from_u8(bits: u8) -> Result<OpCode, ProtocolError> {
        match bits {
            0x0 => Ok(OpCode::Continuation),
            0x1 => Ok(OpCode::Text),
            0x2 => Ok(OpCode::Binary),
            0x8 => Ok(OpCode::Close),
            0x9 => Ok(OpCode::Ping),
            0xA => Ok(OpCode::Pong),
            // RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF are reserved; receiving one
            // without a negotiated extension fails the connection.
            other => Err(ProtocolError::UnknownOpcode(other)),
        }
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong (opcodes with the high bit set).
    ///
    /// ```
    /// use rfc6455::frame::OpCode;
    /// assert!(OpCode::Close.is_control() && !OpCode::Text.is_control());
    /// ```
    pub const fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// The largest header: 2 bytes + 8-byte length + 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// A decoded frame header.
///
/// ```
/// use rfc6455::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
///
/// let mut header = FrameHeader::new(OpCode::Binary, 300);
/// header.mask = Some([1, 2, 3, 4]);
/// let mut out = [0u8; MAX_HEADER_LEN];
/// let len = header.encode(&mut out);
/// assert_eq!(len, header.encoded_len()); // 2 + 2 (16-bit length) + 4 (mask)
/// assert_eq!(FrameHeader::parse(&out[..len])?, Some((header, len)));
/// assert_eq!(FrameHeader::parse(&out[..3])?, None); // incomplete: not an error
/// # Ok::<(), rfc6455::ProtocolError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Final fragment of a message.
    pub fin: bool,
    /// RSV1 (used by permessage-deflate).
    pub rsv1: bool,
    /// RSV2 (no extension of ours uses it).
    pub rsv2: bool,
    /// RSV3 (no extension of ours uses it).
    pub rsv3: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on client-to-server frames.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// An unmasked, unfragmented header without reserved bits.
    pub const fn new(opcode: OpCode, payload_len: u64) -> Self {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Decode a header from the start of `buf`.
    ///
    /// `Ok(None)`: more bytes are needed. `Ok(Some((header, len)))`: the
    /// header occupies `buf[..len]`. Errors are what the header alone shows:
    /// an unknown opcode or a 64-bit length with its top bit set.
    ///
    /// ```
    /// use rfc6455::frame::{FrameHeader, OpCode};
    /// let (header, len) = FrameHeader::parse(b"\x81\x05Hello")?.expect("whole");
    /// assert_eq!((header.opcode, header.payload_len, len), (OpCode::Text, 5, 2));
    /// # Ok::<(), rfc6455::ProtocolError>(())
    /// ```
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let (b0, b1) = match buf {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Ok(None),
        };
        let opcode = OpCode::from_u8(b0 & 0x0f)?;
        let masked = b1 & 0x80 != 0;
        let (payload_len, mut pos) = match b1 & 0x7f {
            126 => match buf.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(b) => {
                    let mut len = [0u8; 8];
                    len.copy_from_slice(b);
                    let len = u64::from_be_bytes(len);
                    // RFC 6455 §5.2: the most significant bit MUST be 0.
                    if len >> 63 != 0 {
                        return Err(ProtocolError::InvalidLength);
                    }
                    (len, 10)
                }
                None => return Ok(None),
            },
            // Non-minimal encodings (e.g. 5 in the 16-bit form) are accepted:
            // RFC 6455 §5.2 requires minimal encoding of senders only.
            short => (u64::from(short), 2),
        };
        let mask = if masked {
            match buf.get(pos..pos + 4) {
                Some(k) => {
                    pos += 4;
                    Some([k[0], k[1], k[2], k[3]])
                }
                None => return Ok(None),
            }
        } else {
            None
        };
        Ok(Some((
            FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv1: b0 & 0x40 != 0,
                rsv2: b0 & 0x20 != 0,
                rsv3: b0 & 0x10 != 0,
                opcode,
                mask,
                payload_len,
            },
            pos,
        )))
    }

    /// The encoded length of this header.
    pub const fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xffff => 4,
            _ => 10,
        };
        if self.mask.is_some() {
            len + 4
        } else {
            len
        }
    }

    /// Encode into `out`, returning the number of bytes written. Always uses
    /// the minimal length encoding (RFC 6455 §5.2).
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7)
            | (u8::from(self.rsv1) << 6)
            | (u8::from(self.rsv2) << 5)
            | (u8::from(self.rsv3) << 4)
            | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut pos = match self.payload_len {
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[pos..pos + 4].copy_from_slice(&key);
            pos += 4;
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_examples() {
        // RFC 6455 §5.7: unmasked "Hello".
        let (h, n) = FrameHeader::parse(b"\x81\x05Hello").unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.mask, h.payload_len, n),
            (true, OpCode::Text, None, 5, 2)
        );
        // Masked "Hello".
        let (h, n) = FrameHeader::parse(b"\x81\x85\x37\xfa\x21\x3d")
            .unwrap()
            .unwrap();
        assert_eq!((h.mask, n), (Some([0x37, 0xfa, 0x21, 0x3d]), 6));
        // Fragmented: first frame without FIN, continuation with FIN.
        let (h, _) = FrameHeader::parse(b"\x01\x03Hel").unwrap().unwrap();
        assert!(!h.fin);
        let (h, _) = FrameHeader::parse(b"\x80\x02lo").unwrap().unwrap();
        assert_eq!(h.opcode, OpCode::Continuation);
        // 256-byte binary in the 16-bit form; 64 KiB in the 64-bit form.
        let (h, n) = FrameHeader::parse(b"\x82\x7e\x01\x00").unwrap().unwrap();
        assert_eq!((h.payload_len, n), (256, 4));
        let (h, n) = FrameHeader::parse(b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00")
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n), (65536, 10));
    }

    #[test]
    fn incomplete_headers_need_more() {
        for buf in [
            &b""[..],
            b"\x81",
            b"\x82\x7e\x01",
            b"\x82\x7f\0\0\0\0\0\0\x01",
            b"\x81\x85\x37\xfa\x21",
        ] {
            assert_eq!(FrameHeader::parse(buf), Ok(None), "{buf:?}");
        }
    }

    #[test]
    fn reserved_opcodes_are_rejected() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(
                FrameHeader::parse(&[0x80 | op, 0]),
                Err(ProtocolError::UnknownOpcode(op))
            );
        }
    }

    #[test]
    fn top_bit_of_64_bit_length_is_an_error() {
        let buf = b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00";
        assert_eq!(FrameHeader::parse(buf), Err(ProtocolError::InvalidLength));
        let buf = b"\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff";
        assert_eq!(
            FrameHeader::parse(buf).unwrap().unwrap().0.payload_len,
            (1 << 63) - 1
        );
    }

    #[test]
    fn non_minimal_lengths_are_read_but_never_written() {
        let (h, n) = FrameHeader::parse(b"\x82\x7e\x00\x05").unwrap().unwrap();
        assert_eq!((h.payload_len, n), (5, 4));
        let mut out = [0u8; MAX_HEADER_LEN];
        assert_eq!(h.encode(&mut out), 2);
        assert_eq!(&out[..2], b"\x82\x05");
    }

    #[test]
    fn reserved_bits_are_decoded() {
        let (h, _) = FrameHeader::parse(b"\xf1\x00").unwrap().unwrap();
        assert!(h.rsv1 && h.rsv2 && h.rsv3);
    }

    fn header_strategy() -> impl Strategy<Value = FrameHeader> {
        let len = prop_oneof![0u64..=125, 126u64..=0xffff, 0x10000u64..(1 << 63)];
        let op = prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary),
            Just(OpCode::Close),
            Just(OpCode::Ping),
            Just(OpCode::Pong)
        ];
        (
            any::<[bool; 4]>(),
            op,
            proptest::option::of(any::<[u8; 4]>()),
            len,
        )
            .prop_map(|(flags, opcode, mask, payload_len)| FrameHeader {
                fin: flags[0],
                rsv1: flags[1],
                rsv2: flags[2],
                rsv3: flags[3],
                opcode,
                mask,
                payload_len,
            })
    }

    proptest! {
        #[test]
        fn header_round_trips(h in header_strategy()) {
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut out);
            prop_assert_eq!(n, h.encoded_len());
            prop_assert_eq!(FrameHeader::parse(&out[..n]), Ok(Some((h, n))));
            for cut in 0..n {
                prop_assert_eq!(FrameHeader::parse(&out[..cut]), Ok(None));
            }
        }

        #[test]
        fn never_panics(buf in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Ok(Some((_, n))) = FrameHeader::parse(&buf) {
                prop_assert!(n <= buf.len());
            }
        }
    }
}
