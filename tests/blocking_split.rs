//! A split blocking WebSocket: one thread blocks in `read` while another
//! sends on a 100 ms ticker, over TCP and over TLS, on either side. The
//! reader's automatic pong and close reply must go out while it is the
//! only half doing anything.

mod common;

use rfc6455::blocking::{self, BlockingTransport, ReadHalf, WebSocket, WriteHalf};
use rfc6455::{CloseCode, ClosedBy, Config, Error, Event, Message};
use std::thread;
use std::time::{Duration, Instant};

const TICKS: u32 = 10;
const PERIOD: Duration = Duration::from_millis(100);

/// The split side: the writer ticks every [`PERIOD`] on its own thread
/// while this thread blocks in `read` (the peer sends nothing until the
/// last tick). Then the peer pings, says "bye" and closes; the reader
/// answers both by itself. Returns how long the ticks took to send.
fn split_side(mut reader: ReadHalf, mut writer: WriteHalf) -> Duration {
    let ticker = thread::spawn(move || {
        let start = Instant::now();
        for i in 0..TICKS {
            // On schedule, not after the previous send: a send that waits
            // for the blocked reader would show up as drift.
            let due = start + PERIOD * i;
            thread::sleep(due.saturating_duration_since(Instant::now()));
            writer.send(format!("tick {i}")).expect("send a tick");
        }
        (start.elapsed(), writer)
    });
    assert_eq!(
        reader.read().expect("the peer's message").as_text(),
        Some("bye")
    );
    match reader.read() {
        Err(Error::Closed {
            by: ClosedBy::Peer,
            clean: true,
            frame: Some(frame),
        }) => assert_eq!(frame.code, CloseCode::NORMAL),
        other => panic!("expected the peer's clean close, got {other:?}"),
    }
    let (elapsed, writer) = ticker.join().unwrap();
    assert!(writer.state().is_closed());
    elapsed
}

/// The other side: receive every tick, check the gaps between them, then
/// ping (the split side's reader must pong), send "bye" and close (its
/// reader must reply).
fn peer_side<S: BlockingTransport>(mut ws: WebSocket<S>) -> Result<(), Error> {
    let mut last = None;
    for i in 0..TICKS {
        let message = ws.read()?;
        assert_eq!(message.as_text(), Some(format!("tick {i}").as_str()));
        let now = Instant::now();
        if let Some(previous) = last.replace(now) {
            let gap: Duration = now - previous;
            // A writer starved by a reader holding the socket took 180-270
            // ms per tick, every tick; one late tick is the machine's
            // scheduling, and the total (assert_on_time) bounds the rest.
            assert!(
                gap < PERIOD * 2,
                "tick {i} came {gap:?} after the one before"
            );
        }
    }
    ws.send_ping(b"still there?")?;
    match ws.read_event()? {
        Event::Pong(payload) => assert_eq!(&payload[..], b"still there?"),
        other => panic!("expected the reader's pong, got {other:?}"),
    }
    ws.send(Message::text("bye"))?;
    let reply = ws.close_and_wait(CloseCode::NORMAL, "done")?;
    assert_eq!(reply.map(|frame| frame.code), Some(CloseCode::NORMAL));
    Ok(())
}

fn assert_on_time(elapsed: Duration) {
    // Nine periods between ten ticks; a send never waits for the reader.
    assert!(elapsed < PERIOD * (TICKS + 3), "ten ticks took {elapsed:?}");
}

#[test]
fn client_halves_over_tcp() {
    let (url, server) = common::spawn_server(peer_side);
    let ws = blocking::connect(&url).unwrap();
    let (reader, writer) = ws.split().unwrap();
    assert_eq!(reader.response().map(|r| r.status), Some(101));
    assert_on_time(split_side(reader, writer));
    server.join().unwrap().unwrap();
}

#[test]
fn server_halves_over_tcp() {
    let (url, server) = common::spawn_server(|ws| {
        let (reader, writer) = ws.split().unwrap();
        assert_eq!(writer.request().map(|r| r.path()), Some("/"));
        split_side(reader, writer)
    });
    peer_side(blocking::connect(&url).unwrap()).unwrap();
    assert_on_time(server.join().unwrap());
}

#[cfg(feature = "rustls")]
mod tls {
    use super::*;
    use common::certs::{server_config, Ca};
    use std::net::TcpListener;

    /// A TLS server on a free port that runs `serve` on its one connection.
    fn tls_server<T: Send + 'static>(
        ca: &Ca,
        serve: impl FnOnce(WebSocket<blocking::TlsServerStream>) -> T + Send + 'static,
    ) -> (String, thread::JoinHandle<T>) {
        let tls = server_config(ca.leaf(&["localhost"]));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("wss://localhost:{}/", listener.local_addr().unwrap().port());
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(common::TIMEOUT)).unwrap();
            serve(blocking::accept_tls(tcp, tls).unwrap())
        });
        (url, server)
    }

    /// A `wss://` client that trusts `ca`.
    fn tls_client(ca: &Ca, url: &str) -> WebSocket<blocking::MaybeTlsStream> {
        let options = Default::default();
        blocking::connect_tls(url, ca.client_config(), options, Default::default()).unwrap()
    }

    #[test]
    fn client_halves_over_tls() {
        let ca = Ca::new("split test CA");
        let (url, server) = tls_server(&ca, peer_side);
        let ws = tls_client(&ca, &url);
        assert!(ws.get_ref().is_tls());
        let (reader, writer) = ws.split().unwrap();
        assert_on_time(split_side(reader, writer));
        server.join().unwrap().unwrap();
    }

    #[test]
    fn server_halves_over_tls() {
        let ca = Ca::new("split test CA");
        let (url, server) = tls_server(&ca, |ws| {
            let (reader, writer) = ws.split().unwrap();
            split_side(reader, writer)
        });
        let ws = tls_client(&ca, &url);
        peer_side(ws).unwrap();
        assert_on_time(server.join().unwrap());
    }

    #[test]
    fn large_messages_through_tls_halves() {
        let ca = Ca::new("split test CA");
        let (url, server) = tls_server(&ca, |mut ws| common::echo(&mut ws));
        let ws = tls_client(&ca, &url);
        let (mut reader, mut writer) = ws.split().unwrap();
        big_messages(&mut reader, &mut writer);
        assert_eq!(server.join().unwrap().unwrap(), 2);
    }
}

/// Large messages both ways through split halves: many TLS records per
/// message, and more than rustls buffers at once.
fn big_messages(reader: &mut ReadHalf, writer: &mut WriteHalf) {
    for size in [70_000usize, 1 << 20] {
        let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        writer.send(payload.clone()).unwrap();
        let echoed = reader.read().unwrap();
        assert_eq!(echoed.len(), size);
        assert!(
            echoed.as_bytes() == payload.as_slice(),
            "{size} bytes came back changed"
        );
    }
    writer.close(CloseCode::NORMAL, "").unwrap();
    assert!(reader.read().unwrap_err().is_closed());
}

#[test]
fn large_messages_through_tcp_halves() {
    let (url, server) = common::spawn_server(|mut ws| common::echo(&mut ws));
    let (mut reader, mut writer) = blocking::connect(&url).unwrap().split().unwrap();
    big_messages(&mut reader, &mut writer);
    assert_eq!(server.join().unwrap().unwrap(), 2);
}

/// The writer is stuck in a write (the peer reads nothing) when a ping
/// arrives: the reader hands out the ping without waiting for the writer,
/// and the pong goes out right after the writer's message.
#[test]
fn a_pong_owed_while_the_writer_is_stuck_follows_its_message() {
    use std::sync::mpsc;
    const BIG: usize = 16 << 20;
    let (go_ping, ping_now) = mpsc::channel();
    let (go_read, read_now) = mpsc::channel();
    let (url, server) = common::spawn_server(move |mut ws| {
        ping_now.recv().unwrap();
        ws.send_ping(b"owed").unwrap();
        read_now.recv().unwrap();
        let mut seen = Vec::new();
        while seen.len() < 2 {
            match ws.read_event().unwrap() {
                Event::Message(message) => seen.push(format!("message of {}", message.len())),
                Event::Pong(payload) => seen.push(format!("pong {:?}", payload)),
                _ => {}
            }
        }
        ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
        seen
    });
    // Uncompressed, so the message is as big on the wire as in memory (and
    // encoding it, which holds the session lock, takes no time to speak of).
    #[allow(unused_mut)] // without the deflate feature there is nothing to turn off
    let mut plain = Config::default();
    #[cfg(feature = "deflate")]
    {
        plain.deflate = None;
    }
    let ws = blocking::connect_with(&url, Default::default(), plain).unwrap();
    let (mut reader, mut writer) = ws.split().unwrap();
    let stuck = thread::spawn(move || writer.send(vec![0u8; BIG]).unwrap());
    // Long enough for the socket buffers to fill and the write to block.
    thread::sleep(Duration::from_millis(300));
    assert!(!stuck.is_finished(), "16 MiB went out with nobody reading");
    go_ping.send(()).unwrap();
    let start = Instant::now();
    assert_eq!(reader.read_event().unwrap(), Event::Ping("owed".into()));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the reader waited for the writer"
    );
    assert!(!stuck.is_finished(), "the writer is still in its write");
    go_read.send(()).unwrap();
    stuck.join().unwrap();
    assert!(reader.read().unwrap_err().is_closed());
    assert_eq!(
        server.join().unwrap(),
        [format!("message of {BIG}"), "pong b\"owed\"".to_string()]
    );
}
