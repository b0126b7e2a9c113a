//! The Autobahn testsuite's testee in client mode (`wstest -m fuzzingserver`),
//! driven by the mio adapter's client role in an event loop.
//!
//! ```sh
//! cargo run --release --features mio --example mio-autobahn-client -- ws://127.0.0.1:9014 rfc6455-mio
//! ```
//! The same conversation as `examples/autobahn-client` (getCaseCount,
//! runCase for each case as an echo client, updateReports), but every
//! connection is a non-blocking [`WebSocket`] on a mio [`Poll`]: reads until
//! `WouldBlock`, writes with backpressure (echoes refused at the high-water
//! mark wait in a backlog, in order), deadlines from the adapter. Cases run
//! one after the other, as the fuzzing server expects. Exits 0 when done.

use mio::{Events, Poll, Token};
use rfc6455::mio::{ClientStream, Options, SendError, SocketEvent, WebSocket};
use rfc6455::{ClientOptions, Config, Message};
use std::collections::VecDeque;
use std::error::Error;
use std::process::ExitCode;
use std::time::Instant;

const TOKEN: Token = Token(0);

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[path = "support/autobahn.rs"]
mod autobahn;

fn main() -> ExitCode {
    let poll = match Poll::new() {
        Ok(poll) => poll,
        Err(e) => {
            eprintln!("cannot create a poll: {e}");
            return ExitCode::FAILURE;
        }
    };
    autobahn::run_suite(&mut Mio { poll }, "ws://127.0.0.1:9014", "rfc6455-mio")
}

/// Every connection is a non-blocking WebSocket on one mio poll.
struct Mio {
    poll: Poll,
}

impl autobahn::Testee for Mio {
    type Error = Box<dyn Error>;

    fn case_count(&mut self, url: &str) -> Result<u32> {
        let messages = run(&mut self.poll, url, false)?;
        let count = messages
            .first()
            .and_then(Message::as_text)
            .and_then(|text| text.trim().parse().ok())
            .ok_or("no case count in the answer")?;
        Ok(count)
    }

    fn run_case(&mut self, url: &str) -> Result<()> {
        run(&mut self.poll, url, true).map(drop)
    }

    fn update_reports(&mut self, url: &str) -> Result<()> {
        run(&mut self.poll, url, false).map(drop)
    }
}

/// Drive one connection until its transport is closed. With `echo`, every
/// message is sent back; without, the messages are returned. The first
/// error (a protocol violation, an I/O error, an expired deadline) is
/// returned after the connection wound down, so the close frame it queued
/// still goes out.
fn run(poll: &mut Poll, url: &str, echo: bool) -> Result<Vec<Message>> {
    let options = Options {
        // Autobahn's section 9 sends messages of up to 16 MiB.
        config: Config::default().with_max_size(16 << 20),
        ..Options::default()
    };
    let mut ws = WebSocket::connect(url, ClientOptions::default(), &options)?;
    ws.register(poll.registry(), TOKEN)?;
    let mut events = Events::with_capacity(16);
    let mut backlog: VecDeque<Message> = VecDeque::new();
    let mut received = Vec::new();
    let mut failure: Option<Box<dyn Error>> = None;
    loop {
        send_backlog(&mut ws, &mut backlog);
        loop {
            match ws.poll_event() {
                Ok(Some(SocketEvent::Message(message))) if echo => {
                    // Behind older echoes, or refused at the mark: keep order.
                    if !backlog.is_empty() {
                        backlog.push_back(message);
                    } else if let Err(SendError::Full(message)) = ws.send(message) {
                        backlog.push_back(message);
                    }
                }
                Ok(Some(SocketEvent::Message(message))) => received.push(message),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    failure.get_or_insert_with(|| e.into());
                    break;
                }
            }
        }
        if let Err(e) = ws.flush(poll.registry()) {
            failure.get_or_insert_with(|| e.into());
        }
        if ws.is_finished() {
            break;
        }
        // Writing made room with echoes waiting: no readiness event would
        // say so, so send them now.
        if !backlog.is_empty() && !ws.is_full() && ws.is_open() {
            continue;
        }
        let timeout = ws
            .poll_timeout()
            .map(|at| at.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e.into());
            }
        }
        for event in events.iter() {
            ws.ready(event);
        }
        if let Some(why) = ws.handle_timeout(Instant::now()) {
            failure.get_or_insert_with(|| format!("deadline passed: {why:?}").into());
        }
    }
    ws.deregister(poll.registry())?;
    match failure {
        Some(e) => Err(e),
        None => Ok(received),
    }
}

/// Send the echoes that waited, in order, until the socket is full again.
fn send_backlog(ws: &mut WebSocket<ClientStream>, backlog: &mut VecDeque<Message>) {
    while let Some(message) = backlog.pop_front() {
        match ws.send(message) {
            Ok(()) => {}
            Err(SendError::Full(message)) => {
                backlog.push_front(message);
                return;
            }
            // Closing or closed: the echoes have nowhere to go.
            Err(_) => {
                backlog.clear();
                return;
            }
        }
    }
}
