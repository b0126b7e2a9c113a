//! The LZ77 history of one direction: the last `2^w` bytes of plaintext.
//!
//! With context takeover (RFC 7692 §7.1.1), each message may refer back to
//! the plaintext of earlier messages, as far as the agreed window allows.
//! That window is the only state a compressor or inflater must carry from
//! one message to the next; everything else a zlib stream holds (hash
//! chains, Huffman buffers) can be rebuilt. [`History`] keeps exactly that
//! window, so an idle connection can drop its zlib streams and restore them
//! later by presetting the history as the dictionary.

use alloc::vec::Vec;

/// The last `limit` bytes fed to it (fewer until that many were seen).
#[derive(Debug, Default)]
pub(super) struct History {
    /// The window is the last `limit` bytes of this; older bytes are
    /// dropped in batches, so appending costs amortised O(1) per byte
    /// while `buf` stays below `2 * limit` bytes.
    buf: Vec<u8>,
    limit: usize,
}

impl History {
    /// An empty history that keeps at most `limit` bytes.
    pub(super) fn new(limit: usize) -> Self {
        History {
            buf: Vec::new(),
            limit,
        }
    }

    /// Append `data` (plaintext that entered the LZ77 window).
    pub(super) fn push(&mut self, data: &[u8]) {
        if data.len() >= self.limit {
            self.buf.clear();
            self.buf.extend_from_slice(&data[data.len() - self.limit..]);
            return;
        }
        if self.buf.len() + data.len() > 2 * self.limit {
            let keep = self.limit - data.len();
            let drop = self.buf.len() - keep.min(self.buf.len());
            self.buf.drain(..drop);
        }
        self.buf.extend_from_slice(data);
    }

    /// The window: the last `limit` bytes (or all, if fewer were seen).
    pub(super) fn window(&self) -> &[u8] {
        &self.buf[self.buf.len().saturating_sub(self.limit)..]
    }

    /// Forget everything (the peer started a new DEFLATE stream).
    pub(super) fn clear(&mut self) {
        self.buf.clear();
    }

    /// Keep only the window, in an allocation of exactly its size: what an
    /// idle connection holds.
    pub(super) fn compact(&mut self) {
        let drop = self.buf.len().saturating_sub(self.limit);
        self.buf.drain(..drop);
        self.buf.shrink_to_fit();
    }

    /// Bytes of memory held (capacity), for the memory tests.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the last `limit` bytes of everything pushed.
    fn tail(all: &[u8], limit: usize) -> &[u8] {
        &all[all.len().saturating_sub(limit)..]
    }

    #[test]
    fn window_is_the_last_limit_bytes() {
        for limit in [1usize, 7, 512, 4096] {
            let mut history = History::new(limit);
            let mut all = Vec::new();
            let mut state = 0x9e37_79b9u32;
            for step in 0..300u32 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                // Mostly short pushes, sometimes longer than the limit.
                let len = match state % 10 {
                    0 => limit + (state as usize >> 8) % 100,
                    _ => (state as usize >> 8) % (limit / 3 + 2),
                };
                let data: Vec<u8> = (0..len).map(|i| (i as u32 ^ step) as u8).collect();
                history.push(&data);
                all.extend_from_slice(&data);
                assert_eq!(
                    history.window(),
                    tail(&all, limit),
                    "limit {limit} step {step}"
                );
                assert!(
                    history.buf.len() <= 2 * limit,
                    "limit {limit}: {}",
                    history.buf.len()
                );
                if step % 37 == 0 {
                    history.compact();
                    assert_eq!(history.window(), tail(&all, limit));
                    assert_eq!(history.capacity(), tail(&all, limit).len());
                }
            }
        }
    }

    #[test]
    fn clear_forgets() {
        let mut history = History::new(16);
        history.push(b"abc");
        history.clear();
        assert_eq!(history.window(), b"");
        history.push(b"de");
        assert_eq!(history.window(), b"de");
    }
}
