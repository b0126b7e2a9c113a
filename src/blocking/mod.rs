//! A blocking WebSocket over any [`Transport`] (`Read + Write`): TCP, Unix
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
mod stream;
#[cfg(feature = "rustls")]
mod tls;
mod transport;

#[cfg(feature = "tokio")]
pub(crate) use handshake::answer;
pub use handshake::{
    accept, accept_with, client, connect, connect_with, Rejection, HANDSHAKE_TIMEOUT,
};
pub use stream::MaybeTlsStream;
#[cfg(all(feature = "rustls", feature = "tokio"))]
pub(crate) use tls::check_alpn;
#[cfg(all(feature = "rustls", any(feature = "mio", feature = "tokio")))]
pub(crate) use tls::client_session;
#[cfg(feature = "rustls")]
pub use tls::{
    accept_tls, accept_tls_with, connect_tls, default_tls_config, tls_config_with_roots,
    TlsClientStream, TlsServerStream,
};
pub use transport::Transport;

use crate::close::{CloseCode, CloseFrame};
use crate::connection::{Connection, Event, Role, State};
use crate::error::Error;
use crate::message::Message;
use std::io;
use std::time::Duration;

/// How long a client waits for the server to close the TCP connection after
/// the close handshake (RFC 6455 §7.1.1) before closing it itself.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Bytes asked of the transport per read.
const READ_CHUNK: usize = 64 * 1024;

/// A WebSocket over a blocking stream.
#[derive(Debug)]
pub struct WebSocket<S: Transport> {
    stream: S,
    conn: Connection,
    protocol: Option<String>,
    scratch: Vec<u8>,
    transport_closed: bool,
}

impl<S: Transport> WebSocket<S> {
    /// Wrap a stream whose handshake is already done, with a connection
    /// built for it (see [`ClientUpgrade`](crate::ClientUpgrade) and
    /// [`ServerUpgrade`](crate::ServerUpgrade)).
    pub fn from_parts(stream: S, conn: Connection, protocol: Option<String>) -> Self {
        WebSocket {
            stream,
            conn,
            protocol,
            scratch: Vec::new(),
            transport_closed: false,
        }
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream, mutably (e.g. to set timeouts). Reading from
    /// or writing to it directly corrupts the WebSocket stream.
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

    /// The current connection state.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// The next message. Pings are answered and the peer's close is
    /// replied to along the way. Once the connection is over this returns
    /// [`Error::Closed`], every time.
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

    /// Read once from the transport into the connection.
    fn fill(&mut self) -> Result<(), Error> {
        if self.transport_closed {
            self.conn.receive_eof();
            return Ok(());
        }
        if self.scratch.len() < READ_CHUNK {
            self.scratch.resize(READ_CHUNK, 0);
        }
        loop {
            match self.stream.read(&mut self.scratch) {
                Ok(0) => {
                    self.conn.receive_eof();
                    self.transport_closed = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.conn.receive(&self.scratch[..n]);
                    return Ok(());
                }
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
        let (frame, clean) = match self.conn.state() {
            State::Closed { clean } => (self.conn.peer_close_frame().cloned().flatten(), clean),
            _ => (None, false),
        };
        Error::Closed { frame, clean }
    }

    /// Send a message and flush it.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.write(message)?;
        self.flush()
    }

    /// Queue a message without flushing, to batch several into one write.
    pub fn write(&mut self, message: Message) -> Result<(), Error> {
        match self.conn.send(message) {
            Err(Error::SendAfterClose) if self.conn.state().is_closed() => Err(self.closed_error()),
            other => other,
        }
    }

    /// Send a ping and flush it.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_ping(payload)?;
        self.flush()
    }

    /// Write all queued output. A partial write or `WouldBlock` keeps the
    /// rest queued for the next call.
    pub fn flush(&mut self) -> Result<(), Error> {
        while self.conn.has_pending_output() {
            match self.stream.write(self.conn.pending_output()) {
                Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.conn.advance_output(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from(e)),
            }
        }
        self.stream.flush().map_err(Error::from)
    }

    /// Start the close handshake. Keep calling [`read`](Self::read) until it
    /// returns [`Error::Closed`] to receive the peer's reply (messages that
    /// were already in flight arrive first).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(code, reason)?;
        self.flush()
    }

    /// Close and wait for the peer's close frame, discarding messages that
    /// arrive meanwhile. Returns the peer's close frame, if it sent a code.
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
