//! The HTTP `CONNECT` exchange (RFC 9110 §9.3.6), sans-IO.
//!
//! One request, one reply: `CONNECT host:port HTTP/1.1` with the same
//! authority in `Host`, and `Proxy-Authorization: Basic` when the proxy URL
//! carries credentials (RFC 9110 §11.7.2, RFC 7617). Any 2xx reply turns
//! the connection into a tunnel; bytes after the reply's header already
//! belong to the server.

use super::url::authority;
use super::ProxyErrorKind;
use crate::handshake::{header_slots, own_headers, parse_limited, write_header, RejectedResponse};
use crate::handshake::{HandshakeError, Status};
use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;
use base64::Engine as _;

/// The largest reply header accepted from a proxy.
pub const MAX_REPLY: usize = 16 * 1024;

/// The most header fields accepted in a proxy's reply.
const MAX_REPLY_HEADERS: usize = 64;

/// A `CONNECT` request in flight: the bytes to send, then the reply.
#[derive(Debug, Clone)]
pub struct HttpConnect {
    request: Vec<u8>,
    sent: usize,
    received: Vec<u8>,
}

impl HttpConnect {
    /// The request for a tunnel to `host:port` (an IPv6 literal without
    /// brackets: they are added), authenticating with `credentials`.
    pub fn new(host: &str, port: u16, credentials: Option<(&str, &str)>) -> Self {
        let target = authority(host, port);
        let mut request = Vec::with_capacity(128);
        // RFC 9110 §9.3.6: the request target is the authority form,
        // host and port (RFC 9112 §3.2.3), also sent as Host (§7.2).
        request.extend_from_slice(format!("CONNECT {target} HTTP/1.1\r\n").as_bytes());
        write_header(&mut request, "Host", &target);
        if let Some((user, password)) = credentials {
            // RFC 7617 §2: base64 of "user:password".
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            write_header(
                &mut request,
                "Proxy-Authorization",
                &format!("Basic {token}"),
            );
        }
        request.extend_from_slice(b"\r\n");
        HttpConnect {
            request,
            sent: 0,
            received: Vec::new(),
        }
    }

    /// Request bytes not yet sent.
    pub fn output(&self) -> &[u8] {
        &self.request[self.sent..]
    }

    /// `n` bytes of [`output`](Self::output) were sent.
    pub fn advance_output(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.request.len());
    }

    /// Hand in reply bytes. `Complete(leftover)` once a 2xx reply header is
    /// in: `leftover` is what followed it (the server's first bytes, if
    /// any). A non-2xx reply is [`ProxyErrorKind::Refused`].
    pub fn receive(&mut self, data: &[u8]) -> Result<Status<Vec<u8>>, ProxyErrorKind> {
        // Past the limit nothing more is kept: parse_limited fails first.
        let room = (MAX_REPLY + 1).saturating_sub(self.received.len());
        self.received
            .extend_from_slice(&data[..data.len().min(room)]);
        let mut slots = header_slots(MAX_REPLY_HEADERS);
        let mut reply = httparse::Response::new(&mut slots);
        let consumed = match parse_limited(&self.received, MAX_REPLY, |b| reply.parse(b)) {
            Ok(Status::Partial) => return Ok(Status::Partial),
            Ok(Status::Complete(n)) => n,
            Err(HandshakeError::HeaderTooLarge) => return Err(ProxyErrorKind::ReplyTooLarge),
            Err(HandshakeError::TooManyHeaders) => {
                return Err(ProxyErrorKind::MalformedReply("too many header fields"))
            }
            Err(HandshakeError::MalformedHttp(what)) => {
                return Err(ProxyErrorKind::MalformedReply(what))
            }
            Err(_) => return Err(ProxyErrorKind::MalformedReply("not HTTP")),
        };
        let status = reply.code.unwrap_or_default();
        // RFC 9110 §9.3.6: any 2xx response means the tunnel is up; the
        // client ignores Content-Length and Transfer-Encoding in it.
        if (200..300).contains(&status) {
            return Ok(Status::Complete(self.received.split_off(consumed)));
        }
        let body_end = self
            .received
            .len()
            .min(consumed + RejectedResponse::MAX_BODY);
        Err(ProxyErrorKind::Refused(Box::new(RejectedResponse {
            status,
            reason: reply.reason.unwrap_or_default().into(),
            headers: own_headers(reply.headers),
            body: self.received[consumed..body_end].to_vec(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{feed, splits};
    use super::*;
    use alloc::vec;

    const OK: &[u8] = b"HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\n";

    #[test]
    fn request_bytes() {
        let c = HttpConnect::new("example.com", 443, None);
        assert_eq!(
            c.output(),
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
        );
        // IPv6 literals are bracketed, in both places.
        let c = HttpConnect::new("2001:db8::1", 80, None);
        assert_eq!(
            c.output(),
            b"CONNECT [2001:db8::1]:80 HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n"
        );
        // RFC 7617 §2's example: Aladdin / open sesame.
        let c = HttpConnect::new("h", 9001, Some(("Aladdin", "open sesame")));
        assert_eq!(
            c.output(),
            &b"CONNECT h:9001 HTTP/1.1\r\nHost: h:9001\r\n\
               Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"[..]
        );
    }

    #[test]
    fn output_advances_in_pieces() {
        let mut c = HttpConnect::new("h", 1, None);
        let all = c.output().to_vec();
        c.advance_output(5);
        assert_eq!(c.output(), &all[5..]);
        c.advance_output(all.len());
        assert!(c.output().is_empty());
    }

    /// The outcome of `reply` in every split (see `splits`), errors as text.
    fn feed_split(reply: &[u8]) -> Vec<Result<Status<Vec<u8>>, alloc::string::String>> {
        splits(reply)
            .iter()
            .map(|pieces| {
                let mut c = HttpConnect::new("h", 1, None);
                feed(|piece| c.receive(piece), pieces)
                    .map_err(|e| alloc::string::ToString::to_string(&e))
            })
            .collect()
    }

    #[test]
    fn a_2xx_reply_completes_split_anywhere_with_leftovers() {
        let mut wire = OK.to_vec();
        wire.extend_from_slice(b"\x81\x02hi");
        for outcome in feed_split(&wire) {
            assert_eq!(outcome, Ok(Status::Complete(b"\x81\x02hi".to_vec())));
        }
        for outcome in feed_split(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n") {
            assert_eq!(outcome, Ok(Status::Complete(Vec::new())));
        }
    }

    #[test]
    fn a_partial_reply_asks_for_more() {
        let mut c = HttpConnect::new("h", 1, None);
        assert_eq!(c.receive(&OK[..OK.len() - 1]).unwrap(), Status::Partial);
        assert_eq!(c.receive(b"\n").unwrap(), Status::Complete(Vec::new()));
    }

    #[test]
    fn a_407_carries_status_headers_and_body() {
        let reply = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
            Proxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 6\r\n\r\ndenied";
        let mut c = HttpConnect::new("h", 1, None);
        let Err(ProxyErrorKind::Refused(r)) = c.receive(reply) else {
            panic!("not refused");
        };
        assert_eq!(
            (r.status, r.reason.as_str()),
            (407, "Proxy Authentication Required")
        );
        assert_eq!(r.header("proxy-authenticate"), Some("Basic realm=\"corp\""));
        assert_eq!(r.body, b"denied");
        for outcome in feed_split(b"HTTP/1.1 403 Forbidden\r\n\r\n") {
            assert_eq!(outcome.unwrap_err(), "CONNECT refused with 403 Forbidden");
        }
    }

    #[test]
    fn malformed_and_oversized_replies() {
        let mut c = HttpConnect::new("h", 1, None);
        assert!(matches!(
            c.receive(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(ProxyErrorKind::MalformedReply(_))
        ));
        let mut c = HttpConnect::new("h", 1, None);
        assert!(matches!(
            c.receive(b"\x05\x00"),
            Err(ProxyErrorKind::MalformedReply(_))
        ));
        // A header that never ends is cut off at the limit, in any pieces,
        // and nothing past the limit is kept.
        let mut c = HttpConnect::new("h", 1, None);
        let filler = vec![b'a'; 1000];
        let mut result = c.receive(b"HTTP/1.1 200 OK\r\nX: ");
        while matches!(result, Ok(Status::Partial)) {
            result = c.receive(&filler);
            assert!(c.received.len() <= MAX_REPLY + 1);
        }
        assert!(matches!(result, Err(ProxyErrorKind::ReplyTooLarge)));
    }
}
