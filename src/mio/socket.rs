//! One non-blocking WebSocket: handshake, reading, writing, deadlines.

use super::{Decide, Event, Options, SendError, Transport};
use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::{Connection, State};
use crate::error::Error;
use crate::handshake::{ClientOptions, ServerOptions, WsUrl};
use crate::message::Message;
use crate::timer::{Keepalive, Timeout, TimerAction};
use crate::upgrade::{ClientUpgrade, ServerUpgrade};
use ::mio::event::Event as Readiness;
use ::mio::net::TcpStream;
use ::mio::{Interest, Registry, Token};
use std::io::{self, Read, Write};
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Instant;

/// Bytes asked of the transport per read once the connection is open, into
/// a buffer shared by the event loop's connections (so it costs an idle
/// connection nothing). 64 KiB measured no better in the echo benchmark.
const READ_CHUNK: usize = 16 * 1024;

thread_local! {
    /// One read buffer per event-loop thread, shared by its connections.
    static SCRATCH: core::cell::RefCell<Vec<u8>> = core::cell::RefCell::new(vec![0; READ_CHUNK]);
}

thread_local! {
    /// The config of the last socket made on this thread, shared by every
    /// socket with an equal one: an event loop's sockets normally all have
    /// the same settings, so each holds a pointer instead of a copy.
    static SHARED_CONFIG: core::cell::RefCell<Option<Arc<Config>>> =
        const { core::cell::RefCell::new(None) };
}

/// `config`, shared with earlier sockets of this thread when equal.
fn shared_config(config: &Config) -> Arc<Config> {
    SHARED_CONFIG.with(|cell| {
        let mut cached = cell.borrow_mut();
        match &*cached {
            Some(shared) if **shared == *config => shared.clone(),
            _ => cached.insert(Arc::new(config.clone())).clone(),
        }
    })
}

/// Bytes read per call during the handshake, into a stack buffer (the
/// upgrade keeps only what it needs to parse the header).
const HANDSHAKE_CHUNK: usize = 2048;

/// Handshake bytes still to write. Boxed when there are any: they are
/// written once, so every open socket holds only an empty pointer (8 bytes
/// instead of a `Vec`'s 24; the extra allocation lives only during the
/// handshake, which is what the lint warns about).
#[allow(clippy::box_collection)]
#[derive(Default)]
struct Prelude(Option<Box<Vec<u8>>>);

impl From<Vec<u8>> for Prelude {
    fn from(bytes: Vec<u8>) -> Self {
        Prelude((!bytes.is_empty()).then(|| Box::new(bytes)))
    }
}

impl core::ops::Deref for Prelude {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl Prelude {
    /// `n` bytes were written.
    fn consume(&mut self, n: usize) {
        if let Some(bytes) = &mut self.0 {
            bytes.drain(..n.min(bytes.len()));
        }
    }
}

/// Where the socket is in its life.
// The open connection is stored inline on purpose: it is the phase a
// socket spends its life in, and boxing it would add an allocation per
// connection without saving memory; the short-lived handshake states are
// the ones boxed.
#[allow(clippy::large_enum_variant)]
enum Phase {
    /// Server: waiting for the upgrade request.
    Accepting(Box<(ServerUpgrade, Decide)>),
    /// Client: request queued, waiting for the response.
    Connecting(Box<ClientUpgrade>),
    /// The handshake is done.
    Open(Connection),
    /// The handshake failed; an HTTP refusal may still be in the prelude.
    Refused,
}

/// A WebSocket over a non-blocking [`Transport`], driven by a mio event loop
/// (see the [module docs](super) for the calling sequence).
pub struct WebSocket<S: Transport = TcpStream> {
    stream: S,
    phase: Phase,
    /// Handshake bytes (request or response) written before any frame.
    prelude: Prelude,
    timer: Keepalive<Instant>,
    /// The deadline [`Timers`](super::Timers) holds an entry for.
    pub(super) scheduled: Option<Instant>,
    high_water_mark: usize,
    /// Boxed `str`: a third smaller than a `String` in every socket.
    protocol: Option<Box<str>>,
    registered: Option<(Token, Interest)>,
    /// Input may be waiting: mio reported readiness and no read has since
    /// hit `WouldBlock` (mio is edge-triggered, so this must be remembered
    /// when reading pauses for backpressure).
    readable: bool,
    /// Readiness said the peer's side is closing (FIN, hang-up, error). Its
    /// end of stream raises no further edge once reported, so reading must
    /// then go on until EOF or `WouldBlock`, short reads or not.
    read_closing: bool,
    /// The peer ended its side of the stream.
    eof: bool,
    /// We closed the transport; the socket can be dropped.
    finished: bool,
}

impl<S: Transport> core::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let phase = match &self.phase {
            Phase::Accepting(_) => "accepting",
            Phase::Connecting(_) => "connecting",
            Phase::Open(_) => "open",
            Phase::Refused => "refused",
        };
        f.debug_struct("WebSocket")
            .field("phase", &phase)
            .field("pending_output", &self.pending_output())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl WebSocket<TcpStream> {
    /// Start connecting to a `ws://` URL: resolves the host (this blocks on
    /// DNS for a name; pass an IP address to avoid it), opens a
    /// non-blocking TCP connection and queues the upgrade request.
    /// [`Event::Open`] reports the accepted handshake.
    pub fn connect(url: &str, client: ClientOptions, options: &Options) -> Result<Self, Error> {
        let parsed = WsUrl::parse(url)?;
        if parsed.secure {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::Unsupported,
                "wss:// needs a TLS transport: use WebSocket::connect_tls (feature rustls)",
            )));
        }
        let stream = tcp_connect(&parsed)?;
        Ok(Self::with_client_upgrade(stream, &parsed, client, options))
    }
}

/// A non-blocking TCP connection to the URL's host and port, started.
pub(super) fn tcp_connect(url: &WsUrl) -> io::Result<TcpStream> {
    let addr = (url.host.as_str(), url.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))?;
    let stream = TcpStream::connect(addr)?;
    // Frames are written whole; waiting to coalesce them only adds latency.
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl<S: Transport> WebSocket<S> {
    /// The server side of a freshly accepted stream: waits for the upgrade
    /// request, which may arrive in any number of pieces.
    pub fn accept(stream: S, options: &Options) -> Self {
        let upgrade =
            ServerUpgrade::with_options(shared_config(&options.config), ServerOptions::default());
        Self::new(
            stream,
            Phase::Accepting(Box::new((upgrade, options.decide))),
            Vec::new(),
            options,
        )
    }

    /// The client side over a stream the caller opened (TCP, TLS, ...):
    /// queues the upgrade request for `url`.
    pub fn client(
        stream: S,
        url: &str,
        client: ClientOptions,
        options: &Options,
    ) -> Result<Self, Error> {
        let parsed = WsUrl::parse(url)?;
        Ok(Self::with_client_upgrade(stream, &parsed, client, options))
    }

    pub(super) fn with_client_upgrade(
        stream: S,
        url: &WsUrl,
        client: ClientOptions,
        options: &Options,
    ) -> Self {
        let upgrade = ClientUpgrade::new(url, client, shared_config(&options.config));
        let request = upgrade.request().to_vec();
        Self::new(
            stream,
            Phase::Connecting(Box::new(upgrade)),
            request,
            options,
        )
    }

    fn new(stream: S, phase: Phase, prelude: Vec<u8>, options: &Options) -> Self {
        let prelude = Prelude::from(prelude);
        WebSocket {
            stream,
            phase,
            prelude,
            timer: Keepalive::new(options.timeouts, Instant::now()),
            scheduled: None,
            high_water_mark: options.high_water_mark,
            protocol: None,
            registered: None,
            // Data may have arrived before registration.
            readable: true,
            read_closing: false,
            eof: false,
            finished: false,
        }
    }

    // ----- getters -----

    /// Whether the handshake is done and messages may be sent.
    pub fn is_open(&self) -> bool {
        !self.finished && matches!(&self.phase, Phase::Open(c) if c.state().is_open())
    }

    /// The connection's state once the handshake is done.
    pub fn state(&self) -> Option<State> {
        self.connection().map(Connection::state)
    }

    /// The sans-IO connection once the handshake is done.
    pub fn connection(&self) -> Option<&Connection> {
        match &self.phase {
            Phase::Open(conn) => Some(conn),
            _ => None,
        }
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Bytes queued for the transport (handshake and frames).
    pub fn pending_output(&self) -> usize {
        let frames = match &self.phase {
            Phase::Open(conn) => conn.pending_output().len(),
            _ => 0,
        };
        self.prelude.len() + frames
    }

    /// Output is waiting for the socket: ours, or the transport's own.
    fn wants_write(&self) -> bool {
        self.pending_output() > 0 || self.stream.wants_write()
    }

    /// Whether [`send`](Self::send) would currently refuse with
    /// [`SendError::Full`].
    pub fn is_full(&self) -> bool {
        self.pending_output() >= self.high_water_mark
    }

    /// The transport is closed (close handshake done, failure, timeout or
    /// peer gone): deregister and drop the socket.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The next deadline: call [`handle_timeout`](Self::handle_timeout) by
    /// then (see [`Timers`](super::Timers)).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            None
        } else {
            self.timer.poll_timeout()
        }
    }

    // ----- registration -----

    /// Register with `registry` under `token`, for reading, and for writing
    /// while output is pending (a client's request is).
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = self.wanted_interest();
        registry.register(&mut self.stream, token, interest)?;
        self.registered = Some((token, interest));
        Ok(())
    }

    /// Remove the stream from `registry` (also done by
    /// [`flush`](Self::flush) once the socket is finished).
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        if self.registered.take().is_some() {
            registry.deregister(&mut self.stream)?;
        }
        Ok(())
    }

    fn wanted_interest(&self) -> Interest {
        if self.wants_write() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }

    // ----- input -----

    /// Note a readiness event mio reported for this socket's token.
    pub fn ready(&mut self, event: &Readiness) {
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.readable = true;
        }
        if event.is_read_closed() || event.is_error() {
            self.read_closing = true;
        }
    }

    /// The next event, reading from the transport until `WouldBlock` when
    /// none is buffered; `Ok(None)` when there is nothing more for now.
    ///
    /// Errors: a refused or malformed handshake (the HTTP answer is queued),
    /// a protocol violation by the peer (the close frame is queued), or an
    /// I/O error (the transport is closed). After any of them keep calling
    /// [`flush`](Self::flush) until [`is_finished`](Self::is_finished).
    pub fn poll_event(&mut self) -> Result<Option<Event>, Error> {
        if self.finished {
            return Ok(None);
        }
        let result = match self.phase {
            Phase::Accepting(_) => self.poll_accepting(),
            Phase::Connecting(_) => self.poll_connecting(),
            Phase::Open(_) => self.poll_open(),
            Phase::Refused => Ok(None),
        };
        if result.as_ref().is_err_and(is_transport_error) {
            self.close_transport();
        }
        self.settle();
        result
    }

    fn poll_accepting(&mut self) -> Result<Option<Event>, Error> {
        let mut buf = [0u8; HANDSHAKE_CHUNK];
        while let Some(n) = self.read_handshake(&mut buf)? {
            let Phase::Accepting(accepting) = &mut self.phase else {
                return Ok(None);
            };
            let outcome = accepting.0.receive(&buf[..n]);
            match outcome {
                Ok(None) => continue,
                Ok(Some(request)) => {
                    let Phase::Accepting(accepting) =
                        core::mem::replace(&mut self.phase, Phase::Refused)
                    else {
                        return Ok(None);
                    };
                    let (upgrade, decide) = *accepting;
                    return match decide(&request) {
                        Ok(options) => {
                            self.protocol = options.protocol.as_deref().map(Box::from);
                            let (response, conn) = upgrade.accept(&request, options);
                            self.prelude = Prelude::from(response);
                            self.open(conn);
                            Ok(Some(Event::Open))
                        }
                        Err(rejection) => {
                            self.prelude = Prelude::from(rejection.response());
                            Err(Error::Handshake(rejection.into_error()))
                        }
                    };
                }
                Err(error) => {
                    // Answer with the matching HTTP status (400, 426, 431...)
                    // before closing, as RFC 6455 §4.2.1 asks.
                    self.prelude = Prelude::from(error.http_response().unwrap_or_default());
                    self.phase = Phase::Refused;
                    return Err(Error::Handshake(error));
                }
            }
        }
        Ok(None)
    }

    fn poll_connecting(&mut self) -> Result<Option<Event>, Error> {
        let mut buf = [0u8; HANDSHAKE_CHUNK];
        while let Some(n) = self.read_handshake(&mut buf)? {
            let Phase::Connecting(upgrade) = &mut self.phase else {
                return Ok(None);
            };
            match upgrade.receive(&buf[..n]) {
                Ok(None) => continue,
                Ok(Some((conn, response))) => {
                    self.protocol = response.protocol.map(String::into_boxed_str);
                    self.open(conn);
                    return Ok(Some(Event::Open));
                }
                Err(error) => {
                    self.phase = Phase::Refused;
                    return Err(error);
                }
            }
        }
        Ok(None)
    }

    fn open(&mut self, conn: Connection) {
        self.phase = Phase::Open(conn);
        self.timer.opened(Instant::now());
    }

    /// One read for the handshake: `Some(n)` bytes, `None` when there is
    /// nothing to read now (or ever: EOF is recorded).
    fn read_handshake(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        if !self.readable || self.eof {
            return Ok(None);
        }
        match read_some(&mut self.stream, buf)? {
            Some(0) => {
                self.eof = true;
                Ok(None)
            }
            Some(n) => Ok(Some(n)),
            None => {
                self.readable = false;
                Ok(None)
            }
        }
    }

    fn poll_open(&mut self) -> Result<Option<Event>, Error> {
        loop {
            let Phase::Open(conn) = &mut self.phase else {
                return Ok(None);
            };
            if let Some(event) = conn.poll_event()? {
                if matches!(event, crate::Event::Ping(_)) && conn.has_pending_output() {
                    // RFC 6455 §5.5.2: a pong is sent "as soon as is
                    // practical". Write it now, before the next ping is
                    // decoded: the core replaces an automatic pong still
                    // wholly unsent (§5.5.3 allows answering only the latest
                    // ping), which should happen only when the peer does not
                    // read, not merely because ten pings came in one read.
                    self.write_out()?;
                }
                return Ok(Some(event.into()));
            }
            if !self.readable || self.eof {
                return Ok(None);
            }
            if conn.state().is_closed() {
                // Only the end of the stream matters now (a client waits
                // for the server to close TCP, RFC 6455 §7.1.1).
                self.discard_input()?;
                return Ok(None);
            }
            if conn.pending_output().len() >= self.high_water_mark {
                // Backpressure: read no more from a peer we cannot write
                // to, unless writing now makes room.
                self.write_out()?;
                if self.is_full() {
                    return Ok(None);
                }
                continue;
            }
            // Read into the loop thread's scratch buffer and copy only
            // what arrived: an idle connection keeps no read buffer, and a
            // busy one does not zero a fresh 16 KiB region per message.
            let read = SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let result = self.stream.read(&mut scratch[..]);
                if let Ok(n) = result {
                    conn.receive(&scratch[..n]);
                }
                result
            });
            match read {
                Ok(0) => {
                    conn.receive_eof();
                    self.eof = true;
                }
                Ok(n) => {
                    self.timer.received(Instant::now());
                    if n < READ_CHUNK && !self.read_closing && self.stream.short_read_drains() {
                        self.readable = false;
                        conn.shrink_buffers();
                    }
                }
                Err(e) if is_would_block(&e) => {
                    conn.shrink_buffers();
                    self.readable = false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from(e)),
            }
        }
    }

    /// Read and drop whatever arrives after the close handshake, noting EOF.
    fn discard_input(&mut self) -> Result<(), Error> {
        let mut sink = [0u8; HANDSHAKE_CHUNK];
        while self.readable && !self.eof {
            match read_some(&mut self.stream, &mut sink) {
                Ok(Some(0)) => self.eof = true,
                Ok(Some(_)) => {}
                Ok(None) => self.readable = false,
                // The close handshake is done, so the WebSocket ended
                // cleanly however TCP goes down: a peer that aborts its
                // socket (some servers close with unread data, or with a
                // zero linger) resets it, which ends the stream like EOF.
                // Likewise a TLS peer that closes TCP without close_notify:
                // no WebSocket data can be truncated any more.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    self.eof = true
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
        Ok(())
    }

    // ----- commands -----

    /// Queue a message. Refused, with the message handed back, while
    /// pending output is at the high-water mark ([`SendError::Full`]) or the
    /// connection is not open ([`SendError::NotOpen`]). Call
    /// [`flush`](Self::flush) to start writing.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        if self.is_full() {
            return Err(SendError::Full(message));
        }
        let Phase::Open(conn) = &mut self.phase else {
            return Err(SendError::NotOpen(message));
        };
        if self.finished {
            return Err(SendError::NotOpen(message));
        }
        let queued = match message.as_text() {
            Some(text) => conn.send_text(text),
            None => conn.send_binary(message.as_bytes()),
        };
        match queued {
            Ok(()) => Ok(()),
            // A mark set in the core's Config as well.
            Err(Error::WouldExceedBuffer) => Err(SendError::Full(message)),
            Err(_) => Err(SendError::NotOpen(message)),
        }
    }

    /// Queue a ping (at most 125 bytes).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        match &mut self.phase {
            Phase::Open(conn) if !self.finished => conn.send_ping(payload),
            _ => Err(Error::SendAfterClose),
        }
    }

    /// Start the close handshake (the close frame is queued even above the
    /// high-water mark). Before the opening handshake is done there is no
    /// WebSocket to close politely, and the transport is closed at once.
    /// Keep polling and flushing until [`is_finished`](Self::is_finished);
    /// the close timeout bounds the wait for a peer that never answers.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        match &mut self.phase {
            Phase::Open(conn) => {
                conn.close(code, reason)?;
                self.timer.closing(Instant::now());
            }
            _ => self.close_transport(),
        }
        Ok(())
    }

    /// Act on a deadline that passed by `now`: send a keepalive ping, or
    /// close the transport on an expired handshake, pong or close timeout
    /// (returned). No close frame is sent on expiry: a peer that answers
    /// nothing would not read it. Before the deadline this does nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Timeout> {
        if self.scheduled.is_some_and(|at| at <= now) {
            self.scheduled = None;
        }
        if self.finished {
            return None;
        }
        match self.timer.handle_timeout(now)? {
            TimerAction::SendPing => {
                if let Phase::Open(conn) = &mut self.phase {
                    let _ = conn.send_ping(&[]);
                }
                None
            }
            TimerAction::Expired(why) => {
                self.close_transport();
                Some(why)
            }
        }
    }

    // ----- output -----

    /// Write pending output until `WouldBlock`, close the transport when
    /// the connection is over, and re-register with writable interest only
    /// while output remains (so an idle or drained socket causes no
    /// wakeups). Call after every batch of [`poll_event`](Self::poll_event)
    /// and [`send`](Self::send) calls.
    pub fn flush(&mut self, registry: &Registry) -> Result<(), Error> {
        let mut result = Ok(());
        if !self.finished && self.wants_write() {
            if let Err(e) = self.write_out() {
                self.close_transport();
                result = Err(Error::from(e));
            }
        }
        self.settle();
        if self.finished {
            let _ = self.deregister(registry);
        } else if let Some((token, interest)) = self.registered {
            let wanted = self.wanted_interest();
            if wanted != interest {
                registry.reregister(&mut self.stream, token, wanted)?;
                self.registered = Some((token, wanted));
            }
        }
        result
    }

    /// Write until everything is out or the transport would block.
    fn write_out(&mut self) -> io::Result<()> {
        while !self.prelude.is_empty() {
            match write_some(&mut self.stream, &self.prelude)? {
                Some(n) => self.prelude.consume(n),
                None => return Ok(()),
            }
        }
        // Handshake bytes are written once: give their memory back.
        self.prelude = Prelude::default();
        if let Phase::Open(conn) = &mut self.phase {
            while conn.has_pending_output() {
                match write_some(&mut self.stream, conn.pending_output())? {
                    Some(n) => conn.advance_output(n),
                    None => return Ok(()),
                }
            }
            conn.shrink_buffers();
        }
        // The transport's own buffer (TLS records): out as far as the
        // socket takes; the rest waits for a writable event.
        match self.stream.flush() {
            Err(e) if !is_would_block(&e) && e.kind() != io::ErrorKind::Interrupted => Err(e),
            _ => Ok(()),
        }
    }

    /// Start deadlines and close the transport as the connection's state
    /// asks (RFC 6455 §7.1.1: the server closes TCP first once the close
    /// handshake is done; after a failure either side closes at once; a
    /// client waits for the server's EOF).
    fn settle(&mut self) {
        if self.finished {
            return;
        }
        let close_now = match &self.phase {
            Phase::Open(conn) => {
                if self.eof || !conn.state().is_open() {
                    self.timer.closing(Instant::now());
                }
                // Not while the transport still holds the close frame
                // (TLS records the socket did not take yet).
                (conn.should_close_transport() || (self.eof && !conn.has_pending_output()))
                    && (!self.stream.wants_write() || self.eof)
            }
            Phase::Refused => {
                self.timer.closing(Instant::now());
                (self.prelude.is_empty() && !self.stream.wants_write()) || self.eof
            }
            Phase::Accepting(_) | Phase::Connecting(_) => self.eof,
        };
        if close_now {
            self.close_transport();
        }
    }

    fn close_transport(&mut self) {
        if self.finished {
            return;
        }
        let _ = self.stream.shutdown();
        self.finished = true;
        self.timer.finished();
        self.prelude = Prelude::default();
        if let Phase::Open(conn) = &mut self.phase {
            // Marks a close handshake that did not complete as unclean.
            conn.receive_eof();
            conn.shrink_buffers();
        }
    }
}

/// An error after which the transport is unusable: I/O, or TLS (which
/// rustls reports through its stream's I/O errors).
fn is_transport_error(e: &Error) -> bool {
    match e {
        Error::Io(_) => true,
        #[cfg(feature = "rustls")]
        Error::Tls(_) => true,
        _ => false,
    }
}

/// One read: `Some(n)` (0 at EOF), `None` on `WouldBlock`.
fn read_some<R: Read>(stream: &mut R, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        match stream.read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if is_would_block(&e) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One write: `Some(n)` bytes taken, `None` on `WouldBlock`.
fn write_some<W: Write>(stream: &mut W, data: &[u8]) -> io::Result<Option<usize>> {
    loop {
        match stream.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => return Ok(Some(n)),
            Err(e) if is_would_block(&e) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `WouldBlock`, or `NotConnected` from a TCP connect still in progress
/// (mio reports its completion as a writable event).
fn is_would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
    )
}
