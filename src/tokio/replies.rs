//! Answers queued from inside [`WebSocket::read_with`](super::WebSocket::read_with).

use crate::connection::SHARE_MIN;
use crate::connection::{Connection, SHORT_FRAME_MAX};
use crate::error::Error;
use crate::message::{Message, MessageRef, Utf8Bytes};

/// Where the closure of [`read_with`](super::WebSocket::read_with) queues
/// its answers while the message it was lent is still in hand: a reply
/// built from the lent bytes is copied once, with no allocation of its
/// own. Answers to a message that a read brought alone are written before
/// `read_with` returns (a single short one straight from the stack);
/// answers to messages that arrived together are queued and go out as
/// [`feed`](super::WebSocket::feed)'s messages do, with the next read (one
/// write for all of them) or [`flush`](super::WebSocket::flush).
///
/// Queuing does not wait for room under the high-water mark (a closure
/// cannot wait); instead the socket reads no further input while its
/// pending output is over the mark, so a peer that sends requests and
/// never reads the answers is held to one message's replies beyond it.
/// [`Config::max_output_buffer`](crate::Config::max_output_buffer) bounds
/// the output whatever the closure does.
#[derive(Debug)]
pub struct Replies<'a> {
    conn: &'a mut Connection,
    /// Where a first short reply is encoded when it may be written
    /// straight from here (see `Engine::write_direct`), and its length (0:
    /// none held).
    frame: &'a mut [u8; SHORT_FRAME_MAX],
    held: usize,
    /// Whether a reply may be held for a direct write: the message came
    /// whole out of a read that brought nothing else, so there is no later
    /// message's answer to batch it with.
    direct: bool,
    /// The owned message being lent, when it is one (a message longer
    /// than a short frame): a reply that is a large piece of it is queued
    /// as a share of its bytes rather than a copy, as `feed` would queue
    /// the message itself.
    lent: Option<&'a Message>,
}

impl<'a> Replies<'a> {
    pub(super) fn new(
        conn: &'a mut Connection,
        frame: &'a mut [u8; SHORT_FRAME_MAX],
        direct: bool,
        lent: Option<&'a Message>,
    ) -> Self {
        Replies {
            conn,
            frame,
            held: 0,
            direct,
            lent,
        }
    }

    /// `message` as a share of the lent message's bytes, when it lies
    /// within them and is long enough for sharing to beat a copy.
    fn shared(&self, message: MessageRef<'_>) -> Option<Message> {
        let whole = match self.lent? {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        };
        let piece = message.as_bytes();
        let start = whole.as_ptr() as usize;
        let at = piece.as_ptr() as usize;
        if piece.len() < SHARE_MIN || at < start || at + piece.len() > start + whole.len() {
            return None;
        }
        let shared = whole.slice_ref(piece);
        Some(match message {
            // The piece was a `&str`: valid UTF-8 whatever it was cut from.
            MessageRef::Text(_) => Message::Text(Utf8Bytes::from_validated(shared)),
            MessageRef::Binary(_) => Message::Binary(shared),
        })
    }

    /// The length of the reply held for a direct write (its bytes lead
    /// the frame buffer), handed over: it is the caller's to write and
    /// commit now.
    pub(super) fn take_held(&mut self) -> usize {
        core::mem::take(&mut self.held)
    }

    /// Queue the held reply behind nothing, before anything is queued
    /// after it.
    fn release(&mut self) {
        let held = self.take_held();
        if held > 0 {
            self.conn.commit_encoded(&self.frame[..held], 0);
        }
    }
}

impl Replies<'_> {
    /// Queue a message: a `&str` as text, a `&[u8]` as binary, or a lent
    /// [`MessageRef`] as it is (an echo). Refused as
    /// [`Connection::send`] refuses, e.g. once our close is sent.
    pub fn send<'m>(&mut self, message: impl Into<MessageRef<'m>>) -> Result<(), Error> {
        let message = message.into();
        if self.direct && self.held == 0 {
            // The first answer, short and with nothing queued ahead of it,
            // is encoded here and written by `read_with` as it returns.
            let kind = message.kind();
            if let Some(len) = self
                .conn
                .encode_short(kind, message.as_bytes(), self.frame)?
            {
                self.held = len;
                return Ok(());
            }
        }
        self.release();
        if let Some(shared) = self.shared(message) {
            return self.conn.send(shared);
        }
        match message {
            MessageRef::Text(text) => self.conn.send_text(text),
            MessageRef::Binary(bytes) => self.conn.send_binary(bytes),
        }
    }

    /// Queue an owned message (a large payload is then written from where
    /// it lies, without a copy).
    pub fn send_message(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.release();
        self.conn.send(message.into())
    }

    /// Bytes of output pending, these replies included.
    #[must_use]
    pub fn pending_output(&self) -> usize {
        self.conn.output_len() + self.held
    }
}

/// A closure that returns early, by error or panic, leaves its held reply
/// queued, as every other reply is.
impl Drop for Replies<'_> {
    fn drop(&mut self) {
        self.release();
    }
}
