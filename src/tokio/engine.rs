//! The poll loop shared by the whole socket and its split halves: a
//! stream, the sans-IO [`Connection`] and its [`Keepalive`], and the
//! `poll_*` steps that move bytes between them.
//!
//! Every step is a synchronous `poll_*` call that keeps its progress in the
//! connection (received bytes, queued frames, the write position), never in
//! a future: a future dropped between two polls loses nothing, which is
//! what makes the public methods cancel-safe. The split halves call the
//! same steps with the engine behind a `std::sync::Mutex`, held only for
//! the duration of one step (non-blocking system calls at most).

use crate::close::CloseCode;
use crate::connection::{Connection, Event, Role, ShortMessage, State, SHORT_FRAME_MAX, SHORT_MAX};
use crate::error::Error;
use crate::message::Message;
use crate::timer::{Keepalive, Timeout, Timeouts, TimerAction};
use bytes::BytesMut;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll, Waker};
use std::io::{self, IoSlice};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Bytes of room a read into the thread's arena gets at least: a 16 KiB
/// frame and its header arrive in one read, as in the mio adapter. The
/// rest of a larger frame is read straight into the connection's buffer
/// (see `Connection::read_from`, whose sizing this adapter follows).
const READ_ROOM: usize = 16 * 1024 + 64;

/// The size of a new arena: room for a few large reads before the next.
const ARENA_SIZE: usize = 64 * 1024;

/// A read at least this long is handed to the connection as it lies in
/// the arena ([`Connection::receive_bytes`]), its messages split off
/// without a copy; from a shorter one, a whole short message at the front
/// is taken out into an allocation of its own and the rest is copied into
/// the connection's buffer ([`Connection::take_message_from`], then
/// [`Connection::receive`]), so that small messages, which
/// an application may keep by the thousand, never pin an arena (a message
/// split off a read keeps that read's allocation alive).
const ADOPT_MIN: usize = 8 * 1024;

thread_local! {
    /// Where each runtime thread reads, lent for one `poll_read` at a
    /// time (no await happens while it is borrowed), so an idle connection
    /// holds no read buffer. Reads go into its uninitialized room (tokio's
    /// `read_buf`: nothing is zeroed first). A large read is split off and
    /// given to the connection; the arena goes on with the room after it,
    /// and once too little is left, the next read reserves anew: in place
    /// when every message split off it is gone, else in a new allocation
    /// (the old one is freed with its last message).
    static ARENA: core::cell::RefCell<BytesMut> = core::cell::RefCell::new(BytesMut::new());
}

/// The shortest time between two looks at the keepalive while input
/// flows (see `Engine::poll_timer`).
const MIN_CHECK: core::time::Duration = core::time::Duration::from_millis(1);

/// What [`Engine::poll_next`] produced.
pub(super) enum Next {
    Event(Event),
    /// A short message copied into the caller's scratch buffer.
    Short(ShortMessage),
}

/// What a read took out whole, without buffering it in the connection.
enum Taken {
    Message(Message),
    Short(ShortMessage),
}

/// Which side of a split socket polls: each keeps its own write waker,
/// because a stream remembers only the last task that waited to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    Reader = 0,
    Writer = 1,
}

/// The stream, the connection and its deadlines.
pub(super) struct Engine<S> {
    pub(super) io: S,
    pub(super) conn: Connection,
    timer: Keepalive<Instant>,
    /// The armed tokio timer and the time it was armed for: the next
    /// deadline, or an earlier look at the keepalive while input flows.
    sleep: Option<(Pin<Box<Sleep>>, Instant)>,
    /// The task that last polled `sleep`: the timer wakes it, so while the
    /// same task waits for a timer that has not fired, it is not looked at
    /// again. `None` when something may have moved a deadline earlier.
    sleep_waker: Option<Waker>,
    pub(super) high_water_mark: usize,
    /// The peer ended its side of the stream.
    eof: bool,
    /// We shut the stream down; nothing more is read or written.
    finished: bool,
    /// Input arrived that the keepalive has not been told of yet: it is
    /// credited when the timer next fires or is looked at anew (see
    /// `poll_timer`), not on every read, so a busy connection reads no
    /// clock per message.
    input_unclocked: bool,
    /// The connection said it holds no further event, and no input came
    /// since: asking it again before the next read would only say so again
    /// (the first thing a task woken for input would do, once per message).
    input_drained: bool,
    /// Tasks waiting for the stream to take output, by [`Side`].
    write_wakers: [Option<Waker>; 2],
    /// The reader's task while it waits for input, woken when the writer
    /// side ends the connection.
    read_waker: Option<Waker>,
    /// A flush of the stream returned `Pending`: bytes we wrote may still
    /// sit in it (a TLS stream's records), so the next wait flushes again
    /// although the connection holds no output.
    unflushed: bool,
    /// Split into halves: only then can another task end the connection
    /// while the reader waits (a whole socket's one task needs no waking
    /// by itself, so it does not keep its waker per message).
    pub(super) split: bool,
}

impl<S> core::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("conn", &self.conn)
            .field("eof", &self.eof)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Engine<S> {
    /// An engine for a stream whose opening handshake is done; `timer` has
    /// already been told when it opened.
    pub(super) fn new(
        io: S,
        conn: Connection,
        timer: Keepalive<Instant>,
        high_water_mark: usize,
    ) -> Self {
        Engine {
            io,
            conn,
            timer,
            sleep: None,
            sleep_waker: None,
            high_water_mark,
            eof: false,
            finished: false,
            input_unclocked: false,
            input_drained: false,
            write_wakers: [None, None],
            read_waker: None,
            unflushed: false,
            split: false,
        }
    }

    pub(super) fn set_timeouts(&mut self, timeouts: Timeouts) {
        let now = Instant::now();
        let mut timer = Keepalive::new(timeouts, now);
        timer.opened(now);
        if !self.conn.state().is_open() {
            timer.closing(now);
        }
        self.timer = timer;
        self.sleep = None;
    }

    pub(super) fn timeouts(&self) -> Timeouts {
        self.timer.timeouts()
    }

    /// The connection's state; `Closed` once the transport is gone.
    pub(super) fn state(&self) -> State {
        self.conn.state()
    }

    // ----- reading -----

    /// The next event of any kind. Pongs and close replies the connection
    /// queues are written as soon as the stream takes them; the peer's
    /// close is answered, and the transport closed as RFC 6455 §7.1.1 asks,
    /// before the connection reports [`Error::Closed`].
    pub(super) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
        drive_timer: bool,
    ) -> Poll<Result<Event, Error>> {
        self.poll_next(cx, side, drive_timer, None)
            .map_ok(|next| match next {
                Next::Event(event) => event,
                // Not asked for (no scratch buffer): never produced.
                Next::Short(_) => unreachable!("a short message without a scratch buffer"),
            })
    }

    /// [`poll_event`](Self::poll_event), except that with `scratch`, a
    /// short message a read brings whole is copied there
    /// ([`Connection::take_message_into`]) instead of into an allocation.
    #[inline]
    pub(super) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
        drive_timer: bool,
        mut scratch: Option<&mut [u8; SHORT_MAX]>,
    ) -> Poll<Result<Next, Error>> {
        loop {
            let decoded = if self.input_drained {
                Ok(None)
            } else {
                self.conn.poll_event()
            };
            match decoded {
                Ok(Some(event)) => {
                    let control = match event {
                        Event::Close(_) => {
                            self.timer_closing();
                            true
                        }
                        Event::Ping(_) => true,
                        _ => false,
                    };
                    if control && self.conn.has_pending_output() {
                        // RFC 6455 §5.5.2: answer "as soon as is practical";
                        // a stream that is full keeps it queued (and this
                        // task's waker registered) without holding the event.
                        // Messages write nothing here: what the application
                        // queued goes out once the buffered input is
                        // consumed, one write for a whole batch of echoes.
                        let _ = self.poll_write_out(cx, side);
                    }
                    return Poll::Ready(Ok(Next::Event(event)));
                }
                Ok(None) => self.input_drained = true,
                Err(error) => {
                    // The close frame for the violation is queued: it goes
                    // out before the transport closes (RFC 6455 §7.1.7); a
                    // stream that is full finishes the job on the next poll.
                    let _ = self.poll_finish(cx, side);
                    return Poll::Ready(Err(error));
                }
            }
            if self.conn.state().is_closed() || self.finished {
                ready!(self.poll_finish(cx, side));
                return Poll::Ready(Err(self.closed_error()));
            }
            if self.conn.has_pending_output() || self.unflushed {
                self.write_out_now(cx, side)?;
            }
            let filled = if self.conn.output_len() >= self.high_water_mark {
                // Backpressure: the peer does not read what we owe it, so
                // read nothing more from it either until the stream takes
                // some output (whose waker is registered by now).
                Poll::Pending
            } else {
                self.poll_fill(cx, side, scratch.as_deref_mut())
            };
            match filled {
                Poll::Ready(Ok(Some(Taken::Message(message)))) => {
                    return Poll::Ready(Ok(Next::Event(Event::Message(message))))
                }
                Poll::Ready(Ok(Some(Taken::Short(short)))) => {
                    return Poll::Ready(Ok(Next::Short(short)))
                }
                Poll::Ready(result) => {
                    result?;
                }
                // The deadlines are looked at only when there is nothing
                // to read: a busy connection pays nothing for them.
                Poll::Pending if drive_timer && ready!(self.poll_timer(cx))? => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Read once from the stream into the connection. A short message
    /// that a read brings whole, at a message boundary, is decoded right
    /// out of the arena and returned (see `Connection::take_message_from`).
    fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
        scratch: Option<&mut [u8; SHORT_MAX]>,
    ) -> Poll<Result<Option<Taken>, Error>> {
        let io = &mut self.io;
        let conn = &mut self.conn;
        let mut direct = None;
        let polled = if let Some(len) = conn.direct_read_len(ARENA_SIZE) {
            // Much of a large frame is still to come: read it straight into
            // the connection's buffer (which reserved room for the announced
            // frame), where the message is split off without a copy.
            let mut buf = ReadBuf::new(conn.read_buf(len));
            let polled = Pin::new(io).poll_read(cx, &mut buf);
            let n = buf.filled().len();
            conn.filled(n);
            polled.map_ok(|()| n)
        } else {
            ARENA.with(|arena| {
                let mut arena = arena.borrow_mut();
                if arena.capacity() < READ_ROOM {
                    arena.reserve(ARENA_SIZE);
                }
                let polled = core::pin::pin!(io.read_buf(&mut *arena)).poll(cx);
                match polled {
                    Poll::Ready(Ok(n)) if n >= ADOPT_MIN => conn.receive_bytes(arena.split()),
                    Poll::Ready(Ok(n)) if n > 0 => {
                        direct = match scratch {
                            Some(out) => conn.receive_and_take_into(&arena, out).map(Taken::Short),
                            None => conn.receive_and_take(&arena).map(Taken::Message),
                        };
                        arena.clear();
                    }
                    _ => {}
                }
                polled
            })
        };
        if polled.is_ready() {
            // All the input went into a message returned here: the
            // connection holds none, and asking it would only say so.
            self.input_drained = direct.is_some() && self.conn.buffered_input() == 0;
        }
        match polled {
            Poll::Pending => {
                // Idle: give the buffers back. Mid-frame, keep the read
                // buffer's zeroed spare room for the rest of the frame.
                if self.conn.buffered_input() == 0 {
                    self.conn.shrink_buffers();
                }
                if self.split && side == Side::Reader {
                    remember(&mut self.read_waker, cx);
                }
                Poll::Pending
            }
            Poll::Ready(Ok(0)) => {
                self.eof = true;
                self.conn.receive_eof();
                Poll::Ready(Ok(None))
            }
            Poll::Ready(Ok(_)) => {
                self.input_unclocked = true;
                Poll::Ready(Ok(direct))
            }
            // A TLS stream reports a TCP close without close_notify this
            // way; the close handshake (or its absence) says whether
            // anything was lost, so it ends the stream like EOF.
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.eof = true;
                self.conn.receive_eof();
                Poll::Ready(Ok(None))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.fail_io(e))),
        }
    }

    /// After the connection closed: write what is left (the close reply),
    /// and close the transport. A server closes it at once (RFC 6455
    /// §7.1.1); a client that completed the close handshake first waits,
    /// bounded by the close timeout, for the server to close.
    // Once per connection: kept out of the per-message path's code.
    #[cold]
    fn poll_finish(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<()> {
        if self.finished {
            return Poll::Ready(());
        }
        self.timer_closing();
        if self.conn.has_pending_output() {
            match self.poll_write_out(cx, side) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => {
                    self.finish();
                    return Poll::Ready(());
                }
                Poll::Pending => {
                    // The close deadline bounds a peer that never reads.
                    if let Poll::Ready(Err(_)) = self.poll_timer(cx) {
                        return Poll::Ready(());
                    }
                    return Poll::Pending;
                }
            }
        }
        let wait_for_server = self.conn.role() == Role::Client
            && self.conn.state() == (State::Closed { clean: true });
        while wait_for_server && !self.eof {
            if let Poll::Ready(Err(_)) = self.poll_timer(cx) {
                return Poll::Ready(());
            }
            let mut sink = [0u8; 1024];
            let mut buf = ReadBuf::new(&mut sink);
            match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {}
                // EOF, or a reset: the WebSocket ended cleanly either way.
                Poll::Ready(_) => self.eof = true,
            }
        }
        let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
        self.finish();
        Poll::Ready(())
    }

    /// The transport is done with: no more reading, writing or deadlines.
    fn finish(&mut self) {
        self.finished = true;
        self.timer.finished();
        self.sleep = None;
        self.sleep_waker = None;
        // Marks a close handshake that did not complete as unclean.
        self.conn.receive_eof();
        self.input_drained = false;
        self.conn.shrink_buffers();
        self.wake_all();
    }

    fn wake_all(&mut self) {
        for waker in self.write_wakers.iter_mut().chain([&mut self.read_waker]) {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
    }

    /// An I/O error ends the connection: record it and give the error.
    // Once per connection: kept out of the per-message path's code.
    #[cold]
    fn fail_io(&mut self, e: io::Error) -> Error {
        self.finish();
        Error::from(e)
    }

    pub(super) fn closed_error(&self) -> Error {
        self.conn.closed_error()
    }

    // ----- deadlines -----

    /// Arm tokio's timer for the next deadline and act on one that passed:
    /// queue a keepalive ping (`Ready(Ok(true))`: output to write), or cut
    /// the transport on an expired handshake, pong or close timeout.
    ///
    /// Called whenever the stream runs dry, so once per message on a busy
    /// connection: the common case reads no clock. Input is flagged
    /// (`input_unclocked`) as it arrives and credited to the keepalive only
    /// when the timer next fires, and the timer is armed to fire at least
    /// every quarter of `ping_after` while the connection is open: input
    /// counts as received up to that quarter late, so a keepalive ping goes
    /// out after between 1 and 1.25 times `ping_after` of silence. Input is
    /// always credited before a deadline is acted on, so a peer that spoke
    /// in time is never cut off for a pong it did not owe.
    #[inline]
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>> {
        // Armed by this task for a time that has not come: the timer will
        // wake the task then, and nothing done since moved a deadline
        // earlier (what does, `closing`, forgets the waker). Once per
        // message on a busy connection, so inlined; the rest is not.
        if let (Some((sleep, _)), Some(waker)) = (&self.sleep, &self.sleep_waker) {
            if waker.will_wake(cx.waker()) && !sleep.is_elapsed() {
                return Poll::Ready(Ok(false));
            }
        }
        self.poll_timer_armed(cx)
    }

    /// [`poll_timer`](Self::poll_timer) past its first look: credit input,
    /// act on a deadline that passed, arm the timer.
    #[inline(never)]
    fn poll_timer_armed(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>> {
        self.sleep_waker = None;
        let mut queued = false;
        let mut now = Instant::now();
        loop {
            if core::mem::take(&mut self.input_unclocked) {
                self.timer.received(now);
            }
            let Some(deadline) = self.timer.poll_timeout() else {
                self.sleep = None;
                return Poll::Ready(Ok(queued));
            };
            if now >= deadline {
                match self.timer.handle_timeout(now) {
                    Some(TimerAction::SendPing) => {
                        queued |= self.conn.send_ping(&[]).is_ok();
                        continue;
                    }
                    Some(TimerAction::Expired(why)) => {
                        // No close frame: a peer that answers nothing would
                        // not read it either.
                        let _ = Pin::new(&mut self.io).poll_shutdown(cx);
                        self.finish();
                        return Poll::Ready(Err(timeout_error(why)));
                    }
                    None => {}
                }
            }
            let wake_at = match self.timer.timeouts().ping_after {
                // At least a millisecond ahead (tokio's timer resolution),
                // so that a zero interval cannot spin here.
                Some(interval) => deadline.min(now + (interval / 4).max(MIN_CHECK)),
                None => deadline,
            };
            let sleep = match &mut self.sleep {
                Some((sleep, armed)) => {
                    if *armed != wake_at {
                        sleep.as_mut().reset(wake_at);
                        *armed = wake_at;
                    }
                    sleep
                }
                None => {
                    let sleep = Box::pin(tokio::time::sleep_until(wake_at));
                    &mut self.sleep.insert((sleep, wake_at)).0
                }
            };
            if sleep.as_mut().poll(cx).is_pending() {
                self.sleep_waker = Some(cx.waker().clone());
                return Poll::Ready(Ok(queued));
            }
            // Due already (the clock moved on while we worked): look again.
            now = Instant::now();
        }
    }

    /// The close handshake started (or the connection failed): the close
    /// deadline replaces the keepalive's, so the armed timer is looked at
    /// again on the next wait.
    fn timer_closing(&mut self) {
        self.timer.closing(Instant::now());
        self.sleep_waker = None;
    }

    // ----- writing -----

    /// Whether the connection holds no input beyond what was last
    /// returned (a read went wholly into it).
    pub(super) fn input_drained(&self) -> bool {
        self.input_drained
    }

    /// Write a frame the connection encoded for us
    /// ([`Connection::encode_short`]) straight from `frame`, with nothing
    /// queued ahead of it; what the stream does not take now is queued.
    pub(super) fn write_direct(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
        frame: &[u8],
    ) -> Result<(), Error> {
        if self.finished {
            self.conn.commit_encoded(frame, 0);
            return Ok(());
        }
        let written = match Pin::new(&mut self.io).poll_write(cx, frame) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => {
                self.conn.commit_encoded(frame, 0);
                return Err(self.fail_io(e));
            }
            Poll::Pending => {
                remember(&mut self.write_wakers[side as usize], cx);
                0
            }
        };
        self.conn.commit_encoded(frame, written);
        if written == frame.len() {
            // Nothing is queued now: this only flushes the stream (and
            // notes a flush left unfinished), as after any write.
            self.write_out_now(cx, side)?;
        }
        Ok(())
    }

    /// Write what is queued, as far as the stream takes it now; the rest
    /// goes with the next wait, as always.
    pub(super) fn write_pending(&mut self, cx: &mut Context<'_>, side: Side) -> Result<(), Error> {
        if self.finished || !self.conn.has_pending_output() {
            return Ok(());
        }
        self.write_out_now(cx, side)
    }

    /// [`poll_write_out`](Self::poll_write_out) without waiting: what the
    /// stream does not take now stays queued; an I/O error ends the
    /// connection.
    fn write_out_now(&mut self, cx: &mut Context<'_>, side: Side) -> Result<(), Error> {
        match self.poll_write_out(cx, side) {
            Poll::Ready(Err(e)) => Err(self.fail_io(e)),
            _ => Ok(()),
        }
    }

    /// Write pending output until the stream would block, then flush the
    /// stream (TLS records). On `Pending` this side's waker is registered.
    pub(super) fn poll_write_out(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
    ) -> Poll<io::Result<()>> {
        if self.finished {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        }
        let mut progressed = false;
        while self.conn.has_pending_output() {
            let io = Pin::new(&mut self.io);
            // One chunk (the common case for small messages) is a plain
            // write: the same bytes, without the kernel's iovec handling.
            let polled = if let Some(chunk) = self.conn.sole_output_chunk() {
                io.poll_write(cx, chunk)
            } else {
                let mut slices = [IoSlice::new(&[]); 16];
                let count = self.conn.output_vectored(&mut slices);
                if count > 1 && io.is_write_vectored() {
                    io.poll_write_vectored(cx, &slices[..count])
                } else {
                    io.poll_write(cx, &slices[0])
                }
            };
            match polled {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.conn.advance_output(n);
                    progressed = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    remember(&mut self.write_wakers[side as usize], cx);
                    self.wake_other_writer(side, progressed);
                    return Poll::Pending;
                }
            }
        }
        self.wake_other_writer(side, progressed);
        let flushed = Pin::new(&mut self.io).poll_flush(cx);
        self.unflushed = flushed.is_pending();
        flushed
    }

    /// The stream keeps one write waker: after progress, wake the other
    /// side in case it waited (for room under the mark, or to write).
    fn wake_other_writer(&mut self, side: Side, progressed: bool) {
        if progressed {
            let other = 1 - side as usize;
            if let Some(waker) = self.write_wakers[other].take() {
                waker.wake();
            }
        }
    }

    /// Ready once pending output is under the high-water mark, writing to
    /// get there.
    pub(super) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
        drive_timer: bool,
    ) -> Poll<Result<(), Error>> {
        loop {
            if self.finished {
                return Poll::Ready(Err(self.closed_error()));
            }
            if self.conn.output_len() < self.high_water_mark {
                return Poll::Ready(Ok(()));
            }
            match self.poll_write_out(cx, side) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.fail_io(e))),
                Poll::Pending => {
                    if drive_timer {
                        ready!(self.poll_timer(cx))?;
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// Queue a message (after [`poll_ready`](Self::poll_ready)).
    pub(super) fn start_send(&mut self, message: Message) -> Result<(), Error> {
        match self.conn.send(message) {
            Err(Error::SendAfterClose) if self.finished || self.conn.state().is_closed() => {
                Err(self.closed_error())
            }
            other => other,
        }
    }

    /// Send `message` (taken on the first poll) and write everything
    /// queued: `send` past its wait for room. A short message with nothing
    /// queued ahead of it is written straight from the stack
    /// ([`Connection::encode_short`]), without the output buffer; any
    /// other is queued, then written. Whichever way, the message is queued
    /// or written whole within the first poll, so a future dropped later
    /// leaves it to go out with the next write.
    pub(super) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
        drive_timer: bool,
        message: &mut Option<Message>,
    ) -> Poll<Result<(), Error>> {
        if let Some(message) = message.take() {
            self.send_now(cx, side, message)?;
        }
        self.poll_flush(cx, side, drive_timer)
    }

    fn send_now(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
        message: Message,
    ) -> Result<(), Error> {
        if !self.finished {
            let mut frame = [0u8; SHORT_FRAME_MAX];
            // A refusal is left to `start_send`, which reports it as
            // every send does.
            if let Ok(Some(len)) =
                self.conn
                    .encode_short(message.kind(), message.as_bytes(), &mut frame)
            {
                return self.write_direct(cx, side, &frame[..len]);
            }
        }
        self.start_send(message)
    }

    /// Write everything queued.
    pub(super) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
        drive_timer: bool,
    ) -> Poll<Result<(), Error>> {
        if self.finished && !self.conn.has_pending_output() {
            return Poll::Ready(Ok(()));
        }
        match self.poll_write_out(cx, side) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.fail_io(e))),
            Poll::Pending => {
                if drive_timer {
                    ready!(self.poll_timer(cx))?;
                }
                Poll::Pending
            }
        }
    }

    /// Queue our close frame; the close deadline starts.
    pub(super) fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        self.conn.close(code, reason)?;
        self.timer_closing();
        Ok(())
    }
}

/// Keep `cx`'s waker in `slot`, cloning it only when it is another task's.
fn remember(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// The error a passed deadline is reported with, as in the other
/// adapters ([`Error::is_timeout`] is true for it).
pub(super) fn timeout_error(why: Timeout) -> Error {
    Error::Timeout(why)
}
