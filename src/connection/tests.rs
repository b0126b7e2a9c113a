//! Connection tests on literal wire bytes, grouped by RFC 6455 section.

use super::*;
use crate::close::CloseCode;
use crate::error::Error;
use crate::frame::FrameHeader;
use crate::mask::apply_mask;
use alloc::vec;
use alloc::vec::Vec;

fn conn(role: Role, config: Config) -> Connection {
    Connection::with_rng(role, config, Box::new(FastRng::from_seed(42)))
}

fn server() -> Connection {
    conn(Role::Server, Config::default())
}

fn client() -> Connection {
    conn(Role::Client, Config::default())
}

/// A client frame: `first` is the first header byte, masked with a fixed key.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut header = FrameHeader::parse(&[first, 0]).unwrap().unwrap().0;
    header.payload_len = payload.len() as u64;
    header.mask = Some(key);
    let mut head = [0u8; crate::frame::MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    let mut out = head[..n].to_vec();
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key, 0);
    out
}

/// Feed `bytes` and collect events until the connection wants more input.
fn feed(c: &mut Connection, bytes: &[u8]) -> Vec<Result<Event, ProtocolError>> {
    c.receive(bytes);
    let mut events = Vec::new();
    loop {
        match c.poll_event() {
            Ok(Some(e)) => events.push(Ok(e)),
            Ok(None) => return events,
            Err(Error::Protocol(e)) => {
                events.push(Err(e));
                return events;
            }
            Err(other) => panic!("not a protocol error: {other:?}"),
        }
    }
}

/// All pending output, left queued.
fn pending(c: &Connection) -> Vec<u8> {
    c.output_chunks().flatten().copied().collect()
}

/// Decode every frame in an output buffer: (header, unmasked payload).
fn frames(mut out: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut frames = Vec::new();
    while let Some((h, n)) = FrameHeader::parse(out).unwrap() {
        let len = h.payload_len as usize;
        let mut payload = out[n..n + len].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        frames.push((h, payload));
        out = &out[n + len..];
    }
    assert!(out.is_empty(), "trailing partial frame");
    frames
}

/// The close code in the last frame of the output, which must be a close.
fn sent_close_code(c: &Connection) -> u16 {
    let frames = frames(&pending(c));
    let (h, payload) = frames.last().expect("a close frame was queued");
    assert_eq!(h.opcode, OpCode::Close);
    u16::from_be_bytes([payload[0], payload[1]])
}

fn text(s: &str) -> Event {
    Event::Message(Message::text(s))
}

/// Expect a protocol error with `code` as the answer to `bytes`.
fn assert_fails(mut c: Connection, bytes: &[u8], expected: ProtocolError) {
    let events = feed(&mut c, bytes);
    match events.last() {
        Some(Err(e)) => assert_eq!(e, &expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
    assert_eq!(sent_close_code(&c), expected.close_code().0);
    assert_eq!(c.state(), State::Closed { clean: false });
    // A failed connection processes no more input.
    assert!(feed(&mut c, &masked(0x81, b"more")).is_empty());
}

use crate::frame::OpCode;

mod rfc_5_framing {
    use super::*;

    #[test]
    fn rfc_examples_single_frame() {
        // RFC 6455 §5.7: a masked "Hello" from a client...
        let mut s = server();
        let events = feed(&mut s, b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
        assert_eq!(events, vec![Ok(text("Hello"))]);
        // ...and an unmasked one from a server.
        let mut c = client();
        assert_eq!(
            feed(&mut c, b"\x81\x05\x48\x65\x6c\x6c\x6f"),
            vec![Ok(text("Hello"))]
        );
    }

    #[test]
    fn rfc_examples_fragmented_and_binary() {
        let mut c = client();
        assert_eq!(feed(&mut c, b"\x01\x03\x48\x65\x6c"), vec![]);
        assert_eq!(feed(&mut c, b"\x80\x02\x6c\x6f"), vec![Ok(text("Hello"))]);
        let mut payload = vec![0x82, 0x7e, 0x01, 0x00];
        payload.extend((0..=255u8).collect::<Vec<_>>());
        let events = feed(&mut c, &payload);
        assert_eq!(
            events,
            vec![Ok(Event::Message(Message::binary(
                (0..=255u8).collect::<Vec<_>>()
            )))]
        );
    }

    #[test]
    fn one_byte_at_a_time_equals_whole() {
        let mut wire = masked(0x01, b"Hel");
        wire.extend(masked(0x89, b"ping"));
        wire.extend(masked(0x80, "lo ☃".as_bytes()));
        wire.extend(masked(0x82, &[7u8; 300]));
        let mut whole = server();
        let expected = feed(&mut whole, &wire);
        assert_eq!(expected.len(), 3);
        let mut trickle = server();
        let mut got = Vec::new();
        for byte in &wire {
            got.extend(feed(&mut trickle, core::slice::from_ref(byte)));
        }
        assert_eq!(got, expected);
        assert_eq!(pending(&trickle), pending(&whole));
    }

    #[test]
    fn empty_messages() {
        let mut s = server();
        assert_eq!(feed(&mut s, &masked(0x81, b"")), vec![Ok(text(""))]);
        assert_eq!(
            feed(&mut s, &masked(0x82, b"")),
            vec![Ok(Event::Message(Message::binary(Vec::new())))]
        );
        let mut wire = masked(0x01, b"");
        wire.extend(masked(0x00, b""));
        wire.extend(masked(0x80, b""));
        assert_eq!(feed(&mut s, &wire), vec![Ok(text(""))]);
    }

    #[test]
    fn non_minimal_length_is_accepted() {
        let mut c = client();
        assert_eq!(feed(&mut c, b"\x81\x7e\x00\x02hi"), vec![Ok(text("hi"))]);
        assert_eq!(
            feed(&mut c, b"\x81\x7f\x00\x00\x00\x00\x00\x00\x00\x02hi"),
            vec![Ok(text("hi"))]
        );
    }

    #[test]
    fn reserved_bits_fail_with_1002() {
        for first in [0xc1u8, 0xa1, 0x91] {
            assert_fails(server(), &masked(first, b"x"), ProtocolError::ReservedBits);
        }
    }

    #[test]
    fn reserved_opcodes_fail_with_1002() {
        for op in [3u8, 7, 0xb, 0xf] {
            let wire = [0x80 | op, 0x80, 1, 2, 3, 4];
            assert_fails(server(), &wire, ProtocolError::UnknownOpcode(op));
        }
    }

    #[test]
    fn length_with_top_bit_fails_with_1002() {
        assert_fails(
            client(),
            b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01",
            ProtocolError::InvalidLength,
        );
    }

    #[test]
    fn masking_rules_by_role() {
        // RFC 6455 §5.1: a server fails on an unmasked frame...
        assert_fails(server(), b"\x81\x05Hello", ProtocolError::UnmaskedFrame);
        // ...and a client on a masked one.
        assert_fails(
            client(),
            &masked(0x81, b"Hello"),
            ProtocolError::MaskedFrame,
        );
    }

    #[test]
    fn client_masks_every_frame_with_a_fresh_key() {
        let mut c = client();
        c.send_text("one").unwrap();
        c.send_text("two").unwrap();
        c.send_ping(b"p").unwrap();
        let sent = frames(&pending(&c));
        let keys: Vec<_> = sent.iter().map(|(h, _)| h.mask.expect("masked")).collect();
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[1], keys[2]);
        assert_eq!(sent[0].1, b"one");
        // The server decodes them.
        let mut s = server();
        let out = pending(&c);
        assert_eq!(feed(&mut s, &out)[..2], [Ok(text("one")), Ok(text("two"))]);
    }

    #[test]
    fn server_never_masks() {
        let mut s = server();
        s.send_binary(&[1, 2, 3]).unwrap();
        assert_eq!(pending(&s), b"\x82\x03\x01\x02\x03");
        let mut big = server();
        big.send_binary(&[0u8; 70000]).unwrap();
        assert_eq!(
            &pending(&big)[..10],
            b"\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x70"
        );
    }
}

mod rfc_5_4_fragmentation {
    use super::*;

    #[test]
    fn control_frames_between_fragments() {
        let mut s = server();
        let mut wire = masked(0x01, b"Hel");
        wire.extend(masked(0x89, b"are you there"));
        wire.extend(masked(0x8a, b"unsolicited"));
        wire.extend(masked(0x80, b"lo"));
        let events = feed(&mut s, &wire);
        assert_eq!(
            events,
            vec![
                Ok(Event::Ping(Bytes::from_static(b"are you there"))),
                Ok(Event::Pong(Bytes::from_static(b"unsolicited"))),
                Ok(text("Hello")),
            ]
        );
        assert_eq!(pending(&s), b"\x8a\x0dare you there");
    }

    #[test]
    fn continuation_without_start_fails_with_1002() {
        assert_fails(
            server(),
            &masked(0x80, b"x"),
            ProtocolError::UnexpectedContinuation,
        );
    }

    #[test]
    fn new_message_inside_fragmented_fails_with_1002() {
        let mut wire = masked(0x01, b"a");
        wire.extend(masked(0x81, b"b"));
        assert_fails(server(), &wire, ProtocolError::ExpectedContinuation);
        let mut wire = masked(0x02, b"a");
        wire.extend(masked(0x02, b"b"));
        assert_fails(server(), &wire, ProtocolError::ExpectedContinuation);
    }

    #[test]
    fn automatic_fragmentation_of_sends() {
        let config = Config {
            fragment_size: Some(4),
            ..Config::default()
        };
        let mut s = conn(Role::Server, config);
        s.send_text("abcdefghij").unwrap();
        assert_eq!(pending(&s), b"\x01\x04abcd\x00\x04efgh\x80\x02ij");
    }

    #[test]
    fn streaming_sends_and_order_rules() {
        let mut s = server();
        s.send_fragment(MessageKind::Binary, b"ab", false).unwrap();
        s.send_ping(b"").unwrap();
        assert!(matches!(s.send_text("x"), Err(Error::FragmentOutOfOrder)));
        s.send_fragment(MessageKind::Binary, b"cd", true).unwrap();
        assert_eq!(pending(&s), b"\x02\x02ab\x89\x00\x80\x02cd");
    }
}

mod rfc_5_5_control {
    use super::*;

    #[test]
    fn fragmented_control_frame_fails_with_1002() {
        assert_fails(
            server(),
            &masked(0x09, b"x"),
            ProtocolError::FragmentedControlFrame,
        );
    }

    #[test]
    fn control_frame_over_125_fails_with_1002() {
        assert_fails(
            server(),
            &masked(0x89, &[0u8; 126]),
            ProtocolError::ControlFrameTooLong,
        );
        // 125 is fine.
        let mut s = server();
        assert_eq!(feed(&mut s, &masked(0x89, &[0u8; 125])).len(), 1);
    }

    #[test]
    fn auto_pong_can_be_turned_off() {
        let config = Config {
            auto_pong: false,
            ..Config::default()
        };
        let mut s = conn(Role::Server, config);
        assert_eq!(
            feed(&mut s, &masked(0x89, b"x")),
            vec![Ok(Event::Ping(Bytes::from_static(b"x")))]
        );
        assert!(!s.has_pending_output());
    }

    #[test]
    fn pong_is_queued_ahead_of_later_data() {
        let mut s = server();
        let _ = feed(&mut s, &masked(0x89, b"p"));
        s.send_text("after").unwrap();
        let sent = frames(&pending(&s));
        assert_eq!(sent[0].0.opcode, OpCode::Pong);
        assert_eq!(sent[1].0.opcode, OpCode::Text);
    }

    #[test]
    fn ping_flood_keeps_only_the_latest_unsent_pong() {
        let mut s = server();
        let mut wire = Vec::new();
        for i in 0..10_000u32 {
            wire.extend(masked(0x89, &i.to_be_bytes()));
        }
        let events = feed(&mut s, &wire);
        assert_eq!(events.len(), 10_000);
        assert_eq!(pending(&s), b"\x8a\x04\x00\x00\x27\x0f");
        // A pong already partly written is never rewritten.
        s.advance_output(1);
        let _ = feed(&mut s, &masked(0x89, b"z"));
        assert_eq!(pending(&s), b"\x04\x00\x00\x27\x0f\x8a\x01z");
    }

    #[test]
    fn caller_control_payload_limit() {
        let mut s = server();
        assert!(matches!(
            s.send_ping(&[0; 126]),
            Err(Error::ControlPayloadTooLong)
        ));
        assert!(s.send_ping(&[0; 125]).is_ok());
    }
}

mod rfc_7_close {
    use super::*;

    #[test]
    fn peer_initiated_close_is_echoed() {
        let mut s = server();
        let events = feed(&mut s, &masked(0x88, b"\x03\xe8bye"));
        assert_eq!(
            events,
            vec![Ok(Event::Close(Some(CloseFrame::new(
                CloseCode::NORMAL,
                "bye"
            ))))]
        );
        assert_eq!(pending(&s), b"\x88\x02\x03\xe8");
        assert_eq!(s.state(), State::Closed { clean: true });
        assert!(!s.should_close_transport(), "output first");
        let n = s.output_len();
        s.advance_output(n);
        // RFC 6455 §7.1.1: the server closes the TCP connection first.
        assert!(s.should_close_transport());
        assert!(matches!(s.send_text("late"), Err(Error::SendAfterClose)));
        // Bytes after the close frame are ignored.
        assert!(feed(&mut s, &masked(0x81, b"ignored")).is_empty());
    }

    #[test]
    fn empty_close_is_answered_with_empty_close() {
        let mut c = client();
        assert_eq!(feed(&mut c, b"\x88\x00"), vec![Ok(Event::Close(None))]);
        let sent = frames(&pending(&c));
        assert_eq!((sent[0].0.opcode, sent[0].1.len()), (OpCode::Close, 0));
        // A client waits for the server to close the transport.
        let n = c.output_len();
        c.advance_output(n);
        assert!(!c.should_close_transport());
    }

    #[test]
    fn locally_initiated_close() {
        let mut c = client();
        c.close(CloseCode::GOING_AWAY, "shutting down").unwrap();
        assert_eq!(c.state(), State::Closing);
        // Closing twice is not an error and sends nothing more.
        let queued = c.output_len();
        c.close(CloseCode::NORMAL, "again").unwrap();
        assert_eq!(c.output_len(), queued);
        assert!(matches!(c.send_binary(b"x"), Err(Error::SendAfterClose)));
        // Data still arriving before the peer's close is delivered.
        assert_eq!(feed(&mut c, b"\x81\x02hi"), vec![Ok(text("hi"))]);
        let events = feed(&mut c, b"\x88\x02\x03\xe9");
        assert_eq!(
            events,
            vec![Ok(Event::Close(Some(CloseFrame::new(
                CloseCode::GOING_AWAY,
                ""
            ))))]
        );
        assert_eq!(c.state(), State::Closed { clean: true });
        let sent = frames(&pending(&c));
        assert_eq!(sent.len(), 1, "no second close frame");
        assert_eq!(&sent[0].1[2..], b"shutting down");
    }

    #[test]
    fn reserved_codes_cannot_be_sent() {
        let mut s = server();
        for code in [1005u16, 1006, 1015, 999, 2000] {
            assert!(
                matches!(s.close(CloseCode(code), ""), Err(Error::InvalidCloseCode(c)) if c == code)
            );
        }
        assert_eq!(s.state(), State::Open);
    }

    #[test]
    fn close_payload_errors() {
        assert_fails(
            server(),
            &masked(0x88, b"\x03"),
            ProtocolError::InvalidClosePayload,
        );
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            let payload = code.to_be_bytes();
            assert_fails(
                server(),
                &masked(0x88, &payload),
                ProtocolError::InvalidCloseCode(code),
            );
        }
        assert_fails(
            server(),
            &masked(0x88, b"\x03\xe8\xce\xba\xe1"),
            ProtocolError::InvalidUtf8,
        );
    }

    #[test]
    fn valid_codes_are_echoed() {
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
        ] {
            let mut s = server();
            let events = feed(&mut s, &masked(0x88, &code.to_be_bytes()));
            assert_eq!(events.len(), 1);
            assert_eq!(sent_close_code(&s), code);
        }
    }

    #[test]
    fn eof_before_close_is_unclean() {
        let mut s = server();
        s.receive_eof();
        assert_eq!(s.state(), State::Closed { clean: false });
        assert_eq!(s.poll_event().unwrap(), None);
    }
}

mod rfc_8_1_utf8 {
    use super::*;

    #[test]
    fn invalid_text_fails_with_1007() {
        assert_fails(server(), &masked(0x81, b"\xff"), ProtocolError::InvalidUtf8);
        // A code point cut short at the end of the message.
        assert_fails(
            server(),
            &masked(0x81, b"ok\xe2\x82"),
            ProtocolError::InvalidUtf8,
        );
    }

    #[test]
    fn fails_mid_frame_before_the_frame_is_complete() {
        // Autobahn 6.4.x: the invalid bytes arrive, the rest of the frame
        // has not: the connection must fail now.
        let mut s = server();
        let wire = masked(0x81, b"\xce\xba\xe1\xbd\xb9\xf4\x90\x80\x80-edited");
        assert!(feed(&mut s, &wire[..6 + 5]).is_empty());
        let events = feed(&mut s, &wire[11..13]);
        assert!(matches!(
            events.last(),
            Some(Err(ProtocolError::InvalidUtf8))
        ));
        assert_eq!(sent_close_code(&s), 1007);
    }

    #[test]
    fn code_point_split_across_fragments_is_valid() {
        let mut s = server();
        let euro = "€".as_bytes();
        let mut wire = masked(0x01, &euro[..1]);
        wire.extend(masked(0x00, &euro[1..2]));
        wire.extend(masked(0x80, &euro[2..]));
        assert_eq!(feed(&mut s, &wire), vec![Ok(text("€"))]);
    }

    #[test]
    fn binary_is_not_validated() {
        let mut s = server();
        assert_eq!(feed(&mut s, &masked(0x82, b"\xff")).len(), 1);
        assert!(!s.has_pending_output());
    }
}

mod limits {
    use super::*;

    #[test]
    fn huge_announced_length_fails_before_allocating() {
        // 2^62 bytes announced: rejected on the header alone.
        let mut s = server();
        let wire = b"\x82\xff\x40\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04";
        let events = feed(&mut s, wire);
        assert!(matches!(
            events.last(),
            Some(Err(ProtocolError::FrameTooLarge))
        ));
        assert_eq!(sent_close_code(&s), 1009);
        assert!(s.read.buf.capacity() < 1024);
    }

    #[test]
    fn frame_and_message_limits_send_1009() {
        let small = Config {
            max_frame_size: 10,
            max_message_size: 15,
            ..Config::default()
        };
        assert_fails(
            conn(Role::Server, small.clone()),
            &masked(0x82, &[0; 11]),
            ProtocolError::FrameTooLarge,
        );
        let mut wire = masked(0x02, &[0; 10]);
        wire.extend(masked(0x80, &[0; 6]));
        assert_fails(
            conn(Role::Server, small.clone()),
            &wire,
            ProtocolError::MessageTooLarge,
        );
        let mut s = conn(Role::Server, small);
        let mut wire = masked(0x02, &[0; 10]);
        wire.extend(masked(0x80, &[0; 5]));
        assert_eq!(feed(&mut s, &wire).len(), 1);
    }

    #[test]
    fn outgoing_frames_fit_our_own_frame_limit() {
        let small = Config {
            max_frame_size: 10,
            max_message_size: 100,
            ..Config::default()
        };
        let mut c = conn(Role::Client, small.clone());
        c.send_binary(&[7; 25]).unwrap();
        // Three frames (10 + 10 + 5) that a peer with the same limits accepts.
        let wire = pending(&c);
        let events = feed(&mut conn(Role::Server, small), &wire);
        assert_eq!(
            events,
            vec![Ok(Event::Message(Message::binary(vec![7u8; 25])))]
        );
    }

    #[test]
    fn backpressure_high_water_mark() {
        let config = Config {
            max_output_buffer: Some(100),
            ..Config::default()
        };
        let mut s = conn(Role::Server, config);
        s.send_binary(&[0; 50]).unwrap();
        assert!(matches!(
            s.send_binary(&[0; 50]),
            Err(Error::WouldExceedBuffer)
        ));
        assert_eq!(s.output_len(), 52, "nothing queued by the refused send");
        s.advance_output(52);
        s.send_binary(&[0; 50]).unwrap();
    }
}

mod io_surface {
    use super::*;

    #[test]
    fn partial_writes_lose_nothing() {
        let mut s = server();
        s.send_text("Hello").unwrap();
        s.send_text("World").unwrap();
        let mut written = Vec::new();
        while s.has_pending_output() {
            written.push(s.output_chunk()[0]);
            s.advance_output(1);
        }
        assert_eq!(written, b"\x81\x05Hello\x81\x05World");
    }

    #[test]
    fn read_straight_into_the_connection_buffer() {
        let mut s = server();
        let wire = masked(0x81, b"zero copy");
        let buf = s.read_buf(4096);
        buf[..wire.len()].copy_from_slice(&wire);
        s.filled(wire.len());
        assert_eq!(s.poll_event().unwrap(), Some(text("zero copy")));
        // An unused loan leaves no garbage behind.
        let _ = s.read_buf(100);
        assert_eq!(s.poll_event().unwrap(), None);
        assert_eq!(s.buffered_input(), 0);
    }

    /// A buffer handed over at a message boundary becomes the input: the
    /// message is split off it where it lies (unmasked in place). Handed
    /// over while a frame is half received, or while room is lent for a
    /// read, it is appended like `receive`'s slice, and the frame
    /// completes intact.
    #[test]
    fn a_handed_over_buffer_is_kept_or_appended() {
        let mut s = server();
        let payload: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8).collect();
        let wire = masked(0x82, &payload);
        let read = BytesMut::from(&wire[..]);
        let start = read.as_ptr() as usize;
        s.receive_bytes(read);
        let Some(Event::Message(Message::Binary(got))) = s.poll_event().unwrap() else {
            panic!("a message");
        };
        assert_eq!(got, payload);
        assert!((start..start + wire.len()).contains(&(got.as_ptr() as usize)));

        // Half a frame (its header decoded, its payload reserved), then the
        // rest in two handed-over buffers.
        let (first, rest) = wire.split_at(5_000);
        s.receive(first);
        assert_eq!(s.poll_event().unwrap(), None);
        s.receive_bytes(BytesMut::from(&rest[..7_000]));
        s.receive_bytes(BytesMut::from(&rest[7_000..]));
        assert_eq!(
            s.poll_event().unwrap(),
            Some(Event::Message(Message::binary(payload)))
        );

        // Room lent for a read and not filled: appended after what is there.
        let _ = s.read_buf(64);
        s.receive_bytes(BytesMut::from(&masked(0x81, b"after a loan")[..]));
        assert_eq!(s.poll_event().unwrap(), Some(text("after a loan")));
        assert_eq!(s.buffered_input(), 0);
    }

    #[test]
    fn shrinking_mid_frame_keeps_the_lent_room_for_the_rest() {
        let mut s = server();
        let payload: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let wire = masked(0x82, &payload);
        let (first, rest) = wire.split_at(30_000);
        let buf = s.read_buf(first.len() + 10_000);
        let lent = buf.len();
        buf[..first.len()].copy_from_slice(first);
        // Scribble on the room lent beyond what is reported filled.
        buf[first.len()..].fill(0xee);
        s.filled(first.len());
        assert_eq!(s.poll_event().unwrap(), None);
        // A drained socket: the adapter shrinks. The frame's room stays lent
        // as it is, not truncated and zeroed again for the next read.
        s.shrink_buffers();
        let again = s.read_buf(lent - first.len());
        assert!(again.iter().all(|&b| b == 0xee));
        let n = rest.len().min(again.len());
        again[..n].copy_from_slice(&rest[..n]);
        s.filled(n);
        let events = feed(&mut s, &rest[n..]);
        assert_eq!(events, vec![Ok(Event::Message(Message::binary(payload)))]);
    }

    #[test]
    fn shrink_buffers_keeps_partial_input_and_unsent_output() {
        let mut s = server();
        let wire = masked(0x81, b"split frame");
        let _ = feed(&mut s, &wire[..5]);
        s.send_text("queued").unwrap();
        s.shrink_buffers();
        assert_eq!(s.buffered_input(), 5);
        assert_eq!(pending(&s), b"\x81\x06queued");
        assert_eq!(feed(&mut s, &wire[5..]), vec![Ok(text("split frame"))]);
        let n = s.output_len();
        s.advance_output(n);
        // Empty buffers are dropped; the connection keeps working.
        s.shrink_buffers();
        assert_eq!(
            feed(&mut s, &masked(0x81, b"again")),
            vec![Ok(text("again"))]
        );
    }

    #[test]
    fn streaming_mode_yields_fragments_as_they_arrive() {
        let config = Config {
            streaming: true,
            ..Config::default()
        };
        let mut s = conn(Role::Server, config);
        let mut wire = masked(0x01, "héllo ".as_bytes());
        wire.extend(masked(0x80, b"world"));
        let mut got = Vec::new();
        for piece in wire.chunks(4) {
            for e in feed(&mut s, piece) {
                match e.unwrap() {
                    Event::Fragment(f) => got.push(f),
                    other => panic!("{other:?}"),
                }
            }
        }
        assert!(got[0].first && !got[0].last);
        assert!(got.iter().all(|f| f.kind == MessageKind::Text));
        assert!(got.last().unwrap().last);
        let joined: Vec<u8> = got.iter().flat_map(|f| f.data.to_vec()).collect();
        assert_eq!(joined, "héllo world".as_bytes());
        // Invalid UTF-8 is still caught, mid-stream.
        let mut s = conn(
            Role::Server,
            Config {
                streaming: true,
                ..Config::default()
            },
        );
        let events = feed(&mut s, &masked(0x01, b"ok\xff"));
        assert!(matches!(
            events.last(),
            Some(Err(ProtocolError::InvalidUtf8))
        ));
    }
}

mod borrowed_events {
    //! `poll_event_ref` lends payloads from the input buffer.
    use super::*;

    #[test]
    fn short_frames_are_lent_in_place_and_released_by_the_next_call() {
        let mut s = server();
        let mut wire = masked(0x81, b"Hello");
        wire.extend(masked(0x82, &[1, 2, 3]));
        wire.extend(masked(0x81, b"partial")[..4].iter());
        s.receive(&wire);
        assert_eq!(s.poll_event_ref().unwrap(), Some(EventRef::Text("Hello")));
        // The lent frame no longer counts as input.
        assert_eq!(s.buffered_input(), wire.len() - 11);
        assert_eq!(
            s.poll_event_ref().unwrap(),
            Some(EventRef::Binary(&[1, 2, 3][..]))
        );
        assert_eq!(s.poll_event_ref().unwrap(), None);
        assert_eq!(s.buffered_input(), 4);
        // More input after a loan: the rest of the partial frame.
        s.receive(&masked(0x81, b"partial")[4..]);
        assert_eq!(s.poll_event_ref().unwrap(), Some(EventRef::Text("partial")));
        assert_eq!(s.poll_event_ref().unwrap(), None);
        assert_eq!(s.buffered_input(), 0);
    }

    #[test]
    fn general_path_messages_and_control_frames_are_lent_too() {
        let mut s = server();
        // A fragmented text message with a ping between its frames, then a
        // binary message too long for the 7-bit length.
        let mut wire = masked(0x01, b"frag");
        wire.extend(masked(0x89, b"p"));
        wire.extend(masked(0x80, b"mented"));
        let big = vec![9u8; 300];
        wire.extend(masked(0x82, &big));
        s.receive(&wire);
        assert_eq!(
            s.poll_event_ref().unwrap(),
            Some(EventRef::Other(Event::Ping(Bytes::from_static(b"p"))))
        );
        assert_eq!(
            s.poll_event_ref().unwrap(),
            Some(EventRef::Text("fragmented"))
        );
        assert_eq!(
            s.poll_event_ref().unwrap(),
            Some(EventRef::Binary(&big[..]))
        );
        assert_eq!(s.poll_event_ref().unwrap(), None);
    }

    #[test]
    fn invalid_short_text_fails_with_1007() {
        let mut s = server();
        s.receive(&masked(0x81, b"ok\xe2\x82"));
        match s.poll_event_ref() {
            Err(Error::Protocol(ProtocolError::InvalidUtf8)) => {}
            other => panic!("expected InvalidUtf8, got {other:?}"),
        }
        assert_eq!(sent_close_code(&s), 1007);
        assert_eq!(s.state(), State::Closed { clean: false });
        s.receive(&masked(0x81, b"more"));
        assert_eq!(s.poll_event_ref().unwrap(), None);
    }

    #[test]
    fn taking_from_the_callers_input_declines_what_the_general_path_owns() {
        // Invalid text: declined, then reported by the general path (1007).
        let bad = masked(0x81, b"\xff\xfe");
        let mut s = server();
        assert!(s.take_message_from(&bad).is_none());
        assert_eq!(feed(&mut s, &bad), vec![Err(ProtocolError::InvalidUtf8)]);
        // Unmasked from a client, a fragment, a ping, a 126-byte frame, an
        // incomplete frame: all declined, none consumed.
        let mut s = server();
        let unmasked = [0x81, 0x02, b'h', b'i'];
        let fragment = masked(0x01, b"hi");
        let ping = masked(0x89, b"p");
        let long = masked(0x82, &[1; 126]);
        let whole = masked(0x81, b"hello");
        // Both ways of taking (into an allocation, into the caller's
        // buffer) decline alike.
        let mut out = [0u8; SHORT_MAX];
        let mut declines = |s: &mut Connection, input: &[u8]| {
            s.take_message_into(input, &mut out).is_none() && s.take_message_from(input).is_none()
        };
        for input in [
            &unmasked[..],
            &fragment,
            &ping,
            &long,
            &whole[..whole.len() - 1],
            &bad,
        ] {
            assert!(declines(&mut s, input), "{input:?}");
        }
        // Input already buffered comes first: nothing is taken past it.
        s.receive(&whole[..3]);
        assert!(declines(&mut s, &whole));
        s.receive(&whole[3..]);
        assert_eq!(s.poll_event().unwrap(), Some(text("hello")));
        // A message in progress: a new whole frame would break its order.
        s.receive(&fragment);
        assert_eq!(s.poll_event().unwrap(), None);
        assert!(declines(&mut s, &whole));
        // After the peer's close, nothing more is decoded.
        let mut s = server();
        s.receive(&masked(0x88, &[0x03, 0xe8]));
        assert!(matches!(s.poll_event().unwrap(), Some(Event::Close(_))));
        assert!(declines(&mut s, &whole));
        // A taken message equals the owned one, unmasked, text validated.
        let mut s = server();
        let (message, used) = s.take_message_from(&whole).expect("taken");
        assert_eq!(
            (Event::Message(message), used),
            (text("hello"), whole.len())
        );
        assert_eq!(s.buffered_input(), 0);
        let mut out = [0u8; SHORT_MAX];
        let mut twice = whole.clone();
        twice.extend_from_slice(&masked(0x82, &[9; SHORT_MAX]));
        let short = s.take_message_into(&twice, &mut out).expect("taken");
        assert_eq!(
            (&out[..short.len], short.text, short.used),
            (&b"hello"[..], true, whole.len())
        );
        let short = s
            .take_message_into(&twice[whole.len()..], &mut out)
            .expect("taken");
        assert_eq!(
            (&out[..short.len], short.text),
            (&[9; SHORT_MAX][..], false)
        );
        assert_eq!(short.used, twice.len() - whole.len());
    }

    #[test]
    fn a_short_message_encoded_for_the_caller_is_the_frame_send_queues() {
        let mut frame = [0u8; SHORT_FRAME_MAX];
        // Server: unmasked, byte for byte what `send` queues.
        let mut s = server();
        let mut queued = server();
        for (kind, payload) in [
            (MessageKind::Text, &b"hi"[..]),
            (MessageKind::Binary, &[7; SHORT_MAX][..]),
            (MessageKind::Binary, &[][..]),
        ] {
            let len = s
                .encode_short(kind, payload, &mut frame)
                .unwrap()
                .expect("short");
            s.commit_encoded(&frame[..len], len);
            match kind {
                MessageKind::Text => queued.send_text(core::str::from_utf8(payload).unwrap()),
                MessageKind::Binary => queued.send_binary(payload),
            }
            .unwrap();
            assert_eq!(&frame[..len], &pending(&queued)[..]);
            queued.advance_output(len);
        }
        assert_eq!(s.output_len(), 0);
        // Client: masked with a fresh key; the server reads it back.
        let mut c = client();
        let len = c
            .encode_short(MessageKind::Text, b"masked", &mut frame)
            .unwrap()
            .expect("short");
        assert_eq!(frame[1], 0x80 | 6);
        let mut reader = server();
        assert_eq!(feed(&mut reader, &frame[..len]), vec![Ok(text("masked"))]);
        // What the transport did not take is queued, in order, and the
        // queue's positions stay right: an automatic pong queued next still
        // replaces its unsent predecessor only.
        c.commit_encoded(&frame[..len], 3);
        assert_eq!(c.output_len(), len - 3);
        assert_eq!(pending(&c), &frame[3..len]);
        c.receive(&[0x89, 0x01, b'a']);
        c.receive(&[0x89, 0x01, b'b']);
        while c.poll_event().unwrap().is_some() {}
        let rest = pending(&c);
        assert_eq!(&rest[..len - 3], &frame[3..len]);
        let mut reader2 = server();
        reader2.receive(&frame[..3]);
        let events = feed(&mut reader2, &rest);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0], Ok(text("masked")));
        assert!(matches!(&events[1], Ok(Event::Pong(p)) if &p[..] == b"b"));
        // Written whole, then a pong partly sent: the next ping's pong goes
        // after it, since the queue counts the direct frame as written.
        let mut c = client();
        let len = c
            .encode_short(MessageKind::Binary, b"direct", &mut frame)
            .unwrap()
            .expect("short");
        c.commit_encoded(&frame[..len], len);
        c.receive(&[0x89, 0x01, b'a']);
        while c.poll_event().unwrap().is_some() {}
        let first_byte = pending(&c)[0];
        c.advance_output(1);
        c.receive(&[0x89, 0x01, b'b']);
        while c.poll_event().unwrap().is_some() {}
        let mut wire = frame[..len].to_vec();
        wire.push(first_byte);
        wire.extend_from_slice(&pending(&c));
        let events = feed(&mut server(), &wire);
        assert_eq!(events.len(), 3, "{events:?}");
        assert!(matches!(&events[1], Ok(Event::Pong(p)) if &p[..] == b"a"));
        assert!(matches!(&events[2], Ok(Event::Pong(p)) if &p[..] == b"b"));
    }

    #[test]
    fn encoding_for_the_caller_declines_what_must_be_queued() {
        let mut frame = [0u8; SHORT_FRAME_MAX];
        // Something queued already: the frame would overtake it.
        let mut s = server();
        s.send_text("first").unwrap();
        assert_eq!(
            s.encode_short(MessageKind::Text, b"second", &mut frame)
                .unwrap(),
            None
        );
        // Too long for one short frame, or for the fragment size.
        let mut s = server();
        assert_eq!(
            s.encode_short(MessageKind::Binary, &[0; SHORT_MAX + 1], &mut frame)
                .unwrap(),
            None
        );
        let mut s = conn(
            Role::Server,
            Config {
                fragment_size: Some(4),
                ..Config::default()
            },
        );
        assert_eq!(
            s.encode_short(MessageKind::Binary, b"fragmented", &mut frame)
                .unwrap(),
            None
        );
        // A fragmented send in progress, or our close sent: refused as
        // `send` refuses.
        let mut s = server();
        s.send_fragment(MessageKind::Text, b"part", false).unwrap();
        let n = s.output_len();
        s.advance_output(n);
        assert!(matches!(
            s.encode_short(MessageKind::Text, b"x", &mut frame),
            Err(Error::FragmentOutOfOrder)
        ));
        let mut s = server();
        s.close(CloseCode::NORMAL, "").unwrap();
        let n = s.output_len();
        s.advance_output(n);
        assert!(matches!(
            s.encode_short(MessageKind::Text, b"x", &mut frame),
            Err(Error::SendAfterClose)
        ));
    }

    #[test]
    fn owned_and_borrowed_reads_can_alternate() {
        let mut c = client();
        let mut s = server();
        for i in 0..6u8 {
            c.send(Message::binary(vec![i; usize::from(i) * 40]))
                .unwrap();
        }
        s.receive(&pending(&c));
        let mut seen = Vec::new();
        for i in 0..6 {
            let event = if i % 2 == 0 {
                s.poll_event().unwrap()
            } else {
                s.poll_event_ref().unwrap().map(EventRef::into_owned)
            };
            seen.push(event.expect("a message"));
        }
        let expected: Vec<Event> = (0..6u8)
            .map(|i| Event::Message(Message::binary(vec![i; usize::from(i) * 40])))
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(s.buffered_input(), 0);
    }

    mod split_input {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any split of any message sequence (with pings between) gives
            /// the same events borrowed as owned, read straight into the
            /// connection's buffer, handed in as a slice or handed over as
            /// a buffer of its own, or with short messages taken straight
            /// out of each piece first (`take_message_from`, or
            /// `take_message_into` the caller's buffer).
            #[test]
            fn borrowed_events_equal_owned_events(
                messages in proptest::collection::vec(
                    prop_oneof![
                        "\\PC{0,200}".prop_map(Message::text),
                        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Message::binary),
                    ],
                    1..8,
                ),
                fragment_size in proptest::option::of(1usize..64),
                mut cuts in proptest::collection::vec(0usize..3000, 0..12),
                how in 0u8..5,
            ) {
                cuts.sort_unstable();
                let mut sender = conn(Role::Client, Config { fragment_size, ..Config::default() });
                for (i, m) in messages.iter().enumerate() {
                    sender.send(m.clone()).unwrap();
                    if i % 3 == 1 {
                        sender.send_ping(b"between").unwrap();
                    }
                }
                let wire = pending(&sender);
                let mut owned_side = server();
                let mut borrowed_side = server();
                let mut want = Vec::new();
                let mut got = Vec::new();
                let mut pos = 0;
                for &cut in cuts.iter().chain(core::iter::once(&wire.len())) {
                    let cut = cut.clamp(pos, wire.len());
                    let piece = &wire[pos..cut];
                    pos = cut;
                    owned_side.receive(piece);
                    while let Some(e) = owned_side.poll_event().unwrap() {
                        want.push(e);
                    }
                    let mut piece = piece;
                    if how == 3 {
                        while let Some((message, used)) = borrowed_side.take_message_from(piece) {
                            got.push(Event::Message(message));
                            piece = &piece[used..];
                        }
                    }
                    let mut out = [0u8; SHORT_MAX];
                    while let Some(short) = (how == 4)
                        .then(|| borrowed_side.take_message_into(piece, &mut out))
                        .flatten()
                    {
                        let payload = &out[..short.len];
                        got.push(Event::Message(if short.text {
                            Message::text(core::str::from_utf8(payload).unwrap())
                        } else {
                            Message::binary(payload.to_vec())
                        }));
                        piece = &piece[short.used..];
                    }
                    match how {
                        0 => {
                            borrowed_side.read_buf(piece.len())[..piece.len()].copy_from_slice(piece);
                            borrowed_side.filled(piece.len());
                        }
                        1 => borrowed_side.receive_bytes(BytesMut::from(piece)),
                        _ => borrowed_side.receive(piece),
                    }
                    while let Some(e) = borrowed_side.poll_event_ref().unwrap() {
                        got.push(e.into_owned());
                    }
                }
                prop_assert_eq!(got, want);
                prop_assert_eq!(borrowed_side.buffered_input(), 0);
            }
        }
    }
}

mod pair {
    //! A client and a server shuttling bytes with no sockets.
    use super::*;
    use proptest::prelude::*;

    fn shuttle(from: &mut Connection, to: &mut Connection, cuts: &[usize]) -> Vec<Event> {
        let wire = pending(from);
        from.advance_output(wire.len());
        let mut events = Vec::new();
        let mut pos = 0;
        for &cut in cuts.iter().chain(core::iter::once(&wire.len())) {
            let cut = cut.clamp(pos, wire.len());
            for e in feed(to, &wire[pos..cut]) {
                events.push(e.expect("no protocol error between our own endpoints"));
            }
            pos = cut;
        }
        events
    }

    fn message_strategy() -> impl Strategy<Value = Message> {
        prop_oneof![
            "\\PC{0,300}".prop_map(Message::text),
            proptest::collection::vec(any::<u8>(), 0..600).prop_map(Message::binary),
        ]
    }

    proptest! {
        #[test]
        fn messages_arrive_intact_in_both_directions(
            messages in proptest::collection::vec(message_strategy(), 1..8),
            fragment_size in proptest::option::of(1usize..64),
            mut cuts in proptest::collection::vec(0usize..4000, 0..12),
            streaming in any::<bool>(),
        ) {
            cuts.sort_unstable();
            for role in [Role::Client, Role::Server] {
                let send_config = Config { fragment_size, ..Config::default() };
                let recv_config = Config { streaming, ..Config::default() };
                let other = if role == Role::Client { Role::Server } else { Role::Client };
                let mut sender = conn(role, send_config);
                let mut receiver = conn(other, recv_config);
                for m in &messages {
                    sender.send(m.clone()).unwrap();
                }
                let events = shuttle(&mut sender, &mut receiver, &cuts);
                let received: Vec<Message> = if streaming {
                    let mut out = Vec::new();
                    let mut current: Vec<u8> = Vec::new();
                    for e in events {
                        let Event::Fragment(f) = e else { panic!("{e:?}") };
                        current.extend_from_slice(&f.data);
                        if f.last {
                            let data = core::mem::take(&mut current);
                            out.push(match f.kind {
                                MessageKind::Text => Message::text(alloc::string::String::from_utf8(data).unwrap()),
                                MessageKind::Binary => Message::binary(data),
                            });
                        }
                    }
                    out
                } else {
                    events.into_iter().map(|e| match e { Event::Message(m) => m, other => panic!("{other:?}") }).collect()
                };
                prop_assert_eq!(&received, &messages);
            }
        }
    }

    #[test]
    fn full_close_handshake_between_pair() {
        let mut c = client();
        let mut s = server();
        c.send_text("hi").unwrap();
        assert_eq!(shuttle(&mut c, &mut s, &[]), vec![text("hi")]);
        s.close(CloseCode::NORMAL, "done").unwrap();
        assert_eq!(s.state(), State::Closing);
        let events = shuttle(&mut s, &mut c, &[]);
        assert_eq!(
            events,
            vec![Event::Close(Some(CloseFrame::new(
                CloseCode::NORMAL,
                "done"
            )))]
        );
        assert_eq!(c.state(), State::Closed { clean: true });
        let events = shuttle(&mut c, &mut s, &[]);
        assert_eq!(
            events,
            vec![Event::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))]
        );
        assert_eq!(s.state(), State::Closed { clean: true });
        assert!(s.should_close_transport());
        assert!(!c.should_close_transport());
    }
}
