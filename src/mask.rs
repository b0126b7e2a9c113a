//! In-place XOR masking (RFC 6455 §5.3).
//!
//! The one speed trick of the codec lives here, behind one signature, with
//! the byte-at-a-time reference it is tested against. The fast path is safe
//! Rust: it XORs `u64` words built with `from_ne_bytes`, which the compiler
//! lowers to wide loads and stores (SIMD where the target has it) without any
//! `unsafe`; a long payload first gets a short byte-wise head that brings the
//! rest to a 16-byte boundary.

/// XOR `buf` with `key`, where `buf[0]` is at position `offset` of the
/// (cyclic) key. Returns the key position after the last byte, so a payload
/// arriving in pieces is unmasked piece by piece:
///
/// ```
/// # use rfc6455::mask::apply_mask;
/// let key = [1, 2, 3, 4];
/// let mut whole = *b"Hello, world";
/// apply_mask(&mut whole, key, 0);
/// let mut pieces = *b"Hello, world";
/// let next = apply_mask(&mut pieces[..5], key, 0);
/// apply_mask(&mut pieces[5..], key, next);
/// assert_eq!(whole, pieces);
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) -> usize {
    let offset = offset % 4;
    if buf.len() < 64 {
        // Short payloads (most chat and game messages), inlined into the
        // caller: a byte-wise alignment head would cost more here than it
        // saves.
        mask_words(buf, rotate_key(key, offset));
    } else {
        mask_long(buf, key, offset);
    }
    (offset + buf.len()) % 4
}

/// The wide path for payloads of 64 bytes and more.
#[inline(never)]
fn mask_long(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Bring the bulk of a large payload onto a 16-byte boundary first: an
    // unaligned 16-byte access that straddles two cache lines costs about a
    // third of the throughput (the `mask ... unaligned` bench rows), and
    // payloads start 2, 6 or 14 bytes into a frame. `align_offset` is safe
    // and only reads the address; `min` keeps the split in bounds should it
    // ever answer `usize::MAX`.
    let head_len = buf.as_ptr().align_offset(16).min(buf.len());
    let (head, body) = buf.split_at_mut(head_len);
    apply_mask_scalar(head, key, offset);
    // Aligned, the word loop runs at the memory's speed (the compiler
    // unrolls and vectorizes it).
    mask_words(body, rotate_key(key, offset + head_len));
}

/// The key as a native-endian word, rotated so that its first byte is the
/// one for key position `offset`: the byte at the lowest address is the least
/// significant on little-endian targets and the most significant on
/// big-endian ones.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> u32 {
    let shift = 8 * (offset % 4) as u32;
    let word = u32::from_ne_bytes(key);
    if cfg!(target_endian = "little") {
        word.rotate_right(shift)
    } else {
        word.rotate_left(shift)
    }
}

/// XOR whole 8-byte words, then at most one 4-byte word, then the (at most
/// three) bytes left; `buf[0]` is at key position 0 of the rotated key
/// `rotated_word`. A 16-byte payload is two XORs; a long one is vectorized.
#[inline]
fn mask_words(buf: &mut [u8], rotated_word: u32) {
    // Both halves hold the same four bytes, so the order of the halves
    // does not depend on endianness.
    let wide = u64::from(rotated_word) | (u64::from(rotated_word) << 32);
    let mut words = buf.chunks_exact_mut(8);
    for chunk in &mut words {
        let w = u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8])) ^ wide;
        chunk.copy_from_slice(&w.to_ne_bytes());
    }
    let rest = words.into_remainder();
    let (word, tail) = rest.split_at_mut(rest.len() & !3);
    if let Ok(bytes) = <&mut [u8; 4]>::try_from(word) {
        *bytes = (u32::from_ne_bytes(*bytes) ^ rotated_word).to_ne_bytes();
    }
    apply_mask_scalar(tail, rotated_word.to_ne_bytes(), 0);
}

/// Append `src` to `dst` masked with `key` from key position 0: the copy
/// that queues a client's payload and the masking in one pass over memory.
/// A long payload passes through an aligned block on the stack, which stays
/// in the L1 cache, so it is read once and written once (copying first and
/// masking the copy in place would go over a large payload twice).
pub(crate) fn extend_masked(dst: &mut bytes::BytesMut, src: &[u8], key: [u8; 4]) {
    if src.len() < 64 {
        let start = dst.len();
        dst.extend_from_slice(src);
        mask_words(&mut dst[start..], rotate_key(key, 0));
        return;
    }
    /// A multiple of 4 bytes, so every block starts at key position 0; 4
    /// KiB, half the L1 cache: 512-byte blocks spent a tenth of a 1 MiB
    /// write on the rounds themselves. Appended through `copy::extend`,
    /// since a copy of this size can meet memcpy's slow case.
    #[repr(align(16))]
    struct Block([u8; 4096]);
    let mut block = Block([0; 4096]);
    let word = rotate_key(key, 0);
    dst.reserve(src.len());
    for piece in src.chunks(block.0.len()) {
        let staged = &mut block.0[..piece.len()];
        staged.copy_from_slice(piece);
        mask_words(staged, word);
        crate::copy::extend(dst, staged);
    }
}

/// The reference implementation: one byte at a time.
pub fn apply_mask_scalar(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 §5.7: a masked "Hello" from a client.
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }

    proptest! {
        #[test]
        fn fast_path_matches_scalar(data in proptest::collection::vec(any::<u8>(), 0..300),
                                    key in any::<[u8; 4]>(), offset in 0usize..4, start in 0usize..32) {
            let start = start.min(data.len());
            let mut fast = data.clone();
            let mut slow = data.clone();
            apply_mask(&mut fast[start..], key, offset);
            apply_mask_scalar(&mut slow[start..], key, offset);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn extend_masked_matches_copy_then_scalar(data in proptest::collection::vec(any::<u8>(), 0..2000),
                                                  key in any::<[u8; 4]>(), prefix in 0usize..20) {
            let mut dst = bytes::BytesMut::from(&data[..prefix.min(data.len())]);
            extend_masked(&mut dst, &data, key);
            let mut want = data[..prefix.min(data.len())].to_vec();
            let start = want.len();
            want.extend_from_slice(&data);
            apply_mask_scalar(&mut want[start..], key, 0);
            prop_assert_eq!(&dst[..], &want[..]);
        }

        #[test]
        fn masking_twice_is_identity(data in proptest::collection::vec(any::<u8>(), 0..300), key in any::<[u8; 4]>()) {
            let mut buf = data.clone();
            apply_mask(&mut buf, key, 0);
            apply_mask(&mut buf, key, 0);
            prop_assert_eq!(buf, data);
        }

        #[test]
        fn pieces_match_whole(data in proptest::collection::vec(any::<u8>(), 0..300),
                              key in any::<[u8; 4]>(), cuts in proptest::collection::vec(0usize..300, 0..5)) {
            let mut whole = data.clone();
            apply_mask(&mut whole, key, 0);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut pieces = data.clone();
            let mut pos = 0;
            let mut offset = 0;
            for cut in cuts.into_iter().chain(core::iter::once(data.len())) {
                offset = apply_mask(&mut pieces[pos..cut], key, offset);
                pos = cut;
            }
            prop_assert_eq!(whole, pieces);
        }
    }
}
