//! A client and a server driven entirely in memory: the opening handshake,
//! messages (compressed when permessage-deflate is on), and the close
//! handshake, with bytes shuttled by hand as a user's event loop would.

#[cfg(feature = "deflate")]
use rfc6455::frame::FrameHeader;
use rfc6455::{
    AcceptOptions, ClientOptions, ClientUpgrade, CloseCode, Config, Connection, Event, Message,
    ServerUpgrade, State, WsUrl,
};

/// Move everything `from` wants to send into `to`, and collect `to`'s events.
fn shuttle(from: &mut Connection, to: &mut Connection) -> Vec<Event> {
    let wire = from.take_output();
    to.receive(&wire);
    let mut events = Vec::new();
    while let Some(event) = to.poll_event().expect("no protocol error") {
        events.push(event);
    }
    events
}

/// Run the opening handshake in memory, delivering the request and response
/// in small pieces, with a first frame glued to the end of the request.
fn handshake(config: Config) -> (Connection, Connection, Option<String>) {
    let url = WsUrl::parse("ws://example.com/chat?room=1").unwrap();
    let options = ClientOptions {
        protocols: vec!["chat".into()],
        ..ClientOptions::default()
    };
    let mut client_up = ClientUpgrade::new(&url, options, config.clone());
    let mut server_up = ServerUpgrade::new(config);

    let request = client_up.request().to_vec();
    let mut request_seen = None;
    for piece in request.chunks(7) {
        if let Some(request) = server_up.receive(piece).unwrap() {
            request_seen = Some(request);
        }
    }
    let request = request_seen.expect("request complete");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), Some("room=1"));
    assert_eq!(request.protocols, vec!["chat".to_string()]);

    let accept = AcceptOptions {
        protocol: Some("chat".into()),
        ..AcceptOptions::default()
    };
    let (response, server) = server_up.accept(&request, accept);
    let mut done = None;
    for piece in response.chunks(5) {
        if let Some(result) = client_up.receive(piece).unwrap() {
            done = Some(result);
        }
    }
    let (client, response) = done.expect("response complete");
    (client, server, response.protocol)
}

#[test]
fn handshake_messages_and_close_in_memory() {
    let (mut client, mut server, protocol) = handshake(Config::default());
    assert_eq!(protocol.as_deref(), Some("chat"));

    client.send(Message::text("hello")).unwrap();
    client.send(Message::binary(vec![0u8, 1, 2])).unwrap();
    let events = shuttle(&mut client, &mut server);
    assert_eq!(
        events,
        vec![
            Event::Message(Message::text("hello")),
            Event::Message(Message::binary(vec![0u8, 1, 2])),
        ]
    );

    client.close(CloseCode::NORMAL, "bye").unwrap();
    let events = shuttle(&mut client, &mut server);
    assert!(matches!(&events[..], [Event::Close(Some(frame))] if frame.reason == "bye"));
    let events = shuttle(&mut server, &mut client);
    assert!(matches!(&events[..], [Event::Close(Some(frame))] if frame.code == CloseCode::NORMAL));
    assert_eq!(client.state(), State::Closed { clean: true });
    assert_eq!(server.state(), State::Closed { clean: true });
    assert!(server.should_close_transport());
}

#[cfg(feature = "deflate")]
#[test]
fn permessage_deflate_is_negotiated_and_compresses() {
    let (mut client, mut server, _) = handshake(Config::default());
    assert!(client.is_compressed() && server.is_compressed());

    let text = "the quick brown fox jumps over the lazy dog; ".repeat(200);
    for _ in 0..3 {
        server.send(Message::text(text.as_str())).unwrap();
        let wire: Vec<u8> = server.output_chunks().flatten().copied().collect();
        let (header, _) = FrameHeader::parse(&wire).unwrap().unwrap();
        // RFC 7692 §6: RSV1 marks a compressed message.
        assert!(header.rsv1);
        assert!(
            wire.len() < text.len() / 10,
            "{} bytes on the wire",
            wire.len()
        );
        let events = shuttle(&mut server, &mut client);
        assert_eq!(events, vec![Event::Message(Message::text(text.as_str()))]);
    }
    // Below the threshold, messages go out uncompressed.
    client.send(Message::text("hi")).unwrap();
    let (header, _) = FrameHeader::parse(client.output_chunk()).unwrap().unwrap();
    assert!(!header.rsv1);
    assert_eq!(
        shuttle(&mut client, &mut server),
        vec![Event::Message(Message::text("hi"))]
    );
}

#[cfg(feature = "deflate")]
#[test]
fn compressed_fragments_and_streaming() {
    let send_config = Config {
        fragment_size: Some(100),
        ..Config::default()
    };
    let (mut client, _, _) = handshake(send_config);
    let receive_config = Config {
        streaming: true,
        ..Config::default()
    };
    let (_, mut server, _) = handshake(receive_config);
    let payload: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    client.send(Message::binary(payload.clone())).unwrap();
    let mut received = Vec::new();
    for event in shuttle(&mut client, &mut server) {
        match event {
            Event::Fragment(fragment) => received.extend_from_slice(&fragment.data),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(received, payload);
}

#[cfg(feature = "deflate")]
#[test]
fn decompression_bomb_is_answered_with_1009() {
    let (mut client, _, _) = handshake(Config::default());
    let small = Config {
        max_message_size: 1 << 20,
        ..Config::default()
    };
    let (_, mut server, _) = handshake(small);
    // 16 MiB of zeros compress to about 16 KiB.
    client.send(Message::binary(vec![0u8; 16 << 20])).unwrap();
    let wire = client.take_output();
    assert!(wire.len() < 64 << 10);
    server.receive(&wire);
    let error = loop {
        match server.poll_event() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("bomb was not detected"),
            Err(e) => break e,
        }
    };
    assert_eq!(error.close_code(), Some(CloseCode::MESSAGE_TOO_BIG));
    assert_eq!(&server.take_output()[..4], b"\x88\x13\x03\xf1");
}

/// Open a client and a server with their own configs (no subprotocol).
#[cfg(feature = "deflate")]
fn open_pair(client_config: Config, server_config: Config) -> (Connection, Connection) {
    let url = WsUrl::parse("ws://example.com/").unwrap();
    let mut client_up = ClientUpgrade::new(&url, ClientOptions::default(), client_config);
    let mut server_up = ServerUpgrade::new(server_config);
    let request = server_up
        .receive(client_up.request())
        .unwrap()
        .expect("request complete");
    let (response, server) = server_up.accept(&request, AcceptOptions::default());
    let (client, _) = client_up
        .receive(&response)
        .unwrap()
        .expect("response complete");
    (client, server)
}

/// RFC 7692 §7.1.1 with memory released between messages: a server that
/// drops its zlib streams whenever it is idle (`shrink_buffers`, as the
/// mio adapter calls it) keeps talking to a client that kept its state,
/// both directions, for every window size the backend supports; and the
/// replies stay small, i.e. context takeover survived each release.
#[cfg(feature = "deflate")]
#[test]
fn deflate_idle_release_between_messages_every_window() {
    use rfc6455::deflate::DeflateConfig;
    for bits in 9..=15u8 {
        let deflate = |release_when_idle| DeflateConfig {
            client_max_window_bits: bits,
            server_max_window_bits: bits,
            release_when_idle,
            ..DeflateConfig::default()
        };
        let (mut client, mut server) = open_pair(
            Config {
                deflate: Some(deflate(false)),
                ..Config::default()
            },
            Config {
                deflate: Some(deflate(true)),
                ..Config::default()
            },
        );
        let (mut raw, mut compressed) = (0, 0);
        for i in 0..40 {
            // Chat lines, and now and then one longer than the window.
            let mut text = format!(
                "{{\"type\":\"message\",\"room\":\"general\",\"user\":\"user{}\",\"seq\":{i},\"text\":\"",
                i % 5
            );
            let filler = if i % 10 == 9 { 1 << bits } else { 60 };
            text.extend((0..filler).map(|k| char::from(b'a' + ((k * 7 + i) % 26) as u8)));
            text.push_str("\"}");
            client.send(Message::text(text.as_str())).unwrap();
            let wire = client.take_output();
            server.receive(&wire);
            let Some(Event::Message(message)) = server.poll_event().unwrap() else {
                panic!("bits {bits}: no message");
            };
            assert_eq!(message, Message::text(text.as_str()), "bits {bits} up {i}");
            server.shrink_buffers();
            server.send(message).unwrap();
            server.shrink_buffers();
            let wire = server.take_output();
            let (header, head_len) = FrameHeader::parse(&wire).unwrap().unwrap();
            assert!(header.rsv1, "bits {bits}: reply {i} compressed");
            if filler == 60 {
                raw += text.len();
                compressed += wire.len() - head_len;
            }
            client.receive(&wire);
            let events: Vec<Event> = std::iter::from_fn(|| client.poll_event().unwrap()).collect();
            assert_eq!(
                events,
                vec![Event::Message(Message::text(text.as_str()))],
                "bits {bits} down {i}"
            );
        }
        assert!(
            compressed * 3 < raw,
            "bits {bits}: replies {compressed} of {raw} bytes"
        );
    }
}

/// A send refused at the high-water mark must not have moved the
/// compressor: with context takeover both windows advance only with
/// messages that were actually queued, so after the refusals every message
/// that did go out still inflates at the peer.
#[cfg(feature = "deflate")]
#[test]
fn deflate_send_refused_at_the_high_water_mark_keeps_the_windows_in_step() {
    let server_config = Config {
        max_output_buffer: Some(256),
        ..Config::default()
    };
    let (mut client, mut server) = open_pair(Config::default(), server_config);
    assert!(server.is_compressed());
    let chat = |i: usize| {
        format!("{{\"user\":\"ada\",\"seq\":{i},\"text\":\"the same words again and again, {i}\"}}")
    };
    let mut sent = Vec::new();
    let mut refused = 0;
    for i in 0..400 {
        match server.send_text(&chat(i)) {
            Ok(()) => sent.push(chat(i)),
            Err(rfc6455::Error::WouldExceedBuffer) => refused += 1,
            Err(e) => panic!("{e}"),
        }
        // Drain now and then, so sends are refused in between.
        if i % 20 == 19 {
            client.receive(&server.take_output());
        }
    }
    client.receive(&server.take_output());
    assert!(refused > 0, "the mark was never reached");
    let mut received = Vec::new();
    while let Some(event) = client.poll_event().expect("inflates") {
        if let Event::Message(message) = event {
            received.push(message.as_text().unwrap().to_string());
        }
    }
    assert_eq!(received, sent);
}
