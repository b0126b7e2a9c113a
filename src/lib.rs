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
//! feature `std`, on by default; its sockets split into a reader and a
//! writer for two threads) and `mio` (a non-blocking adapter for mio
//! event loops, feature `mio`). The `rustls` feature adds `wss://` to both.
//! Both answer the same questions with the same names: `state()`,
//! `protocol()`, `response()` (a client's `101`), `request()` (a server's
//! accepted request), `send`, `send_ping`, `send_pong`, `send_fragment`,
//! `close`. Types from other crates in the API are re-exported:
//! [`bytes`], `rustls`, `mio::mio`.
//!
//! Their clients go through HTTP `CONNECT` and SOCKS5 proxies, taken from
//! `HTTP_PROXY` and friends by default ([`proxy`], [`ProxyConfig`]); the
//! proxy exchanges are sans-IO state machines too.
//!
//! **permessage-deflate in debug builds.** The `deflate` feature (on by
//! default) compresses with `zlib-rs`, which is many times slower without
//! optimization, and this crate's profile settings do not reach your build.
//! Add these two lines to your `Cargo.toml` so a debug build of your
//! program compresses at full speed:
//!
//! ```toml
//! [profile.dev.package.zlib-rs]
//! opt-level = 3
//! ```
//!
//! ```
//! use rfc6455::{Config, Connection, Event, Message, Role};
//!
//! // Two endpoints shuttling bytes in memory: no sockets needed.
//! let mut client = Connection::new(Role::Client, Config::default());
//! let mut server = Connection::new(Role::Server, Config::default());
//!
//! client.send(Message::text("hello"))?;
//! let wire = client.take_output(); // a socket would use write_output
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
pub mod proxy;
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

/// The `bytes` this crate was built with: [`Message`] payloads are
/// [`bytes::Bytes`], so `From<Bytes>` works without a version to match.
pub use bytes;

pub use close::{CloseCode, CloseFrame, ClosedBy};
pub use config::Config;
pub use connection::{Connection, Event, EventRef, Fragment, PreparedMessage, Role, State};
pub use error::{Error, ProtocolError};
pub use handshake::{
    AcceptOptions, ClientHandshake, ClientOptions, HandshakeError, Request, ServerResponse, WsUrl,
};
pub use message::{Message, MessageKind, MessageRef, Utf8Bytes};
pub use proxy::{ProxyConfig, ProxyError};
pub use rng::{FastRng, RandomSource};
pub use timer::{Keepalive, Timeout, Timeouts};
pub use upgrade::{ClientUpgrade, ServerUpgrade};

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
