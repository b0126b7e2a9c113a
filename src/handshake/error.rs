//! Why a handshake failed, and the HTTP answer a server gives for it.

use super::server::reject_response;
use super::url::UrlError;
use super::{find_header, Headers};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why an opening handshake failed.
///
/// Client-side failures (a refused or invalid server response) and
/// server-side failures (an invalid client request) share this type. For the
/// latter, [`HandshakeError::http_response`] gives the response to send.
///
/// ```
/// use rfc6455::{Config, ServerUpgrade};
///
/// let mut upgrade = ServerUpgrade::new(Config::default());
/// let error = upgrade
///     .receive(b"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n")
///     .unwrap_err();
/// assert_eq!(error.http_status(), Some(405));
/// let response = error.http_response().expect("a server-side error");
/// assert!(response.starts_with(b"HTTP/1.1 405 Method Not Allowed\r\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The URL is not a usable `ws://` or `wss://` URL.
    InvalidUrl(UrlError),
    /// The HTTP header is larger than the configured limit (431).
    HeaderTooLarge,
    /// The HTTP header has more fields than the configured limit (431).
    TooManyHeaders,
    /// The bytes are not well-formed HTTP/1.x; says what httparse rejected (400).
    MalformedHttp(&'static str),
    /// A well-formed HTTP request that does not ask for a WebSocket upgrade;
    /// the server may answer it as plain HTTP (426 by default).
    NotUpgrade(Box<PlainRequest>),
    /// An upgrade request whose method is not GET (405, RFC 6455 §4.1).
    MethodNotAllowed(String),
    /// The message is not HTTP/1.1 or later (400, RFC 6455 §4.1).
    UnsupportedHttpVersion,
    /// The request has no `Host` header, or more than one (400).
    MissingHost,
    /// The response's `Upgrade` header does not name `websocket` (RFC 6455 §4.1).
    UpgradeNotWebSocket,
    /// The `Connection` header lacks the `upgrade` token (400).
    ConnectionNotUpgrade,
    /// The request has no `Sec-WebSocket-Key` header (400).
    MissingKey,
    /// The `Sec-WebSocket-Key` is repeated or not base64 of 16 bytes (400).
    InvalidKey,
    /// The `Sec-WebSocket-Version` is missing or not 13 (426).
    UnsupportedVersion,
    /// A `Sec-WebSocket-Extensions` header breaks the RFC 6455 §9.1 grammar (400).
    InvalidExtensionHeader(&'static str),
    /// The server answered with a status other than 101 (the handshake was refused).
    Rejected(Box<RejectedResponse>),
    /// `Sec-WebSocket-Accept` is missing, repeated or does not match our key.
    AcceptMismatch,
    /// The server chose a subprotocol we did not offer, or more than one.
    UnexpectedProtocol(String),
    /// The server accepted an extension we did not offer.
    UnexpectedExtension(String),
}

/// A well-formed HTTP request without `Upgrade: websocket`, handed back so a
/// server can serve ordinary HTTP on the same port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target as sent (path and query).
    pub path: String,
    /// The minor HTTP version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    /// All headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The length of the request header; a body, if any, starts here.
    pub consumed: usize,
}

impl PlainRequest {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// A server's refusal of our handshake: any status other than 101.
///
/// ```
/// use rfc6455::{blocking, Config, Error, HandshakeError};
/// use rfc6455::blocking::Rejection;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     let refuse = |_: &rfc6455::Request| {
/// #         let mut no = Rejection::new(401, "log in first");
/// #         no.headers.push(("WWW-Authenticate".into(), "Bearer".into()));
/// #         Err(no)
/// #     };
/// #     let _ = blocking::accept_with(listener.accept().unwrap().0, Config::default(), refuse);
/// # });
/// match blocking::connect(&url) {
///     Err(Error::Handshake(HandshakeError::Rejected(response))) => {
///         assert_eq!(response.status, 401);
///         assert_eq!(response.header("www-authenticate"), Some("Bearer"));
///         assert_eq!(response.body, b"log in first");
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedResponse {
    /// The HTTP status code, e.g. 401.
    pub status: u16,
    /// The reason phrase as sent, e.g. `Unauthorized`.
    pub reason: String,
    /// All response headers in order.
    pub headers: Vec<(String, String)>,
    /// The start of the body: whatever followed the header in the buffer,
    /// capped at [`RejectedResponse::MAX_BODY`] bytes.
    pub body: Vec<u8>,
}

impl RejectedResponse {
    /// At most this much of the body is kept: enough for an error message,
    /// bounded so a hostile server cannot make us hold more.
    pub const MAX_BODY: usize = 1024;

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

impl fmt::Display for RejectedResponse {
    /// The status line's code and reason phrase: `403 Forbidden`, or just
    /// `403` when the phrase is empty (HTTP allows that).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{} {}", self.status, self.reason)
        }
    }
}

impl HandshakeError {
    pub(crate) fn from_httparse(e: httparse::Error) -> Self {
        match e {
            httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
            httparse::Error::HeaderName => HandshakeError::MalformedHttp("invalid header name"),
            httparse::Error::HeaderValue => HandshakeError::MalformedHttp("invalid header value"),
            httparse::Error::NewLine => HandshakeError::MalformedHttp("invalid line ending"),
            httparse::Error::Status => HandshakeError::MalformedHttp("invalid status"),
            httparse::Error::Token => HandshakeError::MalformedHttp("invalid token"),
            httparse::Error::Version => HandshakeError::MalformedHttp("invalid HTTP version"),
        }
    }

    /// The HTTP status a server answers this error with, if the error is
    /// one a server's request parsing reports.
    pub fn http_status(&self) -> Option<u16> {
        use HandshakeError::*;
        match self {
            HeaderTooLarge | TooManyHeaders => Some(431),
            MethodNotAllowed(_) => Some(405),
            UnsupportedVersion | NotUpgrade(_) => Some(426),
            MalformedHttp(_)
            | UnsupportedHttpVersion
            | MissingHost
            | ConnectionNotUpgrade
            | MissingKey
            | InvalidKey
            | InvalidExtensionHeader(_) => Some(400),
            InvalidUrl(_)
            | UpgradeNotWebSocket
            | Rejected(_)
            | AcceptMismatch
            | UnexpectedProtocol(_)
            | UnexpectedExtension(_) => None,
        }
    }

    /// The complete HTTP response a server sends for this error before
    /// closing the connection, or `None` for client-side failures.
    ///
    /// For [`HandshakeError::NotUpgrade`] this is `426 Upgrade Required`,
    /// right for a WebSocket-only endpoint; a server that also speaks plain
    /// HTTP answers the [`PlainRequest`] itself instead.
    pub fn http_response(&self) -> Option<Vec<u8>> {
        let status = self.http_status()?;
        let mut headers: Headers = Vec::new();
        let mut pair = |n: &str, v: &str| headers.push((n.into(), v.into()));
        match self {
            // RFC 7231 §6.5.5: a 405 MUST carry Allow.
            HandshakeError::MethodNotAllowed(_) => pair("Allow", "GET"),
            // RFC 6455 §4.2.2 item 4: tell the client which version we speak.
            HandshakeError::UnsupportedVersion => pair("Sec-WebSocket-Version", "13"),
            // RFC 7231 §6.5.15: a 426 MUST carry Upgrade.
            HandshakeError::NotUpgrade(_) => {
                pair("Upgrade", "websocket");
                pair("Sec-WebSocket-Version", "13");
            }
            _ => {}
        }
        let body = alloc::format!("{self}\n");
        Some(reject_response(status, &headers, body.as_bytes()))
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HandshakeError::*;
        match self {
            InvalidUrl(e) => write!(f, "invalid WebSocket URL: {e}"),
            HeaderTooLarge => f.write_str("HTTP header too large"),
            TooManyHeaders => f.write_str("too many HTTP header fields"),
            MalformedHttp(what) => write!(f, "malformed HTTP: {what}"),
            NotUpgrade(req) => write!(
                f,
                "{} {} is not a WebSocket upgrade request",
                req.method, req.path
            ),
            MethodNotAllowed(m) => write!(f, "method {m} not allowed for an upgrade, use GET"),
            UnsupportedHttpVersion => f.write_str("HTTP/1.1 or later required"),
            MissingHost => f.write_str("exactly one Host header required"),
            UpgradeNotWebSocket => f.write_str("Upgrade header does not name websocket"),
            ConnectionNotUpgrade => f.write_str("Connection header lacks the upgrade token"),
            MissingKey => f.write_str("missing Sec-WebSocket-Key"),
            InvalidKey => f.write_str("Sec-WebSocket-Key is not base64 of 16 bytes"),
            UnsupportedVersion => f.write_str("Sec-WebSocket-Version must be 13"),
            InvalidExtensionHeader(what) => {
                write!(f, "invalid Sec-WebSocket-Extensions header: {what}")
            }
            Rejected(r) => write!(f, "refused with {r}"),
            AcceptMismatch => f.write_str("Sec-WebSocket-Accept does not match the key"),
            UnexpectedProtocol(p) => write!(f, "server chose subprotocol {p:?}, not offered"),
            UnexpectedExtension(e) => write!(f, "server accepted extension {e:?}, not offered"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandshakeError {}

impl From<UrlError> for HandshakeError {
    fn from(e: UrlError) -> Self {
        HandshakeError::InvalidUrl(e)
    }
}
