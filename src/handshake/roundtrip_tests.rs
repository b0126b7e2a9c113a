//! Property tests: our client and our server always agree, whatever the
//! URL, offers, and however the bytes are split in transit.

use super::*;
use crate::rng::FastRng;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use proptest::prelude::*;

/// Feeds `bytes` in pieces ending at each of `splits` (taken modulo the
/// length), as a reader accumulating a buffer would, and returns the first
/// outcome that is not `Partial`.
fn feed<T>(
    bytes: &[u8],
    splits: &[usize],
    mut parse: impl FnMut(&[u8]) -> Result<Status<T>, HandshakeError>,
) -> Result<T, HandshakeError> {
    let mut ends: Vec<usize> = splits.iter().map(|s| s % bytes.len()).collect();
    ends.sort_unstable();
    ends.push(bytes.len());
    let mut buf = Vec::new();
    let mut start = 0;
    for end in ends {
        buf.extend_from_slice(&bytes[start..end.max(start)]);
        start = end.max(start);
        if let Status::Complete(value) = parse(&buf)? {
            return Ok(value);
        }
    }
    panic!("all {} bytes fed, still partial", bytes.len());
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,20}(\\.[a-z][a-z0-9-]{0,10}){0,3}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        "\\[[0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,3}::[0-9a-f]{0,4}\\]",
    ]
}

fn url() -> impl Strategy<Value = String> {
    (
        prop::bool::ANY,
        host(),
        prop::option::of(1u16..),
        "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}){0,4}",
        prop::option::of("[A-Za-z0-9=&/?%-]{0,20}"),
    )
        .prop_map(|(secure, host, port, path, query)| {
            let scheme = if secure { "wss" } else { "ws" };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("{scheme}://{host}{port}{path}{query}")
        })
}

fn protocols() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}", 0..5)
}

proptest! {
    #[test]
    fn client_request_is_accepted_by_server(
        url in url(),
        protocols in protocols(),
        seed in any::<u64>(),
        splits in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let url = WsUrl::parse(&url).unwrap();
        let options = ClientOptions { protocols: protocols.clone(), ..ClientOptions::default() };
        let client = ClientHandshake::new(&url, options, &mut FastRng::from_seed(seed));
        let sent = client.request();
        let (request, consumed) =
            feed(sent, &splits, |b| Request::parse(b, &ServerOptions::default())).unwrap();
        prop_assert_eq!(consumed, sent.len());
        prop_assert_eq!(&request.path, &url.path_and_query);
        let host = url.host_header();
        prop_assert_eq!(request.header("host"), Some(host.as_str()));
        prop_assert_eq!(request.key(), client.key());
        prop_assert_eq!(&request.protocols, &protocols);
    }

    #[test]
    fn server_accept_is_accepted_by_client(
        url in url(),
        protocols in protocols(),
        pick in any::<prop::sample::Index>(),
        seed in any::<u64>(),
        splits in prop::collection::vec(any::<usize>(), 0..6),
        trailer in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let url = WsUrl::parse(&url).unwrap();
        let options = ClientOptions { protocols: protocols.clone(), ..ClientOptions::default() };
        let client = ClientHandshake::new(&url, options, &mut FastRng::from_seed(seed));
        let Ok(Status::Complete((request, _))) =
            Request::parse(client.request(), &ServerOptions::default())
        else {
            panic!("request refused");
        };
        let chosen = (!request.protocols.is_empty())
            .then(|| pick.get(&request.protocols).clone());
        let accept = AcceptOptions { protocol: chosen.clone(), ..AcceptOptions::default() };
        let mut sent = request.accept(&accept);
        let header_len = sent.len();
        sent.extend_from_slice(&trailer);
        let (response, consumed) = feed(&sent, &splits, |b| client.parse_response(b)).unwrap();
        prop_assert_eq!(consumed, header_len);
        prop_assert_eq!(response.protocol, chosen);
    }
}
