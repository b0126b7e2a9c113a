//! Small buffers kept per thread between a connection's bursts.
//!
//! An adapter gives a connection's buffers back whenever its socket runs
//! dry (`Connection::shrink_buffers`), so that an idle connection holds
//! none (issue 15: a few hundred bytes per idle connection). For a
//! connection that is merely between two messages, that meant freeing its
//! input and output buffers after every message and allocating them again
//! for the next, and promoting the new input buffer to a shared one when
//! the message was split off it: three allocations and frees per small
//! echo, about a fifth of the tokio echo server's user time per 32-byte
//! message (1.5 -> 1.2 µs measured). Here the emptied buffers wait in a
//! short per-thread list for
//! the next connection that needs one, with their capacity (and a shared
//! buffer's reference count block) intact, so a busy thread allocates
//! nothing per message and an idle connection still holds nothing.
//!
//! Bounded: at most [`KEPT`] buffers per thread, each of at most
//! [`MAX_CAPACITY`] bytes (larger ones are freed), so the list costs a
//! thread at most 256 KiB however many connections it serves. Without the
//! `std` feature (no thread-locals) buffers are simply freed.

use bytes::BytesMut;

/// Buffers kept per thread.
#[cfg(feature = "std")]
const KEPT: usize = 64;

/// Buffers with more room than this are freed, not kept: the list is for
/// the small buffers of small messages, and a large buffer kept for a
/// connection that may never need it again would be memory held for
/// nothing.
#[cfg(feature = "std")]
const MAX_CAPACITY: usize = 4096;

#[cfg(feature = "std")]
std::thread_local! {
    static KEPT_BUFFERS: core::cell::RefCell<alloc::vec::Vec<BytesMut>> =
        const { core::cell::RefCell::new(alloc::vec::Vec::new()) };
}

/// An empty buffer: one this thread kept, or a new one with no allocation.
#[inline]
pub(super) fn take() -> BytesMut {
    #[cfg(feature = "std")]
    {
        KEPT_BUFFERS
            .try_with(|kept| kept.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default()
    }
    #[cfg(not(feature = "std"))]
    {
        BytesMut::new()
    }
}

/// Give back a buffer whose bytes are all consumed: kept for reuse when no
/// message still shares its allocation, the allocation is small and the
/// list has space; freed otherwise.
#[inline]
pub(super) fn give(buf: BytesMut) {
    #[cfg(feature = "std")]
    if let Some(buf) = reclaim(buf) {
        stash(buf);
    }
    #[cfg(not(feature = "std"))]
    drop(buf);
}

/// Give back an emptied buffer known to begin where its allocation begins
/// and to share it with nothing (see `OutputQueue::owned_at_start`): kept
/// as it is, without `reclaim`'s check, under the same bounds as `give`.
#[inline]
pub(super) fn keep(buf: BytesMut) {
    #[cfg(feature = "std")]
    {
        let mut buf = buf;
        buf.clear();
        if buf.capacity() > 0 {
            stash(buf);
        }
    }
    #[cfg(not(feature = "std"))]
    drop(buf);
}

/// Keep an empty, unshared buffer for the thread's next `take`, if it is
/// small enough and the list has space.
#[cfg(feature = "std")]
#[inline]
fn stash(buf: BytesMut) {
    if buf.capacity() > MAX_CAPACITY {
        return;
    }
    let _ = KEPT_BUFFERS.try_with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() < KEPT {
            kept.push(buf);
        }
    });
}

/// Make sure an empty buffer with no room left is one worth writing into:
/// a used-up buffer that no message shares any more starts over in its
/// own allocation (as `reserve` would reclaim it, whatever its size); one
/// given back by `shrink`, or still shared with a message, is swapped for
/// one the thread kept (or a new empty one). Says whether it replaced
/// `buf`: the new one starts where its allocation starts and shares it
/// with nothing (what `OutputQueue::owned_at_start` tracks).
#[inline]
pub(super) fn refill(buf: &mut BytesMut) -> bool {
    if !(buf.is_empty() && buf.capacity() == 0) {
        return false;
    }
    *buf = if never_allocated(buf) {
        // What `shrink` leaves behind: nothing to reclaim.
        take()
    } else {
        reclaim(core::mem::take(buf)).unwrap_or_else(take)
    };
    true
}

/// A buffer with no allocation behind it, such as `BytesMut::new()` (what
/// `give` leaves in a connection). Reclaiming one would convert it to a
/// static `Bytes` and back only to find nothing (a fifth of the pool's
/// work per small echo, measured with callgrind), so it is told apart by
/// its pointer: an empty `Vec` points at the element type's dangling
/// address. Should that ever differ, this says `false` and `reclaim` does
/// the slow, still correct, thing.
#[inline]
pub(super) fn never_allocated(buf: &BytesMut) -> bool {
    buf.capacity() == 0
        && core::ptr::eq(buf.as_ptr(), core::ptr::NonNull::<u8>::dangling().as_ptr())
}

/// `buf` emptied and started over at the beginning of its allocation (so
/// `capacity` is all of it), if no `Bytes` split off it (a message) is
/// alive any more; `None` if one is, or if it never allocated (it then
/// converts to a static empty buffer, never unique).
fn reclaim(mut buf: BytesMut) -> Option<BytesMut> {
    if never_allocated(&buf) {
        return None;
    }
    buf.clear();
    // Asking for one byte more room than the buffer has, without letting
    // it allocate, succeeds only where no other handle shares the
    // allocation, and then moves the empty buffer back to the start of it:
    // the common case (a buffer whose bytes were consumed), in one step.
    if buf.try_reclaim(buf.capacity() + 1) {
        return Some(buf);
    }
    // It fails too for a buffer already at the start of its allocation
    // (nothing to move back), which may or may not be shared: ask.
    let mut own = buf.freeze().try_into_mut().ok()?;
    own.clear();
    Some(own)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use bytes::Buf;

    #[test]
    fn an_emptied_buffer_comes_back_with_its_room() {
        let mut buf = BytesMut::with_capacity(256);
        buf.extend_from_slice(&[1; 200]);
        buf.advance(200);
        let addr = buf.as_ptr() as usize - 200;
        give(buf);
        let again = take();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr() as usize, addr);
        assert!(again.capacity() >= 256);
    }

    #[test]
    fn a_buffer_shared_with_a_live_message_is_not_kept() {
        while take().capacity() > 0 {}
        let mut buf = BytesMut::with_capacity(256);
        buf.extend_from_slice(&[7; 128]);
        let message = buf.split_to(128).freeze();
        give(buf);
        assert_eq!(take().capacity(), 0);
        assert_eq!(&message[..], &[7; 128]);
        // Once the message is gone, the same kind of buffer is kept, its
        // whole allocation usable again.
        let mut buf = BytesMut::with_capacity(256);
        buf.extend_from_slice(&[7; 128]);
        drop(buf.split_to(128).freeze());
        give(buf);
        assert!(take().capacity() >= 256);
    }

    #[test]
    fn a_buffer_that_never_allocated_is_told_apart_cheaply() {
        // The fast path of `refill` rests on this: were it false, every
        // refill would take the slow path again (correct, but slower).
        assert!(never_allocated(&BytesMut::new()));
        assert!(never_allocated(&core::mem::take(&mut BytesMut::new())));
        let mut used = BytesMut::with_capacity(64);
        used.extend_from_slice(&[1; 64]);
        drop(used.split_to(64));
        assert_eq!(used.capacity(), 0);
        assert!(!never_allocated(&used));
        assert!(reclaim(BytesMut::new()).is_none());
    }

    #[test]
    fn a_unique_buffer_comes_back_whole_whether_consumed_or_not() {
        // Consumed in place (a Vec-backed buffer advanced to its end).
        let mut buf = BytesMut::with_capacity(100);
        buf.extend_from_slice(&[3; 100]);
        buf.advance(100);
        assert!(reclaim(buf).is_some_and(|b| b.is_empty() && b.capacity() >= 100));
        // Split off, the message dropped (a shared buffer, now unique).
        let mut buf = BytesMut::with_capacity(100);
        buf.extend_from_slice(&[3; 100]);
        drop(buf.split_to(100).freeze());
        assert!(reclaim(buf).is_some_and(|b| b.is_empty() && b.capacity() >= 100));
        // Never written: already at the start of its allocation.
        let buf = BytesMut::with_capacity(100);
        assert!(reclaim(buf).is_some_and(|b| b.capacity() >= 100));
        // Written but not consumed: emptied, room intact.
        let mut buf = BytesMut::with_capacity(100);
        buf.extend_from_slice(&[3; 40]);
        assert!(reclaim(buf).is_some_and(|b| b.is_empty() && b.capacity() >= 100));
    }

    #[test]
    fn a_buffer_split_at_its_start_is_not_kept_while_shared() {
        let mut buf = BytesMut::with_capacity(100);
        buf.extend_from_slice(&[5; 100]);
        let tail = buf.split_off(50);
        // `buf` starts at its allocation's start and shares it with `tail`.
        assert!(reclaim(buf).is_none());
        assert_eq!(&tail[..], &[5; 50]);
    }

    #[test]
    fn large_buffers_are_freed_and_the_list_is_bounded() {
        while take().capacity() > 0 {}
        give(BytesMut::with_capacity(MAX_CAPACITY + 1));
        assert_eq!(take().capacity(), 0);
        for _ in 0..KEPT + 10 {
            give(BytesMut::with_capacity(128));
        }
        let kept = KEPT_BUFFERS.with(|kept| kept.borrow().len());
        assert_eq!(kept, KEPT);
        while take().capacity() > 0 {}
    }
}
