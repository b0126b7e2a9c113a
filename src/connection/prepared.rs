//! Broadcast: a message framed once and sent on many connections.
//!
//! A server never masks (RFC 6455 §5.1), so the frame it sends for a message
//! is the same on every connection: [`PreparedMessage`] encodes its header
//! once, and [`Connection::send_prepared`] queues that header and a shared
//! reference to the payload. Fanning a message out to N clients then costs
//! N small header copies and N writes, and no copy of the payload. A client
//! masks with a fresh key per frame, so it copies (and masks) as `send`
//! does.
//!
//! permessage-deflate would make the frame differ per connection, each
//! compressor with its own history. A prepared message can instead carry
//! the message compressed once as a DEFLATE stream of its own, which every
//! peer that agreed to that window inflates whatever its history (RFC 7692
//! §7.2.1): the compression is paid once per broadcast, not once per
//! connection. A connection with context takeover afterwards resumes its
//! own compression in step with the peer (the codec's `sent_standalone`);
//! under `server_no_context_takeover` there is nothing to resume. A
//! connection that must transform the message otherwise (a smaller
//! agreed window, a smaller frame limit) sends it the general way.

use super::write::data_opcode;
use super::{Connection, Role};
use crate::error::Error;
use crate::frame::{FrameHeader, MAX_HEADER_LEN};
use crate::message::{Message, MessageKind, Utf8Bytes};
use bytes::Bytes;

/// A message encoded once as an unmasked frame, for sending the same
/// message on many connections with [`Connection::send_prepared`].
///
/// ```
/// # use rfc6455::{Config, Connection, Message, PreparedMessage, Role};
/// let news = PreparedMessage::new(Message::text("x".repeat(4096)));
/// let mut clients: Vec<Connection> =
///     (0..3).map(|_| Connection::new(Role::Server, Config::default())).collect();
/// for conn in &mut clients {
///     conn.send_prepared(&news)?; // the header copied, the payload shared
/// }
/// assert!(clients.iter().all(|c| c.output_len() == 4 + 4096));
/// # Ok::<(), rfc6455::Error>(())
/// ```
///
/// For connections with permessage-deflate, `compressed` (feature `deflate`)
/// also compresses the message once, up front, so that a broadcast costs
/// one compression instead of one per connection. Everything is computed
/// at construction: the value is immutable, `Send` and `Sync`, and one
/// prepared message (behind an `Arc` or a reference) serves connections on
/// any number of threads.
#[derive(Clone)]
pub struct PreparedMessage {
    kind: MessageKind,
    /// The message as it is.
    plain: EncodedFrame,
    /// The message compressed as a stream of its own, with the window it
    /// was compressed with.
    #[cfg(feature = "deflate")]
    compressed: Option<(u8, EncodedFrame)>,
}

/// One final, unmasked data frame: its header and its payload.
#[derive(Clone)]
struct EncodedFrame {
    header: [u8; MAX_HEADER_LEN],
    header_len: u8,
    payload: Bytes,
    /// RFC 7692 §6: the payload is compressed.
    rsv1: bool,
}

impl EncodedFrame {
    fn new(kind: MessageKind, payload: Bytes, rsv1: bool) -> Self {
        // `Bytes` made from a `Vec` switch to a reference count on their
        // first clone, which allocates: pay that here, once, rather than on
        // the first connection's send.
        drop(payload.clone());
        let mut head = FrameHeader::new(data_opcode(kind), payload.len() as u64);
        head.rsv1 = rsv1;
        let mut header = [0; MAX_HEADER_LEN];
        let header_len = head.encode(&mut header);
        EncodedFrame {
            header,
            header_len: header_len as u8,
            payload,
            rsv1,
        }
    }

    fn header(&self) -> &[u8] {
        &self.header[..usize::from(self.header_len)]
    }
}

impl PreparedMessage {
    /// Frame `message` (text or binary) once.
    pub fn new(message: impl Into<Message>) -> Self {
        let message = message.into();
        let kind = message.kind();
        let payload = match message {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(bytes) => bytes,
        };
        PreparedMessage {
            kind,
            plain: EncodedFrame::new(kind, payload, false),
            #[cfg(feature = "deflate")]
            compressed: None,
        }
    }

    /// Frame `message` once, and compress it once for connections with
    /// permessage-deflate: as a DEFLATE stream of its own (RFC 7692 §7.2.1,
    /// no reference to anything sent before, the `00 00 ff ff` tail
    /// stripped), with `config`'s level, memory level and
    /// [`server_max_window_bits`](crate::deflate::DeflateConfig::server_max_window_bits)
    /// window: pass the config the server's connections use. A message
    /// under `config`'s threshold is not compressed.
    ///
    /// A connection that would compress the message, and agreed to a
    /// window at least that large, sends these compressed bytes (shared, on
    /// a server); under context takeover its own compressor is then kept in
    /// step with the peer (see [`Connection::send_prepared`]). One that
    /// agreed to a smaller window compresses the message itself, as
    /// [`send`](Connection::send) does; one without deflate sends it plain.
    ///
    /// ```
    /// # use rfc6455::{Config, Connection, Message, PreparedMessage, Role};
    /// # use rfc6455::deflate::{DeflateConfig, DeflateParams};
    /// let config = DeflateConfig::default();
    /// let news = PreparedMessage::compressed(Message::text("news, ".repeat(200)), &config);
    /// assert_eq!(news.window_bits(), Some(15));
    /// let mut conn = Connection::new(Role::Server, Config::default());
    /// conn.set_deflate(&DeflateParams::default()); // as agreed in the handshake
    /// conn.send_prepared(&news)?; // compressed once, for every connection
    /// assert!(conn.output_len() < 100);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[cfg(feature = "deflate")]
    pub fn compressed(message: impl Into<Message>, config: &crate::deflate::DeflateConfig) -> Self {
        let mut prepared = Self::new(message);
        if prepared.len() >= config.threshold {
            let bits = config.server_bits();
            let mut out = alloc::vec::Vec::new();
            crate::deflate::compress_standalone(&prepared.plain.payload, config, bits, &mut out);
            let frame = EncodedFrame::new(prepared.kind, Bytes::from(out), true);
            prepared.compressed = Some((bits, frame));
        }
        prepared
    }

    /// The window bits the compressed form was compressed with, if there
    /// is one (made by `compressed`, feature `deflate`).
    pub fn window_bits(&self) -> Option<u8> {
        #[cfg(feature = "deflate")]
        {
            self.compressed.as_ref().map(|(bits, _)| *bits)
        }
        #[cfg(not(feature = "deflate"))]
        {
            None
        }
    }

    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.plain.payload.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.plain.payload.is_empty()
    }

    /// The message (sharing the payload).
    pub fn to_message(&self) -> Message {
        let payload = self.plain.payload.clone();
        match self.kind {
            MessageKind::Text => Message::Text(Utf8Bytes::from_validated(payload)),
            MessageKind::Binary => Message::Binary(payload),
        }
    }

    /// The encoded frame header of the uncompressed frame (the frame is
    /// this, then the payload).
    pub fn header(&self) -> &[u8] {
        self.plain.header()
    }
}

impl core::fmt::Debug for PreparedMessage {
    /// The kind and lengths: a broadcast payload may be megabytes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut debug = f.debug_struct("PreparedMessage");
        debug.field("kind", &self.kind).field("len", &self.len());
        #[cfg(feature = "deflate")]
        if let Some((bits, frame)) = &self.compressed {
            debug
                .field("window_bits", bits)
                .field("compressed_len", &frame.payload.len());
        }
        debug.finish_non_exhaustive()
    }
}

impl From<Message> for PreparedMessage {
    fn from(message: Message) -> Self {
        PreparedMessage::new(message)
    }
}

impl Connection {
    /// Queue a prepared message: on a server, its header and a shared
    /// reference to its payload (no copy of a payload of 1 KiB or more,
    /// the size from which sharing beats copying); on a client, a copy
    /// masked with a fresh key.
    ///
    /// With permessage-deflate, a message this connection would compress
    /// goes out as the prepared compressed form
    /// (`PreparedMessage::compressed`, feature `deflate`) when its window is within the one
    /// we agreed to: no compression here. Under context takeover the
    /// peer's LZ77 window then holds the message, so our compressor is
    /// brought in step (its saved history extended, or the stream reset:
    /// RFC 7692 §7.1.1 lets a compressor stop referring to earlier data at
    /// any time) before our next message. Otherwise (no compressed form,
    /// or a window larger than agreed) the message is compressed as
    /// [`send`](Self::send) would. A message whose frame exceeds our frame
    /// limit ([`Config::fragment_size`](crate::Config::fragment_size),
    /// [`Config::max_frame_size`](crate::Config::max_frame_size)) is sent
    /// as `send` would. Errors as `send`.
    pub fn send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), Error> {
        let Some(frame) = self.prepared_frame(prepared) else {
            return self.send(prepared.to_message());
        };
        self.check_can_send_message()?;
        self.check_room(frame.payload.len())?;
        if self.role == Role::Client {
            // RFC 6455 §5.3: a fresh key per frame, so the frame differs per
            // connection.
            let opcode = data_opcode(prepared.kind);
            let rng = &mut *self.rng;
            self.write
                .push_frame(opcode, true, frame.rsv1, &frame.payload, rng, self.role);
        } else {
            // A reference count, not a copy (see `EncodedFrame::new`).
            self.write
                .push_unmasked(frame.header(), frame.payload.clone());
        }
        #[cfg(feature = "deflate")]
        if frame.rsv1 {
            if let Some(deflate) = self.deflate.as_mut() {
                deflate.sent_standalone(&prepared.plain.payload);
            }
        }
        Ok(())
    }

    /// The frame this connection sends for `prepared`, or `None` when it
    /// must go through [`send`](Self::send): a message to compress with no
    /// compressed form valid here, or a frame over our limit (`send`
    /// splits it).
    fn prepared_frame<'a>(&self, prepared: &'a PreparedMessage) -> Option<&'a EncodedFrame> {
        #[cfg(feature = "deflate")]
        let frame = match self.deflate.as_deref() {
            Some(deflate) if deflate.should_compress(prepared.len()) => {
                let (bits, frame) = prepared.compressed.as_ref()?;
                // RFC 7692 §7.1.2: never a window larger than agreed.
                deflate.accepts_standalone(*bits).then_some(frame)?
            }
            _ => &prepared.plain,
        };
        #[cfg(not(feature = "deflate"))]
        let frame = &prepared.plain;
        (frame.payload.len() <= self.max_send_frame()).then_some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::rng::FastRng;
    use alloc::boxed::Box;
    use alloc::vec;
    use alloc::vec::Vec;

    fn server() -> Connection {
        Connection::new(Role::Server, Config::default())
    }

    #[test]
    fn a_server_sends_the_same_bytes_as_send() {
        for len in [0, 5, 125, 126, 1023, 1024, 70_000] {
            let message = Message::binary(vec![b'p'; len]);
            let prepared = PreparedMessage::new(message.clone());
            let (mut a, mut b) = (server(), server());
            a.send_prepared(&prepared).unwrap();
            b.send(message).unwrap();
            assert_eq!(a.take_output(), b.take_output(), "len {len}");
        }
    }

    #[test]
    fn a_large_payload_is_shared_not_copied() {
        let prepared = PreparedMessage::new(Message::text("y".repeat(4096)));
        let mut conn = server();
        conn.send_prepared(&prepared).unwrap();
        let chunks: Vec<&[u8]> = conn.output_chunks().collect();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0], b"\x81\x7e\x10\x00");
        assert_eq!(
            chunks[1].as_ptr(),
            prepared.plain.payload.as_ptr(),
            "the same memory"
        );
    }

    #[test]
    fn a_client_masks_each_send_with_a_fresh_key() {
        let prepared = PreparedMessage::new(Message::binary(vec![0u8; 2000]));
        let mut client = Connection::with_rng(
            Role::Client,
            Config::default(),
            Box::new(FastRng::from_seed(3)),
        );
        client.send_prepared(&prepared).unwrap();
        client.send_prepared(&prepared).unwrap();
        let wire = client.take_output();
        let frame = 4 + 4 + 2000;
        assert_eq!(wire.len(), 2 * frame);
        assert_eq!(wire[1], 0x80 | 126, "masked");
        // A zero payload masked shows the key; the two keys differ.
        let (first, second) = (&wire[8..12], &wire[frame + 8..frame + 12]);
        assert_eq!(first, &wire[4..8]);
        assert_ne!(first, second);
    }

    #[test]
    fn a_smaller_frame_limit_splits_as_send_does() {
        let config = Config {
            fragment_size: Some(1500),
            ..Config::default()
        };
        let message = Message::binary(vec![b'f'; 4000]);
        let prepared = PreparedMessage::new(message.clone());
        let mut a = Connection::new(Role::Server, config.clone());
        let mut b = Connection::new(Role::Server, config);
        a.send_prepared(&prepared).unwrap();
        b.send(message).unwrap();
        let wire = a.take_output();
        assert_eq!(wire, b.take_output());
        assert_eq!(wire[0], 0x02, "a first fragment, not final");
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn a_compressing_connection_sends_it_as_send_does() {
        let text = "compress me, compress me, compress me ".repeat(100);
        let prepared = PreparedMessage::new(Message::text(text.as_str()));
        let params = crate::deflate::DeflateParams::default();
        let (mut a, mut b) = (server(), server());
        a.set_deflate(&params);
        b.set_deflate(&params);
        a.send_prepared(&prepared).unwrap();
        b.send(Message::text(text.as_str())).unwrap();
        let wire = a.take_output();
        assert_eq!(wire, b.take_output());
        // RFC 7692 §6: RSV1 set, and far fewer bytes than the text.
        assert_eq!(wire[0], 0xc1);
        assert!(wire.len() < text.len() / 10, "{} bytes", wire.len());
    }

    #[test]
    fn the_high_water_mark_counts_the_shared_payload() {
        let config = Config {
            max_output_buffer: Some(10_000),
            ..Config::default()
        };
        let mut conn = Connection::new(Role::Server, config);
        let prepared = PreparedMessage::new(Message::binary(vec![1u8; 4000]));
        conn.send_prepared(&prepared).unwrap();
        conn.send_prepared(&prepared).unwrap();
        assert_eq!(conn.output_len(), 2 * 4004);
        assert!(matches!(
            conn.send_prepared(&prepared),
            Err(Error::WouldExceedBuffer)
        ));
        conn.advance_output(4004);
        conn.send_prepared(&prepared).unwrap();
    }
}
