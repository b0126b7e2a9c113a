//! The opening handshake (RFC 6455 §4), sans-IO.
//!
//! Nothing here touches a socket or a clock. The client side builds request
//! bytes ([`ClientHandshake::request`]) and validates the bytes the caller
//! received ([`ClientHandshake::parse_response`]); the server side parses and
//! validates request bytes ([`Request::parse`]) and builds the response bytes
//! ([`Request::accept`], [`reject_response`]). Parsers take *everything
//! received so far* and answer [`Status::Partial`] until the header is
//! complete, then report how many bytes the header used: bytes after that
//! belong to the WebSocket stream.
//!
//! - `url`: `ws://` / `wss://` URLs ([`WsUrl`]).
//! - `client`: the client's request and response validation.
//! - `server`: request validation, the 101 response, HTTP error responses.
//! - `extensions`: the `Sec-WebSocket-Extensions` grammar (RFC 6455 §9.1).
//! - `error`: [`HandshakeError`] and the HTTP answer to each server-side failure.
//! - this module: the accept key and the header helpers both sides share.

mod client;
mod error;
mod extensions;
mod server;
mod url;

#[cfg(test)]
mod roundtrip_tests;

pub use client::{ClientHandshake, ClientOptions, ServerResponse};
pub use error::{HandshakeError, PlainRequest, RejectedResponse};
pub use extensions::{format_extension_header, parse_extension_header};
#[cfg(feature = "std")]
pub(crate) use server::reason_phrase;
pub use server::{reject_response, AcceptOptions, Request, ServerOptions};
pub(crate) use url::{parse_port, split_host_port};
pub use url::{UrlError, WsUrl};

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use sha1::{Digest, Sha1};

/// One extension in a `Sec-WebSocket-Extensions` header (RFC 6455 §9.1):
/// a name and its parameters, each with an optional value.
///
/// ```
/// use rfc6455::handshake::{format_extension_header, ExtensionOffer};
/// let offer = ExtensionOffer {
///     name: "permessage-deflate".into(),
///     params: vec![("client_max_window_bits".into(), None)],
/// };
/// assert_eq!(format_extension_header(&[offer]), "permessage-deflate; client_max_window_bits");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionOffer {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order, e.g. `("client_max_window_bits", None)`.
    pub params: Vec<(String, Option<String>)>,
}

/// The outcome of feeding bytes to an incremental parser.
///
/// Running out of input is not an error (httparse style): `Partial` asks the
/// caller to append more bytes and call again with the whole buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// The header is not complete yet; call again with more bytes.
    Partial,
    /// The header is complete.
    Complete(T),
}

impl<T> Status<T> {
    /// Whether the parser finished.
    pub fn is_complete(&self) -> bool {
        matches!(self, Status::Complete(_))
    }
}

/// The GUID appended to the key before hashing (RFC 6455 §1.3).
const WEBSOCKET_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`.
///
/// RFC 6455 §4.2.2 item 5.4: base64 of the SHA-1 of the key (as sent, still
/// base64) concatenated with the protocol GUID. The server proves with it
/// that it read this request and speaks WebSocket.
///
/// ```
/// // The example of RFC 6455 §1.3.
/// let accept = rfc6455::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(WEBSOCKET_GUID);
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Headers as parsed, with names and values copied out of the input buffer.
pub(crate) type Headers = Vec<(String, String)>;

/// Copies httparse's borrowed headers into owned pairs.
///
/// Header values are bytes on the wire; the few that are not UTF-8 (obsolete
/// `obs-text`) are converted lossily, since every header the handshake itself
/// reads is ASCII.
pub(crate) fn own_headers(parsed: &[httparse::Header<'_>]) -> Headers {
    parsed
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value).trim().into();
            (h.name.into(), value)
        })
        .collect()
}

/// The value of the first header called `name` (case-insensitive).
pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every value of the headers called `name` (case-insensitive), in order.
pub(crate) fn all_headers<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The value of the header `name` if it appears exactly once.
///
/// `Err(())` when it appears more than once, for the headers RFC 6455 §11.3
/// says "MUST NOT appear more than once".
pub(crate) fn single_header<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> Result<Option<&'a str>, ()> {
    let mut values = all_headers(headers, name);
    let first = values.next();
    match values.next() {
        Some(_) => Err(()),
        None => Ok(first),
    }
}

/// The non-empty elements of comma-separated list values, trimmed.
///
/// RFC 7230 §7: a list header may be split over several header lines and
/// may contain empty elements, which recipients ignore.
pub(crate) fn list_elements<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    all_headers(headers, name)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Whether the list header `name` contains `token` (case-insensitive), as in
/// `Connection: keep-alive, Upgrade`.
pub(crate) fn has_token(headers: &[(String, String)], name: &str, token: &str) -> bool {
    list_elements(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// Appends `name: value\r\n`, dropping any CR or LF in either part so a
/// caller-supplied header can never end the header block early or inject
/// another header.
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &str) {
    let clean = |s: &str, out: &mut Vec<u8>| {
        out.extend(s.bytes().filter(|&b| b != b'\r' && b != b'\n'));
    };
    clean(name, out);
    out.extend_from_slice(b": ");
    clean(value, out);
    out.extend_from_slice(b"\r\n");
}

/// Appends the optional tail both sides' handshake messages share (the
/// subprotocol header, the extensions header, the caller's own headers) and
/// the blank line that ends the header block.
pub(crate) fn finish_header_block(
    out: &mut Vec<u8>,
    protocol: Option<&str>,
    extensions: &[ExtensionOffer],
    headers: &[(String, String)],
) {
    if let Some(protocol) = protocol {
        write_header(out, "Sec-WebSocket-Protocol", protocol);
    }
    if !extensions.is_empty() {
        let value = format_extension_header(extensions);
        write_header(out, "Sec-WebSocket-Extensions", &value);
    }
    for (name, value) in headers {
        write_header(out, name, value);
    }
    out.extend_from_slice(b"\r\n");
}

/// Whether `b` may appear in an HTTP token (RFC 7230 §3.2.6 `tchar`).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` is a non-empty HTTP token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// The `headers` array httparse fills, sized to the caller's limit.
pub(crate) fn header_slots(max: usize) -> Vec<httparse::Header<'static>> {
    alloc::vec![httparse::EMPTY_HEADER; max]
}

/// Runs an httparse parser on at most `limit` bytes of `buf`.
///
/// A header that is still incomplete once `limit` bytes have arrived can
/// never fit, so it fails with [`HandshakeError::HeaderTooLarge`] at once
/// rather than buffering more: the limit bounds both memory and parse work.
pub(crate) fn parse_limited<'b>(
    buf: &'b [u8],
    limit: usize,
    parse: impl FnOnce(&'b [u8]) -> httparse::Result<usize>,
) -> Result<Status<usize>, HandshakeError> {
    let window = &buf[..buf.len().min(limit)];
    match parse(window) {
        Ok(httparse::Status::Complete(n)) => Ok(Status::Complete(n)),
        Ok(httparse::Status::Partial) if buf.len() > limit => Err(HandshakeError::HeaderTooLarge),
        Ok(httparse::Status::Partial) => Ok(Status::Partial),
        Err(e) => Err(HandshakeError::from_httparse(e)),
    }
}

/// Builds a literal header block for tests: `first_line`, then `defaults`
/// with `replace` overriding them (an empty value removes the header), then
/// the rest of `replace` appended in order.
#[cfg(test)]
pub(crate) fn test_header_block(
    first_line: &str,
    defaults: &[(&str, &str)],
    replace: &[(&str, &str)],
) -> Vec<u8> {
    let mut out = alloc::format!("{first_line}\r\n");
    let mut push = |name: &str, value: &str| {
        if !value.is_empty() {
            out.push_str(&alloc::format!("{name}: {value}\r\n"));
        }
    };
    for (name, value) in defaults {
        let value = replace
            .iter()
            .find(|(n, _)| n == name)
            .map_or(*value, |r| r.1);
        push(name, value);
    }
    for (name, value) in replace {
        if !defaults.iter().any(|(n, _)| n == name) {
            push(name, value);
        }
    }
    out.push_str("\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    // RFC 6455 §1.3: the worked example.
    #[test]
    fn accept_key_matches_rfc_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn tokens_match_case_insensitively_across_lists_and_lines() {
        let h = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("X", "a"),
            ("CONNECTION", " ,close"),
        ]);
        assert!(has_token(&h, "Connection", "upgrade"));
        assert!(has_token(&h, "connection", "CLOSE"));
        assert!(!has_token(&h, "Connection", "keep"));
        assert!(!has_token(&h, "Upgrade", "websocket"));
        assert_eq!(list_elements(&h, "connection").count(), 3);
    }

    #[test]
    fn single_header_detects_repeats() {
        let h = headers(&[("A", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(single_header(&h, "B"), Ok(Some("2")));
        assert_eq!(single_header(&h, "c"), Ok(None));
        assert_eq!(single_header(&h, "A"), Err(()));
        assert_eq!(find_header(&h, "a"), Some("1"));
    }

    #[test]
    fn written_headers_cannot_inject_lines() {
        let mut out = Vec::new();
        write_header(&mut out, "X-A", "1\r\nX-Evil: 2");
        assert_eq!(out, b"X-A: 1X-Evil: 2\r\n");
    }

    #[test]
    fn client_side_failures_have_no_http_response() {
        for e in [
            HandshakeError::AcceptMismatch,
            HandshakeError::UpgradeNotWebSocket,
            HandshakeError::UnexpectedProtocol("x".into()),
            HandshakeError::UnexpectedExtension("x".into()),
            HandshakeError::InvalidUrl(UrlError::MissingHost),
        ] {
            assert_eq!(e.http_response(), None, "{e}");
        }
    }

    #[test]
    fn error_responses_carry_a_body_and_close() {
        let response = HandshakeError::MissingKey.http_response().unwrap();
        let text = core::str::from_utf8(&response).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&alloc::format!("\r\nContent-Length: {}", body.len())));
        assert!(head.ends_with("\r\nConnection: close"));
        assert_eq!(body, "missing Sec-WebSocket-Key\n");
    }

    #[test]
    fn tokens() {
        assert!(is_token("permessage-deflate"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a\"b"));
    }
}
