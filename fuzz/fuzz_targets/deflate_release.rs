//! permessage-deflate through idle releases: messages compressed by one
//! codec and inflated by the other, in both directions, with either side
//! releasing its zlib streams (keeping only the LZ77 window) at arbitrary
//! points, including between the frames of a message. Whatever the order,
//! every message inflates to exactly what was compressed.
//!
//! Input: `bits` (window sizes and takeover flags, as `deflate_settings`),
//! `level/threshold`, `release flags` (bit 0: the client releases when
//! asked, bit 1: the server does; otherwise the setting is off and a
//! release does nothing), then operations until the input ends:
//! `op, len, bytes, repeat` with op bit 0 the server sends, bit 1 the sender
//! releases after sending, bit 2 the receiver releases before receiving,
//! bit 3 the message arrives in two frames with a release attempt between
//! them, bits 4-7 where to cut it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::Deflate;
use rfc6455_fuzz::{deflate_settings, Input};

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let (params, mut config) = deflate_settings(input.byte(), input.byte());
    let release = input.byte();
    config.release_when_idle = release & 1 != 0;
    let mut client = Deflate::new(&params, &config, true);
    config.release_when_idle = release & 2 != 0;
    let mut server = Deflate::new(&params, &config, false);
    while !input.is_empty() {
        let op = input.byte();
        let len = usize::from(input.byte());
        let chunk = input.bytes(len).to_vec();
        let message = chunk.repeat(usize::from(input.byte() % 16) + 1);
        let (from, to) = if op & 1 != 0 {
            (&mut server, &mut client)
        } else {
            (&mut client, &mut server)
        };
        let mut wire = Vec::new();
        from.compress(&message, &mut wire);
        if op & 2 != 0 {
            from.release(true);
        }
        if op & 4 != 0 {
            to.release(true);
        }
        let mut out = Vec::new();
        if op & 8 != 0 {
            let cut = wire.len() * usize::from(op >> 4) / 16;
            to.decompress(&wire[..cut], false, &mut out, usize::MAX)
                .expect("our own stream inflates");
            to.release(true);
            to.decompress(&wire[cut..], true, &mut out, usize::MAX)
                .expect("our own stream inflates");
        } else {
            to.decompress(&wire, true, &mut out, usize::MAX)
                .expect("our own stream inflates");
        }
        assert!(out == message, "message of {} bytes differs", message.len());
    }
});
