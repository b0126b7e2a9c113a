//! The mio adapter's API as an application uses it: a decision closure
//! over runtime state, the request kept for later, the client's view of
//! the 101 response, one `State` type, streamed sends, and telling a
//! drained socket from one paused at its high-water mark.
#![cfg(feature = "mio")]

mod common;

use common::mio_loop::run;
use rfc6455::blocking;
use rfc6455::mio::mio::net::TcpStream as MioTcpStream;
use rfc6455::mio::mio::{Events, Poll, Token};
use rfc6455::mio::{Options, Rejection, SocketEvent, WebSocket};
use rfc6455::{
    AcceptOptions, ClientOptions, CloseCode, Config, Error, Message, MessageKind, State,
};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(10);

/// A mio server socket for the next connection to `listener`.
fn accept_one(listener: &std::net::TcpListener, options: &Options) -> WebSocket {
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_nonblocking(true).unwrap();
    WebSocket::accept(MioTcpStream::from_std(tcp), options)
}

/// Drive a server socket until it is finished, as an event loop does
/// after an error (the refusal still has to be written): its first error.
fn until_finished(mut ws: WebSocket) -> Option<Error> {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    ws.register(poll.registry(), Token(0)).unwrap();
    let deadline = Instant::now() + BOUND;
    let mut first = None;
    while !ws.is_finished() {
        assert!(Instant::now() < deadline, "the socket did not finish");
        loop {
            match ws.poll_event() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    first.get_or_insert(e);
                    break;
                }
            }
        }
        ws.flush(poll.registry()).unwrap();
        if !ws.is_finished() {
            poll.poll(&mut events, Some(Duration::from_millis(50)))
                .unwrap();
            for event in events.iter() {
                ws.ready(event);
            }
        }
    }
    first
}

#[test]
fn a_closure_decides_with_shared_state_and_the_request_is_kept() {
    // Runtime state the decision reads and writes: who may enter, and a
    // count of refusals.
    let allowed = Arc::new(Mutex::new(HashSet::from(["alice".to_string()])));
    let refused = Arc::new(AtomicUsize::new(0));
    let options = Options {
        keep_request: true,
        ..Options::default()
    }
    .decide({
        let (allowed, refused) = (allowed.clone(), refused.clone());
        move |request| {
            let user = request.header("x-user").unwrap_or_default();
            if allowed.lock().unwrap().contains(user) {
                return Ok(AcceptOptions::default());
            }
            refused.fetch_add(1, SeqCst);
            Err(Rejection::new(401, "unknown user"))
        }
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let as_user = |user: &str| ClientOptions {
        headers: vec![("X-User".into(), user.into())],
        ..ClientOptions::default()
    };

    let mallory = thread::spawn(move || {
        blocking::connect_with(
            &format!("ws://{addr}/room/7"),
            as_user("mallory"),
            Config::default(),
        )
    });
    let ws = accept_one(&listener, &options);
    assert!(ws.get_ref().nodelay().unwrap(), "accept turns Nagle off");
    assert_eq!(ws.state(), State::Connecting);
    match until_finished(ws) {
        Some(Error::Handshake(refusal)) => assert!(refusal.to_string().contains("401")),
        other => panic!("expected the refusal, got {other:?}"),
    }
    match mallory.join().unwrap() {
        Err(Error::Handshake(e)) => assert!(e.to_string().contains("401"), "{e}"),
        other => panic!("mallory got in: {other:?}"),
    }
    assert_eq!(refused.load(SeqCst), 1);

    let alice = thread::spawn(move || -> Result<Message, Error> {
        let mut ws = blocking::connect_with(
            &format!("ws://{addr}/room/7?lang=en"),
            as_user("alice"),
            Config::default(),
        )?;
        ws.send("hello")?;
        let reply = ws.read()?;
        let _ = ws.close_and_wait(CloseCode::NORMAL, "bye");
        Ok(reply)
    });
    let ws = run(accept_one(&listener, &options), BOUND, |ws, event, _| {
        if let SocketEvent::Message(message) = event {
            // Per-connection data from the request, long after the decision.
            let request = ws.request().expect("kept");
            assert_eq!(
                (request.path(), request.query()),
                ("/room/7", Some("lang=en"))
            );
            let who = request.header("x-user").unwrap().to_string();
            let text = format!("{} from {who}", message.as_text().unwrap());
            let (head, tail) = text.split_at(5);
            // Streamed: two frames, one message.
            ws.send_fragment(MessageKind::Text, head.as_bytes(), false)
                .unwrap();
            ws.send_fragment(MessageKind::Text, tail.as_bytes(), true)
                .unwrap();
        }
    })
    .unwrap();
    assert_eq!(ws.state(), State::Closed { clean: true });
    assert_eq!(
        alice.join().unwrap().unwrap().as_text(),
        Some("hello from alice")
    );
    assert_eq!(refused.load(SeqCst), 1);
}

#[test]
fn requests_are_not_kept_unless_asked() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let mut ws = blocking::connect(&format!("ws://{addr}/")).unwrap();
        let _ = ws.close_and_wait(CloseCode::NORMAL, "");
    });
    let mut opened = false;
    let ws = run(
        accept_one(&listener, &Options::default()),
        BOUND,
        |ws, event, _| {
            if event == SocketEvent::Open {
                opened = true;
                assert!(ws.request().is_none());
                assert!(ws.response().is_none());
            }
        },
    )
    .unwrap();
    assert!(opened);
    assert!(ws.state().is_closed());
    client.join().unwrap();
}

#[test]
fn a_mio_client_sees_the_101_response() {
    let (url, server) = common::spawn_server_with(
        Config::default(),
        |request| {
            assert!(request.protocols.iter().any(|p| p == "chat"));
            Ok(AcceptOptions {
                protocol: Some("chat".into()),
                headers: vec![("X-Session".into(), "s-42".into())],
                ..AcceptOptions::default()
            })
        },
        |ws| {
            let mut ws = ws.unwrap();
            ws.send_pong(b"heartbeat").unwrap();
            ws.close_and_wait(CloseCode::NORMAL, "done").unwrap();
        },
    );
    let client = ClientOptions {
        protocols: vec!["chat".into()],
        ..ClientOptions::default()
    };
    let ws = WebSocket::connect(&url, client, &Options::default()).unwrap();
    assert_eq!(ws.state(), State::Connecting);
    assert!(ws.response().is_none());
    let mut pongs = 0;
    let ws = run(ws, BOUND, |ws, event, _| match event {
        SocketEvent::Open => {
            let response = ws.response().expect("the 101 response");
            assert_eq!(response.status, 101);
            assert_eq!(response.header("x-session"), Some("s-42"));
            assert_eq!(ws.protocol(), Some("chat"));
            assert_eq!(ws.state(), State::Open);
        }
        SocketEvent::Pong(payload) => {
            assert_eq!(&payload[..], b"heartbeat");
            pongs += 1;
        }
        _ => {}
    })
    .unwrap();
    assert_eq!(pongs, 1);
    assert_eq!(ws.state(), State::Closed { clean: true });
    server.join().unwrap();
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// A masked, empty ping.
const PING: &[u8] = b"\x89\x80\x00\x00\x00\x00";

/// Over a Unix socket pair, whose buffers stay fixed (loopback TCP grows
/// its window while we fill it, which would make the pause come and go).
#[cfg(unix)]
#[test]
fn paused_at_the_high_water_mark_is_not_drained() {
    use rfc6455::mio::mio::net::UnixStream as MioUnixStream;
    use std::os::unix::net::UnixStream;

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (ours, mut client) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    let deadline = Instant::now() + BOUND;
    let options = Options {
        high_water_mark: 64 * 1024,
        ..Options::default()
    };
    let mut ws = WebSocket::accept(MioUnixStream::from_std(ours), &options);
    ws.register(poll.registry(), Token(0)).unwrap();
    client.write_all(REQUEST).unwrap();
    while !ws.is_open() {
        assert!(Instant::now() < deadline, "no handshake");
        step(&mut poll, &mut events, &mut ws, Duration::from_millis(50));
    }
    // A client that does not read: fill its socket, then our buffer.
    let chunk = Message::binary(vec![7u8; 16 * 1024]);
    while !ws.is_full() {
        assert!(Instant::now() < deadline, "the socket never filled");
        while ws.send(chunk.clone()).is_ok() {}
        ws.flush(poll.registry()).unwrap();
    }
    // Input arrives while we cannot write: reading pauses.
    client.write_all(PING).unwrap();
    let seen = step(&mut poll, &mut events, &mut ws, Duration::from_millis(200));
    assert!(seen.is_empty(), "{seen:?}");
    assert!(ws.is_paused(), "Ok(None) at the mark must say paused");
    // The client reads everything; writing resumes, then reading does.
    let reader = thread::spawn(move || {
        let mut sink = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        while let Ok(n @ 1..) = client.read(&mut sink) {
            total += n;
        }
        total
    });
    let mut pinged = false;
    while !pinged {
        assert!(Instant::now() < deadline, "the ping never came through");
        pinged = step(&mut poll, &mut events, &mut ws, Duration::from_millis(50))
            .iter()
            .any(|event| matches!(event, SocketEvent::Ping(_)));
    }
    assert!(!ws.is_paused());
    // The raw client would not answer a close: just hang up.
    drop(ws);
    assert!(reader.join().unwrap() > 64 * 1024);
}

/// One turn of an event loop for one socket: the events it produced.
fn step<S: rfc6455::mio::MioTransport>(
    poll: &mut Poll,
    events: &mut Events,
    ws: &mut WebSocket<S>,
    wait: Duration,
) -> Vec<SocketEvent> {
    poll.poll(events, Some(wait)).unwrap();
    for event in events.iter() {
        ws.ready(event);
    }
    let mut seen = Vec::new();
    while let Some(event) = ws.poll_event().unwrap() {
        seen.push(event);
    }
    ws.flush(poll.registry()).unwrap();
    seen
}
