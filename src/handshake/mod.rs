//! The opening handshake (RFC 6455 §4). Placeholder until issue 3 lands.

use core::fmt;

/// Why an opening handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Placeholder.
    Invalid,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid handshake")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandshakeError {}
