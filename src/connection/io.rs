//! Reading from a `std::io::Read` sized to the traffic, for the adapters.

use super::Connection;
use std::io::{self, Read};

/// A frame that still lacks at least this many bytes is read straight into
/// the connection's input buffer, where its message will be split off
/// without a copy, instead of through the caller's scratch buffer (the
/// input buffer is then zeroed once instead of copied into: half the
/// memory traffic).
const DIRECT_READ_MIN: usize = 64 << 10;

/// At most this many bytes are lent (and zeroed) for one direct read, so
/// a peer that announces a huge frame and trickles it makes us touch no
/// more memory ahead of its data than this; a socket rarely has more
/// ready at once.
const DIRECT_READ_MAX: usize = 256 << 10;

/// Bytes asked for at least, when reading straight into the input buffer
/// for want of a scratch buffer.
const MIN_READ: usize = 4096;

impl Connection {
    /// One read from `r` into the connection, sized to what is coming: the
    /// rest of a large frame (see [`input_needed`](Self::input_needed))
    /// straight into the input buffer, anything else into `scratch` and
    /// then copied (so an idle connection holds no input buffer of its
    /// own; with an empty `scratch`, every read goes to the input buffer). Returns the bytes read (0 at end of stream, which the caller
    /// reports with [`receive_eof`](Self::receive_eof)) and the bytes
    /// asked for: a shorter read drained a plain socket.
    pub fn read_from<R: Read + ?Sized>(
        &mut self,
        r: &mut R,
        scratch: &mut [u8],
    ) -> io::Result<(usize, usize)> {
        if let Some(len) = self.direct_read_len(scratch.len()) {
            return self.read_direct(r, len);
        }
        let n = r.read(scratch)?;
        self.receive(&scratch[..n]);
        Ok((n, scratch.len()))
    }

    /// [`read_from`](Self::read_from), with a whole short message that a
    /// read into `scratch` brings at a message boundary returned at once
    /// instead of buffered ([`receive_and_take`](Self::receive_and_take)).
    #[cfg(feature = "mio")]
    pub(crate) fn read_message_from<R: Read + ?Sized>(
        &mut self,
        r: &mut R,
        scratch: &mut [u8],
    ) -> io::Result<(usize, usize, Option<crate::Message>)> {
        if let Some(len) = self.direct_read_len(scratch.len()) {
            let (n, asked) = self.read_direct(r, len)?;
            return Ok((n, asked, None));
        }
        let n = r.read(scratch)?;
        Ok((n, scratch.len(), self.receive_and_take(&scratch[..n])))
    }

    /// One read of up to `len` bytes straight into the input buffer.
    fn read_direct<R: Read + ?Sized>(
        &mut self,
        r: &mut R,
        len: usize,
    ) -> io::Result<(usize, usize)> {
        let buf = self.read_buf(len);
        let asked = buf.len();
        let n = r.read(buf)?;
        self.filled(n);
        Ok((n, asked))
    }

    /// The sizing decision of [`read_from`](Self::read_from), for adapters
    /// whose reads are not `std::io::Read` (tokio's `poll_read`): `Some(n)`
    /// to read up to `n` bytes straight into [`read_buf(n)`](Self::read_buf),
    /// `None` to read into a scratch buffer of `scratch_len` bytes and
    /// [`receive`](Self::receive) the copy.
    pub(crate) fn direct_read_len(&self, scratch_len: usize) -> Option<usize> {
        let needed = self.input_needed();
        let direct = scratch_len == 0 || (needed > 0 && needed >= DIRECT_READ_MIN.min(scratch_len));
        direct.then(|| needed.clamp(MIN_READ, DIRECT_READ_MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::connection::{Event, Role};
    use crate::message::Message;
    use alloc::vec;
    use alloc::vec::Vec;

    /// A reader that hands out at most `limit` bytes per read.
    struct Pieces<'a> {
        data: &'a [u8],
        limit: usize,
        asked: Vec<usize>,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.asked.push(buf.len());
            let n = buf.len().min(self.limit).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn without_scratch_every_read_goes_to_the_input_buffer() {
        let mut server = Connection::new(Role::Server, Config::default());
        let wire = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        let mut socket = Pieces {
            data: &wire,
            limit: 5,
            asked: Vec::new(),
        };
        assert_eq!(server.read_from(&mut socket, &mut []).unwrap().0, 5);
        assert_eq!(server.read_from(&mut socket, &mut []).unwrap().0, 3);
        assert_eq!(server.read_from(&mut socket, &mut []).unwrap().0, 0, "EOF");
        assert_eq!(
            server.poll_event().unwrap(),
            Some(Event::Message(Message::text("hi")))
        );
    }

    #[test]
    fn the_rest_of_a_large_frame_is_read_straight_into_the_input() {
        let mut client = Connection::new(Role::Client, Config::default());
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        client.send(Message::binary(payload.clone())).unwrap();
        client.send(Message::text("after")).unwrap();
        let wire = client.take_output();
        let mut server = Connection::new(Role::Server, Config::default());
        let mut socket = Pieces {
            data: &wire,
            limit: 50_000,
            asked: Vec::new(),
        };
        let mut scratch = vec![0u8; 4096];
        let mut events = Vec::new();
        loop {
            let (n, _) = server.read_from(&mut socket, &mut scratch).unwrap();
            while let Some(event) = server.poll_event().unwrap() {
                events.push(event);
            }
            if n == 0 {
                break;
            }
        }
        assert_eq!(
            events,
            [
                Event::Message(Message::binary(payload)),
                Event::Message(Message::text("after"))
            ]
        );
        // The header came through the scratch buffer; the payload's rest
        // straight into the input buffer, at most 256 KiB asked at a time,
        // then exactly what was still missing.
        assert_eq!(socket.asked[0], 4096);
        assert_eq!(socket.asked[1], DIRECT_READ_MAX);
        assert_eq!(socket.asked[2], 300_000 - (4096 - 14) - 50_000);
    }
}
