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
