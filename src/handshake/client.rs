//! The client side: build the upgrade request (RFC 6455 §4.1) and validate
//! the server's response (§4.2.2, checked as §4.1 "the client MUST ...").

use super::{
    accept_key, all_headers, finish_header_block, has_token, header_slots, list_elements,
    own_headers, parse_extension_header, parse_limited, single_header, write_header,
    ExtensionOffer, HandshakeError, RejectedResponse, Status, WsUrl,
};
use crate::proxy::ProxyConfig;
use crate::rng::RandomSource;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use core::time::Duration;

/// The most header fields accepted in a server's response. Generous, since
/// proxies and CDNs add many; the size limit bounds the work anyway.
const MAX_RESPONSE_HEADERS: usize = 128;

/// What the client asks for beyond the bare upgrade.
///
/// ```
/// use rfc6455::{blocking, ClientOptions, Config};
/// use std::time::Duration;
///
/// let options = ClientOptions {
///     protocols: vec!["graphql-transport-ws".into()],
///     headers: vec![
///         ("Origin".into(), "https://app.example".into()),
///         ("Authorization".into(), "Bearer 3x4mpl3".into()),
///     ],
///     connect_timeout: Some(Duration::from_secs(3)),
///     ..ClientOptions::default()
/// };
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/graphql", listener.local_addr()?);
/// # let server = std::thread::spawn(move || {
/// #     blocking::accept_with(listener.accept().unwrap().0, Config::default(), |request| {
/// #         assert_eq!(request.header("origin"), Some("https://app.example"));
/// #         Ok(rfc6455::AcceptOptions { protocol: request.protocols.first().cloned(), ..Default::default() })
/// #     }).map(|_| ())
/// # });
/// let ws = blocking::connect_with(&url, options, Config::default())?;
/// assert_eq!(ws.protocol(), Some("graphql-transport-ws"));
/// # server.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Subprotocols to offer, most preferred first (`Sec-WebSocket-Protocol`).
    /// Each must be an HTTP token.
    pub protocols: Vec<String>,
    /// Extensions to offer (`Sec-WebSocket-Extensions`).
    pub extensions: Vec<ExtensionOffer>,
    /// Extra request headers, e.g. `Origin`, `Authorization`, `Cookie`;
    /// not the ones the handshake writes itself (`Host`, `Upgrade`, ...).
    pub headers: Vec<(String, String)>,
    /// The largest response header accepted, in bytes (default 16 KiB).
    pub max_response_size: usize,
    /// How long opening the TCP connection may take, per address the host
    /// resolves to (`None`, the default: the operating system's limit,
    /// often minutes). Expiry is an error whose
    /// [`is_timeout`](crate::Error::is_timeout) is true. Bounds the
    /// connection to a proxy too.
    pub connect_timeout: Option<Duration>,
    /// The proxy the adapters' `connect` functions go through (default:
    /// the environment's `HTTP_PROXY` and friends, see [`ProxyConfig`]).
    /// Not used by the sans-IO handshake itself, which sees only bytes.
    pub proxy: ProxyConfig,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
            max_response_size: 16 * 1024,
            connect_timeout: None,
            proxy: ProxyConfig::default(),
        }
    }
}

/// A client's handshake in progress: the request to send, and what the
/// response must match.
///
/// ```
/// use rfc6455::handshake::{accept_key, ClientHandshake, Status};
/// use rfc6455::{ClientOptions, FastRng, WsUrl};
///
/// let url = WsUrl::parse("ws://example.com/")?;
/// let handshake = ClientHandshake::new(&url, ClientOptions::default(), &mut FastRng::new());
/// assert!(handshake.request().starts_with(b"GET / HTTP/1.1\r\nHost: example.com\r\n"));
/// let reply = format!(
///     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///      Sec-WebSocket-Accept: {}\r\n\r\n",
///     accept_key(handshake.key().as_bytes())
/// );
/// let Status::Complete((response, consumed)) = handshake.parse_response(reply.as_bytes())? else {
///     unreachable!("the response is whole")
/// };
/// assert_eq!((response.status, consumed), (101, reply.len()));
/// # Ok::<(), rfc6455::HandshakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    request: Vec<u8>,
    key: String,
    options: ClientOptions,
}

/// The server's `101 Switching Protocols` response: what it agreed to,
/// and every header it sent (cookies, server-chosen session ids, ...).
///
/// Every client socket keeps it: `blocking::WebSocket::response`,
/// `mio::WebSocket::response`.
///
/// ```
/// use rfc6455::{AcceptOptions, ClientOptions, ClientUpgrade, Config, ServerUpgrade, WsUrl};
///
/// let url = WsUrl::parse("ws://example.com/chat")?;
/// let options = ClientOptions {
///     protocols: vec!["chat.v2".into()],
///     ..ClientOptions::default()
/// };
/// let mut client = ClientUpgrade::new(&url, options, Config::default());
///
/// // The server's side, in memory: accept with the subprotocol and a cookie.
/// let mut server = ServerUpgrade::new(Config::default());
/// let request = server.receive(client.request())?.expect("a whole request");
/// let accept = AcceptOptions {
///     protocol: Some("chat.v2".into()),
///     headers: vec![("Set-Cookie".into(), "session=42".into())],
///     ..AcceptOptions::default()
/// };
/// let (reply, _server_conn) = server.accept(&request, accept);
///
/// let (_conn, response) = client.receive(&reply)?.expect("a whole response");
/// assert_eq!(response.status, 101);
/// assert_eq!(response.protocol.as_deref(), Some("chat.v2"));
/// assert_eq!(response.header("set-cookie"), Some("session=42"));
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerResponse {
    /// The HTTP status: always 101 for a completed handshake (any other
    /// status is [`HandshakeError::Rejected`]).
    pub status: u16,
    /// The subprotocol the server chose, one of those offered.
    pub protocol: Option<String>,
    /// The extensions the server accepted, with its parameters.
    pub extensions: Vec<ExtensionOffer>,
    /// All response headers in order.
    pub headers: Vec<(String, String)>,
}

impl ServerResponse {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        super::find_header(&self.headers, name)
    }
}

impl ClientHandshake {
    /// Builds the request for `url`, drawing the key from `rng`.
    pub fn new(url: &WsUrl, options: ClientOptions, rng: &mut dyn RandomSource) -> ClientHandshake {
        // RFC 6455 §4.1 item 7: the key is a fresh, random 16-byte nonce,
        // base64-encoded.
        let mut nonce = [0u8; 16];
        rng.fill(&mut nonce);
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);

        let mut request = Vec::with_capacity(256);
        // RFC 6455 §4.1 items 1-3: "GET <path?query> HTTP/1.1".
        request.extend_from_slice(b"GET ");
        request.extend_from_slice(url.path_and_query.as_bytes());
        request.extend_from_slice(b" HTTP/1.1\r\n");
        // RFC 6455 §4.1 items 4-6, 9: Host, Upgrade, Connection, Version.
        write_header(&mut request, "Host", &url.host_header());
        write_header(&mut request, "Upgrade", "websocket");
        write_header(&mut request, "Connection", "Upgrade");
        write_header(&mut request, "Sec-WebSocket-Key", &key);
        write_header(&mut request, "Sec-WebSocket-Version", "13");
        // RFC 6455 §4.1 items 10-12: optional subprotocols and extensions,
        // then other headers such as cookies and Origin.
        let protocols = options.protocols.join(", ");
        let protocols = (!protocols.is_empty()).then_some(protocols.as_str());
        finish_header_block(
            &mut request,
            protocols,
            &options.extensions,
            &options.headers,
        );
        ClientHandshake {
            request,
            key,
            options,
        }
    }

    /// The full HTTP request bytes to send.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// The `Sec-WebSocket-Key` sent in the request.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Parses and validates the response from everything received so far
    /// (`buf`; the caller accumulates).
    ///
    /// `Complete((response, consumed))`: bytes after `consumed` belong to the
    /// WebSocket stream. A status other than 101 is
    /// [`HandshakeError::Rejected`], carrying the start of the body.
    pub fn parse_response(
        &self,
        buf: &[u8],
    ) -> Result<Status<(ServerResponse, usize)>, HandshakeError> {
        let mut slots = header_slots(MAX_RESPONSE_HEADERS);
        let mut resp = httparse::Response::new(&mut slots);
        let limit = self.options.max_response_size;
        let consumed = match parse_limited(buf, limit, |b| resp.parse(b))? {
            Status::Partial => return Ok(Status::Partial),
            Status::Complete(n) => n,
        };
        // A complete parse fills in every field; the fallbacks are unreachable.
        let status = resp.code.unwrap_or_default();
        let version = resp.version.unwrap_or_default();
        let headers = own_headers(resp.headers);

        // RFC 6455 §4.1: any status other than 101 is handled per HTTP;
        // for us the handshake is over, and the caller gets what we have.
        if status != 101 {
            let body_end = buf.len().min(consumed + RejectedResponse::MAX_BODY);
            return Err(HandshakeError::Rejected(Box::new(RejectedResponse {
                status,
                reason: resp.reason.unwrap_or_default().into(),
                headers,
                body: buf[consumed..body_end].to_vec(),
            })));
        }
        if version < 1 {
            return Err(HandshakeError::UnsupportedHttpVersion);
        }
        // RFC 6455 §4.1, response item 2: Upgrade must be "websocket".
        if !has_token(&headers, "Upgrade", "websocket") {
            return Err(HandshakeError::UpgradeNotWebSocket);
        }
        // RFC 6455 §4.1, response item 3: Connection must contain "Upgrade".
        if !has_token(&headers, "Connection", "upgrade") {
            return Err(HandshakeError::ConnectionNotUpgrade);
        }
        // RFC 6455 §4.1, response item 4: the accept value must match our key
        // (and §11.3.3: it appears once).
        let expected = accept_key(self.key.as_bytes());
        if single_header(&headers, "Sec-WebSocket-Accept") != Ok(Some(expected.as_str())) {
            return Err(HandshakeError::AcceptMismatch);
        }
        let protocol = self.check_protocol(&headers)?;
        let extensions = self.check_extensions(&headers)?;
        let response = ServerResponse {
            status,
            protocol,
            extensions,
            headers,
        };
        Ok(Status::Complete((response, consumed)))
    }

    /// RFC 6455 §4.1, response item 6: a subprotocol in the response must be
    /// one we offered, and the server picks at most one (§4.2.2 item 5.4).
    fn check_protocol(
        &self,
        headers: &[(String, String)],
    ) -> Result<Option<String>, HandshakeError> {
        let mut chosen = list_elements(headers, "Sec-WebSocket-Protocol");
        let Some(protocol) = chosen.next() else {
            return Ok(None);
        };
        if let Some(extra) = chosen.next() {
            return Err(HandshakeError::UnexpectedProtocol(extra.into()));
        }
        if !self.options.protocols.iter().any(|p| p == protocol) {
            return Err(HandshakeError::UnexpectedProtocol(protocol.into()));
        }
        Ok(Some(protocol.into()))
    }

    /// RFC 6455 §4.1, response item 5: every extension in the response must
    /// be one we offered. Their parameters are for the extension to judge.
    fn check_extensions(
        &self,
        headers: &[(String, String)],
    ) -> Result<Vec<ExtensionOffer>, HandshakeError> {
        let mut accepted = Vec::new();
        for value in all_headers(headers, "Sec-WebSocket-Extensions") {
            accepted.extend(parse_extension_header(value)?);
        }
        let offered = |name: &str| self.options.extensions.iter().any(|o| o.name == name);
        if let Some(unknown) = accepted.iter().find(|e| !offered(&e.name)) {
            return Err(HandshakeError::UnexpectedExtension(unknown.name.clone()));
        }
        Ok(accepted)
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
