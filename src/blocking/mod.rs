//! A blocking WebSocket over any [`BlockingTransport`] (`Read + Write`): TCP, Unix
//! sockets, TLS streams.
//!
//! With the `rustls` feature, [`connect`] also takes `wss://` URLs
//! (verified against the Mozilla roots compiled into the crate),
//! `connect_tls` takes your own `rustls::ClientConfig`, and `accept_tls`
//! serves `wss://` with your certificate.
//!
//! A thin loop around the sans-IO [`Connection`]: read bytes into it, take
//! events out, write its pending output. Timeouts come from the stream's own
//! (`TcpStream::set_read_timeout`); a timed-out or interrupted read loses
//! nothing, and the next call carries on where it stopped.
//!
//! ```no_run
//! use rfc6455::{blocking, Message, CloseCode};
//! let mut ws = blocking::connect("ws://127.0.0.1:9001/chat")?;
//! ws.send(Message::text("hello"))?;
//! let reply = ws.read()?;
//! println!("{}", reply.as_text().unwrap_or("<binary>"));
//! ws.close(CloseCode::NORMAL, "bye")?;
//! # Ok::<(), rfc6455::Error>(())
//! ```

mod handshake;
mod proxy;
mod split;
mod stream;
#[cfg(feature = "rustls")]
mod tls;
mod transport;

#[cfg(feature = "tokio")]
pub(crate) use handshake::answer;
pub use handshake::{
    accept, accept_with, client, connect, connect_with, Rejection, HANDSHAKE_TIMEOUT,
};
#[cfg(all(feature = "rustls", any(feature = "mio", feature = "tokio")))]
pub(crate) use proxy::proxy_session;
#[cfg(any(feature = "mio", feature = "tokio"))]
pub(crate) use proxy::ProxyTls;
pub use split::{ReadHalf, Splittable, WriteHalf};
pub use stream::MaybeTlsStream;
#[cfg(all(feature = "rustls", any(feature = "mio", feature = "tokio")))]
pub(crate) use tls::client_session;
#[cfg(feature = "rustls")]
pub use tls::{
    accept_tls, accept_tls_with, connect_tls, default_tls_config, tls_config_with_roots,
    TlsClientStream, TlsServerStream,
};
#[cfg(all(feature = "rustls", feature = "tokio"))]
pub(crate) use tls::{check_alpn, receive_early};
pub use transport::BlockingTransport;

/// The old name of [`BlockingTransport`], kept so code written for 0.1
/// compiles.
#[doc(hidden)]
pub use transport::BlockingTransport as Transport;

use crate::close::{CloseCode, CloseFrame};
use crate::connection::{Connection, Event, Role, State};
use crate::error::Error;
use crate::handshake::{Request, ServerResponse};
use crate::message::{Message, MessageKind};
use crate::upgrade::Opened;
use std::io;
use std::time::Duration;

/// How long a client waits for the server to close the TCP connection after
/// the close handshake (RFC 6455 §7.1.1) before closing it itself.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Bytes asked of the transport per read.
const READ_CHUNK: usize = 64 * 1024;

/// A WebSocket over a blocking stream.
///
/// Made by [`connect`], [`connect_with`], [`client`] (client side) or
/// [`accept`], [`accept_with`] (server side). [`read`](Self::read) blocks
/// for the next message, answering pings and the peer's close on the way;
/// [`send`](Self::send) writes one. To read and write from two threads,
/// [`split`](Self::split) it.
///
/// ```
/// use rfc6455::{blocking, CloseCode, Message};
/// use std::net::TcpListener;
///
/// // A server on a free port that echoes one message.
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let url = format!("ws://{}/echo", listener.local_addr()?);
/// let server = std::thread::spawn(move || -> Result<(), rfc6455::Error> {
///     let (tcp, _) = listener.accept()?;
///     let mut ws = blocking::accept(tcp)?;
///     assert_eq!(ws.request().map(|r| r.path()), Some("/echo"));
///     let message = ws.read()?;
///     ws.send(message)?;
///     ws.close_and_wait(CloseCode::NORMAL, "done")?;
///     Ok(())
/// });
///
/// let mut ws = blocking::connect(&url)?;
/// assert_eq!(ws.response().map(|r| r.status), Some(101));
/// ws.send(Message::text("hello"))?;
/// assert_eq!(ws.read()?.as_text(), Some("hello"));
/// assert!(ws.read().unwrap_err().is_closed()); // the server closed
/// server.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct WebSocket<S: BlockingTransport> {
    stream: S,
    conn: Connection,
    opened: Opened,
    scratch: Vec<u8>,
    transport_closed: bool,
}

impl<S: BlockingTransport> WebSocket<S> {
    /// Wrap a stream whose handshake is already done, with a connection
    /// built for it (see [`ClientUpgrade`](crate::ClientUpgrade) and
    /// [`ServerUpgrade`](crate::ServerUpgrade)).
    ///
    /// ```
    /// use rfc6455::blocking::WebSocket;
    /// use rfc6455::{Config, Connection, Role};
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// // Both ends of a TCP connection, handshake done elsewhere (or not needed).
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let a = TcpStream::connect(listener.local_addr()?)?;
    /// let (b, _) = listener.accept()?;
    /// let mut client = WebSocket::from_parts(a, Connection::new(Role::Client, Config::default()), None);
    /// let mut server = WebSocket::from_parts(b, Connection::new(Role::Server, Config::default()), None);
    /// client.send("pre-arranged")?;
    /// assert_eq!(server.read()?.as_text(), Some("pre-arranged"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_parts(stream: S, conn: Connection, protocol: Option<String>) -> Self {
        Self::opened(
            stream,
            conn,
            Opened {
                protocol,
                ..Opened::default()
            },
        )
    }

    pub(crate) fn opened(stream: S, conn: Connection, opened: Opened) -> Self {
        WebSocket {
            stream,
            conn,
            opened,
            scratch: Vec::new(),
            transport_closed: false,
        }
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.opened.protocol.as_deref()
    }

    /// Client side: the server's `101` response (status and headers).
    /// `None` on a server-side socket, or one made with
    /// [`from_parts`](Self::from_parts).
    pub fn response(&self) -> Option<&ServerResponse> {
        self.opened.response.as_ref()
    }

    /// Server side: the upgrade request that was accepted (path, query,
    /// headers such as cookies), kept for the application's
    /// per-connection decisions. `None` on a client-side socket.
    pub fn request(&self) -> Option<&Request> {
        self.opened.request.as_ref()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream, mutably (e.g. to set timeouts). Reading from
    /// or writing to it directly corrupts the WebSocket stream.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     loop { let message = ws.read()?; ws.send(message)?; }
    /// # });
    /// # let mut ws = rfc6455::blocking::connect(&url)?;
    /// use std::time::Duration;
    /// ws.get_mut().set_read_timeout(Some(Duration::from_millis(50)))?;
    /// let error = ws.read().unwrap_err(); // nothing comes: a timeout, nothing lost
    /// assert!(error.is_timeout());
    /// ws.send("still here")?;
    /// assert_eq!(ws.read()?.as_text(), Some("still here"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The sans-IO connection, for its state and configuration.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Give back the stream.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// The current connection state (never
    /// [`Connecting`](State::Connecting): the handshake is done when this
    /// socket exists).
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// The next message. Pings are answered and the peer's close is
    /// replied to along the way. Once the connection is over this returns
    /// [`Error::Closed`], every time.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     loop { let message = ws.read()?; ws.send(message)?; }
    /// # });
    /// # let mut ws = rfc6455::blocking::connect(&url)?;
    /// use rfc6455::Message;
    /// ws.send("question")?;
    /// let reply: Message = ws.read()?;
    /// assert_eq!(reply.as_text(), Some("question"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            match self.read_event()? {
                Event::Message(message) => return Ok(message),
                // Streaming mode: a piece of text may end inside a code
                // point, so every piece is handed out as bytes; use
                // read_event() to see kinds and message boundaries.
                Event::Fragment(fragment) => return Ok(Message::Binary(fragment.data)),
                Event::Ping(_) | Event::Pong(_) => continue,
                Event::Close(_) => continue,
            }
        }
    }

    /// The next event of any kind (pings, pongs, the peer's close and, in
    /// streaming mode, fragments included).
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     loop { let message = ws.read()?; ws.send(message)?; }
    /// # });
    /// # let mut ws = rfc6455::blocking::connect(&url)?;
    /// use rfc6455::Event;
    /// ws.send_ping(b"rtt")?;
    /// // Pongs are events: read() would skip them.
    /// assert_eq!(ws.read_event()?, Event::Pong("rtt".into()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_event(&mut self) -> Result<Event, Error> {
        loop {
            match self.conn.poll_event() {
                Ok(Some(event)) => {
                    if matches!(event, Event::Ping(_) | Event::Close(_)) {
                        // Send the pong or the close reply now.
                        self.flush()?;
                    }
                    if matches!(event, Event::Close(_)) {
                        self.finish_close()?;
                    }
                    return Ok(event);
                }
                Ok(None) => {}
                Err(error) => {
                    // The close frame for the violation is queued: send it,
                    // then drop the transport (RFC 6455 §7.1.7). If the
                    // transport would block, keep it: the next read()
                    // finishes the frame before closing (finish_close).
                    match self.flush() {
                        Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                        _ => self.close_transport(),
                    }
                    return Err(error);
                }
            }
            if self.conn.state().is_closed() {
                self.finish_close()?;
                return Err(self.closed_error());
            }
            self.fill()?;
        }
    }

    /// Read once from the transport into the connection (a large frame's
    /// rest straight into its buffer, see [`Connection::read_from`]).
    fn fill(&mut self) -> Result<(), Error> {
        if self.transport_closed {
            self.conn.receive_eof();
            return Ok(());
        }
        if self.scratch.len() < READ_CHUNK {
            self.scratch.resize(READ_CHUNK, 0);
        }
        loop {
            match self.conn.read_from(&mut self.stream, &mut self.scratch) {
                Ok((0, _)) => {
                    self.conn.receive_eof();
                    self.transport_closed = true;
                    return Ok(());
                }
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // TLS reports a TCP close without close_notify this way. A
                // truncation cannot forge a message (the WebSocket closing
                // handshake, or its absence, tells), so treat it as the end
                // of the stream: the state then says whether it was clean.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.conn.receive_eof();
                    self.transport_closed = true;
                    return Ok(());
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
    }

    /// After the close handshake: the server closes the transport at once;
    /// a client waits (bounded by [`CLOSE_WAIT`]) for the server to do so.
    fn finish_close(&mut self) -> Result<(), Error> {
        if self.transport_closed {
            return Ok(());
        }
        // Output that would block stays queued (e.g. the close reply on a
        // non-blocking transport): report it instead of shutting down over
        // it, so the caller's retry of read() finishes the write first.
        // Other write errors cannot be helped; the transport goes anyway.
        if let Err(Error::Io(e)) = self.flush() {
            if e.kind() == io::ErrorKind::WouldBlock {
                return Err(Error::Io(e));
            }
        }
        if self.conn.role() == Role::Client && self.conn.state() == (State::Closed { clean: true })
        {
            let previous = self.stream.read_timeout().ok().flatten();
            let _ = self.stream.set_read_timeout(Some(CLOSE_WAIT));
            let mut sink = [0u8; 1024];
            // Anything after the server's close frame is discarded; bound
            // the bytes as well as the time.
            for _ in 0..64 {
                match self.stream.read(&mut sink) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
            let _ = self.stream.set_read_timeout(previous);
        }
        self.close_transport();
        Ok(())
    }

    fn close_transport(&mut self) {
        if !self.transport_closed {
            let _ = self.stream.shutdown();
            self.transport_closed = true;
        }
    }

    fn closed_error(&self) -> Error {
        self.conn.closed_error()
    }

    /// Send a message and flush it. Anything that converts into a
    /// [`Message`] will do: `&str` and `String` send text, `Vec<u8>`,
    /// `&[u8]` and [`Bytes`](bytes::Bytes) send binary.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.write(message)?;
        self.flush()
    }

    /// Queue a message without flushing, to batch several into one write.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     loop { let message = ws.read()?; ws.send(message)?; }
    /// # });
    /// # let mut ws = rfc6455::blocking::connect(&url)?;
    /// // Three messages, one write to the socket.
    /// for i in 0..3 {
    ///     ws.write(format!("batched {i}"))?;
    /// }
    /// ws.flush()?;
    /// for i in 0..3 {
    ///     assert_eq!(ws.read()?.as_text(), Some(format!("batched {i}").as_str()));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        match self.conn.send(message.into()) {
            Err(Error::SendAfterClose) if self.conn.state().is_closed() => Err(self.closed_error()),
            other => other,
        }
    }

    /// Send a ping (at most 125 bytes) and flush it.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     loop { let message = ws.read()?; ws.send(message)?; }
    /// # });
    /// # let mut ws = rfc6455::blocking::connect(&url)?;
    /// ws.send_ping(b"")?; // the pong comes back as an event (read_event)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_ping(payload)?;
        self.flush()
    }

    /// Send an unsolicited pong (at most 125 bytes; a heartbeat that needs
    /// no answer, RFC 6455 §5.5.3) and flush it. Pings are answered
    /// automatically while [`Config::auto_pong`](crate::Config::auto_pong)
    /// is on.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     loop { let message = ws.read()?; ws.send(message)?; }
    /// # });
    /// # let mut ws = rfc6455::blocking::connect(&url)?;
    /// ws.send_pong(b"heartbeat")?; // needs no answer
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_pong(payload)?;
        self.flush()
    }

    /// Send one piece of a message streamed piece by piece, and flush it:
    /// the first call starts a message of `kind`, `last` ends it. For
    /// messages too large to hold whole, or produced as they go. Pings may
    /// be sent in between; other messages wait for the last piece.
    ///
    /// ```no_run
    /// # let mut ws = rfc6455::blocking::connect("ws://127.0.0.1:9001")?;
    /// use rfc6455::MessageKind;
    /// ws.send_fragment(MessageKind::Text, b"a long ", false)?;
    /// ws.send_fragment(MessageKind::Text, b"story", true)?;
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        last: bool,
    ) -> Result<(), Error> {
        self.conn.send_fragment(kind, data, last)?;
        self.flush()
    }

    /// Write all queued output, each write a vectored one over the queued
    /// chunks (small frames coalesced, large payloads as they were sent). A
    /// partial write or `WouldBlock` keeps the rest queued for the next call.
    pub fn flush(&mut self) -> Result<(), Error> {
        while self.conn.has_pending_output() {
            match self.conn.write_output(&mut self.stream) {
                Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from(e)),
            }
        }
        self.stream.flush().map_err(Error::from)
    }

    /// Start the close handshake. Keep calling [`read`](Self::read) until it
    /// returns [`Error::Closed`] to receive the peer's reply (messages that
    /// were already in flight arrive first).
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     loop { let message = ws.read()?; ws.send(message)?; }
    /// # });
    /// # let mut ws = rfc6455::blocking::connect(&url)?;
    /// use rfc6455::{ClosedBy, CloseCode, Error};
    /// ws.close(CloseCode::NORMAL, "done")?;
    /// loop {
    ///     match ws.read() {
    ///         Ok(_late_message) => continue,
    ///         Err(Error::Closed { by, clean, .. }) => {
    ///             assert_eq!((by, clean), (ClosedBy::Us, true));
    ///             break;
    ///         }
    ///         Err(e) => return Err(e.into()),
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(code, reason)?;
        self.flush()
    }

    /// Close and wait for the peer's close frame, discarding messages that
    /// arrive meanwhile. Returns the peer's close frame, if it sent a code.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     loop { let message = ws.read()?; ws.send(message)?; }
    /// # });
    /// # let mut ws = rfc6455::blocking::connect(&url)?;
    /// use rfc6455::CloseCode;
    /// let reply = ws.close_and_wait(CloseCode::GOING_AWAY, "shutting down")?;
    /// assert_eq!(reply.map(|frame| frame.code), Some(CloseCode::GOING_AWAY)); // echoed
    /// assert!(ws.state().is_closed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_and_wait(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<Option<CloseFrame>, Error> {
        self.close(code, reason)?;
        loop {
            match self.read_event() {
                Ok(Event::Close(frame)) => return Ok(frame),
                Ok(_) => continue,
                Err(Error::Closed { frame, .. }) => return Ok(frame),
                Err(e) => return Err(e),
            }
        }
    }
}
