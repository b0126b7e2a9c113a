//! Negotiation of permessage-deflate parameters (RFC 7692 §5, §7.1).
//!
//! Every offer or response is first read into [`Params`], which checks only the
//! syntax rules shared by both directions (known names, no duplicates, values
//! where and only where allowed). The role-specific rules (what a server may
//! answer to a given offer) are then checked on `Params`, so each rule sits in
//! one place next to the RFC sentence that demands it.

use super::{DeflateConfig, DeflateParams, MAX_WINDOW_BITS, MIN_BACKEND_WINDOW_BITS};
use crate::handshake::ExtensionOffer;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// The extension token (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// Why the client rejects a server's permessage-deflate response; the client
/// must then fail the WebSocket connection (RFC 7692 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeflateNegotiationError {
    /// The response names an extension other than permessage-deflate.
    WrongExtension(String),
    /// A parameter RFC 7692 does not define (§7.1).
    UnknownParameter(String),
    /// The same parameter twice (§7.1).
    DuplicateParameter(&'static str),
    /// A value on a parameter that takes none (§7.1.1).
    UnexpectedValue(&'static str),
    /// A window-bits parameter whose value is missing, not a decimal integer
    /// without leading zeros, or outside 8..=15 (§7.1.2).
    InvalidWindowBits(&'static str),
    /// `client_max_window_bits` in the response, but not in the offer (§7.1.2.2).
    ClientWindowBitsNotOffered,
    /// `client_max_window_bits` larger than the client offered (§7.1.2.2).
    ClientWindowBitsTooLarge {
        /// The value in the client's offer.
        offered: u8,
        /// The value in the server's response.
        received: u8,
    },
    /// `server_max_window_bits` was offered but the response lacks it (§7.1.2.1).
    ServerWindowBitsMissing {
        /// The value in the client's offer.
        offered: u8,
    },
    /// `server_max_window_bits` larger than the client offered (§7.1.2.1).
    ServerWindowBitsTooLarge {
        /// The value in the client's offer.
        offered: u8,
        /// The value in the server's response.
        received: u8,
    },
    /// `server_no_context_takeover` was offered but the response lacks it (§7.1.1.1).
    ServerNoContextTakeoverMissing,
}

impl fmt::Display for DeflateNegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DeflateNegotiationError::*;
        match self {
            WrongExtension(name) => write!(f, "response names extension {name:?}"),
            UnknownParameter(name) => write!(f, "unknown parameter {name:?}"),
            DuplicateParameter(name) => write!(f, "duplicate parameter {name}"),
            UnexpectedValue(name) => write!(f, "parameter {name} takes no value"),
            InvalidWindowBits(name) => write!(f, "{name} needs a value in 8..=15"),
            ClientWindowBitsNotOffered => f.write_str("client_max_window_bits was not offered"),
            ClientWindowBitsTooLarge { offered, received } => write!(
                f,
                "client_max_window_bits={received} exceeds the offered {offered}"
            ),
            ServerWindowBitsMissing { offered } => write!(
                f,
                "server_max_window_bits={offered} was offered but not answered"
            ),
            ServerWindowBitsTooLarge { offered, received } => write!(
                f,
                "server_max_window_bits={received} exceeds the offered {offered}"
            ),
            ServerNoContextTakeoverMissing => {
                f.write_str("server_no_context_takeover was offered but not answered")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DeflateNegotiationError {}

/// Which direction a parameter list travels; decides where a window-bits
/// value is optional.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Offer,
    Response,
}

/// The four RFC 7692 parameters of one offer or response, syntax-checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    /// Read the parameters of a permessage-deflate offer or response.
    /// The caller has already checked the extension name.
    fn parse(ext: &ExtensionOffer, side: Side) -> Result<Params, DeflateNegotiationError> {
        use DeflateNegotiationError::*;
        let mut p = Params::default();
        for (name, value) in &ext.params {
            let value = value.as_deref();
            // RFC 7692 §7.1: an offer or response with a parameter twice, or an
            // unknown parameter, is invalid (server: decline; client: fail).
            if name.eq_ignore_ascii_case(SERVER_NO_CONTEXT_TAKEOVER) {
                set_flag(
                    &mut p.server_no_context_takeover,
                    SERVER_NO_CONTEXT_TAKEOVER,
                    value,
                )?;
            } else if name.eq_ignore_ascii_case(CLIENT_NO_CONTEXT_TAKEOVER) {
                set_flag(
                    &mut p.client_no_context_takeover,
                    CLIENT_NO_CONTEXT_TAKEOVER,
                    value,
                )?;
            } else if name.eq_ignore_ascii_case(SERVER_MAX_WINDOW_BITS) {
                if p.server_max_window_bits.is_some() {
                    return Err(DuplicateParameter(SERVER_MAX_WINDOW_BITS));
                }
                // RFC 7692 §7.1.2.1: the value is required in both directions.
                let bits = value.and_then(window_bits);
                p.server_max_window_bits =
                    Some(bits.ok_or(InvalidWindowBits(SERVER_MAX_WINDOW_BITS))?);
            } else if name.eq_ignore_ascii_case(CLIENT_MAX_WINDOW_BITS) {
                if p.client_max_window_bits.is_some() {
                    return Err(DuplicateParameter(CLIENT_MAX_WINDOW_BITS));
                }
                // RFC 7692 §7.1.2.2: a client may offer the parameter without a
                // value (it merely supports it); a server's response must carry one.
                let bits = match (value, side) {
                    (None, Side::Offer) => None,
                    (None, Side::Response) => {
                        return Err(InvalidWindowBits(CLIENT_MAX_WINDOW_BITS))
                    }
                    (Some(v), _) => {
                        Some(window_bits(v).ok_or(InvalidWindowBits(CLIENT_MAX_WINDOW_BITS))?)
                    }
                };
                p.client_max_window_bits = Some(bits);
            } else {
                return Err(UnknownParameter(name.clone()));
            }
        }
        Ok(p)
    }

    /// Write these parameters as an extension value (flags first, as is usual).
    fn to_extension(&self) -> ExtensionOffer {
        let mut params = Vec::new();
        if self.server_no_context_takeover {
            params.push((SERVER_NO_CONTEXT_TAKEOVER.to_string(), None));
        }
        if self.client_no_context_takeover {
            params.push((CLIENT_NO_CONTEXT_TAKEOVER.to_string(), None));
        }
        if let Some(bits) = self.server_max_window_bits {
            params.push((SERVER_MAX_WINDOW_BITS.to_string(), Some(format!("{bits}"))));
        }
        if let Some(bits) = self.client_max_window_bits {
            params.push((
                CLIENT_MAX_WINDOW_BITS.to_string(),
                bits.map(|b| format!("{b}")),
            ));
        }
        ExtensionOffer {
            name: EXTENSION_NAME.to_string(),
            params,
        }
    }
}

fn set_flag(
    flag: &mut bool,
    name: &'static str,
    value: Option<&str>,
) -> Result<(), DeflateNegotiationError> {
    if *flag {
        return Err(DeflateNegotiationError::DuplicateParameter(name));
    }
    // RFC 7692 §7.1.1: the no_context_takeover parameters have no value.
    if value.is_some() {
        return Err(DeflateNegotiationError::UnexpectedValue(name));
    }
    *flag = true;
    Ok(())
}

/// RFC 7692 §7.1.2: "a decimal integer value without leading zeroes between
/// 8 to 15, inclusive" (after any quoted-string unescaping, which the header
/// parser has done). `u8::from_str` alone would also take "+9" and "09".
fn window_bits(value: &str) -> Option<u8> {
    let bytes = value.as_bytes();
    let digits_ok = !bytes.is_empty() && bytes[0] != b'0' && bytes.iter().all(u8::is_ascii_digit);
    if !digits_ok || bytes.len() > 2 {
        return None;
    }
    let bits: u8 = value.parse().ok()?;
    (8..=MAX_WINDOW_BITS).contains(&bits).then_some(bits)
}

fn is_deflate(ext: &ExtensionOffer) -> bool {
    ext.name.eq_ignore_ascii_case(EXTENSION_NAME)
}

impl DeflateConfig {
    /// The parameters of the client's offers, most wanted first.
    fn offer_params(&self) -> Vec<Params> {
        let client_bits = self.client_bits();
        let server_bits = self.server_bits();
        // RFC 7692 §7.1.2.2: always offer client_max_window_bits, so the
        // server may limit our window (we can honour 9..=15, and 8 by not
        // compressing); with a value it also hints at our own limit.
        let client_max_window_bits = Some((client_bits < MAX_WINDOW_BITS).then_some(client_bits));
        let primary = Params {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: (server_bits < MAX_WINDOW_BITS).then_some(server_bits),
            client_max_window_bits,
        };
        let asks_server =
            primary.server_no_context_takeover || primary.server_max_window_bits.is_some();
        let mut offers = Vec::with_capacity(2);
        offers.push(primary);
        if asks_server {
            // A server may decline what we ask of it; fall back to asking
            // nothing rather than losing compression altogether.
            offers.push(Params {
                server_no_context_takeover: false,
                client_no_context_takeover: self.client_no_context_takeover,
                server_max_window_bits: None,
                client_max_window_bits,
            });
        }
        offers
    }

    /// Client: the offer(s) to put in `Sec-WebSocket-Extensions`, in order of
    /// preference: one offer, plus a plain fallback when the config asks
    /// something of the server that it may decline (see the module docs).
    pub fn client_offers(&self) -> Vec<ExtensionOffer> {
        self.offer_params()
            .iter()
            .map(Params::to_extension)
            .collect()
    }

    /// Client: validate the server's permessage-deflate response against our
    /// offers and return what was agreed. An `Err` means the client must fail
    /// the connection (RFC 7692 §5, §7.1). When the response fits none of the
    /// offers, the error is the one against the first (preferred) offer.
    pub fn client_accept(
        &self,
        response: &ExtensionOffer,
    ) -> Result<DeflateParams, DeflateNegotiationError> {
        if !is_deflate(response) {
            return Err(DeflateNegotiationError::WrongExtension(
                response.name.clone(),
            ));
        }
        let received = Params::parse(response, Side::Response)?;
        let mut first_error = None;
        for offered in self.offer_params() {
            match check_response(&offered, &received) {
                Ok(params) => return Ok(params),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // offer_params() is never empty, so an error was recorded.
        Err(first_error.unwrap_or(DeflateNegotiationError::ClientWindowBitsNotOffered))
    }

    /// Server: pick the first acceptable permessage-deflate offer (other
    /// extensions are ignored) and return the agreed params with the response
    /// to send back, or `None` to decline permessage-deflate altogether.
    pub fn server_accept(
        &self,
        offers: &[ExtensionOffer],
    ) -> Option<(DeflateParams, ExtensionOffer)> {
        offers
            .iter()
            .filter(|ext| is_deflate(ext))
            // RFC 7692 §5.1: a server declines an invalid offer and may accept
            // a later one; §7.1: "the first acceptable offer".
            .filter_map(|ext| Params::parse(ext, Side::Offer).ok())
            .find_map(|offered| self.answer(&offered))
    }

    /// The server's answer to one valid offer, or `None` to decline it.
    fn answer(&self, offered: &Params) -> Option<(DeflateParams, ExtensionOffer)> {
        // RFC 7692 §7.1.2.1: once the client limits our window we MUST NOT
        // exceed it; the backend cannot compress within 2^8 bytes, so an offer
        // of 8 is declined (see the table in the module docs).
        let server_bits = match offered.server_max_window_bits {
            Some(bits) if bits < MIN_BACKEND_WINDOW_BITS => return None,
            Some(bits) => Some(bits.min(self.server_bits())),
            // §7.1.2.1: a server may limit itself unasked.
            None => (self.server_bits() < MAX_WINDOW_BITS).then_some(self.server_bits()),
        };
        // RFC 7692 §7.1.2.2: we may limit the client only if it offered the
        // parameter, and only to its own value or less.
        let client_bits = offered.client_max_window_bits.and_then(|hint| {
            let bits = hint.unwrap_or(MAX_WINDOW_BITS).min(self.client_bits());
            (bits < MAX_WINDOW_BITS).then_some(bits)
        });
        let response = Params {
            // §7.1.1.1: accepting server_no_context_takeover means echoing it;
            // a server may also announce it unasked.
            server_no_context_takeover: offered.server_no_context_takeover
                || self.server_no_context_takeover,
            // §7.1.1.2: a client's offer of it is only a hint; echoing it makes
            // the agreement explicit so both sides reset, not just one.
            client_no_context_takeover: offered.client_no_context_takeover
                || self.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits.map(Some),
        };
        Some((agreed(&response, false), response.to_extension()))
    }
}

/// The agreement a (valid) response stands for. `client_hint` adds the
/// client's own no-context-takeover hint from its offer (§7.1.1.2).
fn agreed(response: &Params, client_hint: bool) -> DeflateParams {
    DeflateParams {
        client_max_window_bits: response
            .client_max_window_bits
            .flatten()
            .unwrap_or(MAX_WINDOW_BITS),
        server_max_window_bits: response.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        client_no_context_takeover: response.client_no_context_takeover || client_hint,
        server_no_context_takeover: response.server_no_context_takeover,
    }
}

/// Client side: is `received` a valid answer to `offered`? (RFC 7692 §7.1.)
fn check_response(
    offered: &Params,
    received: &Params,
) -> Result<DeflateParams, DeflateNegotiationError> {
    use DeflateNegotiationError::*;
    // §7.1.1.1: a server accepts server_no_context_takeover by echoing it.
    if offered.server_no_context_takeover && !received.server_no_context_takeover {
        return Err(ServerNoContextTakeoverMissing);
    }
    // §7.1.2.1: a server accepts server_max_window_bits by answering it with
    // the same or a smaller value (unasked, any valid value is allowed).
    if let Some(offered) = offered.server_max_window_bits {
        match received.server_max_window_bits {
            None => return Err(ServerWindowBitsMissing { offered }),
            Some(received) if received > offered => {
                return Err(ServerWindowBitsTooLarge { offered, received })
            }
            Some(_) => {}
        }
    }
    // §7.1.2.2: the server may send client_max_window_bits only if offered,
    // and not above the value the client offered with it.
    if let Some(received) = received.client_max_window_bits.flatten() {
        match offered.client_max_window_bits {
            None => return Err(ClientWindowBitsNotOffered),
            Some(Some(offered)) if received > offered => {
                return Err(ClientWindowBitsTooLarge { offered, received })
            }
            Some(_) => {}
        }
    }
    Ok(agreed(received, offered.client_no_context_takeover))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::test_params as params;
    use alloc::vec;

    /// A permessage-deflate extension value with these parameters.
    fn pmd(params: &[(&str, Option<&str>)]) -> ExtensionOffer {
        ext(EXTENSION_NAME, params)
    }

    fn ext(name: &str, params: &[(&str, Option<&str>)]) -> ExtensionOffer {
        ExtensionOffer {
            name: name.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
        }
    }

    const CMWB: &str = CLIENT_MAX_WINDOW_BITS;
    const SMWB: &str = SERVER_MAX_WINDOW_BITS;
    const CNCT: &str = CLIENT_NO_CONTEXT_TAKEOVER;
    const SNCT: &str = SERVER_NO_CONTEXT_TAKEOVER;

    #[test]
    fn window_bits_syntax() {
        // RFC 7692 §7.1.2: decimal, no leading zeros, 8..=15.
        for (value, expected) in [
            ("8", Some(8)),
            ("9", Some(9)),
            ("15", Some(15)),
            ("7", None),
            ("16", None),
            ("08", None),
            ("+9", None),
            ("", None),
            ("010", None),
            ("1a", None),
            (" 9", None),
            ("255", None),
        ] {
            assert_eq!(window_bits(value), expected, "{value:?}");
        }
    }

    /// RFC 7692 §5, §7.1: offers (as received in one header) → server decision,
    /// with the default config.
    #[test]
    fn server_decisions_default_config() {
        let config = DeflateConfig::default();
        type Row<'a> = (Vec<ExtensionOffer>, Option<(DeflateParams, ExtensionOffer)>);
        let table: Vec<Row> = vec![
            // Bare offer: bare response, full windows, takeover on.
            (
                vec![pmd(&[])],
                Some((params(15, 15, false, false), pmd(&[]))),
            ),
            // Chrome's offer: client_max_window_bits without value; no need to limit.
            (
                vec![pmd(&[(CMWB, None)])],
                Some((params(15, 15, false, false), pmd(&[]))),
            ),
            // The client hints its own window: echo it so our inflater can be small.
            (
                vec![pmd(&[(CMWB, Some("10"))])],
                Some((params(10, 15, false, false), pmd(&[(CMWB, Some("10"))]))),
            ),
            // A client window of 8 is fine: we inflate with 9 bits.
            (
                vec![pmd(&[(CMWB, Some("8"))])],
                Some((params(8, 15, false, false), pmd(&[(CMWB, Some("8"))]))),
            ),
            // server_max_window_bits must be echoed (§7.1.2.1), even at 15.
            (
                vec![pmd(&[(SMWB, Some("15"))])],
                Some((params(15, 15, false, false), pmd(&[(SMWB, Some("15"))]))),
            ),
            (
                vec![pmd(&[(SMWB, Some("9"))])],
                Some((params(15, 9, false, false), pmd(&[(SMWB, Some("9"))]))),
            ),
            // No-context-takeover flags are echoed.
            (
                vec![pmd(&[(SNCT, None), (CNCT, None)])],
                Some((
                    params(15, 15, true, true),
                    pmd(&[(SNCT, None), (CNCT, None)]),
                )),
            ),
            // server_max_window_bits=8 cannot be honoured: declined, fallback taken.
            (
                vec![pmd(&[(SMWB, Some("8"))]), pmd(&[(CMWB, None)])],
                Some((params(15, 15, false, false), pmd(&[]))),
            ),
            (vec![pmd(&[(SMWB, Some("8"))])], None),
            // Invalid offers are skipped (§5.1): duplicates, bad values,
            // values on flags, missing required value, unknown params.
            (vec![pmd(&[(SNCT, None), (SNCT, None)])], None),
            (vec![pmd(&[(CMWB, None), (CMWB, Some("9"))])], None),
            (vec![pmd(&[(SMWB, Some("10")), (SMWB, Some("10"))])], None),
            (vec![pmd(&[(SMWB, Some("16"))])], None),
            (vec![pmd(&[(SMWB, Some("7"))])], None),
            (vec![pmd(&[(SMWB, Some("09"))])], None),
            (vec![pmd(&[(SMWB, None)])], None),
            (vec![pmd(&[(CMWB, Some("x"))])], None),
            (vec![pmd(&[(SNCT, Some("1"))])], None),
            (vec![pmd(&[(CNCT, Some(""))])], None),
            (vec![pmd(&[("mux", None)])], None),
            // Other extensions are ignored; the first acceptable offer wins.
            (
                vec![
                    ext("x-webkit-deflate-frame", &[]),
                    pmd(&[("bogus", None)]),
                    pmd(&[(SMWB, Some("12"))]),
                    pmd(&[]),
                ],
                Some((params(15, 12, false, false), pmd(&[(SMWB, Some("12"))]))),
            ),
            (vec![ext("x-other", &[])], None),
            (vec![], None),
        ];
        for (offers, expected) in table {
            assert_eq!(config.server_accept(&offers), expected, "offers {offers:?}");
        }
    }

    /// The server's own policy: limits and flags it imposes unasked.
    #[test]
    fn server_decisions_with_policy() {
        let config = DeflateConfig {
            client_max_window_bits: 11,
            server_max_window_bits: 10,
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        let table = [
            // Limits itself unasked, limits the client only since it may.
            (
                pmd(&[(CMWB, None)]),
                params(11, 10, true, true),
                pmd(&[
                    (SNCT, None),
                    (CNCT, None),
                    (SMWB, Some("10")),
                    (CMWB, Some("11")),
                ]),
            ),
            // Client did not offer client_max_window_bits: may not limit it (§7.1.2.2).
            (
                pmd(&[]),
                params(15, 10, true, true),
                pmd(&[(SNCT, None), (CNCT, None), (SMWB, Some("10"))]),
            ),
            // Client asks for a smaller server window than our policy: take the smaller.
            (
                pmd(&[(SMWB, Some("9")), (CMWB, Some("9"))]),
                params(9, 9, true, true),
                pmd(&[
                    (SNCT, None),
                    (CNCT, None),
                    (SMWB, Some("9")),
                    (CMWB, Some("9")),
                ]),
            ),
            // Client allows a larger one: still our policy.
            (
                pmd(&[(SMWB, Some("14")), (CMWB, Some("13"))]),
                params(11, 10, true, true),
                pmd(&[
                    (SNCT, None),
                    (CNCT, None),
                    (SMWB, Some("10")),
                    (CMWB, Some("11")),
                ]),
            ),
        ];
        for (offer, agreed, response) in table {
            assert_eq!(
                config.server_accept(core::slice::from_ref(&offer)),
                Some((agreed, response)),
                "offer {offer:?}"
            );
        }
    }

    #[test]
    fn client_offers() {
        assert_eq!(
            DeflateConfig::default().client_offers(),
            vec![pmd(&[(CMWB, None)])]
        );
        let config = DeflateConfig {
            client_max_window_bits: 12,
            server_max_window_bits: 10,
            client_no_context_takeover: true,
            server_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        assert_eq!(
            config.client_offers(),
            vec![
                pmd(&[
                    (SNCT, None),
                    (CNCT, None),
                    (SMWB, Some("10")),
                    (CMWB, Some("12"))
                ]),
                pmd(&[(CNCT, None), (CMWB, Some("12"))]),
            ]
        );
        // Out-of-range config values are clamped rather than offered.
        let config = DeflateConfig {
            client_max_window_bits: 3,
            server_max_window_bits: 200,
            ..DeflateConfig::default()
        };
        assert_eq!(config.client_offers(), vec![pmd(&[(CMWB, Some("9"))])]);
    }

    /// RFC 7692 §7.1: server responses → client decision, default config
    /// (offer: `permessage-deflate; client_max_window_bits`).
    #[test]
    fn client_decisions_default_config() {
        use DeflateNegotiationError::*;
        let config = DeflateConfig::default();
        let table = [
            (pmd(&[]), Ok(params(15, 15, false, false))),
            (pmd(&[(SNCT, None)]), Ok(params(15, 15, false, true))),
            (pmd(&[(CNCT, None)]), Ok(params(15, 15, true, false))),
            (pmd(&[(SMWB, Some("12"))]), Ok(params(15, 12, false, false))),
            // The server compresses within 256 bytes: we inflate with 9 bits.
            (pmd(&[(SMWB, Some("8"))]), Ok(params(15, 8, false, false))),
            (pmd(&[(CMWB, Some("10"))]), Ok(params(10, 15, false, false))),
            // We are limited to 8: accepted, the codec then never compresses.
            (pmd(&[(CMWB, Some("8"))]), Ok(params(8, 15, false, false))),
            // A response must carry a value for client_max_window_bits.
            (pmd(&[(CMWB, None)]), Err(InvalidWindowBits(CMWB))),
            (pmd(&[(SMWB, None)]), Err(InvalidWindowBits(SMWB))),
            (pmd(&[(SMWB, Some("16"))]), Err(InvalidWindowBits(SMWB))),
            (pmd(&[(CMWB, Some("7"))]), Err(InvalidWindowBits(CMWB))),
            (pmd(&[(SNCT, Some("x"))]), Err(UnexpectedValue(SNCT))),
            (
                pmd(&[(CNCT, None), (CNCT, None)]),
                Err(DuplicateParameter(CNCT)),
            ),
            (
                pmd(&[(SMWB, Some("9")), (SMWB, Some("9"))]),
                Err(DuplicateParameter(SMWB)),
            ),
            (
                pmd(&[("foo", Some("1"))]),
                Err(UnknownParameter("foo".to_string())),
            ),
            (ext("x-foo", &[]), Err(WrongExtension("x-foo".to_string()))),
        ];
        for (response, expected) in table {
            assert_eq!(
                config.client_accept(&response),
                expected,
                "response {response:?}"
            );
        }
    }

    /// Compatibility with what was offered, with a fallback in play.
    #[test]
    fn client_decisions_with_fallback() {
        use DeflateNegotiationError::*;
        let config = DeflateConfig {
            client_max_window_bits: 12,
            server_max_window_bits: 10,
            server_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        let table = [
            // The preferred offer accepted in full.
            (
                pmd(&[(SNCT, None), (SMWB, Some("10"))]),
                Ok(params(15, 10, false, true)),
            ),
            (
                pmd(&[(SNCT, None), (SMWB, Some("9")), (CMWB, Some("12"))]),
                Ok(params(12, 9, false, true)),
            ),
            // The fallback accepted: the server keeps its 15-bit window.
            (pmd(&[]), Ok(params(15, 15, false, false))),
            (pmd(&[(SMWB, Some("13"))]), Ok(params(15, 13, false, false))),
            // Above our offered client_max_window_bits=12: fits no offer.
            (
                pmd(&[(SNCT, None), (SMWB, Some("10")), (CMWB, Some("13"))]),
                Err(ClientWindowBitsTooLarge {
                    offered: 12,
                    received: 13,
                }),
            ),
            // Fits no offer: the error is the one against the preferred offer.
            (
                pmd(&[(CMWB, Some("13"))]),
                Err(ServerNoContextTakeoverMissing),
            ),
        ];
        for (response, expected) in table {
            assert_eq!(
                config.client_accept(&response),
                expected,
                "response {response:?}"
            );
        }
    }

    /// Checks against a single offer, including ones our config never makes.
    #[test]
    fn response_checks_per_offer() {
        use DeflateNegotiationError::*;
        let parse = |e: ExtensionOffer| Params::parse(&e, Side::Response).unwrap();
        let bare = Params::default();
        let strict = Params {
            server_no_context_takeover: true,
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(Some(11)),
            ..Params::default()
        };
        let table = [
            // §7.1.2.2: client_max_window_bits in a response to an offer without it.
            (
                &bare,
                pmd(&[(CMWB, Some("15"))]),
                Err(ClientWindowBitsNotOffered),
            ),
            (
                &bare,
                pmd(&[(SMWB, Some("15"))]),
                Ok(params(15, 15, false, false)),
            ),
            (
                &strict,
                pmd(&[(SNCT, None), (SMWB, Some("10"))]),
                Ok(params(15, 10, false, true)),
            ),
            (
                &strict,
                pmd(&[(SMWB, Some("10"))]),
                Err(ServerNoContextTakeoverMissing),
            ),
            (
                &strict,
                pmd(&[(SNCT, None)]),
                Err(ServerWindowBitsMissing { offered: 10 }),
            ),
            (
                &strict,
                pmd(&[(SNCT, None), (SMWB, Some("11"))]),
                Err(ServerWindowBitsTooLarge {
                    offered: 10,
                    received: 11,
                }),
            ),
            (
                &strict,
                pmd(&[(SNCT, None), (SMWB, Some("8")), (CMWB, Some("11"))]),
                Ok(params(11, 8, false, true)),
            ),
            (
                &strict,
                pmd(&[(SNCT, None), (SMWB, Some("9")), (CMWB, Some("12"))]),
                Err(ClientWindowBitsTooLarge {
                    offered: 11,
                    received: 12,
                }),
            ),
        ];
        for (offered, response, expected) in table {
            assert_eq!(
                check_response(offered, &parse(response.clone())),
                expected,
                "{response:?}"
            );
        }
    }

    /// Both roles of this module agree with each other for a range of configs.
    #[test]
    fn client_and_server_agree() {
        for cbits in 9..=15 {
            for sbits in 9..=15 {
                for flags in 0..4 {
                    let client = DeflateConfig {
                        client_max_window_bits: cbits,
                        server_max_window_bits: sbits,
                        client_no_context_takeover: flags & 1 != 0,
                        server_no_context_takeover: flags & 2 != 0,
                        ..DeflateConfig::default()
                    };
                    let server = DeflateConfig {
                        client_max_window_bits: 24 - cbits,
                        server_max_window_bits: 24 - sbits,
                        ..DeflateConfig::default()
                    };
                    let (server_params, response) =
                        server.server_accept(&client.client_offers()).unwrap();
                    let client_params = client.client_accept(&response).unwrap();
                    assert_eq!(client_params, server_params);
                    assert_eq!(client_params.client_max_window_bits, cbits.min(24 - cbits));
                    assert_eq!(client_params.server_max_window_bits, sbits.min(24 - sbits));
                }
            }
        }
    }

    #[test]
    fn error_display() {
        let e = DeflateNegotiationError::ServerWindowBitsTooLarge {
            offered: 10,
            received: 12,
        };
        assert_eq!(
            e.to_string(),
            "server_max_window_bits=12 exceeds the offered 10"
        );
    }
}
