//! The stream [`connect`](super::connect) returns: plain TCP for `ws://`,
//! TLS over TCP for `wss://` (through a proxy too: the tunnel is a TCP
//! stream, or TLS to an `https://` proxy).

use super::BlockingTransport;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A TCP stream, or (feature `rustls`) a TLS client stream over one.
///
/// One type for both schemes, so that code calling
/// [`connect`](super::connect) compiles the same whether or not some crate
/// in the build turns on the `rustls` feature.
///
/// ```
/// use rfc6455::blocking::{self, MaybeTlsStream};
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # std::thread::spawn(move || { let _ = blocking::accept(listener.accept().unwrap().0); });
/// let ws = blocking::connect(&url)?;
/// let stream: &MaybeTlsStream = ws.get_ref();
/// assert!(!stream.is_tls()); // ws://
/// println!("connected from {}", stream.tcp().local_addr()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`: the TCP stream itself.
    Plain(TcpStream),
    /// `wss://`: a TLS session over TCP, its handshake already done.
    #[cfg(feature = "rustls")]
    Rustls(Box<super::TlsClientStream>),
    /// `wss://` through an `https://` proxy: TLS to the server inside the
    /// tunnel, itself inside TLS to the proxy.
    #[cfg(feature = "rustls")]
    RustlsInTls(Box<rustls::StreamOwned<rustls::ClientConnection, super::TlsClientStream>>),
}

impl MaybeTlsStream {
    /// The TCP stream underneath (for addresses and socket options).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => &tls.sock,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInTls(tls) => &tls.sock.sock,
        }
    }

    /// Whether the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        !matches!(self, MaybeTlsStream::Plain(_))
    }

    /// Bound how long one read may block; `None` removes the bound.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    /// The current read bound.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.tcp().read_timeout()
    }

    fn transport(&mut self) -> &mut dyn BlockingTransport {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => &mut **tls,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInTls(tls) => &mut **tls,
        }
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.transport().read(buf)
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.transport().write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.transport().write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.transport().flush()
    }
}

impl BlockingTransport for MaybeTlsStream {
    fn shutdown(&mut self) -> io::Result<()> {
        self.transport().shutdown()
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        MaybeTlsStream::set_read_timeout(self, timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        MaybeTlsStream::read_timeout(self)
    }

    fn set_nodelay(&mut self, nodelay: bool) -> io::Result<()> {
        self.tcp().set_nodelay(nodelay)
    }
}
