//! Appending payload bytes to a buffer without memcpy's one slow case.
//!
//! glibc's `memcpy` copies a few KiB and more with `rep movsb`, and on AMD
//! Zen cores (this project's benchmark machine is one) `rep movsb` runs
//! 30 to 50 times slower when the destination lies a few bytes *after* the
//! source modulo the 4 KiB page: 6 to 9 µs instead of 0.2 µs for 16 KiB.
//! An echo server hits exactly that case: the message arrives in one fresh
//! buffer behind a 6-byte masked header and is copied to the next fresh
//! buffer behind a 4-byte one, so source and destination sit the same few
//! bytes apart message after message. Before this module, that one copy was
//! 28% of the mio echo server's time with 16 KiB messages (see the commit
//! that added it, and `benches/compare/echo.sh`).
//!
//! [`extend`] checks the relative offset first (a subtraction). In the
//! slow zone, an empty buffer (the usual destination: a fresh read buffer
//! or output queue) skips the few bytes of its capacity that move the copy
//! out of the zone, and memcpy runs at full speed; a buffer that already
//! holds bytes gets them with a plain 16-byte word loop instead, which
//! runs at 0.4 µs for 16 KiB whatever the offsets. Measured on this
//! machine, the slow case spans copies of 4 KiB up to 256 KiB; 2 KiB and
//! 512 KiB copies are fast at every offset.

use bytes::{Buf, BytesMut};

/// Below this many bytes glibc copies with vector moves, which have no
/// slow case; the check is not worth making.
const MIN_LEN: usize = 2048;

/// From about the L2 cache size up (512 KiB here, 1 MiB on newer cores)
/// glibc leaves `rep movsb` for a vector loop with no slow case, twice as
/// fast as the word loop; `memcpy` is measured fine at 512 KiB here, and
/// the bound sits at 1 MiB so that a larger L2 is covered too.
const MAX_LEN: usize = 1 << 20;

/// `dst - src` modulo the page in `1..SLOW_ZONE` is the slow case measured.
const SLOW_ZONE: usize = 64;

/// Append `src` to `buf`, as `buf.extend_from_slice(src)` does.
#[inline]
pub(crate) fn extend(buf: &mut BytesMut, src: &[u8]) {
    if !(MIN_LEN..MAX_LEN).contains(&src.len()) {
        buf.extend_from_slice(src);
        return;
    }
    let start = buf.len();
    // Room for the padding below too, so the address does not move.
    buf.reserve(src.len() + if start == 0 { SLOW_ZONE } else { 0 });
    // Addresses only, read for their offset; nothing is dereferenced.
    let dst_addr = buf.as_ptr() as usize + start;
    let delta = dst_addr.wrapping_sub(src.as_ptr() as usize) % 4096;
    if delta == 0 || delta >= SLOW_ZONE {
        buf.extend_from_slice(src);
        return;
    }
    if start == 0 {
        // An empty buffer (a fresh read buffer or output queue, the
        // common case) can start a little later instead: skipping
        // `SLOW_ZONE - delta` bytes of its capacity moves the copy out of
        // the slow zone, so memcpy runs at full speed with nothing to zero.
        let pad = SLOW_ZONE - delta;
        buf.extend_from_slice(&[0; SLOW_ZONE][..pad]);
        buf.advance(pad);
        buf.extend_from_slice(src);
        return;
    }
    // Zeroing first keeps this safe Rust; stores have no slow case, and
    // this path runs only where memcpy would be far slower.
    buf.resize(start + src.len(), 0);
    copy_words(&mut buf[start..], src);
}

/// Copy equal-length slices 16 bytes at a time. The words pass through an
/// XOR with an opaque zero so that the optimizer cannot turn the loop back
/// into a `memcpy` call.
fn copy_words(dst: &mut [u8], src: &[u8]) {
    let zero = core::hint::black_box(0u64);
    let mut dst_blocks = dst.chunks_exact_mut(16);
    let mut src_blocks = src.chunks_exact(16);
    for (d, s) in (&mut dst_blocks).zip(&mut src_blocks) {
        let (d_lo, d_hi) = d.split_at_mut(8);
        let (s_lo, s_hi) = s.split_at(8);
        let lo = u64::from_ne_bytes(s_lo.try_into().unwrap_or([0; 8])) ^ zero;
        let hi = u64::from_ne_bytes(s_hi.try_into().unwrap_or([0; 8])) ^ zero;
        d_lo.copy_from_slice(&lo.to_ne_bytes());
        d_hi.copy_from_slice(&hi.to_ne_bytes());
    }
    dst_blocks
        .into_remainder()
        .copy_from_slice(src_blocks.remainder());
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    proptest! {
        /// Every length and every source offset within a page (so both the
        /// memcpy and the word-loop paths) append the same bytes.
        #[test]
        fn extend_appends_exactly_the_source(
            prefix in 0usize..40,
            len in 0usize..6000,
            src_offset in 0usize..4096,
        ) {
            let arena: Vec<u8> = (0..len + 8192).map(|i| (i * 7 + 3) as u8).collect();
            let src = &arena[src_offset..src_offset + len];
            let mut buf = BytesMut::from(&arena[..prefix]);
            extend(&mut buf, src);
            prop_assert_eq!(&buf[..prefix], &arena[..prefix]);
            prop_assert_eq!(&buf[prefix..], src);
        }
    }

    /// A source placed so that `dst - src` is 8 modulo the page: the case
    /// this module exists for.
    fn slow_zone_source(arena: &[u8], dst_addr: usize, len: usize) -> &[u8] {
        let base = arena.as_ptr() as usize;
        let want = (dst_addr.wrapping_sub(8).wrapping_sub(base)) % 4096;
        let src = &arena[want..want + len];
        assert_eq!((dst_addr.wrapping_sub(src.as_ptr() as usize)) % 4096, 8);
        src
    }

    #[test]
    fn slow_zone_offsets_take_the_word_loop_and_copy_exactly() {
        let mut buf = BytesMut::with_capacity(16 << 10);
        buf.extend_from_slice(b"x");
        let arena: Vec<u8> = (0..(32 << 10)).map(|i| (i % 251) as u8).collect();
        let src = slow_zone_source(&arena, buf.as_ptr() as usize + 1, 10_000);
        extend(&mut buf, src);
        assert_eq!(&buf[..1], b"x");
        assert_eq!(&buf[1..], src);
    }

    #[test]
    fn an_empty_buffer_starts_past_the_slow_zone() {
        let mut buf = BytesMut::with_capacity(16 << 10);
        let arena: Vec<u8> = (0..(32 << 10)).map(|i| (i % 251) as u8).collect();
        let src = slow_zone_source(&arena, buf.as_ptr() as usize, 10_000);
        extend(&mut buf, src);
        assert_eq!(&buf[..], src);
        // Moved by the padding, within the same allocation.
        let delta = (buf.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize) % 4096;
        assert_eq!(delta, SLOW_ZONE);
    }
}
