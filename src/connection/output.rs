//! The output queue: frames waiting for the transport, as a short list of
//! contiguous chunks.
//!
//! Small frames (headers, control frames, short payloads, and every client
//! payload, which masking copies anyway) are appended to one owned buffer,
//! so a burst of small messages goes out as one chunk and, once the buffer
//! has grown, costs no allocation. A large payload a server sends unmasked
//! is queued as the application's own [`Bytes`], without a copy: it sits
//! between the owned bytes written before it and those written after.
//!
//! The layout: `owned` holds every owned byte in wire order; `shared` lists
//! the shared segments, each with the number of owned bytes that go on the
//! wire before it (counted from the previous segment). Owned bytes after the
//! last shared segment form the final chunk. With no shared segment the
//! queue is exactly one buffer, as before segments existed, and the
//! `VecDeque` is never allocated.

use alloc::collections::VecDeque;
use bytes::{Buf, Bytes, BytesMut};

/// A shared payload and the owned bytes that precede it on the wire.
struct Shared {
    /// Owned bytes (at the front of what is left of `owned` after the
    /// earlier segments' ones) written before `bytes`.
    owned_before: usize,
    bytes: Bytes,
}

pub(super) struct OutputQueue {
    /// Every owned byte still to be written, in wire order.
    pub(super) owned: BytesMut,
    shared: VecDeque<Shared>,
    /// The sum of `owned_before` over `shared`: owned bytes that precede
    /// the last shared segment. The rest of `owned` is the final chunk.
    owned_listed: usize,
    /// Bytes in `shared`.
    shared_len: usize,
    /// `owned` begins where its allocation begins, and nothing else shares
    /// that allocation: true of every buffer `pool::refill` hands out, and
    /// kept while writes consume the whole buffer (it is then cleared in
    /// place rather than advanced). Such a buffer goes back to the pool as
    /// it is, without `pool::give`'s check for a message still sharing it:
    /// one check fewer per small echo (about 100 instructions). Were the
    /// flag ever wrongly set, the pool would keep a buffer with less room
    /// than its allocation, nothing worse.
    owned_at_start: bool,
}

impl OutputQueue {
    pub(super) fn new() -> Self {
        OutputQueue {
            owned: BytesMut::new(),
            shared: VecDeque::new(),
            owned_listed: 0,
            shared_len: 0,
            owned_at_start: false,
        }
    }

    /// Bytes pending, over all chunks.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.owned.len() + self.shared_len
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Owned bytes at the end of the queue, after the last shared segment:
    /// the only owned bytes that may be truncated.
    pub(super) fn owned_tail_len(&self) -> usize {
        self.owned.len() - self.owned_listed
    }

    /// Queue `bytes` after everything queued so far, without a copy.
    pub(super) fn push_shared(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        let owned_before = self.owned_tail_len();
        self.owned_listed += owned_before;
        self.shared_len += bytes.len();
        self.shared.push_back(Shared {
            owned_before,
            bytes,
        });
    }

    /// Drop the last `n` owned bytes (they must all follow the last shared
    /// segment, see [`owned_tail_len`](Self::owned_tail_len)).
    pub(super) fn truncate_tail(&mut self, n: usize) {
        let n = n.min(self.owned_tail_len());
        self.owned.truncate(self.owned.len() - n);
    }

    /// The first contiguous chunk; empty exactly when nothing is pending.
    pub(super) fn first_chunk(&self) -> &[u8] {
        match self.shared.front() {
            Some(front) if front.owned_before > 0 => &self.owned[..front.owned_before],
            Some(front) => &front.bytes,
            None => &self.owned,
        }
    }

    /// All that is pending when it is one buffer (no shared segment): the
    /// common case of small frames, which then need no chunk list.
    #[cfg(feature = "std")]
    #[inline]
    pub(super) fn sole_chunk(&self) -> Option<&[u8]> {
        self.shared.is_empty().then_some(&self.owned[..])
    }

    /// Every chunk in wire order, none of them empty.
    pub(super) fn chunks(&self) -> Chunks<'_> {
        Chunks {
            owned: &self.owned,
            shared: self.shared.iter(),
            next_shared: None,
        }
    }

    /// `n` bytes from the front were written (more than is pending counts
    /// as everything).
    pub(super) fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.shared.front_mut() else {
                if n >= self.owned.len() {
                    // All written: start over where the buffer starts.
                    self.owned.clear();
                } else {
                    self.owned.advance(n);
                    self.owned_at_start = false;
                }
                return;
            };
            if front.owned_before > 0 {
                let step = n.min(front.owned_before);
                self.owned.advance(step);
                self.owned_at_start = false;
                front.owned_before -= step;
                self.owned_listed -= step;
                n -= step;
                continue;
            }
            let step = n.min(front.bytes.len());
            front.bytes.advance(step);
            self.shared_len -= step;
            n -= step;
            if front.bytes.is_empty() {
                // Dropping our reference is all that releases the payload.
                self.shared.pop_front();
            }
        }
    }

    /// Everything pending as one buffer: the owned buffer itself when there
    /// is no shared segment, else a copy of every chunk.
    pub(super) fn take(&mut self) -> BytesMut {
        if self.shared.is_empty() {
            self.owned_at_start = false;
            return self.owned.split();
        }
        let mut all = BytesMut::with_capacity(self.len());
        for chunk in self.chunks() {
            all.extend_from_slice(chunk);
        }
        self.owned.clear();
        self.shared.clear();
        self.owned_listed = 0;
        self.shared_len = 0;
        all
    }

    /// Give the memory of an empty queue back (the owned buffer to the
    /// thread's kept buffers, see `pool`).
    pub(super) fn shrink(&mut self) {
        if !self.is_empty() {
            return;
        }
        // Nothing to give when the output went out without the buffer
        // (`Connection::encode_short`) or was given back already: the
        // tokio adapter's common case, once per message.
        if !super::pool::never_allocated(&self.owned) {
            let owned = core::mem::take(&mut self.owned);
            if self.owned_at_start {
                super::pool::keep(owned);
            } else {
                super::pool::give(owned);
            }
        }
        if self.shared.capacity() > 0 {
            self.shared = VecDeque::new();
        }
    }

    /// The owned buffer, to append to: a kept one if the queue gave its
    /// own back (see `pool::refill`).
    #[inline]
    pub(super) fn owned_mut(&mut self) -> &mut BytesMut {
        if super::pool::refill(&mut self.owned) {
            self.owned_at_start = true;
        }
        &mut self.owned
    }
}

/// The chunks of an [`OutputQueue`] in wire order.
pub(super) struct Chunks<'a> {
    /// Owned bytes not yet handed out.
    owned: &'a [u8],
    shared: alloc::collections::vec_deque::Iter<'a, Shared>,
    /// A shared segment whose preceding owned bytes were just handed out.
    next_shared: Option<&'a Bytes>,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if let Some(bytes) = self.next_shared.take() {
            return Some(bytes);
        }
        match self.shared.next() {
            Some(segment) => {
                if segment.owned_before == 0 {
                    return Some(&segment.bytes);
                }
                let (before, rest) = self.owned.split_at(segment.owned_before);
                self.owned = rest;
                self.next_shared = Some(&segment.bytes);
                Some(before)
            }
            None if self.owned.is_empty() => None,
            None => Some(core::mem::take(&mut self.owned)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn wire(queue: &OutputQueue) -> Vec<u8> {
        queue.chunks().flatten().copied().collect()
    }

    /// owned "ab", shared "CDE", owned "f", shared "GH", owned "ij".
    fn mixed() -> OutputQueue {
        let mut queue = OutputQueue::new();
        queue.owned.extend_from_slice(b"ab");
        queue.push_shared(Bytes::from_static(b"CDE"));
        queue.owned.extend_from_slice(b"f");
        queue.push_shared(Bytes::from_static(b"GH"));
        queue.owned.extend_from_slice(b"ij");
        queue
    }

    #[test]
    fn chunks_interleave_owned_and_shared_bytes_in_wire_order() {
        let queue = mixed();
        let chunks: Vec<&[u8]> = queue.chunks().collect();
        assert_eq!(
            chunks,
            [&b"ab"[..], b"CDE", b"f", b"GH", b"ij"],
            "five chunks, none empty"
        );
        assert_eq!(queue.len(), 10);
        assert_eq!(queue.first_chunk(), b"ab");
        assert_eq!(queue.owned_tail_len(), 2);
    }

    #[test]
    fn advancing_by_any_step_walks_the_same_bytes() {
        let whole = wire(&mixed());
        for step in 1..=whole.len() {
            let mut queue = mixed();
            let mut written = Vec::new();
            while !queue.is_empty() {
                let chunk = queue.first_chunk();
                assert!(!chunk.is_empty());
                let n = step.min(chunk.len());
                written.extend_from_slice(&chunk[..n]);
                queue.advance(n);
            }
            assert_eq!(written, whole, "step {step}");
            assert!(queue.first_chunk().is_empty());
            assert_eq!(queue.chunks().count(), 0);
        }
    }

    #[test]
    fn advancing_across_chunks_at_once_keeps_the_rest() {
        for n in 0..=10 {
            let mut queue = mixed();
            let whole = wire(&queue);
            queue.advance(n);
            assert_eq!(wire(&queue), &whole[n..], "advance {n}");
            assert_eq!(queue.len(), 10 - n);
        }
        let mut queue = mixed();
        queue.advance(100);
        assert!(queue.is_empty());
    }

    #[test]
    fn a_shared_segment_first_in_the_queue_is_the_first_chunk() {
        let mut queue = OutputQueue::new();
        queue.push_shared(Bytes::from_static(b"XYZ"));
        queue.push_shared(Bytes::new());
        queue.owned.extend_from_slice(b"t");
        assert_eq!(queue.first_chunk(), b"XYZ");
        assert_eq!(wire(&queue), b"XYZt");
        assert_eq!(queue.chunks().count(), 2, "the empty segment is not queued");
    }

    #[test]
    fn truncation_reaches_only_the_owned_tail() {
        let mut queue = mixed();
        queue.truncate_tail(1);
        assert_eq!(wire(&queue), b"abCDEfGHi");
        queue.truncate_tail(5);
        assert_eq!(wire(&queue), b"abCDEfGH", "bytes before a segment stay");
    }

    #[test]
    fn take_copies_segments_and_empties_the_queue() {
        let mut queue = mixed();
        queue.advance(1);
        assert_eq!(&queue.take()[..], b"bCDEfGHij");
        assert!(queue.is_empty());
        queue.owned.extend_from_slice(b"next");
        assert_eq!(&queue.take()[..], b"next");
    }

    #[test]
    fn shrink_frees_only_an_empty_queue() {
        let mut queue = mixed();
        queue.shrink();
        assert_eq!(queue.len(), 10);
        queue.advance(10);
        queue.shrink();
        assert_eq!(queue.owned.capacity(), 0);
        assert_eq!(queue.shared.capacity(), 0);
    }

    /// A queue with 256 bytes of room, on a thread whose pool is empty
    /// (each test runs on a thread of its own; this empties what earlier
    /// code on it kept), and where its buffer starts.
    #[cfg(feature = "std")]
    fn queue_with_room() -> (OutputQueue, *const u8, usize) {
        while super::super::pool::take().capacity() > 0 {}
        let mut queue = OutputQueue::new();
        queue.owned_mut().reserve(256);
        let (start, room) = (queue.owned.as_ptr(), queue.owned.capacity());
        (queue, start, room)
    }

    /// What the thread's pool hands out next: where it starts, its room.
    #[cfg(feature = "std")]
    fn next_kept() -> (*const u8, usize) {
        let kept = super::super::pool::take();
        (kept.as_ptr(), kept.capacity())
    }

    #[cfg(feature = "std")]
    #[test]
    fn a_buffer_written_whole_goes_back_where_it_starts() {
        let (mut queue, start, room) = queue_with_room();
        for _ in 0..3 {
            queue.owned_mut().extend_from_slice(&[5; 100]);
            queue.advance(100);
            // Cleared in place: the next frame is written at the start.
            assert_eq!(queue.owned.as_ptr(), start);
        }
        queue.shrink();
        assert_eq!(next_kept(), (start, room));
    }

    #[cfg(feature = "std")]
    #[test]
    fn a_buffer_written_in_parts_is_rewound_before_it_is_kept() {
        let (mut queue, start, room) = queue_with_room();
        queue.owned_mut().extend_from_slice(&[5; 100]);
        queue.advance(40);
        queue.advance(60);
        // Advanced, not at its start: kept only after the pool's check,
        // which moves it back to the start of its allocation, room whole.
        queue.shrink();
        assert_eq!(next_kept(), (start, room));
    }
}
