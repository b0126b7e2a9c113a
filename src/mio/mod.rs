//! A non-blocking WebSocket for a [mio] event loop (feature `mio`).
//!
//! One [`WebSocket`] per socket, opening handshake included, over any
//! [`Transport`] (`Read + Write + mio::event::Source`: a `mio::net::TcpStream`
//! or a TLS stream wrapping one). It is a thin loop around the sans-IO
//! [`Connection`](crate::Connection); the event loop drives it with four
//! calls after every readiness event for its token:
//!
//! 1. [`ready`](WebSocket::ready): note what mio reported;
//! 2. [`poll_event`](WebSocket::poll_event) until `Ok(None)`: reads until
//!    `WouldBlock`, decoding as it goes, and hands out each event as it
//!    becomes available ([`Event::Open`] when the handshake completes);
//!    react with [`send`](WebSocket::send) or [`close`](WebSocket::close);
//! 3. [`flush`](WebSocket::flush): writes pending output until
//!    `WouldBlock`, and re-registers so that **writable interest is held
//!    only while output is pending** (no wakeups for an idle socket);
//! 4. [`is_finished`](WebSocket::is_finished): the transport is closed,
//!    drop the socket.
//!
//! Call `flush` too after sending from outside an event (a broadcast).
//!
//! **Backpressure.** [`pending_output`](WebSocket::pending_output) is the
//! number of bytes queued. Once it reaches the
//! [`high_water_mark`](Options::high_water_mark), `send` hands the message
//! back as [`SendError::Full`] and queues nothing, and the socket stops
//! reading (a peer that does not read cannot make us buffer its input
//! either) until writing brings it back under the mark. Memory per
//! connection is thus bounded by the mark plus one message.
//!
//! **Deadlines.** Each socket runs a sans-IO [`Keepalive`](crate::Keepalive)
//! (handshake timeout, keepalive ping, pong timeout, close timeout; see
//! [`Timeouts`]). [`Timers`] keeps the next deadline of every socket so the
//! loop knows how long `poll` may sleep and which sockets are due.
//!
//! **Idle cost.** No buffer is held while nothing is in flight: input is
//! read into a buffer allocated when data arrives, and both buffers are
//! released once drained (see [`Connection::shrink_buffers`]); so are the
//! permessage-deflate streams, keeping only the LZ77 window context
//! takeover needs (see [`DeflateConfig::release_when_idle`]). Sockets of
//! one thread with equal [`Options::config`] share one copy of it.
//!
//! [`DeflateConfig::release_when_idle`]: crate::deflate::DeflateConfig::release_when_idle
//!
//! **TLS** (feature `rustls` too): `TlsStream` runs a rustls session over
//! a `mio::net::TcpStream`; `WebSocket::connect_tls` opens `wss://`, and a
//! server wraps each accepted socket in a `TlsServerStream`. TLS buffers
//! on its own and may need to write while the application only reads
//! ([`Transport::wants_write`]); the adapter keeps writable interest for it.
//!
//! [`Connection::shrink_buffers`]: crate::Connection::shrink_buffers

mod socket;
mod timers;
#[cfg(feature = "rustls")]
mod tls;
mod transport;

pub use crate::blocking::Rejection;
pub use crate::timer::{Timeout, Timeouts};
pub use socket::WebSocket;
pub use timers::Timers;
#[cfg(feature = "rustls")]
pub use tls::{TlsClientStream, TlsServerStream, TlsStream};
pub use transport::Transport;

use crate::close::CloseFrame;
use crate::config::Config;
use crate::connection::Fragment;
use crate::handshake::{AcceptOptions, Request};
use crate::message::Message;
use bytes::Bytes;
use core::fmt;

/// Pending output at which [`WebSocket::send`] starts refusing messages,
/// unless [`Options::high_water_mark`] says otherwise.
pub const DEFAULT_HIGH_WATER_MARK: usize = 256 * 1024;

/// How a server decides on an upgrade request: pick a subprotocol and
/// extra headers, or refuse with an HTTP status.
pub type Decide = fn(&Request) -> Result<AcceptOptions, Rejection>;

/// Settings for sockets driven by this adapter.
#[derive(Clone, Debug)]
pub struct Options {
    /// Limits and behaviour of the WebSocket connection.
    pub config: Config,
    /// Handshake, keepalive and close deadlines.
    pub timeouts: Timeouts,
    /// Pending output (bytes) at which `send` returns [`SendError::Full`].
    /// The check is made before queueing, so one message larger than the
    /// mark still goes out when the buffer is below it.
    pub high_water_mark: usize,
    /// Server side: the decision on each upgrade request (default: accept
    /// every valid request with no subprotocol).
    pub decide: Decide,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config::default(),
            timeouts: Timeouts::default(),
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
            decide: |_| Ok(AcceptOptions::default()),
        }
    }
}

/// Something that happened on a [`WebSocket`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The opening handshake completed: messages may be sent.
    Open,
    /// A whole text or binary message.
    Message(Message),
    /// Part of a message, in [`Config::streaming`] mode.
    Fragment(Fragment),
    /// A ping (already answered when [`Config::auto_pong`] is on).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame; the reply is already queued.
    Close(Option<CloseFrame>),
}

impl From<crate::Event> for Event {
    fn from(event: crate::Event) -> Self {
        match event {
            crate::Event::Message(m) => Event::Message(m),
            crate::Event::Fragment(f) => Event::Fragment(f),
            crate::Event::Ping(p) => Event::Ping(p),
            crate::Event::Pong(p) => Event::Pong(p),
            crate::Event::Close(c) => Event::Close(c),
        }
    }
}

/// Why [`WebSocket::send`] did not queue a message; the message is handed
/// back either way, so nothing is lost.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// Pending output is at the high-water mark: try again once
    /// [`WebSocket::flush`] brought it down (after a writable event).
    Full(Message),
    /// The connection is not open: its handshake is not done, or a close
    /// frame was already sent or received.
    NotOpen(Message),
}

impl SendError {
    /// The message that was not sent.
    pub fn into_message(self) -> Message {
        match self {
            SendError::Full(m) | SendError::NotOpen(m) => m,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Full(_) => f.write_str("outgoing buffer at its high-water mark"),
            SendError::NotOpen(_) => f.write_str("connection is not open"),
        }
    }
}

impl std::error::Error for SendError {}
