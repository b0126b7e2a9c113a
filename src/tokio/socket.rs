//! The async WebSocket: one stream, read and written by one task (or by two
//! after [`split`](WebSocket::split)).

use super::engine::{Engine, Next, Side};
use super::replies::Replies;
use super::split::{ReadHalf, WriteHalf};
use super::DEFAULT_HIGH_WATER_MARK;
use crate::close::{CloseCode, CloseFrame};
use crate::connection::{Connection, Event, ShortMessage, State, SHORT_FRAME_MAX, SHORT_MAX};
use crate::error::Error;
use crate::handshake::{Request, ServerResponse};
use crate::message::{Message, MessageKind, MessageRef};
use crate::timer::{Keepalive, Timeouts};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::future::poll_fn;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

/// What the opening handshake left to look at later.
#[derive(Debug, Default)]
pub(super) struct Session {
    pub(super) protocol: Option<String>,
    pub(super) response: Option<ServerResponse>,
    pub(super) request: Option<Request>,
}

impl Session {
    /// A client's: the server's response and the subprotocol in it.
    pub(super) fn client(response: ServerResponse) -> Self {
        Session {
            protocol: response.protocol.clone(),
            response: Some(response),
            request: None,
        }
    }

    /// A server's: the subprotocol it chose for `request`.
    pub(super) fn server(protocol: Option<String>, request: Request) -> Self {
        Session {
            protocol,
            response: None,
            request: Some(request),
        }
    }
}

/// A WebSocket over an async stream (`AsyncRead + AsyncWrite + Unpin`).
///
/// See the [module docs](super) for the cancel safety of each method.
#[derive(Debug)]
pub struct WebSocket<S> {
    pub(super) engine: Engine<S>,
    pub(super) session: Arc<Session>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wrap a stream whose handshake is already done, with a connection
    /// built for it (see [`ClientUpgrade`](crate::ClientUpgrade) and
    /// [`ServerUpgrade`](crate::ServerUpgrade)). Deadlines are
    /// [`Timeouts::default`] and the high-water mark
    /// [`DEFAULT_HIGH_WATER_MARK`]; both can be changed.
    pub fn from_parts(stream: S, conn: Connection, protocol: Option<String>) -> Self {
        let session = Session {
            protocol,
            ..Session::default()
        };
        let timer = Keepalive::new(Timeouts::default(), Instant::now());
        Self::with_session(stream, conn, timer, session, DEFAULT_HIGH_WATER_MARK)
    }

    /// The socket of a handshake that just ended; `timer` (which counted
    /// its deadline) runs the keepalive from now on.
    pub(super) fn with_session(
        stream: S,
        conn: Connection,
        mut timer: Keepalive<Instant>,
        session: Session,
        high_water_mark: usize,
    ) -> Self {
        timer.opened(Instant::now());
        WebSocket {
            engine: Engine::new(stream, conn, timer, high_water_mark.max(1)),
            session: Arc::new(session),
        }
    }

    // ----- getters and settings -----

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.session.protocol.as_deref()
    }

    /// Client side: the server's `101` response (`None` on a server).
    pub fn response(&self) -> Option<&ServerResponse> {
        self.session.response.as_ref()
    }

    /// Server side: the client's upgrade request (`None` on a client).
    pub fn request(&self) -> Option<&Request> {
        self.session.request.as_ref()
    }

    /// The connection state. `Closed` once the close handshake completed,
    /// the connection failed or the transport ended.
    pub fn state(&self) -> State {
        self.engine.state()
    }

    /// The sans-IO connection, for its configuration and counters.
    pub fn connection(&self) -> &Connection {
        &self.engine.conn
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.engine.io
    }

    /// The underlying stream, mutably. Reading from or writing to it
    /// directly corrupts the WebSocket stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.engine.io
    }

    /// Keepalive ping, pong and close deadlines (the handshake one is
    /// spent). Restarts the silence count from now.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.engine.set_timeouts(timeouts);
    }

    /// The deadlines in force.
    pub fn timeouts(&self) -> Timeouts {
        self.engine.timeouts()
    }

    /// Pending output (bytes) above which [`send`](Self::send) waits for
    /// the stream to take some. One message larger than the mark still goes
    /// out whole when the output is below it.
    pub fn set_high_water_mark(&mut self, bytes: usize) {
        self.engine.high_water_mark = bytes.max(1);
    }

    /// Bytes queued for the stream and not yet written.
    pub fn pending_output(&self) -> usize {
        self.engine.conn.output_len()
    }

    // ----- reading -----

    /// The next message. Pings are answered and the peer's close is
    /// replied to along the way. Once the connection is over this returns
    /// [`Error::Closed`], every time.
    ///
    /// **Cancel safety**: cancel-safe. Bytes read stay in the connection
    /// and a message is taken out of it only when this returns it.
    pub async fn read(&mut self) -> Result<Message, Error> {
        poll_fn(|cx| self.poll_read(cx)).await
    }

    /// [`read`](Self::read) as a poll function.
    pub fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message, Error>> {
        poll_message(&mut self.engine, cx, Side::Reader, true)
    }

    /// Read the next message and hand it, lent, to `f`, with a
    /// [`Replies`] to queue answers on; `f`'s result is returned (a reply
    /// refused is `f`'s to report: `Result`s nest, as below). The
    /// uWebSockets way of handling a message: a short one (up to 125
    /// bytes, most chat lines, game ticks and quotes) is unmasked into a
    /// buffer on the stack and never allocated, and a short answer to a
    /// message that came alone is encoded on the stack and written before
    /// this returns; answers to the messages one read brought together
    /// are queued and leave in one write, as [`feed`](Self::feed)'s do. A
    /// longer message arrives as [`read`](Self::read) gives it, and is
    /// lent from there. Pings and the peer's close are handled as by
    /// `read`. An I/O error writing an answer fails the connection and is
    /// returned in place of `f`'s result.
    ///
    /// ```no_run
    /// # async fn echo(mut socket: rfc6455::tokio::WebSocket<tokio::net::TcpStream>)
    /// #     -> Result<(), rfc6455::Error> {
    /// loop {
    ///     // Echo every message; a JSON line could be parsed right here.
    ///     socket.read_with(|message, replies| replies.send(message)).await??;
    /// }
    /// # }
    /// ```
    ///
    /// **Cancel safety**: cancel-safe, as [`read`](Self::read): `f` runs
    /// inside the poll that finds a message, so a future dropped before
    /// then has taken nothing, and one that returned has handed it over.
    pub async fn read_with<T, F>(&mut self, f: F) -> Result<T, Error>
    where
        F: FnOnce(MessageRef<'_>, &mut Replies<'_>) -> T,
    {
        let mut f = Some(f);
        poll_fn(|cx| poll_message_with(&mut self.engine, cx, &mut f)).await
    }

    /// The next event of any kind (pings, pongs, the peer's close and, in
    /// streaming mode, fragments included).
    ///
    /// **Cancel safety**: cancel-safe, as [`read`](Self::read).
    pub async fn read_event(&mut self) -> Result<Event, Error> {
        poll_fn(|cx| self.engine.poll_event(cx, Side::Reader, true)).await
    }

    // ----- writing -----

    /// Send a message: wait while pending output is over the high-water
    /// mark, queue the message, and write everything queued. To queue
    /// several messages and write them in one go, see [`feed`](Self::feed).
    ///
    /// **Cancel safety**: a message is queued whole or not at all. Dropped
    /// while waiting for room, the message is dropped unsent; dropped
    /// while writing, the message is queued and its remaining bytes go out
    /// with the next `send`, `flush` or `read`. The stream never sees part
    /// of a frame followed by another frame.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        poll_fn(|cx| self.engine.poll_ready(cx, Side::Writer, true)).await?;
        let mut message = Some(message);
        poll_fn(|cx| self.engine.poll_send(cx, Side::Writer, true, &mut message)).await
    }

    /// Queue a message without writing it: wait while pending output is
    /// over the high-water mark, then queue. [`flush`](Self::flush) writes
    /// it, and so does the next [`read`](Self::read) before it waits for
    /// input, so a request/response loop that answers with `feed` writes
    /// all the answers to one read's requests with one system call.
    ///
    /// **Cancel safety**: queued whole or not at all, as [`send`](Self::send).
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        poll_fn(|cx| self.engine.poll_ready(cx, Side::Writer, true)).await?;
        self.engine.start_send(message)
    }

    /// Send a ping (at most 125 bytes) and write it out.
    ///
    /// **Cancel safety**: as [`send`](Self::send) once queued.
    pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.engine.conn.send_ping(payload)?;
        self.flush().await
    }

    /// Send an unsolicited pong (at most 125 bytes; a heartbeat that needs
    /// no answer, RFC 6455 §5.5.3) and write it out. Pings are answered
    /// automatically while [`Config::auto_pong`](crate::Config::auto_pong)
    /// is on.
    ///
    /// **Cancel safety**: as [`send`](Self::send) once queued.
    pub async fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.engine.conn.send_pong(payload)?;
        self.flush().await
    }

    /// Send one piece of a message streamed piece by piece, waiting for
    /// room as [`send`](Self::send) does: the first call starts a message
    /// of `kind`, `last` ends it. Pings may go out in between; other
    /// messages wait for the last piece.
    ///
    /// **Cancel safety**: a piece is queued whole or not at all, as
    /// [`send`](Self::send).
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        last: bool,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.engine.poll_ready(cx, Side::Writer, true)).await?;
        self.engine.conn.send_fragment(kind, data, last)?;
        self.flush().await
    }

    /// Write all queued output.
    ///
    /// **Cancel safety**: cancel-safe: what was not written stays queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.engine.poll_flush(cx, Side::Writer, true)).await
    }

    /// Start the close handshake and write the close frame. Keep calling
    /// [`read`](Self::read) until it returns [`Error::Closed`] to receive
    /// the peer's reply (messages already in flight arrive first), or use
    /// [`close_and_wait`](Self::close_and_wait).
    ///
    /// **Cancel safety**: cancel-safe; the close frame is queued at once.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.engine.start_close(code, reason)?;
        self.flush().await
    }

    /// Close and wait for the peer's close frame (and, on a client, for the
    /// server to close the transport), discarding messages that arrive
    /// meanwhile; the close timeout bounds the wait. Returns the peer's
    /// close frame, if it sent a code.
    ///
    /// **Cancel safety**: cancel-safe; calling it again resumes the wait.
    pub async fn close_and_wait(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<Option<CloseFrame>, Error> {
        self.close(code, reason).await?;
        loop {
            match self.read_event().await {
                Ok(_) => continue,
                Err(Error::Closed { frame, .. }) => return Ok(frame),
                Err(e) => return Err(e),
            }
        }
    }

    /// Split into a read half and a write half that two tasks can use at
    /// the same time (see [`ReadHalf`] for how they share the stream).
    pub fn split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        super::split::split(self)
    }
}

/// The next whole message from `engine` (fragments as binary pieces).
pub(super) fn poll_message<S: AsyncRead + AsyncWrite + Unpin>(
    engine: &mut Engine<S>,
    cx: &mut Context<'_>,
    side: Side,
    drive_timer: bool,
) -> Poll<Result<Message, Error>> {
    loop {
        match core::task::ready!(engine.poll_event(cx, side, drive_timer))? {
            Event::Message(message) => return Poll::Ready(Ok(message)),
            // Streaming mode: a piece of text may end inside a code point,
            // so every piece is handed out as bytes; use read_event() to
            // see kinds and message boundaries.
            Event::Fragment(fragment) => return Poll::Ready(Ok(Message::Binary(fragment.data))),
            Event::Ping(_) | Event::Pong(_) | Event::Close(_) => continue,
        }
    }
}

/// What `read_with` lends from: a short message in the poll's scratch
/// buffer, or a message the connection handed over.
enum Lent {
    Short(ShortMessage),
    Owned(Message),
}

/// The poll behind [`WebSocket::read_with`]: `f` is called once, with
/// the first message, in the poll that finds it.
fn poll_message_with<S, T, F>(
    engine: &mut Engine<S>,
    cx: &mut Context<'_>,
    f: &mut Option<F>,
) -> Poll<Result<T, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(MessageRef<'_>, &mut Replies<'_>) -> T,
{
    // Where a short message is lent from and a short answer encoded: on
    // this poll's stack, which every task's poll reuses (warm in the
    // cache), not in the future, which is the connection's own memory.
    // The message and its answers are done with before the poll returns.
    let mut scratch = [0u8; SHORT_MAX];
    let mut frame = [0u8; SHORT_FRAME_MAX];
    let (scratch, frame) = (&mut scratch, &mut frame);
    loop {
        let next = core::task::ready!(engine.poll_next(cx, Side::Reader, true, Some(scratch)))?;
        let lent = match next {
            Next::Short(short) => Lent::Short(short),
            Next::Event(Event::Message(message)) => Lent::Owned(message),
            // Streaming mode: pieces come as bytes, as `read` gives them.
            Next::Event(Event::Fragment(fragment)) => Lent::Owned(Message::Binary(fragment.data)),
            Next::Event(Event::Ping(_) | Event::Pong(_) | Event::Close(_)) => continue,
        };
        let (message, owned) = match &lent {
            Lent::Owned(owned) => (MessageRef::from(owned), Some(owned)),
            Lent::Short(short) if short.text => match core::str::from_utf8(&scratch[..short.len]) {
                Ok(text) => (MessageRef::Text(text), None),
                // A second look rather than `unsafe`, as in
                // `Connection::poll_event_ref`.
                Err(_) => unreachable!("take_message_into validated the text"),
            },
            Lent::Short(short) => (MessageRef::Binary(&scratch[..short.len]), None),
        };
        let f = f.take().expect("read_with polled after it completed");
        // A short message that a read brought alone: its answer goes out
        // now, from `frame`, the write the next read would make anyway.
        let direct = engine.input_drained();
        let mut replies = Replies::new(&mut engine.conn, frame, direct, owned);
        let result = f(message, &mut replies);
        let held = replies.take_held();
        drop(replies);
        if held > 0 {
            engine.write_direct(cx, Side::Reader, &frame[..held])?;
        } else if direct {
            // Several answers, or a long one: queued, and written now for
            // the same reason (nothing else will come to batch them with).
            engine.write_pending(cx, Side::Reader)?;
        }
        return Poll::Ready(Ok(result));
    }
}

/// A [`Stream`](futures_core::Stream) item from a message poll: the end of
/// the connection ends the stream; any other error is an item.
pub(super) fn stream_item(
    polled: Poll<Result<Message, Error>>,
) -> Poll<Option<Result<Message, Error>>> {
    match polled {
        Poll::Ready(Err(Error::Closed { .. })) => Poll::Ready(None),
        Poll::Ready(other) => Poll::Ready(Some(other)),
        Poll::Pending => Poll::Pending,
    }
}

/// Messages until the connection ends; a protocol or I/O error is an item,
/// after which the stream ends.
impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WebSocket<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        stream_item(self.get_mut().poll_read(cx))
    }
}

/// `poll_ready` waits for room under the high-water mark, `start_send`
/// queues, `poll_flush` writes, `poll_close` sends a 1000 close frame and
/// writes it (read on to receive the peer's reply).
impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().engine.poll_ready(cx, Side::Writer, true)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.get_mut().engine.start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().engine.poll_flush(cx, Side::Writer, true)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let engine = &mut self.get_mut().engine;
        engine.start_close(CloseCode::NORMAL, "")?;
        engine.poll_flush(cx, Side::Writer, true)
    }
}
