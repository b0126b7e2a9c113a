//! The deadlines of many sockets, for one event loop.

use super::{MioTransport, WebSocket};
use ::mio::Token;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// The next deadline of every socket of an event loop, earliest first.
///
/// Tells the loop how long [`Poll::poll`](::mio::Poll::poll) may sleep
/// ([`timeout`](Self::timeout)) and which sockets are due
/// ([`next_expired`](Self::next_expired)). Deadlines only move later while
/// input flows (keepalive restarts), so an entry is added only when a
/// socket's deadline moves *earlier* than the one already held; a socket
/// whose deadline moved later is woken at the old one, finds nothing due
/// (a harmless no-op) and is scheduled again. That keeps about one entry per
/// socket instead of one per read, and a busy socket costs no heap work.
///
/// ```
/// use rfc6455::mio::mio::Token;
/// use rfc6455::mio::{Options, Timeouts, Timers, WebSocket};
/// use rfc6455::ClientOptions;
/// use std::time::{Duration, Instant};
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
///
/// let options = Options {
///     timeouts: Timeouts { handshake: Some(Duration::from_secs(2)), ..Timeouts::default() },
///     ..Options::default()
/// };
/// let mut ws = WebSocket::connect(&url, ClientOptions::default(), &options)?;
/// let mut timers = Timers::new();
/// timers.schedule(Token(0), &mut ws);
/// // poll() may sleep at most this long: the handshake deadline.
/// let wait = timers.timeout(Instant::now()).expect("a deadline");
/// assert!(wait <= Duration::from_secs(2));
/// assert_eq!(timers.next_expired(Instant::now()), None); // nothing due yet
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl Timers {
    /// No deadlines.
    pub fn new() -> Self {
        Self::default()
    }

    /// Note `ws`'s next deadline under `token`. Call after every batch of
    /// calls on a socket (and after [`WebSocket::handle_timeout`]).
    pub fn schedule<S: MioTransport>(&mut self, token: Token, ws: &mut WebSocket<S>) {
        let Some(deadline) = ws.poll_timeout() else {
            return;
        };
        if ws.scheduled.map_or(true, |held| deadline < held) {
            ws.scheduled = Some(deadline);
            self.heap.push(Reverse((deadline, token.0)));
        }
    }

    /// How long the loop may sleep before the earliest deadline (`None`:
    /// no deadline, sleep until an event).
    pub fn timeout(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse((at, _))| at.saturating_duration_since(now))
    }

    /// A token whose deadline has passed by `now`, removed from the set:
    /// call its socket's [`handle_timeout`](WebSocket::handle_timeout), then
    /// [`schedule`](Self::schedule) it again. The token's socket may be
    /// gone or replaced; skip or handle it, both are harmless.
    pub fn next_expired(&mut self, now: Instant) -> Option<Token> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => {
                self.heap.pop().map(|Reverse((_, token))| Token(token))
            }
            _ => None,
        }
    }

    /// Entries held (including ones left by sockets whose deadline moved).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no deadline is held.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
