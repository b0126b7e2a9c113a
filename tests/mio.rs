//! The mio adapter over loopback: one server thread, many peers.
//!
//! Every test binds 127.0.0.1:0, bounds each client read with a timeout,
//! and joins its server thread with a deadline.
#![cfg(feature = "mio")]

mod common;

use common::mio_loop::run;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use rfc6455::blocking;
use rfc6455::mio::{Options, SendError, SocketEvent, Timeouts, Timers, WebSocket};
use rfc6455::{ClientOptions, CloseCode, Config, Connection, Error, Message, Role};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX);
const BOUND: Duration = Duration::from_secs(10);

/// What the server thread reports to the test.
#[derive(Default)]
struct Stats {
    stop: AtomicBool,
    live: AtomicUsize,
    opened: AtomicUsize,
    /// Readiness events for connection tokens.
    wakeups: AtomicUsize,
    /// `send` calls refused with `Full`.
    full: AtomicUsize,
    max_pending: AtomicUsize,
    expired: AtomicUsize,
}

struct Peer {
    ws: WebSocket,
    /// Echoes refused while full, sent first when there is room.
    backlog: VecDeque<Message>,
    /// A `flood N SIZE` request: messages sent so far, and how many.
    flood: (u32, u32, usize),
}

/// An echo server on its own thread. Text `flood N SIZE` makes it send N
/// binary messages of SIZE bytes, each starting with its index.
struct Server {
    addr: SocketAddr,
    stats: Arc<Stats>,
    waker: Arc<Waker>,
    done: mpsc::Receiver<()>,
}

impl Server {
    fn start(options: Options) -> Server {
        let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).unwrap());
        let stats = Arc::new(Stats::default());
        let (tx, done) = mpsc::channel();
        let shared = stats.clone();
        thread::spawn(move || {
            serve(poll, listener, options, &shared);
            let _ = tx.send(());
        });
        Server {
            addr,
            stats,
            waker,
            done,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Close every connection with 1001 and wait for the loop to end.
    fn shutdown(&self) {
        self.stats.stop.store(true, SeqCst);
        self.waker.wake().unwrap();
        self.done
            .recv_timeout(BOUND)
            .expect("server shut down in time");
    }

    fn wait_until(&self, what: &str, check: impl Fn(&Stats) -> bool) {
        let start = Instant::now();
        while !check(&self.stats) {
            assert!(start.elapsed() < BOUND, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn serve(mut poll: Poll, listener: TcpListener, options: Options, stats: &Stats) {
    let mut peers: Vec<Option<Peer>> = Vec::new();
    let mut timers = Timers::new();
    let mut events = Events::with_capacity(1024);
    let mut stopping = false;
    loop {
        poll.poll(&mut events, timers.timeout(Instant::now()))
            .unwrap();
        for event in events.iter() {
            match event.token() {
                LISTENER => loop {
                    let Ok((stream, _)) = listener.accept() else {
                        break;
                    };
                    let slot = peers.iter().position(Option::is_none).unwrap_or_else(|| {
                        peers.push(None);
                        peers.len() - 1
                    });
                    let mut ws = WebSocket::accept(stream, &options);
                    ws.register(poll.registry(), Token(slot)).unwrap();
                    peers[slot] = Some(Peer {
                        ws,
                        backlog: VecDeque::new(),
                        flood: (0, 0, 0),
                    });
                    stats.live.fetch_add(1, SeqCst);
                    drive(&mut poll, &mut peers, slot, &mut timers, stats);
                },
                WAKER => {
                    stopping = stats.stop.load(SeqCst);
                    for slot in 0..peers.len() {
                        if let Some(peer) = peers[slot].as_mut() {
                            let _ = peer.ws.send(Message::text("shutdown"));
                            let _ = peer.ws.close(CloseCode::GOING_AWAY, "server shutdown");
                            drive(&mut poll, &mut peers, slot, &mut timers, stats);
                        }
                    }
                }
                Token(slot) => {
                    stats.wakeups.fetch_add(1, SeqCst);
                    if let Some(peer) = peers.get_mut(slot).and_then(Option::as_mut) {
                        peer.ws.ready(event);
                        drive(&mut poll, &mut peers, slot, &mut timers, stats);
                    }
                }
            }
        }
        let now = Instant::now();
        while let Some(Token(slot)) = timers.next_expired(now) {
            if let Some(peer) = peers.get_mut(slot).and_then(Option::as_mut) {
                if peer.ws.handle_timeout(now).is_some() {
                    stats.expired.fetch_add(1, SeqCst);
                }
                drive(&mut poll, &mut peers, slot, &mut timers, stats);
            }
        }
        if stopping && stats.live.load(SeqCst) == 0 {
            return;
        }
    }
}

/// Everything one connection can do after an event: send what waits, take
/// events in, write out, and go away when finished.
fn drive(
    poll: &mut Poll,
    peers: &mut [Option<Peer>],
    slot: usize,
    timers: &mut Timers,
    stats: &Stats,
) {
    let Some(peer) = peers[slot].as_mut() else {
        return;
    };
    loop {
        push_queued(peer, stats);
        loop {
            match peer.ws.poll_event() {
                Ok(Some(SocketEvent::Open)) => {
                    stats.opened.fetch_add(1, SeqCst);
                }
                Ok(Some(SocketEvent::Message(message))) => on_message(peer, message, stats),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        stats
            .max_pending
            .fetch_max(peer.ws.pending_output(), SeqCst);
        let _ = peer.ws.flush(poll.registry());
        let more = peer.flood.0 < peer.flood.1 || !peer.backlog.is_empty();
        if peer.ws.is_finished() || peer.ws.is_full() || !more {
            break;
        }
    }
    timers.schedule(Token(slot), &mut peer.ws);
    if peer.ws.is_finished() {
        peers[slot] = None;
        stats.live.fetch_sub(1, SeqCst);
    }
}

fn push_queued(peer: &mut Peer, stats: &Stats) {
    while let Some(message) = peer.backlog.pop_front() {
        if let Err(e) = peer.ws.send(message) {
            stats.full.fetch_add(1, SeqCst);
            peer.backlog.push_front(e.into_message());
            return;
        }
    }
    let (next, total, size) = peer.flood;
    for i in next..total {
        // Incompressible, so permessage-deflate cannot hide the volume.
        let mut state = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut body: Vec<u8> = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        body[..4].copy_from_slice(&i.to_be_bytes());
        match peer.ws.send(Message::binary(body)) {
            Ok(()) => peer.flood.0 = i + 1,
            Err(SendError::Full(_)) => {
                stats.full.fetch_add(1, SeqCst);
                return;
            }
            Err(_) => return,
        }
    }
}

fn on_message(peer: &mut Peer, message: Message, stats: &Stats) {
    if let Some(rest) = message.as_text().and_then(|t| t.strip_prefix("flood ")) {
        let mut args = rest.split(' ').map(|a| a.parse::<usize>().unwrap());
        let (n, size) = (args.next().unwrap(), args.next().unwrap());
        peer.flood = (0, n as u32, size);
        push_queued(peer, stats);
        return;
    }
    if !peer.backlog.is_empty() {
        peer.backlog.push_back(message);
        return;
    }
    if let Err(e) = peer.ws.send(message) {
        stats.full.fetch_add(1, SeqCst);
        peer.backlog.push_back(e.into_message());
    }
}

/// Without permessage-deflate: these tests are about the adapter, and
/// compression state per connection makes debug builds slow
/// (`mio_client_against_mio_server` covers a compressed connection).
fn plain_config() -> Config {
    #[allow(unused_mut)]
    let mut config = Config::default();
    #[cfg(feature = "deflate")]
    {
        config.deflate = None;
    }
    config
}

fn client(server: &Server) -> blocking::WebSocket<blocking::MaybeTlsStream> {
    let ws =
        blocking::connect_with(&server.url(), ClientOptions::default(), plain_config()).unwrap();
    ws.get_ref().set_read_timeout(Some(BOUND)).unwrap();
    ws
}

fn fast_timeouts() -> Timeouts {
    Timeouts {
        handshake: Some(Duration::from_millis(100)),
        ping_after: Some(Duration::from_millis(100)),
        pong: Some(Duration::from_millis(100)),
        close: Some(Duration::from_millis(500)),
    }
}

/// Read raw bytes until EOF; how long it took.
fn time_to_eof(stream: &mut TcpStream) -> Duration {
    stream.set_read_timeout(Some(BOUND)).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return start.elapsed(),
            Ok(_) => continue,
            // A reset also ends the connection.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return start.elapsed(),
            Err(e) => panic!("no EOF: {e}"),
        }
    }
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

#[test]
fn thousand_clients_on_one_server_thread() {
    let server = Server::start(Options::default());
    let mut clients: Vec<_> = (0..1000).map(|_| client(&server)).collect();
    server.wait_until("every handshake", |s| s.opened.load(SeqCst) == 1000);
    for (i, ws) in clients.iter_mut().enumerate() {
        ws.send(Message::text(format!("hello {i}"))).unwrap();
    }
    for (i, ws) in clients.iter_mut().enumerate() {
        assert_eq!(ws.read().unwrap().as_text(), Some(&*format!("hello {i}")));
    }
    for ws in &mut clients {
        ws.close(CloseCode::NORMAL, "bye").unwrap();
    }
    for ws in &mut clients {
        match ws.read() {
            Err(Error::Closed { clean: true, .. }) => {}
            other => panic!("not a clean close: {other:?}"),
        }
    }
    server.wait_until("every connection gone", |s| s.live.load(SeqCst) == 0);
    server.shutdown();
}

#[test]
fn handshake_arriving_byte_by_byte() {
    let server = Server::start(Options::default());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_nodelay(true).unwrap();
    for byte in REQUEST {
        stream.write_all(std::slice::from_ref(byte)).unwrap();
        thread::sleep(Duration::from_micros(200));
    }
    let mut response = Vec::new();
    let mut byte = [0u8];
    stream.set_read_timeout(Some(BOUND)).unwrap();
    while !response.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        response.push(byte[0]);
    }
    let response = String::from_utf8(response).unwrap();
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    // RFC 6455 §1.3: the accept key for the sample nonce.
    assert!(
        response.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{response}"
    );
    let conn = Connection::new(Role::Client, Config::default());
    let mut ws = blocking::WebSocket::from_parts(stream, conn, None);
    ws.send(Message::text("after a slow start")).unwrap();
    assert_eq!(ws.read().unwrap().as_text(), Some("after a slow start"));
    drop(ws);
    server.shutdown();
}

#[test]
fn slow_reader_gets_backpressure_and_loses_nothing() {
    let mark = 64 * 1024;
    let server = Server::start(Options {
        high_water_mark: mark,
        ..Options::default()
    });
    let (count, size) = (400u32, 16 * 1024);
    let mut slow = client(&server);
    slow.send(Message::text(format!("flood {count} {size}")))
        .unwrap();
    server.wait_until("a refused send", |s| s.full.load(SeqCst) > 0);
    // The server stays responsive to others meanwhile.
    let mut other = client(&server);
    for i in 0..10 {
        other.send(Message::text(format!("ping {i}"))).unwrap();
        assert_eq!(other.read().unwrap().as_text(), Some(&*format!("ping {i}")));
    }
    // Now catch up: every message arrives, in order.
    for i in 0..count {
        let message = slow.read().unwrap();
        assert_eq!(message.len(), size);
        assert_eq!(message.as_bytes()[..4], i.to_be_bytes());
    }
    // Queued output stayed within the mark plus one frame.
    assert!(server.stats.max_pending.load(SeqCst) <= mark + size + 14);
    drop((slow, other));
    server.shutdown();
}

#[test]
fn idle_connection_causes_no_wakeups() {
    let server = Server::start(Options::default());
    let mut ws = client(&server);
    // Enough output to need writable interest at least once.
    ws.send(Message::text("flood 50 65536")).unwrap();
    for _ in 0..50 {
        ws.read().unwrap();
    }
    thread::sleep(Duration::from_millis(50));
    let before = server.stats.wakeups.load(SeqCst);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(server.stats.wakeups.load(SeqCst), before, "busy loop");
    ws.send(Message::text("still here")).unwrap();
    assert_eq!(ws.read().unwrap().as_text(), Some("still here"));
    drop(ws);
    server.shutdown();
}

#[test]
fn keepalive_ping_then_pong_timeout_closes() {
    let server = Server::start(Options {
        timeouts: fast_timeouts(),
        ..Options::default()
    });
    // A peer that answers pings stays connected past several timeouts.
    let mut lively = client(&server);
    let start = Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_millis(500) {
        if let rfc6455::Event::Ping(_) = lively.read_event().unwrap() {
            pings += 1;
        }
    }
    assert!(pings >= 2, "pings: {pings}");
    lively.send(Message::text("alive")).unwrap();
    assert_eq!(lively.read().unwrap().as_text(), Some("alive"));

    // A peer that goes silent is pinged, then dropped.
    let blocking::MaybeTlsStream::Plain(mut silent) = client(&server).into_inner() else {
        unreachable!("a ws:// URL connects without TLS")
    };
    let waited = time_to_eof(&mut silent);
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    server.wait_until("the expiry", |s| s.expired.load(SeqCst) >= 1);
    server.shutdown();
}

#[test]
fn handshake_timeout_closes_slowloris() {
    let server = Server::start(Options {
        timeouts: fast_timeouts(),
        ..Options::default()
    });
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(&REQUEST[..20]).unwrap();
    let waited = time_to_eof(&mut stream);
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    server.wait_until("the connection gone", |s| s.live.load(SeqCst) == 0);
    server.shutdown();
}

#[test]
fn peer_vanishing_mid_frame_is_cleaned_up() {
    let server = Server::start(Options::default());
    let ws = client(&server);
    server.wait_until("the handshake", |s| s.opened.load(SeqCst) == 1);
    let mut stream = ws.into_inner();
    // A masked text frame header announcing 100 bytes, then 3 of them.
    stream
        .write_all(&[0x81, 0xe4, 1, 2, 3, 4, b'a', b'b', b'c'])
        .unwrap();
    drop(stream);
    server.wait_until("the connection gone", |s| s.live.load(SeqCst) == 0);
    server.shutdown();
}

#[test]
fn shutdown_flushes_queued_message_and_close_frame() {
    let server = Server::start(Options::default());
    let mut clients: Vec<_> = (0..20).map(|_| client(&server)).collect();
    server.wait_until("every handshake", |s| s.opened.load(SeqCst) == 20);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for ws in &mut clients {
            assert_eq!(ws.read().unwrap().as_text(), Some("shutdown"));
            match ws.read() {
                Err(Error::Closed {
                    frame: Some(frame),
                    clean: true,
                    by: rfc6455::ClosedBy::Peer,
                }) => assert_eq!(frame.code, CloseCode::GOING_AWAY),
                other => panic!("not a clean 1001 close: {other:?}"),
            }
        }
        tx.send(()).unwrap();
    });
    server.shutdown();
    rx.recv_timeout(BOUND).expect("every client saw the close");
}

#[test]
fn mio_client_against_mio_server() {
    let server = Server::start(Options::default());
    let mut got = Vec::new();
    let client = WebSocket::connect(&server.url(), ClientOptions::default(), &Options::default());
    let ws = run(client.unwrap(), BOUND, |ws, event, _| match event {
        SocketEvent::Open => ws.send(Message::text("from a mio client")).unwrap(),
        SocketEvent::Message(message) => {
            got.push(message);
            ws.close(CloseCode::NORMAL, "done").unwrap();
        }
        _ => {}
    })
    .unwrap();
    assert_eq!(got, vec![Message::text("from a mio client")]);
    assert_eq!(ws.state(), rfc6455::State::Closed { clean: true });
    server.shutdown();
}

/// The upgrade response from a raw socket; bytes read past it are returned.
fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(BOUND)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "EOF before the upgrade response");
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(got.starts_with(b"HTTP/1.1 101"), "refused");
            return got.split_off(end + 4);
        }
    }
}

// RFC 6455 §5.5.2: a pong goes out "as soon as is practical". Ten pings in
// one segment are all read at once; each pong must still be written before
// the next ping is decoded (the core would otherwise answer only the last,
// as §5.5.3 allows, which is meant for a peer that does not read).
#[test]
fn every_ping_in_one_read_gets_its_pong() {
    let server = Server::start(Options::default());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(REQUEST).unwrap();
    let early = read_response(&mut stream);
    // A sans-IO client connection encodes the pings and decodes the pongs.
    let mut peer = Connection::new(Role::Client, plain_config());
    peer.receive(&early);
    for i in 0..10u8 {
        peer.send_ping(&[b'p', i]).unwrap();
    }
    stream.write_all(&peer.take_output()).unwrap();
    let mut pongs = Vec::new();
    let mut buf = [0u8; 1024];
    while pongs.len() < 10 {
        while let Some(event) = peer.poll_event().unwrap() {
            match event {
                rfc6455::Event::Pong(payload) => pongs.push(payload.to_vec()),
                other => panic!("unexpected {other:?}"),
            }
        }
        if pongs.len() < 10 {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "EOF after {} pongs", pongs.len());
            peer.receive(&buf[..n]);
        }
    }
    let want: Vec<Vec<u8>> = (0..10u8).map(|i| vec![b'p', i]).collect();
    assert_eq!(pongs, want);
    server.shutdown();
}

// RFC 6455 §7.1.1: once the close handshake is done the client waits for
// the server to close TCP. A server that aborts instead (closing with unread
// input resets the connection) has still closed the WebSocket cleanly.
#[test]
fn reset_after_close_handshake_is_a_clean_end() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = blocking::accept_with(stream, plain_config(), |_| {
            Ok(rfc6455::AcceptOptions::default())
        })
        .unwrap();
        // Leave the client's message unread, start the close handshake,
        // give the reply time to arrive (unread too), then drop: the
        // unread input makes the kernel reset the connection.
        thread::sleep(Duration::from_millis(200));
        ws.close(CloseCode::NORMAL, "bye").unwrap();
        thread::sleep(Duration::from_millis(300));
    });
    let options = Options {
        config: plain_config(),
        ..Options::default()
    };
    let mut closes = 0;
    let client = WebSocket::connect(&format!("ws://{addr}/"), ClientOptions::default(), &options);
    let ws = run(client.unwrap(), BOUND, |ws, event, _| match event {
        SocketEvent::Open => ws.send(Message::text("never read")).unwrap(),
        SocketEvent::Close(_) => closes += 1,
        _ => {}
    })
    .expect("no error after the close");
    assert_eq!(closes, 1);
    assert_eq!(ws.state(), rfc6455::State::Closed { clean: true });
    server.join().unwrap();
}
