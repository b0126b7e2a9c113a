//! The output queue seen from a user's program: however the transport takes
//! the bytes (whole, in pieces, through vectored writes that stop anywhere),
//! the wire is the same as one contiguous encoding, and a payload shared
//! with the queue stays what was sent.

use bytes::Bytes;
use proptest::prelude::*;
use rfc6455::{Config, Connection, Error, Event, Message, PreparedMessage, Role};
use std::io::{self, IoSlice, Write};

fn server(config: Config) -> Connection {
    Connection::new(Role::Server, config)
}

/// The settings under test (permessage-deflate is only active once a
/// handshake negotiated it, which these connections skip).
fn plain() -> Config {
    Config::default()
}

/// An unmasked frame, encoded here by hand from RFC 6455 §5.2 (not by the
/// crate's encoder): FIN, opcode, the shortest length form, the payload.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        len @ 0..=125 => out.push(len as u8),
        len @ 126..=0xffff => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// The frames of one message split at `fragment` bytes per frame.
fn message_frames(opcode: u8, payload: &[u8], fragment: Option<usize>) -> Vec<u8> {
    let size = fragment.unwrap_or(usize::MAX).max(1);
    if payload.len() <= size {
        return frame(true, opcode, payload);
    }
    let pieces: Vec<&[u8]> = payload.chunks(size).collect();
    let mut out = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let op = if i == 0 { opcode } else { 0 };
        out.extend(frame(i + 1 == pieces.len(), op, piece));
    }
    out
}

/// Everything pending, written to a socket that takes all it is given.
fn write_all(conn: &mut Connection) -> Vec<u8> {
    let mut socket = Vec::new();
    while conn.write_output(&mut socket).unwrap() > 0 {}
    socket
}

/// A transport that takes at most `limit` bytes per call, across slices.
struct Trickle {
    wire: Vec<u8>,
    limit: usize,
    calls: usize,
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.calls += 1;
        // Every other call blocks, as a full socket does.
        if self.calls % 2 == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut taken = 0;
        for buf in bufs {
            let n = buf.len().min(self.limit - taken);
            self.wire.extend_from_slice(&buf[..n]);
            taken += n;
            if taken == self.limit {
                break;
            }
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What is sent, in order.
#[derive(Debug, Clone)]
enum Send {
    Text(usize),
    Binary(usize),
    Prepared(usize),
    Ping(usize),
}

fn send_strategy() -> impl Strategy<Value = Send> {
    let len = prop_oneof![0usize..130, 1000usize..1100, 4000usize..70_000];
    prop_oneof![
        len.clone().prop_map(Send::Text),
        len.clone().prop_map(Send::Binary),
        len.prop_map(Send::Prepared),
        (0usize..126).prop_map(Send::Ping),
    ]
}

fn payload(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b'a' + ((i * 7 + seed) % 26) as u8)
        .collect()
}

/// Queue `sends` on a server; returns the expected wire.
fn queue_all(conn: &mut Connection, sends: &[Send], fragment: Option<usize>) -> Vec<u8> {
    let mut expected = Vec::new();
    for (seed, send) in sends.iter().enumerate() {
        match send {
            Send::Text(len) => {
                let text = String::from_utf8(payload(*len, seed)).unwrap();
                expected.extend(message_frames(0x1, text.as_bytes(), fragment));
                conn.send(Message::text(text)).unwrap();
            }
            Send::Binary(len) => {
                let data = payload(*len, seed);
                expected.extend(message_frames(0x2, &data, fragment));
                conn.send(Message::binary(data)).unwrap();
            }
            Send::Prepared(len) => {
                let data = payload(*len, seed);
                expected.extend(message_frames(0x2, &data, fragment));
                conn.send_prepared(&PreparedMessage::new(Message::binary(data)))
                    .unwrap();
            }
            Send::Ping(len) => {
                let data = payload(*len, seed);
                expected.extend(frame(true, 0x9, &data));
                conn.send_ping(&data).unwrap();
            }
        }
    }
    expected
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Vectored writes of any size, with `WouldBlock` between them, put
    /// the same bytes on the wire as the hand encoding.
    #[test]
    fn vectored_writes_of_any_size_give_the_encoded_wire(
        sends in proptest::collection::vec(send_strategy(), 1..12),
        limit in 1usize..20_000,
        fragment in proptest::option::of(500usize..5000),
    ) {
        let mut conn = server(Config { fragment_size: fragment, ..plain() });
        let expected = queue_all(&mut conn, &sends, fragment);
        prop_assert_eq!(conn.output_len(), expected.len());
        let mut socket = Trickle { wire: Vec::new(), limit, calls: 0 };
        while conn.has_pending_output() {
            match conn.write_output(&mut socket) {
                Ok(n) => prop_assert!(n > 0 && n <= limit),
                Err(e) => prop_assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            }
            prop_assert_eq!(socket.wire.len() + conn.output_len(), expected.len());
        }
        prop_assert_eq!(conn.write_output(&mut socket).unwrap(), 0);
        prop_assert!(socket.wire == expected, "wire differs");
    }

    /// Writing only the first chunk, in pieces that stop at every kind of
    /// boundary, gives the same wire as taking everything at once.
    #[test]
    fn partial_advances_match_take_output(
        sends in proptest::collection::vec(send_strategy(), 1..12),
        steps in proptest::collection::vec(1usize..9000, 1..50),
    ) {
        let mut whole = server(plain());
        let expected = queue_all(&mut whole, &sends, None);
        prop_assert!(whole.take_output() == expected, "take_output differs");
        let mut conn = server(plain());
        queue_all(&mut conn, &sends, None);
        let mut wire = Vec::new();
        let mut step = steps.iter().cycle();
        while conn.has_pending_output() {
            let chunk = conn.output_chunk();
            prop_assert!(!chunk.is_empty());
            let n = chunk.len().min(*step.next().unwrap());
            wire.extend_from_slice(&chunk[..n]);
            conn.advance_output(n);
        }
        prop_assert!(conn.output_chunk().is_empty());
        prop_assert!(wire == expected, "wire differs");
    }
}

#[test]
fn a_large_payload_is_written_from_the_senders_own_bytes() {
    let mut conn = server(plain());
    let data = Bytes::from(vec![b'z'; 16 << 10]);
    conn.send(Message::Binary(data.clone())).unwrap();
    let chunks: Vec<&[u8]> = conn.output_chunks().collect();
    assert_eq!(chunks.len(), 2, "header, then the payload");
    assert_eq!(chunks[0], b"\x82\x7e\x40\x00");
    assert_eq!(chunks[1].as_ptr(), data.as_ptr(), "not a copy");
}

#[test]
fn a_payload_kept_or_dropped_after_sending_cannot_change_the_wire() {
    let make = || Bytes::from((0..8192u32).map(|i| i as u8).collect::<Vec<_>>());
    let expected = frame(true, 0x2, &make());

    // Dropped at once: the queue holds its own reference.
    let mut conn = server(plain());
    conn.send(Message::Binary(make())).unwrap();
    assert_eq!(write_all(&mut conn), expected);

    // Kept: it cannot be made mutable again while the queue shares it, so
    // the application gets its own copy to change instead.
    let mut conn = server(plain());
    let kept = make();
    conn.send(Message::Binary(kept.clone())).unwrap();
    let kept = kept.try_into_mut().expect_err("shared with the queue");
    let mut changed = bytes::BytesMut::from(&kept[..]);
    changed.fill(0);
    drop(kept);
    drop(changed);
    assert_eq!(write_all(&mut conn), expected);

    // Once written, the queue lets go: the application owns it alone.
    let mut conn = server(plain());
    let kept = make();
    conn.send(Message::Binary(kept.clone())).unwrap();
    while conn.write_output(&mut io::sink()).unwrap() > 0 {}
    assert!(
        kept.try_into_mut().is_ok(),
        "the queue released the payload"
    );
}

#[test]
fn the_high_water_mark_counts_shared_payloads() {
    let config = Config {
        max_output_buffer: Some(40 << 10),
        ..plain()
    };
    let mut conn = server(config);
    let data = Bytes::from(vec![1u8; 16 << 10]);
    conn.send(Message::Binary(data.clone())).unwrap();
    conn.send(Message::Binary(data.clone())).unwrap();
    assert_eq!(conn.output_len(), 2 * (4 + (16 << 10)));
    assert!(!conn.has_room_for(data.len()));
    assert!(matches!(
        conn.send(Message::Binary(data.clone())),
        Err(Error::WouldExceedBuffer)
    ));
    // A slow reader takes part of the first payload: still no room.
    conn.advance_output(1000);
    assert!(!conn.has_room_for(data.len()));
    // The rest of the first frame is out: room again.
    conn.advance_output(4 + (16 << 10) - 1000);
    conn.send(Message::Binary(data)).unwrap();
}

#[test]
fn a_ping_flood_behind_a_shared_payload_queues_one_pong() {
    let mut conn = server(plain());
    conn.send(Message::Binary(Bytes::from(vec![b'b'; 4096])))
        .unwrap();
    let queued = conn.output_len();
    // 1,000 masked pings the server never gets to answer on the wire.
    let ping = [
        0x89,
        0x84,
        1,
        2,
        3,
        4,
        b'p' ^ 1,
        b'i' ^ 2,
        b'n' ^ 3,
        b'g' ^ 4,
    ];
    for _ in 0..1000 {
        conn.receive(&ping);
        while let Some(event) = conn.poll_event().unwrap() {
            assert_eq!(event, Event::Ping(Bytes::from_static(b"ping")));
        }
    }
    assert_eq!(conn.output_len(), queued + 6, "one pong after the message");
    let wire = conn.take_output();
    assert_eq!(&wire[queued..], b"\x8a\x04ping");
}

#[test]
fn a_pong_before_a_shared_payload_stays() {
    let mut conn = server(plain());
    let ping = [0x89, 0x81, 1, 2, 3, 4, b'x' ^ 1];
    conn.receive(&ping);
    assert!(conn.poll_event().unwrap().is_some());
    conn.send(Message::Binary(Bytes::from(vec![b'b'; 4096])))
        .unwrap();
    conn.receive(&ping);
    assert!(conn.poll_event().unwrap().is_some());
    let wire = conn.take_output();
    assert_eq!(&wire[..3], b"\x8a\x01x", "the first pong is not last");
    assert_eq!(&wire[wire.len() - 3..], b"\x8a\x01x");
    assert_eq!(wire.len(), 3 + 4 + 4096 + 3);
}

#[test]
fn shrink_buffers_frees_a_drained_queue() {
    let mut conn = server(plain());
    for _ in 0..3 {
        conn.send(Message::Binary(Bytes::from(vec![0u8; 5000])))
            .unwrap();
        conn.send_ping(b"p").unwrap();
    }
    conn.shrink_buffers();
    assert_eq!(conn.output_len(), 3 * (4 + 5000 + 3), "nothing lost");
    write_all(&mut conn);
    conn.shrink_buffers();
    assert!(!conn.has_pending_output());
    // Sending again after the shrink works as on a fresh connection.
    conn.send(Message::text("again")).unwrap();
    assert_eq!(&conn.take_output()[..], b"\x81\x05again");
}

/// A socket that records which kind of write each call was.
#[derive(Default)]
struct CallKinds {
    wire: Vec<u8>,
    calls: Vec<&'static str>,
}

impl Write for CallKinds {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls.push("write");
        self.wire.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.calls.push("write_vectored");
        let before = self.wire.len();
        for buf in bufs {
            self.wire.extend_from_slice(buf);
        }
        Ok(self.wire.len() - before)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Coalesced small frames go out with a plain `write` (`send` on a
/// socket, cheaper in the kernel than `writev`); a shared payload beside
/// its header with one vectored write.
#[test]
fn one_chunk_is_a_plain_write_and_more_a_vectored_one() {
    let mut server = Connection::new(Role::Server, Config::default());
    server.send(Message::text("one")).unwrap();
    server.send(Message::text("two")).unwrap();
    let mut socket = CallKinds::default();
    while server.write_output(&mut socket).unwrap() > 0 {}
    assert_eq!(socket.calls, ["write"]);
    assert_eq!(socket.wire, b"\x81\x03one\x81\x03two");

    let large = vec![7u8; 64 * 1024];
    server.send(Message::binary(large.clone())).unwrap();
    let mut socket = CallKinds::default();
    while server.write_output(&mut socket).unwrap() > 0 {}
    assert_eq!(socket.calls, ["write_vectored"]);
    assert_eq!(socket.wire, frame(true, 2, &large));
}
