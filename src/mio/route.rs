//! The stream a mio client reaches its server over, beneath any TLS of
//! the server's own.

use super::MioTransport;
use ::mio::event::Source;
use ::mio::net::TcpStream;
use ::mio::{Interest, Registry, Token};
use std::io::{self, IoSlice, Read, Write};

/// A client's stream to the server: a TCP connection (direct, or a tunnel
/// through an HTTP or SOCKS5 proxy), or a tunnel inside TLS to an
/// `https://` proxy (feature `rustls`).
///
/// One type for both, because which one a connection gets is decided at
/// run time, by the proxy configuration (the environment, by default).
/// Either way its bytes are the tunnel's, so a proxy's exchange and the
/// WebSocket (or the server's TLS, in a [`TlsStream`](super::TlsStream)
/// over this) share it: the TLS to a proxy is beneath the tunnel, the
/// server's TLS inside it.
#[derive(Debug)]
pub enum ClientStream {
    /// A plain TCP connection.
    Tcp(TcpStream),
    /// A TLS session to an `https://` proxy, over TCP.
    #[cfg(feature = "rustls")]
    ProxyTls(Box<super::TlsStream<rustls::ClientConnection, TcpStream>>),
}

impl ClientStream {
    /// The TCP connection: to the server, or to the proxy.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            ClientStream::Tcp(tcp) => tcp,
            #[cfg(feature = "rustls")]
            ClientStream::ProxyTls(tls) => tls.socket(),
        }
    }
}

/// Each call goes to the variant's stream (`mut` for a `&mut self`).
macro_rules! each {
    (mut $self:expr, $s:ident => $call:expr) => {
        match $self {
            ClientStream::Tcp($s) => $call,
            #[cfg(feature = "rustls")]
            ClientStream::ProxyTls(tls) => {
                let $s = &mut **tls;
                $call
            }
        }
    };
    ($self:expr, $s:ident => $call:expr) => {
        match $self {
            ClientStream::Tcp($s) => $call,
            #[cfg(feature = "rustls")]
            ClientStream::ProxyTls(tls) => {
                let $s = &**tls;
                $call
            }
        }
    };
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        each!(mut self, s => s.read(buf))
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each!(mut self, s => s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        each!(mut self, s => s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        each!(mut self, s => s.flush())
    }
}

impl Source for ClientStream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        each!(mut self, s => s.register(registry, token, interest))
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        each!(mut self, s => s.reregister(registry, token, interest))
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        each!(mut self, s => s.deregister(registry))
    }
}

/// The stream's own hooks; a proxy's tunnel is negotiated over this
/// stream's plaintext, so `read_beneath` and the rest keep their defaults
/// (the stream itself).
impl MioTransport for ClientStream {
    fn shutdown(&mut self) -> io::Result<()> {
        each!(mut self, s => MioTransport::shutdown(s))
    }

    fn wants_write(&self) -> bool {
        each!(self, s => MioTransport::wants_write(s))
    }

    fn short_read_drains(&self) -> bool {
        each!(self, s => MioTransport::short_read_drains(s))
    }

    fn set_nodelay(&mut self, nodelay: bool) -> io::Result<()> {
        each!(mut self, s => MioTransport::set_nodelay(s, nodelay))
    }

    fn is_connected(&self) -> bool {
        each!(self, s => MioTransport::is_connected(s))
    }
}
