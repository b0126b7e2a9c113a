//! The write side: commands become frames in the output buffer.
//!
//! Frames are serialized the moment a command is given, into one reusable
//! buffer, so the order on the wire is the order of the calls and nothing
//! allocates per frame once the buffer has grown.

use super::{Connection, Role, State};
use crate::close::{CloseCode, CloseFrame};
use crate::error::Error;
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::message::{Message, MessageKind};
use crate::rng::RandomSource;
use bytes::{Buf, BytesMut};

pub(super) struct WriteState {
    out: BytesMut,
    /// Bytes ever queued / ever written: positions that survive `advance`.
    queued_total: u64,
    written_total: u64,
    /// Where the last automatic pong starts and ends, so an unsent one can
    /// be replaced by a newer one instead of piling up under a ping flood.
    last_pong: Option<(u64, u64)>,
    /// The kind of a message being sent in fragments.
    fragmenting: Option<MessageKind>,
    close_sent: bool,
}

impl WriteState {
    pub(super) fn new() -> Self {
        WriteState {
            out: BytesMut::new(),
            queued_total: 0,
            written_total: 0,
            last_pong: None,
            fragmenting: None,
            close_sent: false,
        }
    }

    pub(super) fn pending(&self) -> &[u8] {
        &self.out
    }

    pub(super) fn advance(&mut self, n: usize) {
        let n = n.min(self.out.len());
        self.out.advance(n);
        self.written_total += n as u64;
    }

    pub(super) fn shrink(&mut self) {
        if self.out.is_empty() {
            self.out = BytesMut::new();
        }
    }

    pub(super) fn take(&mut self) -> BytesMut {
        let taken = self.out.split();
        self.written_total += taken.len() as u64;
        taken
    }

    /// Append one frame. The payload is copied into the output buffer and,
    /// for a client, masked there with a fresh key (RFC 6455 §5.3).
    pub(super) fn push_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        payload: &[u8],
        rng: &mut dyn RandomSource,
        role: Role,
    ) {
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.fin = fin;
        header.rsv1 = rsv1;
        if role == Role::Client {
            header.mask = Some(rng.mask_key());
        }
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.out.reserve(head_len + payload.len());
        self.out.extend_from_slice(&head[..head_len]);
        let start = self.out.len();
        crate::copy::extend(&mut self.out, payload);
        if let Some(key) = header.mask {
            apply_mask(&mut self.out[start..], key, 0);
        }
        self.queued_total += (head_len + payload.len()) as u64;
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
        if let Some((start, end)) = self.last_pong {
            if start >= self.written_total && end == self.queued_total {
                let keep = (start - self.written_total) as usize;
                self.out.truncate(keep);
                self.queued_total = start;
            }
        }
        let start = self.queued_total;
        self.push_frame(OpCode::Pong, true, false, payload, rng, role);
        self.last_pong = Some((start, self.queued_total));
    }
}

/// RFC 6455 §5.5: control frame payloads are at most 125 bytes.
const MAX_CONTROL_PAYLOAD: usize = 125;

impl Connection {
    // ----- commands -----

    /// Queue a whole message, compressed when permessage-deflate is active
    /// and the message is over the threshold, and split into frames of
    /// [`Config::fragment_size`](crate::Config::fragment_size) if set.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        let kind = message.kind();
        self.send_message(kind, message.as_bytes())
    }

    /// Queue a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_message(MessageKind::Text, text.as_bytes())
    }

    /// Queue a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_message(MessageKind::Binary, data)
    }

    fn send_message(&mut self, kind: MessageKind, payload: &[u8]) -> Result<(), Error> {
        self.check_can_send_data()?;
        if self.write.fragmenting.is_some() {
            return Err(Error::FragmentOutOfOrder);
        }
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_mut() {
            if deflate.should_compress(payload.len()) {
                let mut compressed = alloc::vec::Vec::new();
                deflate.compress(payload, &mut compressed);
                self.check_room(compressed.len())?;
                self.push_message_frames(kind, &compressed, true);
                return Ok(());
            }
        }
        self.check_room(payload.len())?;
        self.push_message_frames(kind, payload, false);
        Ok(())
    }

    fn push_message_frames(&mut self, kind: MessageKind, payload: &[u8], compressed: bool) {
        let first_op = data_opcode(kind);
        // Never send a frame larger than we would accept ourselves: a
        // compressed message can outgrow its input (incompressible data), so
        // without this cap a 16 MiB message sent under permessage-deflate
        // would reach a peer with the same (default) limits as a frame just
        // over 16 MiB and be refused with 1009, although the message itself
        // is well under `max_message_size`.
        let size = self
            .config
            .fragment_size
            .unwrap_or(usize::MAX)
            .min(self.config.max_frame_size)
            .max(1);
        if payload.len() <= size {
            let rng = &mut *self.rng;
            self.write
                .push_frame(first_op, true, compressed, payload, rng, self.role);
            return;
        }
        let mut chunks = payload.chunks(size).peekable();
        let mut first = true;
        while let Some(chunk) = chunks.next() {
            let opcode = if first {
                first_op
            } else {
                OpCode::Continuation
            };
            let fin = chunks.peek().is_none();
            // RFC 7692 §6.1: RSV1 marks the first frame of a compressed message only.
            let rsv1 = compressed && first;
            self.write
                .push_frame(opcode, fin, rsv1, chunk, &mut *self.rng, self.role);
            first = false;
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
            Some(mark) => self.write.pending().len() + len + MAX_HEADER_LEN <= mark,
            None => true,
        }
    }

    fn check_room(&self, len: usize) -> Result<(), Error> {
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

fn data_opcode(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}
