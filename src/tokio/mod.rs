//! An async WebSocket for tokio (feature `tokio`): any
//! `AsyncRead + AsyncWrite + Unpin` stream, `Stream` + `Sink`, owned split
//! halves, and (feature `hyper`) upgrades of hyper 1.x requests.
//!
//! A thin loop around the sans-IO [`Connection`](crate::Connection), like
//! the [`blocking`](crate::blocking) and `mio` adapters, with
//! the same handshakes, rejections and close behaviour: read bytes into
//! the connection, take events out, write its pending output with one
//! vectored write. It spawns no task: everything happens inside the
//! futures you await, so dropping a socket (or both halves) closes the
//! stream and leaves nothing behind.
//!
//! The futures-io traits (smol, async-std) are not supported: tokio only.
//!
//! Opening a socket:
//!
//! | client | server | |
//! |---|---|---|
//! | [`connect`], [`connect_with`] | [`accept`], [`accept_with`] | `ws://`; the client also `wss://` with the bundled roots |
//! | `connect_tls` | `accept_tls`, `accept_tls_with` | `wss://` with your rustls configuration (feature `rustls`) |
//! | [`client`] | | the client handshake over a stream you opened |
//! | | `hyper::upgrade` | a hyper 1.x request (feature `hyper`) |
//!
//! Each call that takes a [`Config`](crate::Config) has a `_with_options`
//! twin ([`connect_with_options`], [`accept_with_options`],
//! [`client_with_options`], `connect_tls_with_options`,
//! `accept_tls_with_options`, `hyper::upgrade_with_options`) that takes
//! [`Options`] instead: the config plus your own deadlines
//! ([`Timeouts`]) and high-water mark, as the `mio` adapter's `Options`.
//!
//! [`connect`], [`connect_with`] and `connect_tls` go through the proxy
//! [`ClientOptions::proxy`](crate::ClientOptions::proxy) selects, as the
//! blocking client does (by default the environment's `HTTP_PROXY`,
//! `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`): HTTP `CONNECT`, SOCKS5
//! (`socks5://` names resolved with tokio's resolver) and, with `rustls`,
//! `https://` proxies (a `wss://` connection is then
//! `MaybeTlsStream::RustlsInTls`). The proxy's reply counts against the
//! handshake deadline; its failures are [`Error::Proxy`](crate::Error::Proxy).
//!
//! ```no_run
//! use rfc6455::{tokio as ws, ClientOptions, Config, ProxyConfig};
//!
//! # async fn run() -> Result<(), rfc6455::Error> {
//! let options = ClientOptions {
//!     proxy: ProxyConfig::url("socks5h://127.0.0.1:1080"), // or ProxyConfig::Direct
//!     ..ClientOptions::default()
//! };
//! let socket = ws::connect_with("ws://echo.example/", options, Config::default()).await?;
//! # Ok(()) }
//! ```
//!
//! ```no_run
//! use rfc6455::{tokio as ws, CloseCode, Message};
//!
//! # async fn client() -> Result<(), rfc6455::Error> {
//! let mut socket = ws::connect("ws://127.0.0.1:9001/chat").await?;
//! socket.send(Message::text("hello")).await?;
//! let reply = socket.read().await?;            // pings are answered for you
//! println!("{}", reply.as_text().unwrap_or("<binary>"));
//! socket.close_and_wait(CloseCode::NORMAL, "bye").await?;
//! # Ok(()) }
//! ```
//!
//! An echo server, a task per connection:
//!
//! ```no_run
//! use rfc6455::{tokio as ws, Error};
//! use tokio::net::TcpListener;
//!
//! # async fn server() -> std::io::Result<()> {
//! let listener = TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut socket = ws::accept(tcp).await?;
//!         loop {
//!             match socket.read().await {
//!                 Ok(message) => socket.send(message).await?,
//!                 Err(Error::Closed { .. }) => return Ok(()),
//!                 Err(e) => return Err(e),
//!             }
//!         }
//!     });
//! }
//! # }
//! ```
//!
//! Handling messages where they lie, with
//! [`read_with`](WebSocket::read_with): the closure is lent each message
//! and answers through [`Replies`], so a small message (up to 125 bytes)
//! is never allocated, and an answer to it, when nothing else is waiting
//! to go out, is written straight from the stack (the shape of a
//! uWebSockets handler, and the fastest way to echo or answer requests):
//!
//! ```no_run
//! use rfc6455::{tokio as ws, Error};
//!
//! # async fn serve(tcp: tokio::net::TcpStream) -> Result<(), Error> {
//! let mut socket = ws::accept(tcp).await?;
//! loop {
//!     let answered = socket
//!         .read_with(|message, replies| match message.as_text() {
//!             Some("ping?") => replies.send("pong!"),
//!             _ => replies.send(message), // an echo
//!         })
//!         .await;
//!     match answered.and_then(|sent| sent) {
//!         Ok(()) => {}
//!         Err(Error::Closed { .. }) => return Ok(()),
//!         Err(e) => return Err(e),
//!     }
//! }
//! # }
//! ```
//!
//! Reading and writing from two tasks, with [`split`](WebSocket::split):
//!
//! ```no_run
//! use rfc6455::{tokio as ws, Message};
//!
//! # async fn run() -> Result<(), rfc6455::Error> {
//! let socket = ws::connect("ws://127.0.0.1:9001/feed").await?;
//! let (mut reader, mut writer) = socket.split();
//! tokio::spawn(async move {
//!     for i in 0..10 {
//!         writer.send(Message::text(format!("tick {i}"))).await?;
//!     }
//!     Ok::<_, rfc6455::Error>(())
//! });
//! while let Ok(message) = reader.read().await {
//!     println!("{message:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! # Cancel safety
//!
//! Every step keeps its progress in the connection (bytes received, frames
//! queued, how much of them was written), never in the future, so a
//! future dropped mid-way (a `tokio::select!` branch that lost, a
//! `tokio::time::timeout`) loses and corrupts nothing:
//!
//! | method | cancel-safe | if dropped before it finishes |
//! |---|---|---|
//! | `read`, `read_event`, `Stream::poll_next` | yes | no message is lost: bytes read stay buffered, and the next call returns the message |
//! | `read_with` | yes | as `read`: the closure runs in the poll that finds the message, so a dropped future has taken none, and the replies it queued are queued |
//! | `send`, `feed`, `Sink::send` | queued whole or not at all | before there was room under the high-water mark: the message is dropped unsent; after: it is queued and its remaining bytes go out with the next write |
//! | `send_ping`, `close` | yes | the frame is queued at once and goes out with the next write |
//! | `flush` | yes | what was not written stays queued |
//! | `close_and_wait` | yes | calling it again resumes the wait |
//! | `connect*`, `client*`, `accept*` | no | the half-open connection is dropped |
//!
//! # Backpressure and deadlines
//!
//! `send`, `feed` and `Sink::poll_ready` wait while more than the high-water
//! mark ([`DEFAULT_HIGH_WATER_MARK`], see
//! [`WebSocket::set_high_water_mark`]) is queued, so a peer that never
//! reads cannot grow our memory; reading stops too while that much is
//! queued and the stream takes none of it. The [`Timeouts`] (handshake,
//! keepalive ping, pong and close; defaults 10 s, 20 s, 20 s, 5 s) run on a
//! sans-IO [`Keepalive`](crate::Keepalive) and tokio's timer, while a
//! read, send or flush is in progress (on a split socket: while the read
//! half reads). Input is counted toward the keepalive in steps of a
//! quarter of `ping_after`, so that a busy connection reads no clock per
//! message: the ping follows 1 to 1.25 times `ping_after` of silence. An
//! expired deadline closes the stream and fails the call
//! with [`Error::Timeout`](crate::Error::Timeout), as in the other
//! adapters ([`Error::is_timeout`](crate::Error::is_timeout)).
//!
//! The handshake deadline counts from the call that opens the socket and
//! covers everything up to the open WebSocket: TCP, a proxy's tunnel, the
//! TLS handshake and the upgrade, so a peer that stalls in any of them is
//! cut off with `Error::Timeout(Timeout::Handshake)`. Set the deadlines
//! with [`Options::timeouts`] when opening (the `_with_options` calls),
//! and change the keepalive and close ones later with
//! [`WebSocket::set_timeouts`]; the high-water mark likewise with
//! [`Options::high_water_mark`] or [`WebSocket::set_high_water_mark`].

mod engine;
mod handshake;
#[cfg(feature = "hyper")]
pub mod hyper;
mod options;
mod proxy;
mod replies;
mod socket;
mod split;
mod stream;
#[cfg(feature = "rustls")]
mod tls;

pub use crate::blocking::Rejection;
pub use crate::timer::Timeouts;
pub use handshake::{
    accept, accept_with, accept_with_options, client, client_with_options, connect, connect_with,
    connect_with_options,
};
pub use options::Options;
pub use replies::Replies;
pub use socket::WebSocket;
pub use split::{ReadHalf, WriteHalf};
pub use stream::MaybeTlsStream;
#[cfg(feature = "rustls")]
pub use tls::{
    accept_tls, accept_tls_with, accept_tls_with_options, connect_tls, connect_tls_with_options,
    TlsServerStream, TlsStream,
};

/// Pending output (bytes) above which `send` waits, unless
/// [`WebSocket::set_high_water_mark`] says otherwise (the mio adapter's
/// default too).
pub const DEFAULT_HIGH_WATER_MARK: usize = 256 * 1024;
