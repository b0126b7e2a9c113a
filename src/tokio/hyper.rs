//! Upgrading a hyper 1.x server request into a [`WebSocket`] (feature
//! `hyper`).
//!
//! hyper parses the HTTP request and, once the handler answered `101`,
//! hands the connection over ([`hyper::upgrade::on`]); hyper-util's
//! [`TokioIo`] turns hyper's I/O traits back into tokio's. In between,
//! [`upgrade`] runs the same sans-IO checks as every adapter of this crate
//! (RFC 6455 §4.2.1: method, version, `Host`, `Connection`, key, version
//! 13, extension grammar) with the same `decide` callback, so a request is
//! accepted, answered and refused exactly as
//! [`accept_with`](super::accept_with) would. HTTP/1.1 only (hyper's
//! HTTP/2 extended CONNECT is not supported).
//!
//! ```no_run
//! use ::hyper::{Request, Response};
//! use rfc6455::tokio::{hyper::upgrade, Rejection};
//! use rfc6455::{AcceptOptions, Config};
//!
//! async fn handle(mut request: Request<hyper::body::Incoming>) -> Result<Response<String>, hyper::Error> {
//!     if request.uri().path() != "/ws" {
//!         return Ok(Response::new("not a WebSocket endpoint".into()));
//!     }
//!     let decide = |req: &rfc6455::Request| {
//!         if req.header("Origin") == Some("https://evil.example") {
//!             return Err(Rejection::new(403, "forbidden origin"));
//!         }
//!         let chat = req.protocols.iter().find(|p| *p == "chat").cloned();
//!         Ok(AcceptOptions { protocol: chat, ..AcceptOptions::default() })
//!     };
//!     match upgrade(&mut request, Config::default(), decide) {
//!         Ok((response, pending)) => {
//!             tokio::spawn(async move {
//!                 let mut socket = pending.await?;
//!                 while let Ok(message) = socket.read().await {
//!                     socket.send(message).await?;
//!                 }
//!                 Ok::<_, rfc6455::Error>(())
//!             });
//!             Ok(response)
//!         }
//!         // 400, 403, 426...: the answer to send back.
//!         Err(refusal) => Ok(refusal),
//!     }
//! }
//! ```

use super::options::Options;
use super::socket::{Session, WebSocket};
use crate::blocking::{answer, Rejection};
use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::handshake::{AcceptOptions, Request};
use crate::timer::{Keepalive, Timeouts};
use crate::upgrade::ServerUpgrade;
use ::hyper::header::{HeaderName, HeaderValue};
use ::hyper::upgrade::{OnUpgrade, Upgraded};
use ::hyper::{Response, StatusCode};
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};
use std::io;
use tokio::time::Instant;

pub use hyper_util::rt::TokioIo;

/// The stream of an upgraded hyper connection.
pub type UpgradedStream = TokioIo<Upgraded>;

/// Check `request` as a WebSocket upgrade and let `decide` accept it (with
/// a subprotocol, extensions, headers) or refuse it.
///
/// `Ok((response, pending))`: return `response` (`101 Switching
/// Protocols`) from the handler, and await `pending` (in a spawned task)
/// for the WebSocket once hyper has sent it. `Err(response)`: the request
/// is not a valid upgrade (400, 405, 426, 431) or `decide` refused it;
/// return this response instead.
#[allow(clippy::result_large_err)]
pub fn upgrade<B, R, F>(
    request: &mut ::hyper::Request<B>,
    config: Config,
    decide: F,
) -> Result<(Response<R>, PendingUpgrade), Response<R>>
where
    R: From<String>,
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    upgrade_with_options(request, config.into(), decide)
}

/// [`upgrade`] with the socket's keepalive and close deadlines and its
/// high-water mark of your own. hyper reads the request, so
/// `options.timeouts.handshake` plays no part here: bound that with
/// hyper's own header timeout.
#[allow(clippy::result_large_err)]
pub fn upgrade_with_options<B, R, F>(
    request: &mut ::hyper::Request<B>,
    options: Options,
    decide: F,
) -> Result<(Response<R>, PendingUpgrade), Response<R>>
where
    R: From<String>,
    F: FnOnce(&Request) -> Result<AcceptOptions, Rejection>,
{
    let mut upgrade = ServerUpgrade::new(crate::config::shared(&options.config));
    let parsed = match upgrade.receive(&request_head(request)) {
        Ok(Some(parsed)) => parsed,
        // The head ends with its blank line, so it is never partial.
        Ok(None) => return Err(to_response(&bad_request())),
        Err(e) => return Err(to_response(&e.http_response().unwrap_or_else(bad_request))),
    };
    match answer(upgrade, &parsed, decide) {
        (response, Ok((conn, protocol))) => {
            let pending = PendingUpgrade {
                on_upgrade: ::hyper::upgrade::on(request),
                parts: Some((conn, protocol, parsed)),
                timeouts: options.timeouts,
                high_water_mark: options.high_water_mark,
            };
            Ok((to_response(&response), pending))
        }
        (response, Err(_)) => Err(to_response(&response)),
    }
}

/// The WebSocket of an accepted [`upgrade`], once hyper hands over the
/// connection (after it sent the `101`).
#[derive(Debug)]
pub struct PendingUpgrade {
    on_upgrade: OnUpgrade,
    parts: Option<(Connection, Option<String>, Request)>,
    timeouts: Timeouts,
    high_water_mark: usize,
}

impl Future for PendingUpgrade {
    type Output = Result<WebSocket<UpgradedStream>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let upgraded = ready!(Pin::new(&mut this.on_upgrade).poll(cx))
            .map_err(|e| Error::Io(io::Error::other(e)))?;
        let Some((conn, protocol, request)) = this.parts.take() else {
            return Poll::Ready(Err(Error::Io(io::Error::other(
                "upgrade polled after completion",
            ))));
        };
        let timer = Keepalive::new(this.timeouts, Instant::now());
        let session = Session::server(protocol, request);
        let stream = TokioIo::new(upgraded);
        let socket = WebSocket::with_session(stream, conn, timer, session, this.high_water_mark);
        Poll::Ready(Ok(socket))
    }
}

/// The request head as it came off the wire (hyper keeps every field), for
/// the sans-IO parser that every adapter shares.
fn request_head<B>(request: &::hyper::Request<B>) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(request.method().as_str().as_bytes());
    head.push(b' ');
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(match request.version() {
        ::hyper::Version::HTTP_09 => b" HTTP/0.9\r\n",
        ::hyper::Version::HTTP_10 => b" HTTP/1.0\r\n",
        _ => b" HTTP/1.1\r\n",
    });
    for (name, value) in request.headers() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn bad_request() -> Vec<u8> {
    crate::handshake::reject_response(400, &[], b"")
}

/// A complete HTTP/1.1 response built by the handshake code, as a hyper
/// response.
fn to_response<R: From<String>>(bytes: &[u8]) -> Response<R> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers);
    let body_start = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        // Not reached: the handshake code writes whole, valid responses.
        _ => bytes.len(),
    };
    let status = parsed
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let body = String::from_utf8_lossy(&bytes[body_start..]).into_owned();
    let mut response = Response::new(R::from(body));
    *response.status_mut() = status;
    for header in parsed.headers.iter() {
        // hyper writes the body's length itself.
        if header.name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_bytes(header.value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
