//! Broadcast: a message framed once and sent on many connections.
//!
//! A server never masks (RFC 6455 §5.1), so the frame it sends for a message
//! is the same on every connection: [`PreparedMessage`] encodes its header
//! once, and [`Connection::send_prepared`] queues that header and a shared
//! reference to the payload. Fanning a message out to N clients then costs
//! N small header copies and N writes, and no copy of the payload. A client
//! masks with a fresh key per frame, so it copies (and masks) as `send`
//! does; a connection that must transform or split the message (compression,
//! a smaller frame limit) sends it the general way.

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
#[derive(Clone)]
pub struct PreparedMessage {
    kind: MessageKind,
    payload: Bytes,
    /// The header of the message as one final, unmasked frame.
    header: [u8; MAX_HEADER_LEN],
    header_len: u8,
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
        // `Bytes` made from a `Vec` switch to a reference count on their
        // first clone, which allocates: pay that here, once, rather than on
        // the first connection's send.
        drop(payload.clone());
        let mut header = [0; MAX_HEADER_LEN];
        let header_len =
            FrameHeader::new(data_opcode(kind), payload.len() as u64).encode(&mut header);
        PreparedMessage {
            kind,
            payload,
            header,
            header_len: header_len as u8,
        }
    }

    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }

    /// The message (sharing the payload).
    pub fn to_message(&self) -> Message {
        match self.kind {
            MessageKind::Text => Message::Text(Utf8Bytes::from_validated(self.payload.clone())),
            MessageKind::Binary => Message::Binary(self.payload.clone()),
        }
    }

    /// The encoded frame header (the frame is this, then the payload).
    pub fn header(&self) -> &[u8] {
        &self.header[..usize::from(self.header_len)]
    }
}

impl core::fmt::Debug for PreparedMessage {
    /// The kind and length: a broadcast payload may be megabytes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedMessage")
            .field("kind", &self.kind)
            .field("len", &self.len())
            .finish_non_exhaustive()
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
    /// the size from which sharing beats copying); on
    /// a client, a copy masked with a fresh key. A connection that
    /// compresses, or whose frame limit
    /// ([`Config::fragment_size`](crate::Config::fragment_size),
    /// [`Config::max_frame_size`](crate::Config::max_frame_size)) the
    /// message exceeds, sends it as [`send`](Self::send) would. Errors as
    /// `send`.
    pub fn send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), Error> {
        let Some(header) = self.prepared_frame(prepared) else {
            return self.send(prepared.to_message());
        };
        self.check_can_send_message()?;
        self.check_room(prepared.len())?;
        if self.role == Role::Client {
            // RFC 6455 §5.3: a fresh key per frame, so the frame differs per
            // connection.
            let opcode = data_opcode(prepared.kind);
            let rng = &mut *self.rng;
            self.write
                .push_frame(opcode, true, false, &prepared.payload, rng, self.role);
        } else {
            // A reference count, not a copy (see `PreparedMessage::new`).
            self.write.push_unmasked(header, prepared.payload.clone());
        }
        Ok(())
    }

    /// The frame header this connection sends for `prepared`, or `None`
    /// when it must go through [`send`](Self::send): compression transforms
    /// the payload (a compressed-once variant would pick its frame here),
    /// and a payload over our frame limit is split.
    fn prepared_frame<'a>(&self, prepared: &'a PreparedMessage) -> Option<&'a [u8]> {
        if self.is_compressed() || prepared.len() > self.max_send_frame() {
            return None;
        }
        Some(prepared.header())
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
            prepared.payload.as_ptr(),
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
