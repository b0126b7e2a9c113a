//! One non-blocking WebSocket: handshake, reading, writing, deadlines.

use super::proxy::Proxying;
use super::{ClientStream, Decide, MioTransport, Options, SendError, SocketEvent};
use crate::blocking::ProxyTls;
use crate::close::CloseCode;
use crate::connection::{Connection, PreparedMessage, State};
use crate::error::Error;
use crate::handshake::{ClientOptions, ServerOptions, Status, WsUrl};
use crate::handshake::{Request, ServerResponse};
use crate::message::Message;
use crate::message::MessageKind;
use crate::proxy::ProxyErrorKind;
use crate::timer::{Keepalive, Timeout, TimerAction};
use crate::upgrade::{ClientUpgrade, Opened, ServerUpgrade};
use ::mio::event::Event as Readiness;
use ::mio::net::TcpStream;
use ::mio::{Interest, Registry, Token};
use std::io;
use std::net::ToSocketAddrs;
use std::time::Instant;

/// Bytes asked of the transport per read once the connection is open, into
/// a buffer shared by the event loop's connections (so it costs an idle
/// connection nothing). 64 KiB: a 16 KiB message's frame (16,384 bytes
/// and a header) comes in one read, where 16 KiB took two.
const READ_CHUNK: usize = 64 * 1024;

thread_local! {
    /// One read buffer per event-loop thread, shared by its connections.
    static SCRATCH: core::cell::RefCell<Vec<u8>> = core::cell::RefCell::new(vec![0; READ_CHUNK]);
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
    /// (The flag: keep the request, [`Options::keep_request`].)
    Accepting(Box<(ServerUpgrade, Decide, bool)>),
    /// Client: asking a proxy for a tunnel; the upgrade waits for it.
    Proxy(Box<(Proxying, ClientUpgrade)>),
    /// Client: request queued, waiting for the response.
    Connecting(Box<ClientUpgrade>),
    /// The handshake is done.
    Open(Connection),
    /// The handshake failed; an HTTP refusal may still be in the prelude.
    Refused,
}

/// A WebSocket over a non-blocking [`MioTransport`], driven by a mio event loop
/// (see the [module docs](super) for the calling sequence).
///
/// ```
/// use rfc6455::mio::mio::net::TcpListener;
/// use rfc6455::mio::mio::{Events, Interest, Poll, Token};
/// use rfc6455::mio::{Options, SocketEvent, Timers, WebSocket};
/// use std::collections::HashMap;
/// use std::time::Instant;
///
/// const LISTENER: Token = Token(usize::MAX);
/// let mut poll = Poll::new()?;
/// let mut listener = TcpListener::bind("127.0.0.1:0".parse()?)?;
/// poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # let client = std::thread::spawn(move || -> Result<(), rfc6455::Error> {
/// #     let mut ws = rfc6455::blocking::connect(&url)?;
/// #     ws.send("echo?")?;
/// #     assert_eq!(ws.read()?.as_text(), Some("echo?"));
/// #     ws.close_and_wait(rfc6455::CloseCode::NORMAL, "").map(|_| ())
/// # });
///
/// let options = Options::default();
/// let mut sockets: HashMap<Token, WebSocket> = HashMap::new();
/// let mut timers = Timers::new();
/// let mut events = Events::with_capacity(256);
/// let mut next = 0;
/// # let mut served = 0;
/// # while served < 1 {
/// // One turn of the event loop (run it forever in a server).
/// poll.poll(&mut events, timers.timeout(Instant::now()))?;
/// for event in events.iter() {
///     if event.token() == LISTENER {
///         while let Ok((tcp, _)) = listener.accept() {
///             let mut ws = WebSocket::accept(tcp, &options);
///             ws.register(poll.registry(), Token(next))?;
///             sockets.insert(Token(next), ws);
///             next += 1;
///         }
///         continue;
///     }
///     let Some(ws) = sockets.get_mut(&event.token()) else { continue };
///     ws.ready(event);
///     while let Ok(Some(event)) = ws.poll_event() {
///         if let SocketEvent::Message(message) = event {
///             let _ = ws.send(message); // echo (a full buffer hands it back)
///         }
///     }
///     let _ = ws.flush(poll.registry());
///     timers.schedule(event.token(), ws);
///     if ws.is_finished() {
///         sockets.remove(&event.token());
/// #       served += 1;
///     }
/// }
/// while let Some(token) = timers.next_expired(Instant::now()) {
///     if let Some(ws) = sockets.get_mut(&token) {
///         ws.handle_timeout(Instant::now());
///         let _ = ws.flush(poll.registry());
///         timers.schedule(token, ws);
///     }
/// }
/// # }
/// # client.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct WebSocket<S: MioTransport = TcpStream> {
    stream: S,
    phase: Phase,
    /// Handshake bytes (request or response) written before any frame.
    prelude: Prelude,
    timer: Keepalive<Instant>,
    /// The deadline [`Timers`](super::Timers) holds an entry for.
    pub(super) scheduled: Option<Instant>,
    high_water_mark: usize,
    /// What the handshake agreed (boxed: most sockets never ask, and an
    /// idle one should stay small).
    opened: Option<Box<Opened>>,
    /// Client: the end of [`ClientOptions::connect_timeout`], until the
    /// socket is seen connected.
    connect_deadline: Option<Instant>,
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

impl<S: MioTransport> core::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let phase = match &self.phase {
            Phase::Accepting(_) => "accepting",
            Phase::Proxy(_) => "proxy",
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

impl WebSocket<ClientStream> {
    /// Start connecting to a `ws://` URL: resolves the host (this blocks on
    /// DNS for a name; pass an IP address to avoid it), opens a
    /// non-blocking TCP connection and queues the upgrade request.
    /// [`SocketEvent::Open`] reports the accepted handshake.
    ///
    /// Through the proxy [`ClientOptions::proxy`] selects (by default from
    /// the environment), if any: the connection goes to the proxy, which is
    /// asked for a tunnel first (HTTP `CONNECT` or SOCKS5; with the
    /// `rustls` feature, `CONNECT` inside TLS to an `https://` proxy,
    /// verified against the bundled roots: see
    /// [`connect_with_proxy_tls`](Self::connect_with_proxy_tls) for others).
    /// Its failures come from [`poll_event`](Self::poll_event) or
    /// [`flush`](Self::flush) as [`Error::Proxy`]; a silent proxy runs into
    /// the connect or handshake timeout.
    pub fn connect(url: &str, client: ClientOptions, options: &Options) -> Result<Self, Error> {
        Self::connect_through(url, client, options, None)
    }

    /// [`connect`](Self::connect), an `https://` proxy verified under `tls`.
    pub(super) fn connect_through(
        url: &str,
        client: ClientOptions,
        options: &Options,
        tls: ProxyTls<'_>,
    ) -> Result<Self, Error> {
        let parsed = WsUrl::parse(url)?;
        if parsed.secure {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::Unsupported,
                "wss:// needs a TLS transport: use WebSocket::connect_tls (feature rustls)",
            )));
        }
        let (stream, proxying) = super::proxy::open(&parsed, &client.proxy, tls)?;
        Ok(Self::with_client_upgrade(
            stream, &parsed, client, options, proxying,
        ))
    }
}

/// A non-blocking TCP connection to `host` and `port`, started.
pub(super) fn tcp_connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no address"))?;
    let stream = TcpStream::connect(addr)?;
    // Frames are written whole; waiting to coalesce them only adds latency.
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl<S: MioTransport> WebSocket<S> {
    /// The server side of a freshly accepted stream: waits for the upgrade
    /// request, which may arrive in any number of pieces.
    pub fn accept(mut stream: S, options: &Options) -> Self {
        // Frames are written whole; waiting to coalesce them only adds
        // latency (pipelined echoes would wait ~40 ms for delayed ACKs).
        let _ = stream.set_nodelay(true);
        let upgrade = ServerUpgrade::with_options(
            crate::config::shared(&options.config),
            ServerOptions::default(),
        );
        Self::new(
            stream,
            Phase::Accepting(Box::new((
                upgrade,
                options.decide.clone(),
                options.keep_request,
            ))),
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
        Ok(Self::with_client_upgrade(
            stream, &parsed, client, options, None,
        ))
    }

    /// The client side: the upgrade request queued, or held back until
    /// the proxy's tunnel is up.
    pub(super) fn with_client_upgrade(
        stream: S,
        url: &WsUrl,
        client: ClientOptions,
        options: &Options,
        proxying: Option<Proxying>,
    ) -> Self {
        let connect_timeout = client.connect_timeout;
        let upgrade = ClientUpgrade::new(url, client, crate::config::shared(&options.config));
        let (phase, prelude) = match proxying {
            Some(proxying) => (Phase::Proxy(Box::new((proxying, upgrade))), Vec::new()),
            None => {
                let request = upgrade.request().to_vec();
                (Phase::Connecting(Box::new(upgrade)), request)
            }
        };
        let mut ws = Self::new(stream, phase, prelude, options);
        ws.connect_deadline = connect_timeout.map(|limit| Instant::now() + limit);
        ws
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
            opened: None,
            connect_deadline: None,
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

    /// The connection's state: [`State::Connecting`] until the opening
    /// handshake completes, then the connection's (a refused or failed
    /// handshake is closed, uncleanly).
    pub fn state(&self) -> State {
        match &self.phase {
            Phase::Accepting(_) | Phase::Proxy(_) | Phase::Connecting(_) if !self.finished => {
                State::Connecting
            }
            Phase::Open(conn) => conn.state(),
            _ => State::Closed { clean: false },
        }
    }

    /// Whether reading is paused for backpressure: pending output is at
    /// the high-water mark, so [`poll_event`](Self::poll_event) returned
    /// `Ok(None)` with input possibly still waiting. It resumes by itself
    /// once [`flush`](Self::flush) (after a writable event) brings the
    /// output under the mark; nothing was lost. When this is false,
    /// `Ok(None)` means the socket is drained until its next readiness
    /// event.
    pub fn is_paused(&self) -> bool {
        !self.finished && self.readable && !self.eof && self.is_full()
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
        self.opened.as_ref()?.protocol.as_deref()
    }

    /// Client side: the server's `101` response (status and headers),
    /// once [`SocketEvent::Open`] was reported. `None` on a server socket.
    pub fn response(&self) -> Option<&ServerResponse> {
        self.opened.as_ref()?.response.as_ref()
    }

    /// Server side: the upgrade request that was accepted (path, query,
    /// headers), for the application's per-connection state, when
    /// [`Options::keep_request`](super::Options::keep_request) is set.
    /// `None` otherwise, on a client socket, and after
    /// [`take_request`](Self::take_request).
    pub fn request(&self) -> Option<&Request> {
        self.opened.as_ref()?.request.as_ref()
    }

    /// Move the accepted request out, freeing what the socket holds of
    /// it: for servers with many idle connections that keep only what
    /// they need.
    pub fn take_request(&mut self) -> Option<Request> {
        self.opened.as_mut()?.request.take()
    }

    /// Bytes queued for the transport (handshake and frames).
    pub fn pending_output(&self) -> usize {
        let frames = match &self.phase {
            Phase::Open(conn) => conn.output_len(),
            _ => 0,
        };
        self.prelude.len() + frames
    }

    /// Output is waiting for the socket: ours, or the transport's own
    /// (which waits while a proxy's tunnel is negotiated beneath it).
    fn wants_write(&self) -> bool {
        match &self.phase {
            Phase::Proxy(proxy) => {
                !proxy.0.tunnel.output().is_empty() || self.stream.wants_write_beneath()
            }
            _ => self.pending_output() > 0 || self.stream.wants_write(),
        }
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
            return None;
        }
        match (self.timer.poll_timeout(), self.connect_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
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
        if self.connect_deadline.is_some() && self.stream.is_connected() {
            self.connect_deadline = None;
        }
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
    pub fn poll_event(&mut self) -> Result<Option<SocketEvent>, Error> {
        if self.finished {
            return Ok(None);
        }
        let result = match self.phase {
            Phase::Accepting(_) => self.poll_accepting(),
            Phase::Proxy(_) => self.poll_proxy(),
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

    fn poll_accepting(&mut self) -> Result<Option<SocketEvent>, Error> {
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
                    let (upgrade, decide, keep_request) = *accepting;
                    return match decide(&request) {
                        Ok(options) => {
                            let protocol = options.protocol.clone();
                            let (response, conn) = upgrade.accept(&request, options);
                            self.prelude = Prelude::from(response);
                            // Nothing allocated for a socket with nothing to keep.
                            let request = keep_request.then_some(request);
                            if protocol.is_some() || request.is_some() {
                                self.opened = Some(Box::new(Opened {
                                    protocol,
                                    response: None,
                                    request,
                                }));
                            }
                            self.open(conn);
                            Ok(Some(SocketEvent::Open))
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

    /// Read the proxy's replies beneath the transport's own protocol;
    /// once the tunnel is up, queue the upgrade request and go on as a
    /// client that just connected.
    fn poll_proxy(&mut self) -> Result<Option<SocketEvent>, Error> {
        let mut buf = [0u8; HANDSHAKE_CHUNK];
        loop {
            let Phase::Proxy(proxy) = &mut self.phase else {
                return Ok(None);
            };
            let proxying = &mut proxy.0;
            if !self.readable {
                return Ok(None);
            }
            let n = match read_some(|buf| self.stream.read_beneath(buf), &mut buf) {
                Ok(Some(0)) => {
                    self.eof = true;
                    return Err(proxying.error(ProxyErrorKind::Closed));
                }
                Ok(Some(n)) => n,
                Ok(None) => {
                    self.readable = false;
                    return Ok(None);
                }
                Err(e) => return Err(proxying.transport_error(e)),
            };
            let leftover = match proxying.tunnel.receive(&buf[..n]) {
                Ok(Status::Partial) => continue,
                Ok(Status::Complete(leftover)) => leftover,
                Err(kind) => return Err(proxying.error(kind)),
            };
            let Phase::Proxy(proxy) = core::mem::replace(&mut self.phase, Phase::Refused) else {
                return Ok(None);
            };
            let (proxying, upgrade) = *proxy;
            // Bytes after the proxy's reply are the server's: TLS records
            // go to the transport, the rest to the handshake.
            let early = self
                .stream
                .receive_beneath(leftover)
                .map_err(|e| proxying.transport_error(e))?;
            self.prelude = Prelude::from(upgrade.request().to_vec());
            self.phase = Phase::Connecting(Box::new(upgrade));
            if !early.is_empty() {
                if let Some(event) = self.receive_response(&early)? {
                    return Ok(Some(event));
                }
            }
            return self.poll_connecting();
        }
    }

    fn poll_connecting(&mut self) -> Result<Option<SocketEvent>, Error> {
        let mut buf = [0u8; HANDSHAKE_CHUNK];
        while let Some(n) = self.read_handshake(&mut buf)? {
            if let Some(event) = self.receive_response(&buf[..n])? {
                return Ok(Some(event));
            }
            if !matches!(self.phase, Phase::Connecting(_)) {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// Hand response bytes to the client's upgrade.
    fn receive_response(&mut self, data: &[u8]) -> Result<Option<SocketEvent>, Error> {
        let Phase::Connecting(upgrade) = &mut self.phase else {
            return Ok(None);
        };
        match upgrade.receive(data) {
            Ok(None) => Ok(None),
            Ok(Some((conn, response))) => {
                self.opened = Some(Box::new(Opened::client(response)));
                self.open(conn);
                Ok(Some(SocketEvent::Open))
            }
            Err(error) => {
                self.phase = Phase::Refused;
                Err(error)
            }
        }
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
        match read_some(|buf| self.stream.read(buf), buf)? {
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

    fn poll_open(&mut self) -> Result<Option<SocketEvent>, Error> {
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
            if conn.output_len() >= self.high_water_mark {
                // Backpressure: read no more from a peer we cannot write
                // to, unless writing now makes room.
                self.write_out()?;
                if self.is_full() {
                    return Ok(None);
                }
                continue;
            }
            // Into the loop thread's scratch buffer (an idle connection
            // keeps no read buffer), or the rest of a large frame straight
            // into the connection's. A short message that a read brings
            // whole is taken straight out of the scratch buffer, without
            // passing through the connection's (`Connection::read_message_from`).
            let read = SCRATCH.with(|scratch| {
                conn.read_message_from(&mut self.stream, &mut scratch.borrow_mut()[..])
            });
            match read {
                Ok((0, _, _)) => {
                    conn.receive_eof();
                    self.eof = true;
                }
                Ok((n, asked, message)) => {
                    self.timer.received(Instant::now());
                    if n < asked && !self.read_closing && self.stream.short_read_drains() {
                        self.readable = false;
                        conn.shrink_buffers();
                    }
                    if let Some(message) = message {
                        return Ok(Some(crate::Event::Message(message).into()));
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
            match read_some(|buf| self.stream.read(buf), &mut sink) {
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
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), SendError> {
        let message = message.into();
        let conn = match self.sendable() {
            Ok(conn) => conn,
            Err(refused) => return Err(refused(message)),
        };
        // The message's own bytes are queued: a server's large payload
        // goes to the socket without a copy.
        conn.try_send(message)
            .map_err(|(error, message)| refusal(&error)(message))
    }

    /// Queue a message framed once for many sockets (see
    /// [`PreparedMessage`]): a server shares its payload instead of copying
    /// it, so a broadcast to N sockets copies N headers only, and a socket
    /// with permessage-deflate sends the message's compressed-once form
    /// ([`PreparedMessage::compressed`]) where its agreement allows.
    /// Refused as [`send`](Self::send) is, with the message handed back.
    pub fn send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), SendError> {
        let conn = match self.sendable() {
            Ok(conn) => conn,
            Err(refused) => return Err(refused(prepared.to_message())),
        };
        conn.send_prepared(prepared)
            .map_err(|error| refusal(&error)(prepared.to_message()))
    }

    /// The connection a message may be queued on now, or how the send is
    /// refused.
    fn sendable(&mut self) -> Result<&mut Connection, fn(Message) -> SendError> {
        if self.is_full() {
            return Err(SendError::Full);
        }
        match &mut self.phase {
            Phase::Open(conn) if !self.finished => Ok(conn),
            _ => Err(SendError::NotOpen),
        }
    }

    /// Queue a ping (at most 125 bytes).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.open_conn()?.send_ping(payload)
    }

    /// Queue an unsolicited pong (at most 125 bytes; RFC 6455 §5.5.3).
    /// Pings are answered automatically while
    /// [`Config::auto_pong`](crate::Config::auto_pong) is on.
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.open_conn()?.send_pong(payload)
    }

    /// Queue one piece of a message streamed piece by piece: the first
    /// call starts a message of `kind`, `last` ends it (see
    /// [`Connection::send_fragment`]). At the high-water mark this fails
    /// with [`Error::WouldExceedBuffer`] and queues nothing: flush, then
    /// send the piece again.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        last: bool,
    ) -> Result<(), Error> {
        if self.is_full() {
            return Err(Error::WouldExceedBuffer);
        }
        self.open_conn()?.send_fragment(kind, data, last)
    }

    /// The connection, if it may still send.
    fn open_conn(&mut self) -> Result<&mut Connection, Error> {
        let finished = self.finished;
        match &mut self.phase {
            Phase::Open(conn) if finished => Err(conn.closed_error()),
            Phase::Open(conn) => Ok(conn),
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
        if let Some(deadline) = self.connect_deadline {
            if self.stream.is_connected() {
                self.connect_deadline = None;
            } else if deadline <= now {
                self.close_transport();
                return Some(Timeout::Connect);
            }
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
                result = Err(match &self.phase {
                    Phase::Proxy(proxy) => proxy.0.transport_error(e),
                    _ => Error::from(e),
                });
                self.close_transport();
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
        if let Phase::Proxy(proxy) = &mut self.phase {
            // Beneath the transport: TLS starts inside the tunnel.
            let tunnel = &mut proxy.0.tunnel;
            while !tunnel.output().is_empty() {
                match write_some(|| self.stream.write_beneath(tunnel.output()))? {
                    Some(n) => tunnel.advance_output(n),
                    None => return Ok(()),
                }
            }
            // TLS to an `https://` proxy: its records, handshake included.
            return match self.stream.flush_beneath() {
                Err(e) if is_would_block(&e) => Ok(()),
                other => other,
            };
        }
        while !self.prelude.is_empty() {
            match write_some(|| self.stream.write(&self.prelude))? {
                Some(n) => self.prelude.consume(n),
                None => return Ok(()),
            }
        }
        // Handshake bytes are written once: give their memory back.
        self.prelude = Prelude::default();
        if let Phase::Open(conn) = &mut self.phase {
            // One vectored write per round: small frames coalesced in one
            // chunk, large payloads as the application sent them.
            while conn.has_pending_output() {
                if write_some(|| conn.write_output(&mut self.stream))?.is_none() {
                    return Ok(());
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
            Phase::Accepting(_) | Phase::Proxy(_) | Phase::Connecting(_) => self.eof,
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

/// How the core's refusal of a send reaches the caller: a mark set in the
/// core's `Config` as well is [`SendError::Full`]; anything else means the
/// connection no longer takes messages.
fn refusal(error: &Error) -> fn(Message) -> SendError {
    match error {
        Error::WouldExceedBuffer => SendError::Full,
        _ => SendError::NotOpen,
    }
}

/// An error after which the transport is unusable: I/O, or TLS (which
/// rustls reports through its stream's I/O errors).
fn is_transport_error(e: &Error) -> bool {
    match e {
        Error::Io(_) | Error::Proxy(_) => true,
        #[cfg(feature = "rustls")]
        Error::Tls(_) => true,
        _ => false,
    }
}

/// One read (retried when interrupted): `Some(n)` (0 at EOF), `None` on
/// `WouldBlock`.
fn read_some(
    mut read: impl FnMut(&mut [u8]) -> io::Result<usize>,
    buf: &mut [u8],
) -> io::Result<Option<usize>> {
    loop {
        match read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if is_would_block(&e) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One write (retried when interrupted): `Some(n)` bytes taken, `None` on
/// `WouldBlock`.
fn write_some(mut write: impl FnMut() -> io::Result<usize>) -> io::Result<Option<usize>> {
    loop {
        match write() {
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
