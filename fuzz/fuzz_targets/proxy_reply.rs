//! The client's side of a proxy exchange (HTTP `CONNECT` or SOCKS5) on
//! arbitrary replies in arbitrary reads.
//!
//! Input: `flags, split seed (4), max read`, then the proxy's bytes.
//! flags: bit 0 SOCKS5 (else HTTP), bit 1 credentials in the proxy URL,
//! bit 2 a domain target (else IPv4).
//!
//! Invariants: pieces end exactly as one read (the same tunnel with the
//! same leftover, once the reads after the completing one are added; the
//! same error, a refusal with what of its body had arrived); nothing
//! panics; an HTTP reply never buffers past its limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::handshake::{RejectedResponse, Status};
use rfc6455::proxy::{ProxyErrorKind, ProxyUrl, SocksAddr, Tunnel, MAX_REPLY};
use rfc6455_fuzz::{split, Input};

fn tunnel(flags: u8) -> Tunnel {
    let scheme = if flags & 1 != 0 { "socks5h" } else { "http" };
    let credentials = if flags & 2 != 0 { "user:pass@" } else { "" };
    let proxy = ProxyUrl::parse(&format!("{scheme}://{credentials}proxy:1080")).unwrap();
    let addr = if flags & 4 != 0 {
        SocksAddr::Domain("server.example".into())
    } else {
        SocksAddr::Ipv4([10, 0, 0, 1])
    };
    Tunnel::new(&proxy, "server.example", &addr, 443).unwrap()
}

/// Feeds `pieces` as the proxy's reads, sending whatever is due before
/// each; the outcome, with the reads after a completing one appended to
/// its leftover (what the caller reads next).
fn run(flags: u8, pieces: &[&[u8]]) -> Result<Status<Vec<u8>>, ProxyErrorKind> {
    let mut tunnel = tunnel(flags);
    let mut outcome = Ok(Status::Partial);
    for (i, piece) in pieces.iter().enumerate() {
        let n = tunnel.output().len();
        tunnel.advance_output(n);
        outcome = tunnel.receive(piece);
        if let Ok(Status::Complete(leftover)) = &mut outcome {
            leftover.extend(pieces[i + 1..].concat());
        }
        if !matches!(outcome, Ok(Status::Partial)) {
            break;
        }
    }
    outcome
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.byte();
    let (seed, max_chunk) = (input.u32(), input.byte());
    let bytes = input.rest();

    let whole = run(flags, &[bytes]);
    let pieces = run(flags, &split(bytes, seed, max_chunk));
    match (&whole, &pieces) {
        (Ok(Status::Partial), Ok(Status::Partial)) => {
            assert!(flags & 1 != 0 || bytes.len() <= MAX_REPLY, "partial past the limit");
        }
        (Ok(Status::Complete(a)), Ok(Status::Complete(b))) => assert_eq!(a, b),
        (Err(ProxyErrorKind::Refused(a)), Err(ProxyErrorKind::Refused(b))) => {
            assert!(!(200..300).contains(&a.status));
            assert_eq!((a.status, &a.reason, &a.headers), (b.status, &b.reason, &b.headers));
            assert!(a.body.len() <= RejectedResponse::MAX_BODY);
            assert!(a.body.starts_with(&b.body), "body is what had arrived");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        other => panic!("one read and pieces disagree: {other:?}"),
    }
});
