//! Broadcast to many permessage-deflate connections with one compression
//! (RFC 7692): a server holding connections with different agreements
//! sends prepared messages compressed once, interleaved with its own
//! messages, and every client inflates every message.
#![cfg(feature = "deflate")]

use rfc6455::deflate::DeflateConfig;
use rfc6455::{
    AcceptOptions, ClientOptions, ClientUpgrade, Config, Connection, Event, Message,
    PreparedMessage, ServerUpgrade, WsUrl,
};

/// A client and a server after an in-memory opening handshake.
fn open_pair(client: Option<DeflateConfig>, server: DeflateConfig) -> (Connection, Connection) {
    let url = WsUrl::parse("ws://example.com/news").unwrap();
    let client_config = Config {
        deflate: client,
        ..Config::default()
    };
    let server_config = Config {
        deflate: Some(server),
        ..Config::default()
    };
    let mut client_up = ClientUpgrade::new(&url, ClientOptions::default(), client_config);
    let mut server_up = ServerUpgrade::new(server_config);
    let request = server_up.receive(client_up.request()).unwrap().unwrap();
    let (response, server) = server_up.accept(&request, AcceptOptions::default());
    let (client, _) = client_up.receive(&response).unwrap().unwrap();
    (client, server)
}

/// A chat line of about `len` bytes: a shared JSON frame around text that
/// compresses to well over 1 KiB (so a server shares it, not copies it).
fn chat(seed: u32, len: usize) -> String {
    let mut line =
        format!("{{\"type\":\"message\",\"room\":\"general\",\"seq\":{seed},\"text\":\"");
    let mut state = seed.wrapping_mul(0x9e37_79b9) | 1;
    while line.len() + 2 < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        line.push(char::from(b'a' + (state % 26) as u8));
    }
    line.push_str("\"}");
    line
}

/// One server-side connection and its client, with what the agreement
/// makes of a prepared message.
struct Peer {
    name: String,
    client: Connection,
    server: Connection,
    /// The prepared compressed bytes are valid here: deflate agreed, with
    /// a server window at least the prepared one.
    shares_compressed: bool,
}

/// Every kind of agreement a server meets: context takeover on and off,
/// every server window 9..=15, streams released when idle or kept, and a
/// client that declined deflate.
fn peers(prepared_bits: u8) -> Vec<Peer> {
    let mut peers = Vec::new();
    for bits in 9..=15u8 {
        for takeover in [true, false] {
            for release_when_idle in [true, false] {
                let client = DeflateConfig {
                    server_max_window_bits: bits,
                    server_no_context_takeover: !takeover,
                    ..DeflateConfig::default()
                };
                let server = DeflateConfig {
                    release_when_idle,
                    ..DeflateConfig::default()
                };
                let (client, server) = open_pair(Some(client), server);
                assert!(server.is_compressed() && client.is_compressed());
                peers.push(Peer {
                    name: format!("bits {bits} takeover {takeover} release {release_when_idle}"),
                    client,
                    server,
                    shares_compressed: bits >= prepared_bits,
                });
            }
        }
    }
    let (client, server) = open_pair(None, DeflateConfig::default());
    assert!(!server.is_compressed());
    peers.push(Peer {
        name: "no deflate".into(),
        client,
        server,
        shares_compressed: false,
    });
    peers
}

/// Deliver the server's output to the client: the one message it carries.
fn deliver(peer: &mut Peer) -> Message {
    let wire = peer.server.take_output();
    peer.client.receive(&wire);
    match peer.client.poll_event() {
        Ok(Some(Event::Message(message))) => message,
        other => panic!("{}: {other:?}", peer.name),
    }
}

/// The address of the payload segment a server queued for a message, if
/// it queued one (a shared `Bytes`, the second output chunk).
fn shared_segment(conn: &Connection) -> Option<*const u8> {
    conn.output_chunks().nth(1).map(<[u8]>::as_ptr)
}

/// Interleaved own and prepared messages. Each own message after a
/// broadcast repeats the own message before it, so a compressor with
/// context takeover refers back across the broadcast: if it were not told
/// that the broadcast's plaintext entered the peer's window, its
/// back-references would land in the broadcast's bytes at the client and
/// the message would inflate wrong (or not at all).
#[test]
fn prepared_and_own_messages_interleaved_on_every_agreement() {
    const PREPARED_BITS: u8 = 12;
    let mut peers = peers(PREPARED_BITS);
    let config = DeflateConfig {
        server_max_window_bits: PREPARED_BITS,
        ..DeflateConfig::default()
    };
    for round in 0..4u32 {
        let own = chat(round, 900);
        for peer in &mut peers {
            peer.server.send(Message::text(own.as_str())).unwrap();
            assert_eq!(deliver(peer), Message::text(own.as_str()), "{}", peer.name);
        }

        let news = chat(1000 + round, 3000 + 500 * round as usize);
        let prepared = PreparedMessage::compressed(Message::text(news.as_str()), &config);
        assert_eq!(prepared.window_bits(), Some(PREPARED_BITS));
        let mut shared = Vec::new();
        for peer in &mut peers {
            peer.server.send_prepared(&prepared).unwrap();
            let segment = shared_segment(&peer.server);
            if peer.shares_compressed {
                shared.push(segment.expect("a shared payload"));
                // RFC 7692 §6: RSV1 set on the compressed frame.
                assert_eq!(peer.server.output_chunk()[0], 0xc1, "{}", peer.name);
            }
            assert_eq!(deliver(peer), Message::text(news.as_str()), "{}", peer.name);
        }
        // Compressed once: all those connections queued the same memory.
        assert_eq!(shared.len(), 2 * 2 * (15 - PREPARED_BITS as usize + 1));
        assert!(shared.iter().all(|&p| p == shared[0]), "round {round}");

        // The own message again, then a short one that refers back to it.
        let echo = format!("{own} {}", &own[..200]);
        for peer in &mut peers {
            peer.server.send(Message::text(echo.as_str())).unwrap();
            assert_eq!(deliver(peer), Message::text(echo.as_str()), "{}", peer.name);
            peer.server.shrink_buffers();
            peer.server.send_text(&own[100..400]).unwrap();
            assert_eq!(
                deliver(peer),
                Message::text(&own[100..400]),
                "{}",
                peer.name
            );
        }
    }
}

/// A connection whose agreed window is smaller than the prepared one, or
/// that does not compress, sends what `send` would; the compressed form
/// is far smaller than the plain one where it is used.
#[test]
fn fallbacks_send_what_send_sends() {
    let news = chat(7, 4000);
    let prepared =
        PreparedMessage::compressed(Message::text(news.as_str()), &DeflateConfig::default());
    for client in [
        None,
        Some(DeflateConfig {
            server_max_window_bits: 10,
            ..DeflateConfig::default()
        }),
    ] {
        let (_, mut a) = open_pair(client.clone(), DeflateConfig::default());
        let (_, mut b) = open_pair(client, DeflateConfig::default());
        a.send_prepared(&prepared).unwrap();
        b.send(Message::text(news.as_str())).unwrap();
        assert_eq!(a.take_output(), b.take_output());
    }
    let (mut client, mut server) =
        open_pair(Some(DeflateConfig::default()), DeflateConfig::default());
    server.send_prepared(&prepared).unwrap();
    let wire = server.take_output();
    assert_compressed_delivery(&wire, &mut client, &news);
}

/// `wire` is one compressed frame carrying `text`, and `to` reads it so.
fn assert_compressed_delivery(wire: &[u8], to: &mut Connection, text: &str) {
    assert_eq!(wire[0], 0xc1, "RSV1");
    assert!(wire.len() < text.len() * 3 / 4, "{} bytes", wire.len());
    to.receive(wire);
    assert!(matches!(to.poll_event(), Ok(Some(Event::Message(m))) if m == Message::text(text)));
}

/// A client connection uses the compressed form too, masked per frame
/// (RFC 6455 §5.3), and the server inflates it.
#[test]
fn a_client_masks_the_compressed_form() {
    let config = DeflateConfig::default();
    let news = chat(9, 2000);
    let prepared = PreparedMessage::compressed(Message::text(news.as_str()), &config);
    let (mut client, mut server) = open_pair(Some(config.clone()), config);
    for _ in 0..3 {
        client.send_prepared(&prepared).unwrap();
        let wire = client.take_output();
        assert!(wire[1] & 0x80 != 0, "masked");
        assert_compressed_delivery(&wire, &mut server, &news);
    }
}

/// One prepared message serves connections on many threads.
#[test]
fn a_prepared_message_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<PreparedMessage>();
}
