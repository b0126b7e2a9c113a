//! The blocking adapter's API as an application uses it: the 101 response
//! and the accepted request kept on the sockets, Nagle off on both ends,
//! conversions into `Message`, pongs and streamed sends.

mod common;

use rfc6455::blocking;
use rfc6455::bytes::Bytes;
use rfc6455::{AcceptOptions, ClientOptions, CloseCode, Config, Event, Message, MessageKind};

#[test]
fn both_ends_keep_the_handshake_and_turn_nagle_off() {
    let (url, server) = common::spawn_server_with(
        Config::default(),
        |_| {
            Ok(AcceptOptions {
                headers: vec![("Set-Cookie".into(), "id=7".into())],
                ..AcceptOptions::default()
            })
        },
        |ws| {
            let mut ws = ws.unwrap();
            assert!(ws.get_ref().nodelay().unwrap(), "accept turns Nagle off");
            assert!(ws.response().is_none());
            let request = ws.request().expect("the accepted request").clone();
            // Everything the client sends comes back tagged with its path.
            let mut got = Vec::new();
            loop {
                match ws.read_event() {
                    Ok(Event::Message(message)) => got.push(message),
                    Ok(Event::Pong(payload)) => got.push(Message::binary(payload)),
                    Ok(_) => {}
                    Err(e) if e.is_closed() => break,
                    Err(e) => panic!("{e}"),
                }
            }
            let target = (
                request.path().to_string(),
                request.query().map(String::from),
            );
            (target, request.header("x-tag").map(String::from), got)
        },
    );
    let options = ClientOptions {
        headers: vec![("X-Tag".into(), "t1".into())],
        ..ClientOptions::default()
    };
    let mut ws =
        blocking::connect_with(&format!("{url}feed?since=3"), options, Config::default()).unwrap();
    assert!(ws.get_ref().tcp().nodelay().unwrap());
    assert!(ws.request().is_none());
    let response = ws.response().expect("the 101 response");
    assert_eq!(response.status, 101);
    assert_eq!(response.header("set-cookie"), Some("id=7"));

    ws.send("a str").unwrap();
    ws.send(String::from("a String")).unwrap();
    ws.send(vec![1u8, 2]).unwrap();
    ws.send(&b"a slice"[..]).unwrap();
    ws.send(Bytes::from_static(b"Bytes")).unwrap();
    ws.send_pong(b"unsolicited").unwrap();
    ws.send_fragment(MessageKind::Text, "stre".as_bytes(), false)
        .unwrap();
    ws.send_ping(b"between pieces").unwrap();
    ws.send_fragment(MessageKind::Text, "amed".as_bytes(), true)
        .unwrap();
    let frame = ws.close_and_wait(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(frame.map(|f| f.code), Some(CloseCode::NORMAL));
    assert_eq!(
        ws.connection().peer_close_frame().map(|f| f.code),
        Some(CloseCode::NORMAL)
    );

    let ((path, query), tag, got) = server.join().unwrap();
    assert_eq!(
        (path.as_str(), query.as_deref()),
        ("/feed", Some("since=3"))
    );
    assert_eq!(tag.as_deref(), Some("t1"));
    let expected = [
        Message::text("a str"),
        Message::text("a String"),
        Message::binary(vec![1u8, 2]),
        Message::binary(&b"a slice"[..]),
        Message::binary(&b"Bytes"[..]),
        Message::binary(&b"unsolicited"[..]),
        Message::text("streamed"),
    ];
    assert_eq!(got, expected);
}
