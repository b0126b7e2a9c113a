//! # rfc6455
//!
//! A WebSocket implementation (RFC 6455, with permessage-deflate from
//! RFC 7692 behind the `deflate` feature) built around a **sans-IO** core.
//!
//! The core does no networking, reads no clock and starts no thread: a
//! [`Connection`] takes the bytes you received and gives back [`Event`]s, and
//! turns your `send`/`close` calls into bytes for you to write. The opening
//! handshake works the same way ([`ClientUpgrade`], [`ServerUpgrade`]). That
//! makes the protocol logic testable byte by byte, usable from any event
//! loop, and buildable with `--no-default-features` as `#![no_std]` + `alloc`.
//!
//! Deadlines (handshake timeout, keepalive ping, pong and close timeouts)
//! are sans-IO too: [`Keepalive`] is told the time and says what is due.
//!
//! Adapters that do I/O sit on top: `blocking` (any `Read + Write`,
//! feature `std`, on by default) and `mio` (a non-blocking adapter for mio
//! event loops, feature `mio`). The `rustls` feature adds `wss://` to both.
//!
//! ```
//! use rfc6455::{Config, Connection, Event, Message, Role};
//!
//! // Two endpoints shuttling bytes in memory: no sockets needed.
//! let mut client = Connection::new(Role::Client, Config::default());
//! let mut server = Connection::new(Role::Server, Config::default());
//!
//! client.send(Message::text("hello"))?;
//! let wire = client.pending_output().to_vec();
//! client.advance_output(wire.len());
//!
//! server.receive(&wire);
//! while let Some(event) = server.poll_event()? {
//!     if let Event::Message(message) = event {
//!         assert_eq!(message.as_text(), Some("hello"));
//!         server.send(message)?; // echo
//!     }
//! }
//! assert!(server.has_pending_output());
//! # Ok::<(), rfc6455::Error>(())
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod close;
pub mod config;
pub mod connection;
mod copy;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod message;
pub mod rng;
pub mod timer;
pub mod upgrade;
pub mod utf8;

#[cfg(feature = "std")]
pub mod blocking;
#[cfg(feature = "mio")]
pub mod mio;
#[cfg(feature = "tokio")]
pub mod tokio;

/// The rustls this crate was built with, for building TLS configurations
/// of the matching version.
#[cfg(feature = "rustls")]
pub use rustls;

pub use close::{CloseCode, CloseFrame};
pub use config::Config;
pub use connection::{Connection, Event, EventRef, Fragment, Role, State};
pub use error::{Error, ProtocolError};
pub use handshake::{
    AcceptOptions, ClientHandshake, ClientOptions, HandshakeError, Request, ServerResponse, WsUrl,
};
pub use message::{Message, MessageKind, Utf8Bytes};
pub use rng::{FastRng, RandomSource};
pub use timer::{Keepalive, Timeouts};
pub use upgrade::{ClientUpgrade, ServerUpgrade};

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
