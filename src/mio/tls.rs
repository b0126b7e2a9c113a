//! TLS over a non-blocking TCP socket with rustls (features `mio` and
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

use super::{MioTransport, Options, WebSocket};
use crate::error::Error;
use crate::handshake::{ClientOptions, WsUrl};
use ::mio::event::Source;
use ::mio::net::TcpStream;
use ::mio::{Interest, Registry, Token};
use rustls::{ClientConfig, ClientConnection, ConnectionCommon, ServerConnection, SideData};
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A rustls session over a non-blocking TCP socket: a [`MioTransport`] for
/// [`WebSocket`]. Reads and writes carry plaintext and return `WouldBlock`
/// when the socket does; registration is the socket's.
///
/// TLS errors (a refused certificate, a bad record) come out of `read` as
/// `io::Error`s wrapping a [`rustls::Error`], which the adapter reports as
/// [`Error::Tls`].
#[derive(Debug)]
pub struct TlsStream<C> {
    conn: C,
    sock: TcpStream,
}

/// A TLS client session over TCP, as [`WebSocket::connect_tls`] opens it.
pub type TlsClientStream = TlsStream<ClientConnection>;

/// A TLS server session over TCP: wrap an accepted socket with
/// [`TlsStream::new`] and hand it to [`WebSocket::accept`].
pub type TlsServerStream = TlsStream<ServerConnection>;

impl<C, S> TlsStream<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
{
    /// A session `conn` (fresh: its TLS handshake runs as the WebSocket's
    /// starts) over a non-blocking socket.
    pub fn new(conn: C, sock: TcpStream) -> Self {
        TlsStream { conn, sock }
    }

    /// The TLS session (negotiated version, ALPN, peer certificates).
    pub fn session(&self) -> &C {
        &self.conn
    }

    /// The socket.
    pub fn socket(&self) -> &TcpStream {
        &self.sock
    }

    /// Send buffered TLS records until they are out or the socket would
    /// block (which is not an error: [`wants_write`](MioTransport::wants_write)
    /// keeps writable interest until they are).
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
        Ok(())
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

impl<C, S> Read for TlsStream<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
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

impl<C, S> Write for TlsStream<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
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

    /// Send buffered records; `WouldBlock` while some remain.
    fn flush(&mut self) -> io::Result<()> {
        self.send_tls()?;
        if self.conn.wants_write() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    }
}

impl<C> Source for TlsStream<C> {
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

impl<C, S> MioTransport for TlsStream<C>
where
    C: DerefMut + Deref<Target = ConnectionCommon<S>>,
    S: SideData,
{
    /// RFC 8446 §6.1: `close_notify` first, so the peer can tell our end
    /// from a truncation; then TCP (best effort: the adapter closes at the
    /// end of the close handshake or on failure, not to wait for TLS).
    fn shutdown(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        let _ = self.send_tls();
        match self.sock.shutdown(Shutdown::Both) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    fn set_nodelay(&mut self, nodelay: bool) -> io::Result<()> {
        self.sock.set_nodelay(nodelay)
    }

    fn is_connected(&self) -> bool {
        self.sock.peer_addr().is_ok()
    }

    /// The socket: a proxy's tunnel comes before TLS.
    fn read_beneath(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read(buf)
    }

    fn write_beneath(&mut self, data: &[u8]) -> io::Result<usize> {
        self.sock.write(data)
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
    /// as [`WebSocket::connect`] describes, TLS inside the tunnel.
    pub fn connect_tls(
        url: &str,
        tls: Arc<ClientConfig>,
        client: ClientOptions,
        options: &Options,
    ) -> Result<Self, Error> {
        let parsed = WsUrl::parse(url)?;
        let session = crate::blocking::client_session(&parsed, tls)?;
        let (sock, proxying) = super::proxy::open(&parsed, &client.proxy)?;
        let stream = TlsStream::new(session, sock);
        Ok(Self::with_client_upgrade(
            stream, &parsed, client, options, proxying,
        ))
    }
}

/// `WouldBlock`, or `NotConnected` while a TCP connect is in progress.
fn is_blocked(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
    )
}
