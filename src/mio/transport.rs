//! What the mio adapter needs from a stream.

use std::io::{self, Read, Write};
use std::net::Shutdown;

/// A non-blocking byte stream the mio adapter can run a WebSocket over.
///
/// `Read + Write` that return `WouldBlock` instead of blocking, and a mio
/// [`Source`](::mio::event::Source) to register for readiness. A TLS stream
/// plugs in by implementing this for its wrapper (reads and writes go
/// through the TLS session, registration through the inner socket).
pub trait MioTransport: Read + Write + ::mio::event::Source {
    /// Close the transport (RFC 6455 §7.1.1: the server closes TCP first).
    /// The default does nothing; dropping the stream then closes it.
    fn shutdown(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Whether the transport holds output of its own that the socket has
    /// not taken yet (a TLS session's records: handshake messages, alerts,
    /// encrypted data). While it does, the adapter keeps writable interest
    /// and calls `flush` on writable events, even with no WebSocket output
    /// pending. The default, for plain sockets, is `false`.
    fn wants_write(&self) -> bool {
        false
    }

    /// Whether a read that returned fewer bytes than asked proves the
    /// socket drained. True for plain stream sockets: the kernel handed over
    /// everything it had, and data arriving later raises a new readiness
    /// edge, so the extra read that would only return `WouldBlock` can be
    /// skipped (one system call less per message under request/response
    /// load). False by default, and for TLS, whose plaintext reads say
    /// nothing about the socket underneath.
    fn short_read_drains(&self) -> bool {
        false
    }

    /// Send small writes at once (TCP's `TCP_NODELAY`); the adapter turns
    /// it on for every socket it connects or accepts, since it writes whole
    /// frames. The default does nothing.
    fn set_nodelay(&mut self, _nodelay: bool) -> io::Result<()> {
        Ok(())
    }

    /// Whether a connection started without blocking is established
    /// (mio's advice: a peer address exists once it is). Bounds
    /// [`ClientOptions::connect_timeout`](crate::ClientOptions::connect_timeout).
    /// The default, for streams that are connected when made, is `true`.
    fn is_connected(&self) -> bool {
        true
    }

    /// Read from the stream beneath the transport's own protocol: a proxy's
    /// tunnel is negotiated there before that protocol (TLS) starts. The
    /// default reads the transport itself, right for plain sockets.
    fn read_beneath(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf)
    }

    /// Write to the stream beneath the transport's own protocol (see
    /// [`read_beneath`](Self::read_beneath)).
    fn write_beneath(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write(data)
    }

    /// Whether the stream beneath the transport's own protocol holds output
    /// of its own (TLS records to an `https://` proxy) while a tunnel is
    /// negotiated there; the transport's own output waits for the tunnel.
    /// The default is [`wants_write`](Self::wants_write), right for a
    /// transport that is its own stream beneath.
    fn wants_write_beneath(&self) -> bool {
        self.wants_write()
    }

    /// Send what [`wants_write_beneath`](Self::wants_write_beneath) holds;
    /// `WouldBlock` while some remains.
    fn flush_beneath(&mut self) -> io::Result<()> {
        self.flush()
    }

    /// Bytes read beneath the protocol past the end of a proxy's reply:
    /// the server's first bytes. The transport keeps what is its own (TLS
    /// records) and returns the rest, for the WebSocket handshake. The
    /// default keeps nothing.
    fn receive_beneath(&mut self, data: Vec<u8>) -> io::Result<Vec<u8>> {
        Ok(data)
    }
}

impl MioTransport for ::mio::net::TcpStream {
    fn shutdown(&mut self) -> io::Result<()> {
        match ::mio::net::TcpStream::shutdown(self, Shutdown::Both) {
            // Already gone on the peer's side: nothing left to close.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    fn short_read_drains(&self) -> bool {
        true
    }

    fn set_nodelay(&mut self, nodelay: bool) -> io::Result<()> {
        ::mio::net::TcpStream::set_nodelay(self, nodelay)
    }

    fn is_connected(&self) -> bool {
        self.peer_addr().is_ok()
    }
}

#[cfg(unix)]
impl MioTransport for ::mio::net::UnixStream {
    fn shutdown(&mut self) -> io::Result<()> {
        match ::mio::net::UnixStream::shutdown(self, Shutdown::Both) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    fn short_read_drains(&self) -> bool {
        true
    }
}
