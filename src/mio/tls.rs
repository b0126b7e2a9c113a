//! TLS over a non-blocking stream with rustls (features `mio` and
//! `rustls`).
//!
//! rustls is itself sans-IO: ciphertext goes in with `read_tls`, out with
//! `write_tls`, and it buffers in both directions. [`TlsStream`] pumps
//! those buffers against a `mio::net::TcpStream` without ever blocking, and
//! tells the adapter through [`MioTransport::wants_write`] when TLS has bytes
//! of its own to send (handshake messages, alerts, `close_notify`, or
//! records the socket did not take), so writable interest is kept even when
//! the WebSocket has nothing queued: TLS may need to write while the
//! application only reads.
//!
//! The stream beneath a session is any [`MioTransport`], a TCP socket
//! usually, but also another `TlsStream`: `wss://` through an `https://`
//! proxy runs the server's session inside the proxy's (see
//! [`ClientStream`]), each pumping its records through the one beneath.

use super::{ClientStream, MioTransport, Options, WebSocket};
use crate::error::Error;
use crate::handshake::{ClientOptions, WsUrl};
use ::mio::event::Source;
use ::mio::net::TcpStream;
use ::mio::{Interest, Registry, Token};
use rustls::{ClientConfig, ClientConnection, ConnectionCommon, ServerConnection, SideData};
use std::io::{self, IoSlice, Read, Write};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A rustls session over a non-blocking stream `T` (a TCP socket, or the
/// TLS session to an `https://` proxy): a [`MioTransport`] for
/// [`WebSocket`]. Reads and writes carry plaintext and return `WouldBlock`
/// when the stream does; registration is the stream's.
///
/// TLS errors (a refused certificate, a bad record) come out of `read` as
/// `io::Error`s wrapping a [`rustls::Error`], which the adapter reports as
/// [`Error::Tls`].
#[derive(Debug)]
pub struct TlsStream<C, T = TcpStream> {
    conn: C,
    sock: T,
}

/// A TLS client session as [`WebSocket::connect_tls`] opens it: over TCP
/// to the server, or through a proxy's tunnel, which may itself run inside
/// TLS to an `https://` proxy.
pub type TlsClientStream = TlsStream<ClientConnection, ClientStream>;

/// A TLS server session over TCP: wrap an accepted socket with
/// [`TlsStream::new`] and hand it to [`WebSocket::accept`].
pub type TlsServerStream = TlsStream<ServerConnection>;

impl<C, S, T> TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
    T: MioTransport,
{
    /// A session `conn` (fresh: its TLS handshake runs as the WebSocket's
    /// starts) over a non-blocking stream.
    pub fn new(conn: C, sock: T) -> Self {
        TlsStream { conn, sock }
    }

    /// The TLS session (negotiated version, ALPN, peer certificates).
    pub fn session(&self) -> &C {
        &self.conn
    }

    /// The stream beneath the session (the socket, usually).
    pub fn socket(&self) -> &T {
        &self.sock
    }

    /// Send buffered TLS records until they are out or the stream would
    /// block (which is not an error: [`wants_write`](MioTransport::wants_write)
    /// keeps writable interest until they are), then flush the stream,
    /// which may buffer records of its own (a TLS session beneath).
    fn send_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if is_blocked(&e) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        match self.sock.flush() {
            Err(e) if is_blocked(&e) => Ok(()),
            other => other,
        }
    }

    /// Hand plaintext to rustls with `write` and send what the socket
    /// takes; nothing taken means rustls's buffer is full (`WouldBlock`).
    fn encrypt(
        &mut self,
        write: impl FnOnce(&mut rustls::Writer<'_>) -> io::Result<usize>,
    ) -> io::Result<usize> {
        self.send_tls()?;
        let taken = write(&mut self.conn.writer())?;
        self.send_tls()?;
        if taken == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Read ciphertext from the socket and decrypt it. `Ok(false)` when the
    /// socket has nothing now.
    fn receive_tls(&mut self) -> io::Result<bool> {
        match self.conn.read_tls(&mut self.sock) {
            // EOF is recorded by rustls; the reader reports it next.
            Ok(_) => {}
            Err(e) if is_blocked(&e) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(true),
            Err(e) => return Err(e),
        }
        if let Err(tls) = self.conn.process_new_packets() {
            // rustls queued an alert saying why: try to get it out.
            let _ = self.send_tls();
            return Err(io::Error::new(io::ErrorKind::InvalidData, tls));
        }
        Ok(true)
    }
}

impl<C, S, T> Read for TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
    T: MioTransport,
{
    /// Plaintext already decrypted, else whatever the socket brings in; the
    /// handshake advances along the way (its replies are sent at once).
    /// `WouldBlock` only once the socket said so, as mio's edge-triggered
    /// readiness requires. `Ok(0)` after the peer's `close_notify`; a TCP
    /// close without one is `UnexpectedEof`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
            let progressed = self.receive_tls()?;
            // Handshake replies go out now; a failed send shows up again
            // on the next write or flush, and reading must not hide what
            // was already received.
            let _ = self.send_tls();
            if !progressed {
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
    }
}

impl<C, S, T> Write for TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
    T: MioTransport,
{
    /// Encrypt what rustls's buffer takes and send what the socket takes.
    /// `WouldBlock` when rustls's buffer is at its limit and the socket
    /// cannot drain it: that is TLS's backpressure reaching the adapter.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.encrypt(|writer| writer.write(buf))
    }

    /// As `write`, for all of `bufs` at once: rustls frames them into
    /// records together, so the WebSocket's chunks (headers and shared
    /// payloads) do not each make a record of their own.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if bufs.iter().all(|buf| buf.is_empty()) {
            return Ok(0);
        }
        self.encrypt(|writer| writer.write_vectored(bufs))
    }

    /// Send buffered records; `WouldBlock` while some remain, here or in
    /// the stream beneath.
    fn flush(&mut self) -> io::Result<()> {
        self.send_tls()?;
        if self.wants_write() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    }
}

impl<C, T: Source> Source for TlsStream<C, T> {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.sock.register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.sock.reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.sock.deregister(registry)
    }
}

impl<C, S, T> MioTransport for TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
    T: MioTransport,
{
    /// RFC 8446 §6.1: `close_notify` first, so the peer can tell our end
    /// from a truncation; then the stream beneath (best effort: the adapter
    /// closes at the end of the close handshake or on failure, not to wait
    /// for TLS).
    fn shutdown(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        let _ = self.send_tls();
        self.sock.shutdown()
    }

    fn wants_write(&self) -> bool {
        self.conn.wants_write() || self.sock.wants_write()
    }

    fn set_nodelay(&mut self, nodelay: bool) -> io::Result<()> {
        self.sock.set_nodelay(nodelay)
    }

    fn is_connected(&self) -> bool {
        self.sock.is_connected()
    }

    /// The stream beneath, as it carries plaintext (a socket's bytes, or
    /// an `https://` proxy's session): a proxy's tunnel comes before this
    /// session's TLS.
    fn read_beneath(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read(buf)
    }

    fn write_beneath(&mut self, data: &[u8]) -> io::Result<usize> {
        self.sock.write(data)
    }

    /// The stream beneath has records of its own to send (the `https://`
    /// proxy's handshake) while this session waits for the tunnel.
    fn wants_write_beneath(&self) -> bool {
        self.sock.wants_write()
    }

    fn flush_beneath(&mut self) -> io::Result<()> {
        self.sock.flush()
    }

    /// Bytes after a proxy's reply are the server's TLS records.
    fn receive_beneath(&mut self, data: Vec<u8>) -> io::Result<Vec<u8>> {
        if !data.is_empty() {
            self.conn.read_tls(&mut data.as_slice())?;
            self.conn
                .process_new_packets()
                .map_err(|tls| io::Error::new(io::ErrorKind::InvalidData, tls))?;
        }
        Ok(Vec::new())
    }
}

impl WebSocket<TlsClientStream> {
    /// Start connecting to a `wss://` URL: resolves the host (blocking on
    /// DNS for a name), opens a non-blocking TCP connection, starts TLS with
    /// SNI for the URL's host under `tls` (see
    /// [`blocking::default_tls_config`](crate::blocking::default_tls_config)
    /// for the bundled roots), and queues the upgrade request, which rustls
    /// sends once its handshake is done. Certificate errors come from
    /// [`poll_event`](Self::poll_event) as [`Error::Tls`]. Through a proxy
    /// as [`WebSocket::connect`] describes, TLS inside the tunnel; an
    /// `https://` proxy is verified under `tls` too, and the server's
    /// session runs inside the proxy's.
    pub fn connect_tls(
        url: &str,
        tls: Arc<ClientConfig>,
        client: ClientOptions,
        options: &Options,
    ) -> Result<Self, Error> {
        let parsed = WsUrl::parse(url)?;
        let session = crate::blocking::client_session(&parsed, tls.clone())?;
        let (sock, proxying) = super::proxy::open(&parsed, &client.proxy, Some(&tls))?;
        let stream = TlsStream::new(session, sock);
        Ok(Self::with_client_upgrade(
            stream, &parsed, client, options, proxying,
        ))
    }
}

impl WebSocket<ClientStream> {
    /// [`connect`](WebSocket::connect) to a `ws://` URL, an `https://`
    /// proxy verified under `tls` instead of the bundled roots (a proxy
    /// whose certificate a private CA signs, as in a corporate network).
    pub fn connect_with_proxy_tls(
        url: &str,
        tls: Arc<ClientConfig>,
        client: ClientOptions,
        options: &Options,
    ) -> Result<Self, Error> {
        Self::connect_through(url, client, options, Some(&tls))
    }
}

/// `WouldBlock`, or `NotConnected` while a TCP connect is in progress.
fn is_blocked(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
    )
}
