//! The SOCKS5 exchange (RFC 1928, with RFC 1929 username/password
//! authentication), sans-IO.
//!
//! Three round trips at most, each sent only once the previous reply is in
//! (some proxies drop a connection that sends ahead):
//! the method greeting, the username/password sub-negotiation if the proxy
//! picks it, and the `CONNECT` request. Bytes after the final reply belong
//! to the server.

use super::ProxyErrorKind;
use crate::handshake::Status;
use alloc::string::String;
use alloc::vec::Vec;

/// RFC 1928 §3: the protocol version byte.
const VERSION: u8 = 0x05;
/// RFC 1928 §3: the authentication methods used here.
const NO_AUTH: u8 = 0x00;
const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xFF;
/// RFC 1928 §4: the CONNECT command and the address types.
const CMD_CONNECT: u8 = 0x01;
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;
/// RFC 1929 §2: the sub-negotiation's version byte.
const AUTH_VERSION: u8 = 0x01;

/// The server's address as sent to the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocksAddr {
    /// An IPv4 address, resolved by the client (`socks5://`).
    Ipv4([u8; 4]),
    /// An IPv6 address, resolved by the client.
    Ipv6([u8; 16]),
    /// A name for the proxy to resolve (`socks5h://`).
    Domain(String),
}

#[cfg(feature = "std")]
impl From<std::net::IpAddr> for SocksAddr {
    fn from(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V4(v4) => SocksAddr::Ipv4(v4.octets()),
            std::net::IpAddr::V6(v6) => SocksAddr::Ipv6(v6.octets()),
        }
    }
}

/// Where the exchange is: which reply is awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The method selection (RFC 1928 §3).
    Method,
    /// The username/password verdict (RFC 1929 §2).
    Auth,
    /// The reply to CONNECT (RFC 1928 §6).
    Reply,
    /// The tunnel is up.
    Done,
}

/// A SOCKS5 exchange in flight.
#[derive(Debug, Clone)]
pub struct Socks5 {
    step: Step,
    output: Vec<u8>,
    sent: usize,
    received: Vec<u8>,
    /// The RFC 1929 request, kept until the proxy asks for it.
    auth: Option<Vec<u8>>,
    /// The CONNECT request, kept until authentication is done.
    connect: Vec<u8>,
}

impl Socks5 {
    /// An exchange asking the proxy for a connection to `addr:port`,
    /// offering username/password authentication when `credentials` are
    /// given (and "no authentication" either way).
    pub fn new(
        addr: &SocksAddr,
        port: u16,
        credentials: Option<(&str, &str)>,
    ) -> Result<Self, ProxyErrorKind> {
        let auth = credentials.map(auth_request).transpose()?;
        // RFC 1928 §3: VER, NMETHODS, METHODS.
        let output = match auth {
            Some(_) => alloc::vec![VERSION, 2, NO_AUTH, USER_PASS],
            None => alloc::vec![VERSION, 1, NO_AUTH],
        };
        Ok(Socks5 {
            step: Step::Method,
            output,
            sent: 0,
            received: Vec::new(),
            auth,
            connect: connect_request(addr, port)?,
        })
    }

    /// Bytes to send now.
    pub fn output(&self) -> &[u8] {
        &self.output[self.sent..]
    }

    /// `n` bytes of [`output`](Self::output) were sent.
    pub fn advance_output(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.output.len());
    }

    /// Hand in reply bytes. `Partial`: more replies are awaited (check
    /// [`output`](Self::output), the next request may be due).
    /// `Complete(leftover)`: the tunnel is up.
    pub fn receive(&mut self, data: &[u8]) -> Result<Status<Vec<u8>>, ProxyErrorKind> {
        // Replies are taken off as soon as they are whole, so the buffer
        // holds one partial reply (at most 262 bytes) plus this call's data.
        self.received.extend_from_slice(data);
        loop {
            let needed = match self.step {
                Step::Method | Step::Auth => 2,
                Step::Reply => match reply_len(&self.received)? {
                    Some(n) => n,
                    None => return Ok(Status::Partial),
                },
                Step::Done => return Ok(Status::Complete(core::mem::take(&mut self.received))),
            };
            if self.received.len() < needed {
                return Ok(Status::Partial);
            }
            let rest = self.received.split_off(needed);
            let reply = core::mem::replace(&mut self.received, rest);
            self.step = self.on_reply(&reply)?;
        }
    }

    /// Acts on one whole reply and says what comes next.
    fn on_reply(&mut self, reply: &[u8]) -> Result<Step, ProxyErrorKind> {
        match self.step {
            Step::Method => {
                if reply[0] != VERSION {
                    return Err(ProxyErrorKind::MalformedReply("not a SOCKS5 reply"));
                }
                match (reply[1], self.auth.take()) {
                    (NO_AUTH, _) => Ok(self.queue_connect()),
                    (USER_PASS, Some(auth)) => {
                        self.queue(&auth);
                        Ok(Step::Auth)
                    }
                    // RFC 1928 §3: X'FF' means "no acceptable methods",
                    // and the client MUST close the connection.
                    (NO_ACCEPTABLE, _) => Err(ProxyErrorKind::NoAcceptableAuth),
                    _ => Err(ProxyErrorKind::MalformedReply(
                        "a method that was not offered",
                    )),
                }
            }
            Step::Auth => {
                // RFC 1929 §2: STATUS X'00' is success; anything else means
                // the client MUST close. The version byte is not checked:
                // some servers answer it with 5.
                if reply[1] != 0 {
                    return Err(ProxyErrorKind::AuthFailed);
                }
                Ok(self.queue_connect())
            }
            Step::Reply => {
                // RFC 1928 §6: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT;
                // the bound address is of no use to a client that connects.
                match reply[1] {
                    0x00 => Ok(Step::Done),
                    code => Err(ProxyErrorKind::SocksReply(code)),
                }
            }
            Step::Done => Ok(Step::Done),
        }
    }

    fn queue_connect(&mut self) -> Step {
        let connect = core::mem::take(&mut self.connect);
        self.queue(&connect);
        Step::Reply
    }

    fn queue(&mut self, bytes: &[u8]) {
        self.output.drain(..self.sent);
        self.sent = 0;
        self.output.extend_from_slice(bytes);
    }
}

/// The length of a CONNECT reply, once enough of it is in to tell;
/// a failure code is reported as soon as it is in (the proxy may close
/// right after it).
fn reply_len(received: &[u8]) -> Result<Option<usize>, ProxyErrorKind> {
    if received.len() < 2 {
        return Ok(None);
    }
    if received[0] != VERSION {
        return Err(ProxyErrorKind::MalformedReply("not a SOCKS5 reply"));
    }
    if received[1] != 0 {
        return Err(ProxyErrorKind::SocksReply(received[1]));
    }
    let Some(&atyp) = received.get(3) else {
        return Ok(None);
    };
    // Header (4) + address + port (2).
    match atyp {
        ATYP_IPV4 => Ok(Some(4 + 4 + 2)),
        ATYP_IPV6 => Ok(Some(4 + 16 + 2)),
        ATYP_DOMAIN => Ok(received.get(4).map(|&len| 4 + 1 + len as usize + 2)),
        _ => Err(ProxyErrorKind::MalformedReply("unknown address type")),
    }
}

/// RFC 1929 §2: VER, ULEN, UNAME, PLEN, PASSWD.
fn auth_request((user, password): (&str, &str)) -> Result<Vec<u8>, ProxyErrorKind> {
    let ulen = u8::try_from(user.len()).map_err(|_| ProxyErrorKind::TooLong("SOCKS5 username"))?;
    let plen =
        u8::try_from(password.len()).map_err(|_| ProxyErrorKind::TooLong("SOCKS5 password"))?;
    let mut out = Vec::with_capacity(3 + user.len() + password.len());
    out.extend_from_slice(&[AUTH_VERSION, ulen]);
    out.extend_from_slice(user.as_bytes());
    out.push(plen);
    out.extend_from_slice(password.as_bytes());
    Ok(out)
}

/// RFC 1928 §4: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT (network order).
fn connect_request(addr: &SocksAddr, port: u16) -> Result<Vec<u8>, ProxyErrorKind> {
    let mut out = alloc::vec![VERSION, CMD_CONNECT, 0x00];
    match addr {
        SocksAddr::Ipv4(ip) => {
            out.push(ATYP_IPV4);
            out.extend_from_slice(ip);
        }
        SocksAddr::Ipv6(ip) => {
            out.push(ATYP_IPV6);
            out.extend_from_slice(ip);
        }
        SocksAddr::Domain(name) => {
            // RFC 1928 §5: the first octet is the name's length.
            let len = u8::try_from(name.len()).map_err(|_| ProxyErrorKind::TooLong("host name"))?;
            out.extend_from_slice(&[ATYP_DOMAIN, len]);
            out.extend_from_slice(name.as_bytes());
        }
    }
    out.extend_from_slice(&port.to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{feed, splits};
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    const LOCAL: SocksAddr = SocksAddr::Ipv4([127, 0, 0, 1]);
    /// A success reply bound to 10.0.0.1:4660.
    const SUCCESS_V4: &[u8] = b"\x05\x00\x00\x01\x0a\x00\x00\x01\x12\x34";

    /// Sends what is due, checks it is `expected`, then feeds `reply` in
    /// the given pieces; returns the last outcome.
    fn step(
        s: &mut Socks5,
        expected: &[u8],
        pieces: &[&[u8]],
    ) -> Result<Status<Vec<u8>>, ProxyErrorKind> {
        assert_eq!(s.output(), expected);
        let n = s.output().len();
        s.advance_output(n);
        feed(|piece| s.receive(piece), pieces)
    }

    #[test]
    fn no_auth_ipv4_split_anywhere_with_leftovers() {
        let mut reply = SUCCESS_V4.to_vec();
        reply.extend_from_slice(b"HTTP/1.1 101");
        for pieces in splits(&reply) {
            let mut s = Socks5::new(&LOCAL, 9001, None).unwrap();
            assert_eq!(
                step(&mut s, b"\x05\x01\x00", &[b"\x05"]).unwrap(),
                Status::Partial
            );
            let connect = b"\x05\x01\x00\x01\x7f\x00\x00\x01\x23\x29";
            let Ok(Status::Partial) = step(&mut s, b"", &[b"\x00"]) else {
                panic!("method reply");
            };
            let outcome = step(&mut s, connect, &pieces).unwrap();
            assert_eq!(outcome, Status::Complete(b"HTTP/1.1 101".to_vec()));
        }
    }

    #[test]
    fn method_reply_and_connect_reply_in_one_read() {
        // A proxy that answers ahead: both replies and a leftover at once.
        let mut s = Socks5::new(&LOCAL, 80, None).unwrap();
        let mut wire = b"\x05\x00".to_vec();
        wire.extend_from_slice(SUCCESS_V4);
        wire.push(b'x');
        let outcome = step(&mut s, b"\x05\x01\x00", &[&wire]).unwrap();
        assert_eq!(outcome, Status::Complete(b"x".to_vec()));
        // The CONNECT request is still queued for sending.
        assert_eq!(s.output(), b"\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50");
    }

    #[test]
    fn username_password_then_domain() {
        let domain = SocksAddr::Domain("example.com".into());
        for pieces in splits(b"\x05\x00\x00\x03\x04host\x00\x50") {
            let mut s = Socks5::new(&domain, 443, Some(("user", "pw"))).unwrap();
            let greeting = b"\x05\x02\x00\x02";
            assert_eq!(
                step(&mut s, greeting, &[b"\x05\x02"]).unwrap(),
                Status::Partial
            );
            let auth = b"\x01\x04user\x02pw";
            assert_eq!(step(&mut s, auth, &[b"\x01\x00"]).unwrap(), Status::Partial);
            let connect = b"\x05\x01\x00\x03\x0bexample.com\x01\xbb";
            let outcome = step(&mut s, connect, &pieces).unwrap();
            assert_eq!(outcome, Status::Complete(Vec::new()));
        }
    }

    #[test]
    fn ipv6_target_and_reply() {
        let mut ip = [0u8; 16];
        ip[15] = 1;
        let mut s = Socks5::new(&SocksAddr::Ipv6(ip), 8080, None).unwrap();
        step(&mut s, b"\x05\x01\x00", &[b"\x05\x00"]).unwrap();
        let mut connect = b"\x05\x01\x00\x04".to_vec();
        connect.extend_from_slice(&ip);
        connect.extend_from_slice(b"\x1f\x90");
        let mut reply = b"\x05\x00\x00\x04".to_vec();
        reply.extend_from_slice(&[0; 18]);
        for pieces in splits(&reply) {
            let mut s = s.clone();
            assert_eq!(
                step(&mut s, &connect, &pieces).unwrap(),
                Status::Complete(vec![])
            );
        }
    }

    #[test]
    fn with_credentials_a_no_auth_proxy_skips_the_sub_negotiation() {
        let mut s = Socks5::new(&LOCAL, 1, Some(("u", "p"))).unwrap();
        step(&mut s, b"\x05\x02\x00\x02", &[b"\x05\x00"]).unwrap();
        assert_eq!(s.output(), b"\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x01");
    }

    #[test]
    fn refusals_and_failures() {
        let fresh = || Socks5::new(&LOCAL, 1, None).unwrap();
        let err = |mut s: Socks5, reply: &[u8]| match s.receive(reply) {
            Err(e) => e.to_string(),
            Ok(status) => panic!("{status:?}"),
        };
        // RFC 1928 §3: no acceptable method.
        assert_eq!(
            err(fresh(), b"\x05\xff"),
            ProxyErrorKind::NoAcceptableAuth.to_string()
        );
        // Username/password chosen though not offered.
        assert!(err(fresh(), b"\x05\x02").contains("not offered"));
        // A SOCKS4 or HTTP server.
        assert!(err(fresh(), b"\x00\x5a").contains("not a SOCKS5 reply"));
        assert!(err(fresh(), b"HTTP/1.1 400").contains("not a SOCKS5 reply"));
        // RFC 1929: a refused password.
        let mut s = Socks5::new(&LOCAL, 1, Some(("u", "p"))).unwrap();
        s.receive(b"\x05\x02").unwrap();
        assert_eq!(err(s, b"\x01\x01"), "username/password refused");
        // RFC 1928 §6: every reply code is named, and reported as soon as
        // it is in.
        for (code, reason) in [
            (1, "general SOCKS server failure"),
            (2, "connection not allowed by ruleset"),
            (3, "network unreachable"),
            (4, "host unreachable"),
            (5, "connection refused"),
            (6, "TTL expired"),
            (7, "command not supported"),
            (8, "address type not supported"),
            (9, "unassigned reply code"),
            (0xff, "unassigned reply code"),
        ] {
            let mut s = fresh();
            s.receive(b"\x05\x00").unwrap();
            let message = err(s, &[5, code]);
            assert_eq!(
                message,
                alloc::format!("SOCKS5 reply {code:#04x}: {reason}")
            );
        }
        let mut s = fresh();
        s.receive(b"\x05\x00").unwrap();
        assert!(err(s, b"\x05\x00\x00\x07").contains("unknown address type"));
    }

    #[test]
    fn lengths_over_255_are_refused_up_front() {
        let long = "a".repeat(256);
        let max = "a".repeat(255);
        assert!(Socks5::new(&LOCAL, 1, Some((&long, "p"))).is_err());
        assert!(Socks5::new(&LOCAL, 1, Some(("u", &long))).is_err());
        assert!(Socks5::new(&SocksAddr::Domain(long.clone()), 1, None).is_err());
        assert!(Socks5::new(&SocksAddr::Domain(max.clone()), 1, Some((&max, &max))).is_ok());
    }
}
