//! The close-on-request hook of the echo servers the interop tests drive:
//! a request with `?close=CODE&reason=TEXT` is closed with that code and
//! reason right after its first echo.

use rfc6455::{CloseCode, Request};

/// The close asked for in the query (`?close=4002&reason=bye`), if the code
/// is one that may be sent and the reason needs no decoding.
pub fn requested_close(request: &Request) -> Option<(CloseCode, String)> {
    let mut code = None;
    let mut reason = String::new();
    for pair in request.query()?.split('&') {
        match pair.split_once('=') {
            Some(("close", value)) => code = value.parse::<u16>().ok().map(CloseCode),
            Some(("reason", value)) => reason = value.into(),
            _ => {}
        }
    }
    let plain = reason
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    code.filter(|c| c.is_valid_on_wire() && plain)
        .map(|c| (c, reason))
}
