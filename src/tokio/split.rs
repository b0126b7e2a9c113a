//! Owned read and write halves of a [`WebSocket`], for two tasks.
//!
//! Both halves share the stream and the sans-IO connection behind a
//! `std::sync::Mutex` that is held for one synchronous poll step at a time
//! (decoding, or one non-blocking read or write), never across an await:
//! a task waiting for input or for the stream to take output holds no
//! lock, so the other half runs freely. Pongs and close replies that the
//! reader's input makes the connection queue are written by the reader
//! itself, so they reach the peer even when the writer is idle; the halves
//! wake each other when one makes room the other waits for.

use super::engine::{Engine, Side};
use super::socket::{poll_message, stream_item, Session, WebSocket};
use crate::close::CloseCode;
use crate::connection::{Event, State};
use crate::error::Error;
use crate::message::{Message, MessageKind};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::io::{AsyncRead, AsyncWrite};

type Shared<S> = Arc<Mutex<Engine<S>>>;

/// The half of a split [`WebSocket`] that reads. It also runs the
/// connection's deadlines (keepalive ping, pong and close timeouts), so
/// keep a read pending for them to apply.
#[derive(Debug)]
pub struct ReadHalf<S> {
    engine: Shared<S>,
    session: Arc<Session>,
}

/// The half of a split [`WebSocket`] that sends.
#[derive(Debug)]
pub struct WriteHalf<S> {
    engine: Shared<S>,
    session: Arc<Session>,
}

pub(super) fn split<S>(ws: WebSocket<S>) -> (ReadHalf<S>, WriteHalf<S>) {
    let mut engine = ws.engine;
    engine.split = true;
    let engine = Arc::new(Mutex::new(engine));
    let read = ReadHalf {
        engine: engine.clone(),
        session: ws.session.clone(),
    };
    let write = WriteHalf {
        engine,
        session: ws.session,
    };
    (read, write)
}

/// The engine, for one step. A panic in another task while it held the
/// lock leaves the connection as consistent as between two steps.
fn lock<S>(engine: &Shared<S>) -> MutexGuard<'_, Engine<S>> {
    engine.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S: AsyncRead + AsyncWrite + Unpin> ReadHalf<S> {
    /// The next message, as [`WebSocket::read`] (and as cancel-safe).
    pub async fn read(&mut self) -> Result<Message, Error> {
        poll_fn(|cx| self.poll_read(cx)).await
    }

    /// [`read`](Self::read) as a poll function.
    pub fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message, Error>> {
        poll_message(&mut lock(&self.engine), cx, Side::Reader, true)
    }

    /// The next event of any kind, as [`WebSocket::read_event`].
    pub async fn read_event(&mut self) -> Result<Event, Error> {
        poll_fn(|cx| lock(&self.engine).poll_event(cx, Side::Reader, true)).await
    }

    /// The connection state.
    pub fn state(&self) -> State {
        lock(&self.engine).state()
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.session.protocol.as_deref()
    }

    /// Put the halves back together; they are handed back if they came from
    /// different sockets.
    #[allow(clippy::result_large_err)]
    pub fn reunite(self, write: WriteHalf<S>) -> Result<WebSocket<S>, (Self, WriteHalf<S>)> {
        if !Arc::ptr_eq(&self.engine, &write.engine) {
            return Err((self, write));
        }
        drop(write);
        let engine = match Arc::try_unwrap(self.engine) {
            Ok(engine) => engine.into_inner().unwrap_or_else(PoisonError::into_inner),
            // Not reached: the two halves held the only references.
            Err(_) => unreachable!("a socket's halves are its only owners"),
        };
        Ok(WebSocket {
            engine,
            session: self.session,
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteHalf<S> {
    /// Send a message, as [`WebSocket::send`] (and as cancel-safe). The
    /// read half runs the deadlines; this one only writes.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        poll_fn(|cx| lock(&self.engine).poll_ready(cx, Side::Writer, false)).await?;
        let mut message = Some(message);
        poll_fn(|cx| lock(&self.engine).poll_send(cx, Side::Writer, false, &mut message)).await
    }

    /// Send a ping (at most 125 bytes) and write it out.
    pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        lock(&self.engine).conn.send_ping(payload)?;
        self.flush().await
    }

    /// Send an unsolicited pong (at most 125 bytes) and write it out.
    pub async fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        lock(&self.engine).conn.send_pong(payload)?;
        self.flush().await
    }

    /// Send one piece of a streamed message (see
    /// [`WebSocket::send_fragment`]), waiting for room as `send` does.
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        last: bool,
    ) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.engine).poll_ready(cx, Side::Writer, false)).await?;
        lock(&self.engine).conn.send_fragment(kind, data, last)?;
        self.flush().await
    }

    /// Write all queued output (cancel-safe).
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.engine).poll_flush(cx, Side::Writer, false)).await
    }

    /// Start the close handshake and write the close frame; the read half
    /// receives the peer's reply and then ends with [`Error::Closed`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        lock(&self.engine).start_close(code, reason)?;
        self.flush().await
    }

    /// The connection state.
    pub fn state(&self) -> State {
        lock(&self.engine).state()
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.session.protocol.as_deref()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for ReadHalf<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        stream_item(self.get_mut().poll_read(cx))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for WriteHalf<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.engine).poll_ready(cx, Side::Writer, false)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        lock(&self.engine).start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.engine).poll_flush(cx, Side::Writer, false)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut engine = lock(&self.engine);
        engine.start_close(CloseCode::NORMAL, "")?;
        engine.poll_flush(cx, Side::Writer, false)
    }
}
