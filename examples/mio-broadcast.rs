//! A chat fan-out on one mio event loop: every message from one client goes
//! to all the others.
//!
//! ```sh
//! cargo run --release --features mio --example mio-broadcast -- 127.0.0.1:9003
//! ```
//!
//! Slow receivers policy: a message is **skipped** for a receiver whose
//! queued output is at the high-water mark (the others still get it, and
//! the sender is never held up by the slowest reader). A receiver that
//! misses more than [`MAX_MISSED`] messages in a row is closed with 1008
//! (policy violation): its close frame is queued regardless of the mark.
//! Memory per receiver is thus bounded by the mark plus one message.
//!
//! Each message is framed once ([`PreparedMessage`]) and its payload shared
//! by every receiver's queue: the fan-out copies a header per receiver,
//! never the payload. Receivers that negotiated permessage-deflate (every
//! browser offers it) get the message compressed once, up front
//! ([`PreparedMessage::compressed`]), not once per receiver: a fresh
//! DEFLATE stream that every such receiver inflates whatever it received
//! before, its bytes shared like the plain payload.

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use rfc6455::mio::{Options, SendError, SocketEvent, Timers, WebSocket};
use rfc6455::{CloseCode, PreparedMessage};
use std::time::Instant;

const LISTENER: Token = Token(usize::MAX);

/// Consecutive messages a receiver may miss before it is dropped.
const MAX_MISSED: u32 = 1000;

struct Client {
    ws: WebSocket,
    missed: u32,
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".into());
    let mut listener = TcpListener::bind(addr.parse().expect("an IP:port address"))?;
    eprintln!("mio-broadcast listening on ws://{}", listener.local_addr()?);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let options = Options::default();
    let mut clients: Vec<Option<Client>> = Vec::new();
    let mut timers = Timers::new();
    let mut events = Events::with_capacity(1024);
    loop {
        poll.poll(&mut events, timers.timeout(Instant::now()))?;
        let mut touched = Vec::new();
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((stream, _)) = listener.accept() {
                    let slot = clients.iter().position(Option::is_none).unwrap_or_else(|| {
                        clients.push(None);
                        clients.len() - 1
                    });
                    let mut ws = WebSocket::accept(stream, &options);
                    ws.register(poll.registry(), Token(slot))?;
                    clients[slot] = Some(Client { ws, missed: 0 });
                    touched.push(slot);
                }
                continue;
            }
            if let Some(client) = clients.get_mut(event.token().0).and_then(Option::as_mut) {
                client.ws.ready(event);
                touched.push(event.token().0);
            }
        }
        let now = Instant::now();
        while let Some(Token(slot)) = timers.next_expired(now) {
            if let Some(client) = clients.get_mut(slot).and_then(Option::as_mut) {
                let _ = client.ws.handle_timeout(now);
                touched.push(slot);
            }
        }
        for slot in touched.clone() {
            let mut inbox = Vec::new();
            if let Some(client) = clients[slot].as_mut() {
                while let Ok(Some(event)) = client.ws.poll_event() {
                    if let SocketEvent::Message(message) = event {
                        inbox.push(message);
                    }
                }
            }
            for message in inbox {
                let message = match &options.config.deflate {
                    Some(deflate) => PreparedMessage::compressed(message, deflate),
                    None => PreparedMessage::new(message),
                };
                for (other, receiver) in clients.iter_mut().enumerate() {
                    let Some(receiver) = receiver.as_mut().filter(|_| other != slot) else {
                        continue;
                    };
                    match receiver.ws.send_prepared(&message) {
                        Ok(()) => receiver.missed = 0,
                        Err(SendError::Full(_)) => {
                            receiver.missed += 1;
                            if receiver.missed > MAX_MISSED {
                                let _ = receiver.ws.close(CloseCode::POLICY_VIOLATION, "too slow");
                            }
                        }
                        Err(_) => {}
                    }
                    let _ = receiver.ws.flush(poll.registry());
                    touched.push(other);
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for slot in touched {
            let Some(client) = clients[slot].as_mut() else {
                continue;
            };
            let _ = client.ws.flush(poll.registry());
            timers.schedule(Token(slot), &mut client.ws);
            if client.ws.is_finished() {
                clients[slot] = None;
            }
        }
    }
}
