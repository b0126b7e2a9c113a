//! The stream [`connect`](super::connect) returns: plain TCP for `ws://`,
//! TLS over TCP for `wss://` (feature `rustls`); through an `https://` proxy,
//! inside the proxy's TLS.

use core::pin::Pin;
use core::task::{Context, Poll};
use std::io::{self, IoSlice};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream, or (feature `rustls`) a TLS client stream over one.
///
/// One type for both schemes, so that code calling
/// [`connect`](super::connect) compiles the same whether or not some crate
/// in the build turns on the `rustls` feature.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`: the TCP stream itself.
    Plain(TcpStream),
    /// `wss://`: a TLS session over TCP, its handshake already done.
    #[cfg(feature = "rustls")]
    Rustls(Box<super::TlsStream<TcpStream>>),
    /// `wss://` through an `https://` proxy: the server's TLS session
    /// inside the proxy's.
    #[cfg(feature = "rustls")]
    RustlsInTls(Box<super::TlsStream<super::TlsStream<TcpStream>>>),
}

impl MaybeTlsStream {
    /// The TCP stream underneath (for addresses and socket options).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.get_ref(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInTls(tls) => tls.get_ref().get_ref(),
        }
    }

    /// Whether the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        !matches!(self, MaybeTlsStream::Plain(_))
    }
}

/// Forwards one `AsyncRead`/`AsyncWrite` call to the variant's stream.
macro_rules! forward {
    ($self:ident, $s:ident => $call:expr) => {
        match $self.get_mut() {
            MaybeTlsStream::Plain($s) => {
                let $s = Pin::new($s);
                $call
            }
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls($s) => {
                let $s = Pin::new(&mut **$s);
                $call
            }
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInTls($s) => {
                let $s = Pin::new(&mut **$s);
                $call
            }
        }
    };
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        forward!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        forward!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        forward!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.is_write_vectored(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.is_write_vectored(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInTls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        forward!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        forward!(self, s => s.poll_shutdown(cx))
    }
}
