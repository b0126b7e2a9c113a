//! The write side: commands become frames in the output buffer.
//!
//! Frames are serialized the moment a command is given, into one reusable
//! buffer, so the order on the wire is the order of the calls and nothing
//! allocates per frame once the buffer has grown.

use super::output::OutputQueue;
#[cfg(any(feature = "tokio", test))]
use super::read::SHORT_MAX;
use super::{Connection, Role, State};
use crate::close::{CloseCode, CloseFrame};
use crate::error::Error;
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
#[cfg(any(feature = "tokio", test))]
use crate::mask::apply_mask;
use crate::mask::extend_masked;
use crate::message::{Message, MessageKind, Utf8Bytes};
use crate::rng::RandomSource;
use bytes::{Bytes, BytesMut};

/// Payloads of at least this many bytes that a server sends unmasked are
/// queued as shared [`Bytes`] instead of copied into the output buffer.
/// Below it, a copy costs less than the extra chunk does (one more
/// `IoSlice` per write, a segment to track, the payload's memory held until
/// written); chosen with the `write 1 x` rows of `benches/connection.rs`.
pub(crate) const SHARE_MIN: usize = 1024;

/// The longest frame [`Connection::encode_short`] encodes: a payload of
/// [`SHORT_MAX`] bytes after a 2-byte header and, from a client, a 4-byte
/// masking key.
#[cfg(any(feature = "tokio", test))]
pub(crate) const SHORT_FRAME_MAX: usize = 2 + 4 + SHORT_MAX;

pub(super) struct WriteState {
    pub(super) out: OutputQueue,
    /// Bytes ever queued / ever written: positions that survive `advance`.
    queued_total: u64,
    written_total: u64,
    /// Where the last automatic pong starts and its length (0: none; a
    /// pong is at most 131 bytes), so an unsent one can be
    /// replaced by a newer one instead of piling up under a ping flood.
    /// Two fields rather than an `Option` of a pair: the length packs with
    /// the flags below, 16 bytes less per connection.
    last_pong_start: u64,
    last_pong_len: u8,
    /// The kind of a message being sent in fragments.
    fragmenting: Option<MessageKind>,
    close_sent: bool,
}

impl WriteState {
    pub(super) fn new() -> Self {
        WriteState {
            out: OutputQueue::new(),
            queued_total: 0,
            written_total: 0,
            last_pong_start: 0,
            last_pong_len: 0,
            fragmenting: None,
            close_sent: false,
        }
    }

    pub(super) fn advance(&mut self, n: usize) {
        let n = n.min(self.out.len());
        self.out.advance(n);
        self.written_total += n as u64;
    }

    pub(super) fn shrink(&mut self) {
        self.out.shrink();
    }

    pub(super) fn take(&mut self) -> BytesMut {
        let taken = self.out.take();
        self.written_total += taken.len() as u64;
        taken
    }

    /// Encode a header into the output buffer, counting the payload that
    /// the caller appends after it; returns the mask key.
    fn push_header(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        len: usize,
        rng: &mut dyn RandomSource,
        role: Role,
    ) -> Option<[u8; 4]> {
        let mask = (role == Role::Client).then(|| rng.mask_key());
        let (head, head_len) = encode_header(opcode, fin, rsv1, len, mask);
        let owned = self.out.owned_mut();
        owned.reserve(head_len + len);
        owned.extend_from_slice(&head[..head_len]);
        self.queued_total += (head_len + len) as u64;
        mask
    }

    /// Append one frame. The payload is copied into the output buffer and,
    /// for a client, masked on the way with a fresh key (RFC 6455 §5.3).
    pub(super) fn push_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        payload: &[u8],
        rng: &mut dyn RandomSource,
        role: Role,
    ) {
        match self.push_header(opcode, fin, rsv1, payload.len(), rng, role) {
            Some(key) => extend_masked(&mut self.out.owned, payload, key),
            None => crate::copy::extend(&mut self.out.owned, payload),
        }
    }

    /// Append one frame whose payload the caller owns as [`Bytes`]: a
    /// server queues it unmasked (RFC 6455 §5.1) by
    /// [`push_unmasked`](Self::push_unmasked); a client copies and masks it
    /// as [`push_frame`](Self::push_frame) does.
    pub(super) fn push_frame_bytes(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        payload: Bytes,
        rng: &mut dyn RandomSource,
        role: Role,
    ) {
        if role == Role::Client {
            self.push_frame(opcode, fin, rsv1, &payload, rng, role);
            return;
        }
        let (head, head_len) = encode_header(opcode, fin, rsv1, payload.len(), None);
        self.push_unmasked(&head[..head_len], payload);
    }

    /// Append an encoded unmasked header and its payload: a payload of
    /// [`SHARE_MIN`] bytes or more as a shared segment (no copy), a smaller
    /// one copied after the header.
    pub(super) fn push_unmasked(&mut self, header: &[u8], payload: Bytes) {
        self.queued_total += (header.len() + payload.len()) as u64;
        if payload.len() >= SHARE_MIN {
            self.out.owned_mut().extend_from_slice(header);
            self.out.push_shared(payload);
        } else {
            let owned = self.out.owned_mut();
            owned.reserve(header.len() + payload.len());
            owned.extend_from_slice(header);
            owned.extend_from_slice(&payload);
        }
    }

    pub(super) fn queue_close(
        &mut self,
        frame: &CloseFrame,
        rng: &mut dyn RandomSource,
        role: Role,
    ) {
        if !self.close_sent {
            self.push_frame(OpCode::Close, true, false, &frame.encode(), rng, role);
            self.close_sent = true;
        }
    }

    pub(super) fn queue_empty_close(&mut self, rng: &mut dyn RandomSource, role: Role) {
        if !self.close_sent {
            self.push_frame(OpCode::Close, true, false, &[], rng, role);
            self.close_sent = true;
        }
    }

    /// Queue an automatic pong. RFC 6455 §5.5.3 allows answering only the
    /// most recent ping: a previous automatic pong that is still wholly
    /// unsent and last in the buffer is replaced, so a ping flood from a peer
    /// that does not read cannot grow our output without bound.
    pub(super) fn queue_auto_pong(
        &mut self,
        payload: &[u8],
        rng: &mut dyn RandomSource,
        role: Role,
    ) {
        let (start, len) = (self.last_pong_start, self.last_pong_len);
        // Wholly unsent and last: its bytes are all in the owned tail (a
        // pong is never a shared segment).
        if len > 0 && start >= self.written_total && start + u64::from(len) == self.queued_total {
            self.out.truncate_tail(usize::from(len));
            self.queued_total = start;
        }
        let start = self.queued_total;
        self.push_frame(OpCode::Pong, true, false, payload, rng, role);
        // A 2-byte header (6 with a client's mask key) and at most 125
        // bytes of payload (auto_pong answers a ping, which RFC 6455 §5.5
        // bounds), so the length always fits.
        self.last_pong_start = start;
        self.last_pong_len = u8::try_from(self.queued_total - start).unwrap_or(0);
    }
}

/// RFC 6455 §5.5: control frame payloads are at most 125 bytes.
const MAX_CONTROL_PAYLOAD: usize = 125;

impl Connection {
    // ----- commands -----

    /// Queue a whole message, compressed when permessage-deflate is active
    /// and the message is over the threshold, and split into frames of
    /// [`Config::fragment_size`](crate::Config::fragment_size) if set.
    ///
    /// A server keeps a large payload's [`Bytes`] as they are and queues
    /// them for the transport without a copy (the output then holds a
    /// reference until they are written; `Bytes` are immutable, so nothing
    /// the application does with its own handle afterwards can change what
    /// is sent). A client copies the payload, masking it on the way.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.try_send(message).map_err(|(error, _)| error)
    }

    /// [`send`](Self::send), handing the message back when it is refused
    /// (for adapters that return it to their caller).
    pub(crate) fn try_send(&mut self, message: Message) -> Result<(), (Error, Message)> {
        let kind = message.kind();
        let bytes = match message {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(bytes) => bytes,
        };
        self.send_message(kind, bytes).map_err(|(error, bytes)| {
            let message = match kind {
                MessageKind::Text => Message::Text(Utf8Bytes::from_validated(bytes)),
                MessageKind::Binary => Message::Binary(bytes),
            };
            (error, message)
        })
    }

    /// Queue a text message (copied).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_message(MessageKind::Text, text.as_bytes())
            .map_err(|(error, _)| error)
    }

    /// Queue a binary message (copied).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_message(MessageKind::Binary, data)
            .map_err(|(error, _)| error)
    }

    /// Queue a message; a refusal hands the payload back untouched.
    /// Generic rather than over an enum of the two payload kinds: an enum
    /// passed by value through these calls cost a third of a small
    /// message's send (its stores and wider reloads stall).
    fn send_message<P: Payload>(
        &mut self,
        kind: MessageKind,
        payload: P,
    ) -> Result<(), (Error, P)> {
        if let Err(error) = self.check_can_send_message() {
            return Err((error, payload));
        }
        let len = payload.as_slice().len();
        #[cfg(feature = "deflate")]
        if self.compresses(len) {
            // Checked before compressing: under context takeover the
            // compressor's window moves with every message it sees, so
            // a message compressed and then refused would leave our
            // window ahead of the peer's inflater. The bound is zlib's
            // worst case for incompressible input, so what passes here
            // always fits once compressed.
            if let Err(error) = self.check_room(compressed_bound(len)) {
                return Err((error, payload));
            }
            let mut compressed = alloc::vec::Vec::new();
            if let Some(deflate) = self.deflate.as_mut() {
                deflate.compress(payload.as_slice(), &mut compressed);
            }
            self.push_message_frames(kind, compressed.as_slice(), true);
            return Ok(());
        }
        if let Err(error) = self.check_room(len) {
            return Err((error, payload));
        }
        self.push_message_frames(kind, payload, false);
        Ok(())
    }

    /// Encode a whole message of at most [`SHORT_MAX`] bytes as one frame
    /// into `out`, for an adapter that writes it to the transport itself
    /// rather than through the output buffer (no buffer taken from the
    /// thread's pool for it, none given back): the common small answer
    /// written the moment it is made. Only when nothing is queued, since
    /// the frame would otherwise overtake it, and when the message goes out
    /// as one uncompressed frame; `Ok(None)` otherwise (use `send`). Refused
    /// as `send` refuses. The frame counts as queued: before anything else
    /// is queued or written, the adapter reports what the transport took
    /// with [`commit_encoded`](Self::commit_encoded), which queues the rest.
    #[cfg(any(feature = "tokio", test))]
    pub(crate) fn encode_short(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        out: &mut [u8; SHORT_FRAME_MAX],
    ) -> Result<Option<usize>, Error> {
        self.check_can_send_message()?;
        let len = payload.len();
        if len > SHORT_MAX
            || len > self.max_send_frame()
            || !self.write.out.is_empty()
            || self.compresses(len)
        {
            return Ok(None);
        }
        self.check_room(len)?;
        // RFC 6455 §5.3: a client masks every frame with a fresh key.
        let mask = (self.role == Role::Client).then(|| self.rng.mask_key());
        let (head, head_len) = encode_header(data_opcode(kind), true, false, len, mask);
        let end = head_len + len;
        out[..head_len].copy_from_slice(&head[..head_len]);
        let body = &mut out[head_len..end];
        body.copy_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(body, key, 0);
        }
        self.write.queued_total += end as u64;
        Ok(Some(end))
    }

    /// The end of [`encode_short`](Self::encode_short)'s bargain: the
    /// transport took the first `written` bytes of `frame`; the rest is
    /// queued, to go out as any other output.
    #[cfg(any(feature = "tokio", test))]
    pub(crate) fn commit_encoded(&mut self, frame: &[u8], written: usize) {
        let written = written.min(frame.len());
        self.write.written_total += written as u64;
        if written < frame.len() {
            crate::copy::extend(self.write.out.owned_mut(), &frame[written..]);
        }
    }

    /// Whether a message of `len` bytes goes out compressed:
    /// permessage-deflate negotiated, and the message over its threshold.
    #[cfg(any(feature = "deflate", feature = "tokio", test))]
    fn compresses(&self, len: usize) -> bool {
        #[cfg(feature = "deflate")]
        {
            self.deflate
                .as_ref()
                .is_some_and(|d| d.should_compress(len))
        }
        #[cfg(not(feature = "deflate"))]
        {
            let _ = len;
            false
        }
    }

    /// Whether a whole data message may be queued now.
    pub(super) fn check_can_send_message(&self) -> Result<(), Error> {
        self.check_can_send_data()?;
        if self.write.fragmenting.is_some() {
            return Err(Error::FragmentOutOfOrder);
        }
        Ok(())
    }

    /// The largest frame payload we send. Never a frame larger than we
    /// would accept ourselves: a compressed message can outgrow its input
    /// (incompressible data), so without this cap a 16 MiB message sent
    /// under permessage-deflate would reach a peer with the same (default)
    /// limits as a frame just over 16 MiB and be refused with 1009,
    /// although the message itself is well under `max_message_size`.
    pub(super) fn max_send_frame(&self) -> usize {
        self.config
            .fragment_size
            .unwrap_or(usize::MAX)
            .min(self.config.max_frame_size)
            .max(1)
    }

    fn push_message_frames<P: Payload>(&mut self, kind: MessageKind, payload: P, compressed: bool) {
        let first_op = data_opcode(kind);
        let size = self.max_send_frame();
        let total = payload.as_slice().len();
        let role = self.role;
        if total <= size {
            let sink = FrameSink {
                write: &mut self.write,
                rng: &mut *self.rng,
                role,
            };
            let frame = Frame {
                opcode: first_op,
                fin: true,
                rsv1: compressed,
            };
            payload.push_whole(sink, frame);
            return;
        }
        let mut start = 0;
        while start < total {
            let end = total.min(start.saturating_add(size));
            let first = start == 0;
            let opcode = if first {
                first_op
            } else {
                OpCode::Continuation
            };
            let frame = Frame {
                opcode,
                fin: end == total,
                // RFC 7692 §6.1: RSV1 marks the first frame of a compressed message only.
                rsv1: compressed && first,
            };
            let sink = FrameSink {
                write: &mut self.write,
                rng: &mut *self.rng,
                role,
            };
            payload.push_piece(sink, frame, start..end);
            start = end;
        }
    }

    /// Queue one fragment of a message sent piece by piece (streaming
    /// send): the first call starts a message of `kind`, later calls
    /// continue it (their `kind` is ignored), and `last` ends it. Streamed
    /// messages are never compressed. Other messages may not be sent until
    /// the last fragment; control frames may.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        last: bool,
    ) -> Result<(), Error> {
        self.check_can_send_data()?;
        self.check_room(data.len())?;
        let opcode = match self.write.fragmenting {
            Some(_) => OpCode::Continuation,
            None => data_opcode(kind),
        };
        self.write
            .push_frame(opcode, last, false, data, &mut *self.rng, self.role);
        self.write.fragmenting = if last { None } else { Some(kind) };
        Ok(())
    }

    /// Queue a ping (at most 125 bytes).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Queue an unsolicited pong (a heartbeat that expects no answer).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Pong, payload)
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        if self.write.close_sent || self.state.is_closed() {
            return Err(Error::SendAfterClose);
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlPayloadTooLong);
        }
        self.write
            .push_frame(opcode, true, false, payload, &mut *self.rng, self.role);
        Ok(())
    }

    /// Start the close handshake with `code` and `reason` (truncated to fit
    /// a control frame). Closing an already closing or closed connection is
    /// not an error and sends nothing more.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        // RFC 6455 §7.4.1: 1005, 1006 and 1015 are for reporting, never sent.
        if !code.is_valid_on_wire() {
            return Err(Error::InvalidCloseCode(code.0));
        }
        if self.write.close_sent || self.state.is_closed() {
            return Ok(());
        }
        let frame = CloseFrame::new(code, reason);
        self.write.queue_close(&frame, &mut *self.rng, self.role);
        self.state = if self.peer_close.is_some() {
            State::Closed { clean: true }
        } else {
            State::Closing
        };
        Ok(())
    }

    /// Whether `len` more payload bytes fit under the output high-water mark.
    pub fn has_room_for(&self, len: usize) -> bool {
        match self.config.max_output_buffer {
            Some(mark) => self.write.out.len() + len + MAX_HEADER_LEN <= mark,
            None => true,
        }
    }

    pub(super) fn check_room(&self, len: usize) -> Result<(), Error> {
        if self.has_room_for(len) {
            Ok(())
        } else {
            Err(Error::WouldExceedBuffer)
        }
    }

    fn check_can_send_data(&self) -> Result<(), Error> {
        // RFC 6455 §5.5.1: after sending a close frame, no more data frames.
        if self.write.close_sent || self.state.is_closed() {
            Err(Error::SendAfterClose)
        } else {
            Ok(())
        }
    }

    /// Answer the peer's close (RFC 6455 §5.5.1: echo its status code).
    pub(super) fn reply_to_close(&mut self, frame: &Option<CloseFrame>) {
        match frame {
            Some(frame) => {
                let echo = CloseFrame::new(frame.code, "");
                self.write.queue_close(&echo, &mut *self.rng, self.role);
            }
            None => self.write.queue_empty_close(&mut *self.rng, self.role),
        }
    }

    pub(super) fn auto_pong(&mut self, payload: &[u8]) {
        if !self.write.close_sent {
            self.write
                .queue_auto_pong(payload, &mut *self.rng, self.role);
        }
    }
}

/// A frame header: the bytes and their length.
fn encode_header(
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    len: usize,
    mask: Option<[u8; 4]>,
) -> ([u8; MAX_HEADER_LEN], usize) {
    let mut header = FrameHeader::new(opcode, len as u64);
    header.fin = fin;
    header.rsv1 = rsv1;
    header.mask = mask;
    let mut head = [0u8; MAX_HEADER_LEN];
    let head_len = header.encode(&mut head);
    (head, head_len)
}

/// The first header byte's parts of one frame.
struct Frame {
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
}

/// Where a payload's frames go: the output, with the masking-key source
/// and our role.
struct FrameSink<'a> {
    write: &'a mut WriteState,
    rng: &'a mut dyn RandomSource,
    role: Role,
}

/// A payload to send: borrowed (copied into the output) or the caller's
/// own [`Bytes`] (shared with the output where that saves a copy).
trait Payload: Sized {
    fn as_slice(&self) -> &[u8];

    /// Queue `range` of it as one frame.
    fn push_piece(&self, sink: FrameSink<'_>, frame: Frame, range: core::ops::Range<usize>);

    /// Queue all of it as one frame.
    fn push_whole(self, sink: FrameSink<'_>, frame: Frame) {
        let len = self.as_slice().len();
        self.push_piece(sink, frame, 0..len);
    }
}

impl Payload for &[u8] {
    fn as_slice(&self) -> &[u8] {
        self
    }

    fn push_piece(&self, sink: FrameSink<'_>, frame: Frame, range: core::ops::Range<usize>) {
        let Frame { opcode, fin, rsv1 } = frame;
        sink.write
            .push_frame(opcode, fin, rsv1, &self[range], sink.rng, sink.role);
    }
}

impl Payload for Bytes {
    fn as_slice(&self) -> &[u8] {
        self
    }

    /// Slicing shares the payload; a piece that would be copied anyway is
    /// copied straight from the whole.
    fn push_piece(&self, sink: FrameSink<'_>, frame: Frame, range: core::ops::Range<usize>) {
        if sink.role == Role::Server && range.len() >= SHARE_MIN {
            let Frame { opcode, fin, rsv1 } = frame;
            let piece = self.slice(range);
            sink.write
                .push_frame_bytes(opcode, fin, rsv1, piece, sink.rng, sink.role);
        } else {
            self.as_slice().push_piece(sink, frame, range);
        }
    }

    /// Moved, not cloned: a clone of `Bytes` made from a `Vec` allocates.
    fn push_whole(self, sink: FrameSink<'_>, frame: Frame) {
        let Frame { opcode, fin, rsv1 } = frame;
        sink.write
            .push_frame_bytes(opcode, fin, rsv1, self, sink.rng, sink.role);
    }
}

/// The most bytes DEFLATE can turn `len` bytes into, with the sync flush
/// a message ends with: stored blocks cost 5 bytes per 16 KiB or so at
/// worst (zlib's `deflateBound` adds `len >> 12` and `len >> 14`), plus a
/// few bytes of block headers and the flush.
#[cfg(feature = "deflate")]
fn compressed_bound(len: usize) -> usize {
    len.saturating_add((len >> 12) + (len >> 14) + 32)
}

pub(super) fn data_opcode(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}
