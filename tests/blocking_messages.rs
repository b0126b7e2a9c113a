//! Data messages over loopback through the blocking adapter: every kind and
//! size, both directions, fragmented sends, and many clients at once.

mod common;

use common::{connect, connect_with, join, pattern, spawn_echo_server, spawn_server};
use rfc6455::blocking::WebSocket;
use rfc6455::{ClientOptions, CloseCode, Config, Message};
use std::net::TcpStream;
use std::thread;

/// Send each message to an echo server and check it comes back unchanged.
fn assert_echoed(messages: &[Message]) {
    let (url, server) = spawn_echo_server(1);
    let mut ws = connect(&url);
    for message in messages {
        ws.send(message.clone()).unwrap();
        assert_eq!(&ws.read().unwrap(), message);
    }
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(join(server), vec![messages.len()]);
}

/// Have the server send each message unprompted and check the client
/// receives it unchanged.
fn assert_pushed(messages: Vec<Message>) {
    let expected = messages.clone();
    let (url, server) = spawn_server(move |mut ws: WebSocket<TcpStream>| {
        for message in messages {
            ws.send(message).unwrap();
        }
        ws.close_and_wait(CloseCode::NORMAL, "done").unwrap();
    });
    let mut ws = connect(&url);
    for message in &expected {
        assert_eq!(&ws.read().unwrap(), message);
    }
    common::expect_closed(ws.read());
    join(server);
}

#[test]
fn text_round_trip() {
    assert_echoed(&[Message::text("hello"), Message::text("world")]);
}

#[test]
fn binary_round_trip() {
    assert_echoed(&[
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::binary(pattern(70_000, 7)),
    ]);
}

#[test]
fn empty_messages_round_trip() {
    assert_echoed(&[Message::text(""), Message::binary(Vec::new())]);
}

#[test]
fn unicode_text_round_trip() {
    let text = "héllo wörld · こんにちは · 🦀🚀 · Ünïcödé ✓";
    assert_echoed(&[Message::text(text)]);
    assert_pushed(vec![Message::text(text)]);
}

#[test]
fn sixteen_mib_message_round_trip() {
    let big = Message::binary(pattern(16 << 20, 3));
    assert_echoed(&[big]);
}

#[test]
fn server_initiated_messages() {
    assert_pushed(vec![
        Message::text("welcome"),
        Message::binary(vec![9u8; 300]),
        Message::text(""),
        Message::binary(Vec::new()),
    ]);
}

#[test]
fn server_initiated_sixteen_mib_message() {
    assert_pushed(vec![Message::binary(pattern(16 << 20, 11))]);
}

#[test]
fn fragmented_sends_arrive_whole() {
    // Both sides split what they send into frames of at most 10 bytes; the
    // receivers reassemble whole messages.
    let fragmenting = Config {
        fragment_size: Some(10),
        ..Config::default()
    };
    let text = "a message much longer than ten bytes, with ünïcödé split mid-character";
    let binary = pattern(1000, 5);
    let server_config = fragmenting.clone();
    let (url, server) = common::spawn_server_with(server_config, common::accept_all, |ws| {
        let mut ws = ws.expect("server handshake");
        common::echo(&mut ws).unwrap()
    });
    let mut ws = connect_with(&url, ClientOptions::default(), fragmenting);
    for message in [Message::text(text), Message::binary(binary)] {
        ws.send(message.clone()).unwrap();
        assert_eq!(ws.read().unwrap(), message);
    }
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    assert_eq!(join(server), 2);
}

#[test]
fn many_concurrent_clients() {
    const CLIENTS: usize = 50;
    const MESSAGES: usize = 20;
    let (url, server) = spawn_echo_server(CLIENTS);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let url = url.clone();
            thread::spawn(move || {
                let mut ws = connect(&url);
                for n in 0..MESSAGES {
                    let message = if n % 2 == 0 {
                        Message::text(format!("client {client} message {n}"))
                    } else {
                        Message::binary(pattern(n * 100, (client * MESSAGES + n) as u32))
                    };
                    ws.send(message.clone()).unwrap();
                    assert_eq!(ws.read().unwrap(), message);
                }
                ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
            })
        })
        .collect();
    for client in clients {
        join(client);
    }
    assert_eq!(join(server), vec![MESSAGES; CLIENTS]);
}

#[test]
fn streamed_fragments_from_a_sans_io_peer_arrive_whole() {
    // A client driving the sans-IO core over its own TcpStream sends one
    // message in three fragments with a ping between them (RFC 6455 §5.4:
    // control frames may be interleaved); the blocking server reads one
    // whole message and answers the ping in the middle of it.
    use rfc6455::{ClientUpgrade, Connection, Event, MessageKind, WsUrl};
    use std::io::{Read, Write};

    let (url, server) = spawn_server(|mut ws: WebSocket<TcpStream>| {
        let message = ws.read().unwrap();
        common::expect_closed(ws.read());
        message
    });
    let mut tcp = common::raw_tcp(&url);
    let mut upgrade = ClientUpgrade::new(
        &WsUrl::parse(&url).unwrap(),
        ClientOptions::default(),
        Config::default(),
    );
    tcp.write_all(upgrade.request()).unwrap();
    let mut buf = [0u8; 4096];
    let mut conn: Connection = loop {
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "server closed during the handshake");
        if let Some((conn, _response)) = upgrade.receive(&buf[..n]).unwrap() {
            break conn;
        }
    };
    conn.send_fragment(MessageKind::Text, "stre".as_bytes(), false)
        .unwrap();
    conn.send_ping(b"mid-message").unwrap();
    conn.send_fragment(MessageKind::Text, "amed ".as_bytes(), false)
        .unwrap();
    conn.send_fragment(MessageKind::Text, "in pieces".as_bytes(), true)
        .unwrap();
    conn.close(CloseCode::NORMAL, "").unwrap();
    tcp.write_all(&conn.take_output()).unwrap();

    // The pong, then the close reply, then the server closes TCP.
    let mut events = Vec::new();
    while !conn.state().is_closed() {
        let n = tcp.read(&mut buf).unwrap();
        if n == 0 {
            conn.receive_eof();
        }
        conn.receive(&buf[..n]);
        while let Some(event) = conn.poll_event().unwrap() {
            events.push(event);
        }
    }
    assert!(
        matches!(&events[..], [Event::Pong(p), Event::Close(Some(_))] if &p[..] == b"mid-message")
    );
    assert_eq!(join(server), Message::text("streamed in pieces"));
}
