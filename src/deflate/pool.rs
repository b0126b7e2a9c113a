//! zlib streams, made and recycled per event-loop thread.
//!
//! A compressor costs zlib-rs about `4 * 2^w` bytes of window and chains,
//! 128 KiB of hash heads (fixed, whatever the memory level), and
//! `7 * 2^(mem_level + 6)` bytes of literal buffers; an inflater about
//! 40 KiB (a 32 KiB window whatever its window bits, plus its tables).
//! Creating one zeroes most of that, which costs about as much as
//! compressing a small message. Connections that release their streams
//! when idle (see [`Deflate::release`](super::Deflate::release)) would pay
//! that on every burst of traffic; instead, released streams go to a small
//! per-thread pool and the next connection on that thread to need one takes
//! it back. An event loop serves its connections one at a time, so a
//! handful of pooled streams per thread serve all of them; the pool is
//! bounded, so it never holds more than [`POOL_SIZE`] of each.
//!
//! The pool is a cache, not state: a stream taken from it is reset (and
//! then primed with the connection's own history by the caller), so which
//! connection used it before is unobservable.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::RefCell;
use flate2::Decompress;
use zlib_rs::{Deflate as Compressor, DeflateConfig, Method, Strategy};

/// Pooled streams of each kind per thread.
const POOL_SIZE: usize = 4;

/// What makes two compressors interchangeable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CompressorKind {
    /// zlib level 0..=9.
    pub(super) level: u8,
    /// Raw-deflate window bits, 9..=15.
    pub(super) window_bits: u8,
    /// zlib memory level, 1..=9.
    pub(super) mem_level: u8,
}

impl CompressorKind {
    fn create(self) -> Box<Compressor> {
        Box::new(Compressor::new_with_config(DeflateConfig {
            level: i32::from(self.level),
            method: Method::Deflated,
            // Negative: raw deflate, no zlib header (RFC 7692 §7.2.1).
            window_bits: -i32::from(self.window_bits),
            mem_level: i32::from(self.mem_level),
            strategy: Strategy::Default,
        }))
    }
}

/// A pooled stream and whether it is in its freshly reset state.
struct Entry<T> {
    stream: Box<T>,
    clean: bool,
}

#[derive(Default)]
struct Pool {
    compressors: Vec<(CompressorKind, Entry<Compressor>)>,
    inflaters: Vec<Entry<Decompress>>,
}

std::thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// A compressor of `kind` in its initial state: pooled or new.
pub(super) fn take_compressor(kind: CompressorKind) -> Box<Compressor> {
    let pooled = POOL
        .try_with(|pool| {
            let mut pool = pool.try_borrow_mut().ok()?;
            let at = pool.compressors.iter().position(|(k, _)| *k == kind)?;
            Some(pool.compressors.swap_remove(at).1)
        })
        .ok()
        .flatten();
    match pooled {
        Some(Entry { mut stream, clean }) => {
            if !clean {
                stream.reset();
            }
            stream
        }
        None => kind.create(),
    }
}

/// Give a compressor back; `clean` when it was reset after its last use.
pub(super) fn recycle_compressor(kind: CompressorKind, stream: Box<Compressor>, clean: bool) {
    let _ = POOL.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            if pool.compressors.len() < POOL_SIZE {
                pool.compressors.push((kind, Entry { stream, clean }));
            }
        }
    });
}

/// A raw inflater in its initial state: pooled or new. zlib-rs keeps a
/// 32 KiB window whatever the window bits, and a reset stream is a 15-bit
/// one, so every inflater is interchangeable: it inflates any window the
/// peer may use (RFC 7692 §7.1.2).
pub(super) fn take_inflater() -> Box<Decompress> {
    let pooled = POOL
        .try_with(|pool| pool.try_borrow_mut().ok()?.inflaters.pop())
        .ok()
        .flatten();
    match pooled {
        Some(Entry { mut stream, clean }) => {
            if !clean {
                stream.reset(false);
            }
            stream
        }
        None => Box::new(Decompress::new_with_window_bits(false, 15)),
    }
}

/// Give an inflater back; `clean` when it was reset after its last use.
pub(super) fn recycle_inflater(stream: Box<Decompress>, clean: bool) {
    let _ = POOL.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            if pool.inflaters.len() < POOL_SIZE {
                pool.inflaters.push(Entry { stream, clean });
            }
        }
    });
}

#[cfg(test)]
pub(super) fn pooled() -> (usize, usize) {
    POOL.with(|pool| {
        let pool = pool.borrow();
        (pool.compressors.len(), pool.inflaters.len())
    })
}
