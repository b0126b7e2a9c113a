//! What an idle connection costs the mio adapter: `size_of` plus the heap
//! it holds, counted by a global allocator in this test binary (its own
//! binary, so no other test allocates meanwhile).
//!
//! `cargo test --features mio --test mio_idle -- --nocapture` prints it.
#![cfg(feature = "mio")]

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use rfc6455::mio::{Options, SocketEvent, WebSocket};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// Counts live heap bytes, delegating to the system allocator.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, SeqCst);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, SeqCst);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, SeqCst);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const N: usize = 1000;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// A masked text frame "hi" (RFC 6455 §5.7 style, key 0x37fa213d).
const HELLO: &[u8] = &[0x81, 0x82, 0x37, 0xfa, 0x21, 0x3d, b'h' ^ 0x37, b'i' ^ 0xfa];

/// Drive every socket until nothing happens for a while; echo messages.
fn settle(poll: &mut Poll, events: &mut Events, sockets: &mut [WebSocket], opened: &mut usize) {
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_millis(100) {
        poll.poll(events, Some(Duration::from_millis(20))).unwrap();
        for event in events.iter() {
            quiet_since = Instant::now();
            let ws = &mut sockets[event.token().0];
            ws.ready(event);
            while let Some(event) = ws.poll_event().unwrap() {
                match event {
                    SocketEvent::Open => *opened += 1,
                    SocketEvent::Message(m) => ws.send(m).unwrap(),
                    _ => {}
                }
            }
            ws.flush(poll.registry()).unwrap();
        }
    }
}

/// The next connection the listener takes (the client has connected), as a
/// server socket registered under `token`.
fn accept_socket(
    listener: &TcpListener,
    options: &Options,
    poll: &Poll,
    token: Token,
) -> WebSocket {
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(_) => std::thread::sleep(Duration::from_micros(50)),
        }
    };
    let mut ws = WebSocket::accept(stream, options);
    ws.register(poll.registry(), token).unwrap();
    ws
}

fn per_connection(before: isize) -> isize {
    (LIVE.load(SeqCst) - before) / N as isize
}

/// The tests share the allocation counter: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn bytes_per_idle_connection() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut listener, Token(usize::MAX), Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(1024);
    let options = Options::default();
    let mut clients = Vec::with_capacity(N);
    let mut sockets: Vec<WebSocket> = Vec::with_capacity(N);
    let mut opened = 0;

    let before = LIVE.load(SeqCst);
    let deadline = Instant::now() + Duration::from_secs(20);
    while sockets.len() < N {
        assert!(Instant::now() < deadline, "accepting took too long");
        clients.push(TcpStream::connect(addr).unwrap());
        let mut ws = accept_socket(&listener, &options, &poll, Token(sockets.len()));
        assert!(ws.poll_event().unwrap().is_none());
        ws.flush(poll.registry()).unwrap();
        sockets.push(ws);
    }
    let accepted = per_connection(before);

    for client in &mut clients {
        client.write_all(REQUEST).unwrap();
    }
    settle(&mut poll, &mut events, &mut sockets, &mut opened);
    assert_eq!(opened, N);
    let mut buf = [0u8; 512];
    for client in &mut clients {
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let n = client.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 101"));
        client.write_all(HELLO).unwrap();
    }
    settle(&mut poll, &mut events, &mut sockets, &mut opened);
    for client in &mut clients {
        let n = client.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"\x81\x02hi");
    }
    let open_idle = per_connection(before);

    let size = std::mem::size_of::<WebSocket>() as isize;
    println!(
        "idle connection: size_of::<WebSocket> = {size} B; heap after accept = {accepted} B, \
         after handshake and one echoed message = {open_idle} B; total open idle = {} B",
        size + open_idle
    );
    assert!(sockets
        .iter()
        .all(|ws| ws.is_open() && ws.pending_output() == 0));
    // Small and fixed: no read or write buffer survives going idle.
    assert!(accepted <= 512, "{accepted} B after accept");
    assert!(open_idle <= 1024, "{open_idle} B when open and idle");
}

/// A browser's offer (`permessage-deflate; client_max_window_bits`), eight
/// compressed chat messages each way, then idle: the adapter has released
/// every connection's zlib streams (about 400 KiB each when kept), so what
/// is left per connection is the LZ77 history of both directions (about
/// 1 KiB each here) plus the plain connection.
#[cfg(feature = "deflate")]
#[test]
fn deflate_connection_idle_after_chat() {
    use rfc6455::deflate::{Deflate, DeflateConfig, DeflateParams};
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const CONNS: usize = 1000;
    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    // The client side: one codec compresses the eight messages once; every
    // connection receives the same compressed stream (each server side
    // starts from an empty window, as the codec did).
    let mut codec = Deflate::new(&DeflateParams::default(), &DeflateConfig::default(), true);
    let frames: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            let text = format!(
                "{{\"type\":\"message\",\"room\":\"general\",\"id\":{i},\"user\":\"alice\",\"text\":\"hello everyone, message {i} of the day\"}}"
            );
            let mut payload = Vec::new();
            codec.compress(text.as_bytes(), &mut payload);
            assert!(payload.len() < 126);
            let mut frame = vec![0xc1, 0x80 | payload.len() as u8];
            frame.extend_from_slice(&KEY);
            frame.extend(payload.iter().enumerate().map(|(k, b)| b ^ KEY[k % 4]));
            frame
        })
        .collect();
    let request = String::from_utf8(REQUEST.to_vec()).unwrap().replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    );

    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1024);
    let options = Options::default();
    let mut clients = Vec::with_capacity(CONNS);
    let mut sockets: Vec<WebSocket> = Vec::with_capacity(CONNS);
    let mut opened = 0;
    let before = LIVE.load(SeqCst);
    while sockets.len() < CONNS {
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(request.as_bytes()).unwrap();
        clients.push(client);
        let ws = accept_socket(&listener, &options, &poll, Token(sockets.len()));
        sockets.push(ws);
    }
    settle(&mut poll, &mut events, &mut sockets, &mut opened);
    assert_eq!(opened, CONNS);
    let mut buf = [0u8; 4096];
    for client in &mut clients {
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let n = client.read(&mut buf).unwrap();
        let response = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(response.starts_with("HTTP/1.1 101"));
        assert!(response.contains("Sec-WebSocket-Extensions: permessage-deflate"));
    }
    for frame in &frames {
        for client in &mut clients {
            client.write_all(frame).unwrap();
        }
        settle(&mut poll, &mut events, &mut sockets, &mut opened);
        // Each echo comes back compressed (RSV1), in one small frame.
        for client in &mut clients {
            let n = client.read(&mut buf).unwrap();
            assert!(
                n > 2 && buf[0] == 0xc1 && usize::from(buf[1]) + 2 == n,
                "{:02x?}",
                &buf[..n]
            );
        }
    }
    let idle = per_connection(before);
    println!("deflate connection idle after 8 chat messages each way: heap {idle} B");
    assert!(sockets
        .iter()
        .all(|ws| ws.is_open() && ws.pending_output() == 0));
    // Kept streams would be ~400 KiB; the histories are ~2 x 1 KiB.
    assert!(idle <= 8 * 1024, "{idle} B per idle deflate connection");
}
