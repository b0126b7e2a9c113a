//! Reading and writing one blocking WebSocket from two threads.
//!
//! [`WebSocket::split`] turns an open socket over TCP (plain or rustls)
//! into a [`ReadHalf`] and a [`WriteHalf`], each with its own handle on the
//! socket (`TcpStream::try_clone`), so a read that blocks for minutes never
//! holds up a write.
//!
//! **Locks.** The halves share two mutexes, and neither is held while the
//! reader waits for the network:
//!
//! - the *session* lock guards the sans-IO [`Connection`] and, for TLS, the
//!   rustls session (which cannot be used from two threads at once). It is
//!   held only for work in memory: decrypting and decoding bytes that were
//!   already read, encoding and encrypting a message, taking the output.
//! - the *output* lock guards the writing handle. Whoever holds it takes
//!   the pending output under the session lock, lets go of that, and
//!   writes; so frames go out whole and in order, and a write that blocks
//!   on a full socket holds up only other writes.
//!
//! The reader reads raw bytes (TLS records or WebSocket frames) from its
//! own handle with no lock, then takes the session lock to hand them in and
//! decode events. Its automatic replies (pongs, the close reply, TLS alerts)
//! it writes itself only while the writer has nothing in flight; otherwise
//! the writer sends them right after its message, checking for more output
//! each time it lets go of the output lock. So the reader never writes the
//! writer's messages (which could block it for as long as the peer does not
//! read), and a reply never waits for the writer's next call.
//!
//! A message is encoded (masked, compressed, encrypted) under the session
//! lock, so the reader waits for as long as that takes; the writing, which
//! can take as long as the peer pleases, happens outside it.

use super::{BlockingTransport, MaybeTlsStream, WebSocket, CLOSE_WAIT, READ_CHUNK};
use crate::close::CloseCode;
use crate::connection::{Connection, Event, Role, State};
use crate::error::Error;
use crate::handshake::{Request, ServerResponse};
use crate::message::{Message, MessageKind};
use crate::upgrade::Opened;
use bytes::Bytes;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

/// The read half of a split [`WebSocket`]: receives messages, and answers
/// pings and the peer's close on the way.
///
/// ```
/// use rfc6455::blocking;
/// use std::time::Duration;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # std::thread::spawn(move || { let _ws = blocking::accept(listener.accept().unwrap().0); std::thread::sleep(Duration::from_secs(1)); });
/// let (mut reader, _writer) = blocking::connect(&url)?.split()?;
/// reader.set_read_timeout(Some(Duration::from_millis(20)))?;
/// assert!(reader.read().unwrap_err().is_timeout()); // and the reader carries on
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ReadHalf {
    shared: Arc<Shared>,
    sock: TcpStream,
    scratch: Vec<u8>,
    /// The transport is closed (or reached EOF): no more raw reads.
    done: bool,
}

/// The write half of a split [`WebSocket`]: sends messages, pings and the
/// close frame.
///
/// ```
/// use rfc6455::{blocking, Message};
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # std::thread::spawn(move || -> Result<(), rfc6455::Error> {
/// #     let mut ws = blocking::accept(listener.accept()?.0)?;
/// #     loop { let m = ws.read()?; ws.send(m)?; }
/// # });
/// let (mut reader, mut writer) = blocking::connect(&url)?.split()?;
/// let producer = std::thread::spawn(move || -> Result<(), rfc6455::Error> {
///     writer.send("from another thread")?;
///     writer.send(Message::binary(vec![1, 2, 3]))
/// });
/// assert_eq!(reader.read()?.as_text(), Some("from another thread"));
/// assert_eq!(reader.read()?.as_bytes(), &[1, 2, 3]);
/// producer.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct WriteHalf {
    shared: Arc<Shared>,
}

/// What both halves share.
#[derive(Debug)]
struct Shared {
    session: Mutex<Session>,
    out: Mutex<Outbound>,
    opened: Opened,
}

/// The protocol state, and the TLS session if there is one.
struct Session {
    conn: Connection,
    /// The writer queued output and has not finished writing it: the
    /// reader leaves pending output alone (it would otherwise block writing
    /// the writer's message), and the writer sends the reader's replies
    /// after it.
    writer_busy: bool,
    #[cfg(feature = "rustls")]
    tls: Option<rustls::Connection>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

/// The writing handle, and wire bytes a failed write left unsent (a write
/// timeout): they go out first next time, so the stream stays whole.
#[derive(Debug)]
struct Outbound {
    sock: TcpStream,
    unsent: Bytes,
}

/// Transports that [`WebSocket::split`] can divide: TCP, optionally under a
/// rustls session.
pub trait Splittable: BlockingTransport + sealed::Sealed {}

mod sealed {
    /// Only this crate's TCP-based streams can be split.
    pub trait Sealed {
        /// The TCP socket and the TLS session over it, if any; an error
        /// for a stream that is more than that.
        fn into_socket(self) -> Result<super::SocketParts, crate::Error>;
    }
}

/// A TCP socket and the TLS session over it.
#[doc(hidden)]
pub struct SocketParts {
    sock: TcpStream,
    #[cfg(feature = "rustls")]
    tls: Option<rustls::Connection>,
}

impl sealed::Sealed for TcpStream {
    fn into_socket(self) -> Result<SocketParts, Error> {
        Ok(SocketParts {
            sock: self,
            #[cfg(feature = "rustls")]
            tls: None,
        })
    }
}
impl Splittable for TcpStream {}

impl sealed::Sealed for MaybeTlsStream {
    fn into_socket(self) -> Result<SocketParts, Error> {
        match self {
            MaybeTlsStream::Plain(sock) => sock.into_socket(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => (*tls).into_socket(),
            // Two TLS sessions, one inside the other: not split.
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInTls(_) => Err(Error::Io(io::Error::new(
                io::ErrorKind::Unsupported,
                "split() does not take TLS inside TLS (wss:// through an https:// proxy)",
            ))),
        }
    }
}
impl Splittable for MaybeTlsStream {}

#[cfg(feature = "rustls")]
impl<C: Into<rustls::Connection>> sealed::Sealed for rustls::StreamOwned<C, TcpStream>
where
    Self: BlockingTransport,
{
    fn into_socket(self) -> Result<SocketParts, Error> {
        let rustls::StreamOwned { conn, sock } = self;
        Ok(SocketParts {
            sock,
            tls: Some(conn.into()),
        })
    }
}
#[cfg(feature = "rustls")]
impl<C: Into<rustls::Connection>> Splittable for rustls::StreamOwned<C, TcpStream> where
    Self: BlockingTransport
{
}

impl<S: Splittable> WebSocket<S> {
    /// Split into a [`ReadHalf`] and a [`WriteHalf`] that work at the same
    /// time from two threads, over TCP or TLS: a read that blocks holds no
    /// lock, so sends go out meanwhile, and the reader's pongs and close
    /// reply still go out.
    ///
    /// How: each half has its own handle on the socket
    /// (`TcpStream::try_clone`). The connection's state (and the rustls
    /// session, which one thread at a time may use) sits behind a lock held
    /// only for work in memory: the reader reads raw bytes with no lock,
    /// then decrypts and decodes them under it; a writer encodes and
    /// encrypts under it, lets go, and writes under a second lock that
    /// keeps frames whole and in order. The reader writes its automatic
    /// replies itself while the writer is idle; while a message of the
    /// writer's is in flight, the writer sends them right after it.
    ///
    /// The read timeout set on the socket (or on either half) bounds the
    /// reader's waits, as before the split. A `wss://` connection made
    /// through an `https://` proxy (TLS inside TLS) cannot be split: that
    /// fails with [`io::ErrorKind::Unsupported`].
    ///
    /// ```
    /// use rfc6455::{blocking, CloseCode, Message};
    /// use std::time::Duration;
    ///
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     let mut ws = blocking::accept(listener.accept().unwrap().0).unwrap();
    /// #     while let Ok(message) = ws.read() { let _ = ws.send(message); }
    /// # });
    /// let ws = blocking::connect(&url)?;
    /// let (mut reader, mut writer) = ws.split()?;
    ///
    /// // A ticker thread writes while this thread blocks in read().
    /// let ticker = std::thread::spawn(move || -> Result<(), rfc6455::Error> {
    ///     for i in 0..3 {
    ///         writer.send(Message::text(format!("tick {i}")))?;
    ///         std::thread::sleep(Duration::from_millis(10));
    ///     }
    ///     writer.close(CloseCode::NORMAL, "done")
    /// });
    /// let mut echoed = 0;
    /// loop {
    ///     match reader.read() {
    ///         Ok(_) => echoed += 1,
    ///         Err(e) if e.is_closed() => break,
    ///         Err(e) => return Err(e.into()),
    ///     }
    /// }
    /// ticker.join().unwrap()?;
    /// assert_eq!(echoed, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split(self) -> Result<(ReadHalf, WriteHalf), Error> {
        let WebSocket {
            stream,
            conn,
            opened,
            scratch,
            transport_closed,
        } = self;
        let parts = stream.into_socket()?;
        let writer = parts.sock.try_clone()?;
        let shared = Arc::new(Shared {
            session: Mutex::new(Session {
                conn,
                writer_busy: false,
                #[cfg(feature = "rustls")]
                tls: parts.tls,
            }),
            out: Mutex::new(Outbound {
                sock: writer,
                unsent: Bytes::new(),
            }),
            opened,
        });
        let reader = ReadHalf {
            shared: shared.clone(),
            sock: parts.sock,
            scratch,
            done: transport_closed,
        };
        Ok((reader, WriteHalf { shared }))
    }
}

/// Who flushes, which decides whether it may wait and what it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flusher {
    /// The read half, for its automatic replies: never waits for the
    /// output lock, and never writes a message the writer queued (which
    /// could block it for as long as the peer does not read).
    Reader,
    /// The write half: waits its turn and writes everything pending.
    Writer,
    /// Either half closing the transport: everything pending goes first.
    Closer,
}

/// Lock, carrying on after a panic in another thread: every critical
/// section leaves the state consistent between its steps.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Session {
    /// Hand in bytes read from the socket: decrypted first under TLS.
    fn receive(&mut self, data: &[u8]) -> Result<(), Error> {
        #[cfg(feature = "rustls")]
        if let Some(tls) = &mut self.tls {
            let mut rest = data;
            while !rest.is_empty() {
                if tls.read_tls(&mut rest)? == 0 {
                    break;
                }
                let processed = tls.process_new_packets();
                drain_plaintext(tls, &mut self.conn)?;
                processed?;
            }
            return Ok(());
        }
        self.conn.receive(data);
        Ok(())
    }

    /// The wire bytes to write next: the connection's pending output,
    /// encrypted under TLS (with TLS's own records). Empty when nothing
    /// is pending.
    fn take_wire(&mut self) -> Result<Bytes, Error> {
        #[cfg(feature = "rustls")]
        if let Some(tls) = &mut self.tls {
            let mut wire = Vec::new();
            loop {
                while tls.wants_write() {
                    tls.write_tls(&mut wire)?;
                }
                if !self.conn.has_pending_output() {
                    break;
                }
                // rustls takes plaintext up to its buffer limit; the
                // records it made were moved out above.
                match tls.writer().write(self.conn.output_chunk())? {
                    0 => break,
                    taken => self.conn.advance_output(taken),
                }
            }
            return Ok(Bytes::from(wire));
        }
        Ok(self.conn.take_output().freeze())
    }

    /// Whether anything waits to be written.
    fn wants_write(&self) -> bool {
        #[cfg(feature = "rustls")]
        if self.tls.as_ref().is_some_and(|tls| tls.wants_write()) {
            return true;
        }
        self.conn.has_pending_output()
    }
}

/// Move decrypted bytes into the connection; the peer's
/// `close_notify` ends the stream.
#[cfg(feature = "rustls")]
fn drain_plaintext(tls: &mut rustls::Connection, conn: &mut Connection) -> Result<(), Error> {
    // A TLS record carries at most 16 KiB of plaintext.
    let mut plain = [0u8; 16 * 1024];
    loop {
        match tls.reader().read(&mut plain) {
            Ok(0) => {
                conn.receive_eof();
                return Ok(());
            }
            Ok(n) => conn.receive(&plain[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(Error::from(e)),
        }
    }
}

impl Shared {
    fn session(&self) -> MutexGuard<'_, Session> {
        lock(&self.session)
    }

    /// Write pending output, as `by` may (see [`Flusher`]).
    fn flush(&self, by: Flusher) -> Result<(), Error> {
        let result = self.flush_as(by);
        if by == Flusher::Writer && result.is_err() {
            // A failed write ends the writer's turn: the reader writes its
            // own replies again (after what the failed write left).
            self.session().writer_busy = false;
        }
        result
    }

    fn flush_as(&self, by: Flusher) -> Result<(), Error> {
        loop {
            let mut out = if by == Flusher::Reader {
                match self.out.try_lock() {
                    Ok(out) => out,
                    Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                    // The holder writes what is pending before it stops
                    // (the check after `drop(out)` below).
                    Err(TryLockError::WouldBlock) => return Ok(()),
                }
            } else {
                lock(&self.out)
            };
            loop {
                if out.unsent.is_empty() {
                    let mut session = self.session();
                    if by == Flusher::Reader && session.writer_busy {
                        // A message the writer queued is pending: the
                        // writer sends it, and the reader's replies after it.
                        break;
                    }
                    out.unsent = session.take_wire()?;
                    if out.unsent.is_empty() {
                        break;
                    }
                }
                out.write_unsent()?;
            }
            out.sock.flush()?;
            drop(out);
            // Output queued while we held the lock, by a thread that then
            // found it taken, is ours to write.
            let mut session = self.session();
            let reserved = by == Flusher::Reader && session.writer_busy;
            if !session.wants_write() || reserved {
                if by == Flusher::Writer {
                    session.writer_busy = false;
                }
                return Ok(());
            }
        }
    }

    /// Close the transport: TLS's `close_notify` first (RFC 8446 §6.1),
    /// then the socket, both directions, for both halves.
    fn shutdown(&self) {
        #[cfg(feature = "rustls")]
        if let Some(tls) = &mut self.session().tls {
            tls.send_close_notify();
        }
        let _ = self.flush(Flusher::Closer);
        // Already closed by the peer, or failing: either way it is over.
        let _ = lock(&self.out).sock.shutdown(Shutdown::Both);
    }

    fn closed_error(&self) -> Error {
        self.session().conn.closed_error()
    }

    /// Queue with `queue`, then write it out.
    fn send_with(
        &self,
        queue: impl FnOnce(&mut Connection) -> Result<(), Error>,
    ) -> Result<(), Error> {
        {
            let mut session = self.session();
            match queue(&mut session.conn) {
                Err(Error::SendAfterClose) if session.conn.state().is_closed() => {
                    return Err(session.conn.closed_error())
                }
                other => other?,
            }
            // Marked in the same critical section as the queueing, so the
            // reader never takes this message to write it.
            session.writer_busy = true;
        }
        self.flush(Flusher::Writer)
    }
}

impl Outbound {
    /// Write `unsent` whole; on an error, what was not written stays.
    fn write_unsent(&mut self) -> io::Result<()> {
        while !self.unsent.is_empty() {
            match self.sock.write(&self.unsent) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    let _ = self.unsent.split_to(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// What both halves can tell about the connection.
macro_rules! shared_getters {
    () => {
        /// The connection state.
        pub fn state(&self) -> State {
            self.shared.session().conn.state()
        }

        /// The subprotocol agreed in the handshake.
        pub fn protocol(&self) -> Option<&str> {
            self.shared.opened.protocol.as_deref()
        }

        /// Client side: the server's `101` response.
        pub fn response(&self) -> Option<&ServerResponse> {
            self.shared.opened.response.as_ref()
        }

        /// Server side: the accepted upgrade request.
        pub fn request(&self) -> Option<&Request> {
            self.shared.opened.request.as_ref()
        }
    };
}

impl ReadHalf {
    shared_getters!();

    /// Bound how long one read may block (`None`: forever). A read that
    /// times out fails with an error whose
    /// [`is_timeout`](Error::is_timeout) is true and loses nothing.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), Error> {
        Ok(self.sock.set_read_timeout(timeout)?)
    }

    /// The next message, as [`WebSocket::read`] has it.
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            match self.read_event()? {
                Event::Message(message) => return Ok(message),
                Event::Fragment(fragment) => return Ok(Message::Binary(fragment.data)),
                Event::Ping(_) | Event::Pong(_) | Event::Close(_) => continue,
            }
        }
    }

    /// The next event of any kind, as [`WebSocket::read_event`] has it.
    pub fn read_event(&mut self) -> Result<Event, Error> {
        loop {
            let (polled, closed) = {
                let mut session = self.shared.session();
                let polled = session.conn.poll_event();
                (polled, session.conn.state().is_closed())
            };
            match polled {
                Ok(Some(event)) => {
                    match event {
                        // The pong (or TLS records) out now, unless the
                        // writer is writing: then it sends them.
                        Event::Ping(_) => self.shared.flush(Flusher::Reader)?,
                        Event::Close(_) => self.finish_close()?,
                        _ => {}
                    }
                    return Ok(event);
                }
                Ok(None) => {}
                Err(error) => {
                    // The close frame for the violation is queued: send
                    // it, then drop the transport (RFC 6455 §7.1.7).
                    self.close_transport();
                    return Err(error);
                }
            }
            if closed {
                self.finish_close()?;
                return Err(self.shared.closed_error());
            }
            self.fill()?;
        }
    }

    /// One read from the socket, holding no lock while it blocks; then
    /// hand the bytes in under the session lock.
    fn fill(&mut self) -> Result<(), Error> {
        if self.done {
            self.shared.session().conn.receive_eof();
            return Ok(());
        }
        if self.scratch.len() < READ_CHUNK {
            self.scratch.resize(READ_CHUNK, 0);
        }
        let n = loop {
            match self.sock.read(&mut self.scratch) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from(e)),
            }
        };
        let (received, wants_write) = {
            let mut session = self.shared.session();
            let received = if n == 0 {
                session.conn.receive_eof();
                self.done = true;
                Ok(())
            } else {
                session.receive(&self.scratch[..n])
            };
            (received, session.wants_write())
        };
        if let Err(error) = received {
            // TLS refused the records; its alert is queued.
            self.close_transport();
            return Err(error);
        }
        if wants_write {
            // TLS may answer on its own (key updates, alerts).
            self.shared.flush(Flusher::Reader)?;
        }
        Ok(())
    }

    /// After the close handshake: the server closes the transport at once;
    /// a client first waits (up to [`CLOSE_WAIT`]) for the server to close
    /// it (RFC 6455 §7.1.1).
    fn finish_close(&mut self) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        let _ = self.shared.flush(Flusher::Closer);
        let (role, state) = {
            let session = self.shared.session();
            (session.conn.role(), session.conn.state())
        };
        if role == Role::Client && state == (State::Closed { clean: true }) {
            let previous = self.sock.read_timeout().ok().flatten();
            let _ = self.sock.set_read_timeout(Some(CLOSE_WAIT));
            let mut sink = [0u8; 1024];
            // Bounded in bytes as well as time.
            for _ in 0..64 {
                match self.sock.read(&mut sink) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
            let _ = self.sock.set_read_timeout(previous);
        }
        self.close_transport();
        Ok(())
    }

    fn close_transport(&mut self) {
        if !self.done {
            self.shared.shutdown();
            self.done = true;
        }
    }
}

impl WriteHalf {
    shared_getters!();

    /// Send a message and flush it.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        self.shared.send_with(|conn| conn.send(message))
    }

    /// Send a ping (at most 125 bytes).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.shared.send_with(|conn| conn.send_ping(payload))
    }

    /// Send an unsolicited pong (at most 125 bytes).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.shared.send_with(|conn| conn.send_pong(payload))
    }

    /// Send one piece of a streamed message, as
    /// [`WebSocket::send_fragment`] does.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        last: bool,
    ) -> Result<(), Error> {
        self.shared
            .send_with(|conn| conn.send_fragment(kind, data, last))
    }

    /// Write output still queued (after a write that timed out).
    pub fn flush(&mut self) -> Result<(), Error> {
        self.shared.session().writer_busy = true;
        self.shared.flush(Flusher::Writer)
    }

    /// Start the close handshake. The [`ReadHalf`] receives the peer's
    /// reply, then returns [`Error::Closed`] and closes the transport; keep
    /// reading until then.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.shared.send_with(|conn| conn.close(code, reason))
    }
}
