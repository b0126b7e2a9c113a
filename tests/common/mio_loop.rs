//! The event loop of one mio WebSocket, for tests of the mio adapter (plain
//! and TLS).

use mio::{Events, Poll, Token};
use rfc6455::mio::{MioTransport, SocketEvent, WebSocket};
use rfc6455::{Error, Message};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Run `ws` on a poll of its own until its transport is closed, failing
/// the test after `bound`; `react`
/// sees every event and may send (refused messages wait in the backlog it
/// is given, sent in order as room appears). `poll` sleeps until readiness
/// or a deadline, never on a short tick, so a socket that loses the
/// writable interest TLS needs hangs here and fails the bound.
pub fn run<S, F>(mut ws: WebSocket<S>, bound: Duration, mut react: F) -> Result<WebSocket<S>, Error>
where
    S: MioTransport,
    F: FnMut(&mut WebSocket<S>, SocketEvent, &mut VecDeque<Message>),
{
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let mut backlog = VecDeque::new();
    ws.register(poll.registry(), Token(0)).unwrap();
    let start = Instant::now();
    loop {
        while let Some(message) = backlog.pop_front() {
            if let Err(e) = ws.send(message) {
                backlog.push_front(e.into_message());
                break;
            }
        }
        while let Some(event) = ws.poll_event()? {
            react(&mut ws, event, &mut backlog);
        }
        ws.flush(poll.registry())?;
        if ws.is_finished() {
            return Ok(ws);
        }
        if !backlog.is_empty() && !ws.is_full() && ws.is_open() {
            continue;
        }
        let left = bound
            .checked_sub(start.elapsed())
            .expect("the connection did not finish in time");
        let wait = ws.poll_timeout().map_or(left, |at| {
            at.saturating_duration_since(Instant::now()).min(left)
        });
        poll.poll(&mut events, Some(wait)).unwrap();
        for event in events.iter() {
            ws.ready(event);
        }
        ws.handle_timeout(Instant::now());
    }
}

/// Echo every message; queue refused echoes behind the others.
pub fn echo<S: MioTransport>(
    ws: &mut WebSocket<S>,
    event: SocketEvent,
    backlog: &mut VecDeque<Message>,
) {
    if let SocketEvent::Message(message) = event {
        if !backlog.is_empty() {
            backlog.push_back(message);
        } else if let Err(e) = ws.send(message) {
            backlog.push_back(e.into_message());
        }
    }
}
