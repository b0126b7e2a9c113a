//! Control frames over loopback: ping/pong and the close handshake in both
//! directions (RFC 6455 §5.5, §7).

mod common;

use common::{connect, expect_closed, join, spawn_server};
use rfc6455::blocking::WebSocket;
use rfc6455::{CloseCode, CloseFrame, Error, Event, Message, State};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Time for a peer to settle into a blocking `read()` before we act.
const SETTLE: Duration = Duration::from_millis(100);

#[test]
fn client_ping_gets_automatic_pong() {
    let (url, server) = spawn_server(|mut ws: WebSocket<TcpStream>| common::echo(&mut ws));
    let mut ws = connect(&url);
    ws.send_ping(b"are you there").unwrap();
    match ws.read_event().unwrap() {
        Event::Pong(payload) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(join(server).unwrap(), 0);
}

#[test]
fn ping_is_answered_while_the_server_waits_in_read() {
    let (url, server) = spawn_server(|mut ws: WebSocket<TcpStream>| {
        // The ping arrives while this read() is blocked; read() answers it
        // and keeps waiting for a message.
        let message = ws.read().unwrap();
        ws.send(message).unwrap();
        expect_closed(ws.read())
    });
    let mut ws = connect(&url);
    thread::sleep(SETTLE);
    ws.send_ping(b"1").unwrap();
    assert_eq!(ws.read_event().unwrap(), Event::Pong(b"1"[..].into()));
    ws.send(Message::text("after the ping")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("after the ping"));
    ws.close(CloseCode::NORMAL, "").unwrap();
    expect_closed(ws.read());
    join(server);
}

#[test]
fn ping_is_answered_while_the_client_waits_in_read() {
    let (url, server) = spawn_server(|mut ws: WebSocket<TcpStream>| {
        thread::sleep(SETTLE);
        ws.send_ping(b"heartbeat").unwrap();
        let pong = ws.read_event().unwrap();
        ws.send(Message::text("pong seen")).unwrap();
        expect_closed(ws.read());
        pong
    });
    let mut ws = connect(&url);
    // Blocked here when the ping arrives: the pong goes out, the message
    // that follows is returned.
    assert_eq!(ws.read().unwrap(), Message::text("pong seen"));
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(join(server), Event::Pong(b"heartbeat"[..].into()));
}

#[test]
fn client_closes_with_code_and_reason() {
    let (url, server) = spawn_server(|mut ws: WebSocket<TcpStream>| {
        let closed = expect_closed(ws.read());
        // Reading after the close keeps returning Closed.
        for _ in 0..3 {
            assert_eq!(expect_closed(ws.read()), closed);
        }
        closed
    });
    let mut ws = connect(&url);
    let echo = ws.close_and_wait(CloseCode(4000), "bye").unwrap();
    // RFC 6455 §5.5.1: the reply echoes the status code.
    assert_eq!(echo.map(|frame| frame.code), Some(CloseCode(4000)));
    assert_eq!(ws.state(), State::Closed { clean: true });
    let (frame, clean) = join(server);
    assert_eq!(frame, Some(CloseFrame::new(CloseCode(4000), "bye")));
    assert!(clean);
}

#[test]
fn server_closes_and_drops_the_tcp_connection_first() {
    let (url, server) = spawn_server(|mut ws: WebSocket<TcpStream>| {
        ws.close(CloseCode::GOING_AWAY, "shutting down").unwrap();
        // Waits for the client's reply, then closes TCP.
        expect_closed(ws.read())
    });
    let mut ws = connect(&url);
    let started = Instant::now();
    let (frame, clean) = expect_closed(ws.read());
    assert_eq!(
        frame,
        Some(CloseFrame::new(CloseCode::GOING_AWAY, "shutting down"))
    );
    assert!(clean);
    // The client waits up to CLOSE_WAIT for the server's EOF before closing
    // TCP itself; returning well before that means the server closed first.
    assert!(started.elapsed() < rfc6455::blocking::CLOSE_WAIT / 2);
    for _ in 0..3 {
        let (again, clean) = expect_closed(ws.read());
        assert_eq!(again, frame);
        assert!(clean);
    }
    let (reply, clean) = join(server);
    assert_eq!(reply.map(|frame| frame.code), Some(CloseCode::GOING_AWAY));
    assert!(clean);
}

#[test]
fn server_close_over_raw_tcp_ends_with_server_eof() {
    let (url, server) = spawn_server(|mut ws: WebSocket<TcpStream>| {
        ws.close(CloseCode(4001), "done").unwrap();
        expect_closed(ws.read())
    });
    let mut raw = common::raw_handshake(&url);
    assert_eq!(common::read_close_frame(&mut raw), (4001, "done".into()));
    let reply = common::client_frame(0x88, &4001u16.to_be_bytes(), true);
    std::io::Write::write_all(&mut raw, &reply).unwrap();
    common::assert_eof(&mut raw);
    let (frame, clean) = join(server);
    assert_eq!(frame.map(|frame| frame.code), Some(CloseCode(4001)));
    assert!(clean);
}

#[test]
fn send_after_close_is_an_error() {
    let (release, released) = mpsc::channel::<()>();
    let (url, server) = spawn_server(move |mut ws: WebSocket<TcpStream>| {
        // Hold the close reply back until the client has tried to send.
        released.recv().unwrap();
        expect_closed(ws.read())
    });
    let mut ws = connect(&url);
    ws.close(CloseCode::NORMAL, "").unwrap();
    // Closing: our close frame is out, no data may follow (RFC 6455 §5.5.1).
    assert!(matches!(
        ws.send(Message::text("late")),
        Err(Error::SendAfterClose)
    ));
    assert!(ws.send_ping(b"").is_err());
    release.send(()).unwrap();
    expect_closed(ws.read());
    // Closed: sending reports the end of the connection.
    expect_closed(ws.send(Message::text("later")));
    expect_closed(ws.send(Message::binary(vec![1u8])));
    join(server);
}
