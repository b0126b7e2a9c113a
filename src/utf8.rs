//! Incremental UTF-8 validation across fragment and read boundaries.
//!
//! RFC 6455 §8.1 lets an endpoint fail a text message as soon as its bytes
//! can no longer be valid UTF-8, and Autobahn's 6.4.x cases check that it
//! does so *mid-frame*, not at the end of the message. The validator keeps
//! at most three bytes of an unfinished code point between calls and hands
//! everything else to `core::str::from_utf8`, whose error reports both where
//! the first bad byte is and whether the input merely ended early
//! (`error_len() == None`) — exactly the distinction incremental validation
//! needs. std's validator was chosen over adding `simdutf8`: it already has
//! an ASCII fast path, and see the `utf8` bench for the numbers.

/// The input can never become valid UTF-8, whatever follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

/// Validates a byte stream fed in arbitrary pieces.
///
/// ```
/// use rfc6455::utf8::Utf8Validator;
///
/// let text = "señor".as_bytes(); // 'ñ' is two bytes: split it
/// let mut validator = Utf8Validator::new();
/// validator.feed(&text[..3])?;
/// assert!(!validator.is_complete());
/// validator.finish(&text[3..])?;
/// assert!(validator.feed(b"\xff").is_err()); // never valid, fails at once
/// # Ok::<(), rfc6455::utf8::InvalidUtf8>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// Bytes of a code point started in an earlier piece.
    partial: [u8; 4],
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Forget any unfinished code point: the start of a new message.
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }

    /// Whether the stream so far ends on a code point boundary.
    pub fn is_complete(&self) -> bool {
        self.partial_len == 0
    }

    /// Validate the next piece of the stream. Fails as soon as the bytes so
    /// far cannot be the prefix of valid UTF-8.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            // Finish the pending code point one byte at a time: at most 3 bytes.
            while self.partial_len > 0 && !input.is_empty() {
                let len = usize::from(self.partial_len);
                self.partial[len] = input[0];
                input = &input[1..];
                match core::str::from_utf8(&self.partial[..=len]) {
                    Ok(_) => self.partial_len = 0,
                    Err(e) if e.error_len().is_none() => self.partial_len += 1,
                    Err(_) => return Err(InvalidUtf8),
                }
            }
            if input.is_empty() {
                return Ok(());
            }
        }
        match core::str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(_) => Err(InvalidUtf8),
                None => {
                    // A valid prefix of a code point at the end: keep it.
                    let tail = &input[e.valid_up_to()..];
                    self.partial[..tail.len()].copy_from_slice(tail);
                    self.partial_len = tail.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// Validate the last piece: the stream must end on a code point boundary.
    pub fn finish(&mut self, input: &[u8]) -> Result<(), InvalidUtf8> {
        self.feed(input)?;
        if self.is_complete() {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn split_validate(data: &[u8], cuts: &[usize]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        let mut pos = 0;
        for &cut in cuts {
            v.feed(&data[pos..cut])?;
            pos = cut;
        }
        v.finish(&data[pos..])
    }

    #[test]
    fn code_point_split_across_pieces_is_valid() {
        let euro = "€".as_bytes(); // e2 82 ac
        assert_eq!(split_validate(euro, &[1, 2]), Ok(()));
        assert_eq!(split_validate(euro, &[1]), Ok(()));
        let emoji = "😀".as_bytes();
        assert_eq!(split_validate(emoji, &[1, 2, 3]), Ok(()));
    }

    #[test]
    fn fails_fast_on_impossible_prefix() {
        // Autobahn 6.4.1-style: a 4-byte lead then a byte out of range, with
        // more to come: rejected at once, not at the end of the message.
        let mut v = Utf8Validator::new();
        assert_eq!(
            v.feed(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4"),
            Ok(())
        );
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"abc\xf4\x90"), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xed\xa0"), Err(InvalidUtf8), "surrogate");
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xc0"), Err(InvalidUtf8), "overlong lead");
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\x80"), Err(InvalidUtf8), "lone continuation");
    }

    #[test]
    fn truncated_at_end_is_invalid() {
        assert_eq!(split_validate(b"ok\xe2\x82", &[]), Err(InvalidUtf8));
        assert_eq!(split_validate(b"ok\xe2\x82", &[3]), Err(InvalidUtf8));
    }

    #[test]
    fn reset_forgets_partial() {
        let mut v = Utf8Validator::new();
        v.feed(b"\xe2").unwrap();
        assert!(!v.is_complete());
        v.reset();
        assert_eq!(v.finish(b"plain"), Ok(()));
    }

    proptest! {
        #[test]
        fn agrees_with_core_for_any_split(data in proptest::collection::vec(any::<u8>(), 0..64),
                                          cuts in proptest::collection::vec(0usize..64, 0..6)) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let expected = core::str::from_utf8(&data).is_ok();
            prop_assert_eq!(split_validate(&data, &cuts).is_ok(), expected);
        }

        #[test]
        fn valid_text_any_split(s in "\\PC{0,40}", cuts in proptest::collection::vec(0usize..200, 0..6)) {
            let data = s.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            prop_assert_eq!(split_validate(data, &cuts), Ok(()));
        }

        #[test]
        fn fails_at_first_bad_byte(data in proptest::collection::vec(any::<u8>(), 1..64)) {
            // Feeding byte by byte fails exactly at the first byte after which
            // no continuation could make the prefix valid.
            let mut v = Utf8Validator::new();
            if let Some(pos) = data.iter().enumerate().position(|(i, _)| v.feed(&data[i..=i]).is_err()) {
                let err = core::str::from_utf8(&data[..=pos]).unwrap_err();
                prop_assert!(err.error_len().is_some());
                if pos > 0 {
                    let ok_prefix = core::str::from_utf8(&data[..pos]);
                    prop_assert!(ok_prefix.is_ok() || ok_prefix.unwrap_err().error_len().is_none());
                }
            }
        }
    }
}
