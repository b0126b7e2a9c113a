//! The sans-IO WebSocket connection: frames in, events out; commands in,
//! frames out.
//!
//! A [`Connection`] does no I/O and reads no clock. The caller moves bytes:
//!
//! - **input**: [`receive`](Connection::receive) received bytes (or write them
//!   straight into [`read_buf`](Connection::read_buf) and report
//!   [`filled`](Connection::filled)), and [`receive_eof`](Connection::receive_eof)
//!   when the transport ends;
//! - **events**: [`poll_event`](Connection::poll_event) until it returns
//!   `Ok(None)`;
//! - **commands**: [`send`](Connection::send), [`send_ping`](Connection::send_ping),
//!   [`close`](Connection::close), ...;
//! - **output**: write [`pending_output`](Connection::pending_output) to the
//!   transport and report [`advance_output`](Connection::advance_output).
//!
//! Every protocol violation by the peer queues the matching close frame
//! before the error is returned, so an adapter only has to flush and then
//! close the transport. The opening handshake happens before a `Connection`
//! exists (see [`handshake`](crate::handshake)).

mod read;
mod write;

use crate::config::Config;
use crate::message::{Message, MessageKind};
use crate::rng::{FastRng, RandomSource};
use crate::{CloseFrame, ProtocolError};
use alloc::boxed::Box;
use alloc::sync::Arc;
use bytes::{Bytes, BytesMut};

/// Which end of the connection we are: decides masking (RFC 6455 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Masks every frame it sends; rejects masked frames.
    Client,
    /// Never masks; rejects unmasked frames.
    Server,
}

/// Where the connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's (RFC 6455 §7.1.2).
    Closing,
    /// No more frames will be processed or sent. `clean` is true when both
    /// sides exchanged close frames (RFC 6455 §7.1.4 "cleanly closed").
    Closed {
        /// Whether the close handshake completed.
        clean: bool,
    },
}

impl State {
    /// Messages may still be sent and received.
    pub fn is_open(self) -> bool {
        self == State::Open
    }
    /// We sent a close frame and wait for the reply.
    pub fn is_closing(self) -> bool {
        self == State::Closing
    }
    /// The connection is over.
    pub fn is_closed(self) -> bool {
        matches!(self, State::Closed { .. })
    }
}

/// Something the peer sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole text or binary message.
    Message(Message),
    /// Part of a message, in [`Config::streaming`] mode. Text fragments are
    /// validated incrementally; a fragment may end inside a code point, which
    /// the next fragment completes.
    Fragment(Fragment),
    /// A ping (already answered when [`Config::auto_pong`] is on).
    Ping(Bytes),
    /// A pong, solicited or not.
    Pong(Bytes),
    /// The peer's close frame (`None`: it carried no status code). The reply
    /// is already queued.
    Close(Option<CloseFrame>),
}

/// An event from [`Connection::poll_event_ref`]: a whole message lent from
/// the connection's buffer, or any other event as [`Event`] has it.
#[derive(Debug, PartialEq, Eq)]
pub enum EventRef<'a> {
    /// A whole text message (validated UTF-8).
    Text(&'a str),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// A ping, pong, close or (in streaming mode) fragment; never
    /// [`Event::Message`].
    Other(Event),
}

impl EventRef<'_> {
    /// The owned [`Event`] that [`Connection::poll_event`] would have
    /// returned, copying a lent payload: for keeping it past the loan.
    pub fn into_owned(self) -> Event {
        match self {
            EventRef::Text(text) => Event::Message(Message::text(text)),
            EventRef::Binary(bytes) => Event::Message(Message::binary(bytes.to_vec())),
            EventRef::Other(event) => event,
        }
    }
}

/// A piece of a message delivered as it arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Text or binary, from the message's first frame.
    pub kind: MessageKind,
    /// The bytes (unmasked, decompressed).
    pub data: Bytes,
    /// The first piece of its message.
    pub first: bool,
    /// The last piece of its message.
    pub last: bool,
}

/// Where masking keys come from: the default generator inline (no heap
/// allocation per connection), or the caller's.
enum Rng {
    Fast(FastRng),
    Custom(Box<dyn RandomSource + Send>),
}

impl core::ops::Deref for Rng {
    type Target = dyn RandomSource + Send;
    fn deref(&self) -> &Self::Target {
        match self {
            Rng::Fast(rng) => rng,
            Rng::Custom(rng) => &**rng,
        }
    }
}

impl core::ops::DerefMut for Rng {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Rng::Fast(rng) => rng,
            Rng::Custom(rng) => &mut **rng,
        }
    }
}

/// A WebSocket connection after the opening handshake.
pub struct Connection {
    role: Role,
    /// Shared: every connection of a server usually has the same settings,
    /// and 80 bytes per connection add up over 10,000 of them.
    config: Arc<Config>,
    state: State,
    rng: Rng,
    /// The peer's close frame, once received (boxed: a connection spends
    /// its life without one).
    peer_close: Option<Box<Option<CloseFrame>>>,
    /// Input is no longer processed (close received, failure, or EOF).
    input_done: bool,
    read: read::ReadState,
    write: write::WriteState,
    /// Boxed: most of its life a connection holds no compression state
    /// beyond a pointer (see the deflate module's memory docs).
    #[cfg(feature = "deflate")]
    deflate: Option<Box<crate::deflate::Deflate>>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered_input", &self.read.unread_len())
            .field("pending_output", &self.pending_output().len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection whose handshake is done, with the default random source
    /// for masking keys. `config` is a [`Config`], or an `Arc<Config>`
    /// shared with other connections (as the adapters do).
    pub fn new(role: Role, config: impl Into<Arc<Config>>) -> Self {
        Self::with_source(role, config.into(), Rng::Fast(FastRng::new()))
    }

    /// A connection drawing masking keys from `rng` (deterministic tests, or
    /// a cryptographic source).
    pub fn with_rng(
        role: Role,
        config: impl Into<Arc<Config>>,
        rng: Box<dyn RandomSource + Send>,
    ) -> Self {
        Self::with_source(role, config.into(), Rng::Custom(rng))
    }

    fn with_source(role: Role, config: Arc<Config>, rng: Rng) -> Self {
        Connection {
            role,
            config,
            state: State::Open,
            rng,
            peer_close: None,
            input_done: false,
            read: read::ReadState::new(),
            write: write::WriteState::new(),
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// Turn on permessage-deflate with parameters agreed in the handshake.
    #[cfg(feature = "deflate")]
    pub fn set_deflate(&mut self, params: &crate::deflate::DeflateParams) {
        let config = self.config.deflate.clone().unwrap_or_default();
        self.deflate = Some(Box::new(crate::deflate::Deflate::new(
            params,
            &config,
            self.role == Role::Client,
        )));
    }

    // ----- getters -----

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The peer's close frame, once received (`Some(None)`: it had no code).
    pub fn peer_close_frame(&self) -> Option<&Option<CloseFrame>> {
        self.peer_close.as_deref()
    }

    /// Whether permessage-deflate is active.
    pub fn is_compressed(&self) -> bool {
        #[cfg(feature = "deflate")]
        {
            self.deflate.is_some()
        }
        #[cfg(not(feature = "deflate"))]
        {
            false
        }
    }

    /// Whether the transport should now be closed by us. RFC 6455 §7.1.1:
    /// the server closes the TCP connection first once the close handshake is
    /// done; after a failure either side closes at once. A client waits for
    /// the server's EOF (bounded by its own timeout).
    pub fn should_close_transport(&self) -> bool {
        match self.state {
            State::Closed { clean } => {
                self.write.pending().is_empty() && (self.role == Role::Server || !clean)
            }
            _ => false,
        }
    }

    // ----- input -----

    /// Hand in bytes received from the transport (one copy into the
    /// connection's buffer; see [`read_buf`](Self::read_buf) to avoid it).
    pub fn receive(&mut self, data: &[u8]) {
        self.read.receive(data);
    }

    /// A zeroed slice of at least `min` bytes at the end of the input buffer
    /// to read into; report how much was written with [`filled`](Self::filled).
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        self.read.spare(min)
    }

    /// `n` bytes were written into the slice from [`read_buf`](Self::read_buf).
    pub fn filled(&mut self, n: usize) {
        self.read.filled(n);
    }

    /// The transport reached end of stream. A close handshake that was not
    /// completed makes the close unclean (RFC 6455 §7.1.5: code 1006).
    pub fn receive_eof(&mut self) {
        self.input_done = true;
        if !self.state.is_closed() {
            self.state = State::Closed { clean: false };
        }
    }

    /// The next event, `Ok(None)` when more input is needed (or none will
    /// come). A protocol error has queued its close frame when it is returned.
    #[must_use = "events carry the peer's messages and errors"]
    pub fn poll_event(&mut self) -> Result<Option<Event>, crate::Error> {
        self.read.release();
        if self.input_done {
            return Ok(None);
        }
        match self.next_event() {
            Ok(event) => Ok(event),
            Err(e) => {
                self.fail(&e);
                Err(crate::Error::Protocol(e))
            }
        }
    }

    /// Like [`poll_event`](Self::poll_event), but a message's payload is lent
    /// from the connection's buffer instead of handed out as [`Bytes`]: the
    /// cheapest way to consume small messages that are parsed where they
    /// lie (a JSON line, a game tick), with no reference count to take and
    /// drop per message. The loan ends at the next call on the connection;
    /// copy what must outlive it ([`EventRef::into_owned`]). A whole frame of at most 125 bytes is
    /// unmasked and lent where it lies in the input; a message that takes
    /// the general path (longer, fragmented or compressed) is held by the
    /// connection and lent from there, so both kinds arrive as
    /// [`EventRef::Text`] or [`EventRef::Binary`]; every other event comes
    /// as [`EventRef::Other`].
    ///
    /// ```
    /// # use rfc6455::{Config, Connection, EventRef, Message, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// client.send(Message::text("tick 1"))?;
    /// server.receive(client.pending_output());
    /// let mut lines = 0;
    /// while let Some(event) = server.poll_event_ref()? {
    ///     if let EventRef::Text(line) = event {
    ///         assert_eq!(line, "tick 1");
    ///         lines += 1;
    ///     }
    /// }
    /// assert_eq!(lines, 1);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[must_use = "events carry the peer's messages and errors"]
    pub fn poll_event_ref(&mut self) -> Result<Option<EventRef<'_>>, crate::Error> {
        self.read.release();
        if self.input_done {
            return Ok(None);
        }
        if self.read.frame_is_none() {
            match self.short_frame_in_place() {
                Ok(Some((payload, text))) => {
                    let bytes = &self.read.buf[payload];
                    // Validated by short_frame_in_place; this second look
                    // keeps the crate free of `unsafe`, as Utf8Bytes does.
                    if !text {
                        return Ok(Some(EventRef::Binary(bytes)));
                    }
                    return match core::str::from_utf8(bytes) {
                        Ok(s) => Ok(Some(EventRef::Text(s))),
                        Err(_) => unreachable!("short_frame_in_place validated the text"),
                    };
                }
                Ok(None) => {}
                Err(e) => {
                    self.fail(&e);
                    return Err(crate::Error::Protocol(e));
                }
            }
        }
        Ok(match self.poll_event()? {
            Some(Event::Message(message)) => {
                let message = self.read.lent_message.insert(message);
                Some(match message {
                    Message::Text(text) => EventRef::Text(text.as_str()),
                    Message::Binary(bytes) => EventRef::Binary(bytes),
                })
            }
            Some(other) => Some(EventRef::Other(other)),
            None => None,
        })
    }

    /// The one failure path: queue the close frame that answers `error`,
    /// stop processing input, and mark the connection closed uncleanly
    /// (RFC 6455 §7.1.7 "Fail the WebSocket Connection").
    fn fail(&mut self, error: &ProtocolError) {
        self.input_done = true;
        if self.state.is_open() {
            let frame = CloseFrame::new(error.close_code(), error.reason());
            self.write.queue_close(&frame, &mut *self.rng, self.role);
        }
        self.state = State::Closed { clean: false };
    }

    // ----- output -----

    /// Bytes waiting to be written to the transport.
    #[must_use]
    pub fn pending_output(&self) -> &[u8] {
        self.write.pending()
    }

    /// How many bytes of output are pending, over all chunks.
    #[must_use]
    pub fn output_len(&self) -> usize {
        self.write.pending().len()
    }

    /// The first contiguous chunk of pending output; empty exactly when
    /// nothing is pending. Write what the transport takes and report it with
    /// [`advance_output`](Self::advance_output).
    #[must_use]
    pub fn output_chunk(&self) -> &[u8] {
        self.write.pending()
    }

    /// Every chunk of pending output, in wire order (for transports that
    /// gather several buffers per write).
    pub fn output_chunks(&self) -> impl Iterator<Item = &[u8]> {
        let chunk = self.write.pending();
        (!chunk.is_empty()).then_some(chunk).into_iter()
    }

    /// Fill `dst` with the pending chunks for one vectored write; returns
    /// how many slices were filled.
    #[cfg(feature = "std")]
    pub fn output_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slot, chunk) in dst.iter_mut().zip(self.output_chunks()) {
            *slot = std::io::IoSlice::new(chunk);
            filled += 1;
        }
        filled
    }

    /// Write pending output to `w` with one vectored write and advance by
    /// what it took. `Ok(0)` when nothing is pending.
    #[cfg(feature = "std")]
    pub fn write_output<W: std::io::Write + ?Sized>(
        &mut self,
        w: &mut W,
    ) -> std::io::Result<usize> {
        if !self.has_pending_output() {
            return Ok(0);
        }
        let mut slices = [std::io::IoSlice::new(&[]); 16];
        let count = self.output_vectored(&mut slices);
        let written = w.write_vectored(&slices[..count])?;
        self.advance_output(written);
        Ok(written)
    }

    /// `n` bytes of [`pending_output`](Self::pending_output) were written.
    pub fn advance_output(&mut self, n: usize) {
        self.write.advance(n);
    }

    /// Whether there is output to write.
    pub fn has_pending_output(&self) -> bool {
        !self.write.pending().is_empty()
    }

    /// Bytes of input received but not yet turned into events.
    pub fn buffered_input(&self) -> usize {
        self.read.unread_len()
    }

    /// Free what an idle connection does not need: the input and output
    /// buffers if they hold nothing, and, with permessage-deflate's
    /// `DeflateConfig::release_when_idle` (the default), its zlib streams, keeping only the LZ77
    /// window context takeover must remember (the inflater only when no
    /// input is buffered and no compressed message is half received). The
    /// next input, send or compressed message allocates or restores what it
    /// needs. Event-loop adapters serving many mostly idle connections call
    /// this whenever a socket has drained its input or its output.
    pub fn shrink_buffers(&mut self) {
        self.read.shrink();
        self.write.shrink();
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &mut self.deflate {
            deflate.release(self.read.unread_len() == 0);
        }
    }

    /// Remove and return all pending output at once (for callers that hand
    /// whole buffers to their transport).
    pub fn take_output(&mut self) -> BytesMut {
        self.write.take()
    }
}

#[cfg(test)]
mod tests;
