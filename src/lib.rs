//! rfc6455: a sans-IO WebSocket implementation.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod close;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod error;
pub mod handshake;
pub mod message;
pub mod rng;

pub use close::{CloseCode, CloseFrame};
pub use error::{Error, ProtocolError};
pub use message::{Message, MessageKind, Utf8Bytes};
pub use rng::{FastRng, RandomSource};
