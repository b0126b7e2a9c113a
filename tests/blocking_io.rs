//! The blocking adapter against awkward streams: read timeouts, and a
//! transport that writes a few bytes at a time and fails every other call
//! with `Interrupted` or `WouldBlock`. Nothing may be lost or duplicated.

mod common;

use common::{connect, join, pattern, spawn_server, TIMEOUT};
use rfc6455::blocking::{self, BlockingTransport, MaybeTlsStream, WebSocket};
use rfc6455::{ClientOptions, CloseCode, Config, Error, Message, ProtocolError};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// With a 100 ms read timeout, check that `reads` reads in a row time out
/// with the socket's own error, then tell the server (`timed_out`) and
/// restore the normal bound.
fn expect_timeouts(ws: &mut WebSocket<MaybeTlsStream>, reads: usize, timed_out: mpsc::Sender<()>) {
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    for _ in 0..reads {
        match ws.read() {
            Err(e) if e.is_timeout() => {}
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
    timed_out.send(()).unwrap();
    ws.get_mut().set_read_timeout(Some(TIMEOUT)).unwrap();
}

/// The server runs `deliver`, which must wait on the receiver it is given
/// until the client has seen `reads` timeouts; the client then reads
/// `expected`, whole, and closes.
fn assert_delivered_after_timeouts<F>(reads: usize, expected: Message, deliver: F)
where
    F: FnOnce(&mut WebSocket<TcpStream>, mpsc::Receiver<()>) + Send + 'static,
{
    let (timed_out, wait_for_timeout) = mpsc::channel::<()>();
    let (url, server) = spawn_server(move |mut ws: WebSocket<TcpStream>| {
        deliver(&mut ws, wait_for_timeout);
        common::expect_closed(ws.read())
    });
    let mut ws = connect(&url);
    expect_timeouts(&mut ws, reads, timed_out);
    assert_eq!(ws.read().unwrap(), expected);
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    join(server);
}

#[test]
fn read_timeout_then_late_message_arrives_whole() {
    assert_delivered_after_timeouts(1, Message::text("late but whole"), |ws, timed_out| {
        timed_out.recv().unwrap();
        ws.send(Message::text("late but whole")).unwrap();
    });
}

#[test]
fn read_timeout_inside_a_frame_loses_no_bytes() {
    // The server writes half a frame by hand, the client times out in the
    // middle of it, then the rest arrives and makes one message.
    assert_delivered_after_timeouts(3, Message::text("hello, world"), |ws, timed_out| {
        let frame = b"\x81\x0chello, world";
        ws.get_mut().write_all(&frame[..5]).unwrap();
        timed_out.recv().unwrap();
        ws.get_mut().write_all(&frame[5..]).unwrap();
    });
}

/// How a [`Choppy`] stream misbehaves on every other call.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Hiccup {
    /// Always succeeds (while the handshake runs).
    None,
    /// `ErrorKind::Interrupted`: the adapter retries by itself.
    Interrupted,
    /// `ErrorKind::WouldBlock`: the caller retries the call.
    WouldBlock,
}

/// A TCP stream that moves at most 7 bytes per call and fails every other
/// call with its [`Hiccup`].
struct Choppy {
    inner: TcpStream,
    hiccup: Hiccup,
    calls: u64,
}

const CHOP: usize = 7;

impl Choppy {
    fn new(inner: TcpStream, hiccup: Hiccup) -> Self {
        Choppy {
            inner,
            hiccup,
            calls: 0,
        }
    }

    /// The error for this call, if it is one of the failing ones.
    fn hiccup(&mut self) -> io::Result<()> {
        self.calls += 1;
        match self.hiccup {
            Hiccup::Interrupted if self.calls % 2 == 1 => Err(io::ErrorKind::Interrupted.into()),
            Hiccup::WouldBlock if self.calls % 2 == 1 => Err(io::ErrorKind::WouldBlock.into()),
            _ => Ok(()),
        }
    }
}

impl Read for Choppy {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.hiccup()?;
        let len = buf.len().min(CHOP);
        self.inner.read(&mut buf[..len])
    }
}

impl Write for Choppy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hiccup()?;
        self.inner.write(&buf[..buf.len().min(CHOP)])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl BlockingTransport for Choppy {
    fn shutdown(&mut self) -> io::Result<()> {
        BlockingTransport::shutdown(&mut self.inner)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.read_timeout()
    }
}

/// Retry `op` while it fails with `WouldBlock`, as a caller of a
/// non-blocking stream would (bounded, so a bug cannot spin forever).
fn retry<T>(mut op: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    for _ in 0..1_000_000 {
        match op() {
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
    panic!("still WouldBlock after a million retries");
}

/// Queue a message and flush it, retrying only the flush: the message is
/// queued exactly once.
fn send_choppy(ws: &mut WebSocket<Choppy>, message: Message) -> Result<(), Error> {
    ws.write(message)?;
    retry(|| ws.flush())
}

fn choppy_messages() -> Vec<Message> {
    vec![
        Message::text("hi"),
        Message::text(""),
        Message::text("ünïcödé across chopped writes 🦀"),
        Message::binary(pattern(300, 1)),
        Message::binary(pattern(70_000, 2)),
    ]
}

/// A client and a server both over [`Choppy`] streams that behave during
/// the handshake and misbehave with `hiccup` after it; `serve` runs on the
/// server thread.
fn choppy_pair<T, F>(hiccup: Hiccup, serve: F) -> (WebSocket<Choppy>, JoinHandle<T>)
where
    T: Send + 'static,
    F: FnOnce(WebSocket<Choppy>) -> T + Send + 'static,
{
    let (listener, url) = common::listen();
    let server = thread::spawn(move || {
        let stream = Choppy::new(common::accept_tcp(&listener), Hiccup::None);
        let mut ws = blocking::accept(stream).expect("server handshake");
        ws.get_mut().hiccup = hiccup;
        serve(ws)
    });
    let stream = Choppy::new(common::raw_tcp(&url), Hiccup::None);
    let mut ws = blocking::client(stream, &url, ClientOptions::default(), Config::default())
        .expect("client handshake");
    ws.get_mut().hiccup = hiccup;
    (ws, server)
}

/// The client sends every message and expects it echoed, then the server
/// sends them all again unprompted, then the client closes.
fn exchange_over_choppy(hiccup: Hiccup) {
    let (mut ws, server) = choppy_pair(hiccup, |mut ws| {
        let messages = choppy_messages();
        for _ in &messages {
            let message = retry(|| ws.read()).unwrap();
            send_choppy(&mut ws, message).unwrap();
        }
        for message in messages {
            send_choppy(&mut ws, message).unwrap();
        }
        common::expect_closed(retry(|| ws.read()))
    });
    for message in choppy_messages() {
        send_choppy(&mut ws, message.clone()).unwrap();
        assert_eq!(retry(|| ws.read()).unwrap(), message);
    }
    for message in choppy_messages() {
        assert_eq!(retry(|| ws.read()).unwrap(), message);
    }
    close_choppy(&mut ws, CloseCode::NORMAL);
    let (frame, clean) = common::expect_closed(retry(|| ws.read()));
    assert_eq!(frame.map(|frame| frame.code), Some(CloseCode::NORMAL));
    assert!(clean);
    let (frame, clean) = join(server);
    assert_eq!(frame.map(|frame| frame.code), Some(CloseCode::NORMAL));
    assert!(clean);
}

/// Start the close handshake, finishing the flush if it would block.
fn close_choppy(ws: &mut WebSocket<Choppy>, code: CloseCode) {
    match ws.close(code, "") {
        Ok(()) => {}
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => retry(|| ws.flush()).unwrap(),
        Err(e) => panic!("close failed: {e}"),
    }
}

#[test]
fn short_and_interrupted_reads_and_writes() {
    exchange_over_choppy(Hiccup::Interrupted);
}

#[test]
fn short_writes_and_would_block_with_caller_retries() {
    exchange_over_choppy(Hiccup::WouldBlock);
}

#[test]
fn handshake_survives_short_and_interrupted_io() {
    // Interrupted is retried inside the handshake too, so the stream can
    // misbehave from the first byte.
    let (listener, url) = common::listen();
    let server = thread::spawn(move || {
        let stream = Choppy::new(common::accept_tcp(&listener), Hiccup::Interrupted);
        let mut ws = blocking::accept(stream).expect("server handshake");
        common::echo(&mut ws).unwrap()
    });
    let stream = Choppy::new(common::raw_tcp(&url), Hiccup::Interrupted);
    let mut ws = blocking::client(stream, &url, ClientOptions::default(), Config::default())
        .expect("client handshake");
    ws.send(Message::text("through a straw")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("through a straw"));
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(join(server), 1);
}

#[test]
fn server_close_over_would_block_transport_completes_cleanly() {
    // The client's close reply (8 bytes: masked) takes more than one short
    // write; the WouldBlock in between must not cut it off.
    let (mut ws, server) = choppy_pair(Hiccup::WouldBlock, |mut ws| {
        close_choppy(&mut ws, CloseCode(4000));
        common::expect_closed(retry(|| ws.read()))
    });
    let (frame, clean) = common::expect_closed(retry(|| ws.read()));
    assert_eq!(frame.map(|frame| frame.code), Some(CloseCode(4000)));
    assert!(clean);
    let (reply, clean) = join(server);
    assert_eq!(reply.map(|frame| frame.code), Some(CloseCode(4000)));
    assert!(
        clean,
        "the server must receive the client's whole close reply"
    );
}

#[test]
fn queued_output_is_not_lost_when_the_close_arrives_over_would_block_transport() {
    // The client queued a message without flushing it when the server's
    // close arrives: message and close reply both still go out, in order,
    // however many short writes and WouldBlocks that takes.
    let (mut ws, server) = choppy_pair(Hiccup::WouldBlock, |mut ws| {
        close_choppy(&mut ws, CloseCode(4000));
        let mut received = Vec::new();
        loop {
            match retry(|| ws.read()) {
                Ok(message) => received.push(message),
                Err(e) => return (received, common::expect_closed::<()>(Err(e))),
            }
        }
    });
    let queued = Message::binary(pattern(100, 9));
    ws.write(queued.clone()).unwrap();
    let (frame, clean) = common::expect_closed(retry(|| ws.read()));
    assert_eq!(frame.map(|frame| frame.code), Some(CloseCode(4000)));
    assert!(clean);
    let (received, (reply, clean)) = join(server);
    assert_eq!(received, vec![queued]);
    assert_eq!(reply.map(|frame| frame.code), Some(CloseCode(4000)));
    assert!(
        clean,
        "the server must receive the client's whole close reply"
    );
}

#[test]
fn close_frame_for_a_protocol_error_survives_would_block() {
    // The server's close frame for a violation (25 bytes) takes several
    // short writes with WouldBlock in between; the caller's next read()
    // finishes it before the transport is closed.
    let (mut ws, server) = choppy_pair(Hiccup::WouldBlock, |mut ws| {
        let first = retry(|| ws.read());
        assert!(
            matches!(first, Err(Error::Protocol(ProtocolError::UnmaskedFrame))),
            "{first:?}"
        );
        common::expect_closed(retry(|| ws.read()))
    });
    // An unmasked frame from a client, written past the WebSocket object.
    ws.get_mut().inner.write_all(b"\x81\x05Hello").unwrap();
    let (frame, _) = common::expect_closed(retry(|| ws.read()));
    assert_eq!(
        frame.map(|frame| frame.code),
        Some(CloseCode::PROTOCOL_ERROR),
        "the whole 1002 close frame arrived"
    );
    let (_, clean) = join(server);
    assert!(!clean, "a failed connection is not a clean close");
}
