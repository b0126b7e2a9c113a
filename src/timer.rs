//! Deadlines for one connection, without a clock: handshake timeout,
//! keepalive ping, pong (idle) timeout and close timeout.
//!
//! [`Keepalive`] is sans-IO like the rest of the core. It never reads a
//! clock; every call that needs the time is handed `now` by the caller, as
//! any monotonic timestamp type ([`Timestamp`]): `std::time::Instant` in an
//! event loop, or a `core::time::Duration` since some epoch in `no_std` code
//! and in tests. The event loop asks [`poll_timeout`](Keepalive::poll_timeout)
//! for the next deadline (to bound its wait), and calls
//! [`handle_timeout`](Keepalive::handle_timeout) when it may have passed; a
//! call before the deadline does nothing, so spurious wakeups are harmless.
//!
//! ```
//! use core::time::Duration;
//! use rfc6455::timer::{Keepalive, Timeout, TimerAction, Timeouts};
//!
//! let secs = Duration::from_secs;
//! let mut timer = Keepalive::new(Timeouts::default(), secs(0));
//! timer.opened(secs(1));
//! // 20 s of silence: send a ping.
//! assert_eq!(timer.poll_timeout(), Some(secs(21)));
//! assert_eq!(timer.handle_timeout(secs(21)), Some(TimerAction::SendPing));
//! // No answer within 20 s: give up on the peer.
//! assert_eq!(timer.handle_timeout(secs(41)), Some(TimerAction::Expired(Timeout::Pong)));
//! assert_eq!(timer.poll_timeout(), None);
//! ```

use core::ops::Add;
use core::time::Duration;

/// A point on the caller's monotonic clock.
///
/// Implemented for every `Copy + Ord` type that a [`Duration`] can be added
/// to, which covers `std::time::Instant` and `Duration` itself.
pub trait Timestamp: Copy + Ord + Add<Duration, Output = Self> {}

impl<T: Copy + Ord + Add<Duration, Output = T>> Timestamp for T {}

/// How long to wait for what; `None` turns a timeout off.
///
/// The defaults follow what mature servers ship with: a peer that says
/// nothing for 20 s is pinged and given 20 s more to show it is alive, a
/// handshake must be done within 10 s (so slowloris connections that trickle
/// a request byte by byte cannot pile up), and a close handshake within 5 s.
///
/// ```
/// use rfc6455::Timeouts;
/// use std::time::Duration;
///
/// // Ping after 30 s of silence, give up 10 s later; keep the rest.
/// let timeouts = Timeouts {
///     ping_after: Some(Duration::from_secs(30)),
///     pong: Some(Duration::from_secs(10)),
///     ..Timeouts::default()
/// };
/// assert_eq!(timeouts.close, Some(Duration::from_secs(5)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From the connection's start until its opening handshake is complete.
    pub handshake: Option<Duration>,
    /// Silence from the peer after which a ping is sent (keepalive). The
    /// tokio adapter counts input in coarse steps so as not to read the
    /// clock for every message: its ping follows between 1 and 1.25 times
    /// this much silence.
    pub ping_after: Option<Duration>,
    /// Silence after that ping after which the peer is given up on.
    pub pong: Option<Duration>,
    /// From starting (or answering) the close handshake until the transport
    /// must be closed, whether or not the peer finished its part.
    pub close: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            handshake: Some(Duration::from_secs(10)),
            ping_after: Some(Duration::from_secs(20)),
            pong: Some(Duration::from_secs(20)),
            close: Some(Duration::from_secs(5)),
        }
    }
}

impl Timeouts {
    /// No deadlines at all.
    ///
    /// ```
    /// use rfc6455::{Keepalive, Timeouts};
    /// let timer = Keepalive::new(Timeouts::none(), core::time::Duration::ZERO);
    /// assert_eq!(timer.poll_timeout(), None);
    /// ```
    pub const fn none() -> Self {
        Timeouts {
            handshake: None,
            ping_after: None,
            pong: None,
            close: None,
        }
    }
}

/// Which deadline passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// The TCP connection was not established within
    /// [`ClientOptions::connect_timeout`](crate::ClientOptions::connect_timeout)
    /// (adapters that connect without blocking report it this way).
    Connect,
    /// The opening handshake took too long.
    Handshake,
    /// The peer stayed silent after a keepalive ping.
    Pong,
    /// The close handshake or the final flush took too long.
    Close,
}

impl core::fmt::Display for Timeout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Timeout::Connect => "the TCP connection took too long",
            Timeout::Handshake => "the opening handshake took too long",
            Timeout::Pong => "no answer to a keepalive ping",
            Timeout::Close => "the close handshake took too long",
        })
    }
}

/// What the caller must do now that a deadline passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerAction {
    /// Send a ping: the peer has been silent for [`Timeouts::ping_after`].
    SendPing,
    /// Give up: close the transport without waiting any longer. The timer
    /// has no more deadlines.
    Expired(Timeout),
}

#[derive(Clone, Copy, Debug)]
enum Phase<T> {
    Handshake {
        started: T,
    },
    Open {
        /// When input last arrived (or the connection opened), or, while a
        /// keepalive ping is unanswered, when that ping went out.
        last_input: T,
        /// A keepalive ping is unanswered (it went out at `last_input`).
        ping_sent: bool,
    },
    Closing {
        started: T,
    },
    Done,
}

/// The deadlines of one connection, driven by the caller's clock.
///
/// ```
/// use rfc6455::{Keepalive, Timeouts};
/// use std::time::{Duration, Instant};
///
/// // In an event loop: the deadline bounds the wait.
/// let start = Instant::now();
/// let mut timer = Keepalive::new(Timeouts::default(), start);
/// timer.opened(start);
/// let deadline = timer.poll_timeout().expect("keepalive is on");
/// assert_eq!(deadline, start + Duration::from_secs(20));
/// assert_eq!(timer.handle_timeout(start), None); // early: nothing to do
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Keepalive<T> {
    timeouts: Compact,
    phase: Phase<T>,
}

/// [`Timeouts`] in 16 bytes instead of 64: whole milliseconds (sub-millisecond
/// parts round up, values beyond ~49 days saturate there), `u32::MAX` for
/// none. An event loop holds one timer per connection, and the timeouts are
/// the same for all of them.
#[derive(Clone, Copy, Debug)]
struct Compact([u32; 4]);

impl Compact {
    const NONE: u32 = u32::MAX;

    fn new(t: &Timeouts) -> Self {
        let ms = |d: Option<Duration>| match d {
            None => Self::NONE,
            Some(d) => {
                let whole = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
                whole.min(u128::from(Self::NONE - 1)) as u32
            }
        };
        Compact([ms(t.handshake), ms(t.ping_after), ms(t.pong), ms(t.close)])
    }

    fn get(self, which: usize) -> Option<Duration> {
        let ms = self.0[which];
        (ms != Self::NONE).then(|| Duration::from_millis(u64::from(ms)))
    }

    fn handshake(self) -> Option<Duration> {
        self.get(0)
    }
    fn ping_after(self) -> Option<Duration> {
        self.get(1)
    }
    fn pong(self) -> Option<Duration> {
        self.get(2)
    }
    fn close(self) -> Option<Duration> {
        self.get(3)
    }
}

impl<T: Timestamp> Keepalive<T> {
    /// A timer for a connection whose opening handshake starts at `now`.
    pub fn new(timeouts: Timeouts, now: T) -> Self {
        Keepalive {
            timeouts: Compact::new(&timeouts),
            phase: Phase::Handshake { started: now },
        }
    }

    /// The configured timeouts, in whole milliseconds (the timer keeps
    /// them compactly; sub-millisecond parts were rounded up).
    pub fn timeouts(&self) -> Timeouts {
        let t = self.timeouts;
        Timeouts {
            handshake: t.handshake(),
            ping_after: t.ping_after(),
            pong: t.pong(),
            close: t.close(),
        }
    }

    /// The opening handshake completed at `now`: keepalive starts.
    pub fn opened(&mut self, now: T) {
        if let Phase::Handshake { .. } = self.phase {
            self.phase = Phase::Open {
                last_input: now,
                ping_sent: false,
            };
        }
    }

    /// Input arrived at `now`. Any input, not only a pong, shows the peer
    /// is alive (a peer busy sending a large message may legitimately
    /// answer our ping late, RFC 6455 §5.5.2 asks only "as soon as is
    /// practical"), so it restarts the silence count and clears the ping.
    ///
    /// ```
    /// use rfc6455::{Keepalive, Timeouts};
    /// use core::time::Duration;
    /// let secs = Duration::from_secs;
    /// let mut timer = Keepalive::new(Timeouts::default(), secs(0));
    /// timer.opened(secs(0));
    /// timer.received(secs(15)); // the peer spoke: the ping moves out
    /// assert_eq!(timer.poll_timeout(), Some(secs(35)));
    /// ```
    pub fn received(&mut self, now: T) {
        if let Phase::Open { .. } = self.phase {
            self.phase = Phase::Open {
                last_input: now,
                ping_sent: false,
            };
        }
    }

    /// The close handshake started at `now` (either side), or the
    /// connection failed and only its last bytes remain to be written.
    /// Idempotent: the first call sets the deadline.
    ///
    /// ```
    /// use rfc6455::timer::{Keepalive, Timeout, TimerAction, Timeouts};
    /// use core::time::Duration;
    /// let secs = Duration::from_secs;
    /// let mut timer = Keepalive::new(Timeouts::default(), secs(0));
    /// timer.opened(secs(0));
    /// timer.closing(secs(3)); // we sent our close frame
    /// assert_eq!(timer.handle_timeout(secs(8)), Some(TimerAction::Expired(Timeout::Close)));
    /// ```
    pub fn closing(&mut self, now: T) {
        match self.phase {
            Phase::Closing { .. } | Phase::Done => {}
            _ => self.phase = Phase::Closing { started: now },
        }
    }

    /// The connection is over; no more deadlines.
    pub fn finished(&mut self) {
        self.phase = Phase::Done;
    }

    /// Whether the timer has stopped (a deadline expired, or
    /// [`finished`](Self::finished) was called).
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The next deadline, if any: the latest time to call
    /// [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<T> {
        let t = self.timeouts;
        match self.phase {
            Phase::Handshake { started } => t.handshake().map(|d| started + d),
            Phase::Open {
                last_input: sent,
                ping_sent: true,
            } => t.pong().map(|d| sent + d),
            Phase::Open { last_input, .. } => t.ping_after().map(|d| last_input + d),
            Phase::Closing { started } => t.close().map(|d| started + d),
            Phase::Done => None,
        }
    }

    /// Act on the deadline if it has passed by `now`; before it, nothing
    /// happens and `None` is returned.
    ///
    /// ```
    /// use rfc6455::timer::{Keepalive, Timeout, TimerAction, Timeouts};
    /// use core::time::Duration;
    /// let secs = Duration::from_secs;
    /// let mut timer = Keepalive::new(Timeouts::default(), secs(0));
    /// // No handshake within 10 s: expired.
    /// assert_eq!(timer.handle_timeout(secs(9)), None);
    /// assert_eq!(timer.handle_timeout(secs(10)), Some(TimerAction::Expired(Timeout::Handshake)));
    /// assert!(timer.is_finished());
    /// ```
    #[must_use = "a passed deadline asks for a ping or for closing the transport"]
    pub fn handle_timeout(&mut self, now: T) -> Option<TimerAction> {
        let deadline = self.poll_timeout()?;
        if now < deadline {
            return None;
        }
        match self.phase {
            Phase::Open {
                ping_sent: false, ..
            } => {
                // Without a pong timeout the ping is only a keepalive for
                // middleboxes: count silence again from now.
                self.phase = Phase::Open {
                    last_input: now,
                    ping_sent: self.timeouts.pong().is_some(),
                };
                Some(TimerAction::SendPing)
            }
            Phase::Open { .. } => self.expire(Timeout::Pong),
            Phase::Handshake { .. } => self.expire(Timeout::Handshake),
            Phase::Closing { .. } => self.expire(Timeout::Close),
            Phase::Done => None,
        }
    }

    fn expire(&mut self, why: Timeout) -> Option<TimerAction> {
        self.phase = Phase::Done;
        Some(TimerAction::Expired(why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn short() -> Timeouts {
        Timeouts {
            handshake: Some(ms(100)),
            ping_after: Some(ms(100)),
            pong: Some(ms(50)),
            close: Some(ms(30)),
        }
    }

    #[test]
    fn handshake_deadline_expires_unless_opened() {
        let mut t = Keepalive::new(short(), ms(0));
        assert_eq!(t.poll_timeout(), Some(ms(100)));
        assert_eq!(t.handle_timeout(ms(99)), None, "early call is a no-op");
        assert_eq!(
            t.handle_timeout(ms(100)),
            Some(TimerAction::Expired(Timeout::Handshake))
        );
        assert!(t.is_finished());
        assert_eq!(t.handle_timeout(ms(1000)), None);
    }

    #[test]
    fn input_postpones_the_ping_and_answers_it() {
        let mut t = Keepalive::new(short(), ms(0));
        t.opened(ms(10));
        t.received(ms(60));
        assert_eq!(t.poll_timeout(), Some(ms(160)));
        assert_eq!(t.handle_timeout(ms(160)), Some(TimerAction::SendPing));
        assert_eq!(t.poll_timeout(), Some(ms(210)));
        t.received(ms(200));
        assert_eq!(t.poll_timeout(), Some(ms(300)));
        assert_eq!(t.handle_timeout(ms(250)), None);
    }

    #[test]
    fn silence_after_ping_expires() {
        let mut t = Keepalive::new(short(), ms(0));
        t.opened(ms(0));
        assert_eq!(t.handle_timeout(ms(100)), Some(TimerAction::SendPing));
        assert_eq!(
            t.handle_timeout(ms(150)),
            Some(TimerAction::Expired(Timeout::Pong))
        );
    }

    #[test]
    fn ping_without_pong_timeout_repeats() {
        let mut t = Keepalive::new(
            Timeouts {
                pong: None,
                ..short()
            },
            ms(0),
        );
        t.opened(ms(0));
        assert_eq!(t.handle_timeout(ms(100)), Some(TimerAction::SendPing));
        assert_eq!(t.poll_timeout(), Some(ms(200)));
        assert_eq!(t.handle_timeout(ms(200)), Some(TimerAction::SendPing));
    }

    #[test]
    fn closing_replaces_keepalive_and_is_idempotent() {
        let mut t = Keepalive::new(short(), ms(0));
        t.opened(ms(0));
        t.closing(ms(20));
        t.closing(ms(40));
        t.received(ms(45));
        assert_eq!(t.poll_timeout(), Some(ms(50)));
        assert_eq!(
            t.handle_timeout(ms(50)),
            Some(TimerAction::Expired(Timeout::Close))
        );
    }

    #[test]
    fn timeouts_are_kept_in_milliseconds() {
        let t = Keepalive::new(
            Timeouts {
                handshake: Some(Duration::from_micros(1500)),
                ping_after: Some(Duration::from_secs(1 << 40)),
                pong: None,
                close: Some(ms(0)),
            },
            ms(0),
        );
        let kept = t.timeouts();
        assert_eq!(kept.handshake, Some(ms(2)));
        assert_eq!(kept.ping_after, Some(ms(u64::from(u32::MAX - 1))));
        assert_eq!(kept.pong, None);
        assert_eq!(kept.close, Some(ms(0)));
        assert_eq!(
            Keepalive::new(Timeouts::default(), ms(0)).timeouts(),
            Timeouts::default()
        );
    }

    #[test]
    fn everything_off_means_no_deadline() {
        let mut t = Keepalive::new(Timeouts::none(), ms(0));
        assert_eq!(t.poll_timeout(), None);
        t.opened(ms(0));
        assert_eq!(t.poll_timeout(), None);
        t.closing(ms(0));
        assert_eq!(t.poll_timeout(), None);
        assert_eq!(t.handle_timeout(ms(u32::MAX.into())), None);
    }
}
