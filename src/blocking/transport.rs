//! What the blocking adapter needs from a stream beyond `Read + Write`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// A byte stream the blocking adapter can run a WebSocket over.
///
/// Beyond `Read + Write`, the close handshake wants two things a plain
/// stream trait cannot express: to close the transport (RFC 6455 §7.1.1: the
/// server closes TCP first) and to bound the client's wait for that close.
/// Both have no-op defaults, so any stream works with a one-line
/// `impl BlockingTransport for MyStream {}`; dropping the stream then closes it.
///
/// ```
/// use rfc6455::blocking::{BlockingTransport, WebSocket};
/// use rfc6455::{Config, Connection, Role};
/// use std::io::{self, Read, Write};
///
/// /// A stream that counts the bytes written through it.
/// struct Counted<S> {
///     inner: S,
///     written: usize,
/// }
/// impl<S: Read> Read for Counted<S> {
///     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
///         self.inner.read(buf)
///     }
/// }
/// impl<S: Write> Write for Counted<S> {
///     fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
///         let n = self.inner.write(buf)?;
///         self.written += n;
///         Ok(n)
///     }
///     fn flush(&mut self) -> io::Result<()> {
///         self.inner.flush()
///     }
/// }
/// impl<S: Read + Write> BlockingTransport for Counted<S> {}
///
/// let counted = Counted { inner: io::Cursor::new(Vec::new()), written: 0 };
/// let mut ws = WebSocket::from_parts(counted, Connection::new(Role::Server, Config::default()), None);
/// ws.send("hello")?;
/// assert_eq!(ws.get_ref().written, 7); // a 2-byte header and the payload
/// # Ok::<(), rfc6455::Error>(())
/// ```
pub trait BlockingTransport: Read + Write {
    /// Close the transport (or at least our sending half).
    fn shutdown(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Bound how long one read may block; `None` removes the bound.
    fn set_read_timeout(&mut self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    /// The current read bound.
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(None)
    }

    /// Send small writes at once instead of coalescing them (TCP's
    /// `TCP_NODELAY`); the adapter turns it on for every socket it
    /// connects or accepts, since it writes whole frames.
    fn set_nodelay(&mut self, _nodelay: bool) -> io::Result<()> {
        Ok(())
    }
}

impl BlockingTransport for TcpStream {
    fn shutdown(&mut self) -> io::Result<()> {
        match TcpStream::shutdown(self, Shutdown::Both) {
            // Already closed by the peer: nothing left to do.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        TcpStream::read_timeout(self)
    }

    fn set_nodelay(&mut self, nodelay: bool) -> io::Result<()> {
        TcpStream::set_nodelay(self, nodelay)
    }
}

#[cfg(unix)]
impl BlockingTransport for std::os::unix::net::UnixStream {
    fn shutdown(&mut self) -> io::Result<()> {
        match std::os::unix::net::UnixStream::shutdown(self, Shutdown::Both) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        std::os::unix::net::UnixStream::read_timeout(self)
    }
}

impl<T: BlockingTransport + ?Sized> BlockingTransport for Box<T> {
    fn shutdown(&mut self) -> io::Result<()> {
        (**self).shutdown()
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).read_timeout()
    }

    fn set_nodelay(&mut self, nodelay: bool) -> io::Result<()> {
        (**self).set_nodelay(nodelay)
    }
}
