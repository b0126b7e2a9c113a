//! A non-blocking WebSocket for a [mio] event loop (feature `mio`).
//!
//! One [`WebSocket`] per socket, opening handshake included, over any
//! [`MioTransport`] (`Read + Write + mio::event::Source`: a `mio::net::TcpStream`
//! or a TLS stream wrapping one). It is a thin loop around the sans-IO
//! [`Connection`](crate::Connection); the event loop drives it with four
//! calls after every readiness event for its token:
//!
//! 1. [`ready`](WebSocket::ready): note what mio reported;
//! 2. [`poll_event`](WebSocket::poll_event) until `Ok(None)`: reads until
//!    `WouldBlock`, decoding as it goes, and hands out each event as it
//!    becomes available ([`SocketEvent::Open`] when the handshake completes);
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
//! a `mio::net::TcpStream` (or any other [`MioTransport`]);
//! `WebSocket::connect_tls` opens `wss://`, and a server wraps each
//! accepted socket in a `TlsServerStream`. TLS buffers on its own and may
//! need to write while the application only reads
//! ([`MioTransport::wants_write`]); the adapter keeps writable interest for it.
//!
//! **Proxies.** Clients go through the proxy
//! [`ClientOptions::proxy`](crate::ClientOptions::proxy) selects: HTTP
//! `CONNECT`, SOCKS5, and with `rustls` an `https://` proxy. Its exchange
//! runs beneath the WebSocket handshake (and the server's TLS) without
//! blocking. A client's stream is a [`ClientStream`]: TCP, or TLS to an
//! `https://` proxy carrying the tunnel, in which case a `wss://`
//! connection is a `TlsStream` over that `TlsStream` (TLS inside TLS).
//!
//! [`Connection::shrink_buffers`]: crate::Connection::shrink_buffers

mod proxy;
mod route;
mod socket;
mod timers;
#[cfg(feature = "rustls")]
mod tls;
mod transport;

pub use crate::blocking::Rejection;
pub use crate::timer::{Timeout, Timeouts};
pub use route::ClientStream;
pub use socket::WebSocket;
pub use timers::Timers;
#[cfg(feature = "rustls")]
pub use tls::{TlsClientStream, TlsServerStream, TlsStream};
pub use transport::MioTransport;

/// The mio this crate was built with, for the `Poll`, `Registry` and
/// sockets this adapter takes: no version to match by hand.
pub use ::mio;

/// The old name of [`MioTransport`], kept so code written for 0.1 compiles.
#[doc(hidden)]
pub use transport::MioTransport as Transport;

/// The old name of [`SocketEvent`], kept so code written for 0.1 compiles.
#[doc(hidden)]
pub use SocketEvent as Event;

use crate::close::CloseFrame;
use crate::config::Config;
use crate::connection::Fragment;
use crate::handshake::{AcceptOptions, Request};
use crate::message::Message;
use bytes::Bytes;
use core::fmt;
use std::sync::Arc;

/// Pending output at which [`WebSocket::send`] starts refusing messages,
/// unless [`Options::high_water_mark`] says otherwise.
pub const DEFAULT_HIGH_WATER_MARK: usize = 256 * 1024;

/// How a server decides on an upgrade request: pick a subprotocol and
/// extra headers, or refuse with an HTTP status. A closure, so it can
/// consult runtime state (shared configuration, a table of users);
/// the accepted request stays available from [`WebSocket::request`].
pub type Decide = Arc<dyn Fn(&Request) -> Result<AcceptOptions, Rejection> + Send + Sync>;

/// Settings for sockets driven by this adapter.
///
/// ```
/// use rfc6455::mio::{Options, Rejection};
/// use rfc6455::AcceptOptions;
/// use std::collections::HashSet;
/// use std::sync::Arc;
///
/// // Runtime state the decision consults: the tokens allowed in.
/// let allowed: HashSet<String> = ["alice-token".to_string()].into();
/// let options = Options::default().decide(move |request| {
///     match request.header("authorization") {
///         Some(token) if allowed.contains(token) => Ok(AcceptOptions::default()),
///         _ => Err(Rejection::new(401, "who are you?")),
///     }
/// });
/// assert_eq!(options.high_water_mark, rfc6455::mio::DEFAULT_HIGH_WATER_MARK);
/// ```
#[derive(Clone)]
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
    /// Server side: keep the accepted request for
    /// [`WebSocket::request`] (path, query, headers). Off by default: a
    /// browser's request costs each connection about 600 bytes for its
    /// life, and most servers need only what `decide` already saw.
    pub keep_request: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config::default(),
            timeouts: Timeouts::default(),
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
            decide: Arc::new(|_| Ok(AcceptOptions::default())),
            keep_request: false,
        }
    }
}

impl Options {
    /// These options with `decide` as the server's decision on upgrade
    /// requests.
    pub fn decide<F>(mut self, decide: F) -> Self
    where
        F: Fn(&Request) -> Result<AcceptOptions, Rejection> + Send + Sync + 'static,
    {
        self.decide = Arc::new(decide);
        self
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("config", &self.config)
            .field("timeouts", &self.timeouts)
            .field("high_water_mark", &self.high_water_mark)
            .field("keep_request", &self.keep_request)
            .finish_non_exhaustive()
    }
}

/// Something that happened on a [`WebSocket`]: the crate's
/// [`Event`](crate::Event)s, plus [`Open`](SocketEvent::Open) when the
/// opening handshake completes.
///
/// ```
/// use rfc6455::mio::{Options, SocketEvent, WebSocket};
/// use rfc6455::ClientOptions;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// let mut ws = WebSocket::connect(&url, ClientOptions::default(), &Options::default())?;
/// # let _ = &listener;
/// // In the event loop, after ready():
/// while let Some(event) = ws.poll_event()? {
///     match event {
///         SocketEvent::Open => { ws.send("hello").ok(); }
///         SocketEvent::Message(message) => println!("{message:?}"),
///         SocketEvent::Close(frame) => println!("peer closed: {frame:?}"),
///         _ => {}
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketEvent {
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

impl From<crate::Event> for SocketEvent {
    fn from(event: crate::Event) -> Self {
        match event {
            crate::Event::Message(m) => SocketEvent::Message(m),
            crate::Event::Fragment(f) => SocketEvent::Fragment(f),
            crate::Event::Ping(p) => SocketEvent::Ping(p),
            crate::Event::Pong(p) => SocketEvent::Pong(p),
            crate::Event::Close(c) => SocketEvent::Close(c),
        }
    }
}

/// Why [`WebSocket::send`] did not queue a message; the message is handed
/// back either way, so nothing is lost.
///
/// ```
/// use rfc6455::mio::{SendError, WebSocket, Options};
/// use rfc6455::{ClientOptions, Message};
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// let mut ws = WebSocket::connect(&url, ClientOptions::default(), &Options::default())?;
/// // Not open yet: the message comes back, nothing is lost.
/// match ws.send("too early") {
///     Err(SendError::NotOpen(message)) => assert_eq!(message, Message::text("too early")),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    ///
    /// ```
    /// use rfc6455::mio::SendError;
    /// use rfc6455::Message;
    /// let refused = SendError::Full(Message::text("later"));
    /// let mut backlog = vec![refused.into_message()]; // send it after a flush
    /// assert_eq!(backlog.pop(), Some(Message::text("later")));
    /// ```
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
