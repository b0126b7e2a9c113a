//! Connection limits and behaviour switches.

/// Settings for one WebSocket connection.
///
/// Defaults are safe for a server facing the internet: messages up to 64 MiB,
/// frames up to 16 MiB, automatic pongs, no automatic fragmentation.
///
/// ```
/// use rfc6455::{Config, Connection, Role};
///
/// // A chat server: small messages only, streamed delivery off.
/// let config = Config {
///     max_output_buffer: Some(1 << 20),
///     ..Config::default().with_max_size(64 * 1024)
/// };
/// let conn = Connection::new(Role::Server, config);
/// assert_eq!(conn.config().max_message_size, 64 * 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Largest frame payload accepted; a larger frame fails with 1009 before
    /// any of its payload is buffered. Outgoing messages are split into
    /// frames no larger than this either, so endpoints with the same limits
    /// always accept each other's frames.
    pub max_frame_size: usize,
    /// Largest message accepted (after decompression); 1009 beyond it.
    pub max_message_size: usize,
    /// Answer every ping with a pong automatically (RFC 6455 §5.5.2).
    pub auto_pong: bool,
    /// Split outgoing messages into frames of at most this many payload bytes.
    pub fragment_size: Option<usize>,
    /// Deliver data as [`Event::Fragment`](crate::Event::Fragment)s as it
    /// arrives instead of whole messages, for messages too big to buffer.
    pub streaming: bool,
    /// High-water mark for pending output: sends that would push the
    /// buffered output past it fail with
    /// [`Error::WouldExceedBuffer`](crate::Error::WouldExceedBuffer) and
    /// queue nothing. Payloads queued shared, without a copy, count as
    /// much as copied ones (they stay in memory until written). `None`: unbounded (the blocking adapter flushes after
    /// every send, so it needs no mark).
    pub max_output_buffer: Option<usize>,
    /// permessage-deflate settings; `None` disables the extension.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            auto_pong: true,
            fragment_size: None,
            streaming: false,
            max_output_buffer: None,
            #[cfg(feature = "deflate")]
            deflate: Some(crate::deflate::DeflateConfig::default()),
        }
    }
}

impl Config {
    /// Set both size limits at once: frames and messages up to `bytes`.
    ///
    /// ```
    /// let config = rfc6455::Config::default().with_max_size(1 << 20);
    /// assert_eq!((config.max_frame_size, config.max_message_size), (1 << 20, 1 << 20));
    /// ```
    pub fn with_max_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self.max_message_size = bytes;
        self
    }
}

/// How many distinct configs a thread remembers for sharing: a server's
/// one, plus the few a process also opens connections with (its clients,
/// a second listener), so that alternating between them still shares.
#[cfg(any(feature = "mio", feature = "tokio"))]
const SHARED_KEPT: usize = 4;

#[cfg(any(feature = "mio", feature = "tokio"))]
std::thread_local! {
    /// The configs of the last connections adapters opened on this thread,
    /// each shared by every later connection with an equal config: a
    /// server's connections normally all have the same settings, so each
    /// holds a pointer instead of a copy (80 bytes, and a cache line read
    /// on every message).
    static SHARED: core::cell::RefCell<alloc::vec::Vec<alloc::sync::Arc<Config>>> =
        const { core::cell::RefCell::new(alloc::vec::Vec::new()) };
}

/// `config`, shared with the connections opened before on this thread when
/// equal (the adapters' way to give every connection an `Arc<Config>`).
#[cfg(any(feature = "mio", feature = "tokio"))]
pub(crate) fn shared(config: &Config) -> alloc::sync::Arc<Config> {
    SHARED.with(|cell| {
        let mut kept = cell.borrow_mut();
        if let Some(shared) = kept.iter().find(|shared| ***shared == *config) {
            return shared.clone();
        }
        let shared = alloc::sync::Arc::new(config.clone());
        if kept.len() == SHARED_KEPT {
            kept.pop();
        }
        kept.insert(0, shared.clone());
        shared
    })
}
