//! An echo server on mio event loops: the server the load benchmarks and
//! Autobahn (as a second testee) run against.
//!
//! ```sh
//! cargo run --release --features mio --example mio-echo-server -- 127.0.0.1:9002 --threads 2
//! ```
//! Echoes text and binary messages up to 64 MiB and answers pings. The main
//! thread accepts and hands each connection to one of `--threads` event
//! loops (default 1) in turn, so N loops keep N cores busy. A client that
//! does not read gets its echoes queued only up to the high-water mark:
//! then its connection stops being read until it catches up.
//!
//! permessage-deflate settings (for `benches/conn-memory.sh`; the defaults
//! are the library's): `--no-deflate`, `--window-bits N` (9..=15, for both
//! directions), `--no-context-takeover` (both directions),
//! `--keep-deflate-state` (never release the zlib streams when idle),
//! `--mem-level N` (1..=9).

use mio::{Events, Poll, Token, Waker};
use rfc6455::blocking::Rejection;
use rfc6455::mio::{Options, SocketEvent, Timers, WebSocket};
use rfc6455::{AcceptOptions, Config, Message, Request};
use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::Instant;

const WAKER: Token = Token(usize::MAX);

fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:9002".to_string();
    let mut threads = 1usize;
    let mut config = Config::default().with_max_size(64 << 20);
    let mut deflate = config.deflate.take().unwrap_or_default();
    let mut use_deflate = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> u8 {
            args.next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{what} takes a number"))
        };
        match arg.as_str() {
            "--threads" => threads = usize::from(number("--threads")).max(1),
            "--no-deflate" => use_deflate = false,
            "--window-bits" => {
                let bits = number("--window-bits");
                deflate.server_max_window_bits = bits;
                deflate.client_max_window_bits = bits;
            }
            "--no-context-takeover" => {
                deflate.server_no_context_takeover = true;
                deflate.client_no_context_takeover = true;
            }
            "--keep-deflate-state" => deflate.release_when_idle = false,
            "--mem-level" => deflate.mem_level = number("--mem-level"),
            _ => addr = arg,
        }
    }
    config.deflate = use_deflate.then_some(deflate);
    let listener = TcpListener::bind(&addr)?;
    eprintln!(
        "mio-echo-server listening on ws://{} with {threads} event loop(s)",
        listener.local_addr()?
    );
    let mut loops = Vec::new();
    for _ in 0..threads {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = mpsc::channel();
        let config = config.clone();
        std::thread::spawn(move || event_loop(poll, rx, config));
        loops.push((tx, waker));
    }
    // The acceptor: hand connections to the loops in turn.
    for (n, stream) in listener.incoming().enumerate() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        stream.set_nonblocking(true)?;
        let (tx, waker) = &loops[n % threads];
        if tx.send(mio::net::TcpStream::from_std(stream)).is_ok() {
            waker.wake()?;
        }
    }
    Ok(())
}

struct Peer {
    ws: WebSocket,
    /// Echoes refused while the socket was full, sent first when it drains
    /// (boxed when there are any: most sockets never have one, and every
    /// byte of a slot counts with 10,000 idle connections: 8 bytes instead
    /// of a `VecDeque`'s 32, for an extra allocation only while backed up).
    #[allow(clippy::box_collection)]
    backlog: Option<Box<VecDeque<Message>>>,
}

impl Peer {
    fn queue(&mut self, message: Message) {
        self.backlog
            .get_or_insert_with(Default::default)
            .push_back(message);
    }

    fn has_backlog(&self) -> bool {
        self.backlog.as_ref().is_some_and(|b| !b.is_empty())
    }
}

fn event_loop(mut poll: Poll, incoming: Receiver<mio::net::TcpStream>, config: Config) {
    let options = Options {
        config,
        decide: std::sync::Arc::new(choose_echo_protocol),
        ..Options::default()
    };
    let mut peers: Vec<Option<Peer>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut timers = Timers::new();
    let mut events = Events::with_capacity(1024);
    loop {
        if let Err(e) = poll.poll(&mut events, timers.timeout(Instant::now())) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            panic!("poll failed: {e}");
        }
        for event in events.iter() {
            if event.token() == WAKER {
                for stream in incoming.try_iter() {
                    let slot = free.pop().unwrap_or_else(|| {
                        peers.push(None);
                        peers.len() - 1
                    });
                    let mut ws = WebSocket::accept(stream, &options);
                    if ws.register(poll.registry(), Token(slot)).is_err() {
                        free.push(slot);
                        continue;
                    }
                    peers[slot] = Some(Peer { ws, backlog: None });
                    drive(&poll, &mut peers, &mut free, slot, &mut timers);
                }
                continue;
            }
            let slot = event.token().0;
            if let Some(peer) = peers.get_mut(slot).and_then(Option::as_mut) {
                peer.ws.ready(event);
                drive(&poll, &mut peers, &mut free, slot, &mut timers);
            }
        }
        let now = Instant::now();
        while let Some(Token(slot)) = timers.next_expired(now) {
            if let Some(peer) = peers.get_mut(slot).and_then(Option::as_mut) {
                let _ = peer.ws.handle_timeout(now);
                drive(&poll, &mut peers, &mut free, slot, &mut timers);
            }
        }
    }
}

/// Send what waits, take events in, write out; forget finished sockets.
fn drive(
    poll: &Poll,
    peers: &mut [Option<Peer>],
    free: &mut Vec<usize>,
    slot: usize,
    timers: &mut Timers,
) {
    let Some(peer) = peers[slot].as_mut() else {
        return;
    };
    loop {
        while let Some(message) = peer.backlog.as_mut().and_then(|b| b.pop_front()) {
            if let Err(e) = peer.ws.send(message) {
                if let Some(backlog) = peer.backlog.as_mut() {
                    backlog.push_front(e.into_message());
                }
                break;
            }
        }
        if !peer.has_backlog() {
            peer.backlog = None;
        }
        loop {
            match peer.ws.poll_event() {
                Ok(Some(SocketEvent::Message(message))) => {
                    if peer.has_backlog() {
                        peer.queue(message);
                    } else if let Err(e) = peer.ws.send(message) {
                        peer.queue(e.into_message());
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let _ = peer.ws.flush(poll.registry());
        // Room again with echoes waiting: go round once more (no event
        // would come for a socket that wrote everything).
        if peer.ws.is_finished() || peer.ws.is_full() || !peer.has_backlog() {
            break;
        }
    }
    timers.schedule(Token(slot), &mut peer.ws);
    if peer.ws.is_finished() {
        peers[slot] = None;
        free.push(slot);
    }
}

/// Select the `echo` subprotocol when the client offers it, as
/// `examples/echo-server` does, so interop peers can check subprotocol
/// negotiation against either server.
fn choose_echo_protocol(request: &Request) -> Result<AcceptOptions, Rejection> {
    let protocol = request.protocols.iter().find(|p| p.as_str() == "echo");
    Ok(AcceptOptions {
        protocol: protocol.cloned(),
        ..AcceptOptions::default()
    })
}
