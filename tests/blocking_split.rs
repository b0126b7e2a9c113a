//! A split blocking WebSocket: one thread blocks in `read` while another
//! sends on a 100 ms ticker, over TCP and over TLS, on either side. The
//! reader's automatic pong and close reply must go out while it is the
//! only half doing anything.

mod common;

use rfc6455::blocking::{self, BlockingTransport, ReadHalf, WebSocket, WriteHalf};
use rfc6455::{CloseCode, ClosedBy, Error, Event, Message};
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
            // Starved writers took 180-270 ms per tick before the split.
            assert!(
                gap < PERIOD * 3 / 2,
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

    #[test]
    fn client_halves_over_tls() {
        let ca = Ca::new("split test CA");
        let (url, server) = tls_server(&ca, peer_side);
        let ws = blocking::connect_tls(
            &url,
            ca.client_config(),
            Default::default(),
            Default::default(),
        )
        .unwrap();
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
        let ws = blocking::connect_tls(
            &url,
            ca.client_config(),
            Default::default(),
            Default::default(),
        )
        .unwrap();
        peer_side(ws).unwrap();
        assert_on_time(server.join().unwrap());
    }
}
