//! The per-connection codec: raw DEFLATE per message (RFC 7692 §7.2), with
//! zlib streams that can be released while the connection is idle.

use super::history::History;
use super::pool::{self, CompressorKind};
use super::{DeflateConfig, DeflateParams, MAX_WINDOW_BITS, MIN_BACKEND_WINDOW_BITS};
use crate::error::ProtocolError;
use alloc::boxed::Box;
use alloc::vec::Vec;
use flate2::{Decompress, FlushDecompress, Status};
use zlib_rs::{Deflate as Compressor, DeflateFlush};

/// The empty stored block a sync flush ends with; stripped on send and
/// appended on receive (RFC 7692 §7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The first growth step of the output buffer; later steps double it.
const MIN_GROWTH: usize = 4096;

/// Compression state for one connection: a compressor for what we send and an
/// inflater for what the peer sends, each sized and reset per the agreement.
///
/// Both zlib streams are created on first use and, when
/// [`DeflateConfig::release_when_idle`] is set, handed back by
/// [`release`](Self::release) while the connection is idle. With context
/// takeover the codec then keeps only the LZ77 window of each direction (see
/// the [module docs](super#memory)) and primes the next stream with it.
pub struct Deflate {
    /// `None` until the first compressed message, and while released.
    compressor: Option<Box<Compressor>>,
    /// `None` until the first compressed message arrives, and while released.
    inflater: Option<Box<Decompress>>,
    kind: CompressorKind,
    /// The window we agreed to compress within (RFC 7692 §7.1.2), 8..=15:
    /// what a stream compressed elsewhere must not exceed.
    agreed_bits: u8,
    /// What we sent compressed, when it must survive a release.
    sent: Option<History>,
    /// What the peer's compressed messages inflated to, likewise.
    received: Option<History>,
    /// Reset the compressor after each message (our no_context_takeover).
    reset_compressor: bool,
    /// Reset the inflater after each message (the peer's no_context_takeover).
    reset_inflater: bool,
    /// False when the agreement limits our window below what the backend can
    /// do (8 bits): then every message is sent uncompressed.
    can_compress: bool,
    release_when_idle: bool,
    threshold: usize,
    /// The peer's DEFLATE stream ended (BFINAL) at the very end of the input
    /// seen so far in this message.
    stream_ended: bool,
    /// A compressed message is partly inflated: the inflater holds state
    /// (a half-read block) that no history can restore.
    mid_message: bool,
}

impl Deflate {
    /// A codec for one connection. `role_is_client` picks which half of
    /// `params` binds our compressor (the client's or the server's) and which
    /// sizes our inflater (the peer's). `config` adds our own, possibly
    /// stricter, wishes: the level, the threshold, and a window and takeover
    /// policy that may be tighter than what the peer allowed. Allocates no
    /// zlib stream yet: each is created when first needed.
    pub fn new(params: &DeflateParams, config: &DeflateConfig, role_is_client: bool) -> Deflate {
        let (own_bits, own_reset, own_config_bits, own_config_reset, peer_bits, peer_reset) =
            if role_is_client {
                (
                    params.client_max_window_bits,
                    params.client_no_context_takeover,
                    config.client_bits(),
                    config.client_no_context_takeover,
                    params.server_max_window_bits,
                    params.server_no_context_takeover,
                )
            } else {
                (
                    params.server_max_window_bits,
                    params.server_no_context_takeover,
                    config.server_bits(),
                    config.server_no_context_takeover,
                    params.client_max_window_bits,
                    params.client_no_context_takeover,
                )
            };
        // RFC 7692 §7.1.2: we MUST NOT compress with a larger window than
        // agreed. The backend's smallest is 9 bits, so an agreed 8 means we
        // never compress (RFC 7692 §6: any message may go uncompressed).
        let can_compress = own_bits >= MIN_BACKEND_WINDOW_BITS;
        let (level, bits) = if can_compress {
            (
                config.level.min(9) as u8,
                own_bits.min(own_config_bits).min(MAX_WINDOW_BITS),
            )
        } else {
            // Not used for sending (should_compress says no); level 0 writes
            // stored blocks only, which reference no window at all, so even a
            // caller that compresses anyway stays within the agreement.
            (0, MIN_BACKEND_WINDOW_BITS)
        };
        let reset_compressor = own_reset || own_config_reset;
        // The peer may refer back 2^peer_bits bytes; 9 bits covers a peer
        // limited to 8, whose zlib may really use 9 (module docs).
        let inflate_bits = peer_bits.clamp(MIN_BACKEND_WINDOW_BITS, MAX_WINDOW_BITS);
        let release = config.release_when_idle;
        Deflate {
            compressor: None,
            inflater: None,
            kind: CompressorKind {
                level,
                window_bits: bits,
                mem_level: config.mem_level.clamp(1, 9),
            },
            agreed_bits: own_bits,
            sent: (release && !reset_compressor)
                .then(|| History::new(config.idle_history.min(1 << bits))),
            received: (release && !peer_reset).then(|| History::new(1 << inflate_bits)),
            reset_compressor,
            reset_inflater: peer_reset,
            can_compress,
            release_when_idle: release,
            threshold: config.threshold,
            stream_ended: false,
            mid_message: false,
        }
    }

    /// Whether a message of `len` bytes should be compressed: at or above the
    /// configured threshold, and only if the agreed window lets us compress.
    pub fn should_compress(&self, len: usize) -> bool {
        self.can_compress && len >= self.threshold
    }

    /// Compress one whole outgoing message payload, appending to `out`, with
    /// the trailing `00 00 ff ff` removed (RFC 7692 §7.2.1). Resets the
    /// context afterwards when our side has no context takeover.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        let kind = self.kind;
        let sent = self.sent.as_ref();
        let compressor = self.compressor.get_or_insert_with(|| {
            let mut fresh = pool::take_compressor(kind);
            // RFC 7692 §7.1.1: with context takeover the next message may
            // refer to what we sent before; the restored stream sees it
            // as its dictionary (a raw stream takes one at any time).
            if let Some(window) = sent.map(History::window).filter(|w| !w.is_empty()) {
                let primed = fresh.set_dictionary(window);
                debug_assert!(primed.is_ok(), "raw deflate takes a dictionary");
            }
            fresh
        });
        deflate_sync(compressor, payload, out);
        if let Some(sent) = &mut self.sent {
            sent.push(payload);
        }
        // RFC 7692 §7.1.1: without context takeover each message starts
        // from an empty window.
        if self.reset_compressor {
            compressor.reset();
        }
    }

    /// Whether a message compressed elsewhere as a fresh stream with a
    /// `window_bits` window (by [`compress_standalone`]) may go to our peer
    /// as it is: when that window is within the one we agreed to compress
    /// with (RFC 7692 §7.1.2.1 / §7.1.2.2), a fresh stream refers to
    /// nothing before it, so the peer inflates it whatever its history.
    pub fn accepts_standalone(&self, window_bits: u8) -> bool {
        self.can_compress && window_bits <= self.agreed_bits
    }

    /// A message compressed elsewhere (by [`compress_standalone`], for a
    /// broadcast) went to our peer in place of one from our compressor:
    /// `plaintext` is now at the end of the peer's LZ77 window, but not of
    /// our compressor's, whose next back-reference would then point at the
    /// wrong bytes. With a saved history the plaintext is appended to it and
    /// the compressor released, so the next message restores it primed with
    /// the window the peer really has; without one the compressor is reset
    /// (a fresh stream refers to nothing before it, which is always valid).
    /// Without context takeover there is nothing to do.
    pub fn sent_standalone(&mut self, plaintext: &[u8]) {
        if self.reset_compressor {
            return;
        }
        match &mut self.sent {
            Some(sent) => {
                sent.push(plaintext);
                if let Some(compressor) = self.compressor.take() {
                    pool::recycle_compressor(self.kind, compressor, false);
                }
            }
            None => {
                if let Some(compressor) = &mut self.compressor {
                    compressor.reset();
                }
            }
        }
    }

    /// Decompress one frame payload of an incoming compressed message,
    /// appending to `out`. Call it once per frame, in order; `fin` marks the
    /// message's last frame, after which the tail `00 00 ff ff` is fed (RFC
    /// 7692 §7.2.2) and the context reset if the peer has no context takeover.
    ///
    /// Bounded: if `out` would grow past `limit` bytes in total (its earlier
    /// contents count), decompression stops with
    /// [`ProtocolError::MessageTooLarge`] (close code 1009) and `out`'s
    /// capacity never grows beyond `limit + 1`, so a decompression bomb costs
    /// at most the limit. Corrupt data gives
    /// [`ProtocolError::BadCompressedData`]. After an error the content of
    /// `out` is unspecified and the connection must fail.
    ///
    /// Incoming data is checked as far as the inflater can: a message that
    /// stops in the middle of a DEFLATE block is not detected at `fin`, only
    /// by the corrupt stream it leaves for the next message (zlib reports no
    /// block boundary through `flate2`).
    pub fn decompress(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), ProtocolError> {
        self.mid_message = !fin;
        let mut result = self.inflate(input, out, limit);
        // A message whose last block had BFINAL set and nothing after it
        // needs no tail: the stream is over, and four more bytes would open a
        // stored block that never closes. (RFC 7692 §7.2.3.4 senders add a
        // 0x00 after the final block; that byte plus our tail is an empty
        // stored block, so the tail is fed then.)
        if fin && result.is_ok() && !self.stream_ended {
            result = self.inflate(&TAIL, out, limit);
        }
        if fin || result.is_err() {
            self.stream_ended = false;
            self.mid_message = false;
        }
        // RFC 7692 §7.2.2: the peer without context takeover starts each
        // message from an empty window, and so must we. After an error the
        // state is garbage; resetting keeps a misused codec predictable.
        if result.is_err() || (fin && self.reset_inflater) {
            if let Some(inflater) = &mut self.inflater {
                inflater.reset(false);
            }
            if let Some(received) = &mut self.received {
                received.clear();
            }
        }
        result
    }

    /// Hand the zlib streams back (to a per-thread pool; see the module
    /// docs) if [`DeflateConfig::release_when_idle`] is set, keeping only
    /// the LZ77 window each direction must remember; the next message
    /// restores a stream primed with it. The compressor always goes (every
    /// message it compressed is complete); the inflater only when
    /// `input_idle` (the caller holds no unread input that would need it at
    /// once) and no compressed message is half inflated: a half-read block
    /// cannot be restored. Costs nothing on a codec that holds no stream.
    pub fn release(&mut self, input_idle: bool) {
        if !self.release_when_idle {
            return;
        }
        if let Some(compressor) = self.compressor.take() {
            pool::recycle_compressor(self.kind, compressor, self.reset_compressor);
        }
        if input_idle && !self.mid_message {
            if let Some(inflater) = self.inflater.take() {
                pool::recycle_inflater(inflater, self.reset_inflater);
            }
        }
        // Cheap when nothing changed (no copy, no reallocation).
        for history in [&mut self.sent, &mut self.received].into_iter().flatten() {
            history.compact();
        }
    }

    /// Whether the compressor or the inflater is held (not released).
    pub fn holds_streams(&self) -> bool {
        self.compressor.is_some() || self.inflater.is_some()
    }

    /// Feed `input` to the inflater, writing into `out` without growing it
    /// past `limit + 1` bytes of capacity.
    fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), ProtocolError> {
        // No output is ever left pending between calls (the loop below only
        // returns with room to spare), so no input means nothing to do.
        if input.is_empty() {
            return Ok(());
        }
        let received = &mut self.received;
        let inflater = self.inflater.get_or_insert_with(|| {
            let mut fresh = pool::take_inflater();
            // RFC 7692 §7.2.2: with the peer's context takeover, its next
            // message may refer to what it sent before.
            if let Some(window) = received.as_ref().map(History::window) {
                if !window.is_empty() {
                    let primed = fresh.set_dictionary(window);
                    debug_assert!(primed.is_ok(), "raw inflate takes a dictionary");
                }
            }
            fresh
        });
        let max_capacity = limit.saturating_add(1);
        loop {
            if out.len() > limit {
                return Err(ProtocolError::MessageTooLarge);
            }
            if out.len() == out.capacity() {
                // Double (amortised O(1) per byte) but never past limit + 1:
                // one byte over the limit is how we learn it was exceeded.
                let target = out
                    .capacity()
                    .saturating_mul(2)
                    .max(out.len() + MIN_GROWTH)
                    .min(max_capacity);
                out.reserve_exact(target - out.len());
            }
            let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
            let start = out.len();
            let status = inflater
                .decompress_vec(input, out, FlushDecompress::Sync)
                // RFC 7692 §6.2 / RFC 6455 §7.1.7: data that does not inflate
                // fails the connection.
                .map_err(|_| ProtocolError::BadCompressedData)?;
            let consumed = (inflater.total_in() - before_in) as usize;
            let produced = inflater.total_out() - before_out;
            input = &input[consumed..];
            if out.len() > limit {
                return Err(ProtocolError::MessageTooLarge);
            }
            if let Some(received) = received {
                received.push(&out[start..]);
            }
            let room_left = out.len() < out.capacity();
            match status {
                // RFC 7692 §7.2.3.4: a sender may end a message with a BFINAL
                // block. That ends the DEFLATE stream, so whatever follows in
                // this message (the RFC's trailing 0x00 plus our tail) starts a
                // new one, with an empty window.
                Status::StreamEnd => {
                    inflater.reset(false);
                    if let Some(received) = received {
                        received.clear();
                    }
                    self.stream_ended = input.is_empty();
                    if input.is_empty() {
                        return Ok(());
                    }
                }
                Status::Ok | Status::BufError => {
                    if consumed > 0 {
                        self.stream_ended = false;
                    }
                    if input.is_empty() && room_left {
                        return Ok(());
                    }
                    // Input and room left yet nothing moved: a sound inflater
                    // never does this; fail rather than spin.
                    if consumed == 0 && produced == 0 && room_left {
                        return Err(ProtocolError::BadCompressedData);
                    }
                }
            }
        }
    }
}

impl core::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Deflate")
            .field("compressor", &self.kind)
            .field("holds_compressor", &self.compressor.is_some())
            .field("holds_inflater", &self.inflater.is_some())
            .field("reset_compressor", &self.reset_compressor)
            .field("reset_inflater", &self.reset_inflater)
            .field("can_compress", &self.can_compress)
            .finish_non_exhaustive()
    }
}

impl Drop for Deflate {
    /// A closing connection's streams serve the next one on this thread.
    fn drop(&mut self) {
        if let Some(compressor) = self.compressor.take() {
            pool::recycle_compressor(self.kind, compressor, false);
        }
        if let Some(inflater) = self.inflater.take() {
            pool::recycle_inflater(inflater, false);
        }
    }
}

/// Compress `payload` with a sync flush, appending to `out`, and strip the
/// flush's `00 00 ff ff` (RFC 7692 §7.2.1).
fn deflate_sync(compressor: &mut Compressor, payload: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let mut input = payload;
    loop {
        let filled = out.len();
        if filled == out.capacity() {
            // Deflate rarely expands; a stored block adds 5 bytes per
            // 64 KiB. Grow by the remaining input (bounded) and let Vec
            // amortise; the final flush needs only a few bytes.
            out.reserve(input.len().min(64 * 1024) + 64);
        }
        // zlib-rs writes into initialized bytes only (the crate has no
        // `unsafe` to take uninitialized ones): zero the room first, a
        // small cost next to compressing it.
        out.resize(out.capacity(), 0);
        let (before_in, before_out) = (compressor.total_in(), compressor.total_out());
        // RFC 7692 §7.2.1: a sync flush ends the message on a byte
        // boundary with an empty stored block, whose 4 bytes we drop.
        let status = compressor.compress(input, &mut out[filled..], DeflateFlush::SyncFlush);
        let consumed = (compressor.total_in() - before_in) as usize;
        let produced = (compressor.total_out() - before_out) as usize;
        out.truncate(filled + produced);
        input = &input[consumed..];
        match status {
            // Done when all input is in and the flush did not fill the
            // buffer (a full buffer may hide more pending output).
            Ok(_) if input.is_empty() && out.len() < out.capacity() => break,
            Ok(_) => {}
            // Only a misused stream errors; ours never is. Leave the
            // output as produced rather than panic; the debug build tells.
            Err(_) => {
                debug_assert!(false, "deflate stream error");
                break;
            }
        }
    }
    if out.len() == start {
        // zlib skips a flush right after a flush: an empty message with
        // context takeover produces nothing. Send the RFC 7692 §7.2.3.6
        // empty message instead (a stored-block header that the receiver's
        // appended tail completes), so no compressed frame is empty.
        out.push(0x00);
    } else {
        debug_assert!(out[start..].ends_with(&TAIL));
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
    }
}

/// Compress one message on its own, as the first message of a fresh
/// stream with a `window_bits` window (9..=15; clamped): the frame payload
/// for any connection whose peer can inflate it, whatever that peer's
/// history, i.e. the same bytes for every connection of a broadcast. The
/// stream comes from and returns to the per-thread pool.
pub fn compress_standalone(
    payload: &[u8],
    config: &DeflateConfig,
    window_bits: u8,
    out: &mut Vec<u8>,
) {
    let kind = CompressorKind {
        level: config.level.min(9) as u8,
        window_bits: window_bits.clamp(MIN_BACKEND_WINDOW_BITS, MAX_WINDOW_BITS),
        mem_level: config.mem_level.clamp(1, 9),
    };
    let mut compressor = pool::take_compressor(kind);
    deflate_sync(&mut compressor, payload, out);
    compressor.reset();
    pool::recycle_compressor(kind, compressor, true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::test_params as params;
    use alloc::vec;

    const HELLO: &[u8] = b"Hello";

    fn pair(params: &DeflateParams) -> (Deflate, Deflate) {
        let config = DeflateConfig {
            threshold: 0,
            ..DeflateConfig::default()
        };
        (
            Deflate::new(params, &config, true),
            Deflate::new(params, &config, false),
        )
    }

    fn inflate_message(codec: &mut Deflate, payload: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let mut out = Vec::new();
        codec.decompress(payload, true, &mut out, 1 << 20)?;
        Ok(out)
    }

    /// Deterministic test data with repeats at short and long distances.
    fn message(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let words: [&[u8]; 6] = [
            b"alpha ",
            b"{\"id\":",
            b"beta-gamma ",
            b"0123456789",
            b"\"name\":\"x\"",
            b"zz",
        ];
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let r = next();
            match r % 4 {
                0 => out.push((r >> 8) as u8),
                1 | 2 => out.extend_from_slice(words[(r >> 8) as usize % words.len()]),
                _ => {
                    // Copy from up to 4 KiB back: exercises windows up to 2^12
                    // within a message and larger ones across messages.
                    let back = ((r >> 8) as usize % 4096).min(out.len());
                    let n = ((r >> 24) as usize % 40).min(back);
                    let from = out.len() - back;
                    out.extend_from_within(from..from + n);
                }
            }
        }
        out.truncate(len);
        out
    }

    // RFC 7692 §7.2.3.1: "Hello" in one compressed DEFLATE block.
    #[test]
    fn rfc_7_2_3_1_hello() {
        let (_, mut server) = pair(&DeflateParams::default());
        assert_eq!(
            inflate_message(&mut server, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
            HELLO
        );

        let (mut client, _) = pair(&DeflateParams::default());
        let mut wire = Vec::new();
        client.compress(HELLO, &mut wire);
        assert!(!wire.ends_with(&TAIL));
        let (_, mut server) = pair(&DeflateParams::default());
        assert_eq!(inflate_message(&mut server, &wire).unwrap(), HELLO);
    }

    // RFC 7692 §7.2.3.1: the same message split over two frames.
    #[test]
    fn rfc_7_2_3_1_fragmented() {
        let (_, mut server) = pair(&DeflateParams::default());
        let mut out = Vec::new();
        server
            .decompress(&[0xf2, 0x48, 0xcd], false, &mut out, 100)
            .unwrap();
        server
            .decompress(&[0xc9, 0xc9, 0x07, 0x00], true, &mut out, 100)
            .unwrap();
        assert_eq!(out, HELLO);
    }

    // RFC 7692 §7.2.3.2: a second "Hello" referring back to the first.
    #[test]
    fn rfc_7_2_3_2_shared_window() {
        let (_, mut server) = pair(&DeflateParams::default());
        assert_eq!(
            inflate_message(&mut server, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
            HELLO
        );
        assert_eq!(
            inflate_message(&mut server, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
            HELLO
        );

        // Our compressor with takeover also shares the window: shorter second time.
        let (mut client, mut server) = pair(&DeflateParams::default());
        let (mut first, mut second) = (Vec::new(), Vec::new());
        client.compress(HELLO, &mut first);
        client.compress(HELLO, &mut second);
        assert!(second.len() < first.len(), "{first:02x?} {second:02x?}");
        assert_eq!(inflate_message(&mut server, &first).unwrap(), HELLO);
        assert_eq!(inflate_message(&mut server, &second).unwrap(), HELLO);

        // With the client's no_context_takeover, the back-reference must fail
        // to resolve: the server resets its inflater between messages.
        let (_, mut server) = pair(&params(15, 15, true, false));
        assert_eq!(
            inflate_message(&mut server, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
            HELLO
        );
        assert_eq!(
            inflate_message(&mut server, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            Err(ProtocolError::BadCompressedData)
        );
    }

    // RFC 7692 §7.2.3.3: a stored (no compression) block.
    #[test]
    fn rfc_7_2_3_3_stored_block() {
        let (_, mut server) = pair(&DeflateParams::default());
        let payload = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(inflate_message(&mut server, &payload).unwrap(), HELLO);
        // And the next message still works on the same inflater.
        assert_eq!(inflate_message(&mut server, &payload).unwrap(), HELLO);
    }

    // RFC 7692 §7.2.3.4: a block with BFINAL set, then a 0x00 byte.
    #[test]
    fn rfc_7_2_3_4_bfinal() {
        let (_, mut server) = pair(&DeflateParams::default());
        let payload = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(inflate_message(&mut server, &payload).unwrap(), HELLO);
        // The stream ended; the next message starts a fresh one.
        assert_eq!(inflate_message(&mut server, &payload).unwrap(), HELLO);
        // Without the RFC's trailing 0x00 (a sender that finishes the stream
        // per message), split anywhere, and followed by an ordinary message.
        let bare = &payload[..7];
        assert_eq!(inflate_message(&mut server, bare).unwrap(), HELLO);
        for split in 0..=bare.len() {
            let mut out = Vec::new();
            server
                .decompress(&bare[..split], false, &mut out, 100)
                .unwrap();
            server
                .decompress(&bare[split..], true, &mut out, 100)
                .unwrap();
            assert_eq!(out, HELLO, "split at {split}");
        }
        assert_eq!(
            inflate_message(&mut server, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
            HELLO
        );
    }

    // RFC 7692 §7.2.3.5: two DEFLATE blocks in one message.
    #[test]
    fn rfc_7_2_3_5_two_blocks() {
        let (_, mut server) = pair(&DeflateParams::default());
        let payload = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        assert_eq!(inflate_message(&mut server, &payload).unwrap(), HELLO);
    }

    // RFC 7692 §7.2.3.6: an empty message, both as our compressor makes it
    // and as the RFC's fixed-block example.
    #[test]
    fn rfc_7_2_3_6_empty() {
        let (mut client, mut server) = pair(&DeflateParams::default());
        let mut wire = Vec::new();
        client.compress(b"", &mut wire);
        assert_eq!(inflate_message(&mut server, &wire).unwrap(), b"");
        assert_eq!(inflate_message(&mut server, &[0x02, 0x00]).unwrap(), b"");
        assert_eq!(inflate_message(&mut server, &[0x00]).unwrap(), b"");
    }

    #[test]
    fn corrupt_input() {
        for payload in [
            &[0xff, 0xff, 0xff, 0xff][..],       // reserved block type 11
            &[0x00, 0x05, 0x00, 0x00, 0x00][..], // stored block, LEN != !NLEN
            &[0xf2, 0x00, 0x11, 0x00, 0x00][..], // distance beyond an empty window
        ] {
            let (_, mut server) = pair(&DeflateParams::default());
            assert_eq!(
                inflate_message(&mut server, payload),
                Err(ProtocolError::BadCompressedData),
                "{payload:02x?}"
            );
        }
        // A bad block header in the second frame of a message, after a good block.
        let (_, mut server) = pair(&DeflateParams::default());
        let mut out = Vec::new();
        let stored_hello = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        server
            .decompress(&stored_hello, false, &mut out, 100)
            .unwrap();
        assert_eq!(
            server.decompress(&[0xff, 0xff, 0xff, 0xff], true, &mut out, 100),
            Err(ProtocolError::BadCompressedData)
        );
        assert_eq!(
            ProtocolError::BadCompressedData.close_code(),
            crate::close::CloseCode::PROTOCOL_ERROR
        );
    }

    /// Our compressor keeps to the agreed window. (zlib-rs's inflater always
    /// keeps 32 KiB of history whatever its window bits, so it cannot catch a
    /// violation; the compressed size can.) Random bytes repeated 2000 bytes
    /// later: a 2^15 window finds the repeat, a 2^9 one must not.
    #[test]
    fn compressor_keeps_to_the_window() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut data: Vec<u8> = (0..2000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        data.extend_from_within(0..2000);
        for (bits, max_len) in [(15, 2100), (9, usize::MAX)] {
            let (mut client, mut server) = pair(&params(bits, 15, false, false));
            let mut wire = Vec::new();
            client.compress(&data, &mut wire);
            assert!(wire.len() <= max_len, "{bits} bits: {} bytes", wire.len());
            if bits == 9 {
                assert!(
                    wire.len() > 3900,
                    "9 bits found a match 2000 back: {} bytes",
                    wire.len()
                );
            }
            assert!(inflate_message(&mut server, &wire) == Ok(data.clone()));
        }
    }

    /// Compress `data` on `from` and inflate it on `to`, in frames split at
    /// pseudo-random points (including empty frames).
    fn send_split(from: &mut Deflate, to: &mut Deflate, data: &[u8], seed: &mut usize) -> Vec<u8> {
        let mut wire = Vec::new();
        from.compress(data, &mut wire);
        let mut out = Vec::new();
        let mut rest = &wire[..];
        loop {
            *seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            // Mostly small frames, sometimes everything left.
            let max = if *seed % 16 == 0 {
                rest.len()
            } else {
                rest.len().min(24)
            };
            let (frame, tail) = rest.split_at((*seed >> 8) % (max + 1));
            to.decompress(frame, tail.is_empty(), &mut out, usize::MAX)
                .unwrap();
            rest = tail;
            if rest.is_empty() {
                return out;
            }
        }
    }

    /// Every window-bits combination and takeover setting, both directions,
    /// many messages, each fed in frames split at arbitrary points.
    #[test]
    fn round_trips_all_parameters() {
        let mut split_seed = 7usize;
        for cbits in 9..=15 {
            for sbits in 9..=15 {
                for flags in 0..4u8 {
                    let agreed = params(cbits, sbits, flags & 1 != 0, flags & 2 != 0);
                    // Levels 0-9 spread over the combinations.
                    let level = u32::from(cbits + sbits + flags) % 10;
                    let config = DeflateConfig {
                        level,
                        threshold: 0,
                        ..DeflateConfig::default()
                    };
                    let mut client = Deflate::new(&agreed, &config, true);
                    let mut server = Deflate::new(&agreed, &config, false);
                    for i in 0..8u64 {
                        // Sizes from empty to past the largest window; the
                        // large ones only in some combinations, since
                        // debug-build zlib-rs is slow.
                        let k = (i as usize + usize::from(cbits + sbits)) % 8;
                        let big = if (cbits + sbits + flags) % 5 == 0 {
                            40_000
                        } else {
                            2000
                        };
                        let len = [0, 1, 5, 100, 300, 700, 3000, big][k];
                        let data = message(i * 31 + u64::from(cbits) * 7 + u64::from(sbits), len);
                        let out = send_split(&mut client, &mut server, &data, &mut split_seed);
                        assert_eq!(out, data, "{agreed:?} to server, message {i} len {len}");
                        let out = send_split(&mut server, &mut client, &data, &mut split_seed);
                        assert_eq!(out, data, "{agreed:?} to client, message {i} len {len}");
                    }
                }
            }
        }
    }

    /// Context takeover pays off across messages; without it, it cannot.
    #[test]
    fn takeover_shrinks_repeated_messages() {
        let data = message(3, 2000);
        for (nct, expect_smaller) in [(false, true), (true, false)] {
            let (mut client, mut server) = pair(&params(15, 15, nct, false));
            let (mut first, mut second) = (Vec::new(), Vec::new());
            client.compress(&data, &mut first);
            client.compress(&data, &mut second);
            assert_eq!(second.len() < first.len() / 4, expect_smaller);
            assert_eq!(inflate_message(&mut server, &first).unwrap(), data);
            assert_eq!(inflate_message(&mut server, &second).unwrap(), data);
        }
    }

    #[test]
    fn byte_at_a_time() {
        let (mut client, mut server) = pair(&DeflateParams::default());
        for i in 0..3 {
            let data = message(i, 5000);
            let mut wire = Vec::new();
            client.compress(&data, &mut wire);
            let mut out = Vec::new();
            for (k, byte) in wire.iter().enumerate() {
                server
                    .decompress(&[*byte], k + 1 == wire.len(), &mut out, 1 << 20)
                    .unwrap();
            }
            assert_eq!(out, data);
        }
    }

    #[test]
    fn threshold_and_window_8() {
        let config = DeflateConfig::default();
        let client = Deflate::new(&DeflateParams::default(), &config, true);
        assert!(!client.should_compress(config.threshold - 1));
        assert!(client.should_compress(config.threshold));
        // The server limited us to 8 bits: we never compress...
        let mut client = Deflate::new(&params(8, 15, false, false), &config, true);
        assert!(!client.should_compress(1 << 20));
        // ...and compressing anyway emits stored blocks only, which any
        // inflater (even a 2^8 one) accepts.
        let data = message(5, 3000);
        let mut wire = Vec::new();
        client.compress(&data, &mut wire);
        let (_, mut server) = pair(&params(9, 15, false, false));
        assert_eq!(inflate_message(&mut server, &wire).unwrap(), data);
        // The server side of the same agreement does compress, and the
        // client's 9-bit inflater reads the server's window of 8 as agreed.
        let server = Deflate::new(&params(8, 15, false, false), &config, false);
        assert!(server.should_compress(1000));
        let client = Deflate::new(&params(15, 8, false, false), &config, true);
        assert!(client.should_compress(1000));
    }

    /// A limit is total output, counting what `out` held before.
    #[test]
    fn limit_is_exact() {
        let (mut client, _) = pair(&DeflateParams::default());
        let data = message(9, 10_000);
        let mut wire = Vec::new();
        client.compress(&data, &mut wire);
        let (_, mut server) = pair(&DeflateParams::default());
        let mut out = Vec::new();
        server
            .decompress(&wire, true, &mut out, data.len())
            .unwrap();
        assert_eq!(out, data);
        let (_, mut server) = pair(&DeflateParams::default());
        let mut out = vec![0u8; 10];
        assert_eq!(
            server.decompress(&wire, true, &mut out, data.len() + 9),
            Err(ProtocolError::MessageTooLarge)
        );
        assert!(out.capacity() <= data.len() + 10);
    }

    /// DEFLATE tops out near 1032:1, so 1 KiB cannot inflate to 100 MiB; the
    /// bomb is 1 MiB of zeros compressed to about 1 KiB, repeated 128 times:
    /// ~130 KiB on the wire, 128 MiB inflated. A sync-flushed segment ends on
    /// a byte boundary with BFINAL clear, so copies concatenate into one
    /// valid stream.
    #[test]
    fn bomb_is_bounded() {
        let mut zeros = Deflate::new(
            &DeflateParams::default(),
            &DeflateConfig {
                level: 9,
                ..DeflateConfig::default()
            },
            true,
        );
        let mut segment = Vec::new();
        zeros.compress(&vec![0u8; 1 << 20], &mut segment);
        segment.extend_from_slice(&TAIL); // restore the flush marker between copies
        assert!(segment.len() < 1200, "segment {} bytes", segment.len());
        let bomb: Vec<u8> = segment
            .iter()
            .copied()
            .cycle()
            .take(segment.len() * 128)
            .collect();

        // Sanity: two copies inflate to exactly 2 MiB of zeros (the whole
        // 128 MiB would be slow in debug builds; the copies are identical).
        let (_, mut server) = pair(&DeflateParams::default());
        let mut out = Vec::new();
        server
            .decompress(&bomb[..segment.len() * 2], true, &mut out, 2 << 20)
            .unwrap();
        assert_eq!(out.len(), 2 << 20);
        assert!(out.iter().all(|&b| b == 0));

        // One frame holding the whole bomb, limit 1 MiB.
        let limit = 1 << 20;
        let (_, mut server) = pair(&DeflateParams::default());
        let mut out = Vec::new();
        assert_eq!(
            server.decompress(&bomb, true, &mut out, limit),
            Err(ProtocolError::MessageTooLarge)
        );
        assert!(out.capacity() <= limit + 1, "capacity {}", out.capacity());

        // The same bomb as many small frames.
        let (_, mut server) = pair(&DeflateParams::default());
        let mut out = Vec::new();
        let mut result = Ok(());
        for (k, frame) in bomb.chunks(100).enumerate() {
            result = server.decompress(frame, (k + 1) * 100 >= bomb.len(), &mut out, limit);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ProtocolError::MessageTooLarge));
        assert!(out.capacity() <= limit + 1, "capacity {}", out.capacity());
        assert_eq!(
            ProtocolError::MessageTooLarge.close_code(),
            crate::close::CloseCode::MESSAGE_TOO_BIG
        );
    }

    // ----- release and restore -----

    /// A chat-like stream: JSON lines sharing most of their bytes, so each
    /// message refers back into earlier ones (context takeover pays).
    /// Chat messages `rounds` each way, every one inflated to what was sent.
    fn chat_both_ways(server: &mut Deflate, client: &mut Deflate, rounds: core::ops::Range<usize>) {
        for i in rounds {
            let data = chat(i, 150);
            let mut wire = Vec::new();
            server.compress(&data, &mut wire);
            assert_eq!(inflate_message(client, &wire), Ok(data.clone()));
            wire.clear();
            client.compress(&data, &mut wire);
            assert_eq!(inflate_message(server, &wire), Ok(data));
        }
    }

    fn chat(i: usize, len: usize) -> Vec<u8> {
        let mut line = alloc::format!(
            "{{\"type\":\"message\",\"room\":\"general\",\"user\":\"user{}\",\"seq\":{i},\"text\":\"",
            i % 7
        )
        .into_bytes();
        line.extend(message(i as u64, len.saturating_sub(line.len() + 2)));
        line.extend_from_slice(b"\"}");
        line
    }

    fn codec(params: &DeflateParams, client: bool, release: bool) -> Deflate {
        let config = DeflateConfig {
            threshold: 0,
            release_when_idle: release,
            ..DeflateConfig::default()
        };
        Deflate::new(params, &config, client)
    }

    /// The proof, in-crate: for every window size 9-15, in both
    /// directions, a codec that releases its streams between messages talks
    /// to one that kept its state all along, with messages that refer back
    /// across the release (and past a full window), and with the peer
    /// releasing as well.
    #[test]
    fn release_between_messages_every_window() {
        for bits in 9..=15u8 {
            for releasing_side in 0..3 {
                let agreed = params(bits, bits, false, false);
                // 0: the server releases; 1: the client; 2: both.
                let mut client = codec(&agreed, true, releasing_side != 0);
                let mut server = codec(&agreed, false, releasing_side != 1);
                let mut sizes = Vec::new();
                for i in 0..24 {
                    // Mostly chat lines; every 8th a message past the window.
                    let len = if i % 8 == 7 { (1 << bits) + 300 } else { 150 };
                    let data = chat(i, len);
                    for server_sends in [true, false] {
                        let (from, to) = if server_sends {
                            (&mut server, &mut client)
                        } else {
                            (&mut client, &mut server)
                        };
                        let mut wire = Vec::new();
                        from.compress(&data, &mut wire);
                        sizes.push((data.len(), wire.len()));
                        let out = inflate_message(to, &wire).unwrap();
                        assert!(out == data, "bits {bits} side {releasing_side} message {i}");
                        from.release(true);
                        to.release(true);
                    }
                }
                // Takeover survived the releases: chat lines compress well.
                let (raw, wire) = sizes
                    .iter()
                    .filter(|(raw, _)| *raw < 400)
                    .fold((0, 0), |(r, w), (raw, wire)| (r + raw, w + wire));
                assert!(wire * 2 < raw, "bits {bits}: {wire} of {raw}");
            }
        }
    }

    /// After a release the streams are gone (back in the pool) and only the
    /// window is kept: at most 2^w bytes per direction, and exactly what was
    /// seen when that is less.
    #[test]
    fn release_keeps_only_the_window() {
        let agreed = params(10, 12, false, false);
        let mut server = codec(&agreed, false, true);
        let mut client = codec(&agreed, true, false);
        chat_both_ways(&mut server, &mut client, 0..8);
        assert!(server.holds_streams());
        let before = pool::pooled();
        server.release(true);
        assert!(!server.holds_streams());
        let after = pool::pooled();
        assert!(after.0 >= before.0.min(3) && after.1 >= before.1.min(3));
        let sent = server.sent.as_ref().unwrap();
        let received = server.received.as_ref().unwrap();
        assert_eq!(sent.capacity(), 8 * 150);
        // The client's window is 2^10: older bytes cannot be referred to.
        assert_eq!(received.capacity(), 1 << 10);
        // Past the window: capped at 2^12 (ours) and 2^10 (the client's).
        chat_both_ways(&mut server, &mut client, 8..40);
        server.release(true);
        assert_eq!(server.sent.as_ref().unwrap().capacity(), 1 << 12);
        assert_eq!(server.received.as_ref().unwrap().capacity(), 1 << 10);
        // With 15-bit windows our side keeps `idle_history` bytes (the
        // peer's side its whole window), and a dictionary that short still
        // talks to a peer that kept everything.
        for idle_history in [0, 100, 4096] {
            let agreed = DeflateParams::default();
            let config = DeflateConfig {
                threshold: 0,
                idle_history,
                ..DeflateConfig::default()
            };
            let mut server = Deflate::new(&agreed, &config, false);
            let mut client = codec(&agreed, true, false);
            for i in 0..300 {
                let data = chat(i, 150);
                let mut wire = Vec::new();
                server.compress(&data, &mut wire);
                assert!(inflate_message(&mut client, &wire) == Ok(data.clone()));
                wire.clear();
                client.compress(&data, &mut wire);
                assert!(inflate_message(&mut server, &wire) == Ok(data));
                server.release(true);
            }
            assert_eq!(server.sent.as_ref().unwrap().capacity(), idle_history);
            assert_eq!(server.received.as_ref().unwrap().capacity(), 1 << 15);
        }
        // Without takeover nothing is kept at all, and nothing is released
        // when the setting is off.
        let server = codec(&params(15, 15, true, true), false, true);
        assert!(server.sent.is_none() && server.received.is_none());
        let mut kept = codec(&agreed, false, false);
        let mut wire = Vec::new();
        kept.compress(&chat(1, 150), &mut wire);
        kept.release(true);
        assert!(kept.holds_streams());
    }

    /// A fragmented compressed message in flight keeps its inflater (and
    /// one with unread input is not released either); it completes after
    /// the release of everything else.
    #[test]
    fn release_mid_message_keeps_the_inflater() {
        let agreed = DeflateParams::default();
        let mut client = codec(&agreed, true, false);
        let mut server = codec(&agreed, false, true);
        let data = chat(3, 3000);
        let mut wire = Vec::new();
        client.compress(&data, &mut wire);
        let mut out = Vec::new();
        let (head, tail) = wire.split_at(wire.len() / 2);
        server.decompress(head, false, &mut out, 1 << 20).unwrap();
        server.release(true);
        assert!(server.inflater.is_some());
        server.decompress(tail, true, &mut out, 1 << 20).unwrap();
        assert!(out == data);
        server.release(false);
        assert!(server.inflater.is_some(), "input still buffered");
        server.release(true);
        assert!(server.inflater.is_none());
        wire.clear();
        client.compress(&data, &mut wire);
        assert!(inflate_message(&mut server, &wire) == Ok(data));
    }

    // ----- hostile input through the restore path -----

    /// A bomb arriving on a restored inflater is cut off at the limit
    /// exactly as on a fresh one (1009, bounded capacity).
    #[test]
    fn bomb_after_release_is_bounded() {
        let mut zeros = codec(&DeflateParams::default(), true, false);
        let mut segment = Vec::new();
        zeros.compress(&vec![0u8; 1 << 20], &mut segment);
        segment.extend_from_slice(&TAIL);
        let bomb: Vec<u8> = segment
            .iter()
            .copied()
            .cycle()
            .take(segment.len() * 16)
            .collect();
        let mut server = codec(&DeflateParams::default(), false, true);
        // Some history first, then a release, then the bomb.
        let mut client = codec(&DeflateParams::default(), true, false);
        let mut wire = Vec::new();
        client.compress(&chat(1, 150), &mut wire);
        inflate_message(&mut server, &wire).unwrap();
        server.release(true);
        let limit = 1 << 20;
        let mut out = Vec::new();
        assert_eq!(
            server.decompress(&bomb, true, &mut out, limit),
            Err(ProtocolError::MessageTooLarge)
        );
        assert!(out.capacity() <= limit + 1, "capacity {}", out.capacity());
        // The history never holds more than the window either.
        server.release(true);
        assert!(server.received.as_ref().unwrap().capacity() <= 1 << 15);
    }

    /// A peer that agreed to no context takeover and then refers back
    /// anyway fails (1002) after a release as it does without one.
    #[test]
    fn takeover_refused_after_release() {
        for release in [false, true] {
            let mut server = codec(&params(15, 15, true, false), false, release);
            assert_eq!(
                inflate_message(&mut server, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
                HELLO
            );
            server.release(true);
            assert_eq!(
                inflate_message(&mut server, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
                Err(ProtocolError::BadCompressedData),
                "release {release}"
            );
        }
    }

    /// A peer that compresses with a larger window than it agreed to (here
    /// 15 bits against an agreed 9) is caught once the inflater has been
    /// restored from a 2^9 window: 1002, not a wrong message. (A stream that
    /// was never released tolerates it; see the module docs.)
    #[test]
    fn oversized_window_after_release_fails() {
        let mut state = 0x2545_f491u32;
        let noise: Vec<u8> = (0..2000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        // The peer lies: agreed 9 bits, compresses with 15.
        let mut liar = codec(&params(15, 15, false, false), true, false);
        let mut server = codec(&params(9, 15, false, false), false, true);
        let mut first = Vec::new();
        liar.compress(&noise, &mut first);
        assert!(inflate_message(&mut server, &first) == Ok(noise.clone()));
        server.release(true);
        let mut second = Vec::new();
        liar.compress(&noise, &mut second);
        assert!(second.len() < 100, "the repeat is a far back-reference");
        assert_eq!(
            inflate_message(&mut server, &second),
            Err(ProtocolError::BadCompressedData)
        );
    }

    /// A standalone message inflates on a fresh inflater of that window,
    /// and on a peer in the middle of its own context.
    #[test]
    fn standalone_message() {
        let config = DeflateConfig::default();
        for bits in [9, 12, 15] {
            let data = chat(5, 2000);
            let mut wire = Vec::new();
            compress_standalone(&data, &config, bits, &mut wire);
            let mut fresh = codec(&params(15, bits, false, true), true, false);
            assert!(inflate_message(&mut fresh, &wire) == Ok(data.clone()));
            // The same bytes again: each is its own stream.
            let mut again = Vec::new();
            compress_standalone(&data, &config, bits, &mut again);
            assert_eq!(wire, again);
        }
    }

    /// A standalone (broadcast) message between two of our own, on a
    /// connection with context takeover: the peer, which kept its state,
    /// inflates all three whether we keep a history or not.
    #[test]
    fn standalone_between_own_messages() {
        for release in [false, true] {
            for bits in [9, 15] {
                let agreed = params(15, bits, false, false);
                let mut server = codec(&agreed, false, release);
                let mut client = codec(&agreed, true, false);
                let config = DeflateConfig::default();
                for i in 0..6 {
                    let own = chat(i, 200);
                    let mut wire = Vec::new();
                    server.compress(&own, &mut wire);
                    assert!(inflate_message(&mut client, &wire) == Ok(own));
                    let shared = chat(100 + i, 300);
                    let mut wire = Vec::new();
                    compress_standalone(&shared, &config, bits, &mut wire);
                    assert!(inflate_message(&mut client, &wire) == Ok(shared.clone()));
                    server.sent_standalone(&shared);
                }
                // Takeover still pays: a repeat of the last broadcast is tiny.
                let repeat = chat(105, 300);
                let mut wire = Vec::new();
                server.compress(&repeat, &mut wire);
                assert!(inflate_message(&mut client, &wire) == Ok(repeat));
                // (A 9-bit window reaches back at most 250 bytes in zlib.)
                if release && bits == 15 {
                    assert!(wire.len() < 40, "{} bytes", wire.len());
                }
            }
        }
    }
}
