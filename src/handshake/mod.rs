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

use alloc::string::String;
use alloc::vec::Vec;

/// One extension in a `Sec-WebSocket-Extensions` header (RFC 6455 §9.1):
/// a name and its parameters, each with an optional value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionOffer {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order, e.g. `("client_max_window_bits", None)`.
    pub params: Vec<(String, Option<String>)>,
}
