//! The `Sec-WebSocket-Extensions` header (RFC 6455 §9.1).
//!
//! ```text
//! extension-list = 1#extension
//! extension      = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! Parsing only checks the grammar; which extensions and parameters are
//! acceptable is for the negotiating code (e.g. permessage-deflate) to say.

use super::{is_tchar, is_token, ExtensionOffer, HandshakeError};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};

/// Parses one `Sec-WebSocket-Extensions` header value into its offers, in
/// order. Quoted parameter values come back unquoted.
///
/// Empty list elements (`a, , b`) are skipped, as RFC 7230 §7 asks of
/// recipients; an empty value yields no offers.
///
/// ```
/// use rfc6455::handshake::parse_extension_header;
/// let offers = parse_extension_header("permessage-deflate; server_max_window_bits=\"10\", x-other")?;
/// assert_eq!(offers.len(), 2);
/// assert_eq!(offers[0].params[0], ("server_max_window_bits".into(), Some("10".into())));
/// assert_eq!(offers[1].name, "x-other");
/// # Ok::<(), rfc6455::HandshakeError>(())
/// ```
pub fn parse_extension_header(value: &str) -> Result<Vec<ExtensionOffer>, HandshakeError> {
    let mut cursor = Cursor {
        bytes: value.as_bytes(),
        pos: 0,
    };
    let mut offers = Vec::new();
    loop {
        cursor.skip_ows();
        match cursor.peek() {
            None => return Ok(offers),
            Some(b',') => {
                cursor.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let mut offer = ExtensionOffer {
            name: cursor
                .token()
                .ok_or(invalid("expected an extension name"))?,
            params: Vec::new(),
        };
        loop {
            cursor.skip_ows();
            match cursor.peek() {
                None | Some(b',') => break,
                Some(b';') => cursor.pos += 1,
                Some(_) => return Err(invalid("expected ';' or ','")),
            }
            cursor.skip_ows();
            let name = cursor.token().ok_or(invalid("expected a parameter name"))?;
            cursor.skip_ows();
            let value = if cursor.peek() == Some(b'=') {
                cursor.pos += 1;
                cursor.skip_ows();
                Some(cursor.param_value()?)
            } else {
                None
            };
            offer.params.push((name, value));
        }
        offers.push(offer);
    }
}

/// The header value for several offers, comma-separated.
///
/// ```
/// use rfc6455::handshake::{format_extension_header, parse_extension_header};
/// let value = "a; x=1, b";
/// assert_eq!(format_extension_header(&parse_extension_header(value)?), value);
/// # Ok::<(), rfc6455::HandshakeError>(())
/// ```
pub fn format_extension_header(offers: &[ExtensionOffer]) -> String {
    let mut out = String::new();
    for (i, offer) in offers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        // Writing into a String cannot fail.
        let _ = write!(out, "{offer}");
    }
    out
}

/// Formats the offer as it appears in a header: `name; param; param=value`.
/// Values that are not tokens are written as quoted strings.
impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            write!(f, "; {name}")?;
            match value {
                Some(v) if is_token(v) => write!(f, "={v}")?,
                Some(v) => {
                    f.write_str("=\"")?;
                    for c in v.chars() {
                        if c == '"' || c == '\\' {
                            f.write_char('\\')?;
                        }
                        f.write_char(c)?;
                    }
                    f.write_char('"')?;
                }
                None => {}
            }
        }
        Ok(())
    }
}

fn invalid(what: &'static str) -> HandshakeError {
    HandshakeError::InvalidExtensionHeader(what)
}

/// A position in the header value; only ever advances.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// RFC 7230 §3.2.3: optional whitespace is spaces and tabs.
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A run of token characters, or `None` when there is none here.
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        let run = &self.bytes[start..self.pos];
        // Token characters are ASCII, so this slice is valid UTF-8.
        (!run.is_empty()).then(|| run.iter().map(|&b| char::from(b)).collect())
    }

    fn param_value(&mut self) -> Result<String, HandshakeError> {
        if self.peek() != Some(b'"') {
            return self.token().ok_or(invalid("expected a parameter value"));
        }
        self.pos += 1;
        let mut value = String::new();
        loop {
            match self.peek() {
                None => return Err(invalid("unterminated quoted string")),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                // RFC 7230 §3.2.6: a backslash quotes the next character.
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = self.peek().ok_or(invalid("unterminated quoted string"))?;
                    value.push(char::from(escaped));
                    self.pos += 1;
                }
                Some(b) => {
                    value.push(char::from(b));
                    self.pos += 1;
                }
            }
        }
        // RFC 6455 §9.1: a quoted value, once unescaped, MUST be a token.
        if !is_token(&value) {
            return Err(invalid("quoted parameter value is not a token"));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn offer(name: &str, params: &[(&str, Option<&str>)]) -> ExtensionOffer {
        ExtensionOffer {
            name: name.into(),
            params: params
                .iter()
                .map(|(n, v)| (n.to_string(), v.map(ToString::to_string)))
                .collect(),
        }
    }

    #[test]
    fn single_extension_without_params() {
        assert_eq!(
            parse_extension_header("permessage-deflate"),
            Ok(vec![offer("permessage-deflate", &[])])
        );
    }

    #[test]
    fn params_with_and_without_values_and_whitespace() {
        assert_eq!(
            parse_extension_header(
                " permessage-deflate ;client_max_window_bits; server_max_window_bits = 10 "
            ),
            Ok(vec![offer(
                "permessage-deflate",
                &[
                    ("client_max_window_bits", None),
                    ("server_max_window_bits", Some("10"))
                ]
            )])
        );
    }

    #[test]
    fn quoted_values_are_unquoted() {
        assert_eq!(
            parse_extension_header("x; a=\"10\"; b=\"v\\-1\""),
            Ok(vec![offer("x", &[("a", Some("10")), ("b", Some("v-1"))])])
        );
    }

    #[test]
    fn several_offers_in_order() {
        assert_eq!(
            parse_extension_header(
                "permessage-deflate; client_max_window_bits, permessage-deflate,\tfoo;bar=1"
            ),
            Ok(vec![
                offer("permessage-deflate", &[("client_max_window_bits", None)]),
                offer("permessage-deflate", &[]),
                offer("foo", &[("bar", Some("1"))]),
            ])
        );
    }

    #[test]
    fn empty_elements_are_skipped() {
        assert_eq!(parse_extension_header(""), Ok(vec![]));
        assert_eq!(
            parse_extension_header(" , a ,, b,"),
            Ok(vec![offer("a", &[]), offer("b", &[])])
        );
    }

    #[test]
    fn malformed_headers_are_errors() {
        for bad in [
            ";a",
            "a;",
            "a; =1",
            "a; b=",
            "a; b=\"1",
            "a; b=\"1\\",
            "a; b=\"two words\"",
            "a; b=\"\"",
            "a b",
            "a; b c",
            "\"a\"",
            "a; b=1=2",
            "a; b=(1)",
        ] {
            assert!(
                matches!(
                    parse_extension_header(bad),
                    Err(HandshakeError::InvalidExtensionHeader(_))
                ),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn formatting_round_trips() {
        let offers = vec![
            offer(
                "permessage-deflate",
                &[
                    ("client_max_window_bits", None),
                    ("server_max_window_bits", Some("10")),
                ],
            ),
            offer("x", &[]),
        ];
        let header = format_extension_header(&offers);
        assert_eq!(
            header,
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10, x"
        );
        assert_eq!(parse_extension_header(&header), Ok(offers));
    }

    #[test]
    fn non_token_values_are_quoted() {
        let o = offer("x", &[("a", Some("two words")), ("b", Some("q\"\\"))]);
        assert_eq!(o.to_string(), "x; a=\"two words\"; b=\"q\\\"\\\\\"");
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_is_identity(
            offers in proptest::collection::vec(
                (
                    "[a-z][a-z0-9_-]{0,15}",
                    proptest::collection::vec(
                        ("[a-z_]{1,12}", proptest::option::of("[A-Za-z0-9.!#$%&'*+^_`|~-]{1,8}")),
                        0..4,
                    ),
                ),
                0..4,
            )
        ) {
            let offers: Vec<ExtensionOffer> = offers
                .into_iter()
                .map(|(name, params)| ExtensionOffer { name, params })
                .collect();
            let header = format_extension_header(&offers);
            proptest::prop_assert_eq!(parse_extension_header(&header), Ok(offers));
        }
    }
}
