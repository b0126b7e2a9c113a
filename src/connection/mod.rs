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
//! - **output**: a queue of chunks (small frames coalesced, a server's
//!   large payloads shared without a copy): write them with
//!   `write_output` (one vectored write to a `std::io::Write`), or write
//!   [`output_chunk`](Connection::output_chunk) (or all
//!   [`output_chunks`](Connection::output_chunks)) any way and report
//!   [`advance_output`](Connection::advance_output).
//!
//! Every protocol violation by the peer queues the matching close frame
//! before the error is returned, so an adapter only has to flush and then
//! close the transport. The opening handshake happens before a `Connection`
//! exists (see [`handshake`](crate::handshake)).

#[cfg(feature = "std")]
mod io;
mod output;
mod pool;
mod prepared;
mod read;
mod write;

pub use prepared::PreparedMessage;
#[cfg(feature = "tokio")]
pub(crate) use read::ShortMessage;
#[cfg(any(feature = "tokio", test))]
pub(crate) use read::SHORT_MAX;
#[cfg(feature = "tokio")]
pub(crate) use write::SHARE_MIN;
#[cfg(any(feature = "tokio", test))]
pub(crate) use write::SHORT_FRAME_MAX;

use crate::config::Config;
use crate::message::{Message, MessageKind};
use crate::rng::{FastRng, RandomSource};
use crate::{CloseFrame, ClosedBy, ProtocolError};
use alloc::boxed::Box;
use alloc::sync::Arc;
use bytes::{Bytes, BytesMut};

/// Which end of the connection we are: decides masking (RFC 6455 §5.1).
///
/// ```
/// use rfc6455::{Config, Connection, Role};
/// let mut client = Connection::new(Role::Client, Config::default());
/// client.send_text("hi")?;
/// let wire = client.take_output();
/// assert_eq!(wire[1] & 0x80, 0x80); // a client masks every frame
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Masks every frame it sends; rejects masked frames.
    Client,
    /// Never masks; rejects unmasked frames.
    Server,
}

/// Where the connection is in its life.
///
/// The same type answers `state()` on every socket: a sans-IO
/// [`Connection`] starts [`Open`](State::Open) (it exists once the
/// handshake is done), while an adapter's socket reports
/// [`Connecting`](State::Connecting) until its opening handshake completes.
///
/// ```
/// use rfc6455::{CloseCode, Config, Connection, Role, State};
///
/// let mut conn = Connection::new(Role::Client, Config::default());
/// assert!(conn.state().is_open());
/// conn.close(CloseCode::NORMAL, "done")?;
/// assert_eq!(conn.state(), State::Closing);
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The opening handshake is under way (adapters only: a [`Connection`]
    /// is created after it).
    Connecting,
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
    /// The opening handshake is not done yet.
    pub fn is_connecting(self) -> bool {
        self == State::Connecting
    }
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
///
/// ```
/// use rfc6455::{Config, Connection, Role};
/// let mut client = Connection::new(Role::Client, Config::default());
/// let mut server = Connection::new(Role::Server, Config::default());
/// use rfc6455::{CloseCode, Event};
/// client.send_ping(b"are you there?")?;
/// client.close(CloseCode::NORMAL, "done")?;
/// server.receive(&client.take_output());
/// assert_eq!(server.poll_event()?, Some(Event::Ping("are you there?".into())));
/// match server.poll_event()? {
///     Some(Event::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::NORMAL),
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(server.poll_event()?, None);
/// # Ok::<(), rfc6455::Error>(())
/// ```
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
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// use rfc6455::{Event, Message};
    /// client.send_text("keep me")?;
    /// server.receive(&client.take_output());
    /// let kept = server.poll_event_ref()?.expect("a message").into_owned();
    /// assert_eq!(kept, Event::Message(Message::text("keep me")));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn into_owned(self) -> Event {
        match self {
            EventRef::Text(text) => Event::Message(Message::text(text)),
            EventRef::Binary(bytes) => Event::Message(Message::binary(bytes.to_vec())),
            EventRef::Other(event) => event,
        }
    }
}

/// A piece of a message delivered as it arrives.
///
/// ```
/// use rfc6455::{Config, Connection, Event, MessageKind, Role};
/// let mut client = Connection::new(Role::Client, Config::default());
/// let config = Config { streaming: true, ..Config::default() };
/// let mut server = Connection::new(Role::Server, config);
/// client.send_fragment(MessageKind::Binary, b"part one", false)?;
/// client.send_fragment(MessageKind::Binary, b"part two", true)?;
/// server.receive(&client.take_output());
/// let mut pieces = Vec::new();
/// while let Some(Event::Fragment(fragment)) = server.poll_event()? {
///     pieces.push((fragment.first, fragment.last, fragment.data));
/// }
/// assert_eq!(pieces.len(), 2);
/// assert_eq!((pieces[0].0, pieces[1].1), (true, true));
/// # Ok::<(), rfc6455::Error>(())
/// ```
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
///
/// ```
/// use rfc6455::{Config, Connection, Event, Role};
///
/// // A server's loop over any byte transport: bytes in, events out, bytes out.
/// fn serve(conn: &mut Connection, received: &[u8], out: &mut Vec<u8>) -> Result<(), rfc6455::Error> {
///     conn.receive(received);
///     while let Some(event) = conn.poll_event()? {
///         if let Event::Message(message) = event {
///             conn.send(message)?; // echo
///         }
///     }
///     out.extend_from_slice(&conn.take_output());
///     Ok(())
/// }
///
/// let mut client = Connection::new(Role::Client, Config::default());
/// let mut server = Connection::new(Role::Server, Config::default());
/// client.send_text("echo me")?;
/// let mut reply = Vec::new();
/// serve(&mut server, &client.take_output(), &mut reply)?;
/// client.receive(&reply);
/// assert_eq!(client.poll_event()?, Some(Event::Message("echo me".into())));
/// # Ok::<(), rfc6455::Error>(())
/// ```
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
    /// Who ended the connection, once it is closed.
    closed_by: Option<ClosedBy>,
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
            .field("output_len", &self.output_len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection whose handshake is done, with the default random source
    /// for masking keys. `config` is a [`Config`], or an `Arc<Config>`
    /// shared with other connections (as the adapters do).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role, State};
    /// let conn = Connection::new(Role::Server, Config::default().with_max_size(1 << 16));
    /// assert_eq!((conn.role(), conn.state()), (Role::Server, State::Open));
    /// ```
    pub fn new(role: Role, config: impl Into<Arc<Config>>) -> Self {
        Self::with_source(role, config.into(), Rng::Fast(FastRng::new()))
    }

    /// A connection drawing masking keys from `rng` (deterministic tests, or
    /// a cryptographic source).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, FastRng, Role};
    /// let frames = |seed| {
    ///     let rng = Box::new(FastRng::from_seed(seed));
    ///     let mut client = Connection::with_rng(Role::Client, Config::default(), rng);
    ///     client.send_text("same").unwrap();
    ///     client.take_output()
    /// };
    /// assert_eq!(frames(9), frames(9)); // the same masking keys
    /// ```
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
            closed_by: None,
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

    /// The peer's close frame, once received with a status code. `None`
    /// before it arrives, and for a close frame without a code (reported
    /// as 1005); [`closed_by`](Self::closed_by) tells those apart.
    ///
    /// ```
    /// use rfc6455::{CloseCode, Config, Connection, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// client.receive(b"\x88\x05\x03\xe9bye"); // 1001 "bye" from the server
    /// while client.poll_event()?.is_some() {}
    /// let frame = client.peer_close_frame().expect("a close frame with a code");
    /// assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::GOING_AWAY, "bye"));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn peer_close_frame(&self) -> Option<&CloseFrame> {
        self.peer_close.as_deref().and_then(Option::as_ref)
    }

    /// Who ended the connection: `None` while it is open; [`ClosedBy::Us`]
    /// from our [`close`](Self::close) on (and after we failed it for a
    /// protocol error), [`ClosedBy::Peer`] when the peer's close frame came
    /// first, [`ClosedBy::Transport`] when the transport ended before the
    /// close handshake did.
    pub fn closed_by(&self) -> Option<ClosedBy> {
        match self.state {
            State::Connecting | State::Open => None,
            State::Closing => Some(ClosedBy::Us),
            State::Closed { .. } => self.closed_by,
        }
    }

    /// The [`Error::Closed`](crate::Error::Closed) that describes how this
    /// connection ended, for adapters to return once it is over.
    ///
    /// ```
    /// use rfc6455::{ClosedBy, Config, Connection, Error, Role};
    /// let mut conn = Connection::new(Role::Server, Config::default());
    /// conn.receive_eof();
    /// assert!(matches!(
    ///     conn.closed_error(),
    ///     Error::Closed { by: ClosedBy::Transport, clean: false, frame: None }
    /// ));
    /// ```
    pub fn closed_error(&self) -> crate::Error {
        crate::Error::Closed {
            frame: self.peer_close_frame().cloned(),
            clean: matches!(self.state, State::Closed { clean: true }),
            by: self.closed_by().unwrap_or(ClosedBy::Transport),
        }
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
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// use rfc6455::CloseCode;
    /// client.close(CloseCode::NORMAL, "")?;
    /// server.receive(&client.take_output());
    /// while server.poll_event()?.is_some() {}
    /// assert!(!server.should_close_transport()); // the close reply is not out yet
    /// let _reply = server.take_output();
    /// assert!(server.should_close_transport()); // RFC 6455 §7.1.1: server closes TCP first
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn should_close_transport(&self) -> bool {
        match self.state {
            State::Closed { clean } => {
                self.write.out.is_empty() && (self.role == Role::Server || !clean)
            }
            _ => false,
        }
    }

    // ----- input -----

    /// Hand in bytes received from the transport (one copy into the
    /// connection's buffer; see [`read_buf`](Self::read_buf) to avoid it).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// // A frame split anywhere decodes the same as in one piece.
    /// for byte in b"\x81\x05Hello" {
    ///     client.receive(&[*byte]);
    /// }
    /// assert_eq!(client.poll_event()?, Some(Event::Message("Hello".into())));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn receive(&mut self, data: &[u8]) {
        self.read.receive(data);
    }

    /// Hand in bytes received from the transport in a buffer of their own.
    /// When the connection holds no unread input (the common case at a
    /// message boundary) it keeps `data` as its input buffer, and the
    /// messages in it are split off without a copy; otherwise `data` is
    /// appended as [`receive`](Self::receive) appends.
    ///
    /// For transports that read into buffers they allocate (the tokio
    /// adapter reads into a per-thread arena and hands over what each
    /// large read filled). A message split off `data` keeps its whole
    /// allocation alive, as any [`Bytes`] does: hand over large reads this
    /// way, copy small ones with `receive`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use rfc6455::{Config, Connection, Event, Message, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let read = BytesMut::from(&b"\x82\x03abc\x82\x02d"[..]);
    /// let first_byte = read.as_ptr();
    /// client.receive_bytes(read);
    /// let Some(Event::Message(Message::Binary(abc))) = client.poll_event()? else {
    ///     panic!("a message")
    /// };
    /// assert_eq!((&abc[..], abc.as_ptr()), (&b"abc"[..], first_byte.wrapping_add(2)));
    /// client.receive_bytes(BytesMut::from(&b"e"[..])); // completes "de"
    /// assert_eq!(client.poll_event()?, Some(Event::Message(Message::binary(vec![b'd', b'e']))));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn receive_bytes(&mut self, data: BytesMut) {
        self.read.receive_owned(data);
    }

    /// A slice of at least `min` bytes at the end of the input buffer to
    /// read into; report how much was written with [`filled`](Self::filled).
    /// Its bytes are zeroed when first lent; room lent before and not
    /// filled is lent again as it was (a read's leftovers, never zeroed twice).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event, Role};
    /// use std::io::Read;
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut socket: &[u8] = b"\x82\x03abc"; // anything that implements Read
    /// let n = socket.read(client.read_buf(4096))?;
    /// client.filled(n);
    /// assert_eq!(client.poll_event()?, Some(Event::Message(vec![b'a', b'b', b'c'].into())));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        self.read.spare(min)
    }

    /// How many more bytes the frame being received needs to be complete;
    /// 0 between frames (or before its header is decoded). An adapter can
    /// size its next read to it: a large frame read straight into
    /// [`read_buf`](Self::read_buf), where the message will be split off
    /// without a copy, instead of through a scratch buffer.
    ///
    /// ```
    /// # use rfc6455::{Config, Connection, Role};
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// // A masked binary frame of 100,000 bytes: the header and 4 bytes.
    /// server.receive(&[0x82, 0xff, 0, 0, 0, 0, 0, 1, 0x86, 0xa0, 0, 0, 0, 0, 1, 2, 3, 4]);
    /// assert!(server.poll_event()?.is_none());
    /// assert_eq!(server.input_needed(), 100_000 - 4);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[must_use]
    pub fn input_needed(&self) -> usize {
        self.read.frame_missing()
    }

    /// `n` bytes were written into the slice from [`read_buf`](Self::read_buf).
    pub fn filled(&mut self, n: usize) {
        self.read.filled(n);
    }

    /// The transport reached end of stream. A close handshake that was not
    /// completed makes the close unclean (RFC 6455 §7.1.5: code 1006).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role, State};
    /// let mut conn = Connection::new(Role::Client, Config::default());
    /// conn.receive_eof(); // TCP ended with no close frame: abnormal (1006)
    /// assert_eq!(conn.state(), State::Closed { clean: false });
    /// ```
    pub fn receive_eof(&mut self) {
        self.input_done = true;
        if !self.state.is_closed() {
            self.closed_by = Some(ClosedBy::Transport);
            self.state = State::Closed { clean: false };
        }
    }

    /// The next event, `Ok(None)` when more input is needed (or none will
    /// come). A protocol error has queued its close frame when it is returned.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// use rfc6455::{Event, Message};
    /// client.send(Message::binary(vec![1, 2, 3]))?;
    /// client.send_text("two")?;
    /// server.receive(&client.take_output());
    /// let mut messages = Vec::new();
    /// while let Some(Event::Message(message)) = server.poll_event()? {
    ///     messages.push(message);
    /// }
    /// assert_eq!(messages, [Message::binary(vec![1, 2, 3]), Message::text("two")]);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
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
    /// server.receive(&client.take_output());
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
                let message = self.read.lent_message.insert(Box::new(message));
                Some(match &**message {
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
        if !self.state.is_closed() {
            self.closed_by = Some(ClosedBy::Us);
        }
        if self.state.is_open() {
            let frame = CloseFrame::new(error.close_code(), error.reason());
            self.write.queue_close(&frame, &mut *self.rng, self.role);
        }
        self.state = State::Closed { clean: false };
    }

    // ----- output -----
    //
    // Output is a queue of contiguous chunks in wire order: small frames
    // coalesced into one owned buffer, and the large payloads a server
    // sends as the application's own `Bytes` (no copy). Drive it with
    // whichever call fits the transport:
    //
    // - `write_output(&mut w)`: one vectored write to a `std::io::Write`,
    //   already advanced (the adapters' way);
    // - `output_chunk()` / `output_vectored(..)` or `output_chunks()`, then
    //   `advance_output(written)`: any transport, partial writes included;
    // - `take_output()`: everything as one buffer (a copy when a payload is
    //   shared), for tests and simple callers.

    /// How many bytes of output are pending, over all chunks (what the
    /// high-water mark [`Config::max_output_buffer`] counts, shared
    /// payloads included).
    #[must_use]
    pub fn output_len(&self) -> usize {
        self.write.out.len()
    }

    /// The first contiguous chunk of pending output; empty exactly when
    /// nothing is pending. Write what the transport takes and report it with
    /// [`advance_output`](Self::advance_output).
    ///
    /// ```
    /// # use rfc6455::{Config, Connection, Message, Role};
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send(Message::binary(vec![7u8; 4096]))?;
    /// let mut wire = Vec::new();
    /// while server.has_pending_output() {
    ///     let chunk = server.output_chunk();
    ///     let n = chunk.len().min(1000); // the transport took this much
    ///     wire.extend_from_slice(&chunk[..n]);
    ///     server.advance_output(n);
    /// }
    /// assert_eq!(&wire[..4], b"\x82\x7e\x10\x00");
    /// assert_eq!(wire.len(), 4 + 4096);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[must_use]
    pub fn output_chunk(&self) -> &[u8] {
        self.write.out.first_chunk()
    }

    /// Every chunk of pending output, in wire order, none of them empty
    /// (for transports that gather several buffers per write).
    pub fn output_chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.write.out.chunks()
    }

    /// Fill `dst` with the first pending chunks for one vectored write;
    /// returns how many slices were filled (0 when nothing is pending).
    #[cfg(feature = "std")]
    pub fn output_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slot, chunk) in dst.iter_mut().zip(self.output_chunks()) {
            *slot = std::io::IoSlice::new(chunk);
            filled += 1;
        }
        filled
    }

    /// Write pending output to `w` with one vectored write (a plain
    /// `write` when it is one chunk) and advance by what it took. `Ok(0)`
    /// when nothing is pending; errors (`WouldBlock` included) leave the
    /// output queued.
    ///
    /// ```
    /// # use rfc6455::{Config, Connection, Message, Role};
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send(Message::text("hi"))?;
    /// let mut socket = Vec::new();
    /// while server.write_output(&mut socket)? > 0 {}
    /// assert_eq!(socket, b"\x81\x02hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn write_output<W: std::io::Write + ?Sized>(
        &mut self,
        w: &mut W,
    ) -> std::io::Result<usize> {
        if !self.has_pending_output() {
            return Ok(0);
        }
        // One chunk (small frames, coalesced) is a plain write: on a socket
        // that is `send`, which skips the VFS layer and the iovec import
        // that `writev` goes through; and no slice list is built for it.
        if let Some(chunk) = self.sole_output_chunk() {
            let written = w.write(chunk)?;
            self.advance_output(written);
            return Ok(written);
        }
        let mut slices = [std::io::IoSlice::new(&[]); WRITE_SLICES];
        let count = self.output_vectored(&mut slices);
        let written = if count == 1 {
            w.write(&slices[0])?
        } else {
            w.write_vectored(&slices[..count])?
        };
        self.advance_output(written);
        Ok(written)
    }

    /// All pending output when it is one contiguous buffer (nothing queued
    /// shared), `None` otherwise: adapters write it without building a
    /// slice list. Empty when nothing is pending.
    #[cfg(feature = "std")]
    #[inline]
    pub(crate) fn sole_output_chunk(&self) -> Option<&[u8]> {
        self.write.out.sole_chunk()
    }

    /// `n` bytes of pending output were written (counted from the first
    /// chunk on, across chunks).
    pub fn advance_output(&mut self, n: usize) {
        self.write.advance(n);
    }

    /// Whether there is output to write.
    pub fn has_pending_output(&self) -> bool {
        !self.write.out.is_empty()
    }

    /// Remove and return all pending output as one contiguous buffer (a
    /// copy when a payload is queued shared): for tests and callers that
    /// hand whole buffers to their transport.
    pub fn take_output(&mut self) -> BytesMut {
        self.write.take()
    }

    /// Bytes of input received but not yet turned into events.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// client.receive(b"\x81\x05Hel"); // three payload bytes of five
    /// assert_eq!(client.poll_event()?, None);
    /// assert_eq!(client.buffered_input(), 3); // the header is decoded already
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
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
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// client.receive(b"\x81\x02hi");
    /// while client.poll_event()?.is_some() {}
    /// client.shrink_buffers(); // idle now: hold no buffer until the next bytes
    /// assert_eq!(client.buffered_input(), 0);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn shrink_buffers(&mut self) {
        self.read.shrink();
        self.write.shrink();
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &mut self.deflate {
            deflate.release(self.read.unread_len() == 0);
        }
    }
}

/// Slices per vectored write in [`Connection::write_output`]: Linux takes
/// up to 1024, but a queue rarely holds more than a few chunks (small
/// frames coalesce), and what does not fit goes in the next write.
#[cfg(feature = "std")]
const WRITE_SLICES: usize = 64;

#[cfg(test)]
mod tests;
