//! permessage-deflate (RFC 7692): negotiation and per-message (de)compression.
//!
//! Sans-IO like the rest of the crate: nothing here reads a socket or a clock.
//! The handshake code turns `Sec-WebSocket-Extensions` headers into
//! [`ExtensionOffer`](crate::handshake::ExtensionOffer) values and back; this module only ever sees those values,
//! never header strings. The connection calls the [`Deflate`] codec once per
//! outgoing message and once per incoming frame of a compressed message.
//!
//! Two halves:
//!
//! - **Negotiation** ([`DeflateConfig::client_offers`],
//!   [`DeflateConfig::client_accept`], [`DeflateConfig::server_accept`]): turns
//!   the user's [`DeflateConfig`] and the peer's offer or response into the
//!   agreed [`DeflateParams`] (RFC 7692 §5, §7.1).
//! - **Codec** ([`Deflate`]): raw DEFLATE with a sync flush per message and the
//!   `00 00 ff ff` tail stripped on send and restored on receive (RFC 7692
//!   §7.2), with output bounded by a caller-supplied limit so a decompression
//!   bomb costs at most that limit in memory.
//!
//! # Window bits: what the backend can honour
//!
//! RFC 7692 allows LZ77 windows of 2^8 to 2^15 bytes. The backend (zlib-rs
//! through `flate2`) only does raw deflate with 9 to 15 window bits: real zlib
//! silently turns a raw 8-bit compressor into a 9-bit one, and zlib-rs and
//! `flate2` refuse 8 outright. Two facts decide every case:
//!
//! - an *inflater* with window `w` inflates any stream whose window is `<= w`,
//!   so inflating with 9 bits where the peer promised 8 is always safe (and also
//!   survives peers whose "8" is really old zlib's 9);
//! - a *compressor* with fewer bits than allowed is always fine, but one with
//!   more bits than allowed is a violation: the peer may have allocated only
//!   that much window and will fail the connection on a too-distant match.
//!
//! So where a value of 8 would bind *our compressor*, we never agree to it if
//! we still can decline (server), and if we can no longer decline (client,
//! reading the server's response) we keep the extension but send every message
//! uncompressed, which RFC 7692 §6 allows per message (RSV1 clear).
//!
//! | Role   | Parameter seen                                   | Decision                                                                                         |
//! |--------|--------------------------------------------------|--------------------------------------------------------------------------------------------------|
//! | server | offer `server_max_window_bits=8`                 | decline this offer (try the next one): we cannot compress within 256 bytes                       |
//! | server | offer `server_max_window_bits=N`, N in 9..=15    | accept; respond `server_max_window_bits=min(N, config)`; compress with that                      |
//! | server | offer without `server_max_window_bits`           | accept; respond `server_max_window_bits=config` only if config < 15 (RFC 7692 §7.1.2.1 allows it) |
//! | server | offer `client_max_window_bits=8`                 | accept; respond `client_max_window_bits=8` if config < 15; inflate with 9 bits                   |
//! | server | offer `client_max_window_bits[=N]`, N in 9..=15  | accept; respond `min(N, config)` if that is < 15; inflate with that many bits                    |
//! | server | offer without `client_max_window_bits`           | accept; may not limit the client (§7.1.2.2): inflate with 15 bits whatever the config says        |
//! | client | our offer                                        | `client_max_window_bits` always (value = config if < 15), `server_max_window_bits=config` if < 15 |
//! | client | response `server_max_window_bits=8`              | accept; inflate with 9 bits                                                                      |
//! | client | response `server_max_window_bits=N`, N in 9..=15 | accept if `N <=` what we offered (else fail); inflate with N bits                                |
//! | client | response `client_max_window_bits=8`              | accept, but never compress (every message goes out with RSV1 clear)                              |
//! | client | response `client_max_window_bits=N`, N in 9..=15 | accept if we offered the parameter and `N <=` our value; compress with `min(N, config)` bits     |
//!
//! Values outside 8..=15, leading zeros, or a missing value where one is
//! required make the offer invalid (server: skip it) or the response invalid
//! (client: fail), RFC 7692 §7.1.2.
//!
//! Configured window bits outside 9..=15 are clamped into that range.
//!
//! # Fallback offer
//!
//! When the client's config asks something of the server
//! (`server_max_window_bits < 15` or `server_no_context_takeover`), a server
//! may decline it. [`DeflateConfig::client_offers`] then adds a second, plain
//! offer, so the connection still gets compression rather than none. The
//! client accepts a response that fits either offer; the agreed
//! [`DeflateParams`] say what the server actually promised, and the inflater
//! is sized from those, not from the wish.
//!
//! # Memory
//!
//! A connection's compression state is two zlib-rs streams. A compressor
//! costs about `4 * 2^w` bytes of window and hash chains, 128 KiB of hash
//! heads (fixed in zlib-rs, whatever the memory level) and `7 *
//! 2^(mem_level + 6)` bytes of literal buffers: 368 KiB at 15 bits and
//! memory level 8, 131 KiB at the smallest settings. An inflater costs
//! about 40 KiB whatever its window bits (zlib-rs always keeps a 32 KiB
//! window), so limiting the peer's window saves the peer memory, not us.
//! Kept for a connection's whole life, that is 170 to 410 KiB per
//! connection, which is what 10,000 mostly idle chat users cannot afford.
//!
//! So the streams are created on first use and, with
//! [`DeflateConfig::release_when_idle`] (the default), given back whenever
//! the connection has nothing in flight
//! ([`Connection::shrink_buffers`](crate::Connection::shrink_buffers), which
//! event-loop adapters call when a socket drains). With context takeover the
//! only state that must survive between messages is the LZ77 window: the
//! last `min(2^w, bytes so far)` bytes of plaintext in each direction. The
//! codec keeps exactly that and presets it as the dictionary of the next
//! stream (raw deflate and inflate take a dictionary at any time), which
//! produces a stream the peer, which kept its own state, inflates exactly
//! as before. Without context takeover nothing at all is kept. An idle
//! connection after eight 150-byte chat messages each way thus holds about
//! 2.4 KiB of history instead of 400 KiB of streams.
//!
//! The peer's direction keeps exactly its agreed window (2^w bytes, 9
//! bits for an agreed 8), which is all RFC 7692 §7.1.2.2 lets it refer to.
//! A peer that refers back further breaks that rule: a restored inflater
//! fails it with 1002 (the data does not inflate), while one that was
//! never released, keeping zlib-rs's full 32 KiB window, happens to
//! tolerate it, as it always did.
//!
//! Released streams go to a small per-thread pool (4 of each kind), so the
//! next burst on any connection of that event loop reuses one instead of
//! allocating and zeroing 400 KiB: without context takeover, a restore then
//! costs nothing more than the reset the protocol asks for anyway; with it,
//! one reset plus presetting the saved window as the dictionary, a few
//! nanoseconds per byte: our own direction keeps at most
//! [`DeflateConfig::idle_history`] bytes (4 KiB by default) for that, so a
//! restore costs at most about 16 us, against ~130 us for a full 32 KiB
//! window. `benches/connection.rs` (`deflate/send_compress_release_each`)
//! measures the worst case, every message its own burst.
//!
//! The memory level (`mem_level`, zlib's `memLevel`) is passed to zlib-rs
//! through its safe configuration API; `flate2`, used for inflating, does
//! not expose it.
//!
//! Settings against memory and ratio, measured by `benches/conn-memory.sh`
//! (10,000 browser-like connections, eight ~150-byte chat messages each way,
//! then idle), are tabulated in the README.
//!

mod codec;
mod history;
mod negotiate;
mod pool;

pub use codec::{compress_standalone, Deflate};
pub use negotiate::{DeflateNegotiationError, EXTENSION_NAME};

/// The largest LZ77 window RFC 7692 allows (and the default): 2^15 bytes.
pub const MAX_WINDOW_BITS: u8 = 15;
/// The smallest window the backend can compress or inflate with; see the
/// module docs for how a peer's 8 is handled.
pub const MIN_BACKEND_WINDOW_BITS: u8 = 9;

/// User configuration: the client's offer, the server's acceptance policy,
/// and the codec's tuning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Compression level 0-9 (values above 9 mean 9). Default 6, zlib's own
    /// balance of ratio and speed: WebSocket traffic is typically small text
    /// where level 1 (zlib-rs's fast static-Huffman path) loses noticeably on
    /// ratio; CPU-bound servers can pick 1.
    pub level: u32,
    /// Messages shorter than this many bytes are sent uncompressed. Default
    /// 64: below that a fresh DEFLATE block (3-bit header, 8-9 bit literals,
    /// the sync-flush remainder) rarely saves a byte, so compressing only
    /// burns CPU; RFC 7692 §6 lets every message choose.
    pub threshold: usize,
    /// Client side: the largest window the client compresses with, 9..=15
    /// (default 15). A client offers it; a server uses it to limit the client
    /// when the client's offer allows that.
    pub client_max_window_bits: u8,
    /// Server side: the largest window the server compresses with, 9..=15
    /// (default 15). A client asks the server for it; a server limits itself.
    pub server_max_window_bits: u8,
    /// The client resets its compressor after every message (default false).
    /// A client announces it; a server demands it from the client.
    pub client_no_context_takeover: bool,
    /// The server resets its compressor after every message (default false).
    /// A client asks the server for it; a server announces it.
    pub server_no_context_takeover: bool,
    /// zlib's `memLevel` for our compressor, 1..=9 (default 8, zlib's own):
    /// the size of its literal buffers, `7 * 2^(mem_level + 6)` bytes (112
    /// KiB at 8, 14 KiB at 5, under 1 KiB at 1). Lower levels cost a little
    /// ratio on large messages (shorter blocks) and nothing on small ones;
    /// with `release_when_idle` only connections with traffic in flight
    /// hold a compressor at all, so the default favours speed and ratio.
    pub mem_level: u8,
    /// Give the zlib streams back whenever the connection is idle (nothing
    /// in flight: see [`Connection::shrink_buffers`](crate::Connection::shrink_buffers)),
    /// keeping only the LZ77 window that context takeover must remember
    /// (default true). Turns ~400 KiB per idle connection into the bytes of
    /// that window; costs a stream restore (a reset plus presetting the
    /// window) per burst of traffic. See the [module docs](self#memory).
    pub release_when_idle: bool,
    /// With `release_when_idle` and context takeover: how many bytes of
    /// what we sent are kept to prime our restored compressor (default
    /// 4096, at most our window). Presetting a dictionary costs a few
    /// nanoseconds per byte (about 16 us for 4 KiB, 130 us for a full 32
    /// KiB window, per restore), and every restore pays it; a smaller
    /// dictionary only means the first message after a release cannot
    /// refer back further than this (the peer keeps its whole window, so
    /// anything shorter is valid). The peer's direction always keeps the
    /// peer's whole agreed window: the peer decides what it refers to.
    pub idle_history: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            level: 6,
            threshold: 64,
            client_max_window_bits: MAX_WINDOW_BITS,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            mem_level: 8,
            release_when_idle: true,
            idle_history: 4096,
        }
    }
}

impl DeflateConfig {
    /// `client_max_window_bits`, clamped to what the backend can do.
    pub(crate) fn client_bits(&self) -> u8 {
        clamp_bits(self.client_max_window_bits)
    }

    /// `server_max_window_bits`, clamped to what the backend can do.
    pub(crate) fn server_bits(&self) -> u8 {
        clamp_bits(self.server_max_window_bits)
    }
}

fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_BACKEND_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// What was agreed for one connection (RFC 7692 §7.1): the limits each side
/// must keep when *compressing*. Window bits are 8..=15 as negotiated; the
/// codec maps them onto the backend as the module docs describe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The client may compress with at most 2^this bytes of window.
    pub client_max_window_bits: u8,
    /// The server may compress with at most 2^this bytes of window.
    pub server_max_window_bits: u8,
    /// The client resets its compression context after every message.
    pub client_no_context_takeover: bool,
    /// The server resets its compression context after every message.
    pub server_no_context_takeover: bool,
}

impl Default for DeflateParams {
    /// What a bare `permessage-deflate` agreement means: 15 bits, takeover on.
    fn default() -> Self {
        DeflateParams {
            client_max_window_bits: MAX_WINDOW_BITS,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_no_context_takeover: false,
            server_no_context_takeover: false,
        }
    }
}

/// Agreed parameters in one call, for the codec and negotiation tests.
#[cfg(test)]
pub(crate) fn test_params(cbits: u8, sbits: u8, cnct: bool, snct: bool) -> DeflateParams {
    DeflateParams {
        client_max_window_bits: cbits,
        server_max_window_bits: sbits,
        client_no_context_takeover: cnct,
        server_no_context_takeover: snct,
    }
}
