//! The read side: buffered bytes become frames, frames become events.
//!
//! A data frame's payload is unmasked and (for text) UTF-8-validated as its
//! bytes arrive, so an invalid byte fails the connection mid-frame (RFC 6455
//! §8.1, Autobahn 6.4), but it stays in the input buffer until the frame is
//! complete. A message of one frame is then split off that buffer as
//! `Bytes` without a copy; fragments of a longer message are appended to a
//! message buffer whose growth the limits bound before it happens.

use super::{Connection, Event, Fragment, Role, State};
use crate::close::{CloseFrame, ClosedBy};
use crate::error::ProtocolError;
use crate::frame::{FrameHeader, OpCode};
use crate::mask::apply_mask;
use crate::message::{Message, MessageKind, Utf8Bytes};
use crate::utf8::Utf8Validator;
use alloc::boxed::Box;
use bytes::{Buf, Bytes, BytesMut};

pub(super) struct ReadState {
    pub(super) buf: BytesMut,
    /// Zeroed bytes at the end of `buf` lent out by `spare()`, not yet filled.
    spare: usize,
    frame: Option<InFrame>,
    /// Boxed: a connection between messages, the state it idles in, then
    /// keeps 8 bytes for it instead of 56 (issue 15: every byte of an idle
    /// connection counts ten thousand times), for one small allocation per
    /// message that does not arrive whole in one read.
    message: Option<Box<InMessage>>,
    pub(super) utf8: Utf8Validator,
    /// Bytes at the front of `buf` that a borrowed event
    /// ([`Connection::poll_event_ref`]) still lends out; dropped by the next
    /// call that touches the input.
    lent: usize,
    /// A message from the general path that a borrowed event lends out
    /// (boxed: a rare path, and 32 bytes less in every connection).
    pub(super) lent_message: Option<Box<Message>>,
}

/// A whole short frame at the front of the input (see
/// `Connection::short_frame`).
struct ShortFrame {
    header_len: usize,
    len: usize,
    key: Option<[u8; 4]>,
    text: bool,
}

/// The longest payload of a frame with a 7-bit length (RFC 6455 §5.2):
/// what the one-step short paths take.
pub(crate) const SHORT_MAX: usize = 125;

/// A short message [`Connection::take_message_into`] copied out: its
/// payload is `out[..len]`; `used` bytes of the input were taken.
#[cfg(any(feature = "tokio", test))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShortMessage {
    pub(crate) len: usize,
    pub(crate) text: bool,
    pub(crate) used: usize,
}

/// The frame whose payload is arriving.
struct InFrame {
    header: FrameHeader,
    /// Payload bytes not yet split off the input buffer.
    remaining: usize,
    /// How many of those are already unmasked and validated.
    processed: usize,
    /// Key position of the next byte to unmask.
    mask_offset: usize,
}

/// The data message whose frames are arriving.
struct InMessage {
    kind: MessageKind,
    /// RSV1 was set on its first frame (permessage-deflate).
    compressed: bool,
    /// Payload received so far (wire bytes), for the size limit.
    received: usize,
    /// Payload produced so far (after decompression), for the size limit.
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    produced: usize,
    /// Accumulated payload (whole-message mode only).
    data: BytesMut,
    /// Whether a fragment of it was delivered (streaming mode).
    delivered: bool,
}

impl ReadState {
    pub(super) fn new() -> Self {
        ReadState {
            buf: BytesMut::new(),
            spare: 0,
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            lent: 0,
            lent_message: None,
        }
    }

    pub(super) fn frame_is_none(&self) -> bool {
        self.frame.is_none()
    }

    /// End the loan of the last borrowed event: its bytes leave the buffer.
    #[inline]
    pub(super) fn release(&mut self) {
        if self.lent > 0 {
            self.buf.advance(self.lent);
            self.lent = 0;
        }
        self.lent_message = None;
    }

    pub(super) fn receive(&mut self, data: &[u8]) {
        self.release();
        self.drop_spare();
        self.take_back();
        crate::copy::extend(&mut self.buf, data);
    }

    /// `data` becomes the input buffer when there is nothing in ours to
    /// keep (no unread bytes, no zeroed room lent for a read, no frame
    /// whose payload was reserved for): ours goes back to the pool.
    pub(super) fn receive_owned(&mut self, data: BytesMut) {
        self.release();
        if self.buf.is_empty() && self.frame.is_none() {
            super::pool::give(core::mem::replace(&mut self.buf, data));
        } else {
            self.receive(&data);
        }
    }

    /// An empty buffer with no room is made one worth writing into (see
    /// `pool::refill`: our own used-up buffer reclaimed in place, or one the
    /// thread kept after `shrink` gave ours back). Every path that adds
    /// bytes to `buf` calls this first.
    #[inline]
    fn take_back(&mut self) {
        super::pool::refill(&mut self.buf);
    }

    /// Lend out at least `min` bytes at the end of the buffer to read into.
    ///
    /// The lent region stays in the buffer (as initialized scratch after the
    /// received data) across calls, so only newly grown bytes are zeroed:
    /// re-zeroing 64 KiB before every socket read was a third of the work
    /// of receiving a large message.
    pub(super) fn spare(&mut self, min: usize) -> &mut [u8] {
        self.release();
        self.take_back();
        if self.spare < min {
            let grow = min - self.spare;
            self.buf.resize(self.buf.len() + grow, 0);
            self.spare = min;
        }
        let start = self.buf.len() - self.spare;
        &mut self.buf[start..]
    }

    pub(super) fn filled(&mut self, n: usize) {
        self.spare -= n.min(self.spare);
    }

    /// The received bytes (without the lent scratch region).
    pub(super) fn data(&self) -> &[u8] {
        &self.buf[..self.data_len()]
    }

    pub(super) fn data_len(&self) -> usize {
        self.buf.len() - self.spare
    }

    /// Received bytes not yet turned into events (a lent event's bytes are
    /// already consumed).
    pub(super) fn unread_len(&self) -> usize {
        self.data_len() - self.lent
    }

    /// Make room for `total` received bytes in one allocation when a frame
    /// header announces them, instead of doubling the buffer (and copying it)
    /// as they arrive. `total` is bounded by `Config::max_frame_size`, and
    /// pages of the reservation are only touched as bytes arrive.
    pub(super) fn reserve_for(&mut self, total: usize) {
        self.take_back();
        let have = self.data_len();
        if total > have {
            self.buf.reserve(total - have);
        }
    }

    /// Payload bytes the frame in progress still lacks (0 between frames).
    pub(super) fn frame_missing(&self) -> usize {
        self.frame
            .as_ref()
            .map_or(0, |frame| frame.remaining.saturating_sub(self.data_len()))
    }

    /// Give the input buffer back when it holds no received byte. A frame
    /// in progress keeps its buffer, zeroed spare room included: truncating
    /// that room frees nothing (the frame's bytes hold the allocation), and
    /// the next read would zero it all again (an adapter shrinks after
    /// every read that drains the socket, many times per large frame).
    pub(super) fn shrink(&mut self) {
        self.release();
        // Nothing to give when input bypassed the buffer (see
        // `Connection::take_message_from`), the tokio adapter's common case.
        if self.data_len() == 0 && !super::pool::never_allocated(&self.buf) {
            super::pool::give(core::mem::take(&mut self.buf));
            self.spare = 0;
        }
    }

    fn drop_spare(&mut self) {
        if self.spare > 0 {
            let len = self.data_len();
            self.buf.truncate(len);
            self.spare = 0;
        }
    }
}

impl Connection {
    /// Decode until one event is ready or the buffered input runs out.
    pub(super) fn next_event(&mut self) -> Result<Option<Event>, ProtocolError> {
        loop {
            if self.read.frame.is_none() {
                if let Some(message) = self.short_message_frame()? {
                    return Ok(Some(Event::Message(message)));
                }
                let (header, header_len) = match FrameHeader::parse(self.read.data())? {
                    Some(parsed) => parsed,
                    None => return Ok(None),
                };
                if let Some(message) = self.whole_message_frame(&header, header_len)? {
                    return Ok(Some(Event::Message(message)));
                }
                self.check_header(&header)?;
                self.read.buf.advance(header_len);
                if !header.opcode.is_control() && !self.config.streaming {
                    self.read.reserve_for(header.payload_len as usize);
                }
                self.read.frame = Some(InFrame {
                    header,
                    // check_header bounded the length by a usize limit.
                    remaining: header.payload_len as usize,
                    processed: 0,
                    mask_offset: 0,
                });
            }
            let event = if self.current_frame_is_control() {
                self.control_frame()?
            } else {
                match self.data_frame()? {
                    Progress::Event(event) => Some(event),
                    Progress::NeedMore => return Ok(None),
                    Progress::Continue => None,
                }
            };
            if let Some(event) = event {
                return Ok(Some(event));
            }
            if self.read.frame.is_some() {
                // A control frame still waiting for its payload.
                return Ok(None);
            }
        }
    }

    /// The common case, decoded in one step: a complete, unfragmented,
    /// uncompressed text or binary frame already in the buffer, with no
    /// message in progress. Anything else (or any rule broken) returns
    /// `Ok(None)` and takes the general path, which reports the error; so
    /// this is purely a shortcut, and the split-input property tests and
    /// fuzz targets hold both paths to the same events.
    fn whole_message_frame(
        &mut self,
        header: &FrameHeader,
        header_len: usize,
    ) -> Result<Option<Message>, ProtocolError> {
        let text = match header.opcode {
            OpCode::Text => true,
            OpCode::Binary => false,
            _ => return Ok(None),
        };
        let len = header.payload_len;
        let mask_ok = header.mask.is_some() == (self.role == Role::Server);
        if !header.fin
            || header.rsv1
            || header.rsv2
            || header.rsv3
            || !mask_ok
            || !self.may_take_whole(len)
            || (self.read.data_len() as u64) < header_len as u64 + len
        {
            return Ok(None);
        }
        self.take_whole_message(header_len, len as usize, header.mask, text)
            .map(Some)
    }

    /// What the one-step paths need beyond the frame itself: no message in
    /// progress, whole-message mode, and a payload within both limits (the
    /// general path reports a payload over them).
    fn may_take_whole(&self, len: u64) -> bool {
        self.read.message.is_none()
            && !self.config.streaming
            && len <= self.config.max_frame_size as u64
            && len <= self.config.max_message_size as u64
    }

    /// The hottest case of all, read straight off the first bytes without
    /// building a [`FrameHeader`]: a whole text or binary frame of at most
    /// 125 bytes (7-bit length), FIN set, no RSV bit, masked as the peer's
    /// role requires, with no message in progress. Chat lines, game ticks
    /// and market-data updates are mostly this. Anything else returns
    /// `Ok(None)` for the general path, which owns every error.
    fn short_message_frame(&mut self) -> Result<Option<Message>, ProtocolError> {
        match self.short_frame() {
            Some(short) => self
                .take_whole_message(short.header_len, short.len, short.key, short.text)
                .map(Some),
            None => Ok(None),
        }
    }

    /// Recognize the frame [`short_message_frame`](Self::short_message_frame)
    /// takes, without consuming anything.
    #[inline]
    fn short_frame(&self) -> Option<ShortFrame> {
        self.short_frame_in(self.read.data())
    }

    /// [`short_frame`](Self::short_frame) at the front of `data`.
    #[inline]
    fn short_frame_in(&self, data: &[u8]) -> Option<ShortFrame> {
        let (b0, b1) = match data {
            [b0, b1, ..] => (*b0, *b1),
            _ => return None,
        };
        // FIN with opcode 1 (text) or 2 (binary), RSV bits clear.
        let text = match b0 {
            0x81 => true,
            0x82 => false,
            _ => return None,
        };
        let masked = b1 & 0x80 != 0;
        let len = usize::from(b1 & 0x7f);
        let header_len = if masked { 6 } else { 2 };
        if len > SHORT_MAX
            || masked != (self.role == Role::Server)
            || data.len() < header_len + len
            || !self.may_take_whole(len as u64)
        {
            return None;
        }
        let key = match data.get(2..6) {
            Some(k) if masked => Some([k[0], k[1], k[2], k[3]]),
            _ => None,
        };
        Some(ShortFrame {
            header_len,
            len,
            key,
            text,
        })
    }

    /// The short frame at the front of the caller's `input` that
    /// [`take_message_from`](Self::take_message_from) and `take_message_into`
    /// may take: none while the connection holds input of its own, a frame
    /// in progress or a message in progress (taking it would reorder the
    /// input), or after the input ended.
    fn takeable_short_frame(&mut self, input: &[u8]) -> Option<ShortFrame> {
        self.read.release();
        if self.input_done || self.read.data_len() > 0 || !self.read.frame_is_none() {
            return None;
        }
        self.short_frame_in(input)
    }

    /// The borrowed counterpart of
    /// [`short_message_frame`](Self::short_message_frame): unmask and
    /// validate the payload where it lies and lend it out until the next
    /// call, so a small message costs no reference count and no split.
    /// Returns where the payload lies and whether it is text.
    pub(super) fn short_frame_in_place(
        &mut self,
    ) -> Result<Option<(core::ops::Range<usize>, bool)>, ProtocolError> {
        let Some(short) = self.short_frame() else {
            return Ok(None);
        };
        let payload = short.header_len..short.header_len + short.len;
        self.read.lent = payload.end;
        let bytes = &mut self.read.buf[payload.clone()];
        if let Some(key) = short.key {
            apply_mask(bytes, key, 0);
        }
        // RFC 6455 §8.1: text must be UTF-8; the whole payload is here.
        if short.text && core::str::from_utf8(bytes).is_err() {
            return Err(ProtocolError::InvalidUtf8);
        }
        Ok(Some((payload, short.text)))
    }

    /// Decode a message straight out of the caller's `input`, without
    /// buffering it: when the connection holds no input of its own and
    /// `input` begins with a whole frame of at most 125 bytes that is a
    /// message by itself (FIN set, text or binary, no RSV bit, masked as
    /// the peer's role requires, no message in progress), its payload is
    /// copied into an allocation of its own size and returned with the
    /// number of bytes of `input` it took. Hand the rest of `input` to
    /// [`receive`](Connection::receive) (or call this again on it) before
    /// the next [`poll_event`](Connection::poll_event).
    ///
    /// `None` in every other case, errors included: nothing is consumed,
    /// and `input` takes the general path through `receive`, which reports
    /// them. So this is purely a shortcut, with the same events.
    ///
    /// For transports that read into a buffer shared between connections
    /// (the tokio adapter's per-thread arena): the common small message
    /// then costs one allocation of its size, instead of a copy into the
    /// connection's input buffer, that buffer taken from the thread's pool
    /// for it, the message split off it, and the buffer given back when
    /// the socket runs dry (about twice the instructions, measured).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event, Message, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// client.send(Message::text("one"))?;
    /// client.send(Message::binary(vec![7u8; 300]))?; // longer: general path
    /// let wire = client.take_output();
    /// let (first, used) = server.take_message_from(&wire).expect("a short frame");
    /// assert_eq!(first, Message::text("one"));
    /// assert!(server.take_message_from(&wire[used..]).is_none());
    /// server.receive(&wire[used..]);
    /// assert_eq!(server.poll_event()?, Some(Event::Message(Message::binary(vec![7u8; 300]))));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[must_use = "the message is taken out of `input`; the rest goes to `receive`"]
    pub fn take_message_from(&mut self, input: &[u8]) -> Option<(Message, usize)> {
        let short = self.takeable_short_frame(input)?;
        let end = short.header_len + short.len;
        let mut payload = alloc::vec::Vec::with_capacity(short.len);
        payload.extend_from_slice(&input[short.header_len..end]);
        if let Some(key) = short.key {
            apply_mask(&mut payload, key, 0);
        }
        let message = if short.text {
            // RFC 6455 §8.1; invalid text is the general path's to report.
            let text = alloc::string::String::from_utf8(payload).ok()?;
            Message::Text(Utf8Bytes::from(text))
        } else {
            Message::Binary(Bytes::from(payload))
        };
        Some((message, end))
    }

    /// [`take_message_from`](Self::take_message_from) without the
    /// allocation: the short message's payload is unmasked into `out` (a
    /// caller's scratch buffer, room for the longest payload such a frame
    /// has) and its length, kind and the count of `input` bytes taken are
    /// returned. Text is validated as there. The same declines as
    /// `take_message_from`, for the same reasons.
    #[cfg(any(feature = "tokio", test))]
    pub(crate) fn take_message_into(
        &mut self,
        input: &[u8],
        out: &mut [u8; SHORT_MAX],
    ) -> Option<ShortMessage> {
        let short = self.takeable_short_frame(input)?;
        let end = short.header_len + short.len;
        let payload = &mut out[..short.len];
        payload.copy_from_slice(&input[short.header_len..end]);
        if let Some(key) = short.key {
            apply_mask(payload, key, 0);
        }
        // RFC 6455 §8.1; invalid text is the general path's to report.
        if short.text && core::str::from_utf8(payload).is_err() {
            return None;
        }
        Some(ShortMessage {
            len: short.len,
            text: short.text,
            used: end,
        })
    }

    /// [`receive`](Connection::receive) `data`, except that a whole short
    /// message at its front is returned at once instead of being buffered
    /// (see [`take_message_from`](Self::take_message_from)): what an adapter
    /// reading into a buffer it shares between connections calls.
    #[cfg(any(feature = "mio", feature = "tokio"))]
    #[inline]
    pub(crate) fn receive_and_take(&mut self, data: &[u8]) -> Option<Message> {
        let (message, used) = match self.take_message_from(data) {
            Some((message, used)) => (Some(message), used),
            None => (None, 0),
        };
        if used < data.len() {
            self.receive(&data[used..]);
        }
        message
    }

    /// [`receive_and_take`](Self::receive_and_take) with the short
    /// message copied into `out` ([`take_message_into`](Self::take_message_into))
    /// rather than into an allocation.
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn receive_and_take_into(
        &mut self,
        data: &[u8],
        out: &mut [u8; SHORT_MAX],
    ) -> Option<ShortMessage> {
        let short = self.take_message_into(data, out);
        let used = short.map_or(0, |short| short.used);
        if used < data.len() {
            self.receive(&data[used..]);
        }
        short
    }

    /// Split a complete single-frame message (header and payload, both in
    /// the buffer) off the input and hand its payload out without a copy.
    #[inline]
    fn take_whole_message(
        &mut self,
        header_len: usize,
        len: usize,
        key: Option<[u8; 4]>,
        text: bool,
    ) -> Result<Message, ProtocolError> {
        // One split for header and payload, then a cheap `Bytes::advance`
        // past the header: advancing the shared input buffer instead costs
        // a representation check per message.
        let mut frame = self.read.buf.split_to(header_len + len);
        if let Some(key) = key {
            apply_mask(&mut frame[header_len..], key, 0);
        }
        let mut payload = frame.freeze();
        payload.advance(header_len);
        if text {
            // RFC 6455 §8.1: text must be UTF-8; the whole payload is here.
            if core::str::from_utf8(&payload).is_err() {
                return Err(ProtocolError::InvalidUtf8);
            }
            return Ok(Message::Text(Utf8Bytes::from_validated(payload)));
        }
        Ok(Message::Binary(payload))
    }

    fn current_frame_is_control(&self) -> bool {
        matches!(&self.read.frame, Some(f) if f.header.opcode.is_control())
    }

    /// Everything the header alone can violate, checked before any payload
    /// byte is buffered for it.
    fn check_header(&mut self, h: &FrameHeader) -> Result<(), ProtocolError> {
        // RFC 6455 §5.2: RSV2 and RSV3 have no meaning without an extension
        // that defines them, and we negotiate none that does.
        if h.rsv2 || h.rsv3 {
            return Err(ProtocolError::ReservedBits);
        }
        if h.rsv1 {
            // RFC 6455 §5.2: RSV1 only with an extension (permessage-deflate).
            if !self.is_compressed() {
                return Err(ProtocolError::ReservedBits);
            }
            // RFC 7692 §6.1: RSV1 marks the first frame of a compressed
            // message; on a continuation or control frame it is an error.
            if h.opcode.is_control() || h.opcode == OpCode::Continuation {
                return Err(ProtocolError::CompressedContinuation);
            }
        }
        // RFC 6455 §5.1: clients mask every frame, servers none.
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            // RFC 6455 §5.5: control frames are never fragmented and carry
            // at most 125 payload bytes.
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if h.payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLong);
            }
            return Ok(());
        }
        if h.payload_len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge);
        }
        let len = h.payload_len as usize;
        match (h.opcode, self.read.message.as_mut()) {
            // RFC 6455 §5.4: a continuation needs a message in progress...
            (OpCode::Continuation, None) => Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(message)) => {
                if message.received.saturating_add(len) > self.config.max_message_size {
                    return Err(ProtocolError::MessageTooLarge);
                }
                message.received += len;
                Ok(())
            }
            // ...and a new message may not start inside another.
            (_, Some(_)) => Err(ProtocolError::ExpectedContinuation),
            (opcode, None) => {
                if len > self.config.max_message_size {
                    return Err(ProtocolError::MessageTooLarge);
                }
                let kind = if opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                self.read.utf8.reset();
                self.read.message = Some(Box::new(InMessage {
                    kind,
                    compressed: h.rsv1,
                    received: len,
                    produced: 0,
                    data: BytesMut::new(),
                    delivered: false,
                }));
                Ok(())
            }
        }
    }

    /// A control frame is handled once its whole (≤125-byte) payload is in.
    fn control_frame(&mut self) -> Result<Option<Event>, ProtocolError> {
        let Some(frame) = self.read.frame.as_ref() else {
            return Ok(None);
        };
        if self.read.data_len() < frame.remaining {
            return Ok(None);
        }
        let header = frame.header;
        let mut payload = self.read.buf.split_to(frame.remaining);
        self.read.frame = None;
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        let payload = payload.freeze();
        match header.opcode {
            OpCode::Ping => {
                // RFC 6455 §5.5.2: answer a ping with a pong of the same payload.
                if self.config.auto_pong {
                    self.auto_pong(&payload);
                }
                Ok(Some(Event::Ping(payload)))
            }
            // RFC 6455 §5.5.3: an unsolicited pong needs no answer.
            OpCode::Pong => Ok(Some(Event::Pong(payload))),
            _ => {
                let close = CloseFrame::parse(&payload)?;
                self.reply_to_close(&close);
                self.peer_close = Some(Box::new(close.clone()));
                self.closed_by = Some(if self.state.is_closing() {
                    ClosedBy::Us
                } else {
                    ClosedBy::Peer
                });
                // RFC 6455 §7.1.4: once a close frame was both sent and
                // received, the closing handshake is complete.
                self.state = State::Closed { clean: true };
                self.input_done = true;
                Ok(Some(Event::Close(close)))
            }
        }
    }

    /// Advance the data frame in progress with whatever input is buffered.
    fn data_frame(&mut self) -> Result<Progress, ProtocolError> {
        let streaming = self.config.streaming;
        let (Some(frame), Some(message)) = (self.read.frame.as_mut(), self.read.message.as_mut())
        else {
            return Ok(Progress::NeedMore);
        };
        // Unmask and validate the bytes that arrived since the last call.
        let available = (self.read.buf.len() - self.read.spare).min(frame.remaining);
        if available > frame.processed {
            let fresh = &mut self.read.buf[frame.processed..available];
            if let Some(key) = frame.header.mask {
                frame.mask_offset = apply_mask(fresh, key, frame.mask_offset);
            }
            // RFC 6455 §8.1: fail on invalid UTF-8 as soon as it arrives.
            if message.kind == MessageKind::Text && !message.compressed {
                self.read
                    .utf8
                    .feed(fresh)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            frame.processed = available;
        }
        let frame_done = frame.processed == frame.remaining;
        let fin = frame.header.fin;

        if streaming && !message.compressed {
            if frame.processed == 0 && !frame_done {
                return Ok(Progress::NeedMore);
            }
            let chunk = self.read.buf.split_to(frame.processed).freeze();
            frame.remaining -= frame.processed;
            frame.processed = 0;
            let last = frame_done && fin;
            if frame_done {
                self.read.frame = None;
            }
            if chunk.is_empty() && !last {
                return Ok(Progress::Continue);
            }
            return self.deliver_fragment(chunk, last).map(Progress::Event);
        }
        if !frame_done {
            return Ok(Progress::NeedMore);
        }
        let payload = self.read.buf.split_to(frame.remaining);
        self.read.frame = None;
        if message.compressed {
            return self.inflate_frame(payload, fin);
        }
        if !fin {
            message.data.extend_from_slice(&payload);
            return Ok(Progress::Continue);
        }
        let data = if message.data.is_empty() {
            payload.freeze()
        } else {
            message.data.extend_from_slice(&payload);
            core::mem::take(&mut message.data).freeze()
        };
        self.finish_message(data).map(Progress::Event)
    }

    /// Whole-message mode: the message is complete.
    fn finish_message(&mut self, data: Bytes) -> Result<Event, ProtocolError> {
        let kind = self.read.message.take().map(|m| m.kind);
        match kind {
            Some(MessageKind::Text) => {
                if !self.read.utf8.is_complete() {
                    return Err(ProtocolError::InvalidUtf8);
                }
                Ok(Event::Message(Message::Text(Utf8Bytes::from_validated(
                    data,
                ))))
            }
            _ => Ok(Event::Message(Message::Binary(data))),
        }
    }

    /// Streaming mode: hand out a piece of the message.
    fn deliver_fragment(&mut self, data: Bytes, last: bool) -> Result<Event, ProtocolError> {
        let Some(message) = self.read.message.as_mut() else {
            return Err(ProtocolError::UnexpectedContinuation);
        };
        let first = !message.delivered;
        message.delivered = true;
        let kind = message.kind;
        if last {
            self.read.message = None;
            if kind == MessageKind::Text && !self.read.utf8.is_complete() {
                return Err(ProtocolError::InvalidUtf8);
            }
        }
        Ok(Event::Fragment(Fragment {
            kind,
            data,
            first,
            last,
        }))
    }

    #[cfg(feature = "deflate")]
    fn inflate_frame(&mut self, payload: BytesMut, fin: bool) -> Result<Progress, ProtocolError> {
        let limit = self.config.max_message_size;
        let streaming = self.config.streaming;
        let (Some(deflate), Some(message)) = (self.deflate.as_mut(), self.read.message.as_mut())
        else {
            return Err(ProtocolError::ReservedBits);
        };
        let mut out = alloc::vec::Vec::new();
        deflate.decompress(&payload, fin, &mut out, limit - message.produced)?;
        message.produced += out.len();
        if message.kind == MessageKind::Text {
            self.read
                .utf8
                .feed(&out)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if streaming {
            if out.is_empty() && !fin {
                return Ok(Progress::Continue);
            }
            return self
                .deliver_fragment(Bytes::from(out), fin)
                .map(Progress::Event);
        }
        if !fin {
            message.data.extend_from_slice(&out);
            return Ok(Progress::Continue);
        }
        let data = if message.data.is_empty() {
            Bytes::from(out)
        } else {
            message.data.extend_from_slice(&out);
            core::mem::take(&mut message.data).freeze()
        };
        self.finish_message(data).map(Progress::Event)
    }

    #[cfg(not(feature = "deflate"))]
    fn inflate_frame(&mut self, _payload: BytesMut, _fin: bool) -> Result<Progress, ProtocolError> {
        // Unreachable: check_header rejects RSV1 when deflate is not active.
        Err(ProtocolError::ReservedBits)
    }
}

enum Progress {
    Event(Event),
    NeedMore,
    Continue,
}
