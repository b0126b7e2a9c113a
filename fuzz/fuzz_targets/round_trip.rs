//! Round trip: arbitrary messages sent by one side decode to exactly the
//! same messages on the other, whatever the reads, with and without
//! permessage-deflate, automatic fragmentation and streaming delivery.
//!
//! Input: `flags, fragment size, deflate bits, deflate level/threshold,
//! split seed (4), max read`, then operations until the input ends:
//! `0` text, `1` binary (`len, bytes, repeat`), `2` ping, `3` pong
//! (`len, bytes`), `4` a message sent in pieces with `send_fragment` (`kind,
//! len, bytes, repeat, pieces, piece lengths...`, a ping between pieces),
//! `5` close (`code, len, reason`), which ends the operations.
//! flags: bit 0 the server sends, bit 1 deflate, bit 2 streaming receiver,
//! bit 3 automatic fragmentation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Event, Message, MessageKind, Role};
use rfc6455_fuzz::{
    assert_events_within_limits, deflate_settings, drain, frames, normalize, pending, split,
    FixedRng, Input,
};

const CODES: [u16; 11] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999,
];

/// `len, bytes, repeat`: a payload up to 255 * 16 bytes, often compressible.
fn payload(input: &mut Input) -> Vec<u8> {
    let len = usize::from(input.byte());
    let chunk = input.bytes(len).to_vec();
    let repeat = usize::from(input.byte() % 16) + 1;
    chunk.repeat(repeat)
}

fn text(input: &mut Input) -> String {
    String::from_utf8_lossy(&payload(input)).into_owned()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.byte();
    let fragment = input.byte();
    let (params, deflate_config) = deflate_settings(input.byte(), input.byte());
    let (seed, max_chunk) = (input.u32(), input.byte());
    let (sender_role, receiver_role) = if flags & 1 == 0 {
        (Role::Client, Role::Server)
    } else {
        (Role::Server, Role::Client)
    };
    let deflate = flags & 2 != 0;

    let mut send_config = Config::default();
    send_config.deflate = Some(deflate_config.clone());
    send_config.fragment_size = (flags & 8 != 0).then_some(usize::from(fragment % 64) + 1);
    let mut sender = Connection::with_rng(
        sender_role,
        send_config,
        Box::new(FixedRng(vec![0x37, 0xfa, 0x21, 0x3d, 0x00, 0xff], 0)),
    );
    let mut recv_config = Config::default().with_max_size(1 << 20);
    recv_config.streaming = flags & 4 != 0;
    recv_config.deflate = Some(deflate_config);
    let mut receiver =
        Connection::with_rng(receiver_role, recv_config, Box::new(FixedRng(vec![1], 0)));
    if deflate {
        sender.set_deflate(&params);
        receiver.set_deflate(&params);
    }

    // What the receiver must see, in order.
    let mut expected = Vec::new();
    let mut streamed = false;
    while !input.is_empty() {
        match input.byte() % 6 {
            0 => {
                let t = text(&mut input);
                sender.send_text(&t).expect("send text");
                expected.push(Event::Message(Message::text(t)));
            }
            1 => {
                let b = payload(&mut input);
                sender.send_binary(&b).expect("send binary");
                expected.push(Event::Message(Message::binary(b)));
            }
            op @ (2 | 3) => {
                let len = usize::from(input.byte() % 126);
                let p = input.bytes(len).to_vec();
                if op == 2 {
                    sender.send_ping(&p).expect("ping");
                    expected.push(Event::Ping(p.into()));
                } else {
                    sender.send_pong(&p).expect("pong");
                    expected.push(Event::Pong(p.into()));
                }
            }
            4 => {
                streamed = true;
                let is_text = input.byte() & 1 == 0;
                let body = if is_text {
                    text(&mut input).into_bytes()
                } else {
                    payload(&mut input)
                };
                let kind = if is_text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                // Pieces cut anywhere, inside code points too (RFC 6455 §5.6:
                // only the whole message must be UTF-8).
                let pieces = usize::from(input.byte() % 5) + 1;
                let mut rest = &body[..];
                for i in 0..pieces {
                    let last = i + 1 == pieces;
                    let take = if last {
                        rest.len()
                    } else {
                        usize::from(input.byte()).min(rest.len())
                    };
                    let (piece, tail) = rest.split_at(take);
                    sender.send_fragment(kind, piece, last).expect("fragment");
                    rest = tail;
                    if !last {
                        // RFC 6455 §5.4: control frames may be injected
                        // in the middle of a fragmented message.
                        sender.send_ping(b"mid").expect("ping");
                        expected.push(Event::Ping(bytes_of(b"mid")));
                    }
                }
                expected.push(Event::Message(if is_text {
                    Message::text(String::from_utf8(body).expect("lossy text"))
                } else {
                    Message::binary(body)
                }));
            }
            _ => {
                let code = CloseCode(CODES[usize::from(input.byte()) % CODES.len()]);
                let len = usize::from(input.byte() % 40);
                let reason = String::from_utf8_lossy(input.bytes(len)).into_owned();
                sender.close(code, &reason).expect("close");
                expected.push(Event::Close(Some(CloseFrame::new(code, reason))));
                break;
            }
        }
    }

    let wire = sender.take_output().to_vec();
    let sent = frames(&wire, sender_role);
    for (h, _) in &sent {
        // RFC 7692 §6.1: RSV1 only on the first frame of a data message.
        assert!(!h.rsv1 || deflate && matches!(h.opcode, OpCode::Text | OpCode::Binary));
        // Automatic fragmentation bounds every data frame sent with `send`
        // (pieces from send_fragment are as long as the caller made them).
        if let (Some(size), false) = (sender.config().fragment_size, streamed) {
            if !h.opcode.is_control() {
                assert!(h.payload_len <= size as u64, "frame over fragment_size");
            }
        }
    }
    let mut events = Vec::new();
    for chunk in split(&wire, seed, max_chunk) {
        receiver.receive(chunk);
        if let Some(e) = drain(&mut receiver, &mut events) {
            panic!("receiver failed on our own output: {e:?}");
        }
    }
    assert_eq!(receiver.buffered_input(), 0, "every byte decoded");
    assert_events_within_limits(&events, receiver.config(), deflate);
    assert_eq!(
        normalize(&events),
        expected,
        "round trip changed the messages"
    );
    if !receiver.config().streaming {
        assert_eq!(events, expected);
    }
    // The receiver answered only with pongs and the close echo.
    for (h, payload) in frames(&pending(&receiver), receiver_role) {
        match h.opcode {
            OpCode::Pong => {}
            OpCode::Close => {
                let Some(Event::Close(Some(frame))) = expected.last() else {
                    panic!("close reply without a close");
                };
                assert_eq!(&payload[..2], &frame.code.0.to_be_bytes());
            }
            other => panic!("receiver sent {other:?}"),
        }
    }
});

fn bytes_of(b: &'static [u8]) -> bytes::Bytes {
    bytes::Bytes::from_static(b)
}
