//! What the `_with_options` functions take in place of a bare [`Config`]:
//! the connection's limits, its deadlines and the high-water mark, the
//! same three settings the `mio` adapter's `Options` carries.

use super::DEFAULT_HIGH_WATER_MARK;
use crate::config::Config;
use crate::timer::{Keepalive, Timeouts};
use tokio::time::Instant;

/// Settings for a WebSocket opened by this adapter.
///
/// Every function that takes a [`Config`] ([`accept_with`](super::accept_with),
/// [`connect_with`](super::connect_with), [`client`](super::client) and, with
/// `rustls`, `accept_tls_with` and `connect_tls`) has a `_with_options` twin
/// that takes these instead; a [`Config`] converts into them with the
/// defaults for the rest.
///
/// ```no_run
/// use rfc6455::tokio::{self as ws, Options};
/// use rfc6455::{AcceptOptions, Timeouts};
/// use std::time::Duration;
///
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), rfc6455::Error> {
/// // Two seconds for the whole opening handshake; ping after 5 s of silence.
/// let options = Options {
///     timeouts: Timeouts {
///         handshake: Some(Duration::from_secs(2)),
///         ping_after: Some(Duration::from_secs(5)),
///         ..Timeouts::default()
///     },
///     ..Options::default()
/// };
/// let socket = ws::accept_with_options(tcp, options, |_| Ok(AcceptOptions::default())).await?;
/// assert_eq!(socket.timeouts().ping_after, Some(Duration::from_secs(5)));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Limits and behaviour of the WebSocket connection.
    pub config: Config,
    /// The opening handshake's deadline (counted from the call, through
    /// TCP, a proxy and TLS), then the socket's keepalive ping, pong and
    /// close deadlines ([`WebSocket::set_timeouts`](super::WebSocket::set_timeouts)
    /// changes those later).
    pub timeouts: Timeouts,
    /// Pending output (bytes) above which `send` waits
    /// ([`WebSocket::set_high_water_mark`](super::WebSocket::set_high_water_mark)).
    pub high_water_mark: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options::from(Config::default())
    }
}

/// `config` with the default deadlines and high-water mark.
impl From<Config> for Options {
    fn from(config: Config) -> Self {
        Options {
            config,
            timeouts: Timeouts::default(),
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
        }
    }
}

impl Options {
    /// A fresh timer for a connection being opened: the handshake deadline
    /// starts now.
    pub(super) fn start_timer(&self) -> Keepalive<Instant> {
        Keepalive::new(self.timeouts, Instant::now())
    }
}
