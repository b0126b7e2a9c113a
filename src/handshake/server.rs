//! The server side: validate a client's upgrade request (RFC 6455 §4.2.1)
//! and build the answer (§4.2.2).
//!
//! [`Request::parse`] checks everything the RFC requires and hands the
//! application the request; the application then decides, with
//! [`Request::accept`] or [`reject_response`]. A plain HTTP request comes back
//! as [`HandshakeError::NotUpgrade`] so the same port can serve pages.

use super::{
    accept_key, find_header, finish_header_block, has_token, header_slots, list_elements,
    own_headers, parse_extension_header, parse_limited, single_header, write_header,
    ExtensionOffer, HandshakeError, Headers, PlainRequest, Status,
};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;

/// Limits for parsing a request.
///
/// ```
/// use rfc6455::handshake::{HandshakeError, ServerOptions};
/// use rfc6455::{Config, ServerUpgrade};
///
/// let tight = ServerOptions { max_request_size: 64, ..ServerOptions::default() };
/// let mut upgrade = ServerUpgrade::with_options(Config::default(), tight);
/// let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100));
/// let error = upgrade.receive(long.as_bytes()).unwrap_err();
/// assert_eq!(error, HandshakeError::HeaderTooLarge);
/// assert_eq!(error.http_status(), Some(431));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// The largest request header accepted, in bytes (default 16 KiB).
    pub max_request_size: usize,
    /// The most header fields accepted (default 64).
    pub max_headers: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_request_size: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// A valid WebSocket upgrade request, for the application to accept or refuse.
///
/// ```
/// use rfc6455::handshake::{ServerOptions, Status};
/// use rfc6455::Request;
///
/// let wire = b"GET /chat?room=7 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat.v2, chat.v1\r\nCookie: id=42\r\n\r\n";
/// let Status::Complete((request, consumed)) = Request::parse(wire, &ServerOptions::default())? else {
///     unreachable!("the request is whole");
/// };
/// assert_eq!(consumed, wire.len());
/// assert_eq!((request.path(), request.query()), ("/chat", Some("room=7")));
/// assert_eq!(request.header("cookie"), Some("id=42"));
/// assert_eq!(request.protocols, ["chat.v2", "chat.v1"]);
/// # Ok::<(), rfc6455::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method; always `GET` once validated.
    pub method: String,
    /// The request target as sent: path and query. See also [`Request::path`]
    /// and [`Request::query`], which split it.
    pub path: String,
    /// All headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The subprotocols the client offered, in its order of preference.
    pub protocols: Vec<String>,
    /// The extensions the client offered, in order.
    pub extensions: Vec<ExtensionOffer>,
    key: String,
}

/// How to accept a request: the answer to the client's offers.
///
/// ```
/// use rfc6455::{blocking, AcceptOptions, Config};
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # let client = std::thread::spawn(move || {
/// #     let options = rfc6455::ClientOptions { protocols: vec!["v2".into()], ..Default::default() };
/// #     blocking::connect_with(&url, options, Config::default()).map(|ws| ws.protocol().map(String::from))
/// # });
/// # let (tcp, _) = listener.accept()?;
/// let ws = blocking::accept_with(tcp, Config::default(), |request| {
///     // Pick the first subprotocol we speak, and set a cookie.
///     let protocol = request.protocols.iter().find(|p| *p == "v2" || *p == "v1").cloned();
///     Ok(AcceptOptions {
///         protocol,
///         headers: vec![("Set-Cookie".into(), "seen=1".into())],
///         ..AcceptOptions::default()
///     })
/// })?;
/// assert_eq!(ws.protocol(), Some("v2"));
/// # assert_eq!(client.join().unwrap()?.as_deref(), Some("v2"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptOptions {
    /// The chosen subprotocol; must be one the client offered (RFC 6455 §4.2.2).
    pub protocol: Option<String>,
    /// The accepted extensions with their response parameters.
    pub extensions: Vec<ExtensionOffer>,
    /// Extra response headers, e.g. `Set-Cookie`.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// Parses and validates an upgrade request from everything received so far.
    ///
    /// `Complete((request, consumed))`: the header took `consumed` bytes and
    /// anything after it is WebSocket data the client sent early. Errors carry
    /// the HTTP answer in [`HandshakeError::http_response`]; a request without
    /// `Upgrade: websocket` is [`HandshakeError::NotUpgrade`].
    ///
    /// ```
    /// use rfc6455::handshake::{HandshakeError, ServerOptions, Status};
    /// use rfc6455::Request;
    ///
    /// let options = ServerOptions::default();
    /// // Incomplete: ask for more bytes.
    /// assert!(matches!(Request::parse(b"GET / HTTP/1.1\r\nHost:", &options), Ok(Status::Partial)));
    /// // Plain HTTP comes back to be served, with the 426 a WebSocket-only
    /// // endpoint answers.
    /// let plain = Request::parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &options).unwrap_err();
    /// assert!(matches!(plain, HandshakeError::NotUpgrade(_)));
    /// assert_eq!(plain.http_status(), Some(426));
    /// ```
    pub fn parse(
        buf: &[u8],
        options: &ServerOptions,
    ) -> Result<Status<(Request, usize)>, HandshakeError> {
        let mut slots = header_slots(options.max_headers);
        let mut req = httparse::Request::new(&mut slots);
        let consumed = match parse_limited(buf, options.max_request_size, |b| req.parse(b))? {
            Status::Partial => return Ok(Status::Partial),
            Status::Complete(n) => n,
        };
        // A complete parse fills in every field; the fallbacks are unreachable.
        let method = String::from(req.method.unwrap_or_default());
        let path = String::from(req.path.unwrap_or_default());
        let version = req.version.unwrap_or_default();
        let headers = own_headers(req.headers);

        // RFC 6455 §4.2.1 item 3: an Upgrade header containing "websocket".
        // Without it this is ordinary HTTP, not a failed handshake.
        if !has_token(&headers, "Upgrade", "websocket") {
            return Err(HandshakeError::NotUpgrade(Box::new(PlainRequest {
                method,
                path,
                version,
                headers,
                consumed,
            })));
        }
        // RFC 6455 §4.2.1 item 1: an HTTP/1.1 or higher GET request.
        if method != "GET" {
            return Err(HandshakeError::MethodNotAllowed(method));
        }
        if version < 1 {
            return Err(HandshakeError::UnsupportedHttpVersion);
        }
        // RFC 6455 §4.2.1 item 2: a Host header (RFC 7230 §5.4: exactly one).
        if !matches!(single_header(&headers, "Host"), Ok(Some(_))) {
            return Err(HandshakeError::MissingHost);
        }
        // RFC 6455 §4.2.1 item 4: a Connection header with the "Upgrade" token.
        if !has_token(&headers, "Connection", "upgrade") {
            return Err(HandshakeError::ConnectionNotUpgrade);
        }
        let key = validate_key(&headers)?;
        // RFC 6455 §4.2.1 item 6: Sec-WebSocket-Version is 13; §4.4 says
        // to answer any other with 426 and the versions we support.
        if single_header(&headers, "Sec-WebSocket-Version") != Ok(Some("13")) {
            return Err(HandshakeError::UnsupportedVersion);
        }
        // RFC 6455 §4.2.1 item 8: optional subprotocols, in preference order.
        let protocols = list_elements(&headers, "Sec-WebSocket-Protocol")
            .map(String::from)
            .collect();
        // RFC 6455 §9.1: the extensions header may be split over several lines.
        let mut extensions = Vec::new();
        for value in super::all_headers(&headers, "Sec-WebSocket-Extensions") {
            extensions.extend(parse_extension_header(value)?);
        }
        let request = Request {
            method,
            path,
            headers,
            protocols,
            extensions,
            key,
        };
        Ok(Status::Complete((request, consumed)))
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The path part of the request target, without the query.
    pub fn path(&self) -> &str {
        self.path.split_once('?').map_or(&self.path, |(p, _)| p)
    }

    /// The query part of the request target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }

    /// The client's `Sec-WebSocket-Key`, as sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `101 Switching Protocols` response that completes the handshake
    /// (RFC 6455 §4.2.2 item 5). After sending it, the connection speaks
    /// WebSocket.
    ///
    /// The caller is trusted to choose a protocol and extensions the client
    /// offered; the client fails the handshake otherwise.
    ///
    /// ```
    /// use rfc6455::handshake::{ServerOptions, Status};
    /// use rfc6455::{AcceptOptions, Request};
    ///
    /// let Status::Complete((request, _)) = Request::parse(b"GET /chat?room=7 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat.v2, chat.v1\r\nCookie: id=42\r\n\r\n", &ServerOptions::default())? else {
    ///     unreachable!()
    /// };
    /// let response = request.accept(&AcceptOptions {
    ///     protocol: Some("chat.v2".into()),
    ///     ..AcceptOptions::default()
    /// });
    /// let response = String::from_utf8(response).unwrap();
    /// assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    /// // RFC 6455 §1.3's example key and its accept value.
    /// assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    /// assert!(response.contains("Sec-WebSocket-Protocol: chat.v2\r\n"));
    /// # Ok::<(), rfc6455::HandshakeError>(())
    /// ```
    pub fn accept(&self, options: &AcceptOptions) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        write_header(&mut out, "Upgrade", "websocket");
        write_header(&mut out, "Connection", "Upgrade");
        write_header(
            &mut out,
            "Sec-WebSocket-Accept",
            &accept_key(self.key.as_bytes()),
        );
        finish_header_block(
            &mut out,
            options.protocol.as_deref(),
            &options.extensions,
            &options.headers,
        );
        out
    }
}

/// RFC 6455 §4.2.1 item 5: the key is base64 of a 16-byte value, and
/// §11.3.1: the header MUST NOT appear more than once.
fn validate_key(headers: &Headers) -> Result<String, HandshakeError> {
    let key = single_header(headers, "Sec-WebSocket-Key")
        .map_err(|()| HandshakeError::InvalidKey)?
        .ok_or(HandshakeError::MissingKey)?;
    let mut decoded = [0u8; 18];
    match base64::engine::general_purpose::STANDARD.decode_slice(key, &mut decoded) {
        Ok(16) => Ok(key.into()),
        _ => Err(HandshakeError::InvalidKey),
    }
}

/// A complete HTTP/1.1 response refusing a handshake (or answering plain
/// HTTP), with `Content-Length` and `Connection: close` added.
///
/// The server closes the connection after sending it. Any `Content-Length`
/// or `Connection` among `headers` is dropped in favour of the added ones.
///
/// ```
/// let response = rfc6455::handshake::reject_response(403, &[], b"no entry");
/// assert!(response.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
/// assert!(response.ends_with(b"Content-Length: 8\r\nConnection: close\r\n\r\nno entry"));
/// ```
pub fn reject_response(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes());
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("Connection") {
            continue;
        }
        write_header(&mut out, name, value);
    }
    write_header(&mut out, "Content-Length", &format!("{}", body.len()));
    write_header(&mut out, "Connection", "close");
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The reason phrase for the statuses a WebSocket server is likely to send.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
