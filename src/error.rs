//! Errors, layered by audience.
//!
//! - [`ProtocolError`]: what the *peer* did wrong. Each maps to the close code
//!   the connection already queued when it returned the error.
//! - [`Error`]: everything a call can fail with: a protocol error, a misuse
//!   by the caller, the end of the connection, a failed handshake, and (in the
//!   adapters only, never in the core) I/O and TLS.

use crate::close::{CloseCode, CloseFrame, ClosedBy};
use crate::timer::Timeout;
use core::fmt;

/// A violation of RFC 6455 / RFC 7692 by the peer.
///
/// ```
/// use rfc6455::{CloseCode, Config, Connection, Error, ProtocolError, Role};
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// server.receive(b"\x81\x05Hello"); // a client frame without a mask
/// match server.poll_event() {
///     Err(Error::Protocol(e)) => {
///         assert_eq!(e, ProtocolError::UnmaskedFrame);
///         assert_eq!(e.close_code(), CloseCode::PROTOCOL_ERROR);
///     }
///     other => panic!("{other:?}"),
/// }
/// assert!(server.has_pending_output()); // the 1002 close frame, queued
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV1-3 set without an extension that defines them (§5.2).
    ReservedBits,
    /// An opcode that RFC 6455 leaves reserved (§5.2).
    UnknownOpcode(u8),
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// A control frame with more than 125 payload bytes (§5.5).
    ControlFrameTooLong,
    /// A continuation frame with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new text/binary frame while a fragmented message is unfinished (§5.4).
    ExpectedContinuation,
    /// A client sent an unmasked frame (§5.1).
    UnmaskedFrame,
    /// A server sent a masked frame (§5.1).
    MaskedFrame,
    /// A 64-bit payload length with its most significant bit set (§5.2).
    InvalidLength,
    /// Text or a close reason that is not UTF-8 (§8.1).
    InvalidUtf8,
    /// A close payload of exactly one byte (§5.5.1).
    InvalidClosePayload,
    /// A close code that may not be sent on the wire (§7.4).
    InvalidCloseCode(u16),
    /// A frame payload over the configured limit.
    FrameTooLarge,
    /// A message over the configured limit (after decompression, if any).
    MessageTooLarge,
    /// A data frame after the peer's close frame (§5.5.1).
    DataAfterClose,
    /// RSV1 on a continuation or control frame under permessage-deflate (RFC 7692 §6).
    CompressedContinuation,
    /// The compressed payload could not be inflated (RFC 7692 §6.2).
    BadCompressedData,
}

impl ProtocolError {
    /// The close code this error is answered with.
    ///
    /// ```
    /// use rfc6455::{CloseCode, ProtocolError};
    /// assert_eq!(ProtocolError::InvalidUtf8.close_code(), CloseCode::INVALID_PAYLOAD);
    /// assert_eq!(ProtocolError::MessageTooLarge.close_code(), CloseCode::MESSAGE_TOO_BIG);
    /// ```
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            ProtocolError::FrameTooLarge | ProtocolError::MessageTooLarge => {
                CloseCode::MESSAGE_TOO_BIG
            }
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short reason, sent in the close frame.
    ///
    /// ```
    /// assert_eq!(rfc6455::ProtocolError::ReservedBits.reason(), "reserved bits set");
    /// ```
    pub fn reason(&self) -> &'static str {
        match self {
            ProtocolError::ReservedBits => "reserved bits set",
            ProtocolError::UnknownOpcode(_) => "unknown opcode",
            ProtocolError::FragmentedControlFrame => "fragmented control frame",
            ProtocolError::ControlFrameTooLong => "control frame too long",
            ProtocolError::UnexpectedContinuation => "unexpected continuation frame",
            ProtocolError::ExpectedContinuation => "expected continuation frame",
            ProtocolError::UnmaskedFrame => "unmasked client frame",
            ProtocolError::MaskedFrame => "masked server frame",
            ProtocolError::InvalidLength => "invalid payload length",
            ProtocolError::InvalidUtf8 => "invalid UTF-8",
            ProtocolError::InvalidClosePayload => "invalid close payload",
            ProtocolError::InvalidCloseCode(_) => "invalid close code",
            ProtocolError::FrameTooLarge => "frame too large",
            ProtocolError::MessageTooLarge => "message too large",
            ProtocolError::DataAfterClose => "data after close",
            ProtocolError::CompressedContinuation => "RSV1 on continuation or control frame",
            ProtocolError::BadCompressedData => "invalid compressed data",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::UnknownOpcode(op) => write!(f, "unknown opcode {op:#x}"),
            ProtocolError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            other => f.write_str(other.reason()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProtocolError {}

/// Any failure of a WebSocket operation.
///
/// `Display` says what happened in one line, including the cause's own
/// text (so printing the error alone is enough); [`source`] then skips that
/// cause and goes on with *its* source, so an error reporter that walks the
/// chain never prints the same words twice.
///
/// The predicates answer what callers usually branch on:
/// [`is_closed`](Self::is_closed) (the connection is over) and
/// [`is_timeout`](Self::is_timeout) (a deadline passed: retry or give up).
///
/// ```
/// use rfc6455::{ClosedBy, Config, Connection, Error, Message, Role};
///
/// let mut client = Connection::new(Role::Client, Config::default());
/// client.receive(b"\x88\x02\x03\xe8"); // the server's close frame, 1000
/// while client.poll_event()?.is_some() {}
/// let error = client.send(Message::text("late")).unwrap_err();
/// assert!(matches!(error, Error::SendAfterClose));
/// let closed = client.closed_error();
/// assert!(closed.is_closed() && !closed.is_timeout());
/// assert!(matches!(closed, Error::Closed { by: ClosedBy::Peer, clean: true, .. }));
/// assert_eq!(closed.to_string(), "connection closed by the peer with 1000");
/// # Ok::<(), rfc6455::Error>(())
/// ```
///
/// [`source`]: core::error::Error::source
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol; the matching close frame is already queued.
    Protocol(ProtocolError),
    /// The opening handshake failed (refused, malformed, or mismatched).
    Handshake(crate::handshake::HandshakeError),
    /// The connection is closed; no more messages will arrive or be sent.
    Closed {
        /// The peer's close frame, if it sent one with a status code.
        frame: Option<CloseFrame>,
        /// Whether both sides exchanged close frames before the transport ended.
        clean: bool,
        /// Who ended it: our close, the peer's, or the transport.
        by: ClosedBy,
    },
    /// A deadline passed: the opening handshake, a keepalive pong, or the
    /// close handshake took too long ([`Keepalive`](crate::Keepalive)).
    Timeout(Timeout),
    /// The caller tried to send after a close frame was sent.
    SendAfterClose,
    /// The caller passed a close code that may not be sent (§7.4).
    InvalidCloseCode(u16),
    /// The caller passed a control payload over 125 bytes (§5.5).
    ControlPayloadTooLong,
    /// The caller sent a continuation fragment with no message started, or
    /// started a new message while a fragmented one is unfinished.
    FragmentOutOfOrder,
    /// The outgoing buffer is over its high-water mark; the message was not queued.
    WouldExceedBuffer,
    /// The proxy in front of the server failed: unreachable or silent,
    /// refused the tunnel (with its HTTP status or SOCKS5 reply code), or
    /// its URL is malformed. Names the proxy.
    Proxy(alloc::boxed::Box<crate::proxy::ProxyError>),
    /// The transport failed (adapters only; the core never does I/O).
    #[cfg(feature = "std")]
    Io(std::io::Error),
    /// TLS failed: the peer's certificate was refused (unknown issuer, wrong
    /// name, expired), the peer sent an alert, or the records were corrupt.
    #[cfg(feature = "rustls")]
    Tls(rustls::Error),
}

impl Error {
    /// The close code a protocol error was answered with, if this is one.
    ///
    /// ```
    /// use rfc6455::{CloseCode, Error, ProtocolError};
    /// let error = Error::from(ProtocolError::FrameTooLarge);
    /// assert_eq!(error.close_code(), Some(CloseCode::MESSAGE_TOO_BIG));
    /// assert_eq!(Error::SendAfterClose.close_code(), None);
    /// ```
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(e) => Some(e.close_code()),
            _ => None,
        }
    }

    /// Whether this error means the connection is over (no point retrying).
    ///
    /// ```
    /// use rfc6455::{CloseCode, Config, Connection, Role};
    /// let mut conn = Connection::new(Role::Client, Config::default());
    /// conn.receive_eof();
    /// assert!(conn.closed_error().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::Closed { .. })
    }

    /// Whether a deadline passed: a socket read, write or connect timeout
    /// (`TimedOut`, or the `WouldBlock` a blocking socket with a read
    /// timeout reports), the opening handshake's deadline, or a keepalive,
    /// pong or close timeout, or a proxy that was too slow to accept or to
    /// reply. After a socket read timeout the connection is intact and the
    /// next read carries on.
    ///
    /// ```
    /// use rfc6455::{Error, Timeout};
    /// use std::io;
    ///
    /// assert!(Error::Io(io::ErrorKind::WouldBlock.into()).is_timeout());
    /// assert!(Error::Io(io::ErrorKind::TimedOut.into()).is_timeout());
    /// assert!(Error::Timeout(Timeout::Pong).is_timeout());
    /// assert!(!Error::Io(io::ErrorKind::ConnectionReset.into()).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Proxy(e) => e.is_timeout(),
            #[cfg(feature = "std")]
            Error::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => write!(f, "protocol error: {e} (closed with {})", e.close_code()),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Closed { frame, clean, by } => {
                match (by, frame) {
                    (ClosedBy::Us, None) => f.write_str("connection closed by us")?,
                    (ClosedBy::Us, Some(frame)) => {
                        write!(f, "connection closed by us (the peer replied {frame})")?
                    }
                    (ClosedBy::Peer, None) => f.write_str("connection closed by the peer")?,
                    (ClosedBy::Peer, Some(frame)) => {
                        write!(f, "connection closed by the peer with {frame}")?
                    }
                    (ClosedBy::Transport, _) => f.write_str(
                        "connection lost: the transport ended before the close handshake",
                    )?,
                }
                if !*clean && *by != ClosedBy::Transport {
                    f.write_str(", uncleanly")?;
                }
                Ok(())
            }
            Error::Timeout(which) => write!(f, "timed out: {which}"),
            Error::SendAfterClose => f.write_str("cannot send after a close frame was sent"),
            Error::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Error::ControlPayloadTooLong => f.write_str("control frame payload over 125 bytes"),
            Error::FragmentOutOfOrder => f.write_str("fragment sent out of order"),
            Error::WouldExceedBuffer => f.write_str("outgoing buffer full"),
            Error::Proxy(e) => fmt::Display::fmt(e, f),
            #[cfg(feature = "std")]
            Error::Io(e) => write!(f, "I/O error: {e}"),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => write!(f, "TLS error: {e}"),
        }
    }
}

/// The cause's text is already in `Display`, so `source` continues with the
/// cause's own source (see [`Error`]).
#[cfg(feature = "std")]
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Protocol(e) => e.source(),
            Error::Handshake(e) => e.source(),
            Error::Proxy(e) => e.source(),
            Error::Io(e) => e.source(),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => e.source(),
            _ => None,
        }
    }
}

impl From<Timeout> for Error {
    fn from(which: Timeout) -> Self {
        Error::Timeout(which)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<crate::proxy::ProxyError> for Error {
    fn from(e: crate::proxy::ProxyError) -> Self {
        Error::Proxy(alloc::boxed::Box::new(e))
    }
}

impl From<crate::handshake::HandshakeError> for Error {
    fn from(e: crate::handshake::HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

/// An I/O error, unless it carries a TLS error: rustls's streams report
/// those as `io::Error`s wrapping a `rustls::Error`, which become
/// `Error::Tls` here (with the `rustls` feature) so a refused certificate
/// does not pass for I/O.
#[cfg(feature = "std")]
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        #[cfg(feature = "rustls")]
        if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
            let kind = e.kind();
            return match e
                .into_inner()
                .map(|inner| inner.downcast::<rustls::Error>())
            {
                Some(Ok(tls)) => Error::Tls(*tls),
                // Not reached: the check above saw a rustls::Error.
                Some(Err(other)) => Error::Io(std::io::Error::new(kind, other)),
                None => Error::Io(kind.into()),
            };
        }
        Error::Io(e)
    }
}

#[cfg(feature = "rustls")]
impl From<rustls::Error> for Error {
    fn from(e: rustls::Error) -> Self {
        Error::Tls(e)
    }
}
