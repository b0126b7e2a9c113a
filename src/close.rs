//! Close codes and the close frame payload (RFC 6455 §5.5.1, §7.4).

use crate::error::ProtocolError;
use crate::message::Utf8Bytes;
use bytes::{BufMut, Bytes, BytesMut};
use core::fmt;

/// A close status code.
///
/// An open newtype rather than an enum: codes registered after this crate was
/// written (and private 4000-4999 codes) pass through unchanged.
///
/// ```
/// use rfc6455::CloseCode;
///
/// assert_eq!(CloseCode::NORMAL.as_u16(), 1000);
/// // An application's own code (3000-4999) passes through as it is.
/// let custom = CloseCode(4001);
/// assert!(custom.is_valid_on_wire());
/// assert!(!CloseCode::ABNORMAL.is_valid_on_wire()); // 1006 is for reporting only
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer violated the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept (e.g. binary only).
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no code was present. Never sent on the wire.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection dropped without a close frame. Never sent on the wire.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: message data inconsistent with its type (invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway got a bad response upstream (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: TLS handshake failure. Never sent on the wire.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// The numeric value.
    ///
    /// ```
    /// assert_eq!(rfc6455::CloseCode::GOING_AWAY.as_u16(), 1001);
    /// ```
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether this code may appear in a close frame on the wire.
    ///
    /// RFC 6455 §7.4.1 and §7.4.2: 0-999 are unused, 1004 is reserved,
    /// 1005/1006/1015 are for reporting only, 1016-2999 are reserved for
    /// future protocol revisions, 3000-4999 belong to libraries and
    /// applications. 1012-1014 were registered with IANA since and are valid.
    ///
    /// ```
    /// use rfc6455::CloseCode;
    /// assert!(CloseCode::TRY_AGAIN_LATER.is_valid_on_wire());
    /// assert!(!CloseCode(1004).is_valid_on_wire());
    /// assert!(!CloseCode(2999).is_valid_on_wire());
    /// ```
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

/// The body of a close frame: a status code and a UTF-8 reason.
///
/// ```
/// use rfc6455::{CloseCode, CloseFrame};
///
/// let frame = CloseFrame::new(CloseCode::NORMAL, "bye");
/// assert_eq!(frame.to_string(), "1000 \"bye\"");
/// assert_eq!(CloseFrame::parse(&frame.encode())?, Some(frame));
/// # Ok::<(), rfc6455::ProtocolError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// Human-readable reason; at most 123 bytes on the wire.
    pub reason: Utf8Bytes,
}

/// RFC 6455 §5.5: a control frame payload is at most 125 bytes, and a close
/// payload spends two of them on the code.
pub const MAX_CLOSE_REASON: usize = 123;

impl CloseFrame {
    /// A close frame with a code and reason.
    ///
    /// ```
    /// use rfc6455::{CloseCode, CloseFrame};
    /// let frame = CloseFrame::new(CloseCode::GOING_AWAY, String::from("restarting"));
    /// assert_eq!(frame.reason, "restarting");
    /// ```
    pub fn new(code: CloseCode, reason: impl Into<Utf8Bytes>) -> Self {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }

    /// Parse a received close payload. `Ok(None)` is an empty payload
    /// (no status code, reported to the application as 1005).
    ///
    /// ```
    /// use rfc6455::{CloseCode, CloseFrame, ProtocolError};
    ///
    /// let frame = CloseFrame::parse(b"\x03\xe8done")?.expect("a code");
    /// assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::NORMAL, "done"));
    /// assert_eq!(CloseFrame::parse(b"")?, None);
    /// assert_eq!(CloseFrame::parse(b"\x03"), Err(ProtocolError::InvalidClosePayload));
    /// assert_eq!(CloseFrame::parse(b"\x03\xee"), Err(ProtocolError::InvalidCloseCode(1006)));
    /// # Ok::<(), ProtocolError>(())
    /// ```
    pub fn parse(payload: &[u8]) -> Result<Option<CloseFrame>, ProtocolError> {
        match payload.len() {
            0 => Ok(None),
            // RFC 6455 §5.5.1: if there is a body, its first two bytes are the code.
            1 => Err(ProtocolError::InvalidClosePayload),
            _ => {
                let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
                // RFC 6455 §7.4.1: codes not allowed on the wire fail the connection.
                if !code.is_valid_on_wire() {
                    return Err(ProtocolError::InvalidCloseCode(code.0));
                }
                // RFC 6455 §5.5.1: the reason is UTF-8; §8.1 invalid UTF-8 fails with 1007.
                let reason = Utf8Bytes::try_from_bytes(Bytes::copy_from_slice(&payload[2..]))
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(Some(CloseFrame { code, reason }))
            }
        }
    }

    /// Encode as a close payload, truncating the reason on a character
    /// boundary so the payload fits in a control frame.
    ///
    /// ```
    /// use rfc6455::{CloseCode, CloseFrame};
    /// let long = "x".repeat(200);
    /// let payload = CloseFrame::new(CloseCode::NORMAL, long).encode();
    /// assert_eq!(payload.len(), 125); // the code and 123 bytes of reason
    /// assert_eq!(&payload[..2], b"\x03\xe8");
    /// ```
    pub fn encode(&self) -> Bytes {
        let reason = truncate_utf8(self.reason.as_str(), MAX_CLOSE_REASON);
        let mut out = BytesMut::with_capacity(2 + reason.len());
        out.put_u16(self.code.0);
        out.put_slice(reason.as_bytes());
        out.freeze()
    }
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_by_class() {
        for code in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
        }
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn parse_payloads() {
        assert_eq!(CloseFrame::parse(b""), Ok(None));
        assert_eq!(
            CloseFrame::parse(b"\x03"),
            Err(ProtocolError::InvalidClosePayload)
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8bye"),
            Ok(Some(CloseFrame::new(CloseCode::NORMAL, "bye")))
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xed"),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8\xff"),
            Err(ProtocolError::InvalidUtf8)
        );
    }

    #[test]
    fn encode_truncates_on_char_boundary() {
        let long = "é".repeat(100); // 200 bytes
        let frame = CloseFrame::new(CloseCode::NORMAL, long.as_str());
        let bytes = frame.encode();
        assert!(bytes.len() <= 125);
        assert!(core::str::from_utf8(&bytes[2..]).is_ok());
        assert_eq!(bytes.len(), 2 + 122);
    }
}

/// Who ended a connection, as [`Error::Closed`](crate::Error::Closed) and
/// [`Connection::closed_by`](crate::Connection::closed_by) report it.
///
/// ```
/// use rfc6455::{ClosedBy, CloseCode, Config, Connection, Role};
///
/// let mut client = Connection::new(Role::Client, Config::default());
/// client.close(CloseCode::NORMAL, "")?;
/// assert_eq!(client.closed_by(), Some(ClosedBy::Us));
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// server.receive_eof(); // the TCP connection dropped
/// assert_eq!(server.closed_by(), Some(ClosedBy::Transport));
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClosedBy {
    /// We sent the first close frame (or failed the connection for a
    /// protocol error); the peer's reply, if it came, ended the handshake.
    Us,
    /// The peer sent the first close frame and we replied.
    Peer,
    /// The transport ended (EOF, reset, timeout) before a close handshake
    /// finished: an abnormal closure (RFC 6455 §7.1.5, code 1006).
    Transport,
}

impl fmt::Display for CloseFrame {
    /// The code, then the reason in quotes if there is one: `1000 "bye"`,
    /// or just `1001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} {:?}", self.code, self.reason.as_str())
        }
    }
}
