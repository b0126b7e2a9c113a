//! Helpers shared by the fuzz targets: reading settings off the front of an
//! input, splitting bytes into arbitrary reads, draining a connection, and
//! decoding the frames a connection wrote.
//!
//! Every target's input is *raw wire bytes behind a short settings prefix*,
//! not an `arbitrary`-encoded structure, so the checked-in seeds are real
//! frames and real handshakes a person can read with `xxd`.

use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::mask::apply_mask;
use rfc6455::{Config, Connection, Error, Event, ProtocolError, RandomSource, Role};

/// Reads settings bytes off the front of the input; past the end every
/// read is zero, so short inputs still mean something.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// Up to `n` bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Cuts a byte string into reads of pseudo-random sizes: `max_chunk == 0`
/// means one read of everything; otherwise reads are 1..=max_chunk bytes,
/// sized by a xorshift generator seeded from the input.
pub fn split(data: &[u8], seed: u32, max_chunk: u8) -> Vec<&[u8]> {
    if max_chunk == 0 || data.is_empty() {
        return vec![data];
    }
    let mut state = seed | 1;
    let mut chunks = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = 1 + (state % u32::from(max_chunk)) as usize;
        let (head, tail) = rest.split_at(len.min(rest.len()));
        chunks.push(head);
        rest = tail;
    }
    chunks
}

/// A random source that repeats fixed bytes: deterministic masking keys and
/// a `Sec-WebSocket-Key` chosen by the harness.
pub struct FixedRng(pub Vec<u8>, pub usize);

impl RandomSource for FixedRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self
                .0
                .get(self.1 % self.0.len().max(1))
                .copied()
                .unwrap_or(0);
            self.1 += 1;
        }
    }
}

/// Small limits from two settings bytes, so the fuzzer reaches them.
pub fn small_config(flags: u8, frame: u8, message: u8) -> Config {
    let mut config = Config::default().with_max_size(0);
    config.max_frame_size = usize::from(frame) * 8;
    config.max_message_size = usize::from(message) * 16;
    config.streaming = flags & 1 != 0;
    config.auto_pong = flags & 2 != 0;
    config
}

/// Deflate parameters and configuration from one settings byte.
pub fn deflate_settings(bits: u8, threshold: u8) -> (DeflateParams, DeflateConfig) {
    let params = DeflateParams {
        client_max_window_bits: 8 + (bits & 7),
        server_max_window_bits: 8 + ((bits >> 3) & 7),
        client_no_context_takeover: bits & 0x40 != 0,
        server_no_context_takeover: bits & 0x80 != 0,
    };
    let config = DeflateConfig {
        level: u32::from(threshold % 10),
        threshold: usize::from(threshold / 10),
        ..DeflateConfig::default()
    };
    (params, config)
}

/// The events a connection yields until it wants more input, and the
/// protocol error that stopped it, if any. Any other error is a bug.
pub fn drain(conn: &mut Connection, events: &mut Vec<Event>) -> Option<ProtocolError> {
    loop {
        match conn.poll_event() {
            Ok(Some(event)) => events.push(event),
            Ok(None) => return None,
            Err(Error::Protocol(e)) => return Some(e),
            Err(other) => panic!("poll_event failed with a non-protocol error: {other:?}"),
        }
    }
}

/// `drain` through `poll_event_ref`: each lent event is copied out as the
/// owned event `poll_event` would have returned, so the two can be compared.
pub fn drain_borrowed(conn: &mut Connection, events: &mut Vec<Event>) -> Option<ProtocolError> {
    loop {
        match conn.poll_event_ref() {
            Ok(Some(event)) => events.push(event.into_owned()),
            Ok(None) => return None,
            Err(Error::Protocol(e)) => return Some(e),
            Err(other) => panic!("poll_event_ref failed with a non-protocol error: {other:?}"),
        }
    }
}

/// All of a connection's pending output, left queued.
pub fn pending(conn: &Connection) -> Vec<u8> {
    conn.output_chunks().flatten().copied().collect()
}

/// Decodes every frame a connection wrote, checking that our own output is
/// well-formed: whole frames only, masked exactly when we are the client,
/// control frames short and unfragmented, no reserved bits but RSV1.
pub fn frames(mut out: &[u8], role: Role) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut frames = Vec::new();
    while !out.is_empty() {
        let (h, n) = FrameHeader::parse(out)
            .expect("own output has a valid header")
            .expect("own output holds whole headers");
        let len = usize::try_from(h.payload_len).expect("length fits");
        assert!(out.len() >= n + len, "own output holds whole frames");
        assert_eq!(h.mask.is_some(), role == Role::Client, "masking by role");
        assert!(!h.rsv2 && !h.rsv3, "RSV2/RSV3 never sent");
        if h.opcode.is_control() {
            assert!(h.fin && len <= 125 && !h.rsv1, "control frame rules");
        }
        let mut payload = out[n..n + len].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        frames.push((h, payload));
        out = &out[n + len..];
    }
    frames
}

/// The code and reason of a close frame payload.
pub fn close_payload(payload: &[u8]) -> Option<(u16, &str)> {
    let (code, reason) = payload.split_first_chunk::<2>()?;
    let reason = core::str::from_utf8(reason).expect("own close reason is UTF-8");
    Some((u16::from_be_bytes(*code), reason))
}

/// Asserts that the connection answered `error` as documented: its last
/// queued frame is a close carrying `error.close_code()` and the reason.
pub fn assert_failed_with(conn: &Connection, error: &ProtocolError, was_open: bool) {
    assert!(
        conn.state().is_closed(),
        "a protocol error closes: {error:?}"
    );
    let frames = frames(&pending(&conn), conn.role());
    if !was_open {
        return;
    }
    let (h, payload) = frames.last().expect("a close frame is queued");
    assert_eq!(
        h.opcode,
        OpCode::Close,
        "last frame is the close: {error:?}"
    );
    let (code, reason) = close_payload(payload).expect("the close carries a code");
    assert_eq!(code, error.close_code().0, "close code for {error:?}");
    assert_eq!(reason, error.reason());
    // Exactly one close frame, and nothing after it.
    let closes = frames.iter().filter(|(h, _)| h.opcode == OpCode::Close);
    assert_eq!(closes.count(), 1);
}

/// Asserts that every event respects the connection's limits and the
/// protocol: sizes within `config`, text valid UTF-8, fragments in order.
pub fn assert_events_within_limits(events: &[Event], config: &Config, compressed: bool) {
    let mut message_len: Option<usize> = None;
    for event in events {
        match event {
            Event::Message(m) => {
                assert!(message_len.is_none(), "a message inside a streamed one");
                assert!(m.len() <= config.max_message_size, "message over the limit");
                if m.is_text() {
                    assert!(core::str::from_utf8(m.as_bytes()).is_ok(), "text is UTF-8");
                }
            }
            Event::Fragment(f) => {
                assert!(config.streaming, "fragments only in streaming mode");
                assert_eq!(f.first, message_len.is_none(), "first flag");
                if !compressed {
                    assert!(
                        f.data.len() <= config.max_frame_size,
                        "fragment over frame limit"
                    );
                }
                let total = message_len.unwrap_or(0) + f.data.len();
                assert!(
                    total <= config.max_message_size,
                    "streamed message over the limit"
                );
                message_len = if f.last { None } else { Some(total) };
            }
            Event::Ping(p) | Event::Pong(p) => assert!(p.len() <= 125, "control payload"),
            Event::Close(Some(frame)) => {
                assert!(
                    frame.code.is_valid_on_wire(),
                    "close code valid on the wire"
                );
                assert!(frame.reason.len() <= 123, "close reason fits");
            }
            Event::Close(None) => {}
        }
    }
}

/// Streamed fragments joined back into messages (text checked as UTF-8),
/// control events kept, and an unfinished message at the end dropped: how
/// much of a message is delivered before an error depends on the reads.
pub fn normalize(events: &[Event]) -> Vec<Event> {
    let mut out = Vec::new();
    let mut pending: Option<(rfc6455::MessageKind, Vec<u8>)> = None;
    for event in events {
        match event {
            Event::Fragment(f) => {
                let (_, data) = pending.get_or_insert_with(|| (f.kind, Vec::new()));
                data.extend_from_slice(&f.data);
                if f.last {
                    let (kind, data) = pending.take().expect("started above");
                    out.push(Event::Message(match kind {
                        rfc6455::MessageKind::Text => rfc6455::Message::text(
                            String::from_utf8(data).expect("streamed text is UTF-8"),
                        ),
                        rfc6455::MessageKind::Binary => rfc6455::Message::binary(data),
                    }));
                }
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// The connection target for either role.
///
/// Input: `flags, max_frame/8, max_message/16, split seed (4), max read,
/// deflate bits, deflate level/threshold`, then the bytes from the peer.
/// flags: bit 0 streaming, bit 1 auto-pong, bit 2 permessage-deflate.
///
/// The same bytes go to two connections, one in a single read through
/// `poll_event` and one in arbitrary reads through `poll_event_ref`; both
/// must see the same messages and the same error.
pub fn run_connection(role: Role, data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let config = small_config(flags, input.byte(), input.byte());
    let (seed, max_chunk) = (input.u32(), input.byte());
    let deflate = (flags & 4 != 0).then(|| deflate_settings(input.byte(), input.byte()));
    let wire = input.rest();

    let new_conn = || {
        let mut config = config.clone();
        config.deflate = deflate.as_ref().map(|(_, c)| c.clone());
        let mut conn = Connection::with_rng(role, config, Box::new(FixedRng(vec![7, 3, 1, 9], 0)));
        if let Some((params, _)) = &deflate {
            conn.set_deflate(params);
        }
        conn
    };
    // At most one partial frame stays buffered: a header, or the payload of
    // a data frame (within the frame limit) or of a control frame (RFC 6455
    // §5.5: at most 125 bytes, whatever the limit).
    let bound = config.max_frame_size.max(125);

    // The whole input read at once through `poll_event`, then the same
    // input in pieces (copied and handed over in turn) through
    // `poll_event_ref`: the events must agree, so neither the read pattern
    // nor the borrowed API changes what is decoded.
    let mut runs = Vec::new();
    for (borrowed, chunks) in [(false, vec![wire]), (true, split(wire, seed, max_chunk))] {
        let mut conn = new_conn();
        let mut events = Vec::new();
        let mut error = None;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let was_open = conn.state().is_open();
            // The pieces alternate between a copied slice and a buffer
            // handed over (kept as the input buffer when none is pending).
            if borrowed && i % 2 == 1 {
                conn.receive_bytes(bytes::BytesMut::from(chunk));
            } else {
                conn.receive(chunk);
            }
            let before = events.len();
            let failed = if borrowed {
                drain_borrowed(&mut conn, &mut events)
            } else {
                drain(&mut conn, &mut events)
            };
            if let Some(e) = failed {
                assert_failed_with(&conn, &e, was_open);
                error = Some(e);
                // Input after a failure is ignored.
                conn.receive(b"\x81\x00");
                assert!(matches!(conn.poll_event(), Ok(None)));
                break;
            }
            if conn.state().is_open() {
                // Only a partial frame is ever left buffered.
                assert!(
                    conn.buffered_input() <= bound,
                    "input buffered past a frame"
                );
            }
            if events[before..]
                .iter()
                .any(|e| matches!(e, Event::Close(_)))
            {
                // RFC 6455 §5.5.1: the close was answered, and that ends it.
                assert_eq!(conn.state(), rfc6455::State::Closed { clean: true });
                let out = frames(&pending(&conn), role);
                let (h, _) = out.last().expect("close reply queued");
                assert_eq!(h.opcode, OpCode::Close);
            }
        }
        assert_events_within_limits(&events, conn.config(), deflate.is_some());
        // Only pongs and at most one close are ever written in reply.
        for (h, _) in frames(&pending(&conn), role) {
            assert!(matches!(h.opcode, OpCode::Pong | OpCode::Close));
        }
        runs.push((events, error));
    }
    let (split_events, split_error) = runs.pop().expect("two runs");
    let (whole_events, whole_error) = runs.pop().expect("two runs");
    assert_eq!(
        whole_error, split_error,
        "the read pattern or the borrowed API changed the error"
    );
    if config.streaming {
        assert_eq!(normalize(&whole_events), normalize(&split_events));
    } else {
        assert_eq!(
            whole_events, split_events,
            "the read pattern or the borrowed API changed the events"
        );
    }
}
