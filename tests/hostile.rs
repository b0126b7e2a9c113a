//! Hostile input: every class of attack a peer on the internet can mount,
//! each ending with the documented close code or HTTP status, in bounded
//! memory and bounded time, and never with a panic.
//!
//! Memory is measured by a counting global allocator in this test binary:
//! [`measure`] records the peak of live heap bytes above what was live when
//! it started. Tests that measure take one lock, so the peaks of tests
//! running in parallel never mix. Socket tests use loopback `127.0.0.1:0`
//! only, with read and write timeouts on every socket.

use rfc6455::blocking;
use rfc6455::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use rfc6455::handshake::HandshakeError;
use rfc6455::mask::apply_mask;
use rfc6455::{Config, Connection, Error, FastRng, ProtocolError, Role, Timeout};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

// ----- a counting allocator -----

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counters are plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` and returns its result with the peak heap growth during it.
/// The caller holds [`serial`], so no other measuring test runs meanwhile.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let result = f();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (result, peak)
}

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

// ----- wire helpers -----

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame: `first` is the first header byte; masked with `KEY`.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut header = FrameHeader::parse(&[first, 0]).unwrap().unwrap().0;
    header.payload_len = payload.len() as u64;
    header.mask = Some(KEY);
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    let mut out = head[..n].to_vec();
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], KEY, 0);
    out
}

fn server(config: Config) -> Connection {
    Connection::with_rng(Role::Server, config, Box::new(FastRng::from_seed(1)))
}

/// Feeds `bytes` and polls until the connection wants more input; returns
/// the number of events and the protocol error, if any.
fn feed(conn: &mut Connection, bytes: &[u8]) -> (usize, Option<ProtocolError>) {
    conn.receive(bytes);
    let mut events = 0;
    loop {
        match conn.poll_event() {
            Ok(Some(_)) => events += 1,
            Ok(None) => return (events, None),
            Err(Error::Protocol(e)) => return (events, Some(e)),
            Err(other) => panic!("not a protocol error: {other}"),
        }
    }
}

/// The status code of the close frame that ends `out` (our own output).
fn last_close_code(mut out: &[u8]) -> u16 {
    let mut last = None;
    while let Some((h, n)) = FrameHeader::parse(out).unwrap() {
        let len = h.payload_len as usize;
        let mut payload = out[n..n + len].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        last = Some((h.opcode, payload));
        out = &out[n + len..];
    }
    assert!(out.is_empty(), "a partial frame in our own output");
    let (opcode, payload) = last.expect("a frame was queued");
    assert_eq!(opcode, OpCode::Close, "the last frame is a close");
    u16::from_be_bytes([payload[0], payload[1]])
}

/// Asserts the connection failed with `code` and queued exactly that close.
fn assert_closed_with(conn: &Connection, error: Option<ProtocolError>, code: u16) {
    let error = error.expect("the connection failed");
    assert_eq!(error.close_code().0, code, "{error:?}");
    let output: Vec<u8> = conn.output_chunks().flatten().copied().collect();
    assert_eq!(last_close_code(&output), code);
    assert!(conn.state().is_closed());
}

// ----- real sockets -----

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The adapters whose servers face the socket cases: each case runs
/// against every one, so they reject the same input the same way.
#[derive(Clone, Copy, Debug)]
enum Server {
    Blocking,
    #[cfg(feature = "tokio")]
    Tokio,
}

const SERVERS: &[Server] = &[
    Server::Blocking,
    #[cfg(feature = "tokio")]
    Server::Tokio,
];

/// Accept `stream` as a WebSocket with `config` and read until it fails.
fn read_until_error(server: Server, stream: TcpStream, config: Config) -> Error {
    match server {
        Server::Blocking => {
            match blocking::accept_with(stream, config, |_| Ok(Default::default())) {
                Err(e) => e,
                Ok(mut ws) => loop {
                    if let Err(e) = ws.read() {
                        break e;
                    }
                },
            }
        }
        #[cfg(feature = "tokio")]
        Server::Tokio => tokio_runtime().block_on(async move {
            stream.set_nonblocking(true).unwrap();
            let tcp = tokio::net::TcpStream::from_std(stream).unwrap();
            let accepted = rfc6455::tokio::accept_with(tcp, config, |_| Ok(Default::default()));
            match accepted.await {
                Err(e) => e,
                Ok(mut ws) => loop {
                    if let Err(e) = ws.read().await {
                        break e;
                    }
                },
            }
        }),
    }
}

/// One runtime for every tokio case, built before any measurement so its
/// threads and driver are not counted as the server's memory.
#[cfg(feature = "tokio")]
fn tokio_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Warm up what a server keeps for the life of the process (the tokio
/// runtime and its per-thread read buffer) outside any measurement.
fn warm_up() {
    #[cfg(feature = "tokio")]
    {
        let mut bytes = REQUEST.to_vec();
        bytes.extend_from_slice(&masked(0x88, &[0x03, 0xe8]));
        serve_raw(Server::Tokio, Config::default(), bytes);
    }
}

/// A server of the given adapter on loopback reading until it fails, and a raw client
/// that sends `client_bytes` (from a thread of its own, so a server that
/// stops reading cannot block the test) and reads everything the server
/// says until it closes. Returns the server's error and the client's bytes.
///
/// The server's socket stays open (a clone is kept) until the client has
/// read to the end: a socket closed with unread input answers with a reset,
/// which could discard the response before the client reads it.
fn serve_raw(server: Server, config: Config, client_bytes: Vec<u8>) -> (Error, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let keep = stream.try_clone().unwrap();
        (read_until_error(server, stream, config), keep)
    });
    let client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    client.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut writer = client.try_clone().unwrap();
    let writing = thread::spawn(move || {
        // The server may stop reading (and close) before all is written.
        let _ = writer.write_all(&client_bytes);
    });
    let mut received = Vec::new();
    let mut reader = &client;
    let _ = reader.read_to_end(&mut received);
    let (error, keep) = server.join().unwrap();
    let _ = client.shutdown(Shutdown::Both);
    writing.join().unwrap();
    drop(keep);
    (error, received)
}

/// The close code in the frames after the `101` response.
fn close_code_after_101(received: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(received);
    assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
    let end = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    last_close_code(&received[end..])
}

fn protocol_error(error: Error) -> ProtocolError {
    match error {
        Error::Protocol(e) => e,
        other => panic!("expected a protocol error, got {other}"),
    }
}

// ----- frame headers -----

/// RFC 6455 §5.2: a 64-bit length of 2^63-1 (the largest legal one) must
/// fail with 1009 before a byte of it is buffered, over a real socket.
#[test]
fn header_announcing_2_pow_63_minus_1_bytes() {
    let header = b"\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff";
    header_fails_with_1009(Config::default(), header);
}

/// A length one byte over the frame limit: 1009, nothing buffered.
#[test]
fn header_announcing_more_than_the_limit() {
    let header = b"\x82\xff\x00\x00\x00\x00\x00\x01\x00\x01";
    header_fails_with_1009(Config::default().with_max_size(64 * KIB), header);
}

/// Sends a masked frame header (and a little payload) after the handshake:
/// the server must answer 1009 without allocating for the announced length.
fn header_fails_with_1009(config: Config, header: &[u8]) {
    let _serial = serial();
    warm_up();
    let mut bytes = REQUEST.to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&KEY);
    bytes.extend_from_slice(&[0u8; 64]);
    for &server in SERVERS {
        let config = config.clone();
        let bytes = bytes.clone();
        let ((error, received), peak) = measure(|| serve_raw(server, config, bytes));
        assert_eq!(protocol_error(error), ProtocolError::FrameTooLarge);
        assert_eq!(close_code_after_101(&received), 1009, "{server:?}");
        assert!(peak < MIB, "{server:?}: peak {peak} bytes");
    }
}

/// RFC 6455 §5.1: a server must fail a client frame that is not masked.
#[test]
fn unmasked_client_frame_is_1002() {
    let _serial = serial();
    let mut bytes = REQUEST.to_vec();
    bytes.extend_from_slice(b"\x81\x05Hello");
    for &server in SERVERS {
        let (error, received) = serve_raw(server, Config::default(), bytes.clone());
        assert_eq!(protocol_error(error), ProtocolError::UnmaskedFrame);
        assert_eq!(close_code_after_101(&received), 1002, "{server:?}");
    }
}

// ----- fragments -----

/// 100,000 one-byte fragments: within the limit the message arrives whole,
/// in memory proportional to it; under a smaller limit, 1009.
#[test]
fn one_hundred_thousand_one_byte_fragments() {
    let _serial = serial();
    const N: usize = 100_000;
    let mut wire = masked(0x02, b"x");
    for _ in 1..N - 1 {
        wire.extend_from_slice(&masked(0x00, b"x"));
    }
    wire.extend_from_slice(&masked(0x80, b"x"));

    let mut conn = server(Config::default().with_max_size(MIB));
    let start = Instant::now();
    let ((events, error), peak) = measure(|| feed(&mut conn, &wire));
    assert_eq!((events, error), (1, None));
    // The input buffer holds the wire bytes once (700 KB); the message
    // buffer grows to 100 KB: no per-fragment overhead.
    assert!(peak < 2 * MIB, "peak {peak} bytes");
    // The allocator does count: the message itself is 100,000 bytes.
    assert!(peak >= N, "peak {peak} bytes");
    assert!(start.elapsed() < Duration::from_secs(10));

    let mut conn = server(Config::default().with_max_size(50_000));
    let (_, error) = feed(&mut conn, &wire);
    assert_closed_with(&conn, error, 1009);
}

/// A fragmented message that never ends: continuation after continuation,
/// fed as a peer would send them. The message limit ends it with 1009
/// after at most the limit's worth of payload was buffered.
#[test]
fn fragmented_message_that_never_ends() {
    let _serial = serial();
    let limit = 256 * KIB;
    let mut conn = server(Config::default().with_max_size(limit));
    let first = masked(0x02, &[b'a'; 1024]);
    let more = masked(0x00, &[b'a'; 1024]);
    let (error, peak) = measure(|| {
        let (_, error) = feed(&mut conn, &first);
        assert_eq!(error, None);
        // Without a limit this would go on forever; stop well past it.
        for _ in 0..10 * (limit / 1024) {
            if let (_, Some(e)) = feed(&mut conn, &more) {
                return Some(e);
            }
        }
        None
    });
    assert_closed_with(&conn, error, 1009);
    assert!(peak < 2 * limit, "peak {peak} bytes");
}

// ----- control frames -----

/// A peer flooding pings and never reading: RFC 6455 §5.5.3 lets us answer
/// only the latest, so pending output stays one pong long however many
/// pings arrive.
#[test]
fn ping_flood_without_reads() {
    let _serial = serial();
    let ping = masked(0x89, &[b'p'; 125]);
    let mut conn = server(Config::default());
    let (pings, peak) = measure(|| {
        let mut pings = 0;
        for _ in 0..100_000 {
            let (events, error) = feed(&mut conn, &ping);
            assert_eq!(error, None);
            pings += events;
            // One unmasked pong of 125 bytes, never more.
            assert!(conn.output_len() <= 2 + 125);
        }
        pings
    });
    assert_eq!(pings, 100_000);
    assert!(peak < 64 * KIB, "peak {peak} bytes");
}

// ----- permessage-deflate -----

/// A compression bomb: 16 MiB of zeros in a few KiB. Inflating stops at the
/// message limit with 1009, having allocated about the limit.
#[cfg(feature = "deflate")]
#[test]
fn compression_bomb() {
    use rfc6455::deflate::{Deflate, DeflateConfig, DeflateParams};
    let _serial = serial();
    let params = DeflateParams::default();
    let mut bomb = Vec::new();
    Deflate::new(&params, &DeflateConfig::default(), true)
        .compress(&vec![0u8; 16 * MIB], &mut bomb);
    assert!(bomb.len() < 64 * KIB, "{} bytes", bomb.len());
    let wire = masked(0xc2, &bomb); // FIN + RSV1 + binary

    let limit = MIB;
    let mut conn = server(Config::default().with_max_size(limit));
    conn.set_deflate(&params);
    let ((_, error), peak) = measure(|| feed(&mut conn, &wire));
    assert_closed_with(&conn, error, 1009);
    // The limit plus the inflater's window and state, far from 16 MiB.
    assert!(peak < limit + MIB, "peak {peak} bytes");
}

/// The same bomb after the connection released its inflater while idle
/// (`shrink_buffers`) and restored it from the saved window: still 1009,
/// still bounded.
#[cfg(feature = "deflate")]
#[test]
fn compression_bomb_after_idle_release() {
    use rfc6455::deflate::{Deflate, DeflateConfig, DeflateParams};
    let _serial = serial();
    let params = DeflateParams::default();
    let mut peer = Deflate::new(&params, &DeflateConfig::default(), true);
    let mut hello = Vec::new();
    peer.compress(
        b"{\"type\":\"hello\",\"text\":\"hello hello hello\"}",
        &mut hello,
    );
    let mut bomb = Vec::new();
    peer.compress(&vec![0u8; 16 * MIB], &mut bomb);

    let limit = MIB;
    let mut conn = server(Config::default().with_max_size(limit));
    conn.set_deflate(&params);
    let (events, error) = feed(&mut conn, &masked(0xc1, &hello));
    assert_eq!((events, error), (1, None));
    conn.shrink_buffers();
    let ((_, error), peak) = measure(|| feed(&mut conn, &masked(0xc2, &bomb)));
    assert_closed_with(&conn, error, 1009);
    assert!(peak < limit + MIB, "peak {peak} bytes");
}

// ----- UTF-8 -----

/// RFC 6455 §8.1: invalid UTF-8 in a text message fails with 1007, in every
/// position class, whether the bytes arrive at once or one by one.
#[test]
fn invalid_utf8_in_each_position_class() {
    let _serial = serial();
    let cases: &[(&str, Vec<u8>)] = &[
        ("first byte", masked(0x81, b"\xffabc")),
        ("lone continuation", masked(0x81, b"ab\x80c")),
        ("bad continuation", masked(0x81, b"a\xc3\x28")),
        ("truncated at end of message", masked(0x81, b"ok\xe2\x82")),
        ("overlong", masked(0x81, b"\xc0\xaf")),
        ("overlong three-byte", masked(0x81, b"\xe0\x80\xaf")),
        ("surrogate", masked(0x81, b"\xed\xa0\x80")),
        ("above U+10FFFF", masked(0x81, b"\xf4\x90\x80\x80")),
        ("split across fragments", {
            let mut w = masked(0x01, b"\xe2\x82");
            w.extend_from_slice(&masked(0x80, b"\x28"));
            w
        }),
        ("truncated across fragments", {
            let mut w = masked(0x01, b"ok\xf0\x9f");
            w.extend_from_slice(&masked(0x80, b"\x98"));
            w
        }),
        ("close reason", masked(0x88, b"\x03\xe8\xff")),
    ];
    for (name, wire) in cases {
        for one_by_one in [false, true] {
            let mut conn = server(Config::default());
            let ((events, error), peak) = measure(|| {
                if one_by_one {
                    let mut error = None;
                    for b in wire {
                        if let (_, Some(e)) = feed(&mut conn, std::slice::from_ref(b)) {
                            error = Some(e);
                            break;
                        }
                    }
                    (0, error)
                } else {
                    feed(&mut conn, wire)
                }
            });
            assert_eq!(events, 0, "{name}");
            assert_eq!(error, Some(ProtocolError::InvalidUtf8), "{name}");
            assert_closed_with(&conn, error, 1007);
            assert!(peak < 64 * KIB, "{name}: peak {peak} bytes");
        }
    }
    // The control: a code point split across fragments is valid.
    let mut conn = server(Config::default());
    let mut wire = masked(0x01, "€".as_bytes().get(..2).unwrap());
    wire.extend_from_slice(&masked(0x80, &"€".as_bytes()[2..]));
    assert_eq!(feed(&mut conn, &wire), (1, None));
}

// ----- the opening handshake -----

/// 1 MiB of header lines: the server stops reading at its 16 KiB header
/// limit and answers 431, without buffering the rest.
#[test]
fn one_mebibyte_of_header_lines_is_431() {
    let _serial = serial();
    let mut bytes = b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_vec();
    let mut i = 0;
    while bytes.len() < MIB {
        bytes.extend_from_slice(format!("X-Padding-{i}: {}\r\n", "a".repeat(100)).as_bytes());
        i += 1;
    }
    warm_up();
    for &server in SERVERS {
        let sent = bytes.clone();
        let ((error, received), peak) = measure(|| serve_raw(server, Config::default(), sent));
        match error {
            Error::Handshake(e) => {
                assert!(
                    matches!(
                        e,
                        HandshakeError::HeaderTooLarge | HandshakeError::TooManyHeaders
                    ),
                    "{e}"
                );
                assert_eq!(e.http_status(), Some(431));
            }
            other => panic!("{server:?}: expected a handshake error, got {other}"),
        }
        let text = String::from_utf8_lossy(&received);
        assert!(text.starts_with("HTTP/1.1 431 "), "{server:?}: {text}");
        // The 1 MiB request was allocated before measuring; the server's
        // buffers stay near the 16 KiB limit plus one 4 KiB read.
        assert!(peak < 256 * KIB, "{server:?}: peak {peak} bytes");
    }
}

/// Slowloris: a handshake trickling in one byte per 100 ms. The blocking
/// adapter has no handshake deadline of its own; the socket's read timeout,
/// set before `accept`, ends the wait with an I/O timeout error.
///
/// The timeout bounds each read, not the whole handshake: a peer sending a
/// byte faster than the timeout keeps the server waiting until the 16 KiB
/// header limit (431). A timeout shorter than the trickle interval, as
/// here, is what ends it promptly.
#[test]
fn slowloris_handshake_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let trickle = thread::spawn(move || {
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        for b in REQUEST.iter().take(30) {
            if client.write_all(std::slice::from_ref(b)).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let (stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let start = Instant::now();
    let result = blocking::accept(stream);
    let elapsed = start.elapsed();
    match result {
        Err(e) => assert!(matches!(&e, Error::Io(_)) && e.is_timeout(), "{e}"),
        Ok(_) => panic!("a trickled handshake was accepted"),
    }
    assert!(
        elapsed < Duration::from_secs(2),
        "gave up after {elapsed:?}"
    );
    trickle.join().unwrap();
}

/// Slowloris against the handshake deadline: one byte every 100 ms (faster
/// than any per-read timeout would catch) still ends at
/// `blocking::HANDSHAKE_TIMEOUT`, with the server's thread released.
#[test]
fn trickled_handshake_ends_at_the_handshake_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let trickle = thread::spawn(move || {
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let deadline = Instant::now() + blocking::HANDSHAKE_TIMEOUT + Duration::from_secs(3);
        for b in REQUEST.iter().cycle() {
            if Instant::now() > deadline || client.write_all(std::slice::from_ref(b)).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let (stream, _) = listener.accept().unwrap();
    let start = Instant::now();
    let result = blocking::accept(stream);
    let elapsed = start.elapsed();
    match result {
        Err(Error::Timeout(Timeout::Handshake)) => {}
        Err(other) => panic!("expected the handshake deadline, got {other}"),
        Ok(_) => panic!("a trickled handshake was accepted"),
    }
    assert!(elapsed >= blocking::HANDSHAKE_TIMEOUT, "{elapsed:?}");
    assert!(
        elapsed < blocking::HANDSHAKE_TIMEOUT + Duration::from_secs(3),
        "{elapsed:?}"
    );
    trickle.join().unwrap();
}
