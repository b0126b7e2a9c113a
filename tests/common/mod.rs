//! Helpers shared by the integration tests: WebSocket servers on a fresh
//! loopback port, clients whose reads are bounded, and a raw TCP client for
//! hand-made handshakes and frames.
//!
//! Every blocking call here is bounded by [`TIMEOUT`], so a broken library
//! fails a test instead of hanging it.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

#[cfg(feature = "rustls")]
pub mod certs;
#[cfg(feature = "mio")]
pub mod mio_loop;
pub mod proxies;

use rfc6455::blocking::{self, BlockingTransport, MaybeTlsStream, Rejection, WebSocket};
use rfc6455::{
    AcceptOptions, ClientOptions, CloseCode, CloseFrame, Config, Error, Message, Request, State,
};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The longest any single blocking step of a test may take. Unoptimized
/// builds of the deflate codec spend tens of seconds on a 16 MiB message
/// when tests run in parallel on few cores, hence the larger bound there.
pub const TIMEOUT: Duration = Duration::from_secs(if cfg!(feature = "deflate") { 120 } else { 30 });

/// The key from RFC 6455 §1.3 and the accept value the RFC derives from it.
pub const RAW_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const RAW_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A listener on a free loopback port and the `ws://` URL that reaches it.
pub fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    (listener, url)
}

/// `host:port` of a `ws://host:port/...` URL.
pub fn host_port(url: &str) -> &str {
    let rest = url.trim_start_matches("ws://");
    rest.split('/').next().unwrap()
}

/// Accept one TCP connection within [`TIMEOUT`]; its reads are bounded too.
pub fn accept_tcp(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + TIMEOUT;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("no client connected: {e}"),
        }
    };
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// Serve one connection: accept it with `config` and `decide`, then hand
/// the outcome of the handshake to `handler` on the server thread.
pub fn spawn_server_with<T, D, H>(config: Config, decide: D, handler: H) -> (String, JoinHandle<T>)
where
    T: Send + 'static,
    D: FnOnce(&Request) -> Result<AcceptOptions, Rejection> + Send + 'static,
    H: FnOnce(Result<WebSocket<TcpStream>, Error>) -> T + Send + 'static,
{
    let (listener, url) = listen();
    let server = thread::spawn(move || {
        let stream = accept_tcp(&listener);
        handler(blocking::accept_with(stream, config, decide))
    });
    (url, server)
}

/// Serve one connection with default settings, accepting any request.
pub fn spawn_server<T, H>(handler: H) -> (String, JoinHandle<T>)
where
    T: Send + 'static,
    H: FnOnce(WebSocket<TcpStream>) -> T + Send + 'static,
{
    spawn_server_with(Config::default(), accept_all, move |ws| {
        handler(ws.expect("server handshake"))
    })
}

/// An `accept_with` decision that accepts every request as it is.
pub fn accept_all(_: &Request) -> Result<AcceptOptions, Rejection> {
    Ok(AcceptOptions::default())
}

/// An echo server for `connections` clients, each on its own thread. The
/// server thread ends when every client has closed, with the number of
/// messages each one echoed.
pub fn spawn_echo_server(connections: usize) -> (String, JoinHandle<Vec<usize>>) {
    let (listener, url) = listen();
    let server = thread::spawn(move || {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                let stream = accept_tcp(&listener);
                thread::spawn(move || {
                    let mut ws = blocking::accept(stream).expect("server handshake");
                    echo(&mut ws).expect("echo")
                })
            })
            .collect();
        workers.into_iter().map(join).collect()
    });
    (url, server)
}

/// Echo every message back until the peer closes; the number echoed.
pub fn echo<S: BlockingTransport>(ws: &mut WebSocket<S>) -> Result<usize, Error> {
    let mut echoed = 0;
    loop {
        match ws.read() {
            Ok(message) => {
                ws.send(message)?;
                echoed += 1;
            }
            Err(Error::Closed { .. }) => return Ok(echoed),
            Err(e) => return Err(e),
        }
    }
}

/// Join a test thread, failing the test if it panicked.
/// Against an echo server: a text and a binary message come back as sent,
/// then the close handshake ends cleanly with the server echoing 1000.
pub fn assert_echo_then_clean_close<S: BlockingTransport>(ws: &mut WebSocket<S>) {
    ws.send(Message::text("hello over TLS")).unwrap();
    assert_eq!(ws.read().unwrap().as_text(), Some("hello over TLS"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255])).unwrap();
    assert_eq!(ws.read().unwrap().as_bytes(), &[0, 1, 2, 255]);
    let reply = ws.close_and_wait(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(reply.map(|frame| frame.code), Some(CloseCode::NORMAL));
    assert_eq!(ws.state(), State::Closed { clean: true });
}

pub fn join<T>(thread: JoinHandle<T>) -> T {
    thread.join().expect("a test thread panicked")
}

/// Connect with default settings; reads are bounded by [`TIMEOUT`].
pub fn connect(url: &str) -> WebSocket<MaybeTlsStream> {
    connect_with(url, ClientOptions::default(), Config::default())
}

/// Connect with options and config; reads are bounded by [`TIMEOUT`].
pub fn connect_with(
    url: &str,
    options: ClientOptions,
    config: Config,
) -> WebSocket<MaybeTlsStream> {
    let mut ws = blocking::connect_with(url, options, config).expect("client handshake");
    ws.get_mut().set_read_timeout(Some(TIMEOUT)).unwrap();
    ws
}

/// The parts of an [`Error::Closed`], failing the test on anything else.
pub fn expect_closed<T: std::fmt::Debug>(result: Result<T, Error>) -> (Option<CloseFrame>, bool) {
    match result {
        Err(Error::Closed { frame, clean, .. }) => (frame, clean),
        other => panic!("expected Error::Closed, got {other:?}"),
    }
}

/// `len` bytes of a deterministic, poorly compressible pattern (xorshift).
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

// ----- a raw TCP peer speaking bytes written by hand -----

/// Open a TCP connection to the server behind `url`, reads bounded.
pub fn raw_tcp(url: &str) -> TcpStream {
    let stream = TcpStream::connect(host_port(url)).expect("tcp connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// Send `request` as is and return the whole HTTP answer, read until the
/// server closes the connection.
pub fn raw_http(url: &str, request: &str) -> String {
    let mut stream = raw_tcp(url);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read HTTP answer");
    String::from_utf8(answer).expect("HTTP answer is UTF-8")
}

/// A client handshake written out by hand, with the RFC's sample key.
pub fn raw_upgrade_request(url: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\n\
         Host: {}\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: {RAW_KEY}\r\n\
         Sec-WebSocket-Version: 13\r\n\
         \r\n",
        host_port(url)
    )
}

/// Do the client handshake by hand and check the `101` answer; the stream
/// is then positioned at the first WebSocket frame.
pub fn raw_handshake(url: &str) -> TcpStream {
    let mut stream = raw_tcp(url);
    stream
        .write_all(raw_upgrade_request(url).as_bytes())
        .unwrap();
    let head = read_http_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 101 "), "not a 101: {head}");
    let accept = format!("sec-websocket-accept: {RAW_ACCEPT}\r\n");
    assert!(
        head.to_ascii_lowercase()
            .contains(&accept.to_ascii_lowercase()),
        "{head}"
    );
    stream
}

/// Read an HTTP header block byte by byte, so no frame byte after it is taken.
pub fn read_http_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("read HTTP header");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("HTTP header is UTF-8")
}

/// One client frame: `first` is the FIN/RSV/opcode byte (`0x81`: final
/// text frame), the payload is masked with a fixed key as RFC 6455 §5.3
/// requires of clients, or sent unmasked when `masked` is false.
pub fn client_frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut frame = vec![first];
    match payload.len() {
        len @ 0..=125 => frame.push(mask_bit | len as u8),
        len @ 126..=0xffff => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if masked {
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        frame.extend_from_slice(payload);
    }
    frame
}

/// Read one unmasked (server) frame with a short payload: its first byte
/// and its payload.
pub fn read_server_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).expect("read frame header");
    assert_eq!(head[1] & 0x80, 0, "a server frame must not be masked");
    let len = usize::from(head[1] & 0x7f);
    assert!(len <= 125, "only short frames are expected here");
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).expect("read frame payload");
    (head[0], payload)
}

/// Read the server's close frame and return its status code and reason.
pub fn read_close_frame(stream: &mut TcpStream) -> (u16, String) {
    let (first, payload) = read_server_frame(stream);
    assert_eq!(first, 0x88, "expected a final close frame");
    assert!(payload.len() >= 2, "close frame without a code");
    let code = u16::from_be_bytes([payload[0], payload[1]]);
    (code, String::from_utf8(payload[2..].to_vec()).unwrap())
}

/// The peer closed the TCP connection: a read returns end of stream
/// (within [`TIMEOUT`], not by timing out).
pub fn assert_eof(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "unexpected bytes before EOF: {rest:?}"),
        Err(e) => panic!("expected the peer to close the connection, got {e}"),
    }
}
