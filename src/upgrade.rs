//! Sans-IO drivers for the opening handshake that end in a [`Connection`].
//!
//! [`handshake`](crate::handshake) parses and builds HTTP; these types add
//! what every adapter would otherwise repeat: accumulating bytes until the
//! header is complete, negotiating permessage-deflate from the
//! [`Config`], and handing bytes that followed the header to the new
//! connection so none are lost.

use crate::config::Config;
use crate::connection::{Connection, Role};
use crate::error::Error;
use crate::handshake::{
    AcceptOptions, ClientHandshake, ClientOptions, HandshakeError, Request, ServerOptions,
    ServerResponse, Status, WsUrl,
};
use crate::rng::{FastRng, RandomSource};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// A client's side of the opening handshake.
///
/// ```
/// use rfc6455::{ClientOptions, ClientUpgrade, Config, ServerUpgrade, WsUrl};
///
/// let url = WsUrl::parse("ws://example.com/socket")?;
/// let mut client = ClientUpgrade::new(&url, ClientOptions::default(), Config::default());
/// // Write client.request() to the transport, then feed what comes back.
/// let mut server = ServerUpgrade::new(Config::default());
/// let request = server.receive(client.request())?.expect("a whole request");
/// let (response, _server_conn) = server.accept(&request, Default::default());
/// let (conn, response) = client.receive(&response)?.expect("a whole response");
/// assert!(conn.state().is_open());
/// assert_eq!(response.status, 101);
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Debug)]
pub struct ClientUpgrade {
    handshake: ClientHandshake,
    config: Arc<Config>,
    received: Vec<u8>,
}

impl ClientUpgrade {
    /// Prepare the request for `url`. With permessage-deflate configured,
    /// its offer is appended to `options.extensions`.
    pub fn new(url: &WsUrl, options: ClientOptions, config: impl Into<Arc<Config>>) -> Self {
        Self::with_rng(url, options, config, &mut FastRng::new())
    }

    /// As [`new`](Self::new), drawing the `Sec-WebSocket-Key` from `rng`.
    #[allow(unused_mut)]
    pub fn with_rng(
        url: &WsUrl,
        mut options: ClientOptions,
        config: impl Into<Arc<Config>>,
        rng: &mut dyn RandomSource,
    ) -> Self {
        let config = config.into();
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &config.deflate {
            options.extensions.extend(deflate.client_offers());
        }
        ClientUpgrade {
            handshake: ClientHandshake::new(url, options, rng),
            config,
            received: Vec::new(),
        }
    }

    /// The request bytes to send.
    pub fn request(&self) -> &[u8] {
        self.handshake.request()
    }

    /// Hand in response bytes. `Ok(Some(..))` once the response is complete
    /// and valid: the connection (already holding any bytes that followed the
    /// response) and what the server agreed to.
    ///
    /// ```
    /// use rfc6455::{ClientOptions, ClientUpgrade, Config, Error, WsUrl};
    /// let url = WsUrl::parse("ws://example.com/")?;
    /// let mut client = ClientUpgrade::new(&url, ClientOptions::default(), Config::default());
    /// assert!(client.receive(b"HTTP/1.1 403 Forbid")?.is_none()); // partial: wait for more
    /// match client.receive(b"den\r\nContent-Length: 0\r\n\r\n") {
    ///     Err(Error::Handshake(refused)) => assert!(refused.to_string().contains("403")),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<(Connection, ServerResponse)>, Error> {
        self.received.extend_from_slice(data);
        let (response, consumed) = match self.handshake.parse_response(&self.received)? {
            Status::Partial => return Ok(None),
            Status::Complete(done) => done,
        };
        let mut conn = Connection::new(Role::Client, self.config.clone());
        self.negotiate(&response, &mut conn)?;
        conn.receive(&self.received[consumed..]);
        self.received.clear();
        Ok(Some((conn, response)))
    }

    #[cfg(feature = "deflate")]
    fn negotiate(&self, response: &ServerResponse, conn: &mut Connection) -> Result<(), Error> {
        let accepted = response
            .extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(crate::deflate::EXTENSION_NAME));
        match (accepted, &self.config.deflate) {
            (Some(ext), Some(deflate)) => {
                // RFC 7692 §5: a response the client cannot accept fails the connection.
                let params = deflate.client_accept(ext).map_err(|_| {
                    Error::Handshake(HandshakeError::UnexpectedExtension(ext.name.clone()))
                })?;
                conn.set_deflate(&params);
                Ok(())
            }
            (Some(ext), None) => Err(Error::Handshake(HandshakeError::UnexpectedExtension(
                ext.name.clone(),
            ))),
            (None, _) => Ok(()),
        }
    }

    #[cfg(not(feature = "deflate"))]
    fn negotiate(&self, _response: &ServerResponse, _conn: &mut Connection) -> Result<(), Error> {
        // The handshake already refused extensions we did not offer, and
        // without deflate we offer none.
        Ok(())
    }
}

/// A server's side of the opening handshake.
///
/// ```
/// use rfc6455::{AcceptOptions, Config, ServerUpgrade};
/// use rfc6455::handshake::HandshakeError;
///
/// let mut upgrade = ServerUpgrade::new(Config::default());
/// // Not a WebSocket request: answer it as plain HTTP (426 by default).
/// match upgrade.receive(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n") {
///     Err(HandshakeError::NotUpgrade(plain)) => assert_eq!(plain.path, "/index.html"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct ServerUpgrade {
    options: ServerOptions,
    config: Arc<Config>,
    received: Vec<u8>,
    consumed: usize,
}

impl ServerUpgrade {
    /// Wait for a request, with default header limits.
    pub fn new(config: impl Into<Arc<Config>>) -> Self {
        Self::with_options(config, ServerOptions::default())
    }

    /// Wait for a request, with the given header limits.
    pub fn with_options(config: impl Into<Arc<Config>>, options: ServerOptions) -> Self {
        ServerUpgrade {
            options,
            config: config.into(),
            received: Vec::new(),
            consumed: 0,
        }
    }

    /// Hand in request bytes. `Ok(Some(request))` once a valid upgrade
    /// request is complete. On an error, [`HandshakeError::http_response`]
    /// gives the HTTP answer to send (or, for
    /// [`HandshakeError::NotUpgrade`], serve the plain request yourself).
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<Request>, HandshakeError> {
        self.received.extend_from_slice(data);
        match Request::parse(&self.received, &self.options)? {
            Status::Partial => Ok(None),
            Status::Complete((request, consumed)) => {
                self.consumed = consumed;
                Ok(Some(request))
            }
        }
    }

    /// Bytes received after the request header (early WebSocket frames, or
    /// the body of a plain HTTP request).
    ///
    /// ```
    /// use rfc6455::{Config, Event, ServerUpgrade};
    /// let mut upgrade = ServerUpgrade::new(Config::default());
    /// let mut bytes = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec();
    /// bytes.extend_from_slice(b"\x81\x80\0\0\0\0"); // an empty text frame, sent early
    /// let request = upgrade.receive(&bytes)?.expect("a whole request");
    /// assert_eq!(upgrade.leftover().len(), 6);
    /// let (_response, mut conn) = upgrade.accept(&request, Default::default());
    /// assert_eq!(conn.poll_event().unwrap(), Some(Event::Message("".into()))); // nothing lost
    /// # Ok::<(), rfc6455::HandshakeError>(())
    /// ```
    pub fn leftover(&self) -> &[u8] {
        &self.received[self.consumed.min(self.received.len())..]
    }

    /// Accept `request`: the `101` response to send and the connection.
    /// permessage-deflate is negotiated here when configured, appended to
    /// the extensions in `options`.
    #[allow(unused_mut)]
    pub fn accept(self, request: &Request, mut options: AcceptOptions) -> (Vec<u8>, Connection) {
        let mut conn = Connection::new(Role::Server, self.config.clone());
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &self.config.deflate {
            if let Some((params, response)) = deflate.server_accept(&request.extensions) {
                options.extensions.push(response);
                conn.set_deflate(&params);
            }
        }
        conn.receive(self.leftover());
        (request.accept(&options), conn)
    }
}

/// What a finished opening handshake leaves for the socket to answer
/// `protocol()`, `response()` and `request()` with, in every adapter.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Default)]
pub(crate) struct Opened {
    /// The agreed subprotocol.
    pub(crate) protocol: Option<alloc::string::String>,
    /// Client side: the server's `101` response.
    pub(crate) response: Option<ServerResponse>,
    /// Server side: the client's upgrade request.
    pub(crate) request: Option<Request>,
}

#[cfg(feature = "std")]
impl Opened {
    /// A client's record of the server's response.
    pub(crate) fn client(response: ServerResponse) -> Self {
        Opened {
            protocol: response.protocol.clone(),
            response: Some(response),
            request: None,
        }
    }

    /// A server's record of the request it accepted with `protocol`.
    pub(crate) fn server(request: Request, protocol: Option<String>) -> Self {
        Opened {
            protocol,
            response: None,
            request: Some(request),
        }
    }
}
