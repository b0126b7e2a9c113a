//! Allocations per echoed small message, counted by a global allocator.
//!
//! A server connection reads a client's masked 32-byte messages from memory
//! (into `read_buf`, as an adapter reading a socket does) and echoes each
//! one with `send` (and 4 KiB ones, which the echo queues as shared
//! payloads, not copies); the client serializes and masks them and reads the
//! echoes. Once both are warm, the whole-message API must not allocate:
//!
//! ```sh
//! cargo test --test alloc -- --nocapture   # prints the counts
//! ```
//!
//! Each test thread counts its own allocations (a thread-local switch and
//! counter), so the harness's other threads, tests running beside it
//! included, cannot add to the counts.

use rfc6455::{Config, Connection, Event, EventRef, FastRng, Message, Role};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Set on the thread whose allocations are counted. `const` and free of
    /// destructors, so reading it never allocates from inside the allocator.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    if COUNTED.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: defers every call to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Socket-sized reads and writes between the two ends.
const IO_SIZE: usize = 4096;

struct Pair {
    client: Connection,
    server: Connection,
    payload: Vec<u8>,
    /// Stands in for the socket: reused, never grown once warm.
    wire: Vec<u8>,
    /// The server reads with `poll_event_ref` (copying each lent payload
    /// into `scratch` to echo it) instead of `poll_event`.
    borrowed: bool,
    scratch: Vec<u8>,
}

#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    client_write: usize,
    server_read: usize,
    server_write: usize,
    client_read: usize,
}

impl Pair {
    fn new(borrowed: bool, size: usize) -> Self {
        let config = Config::default();
        Pair {
            client: Connection::with_rng(
                Role::Client,
                config.clone(),
                Box::new(FastRng::from_seed(1)),
            ),
            server: Connection::new(Role::Server, config),
            payload: vec![b'x'; size],
            wire: Vec::with_capacity(64 << 10),
            borrowed,
            scratch: Vec::with_capacity(64),
        }
    }

    /// Move `from`'s output into `to` in `IO_SIZE` reads.
    fn shuttle(wire: &mut Vec<u8>, from: &mut Connection, to: &mut Connection) {
        wire.clear();
        for chunk in from.output_chunks() {
            wire.extend_from_slice(chunk);
        }
        from.advance_output(wire.len());
        for chunk in wire.chunks(IO_SIZE) {
            to.read_buf(chunk.len()).copy_from_slice(chunk);
            to.filled(chunk.len());
        }
    }

    /// Echo `batch` messages, counting allocations in each step.
    fn echo(&mut self, batch: usize, counts: &mut Counts) {
        let start = allocations();
        for _ in 0..batch {
            self.client.send_binary(&self.payload).unwrap();
        }
        counts.client_write += allocations() - start;
        Self::shuttle(&mut self.wire, &mut self.client, &mut self.server);

        let mut echoed = 0;
        loop {
            let start = allocations();
            let message = if self.borrowed {
                match self.server.poll_event_ref().unwrap() {
                    Some(EventRef::Binary(bytes)) => {
                        self.scratch.clear();
                        self.scratch.extend_from_slice(bytes);
                        None
                    }
                    _ => break,
                }
            } else {
                match self.server.poll_event().unwrap() {
                    Some(Event::Message(message)) => Some(message),
                    _ => break,
                }
            };
            counts.server_read += allocations() - start;
            let start = allocations();
            match message {
                Some(message) => self.server.send(message).unwrap(),
                None => self.server.send_binary(&self.scratch).unwrap(),
            }
            counts.server_write += allocations() - start;
            echoed += 1;
        }
        assert_eq!(echoed, batch);
        Self::shuttle(&mut self.wire, &mut self.server, &mut self.client);

        let mut received = 0;
        loop {
            let start = allocations();
            let event = self.client.poll_event().unwrap();
            let is_message = matches!(event, Some(Event::Message(Message::Binary(_))));
            drop(event);
            counts.client_read += allocations() - start;
            if !is_message {
                break;
            }
            received += 1;
        }
        assert_eq!(received, batch);
    }
}

#[test]
fn echo_of_small_messages_does_not_allocate_once_warm() {
    COUNTED.with(|counted| counted.set(true));
    // The counter sees this thread's allocations (else zero proves nothing).
    let before = allocations();
    drop(std::hint::black_box(vec![0u8; 64]));
    assert_eq!(allocations(), before + 1);
    // 32-byte messages, and 4 KiB ones, whose echo the server queues as a
    // shared payload instead of copying it.
    for (batch, borrowed, size) in [
        (1, false, 32),
        (16, false, 32),
        (100, false, 32),
        (1, true, 32),
        (100, true, 32),
        (1, false, 4096),
        (16, false, 4096),
    ] {
        let mut pair = Pair::new(borrowed, size);
        // Warm up: buffers grow to their working size.
        pair.echo(batch, &mut Counts::default());
        pair.echo(batch, &mut Counts::default());
        let rounds = 10_000 / batch;
        let mut counts = Counts::default();
        for _ in 0..rounds {
            pair.echo(batch, &mut counts);
        }
        let messages = (rounds * batch) as f64;
        println!(
            "{size:>4} B, {batch:>3} in flight{}: allocations per message: client write {:.3}, server read {:.3}, \
             server write {:.3}, client read {:.3}",
            if borrowed { " (server reads borrowed)" } else { "" },
            counts.client_write as f64 / messages,
            counts.server_read as f64 / messages,
            counts.server_write as f64 / messages,
            counts.client_read as f64 / messages,
        );
        assert_eq!(
            (
                counts.client_write,
                counts.server_read,
                counts.server_write,
                counts.client_read
            ),
            (0, 0, 0, 0),
            "{size} B, {batch} in flight, borrowed {borrowed}: {counts:?}"
        );
    }
}

/// Adapters give a connection's buffers back whenever its socket runs dry
/// (`shrink_buffers`), so that an idle connection holds none. The thread
/// keeps them for the next message (with the reference count a message
/// shares its input buffer through): an echo between two such waits
/// allocates nothing, where each buffer used to be freed and allocated
/// again (three allocations per echo).
#[test]
fn buffers_given_back_between_messages_are_reused() {
    COUNTED.with(|counted| counted.set(true));
    let mut client = Connection::with_rng(
        Role::Client,
        Config::default(),
        Box::new(FastRng::from_seed(7)),
    );
    let mut server = Connection::new(Role::Server, Config::default());
    let mut worst = 0;
    for round in 0..1000 {
        client.send_binary(&[b'x'; 32]).unwrap();
        let wire = client.take_output();
        let start = allocations();
        server.receive(&wire);
        let Some(Event::Message(message)) = server.poll_event().unwrap() else {
            panic!("no message in round {round}");
        };
        assert_eq!(message.len(), 32);
        server.send(message).unwrap();
        while server.write_output(&mut std::io::sink()).unwrap() > 0 {}
        server.shrink_buffers();
        if round >= 2 {
            worst = worst.max(allocations() - start);
        }
    }
    assert_eq!(worst, 0, "allocations per echo between two waits");
}

/// The tokio adapter's lending read: a server echoing 32-byte messages
/// with `read_with` over an in-memory stream allocates nothing per
/// message once warm (the message is lent from the poll's stack, the echo
/// written from it), counting the whole exchange: the peer's writes and
/// reads, the runtime, the stream. The owned `read` (+ `feed`) allocates
/// the message itself: one per message, and nothing else.
#[cfg(feature = "tokio")]
#[test]
fn tokio_read_with_echo_does_not_allocate_once_warm() {
    use rfc6455::tokio::{Timeouts, WebSocket};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    COUNTED.with(|counted| counted.set(true));
    for lending in [true, false] {
        let per_message = runtime.block_on(async {
            let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
            let conn = Connection::new(Role::Server, Config::default());
            let mut socket = WebSocket::from_parts(ours, conn, None);
            socket.set_timeouts(Timeouts::none());
            let mut peer = Connection::with_rng(
                Role::Client,
                Config::default(),
                Box::new(FastRng::from_seed(3)),
            );
            let mut buf = vec![0u8; 4096];
            let mut counted = 0;
            const WARM: usize = 100;
            const ROUNDS: usize = 2000;
            for round in 0..WARM + ROUNDS {
                let start = allocations();
                peer.send_binary(&[round as u8; 32]).unwrap();
                while peer.output_len() > 0 {
                    let n = theirs.write(peer.output_chunk()).await.unwrap();
                    peer.advance_output(n);
                }
                if lending {
                    socket
                        .read_with(|message, replies| replies.send(message))
                        .await
                        .unwrap()
                        .unwrap();
                } else {
                    let message = socket.read().await.unwrap();
                    socket.feed(message).await.unwrap();
                    socket.flush().await.unwrap();
                }
                let echo = loop {
                    if let Some(EventRef::Binary(echo)) = peer.poll_event_ref().unwrap() {
                        break echo.len();
                    }
                    let n = theirs.read(&mut buf).await.unwrap();
                    peer.receive(&buf[..n]);
                };
                assert_eq!(echo, 32);
                if round >= WARM {
                    counted += allocations() - start;
                }
            }
            counted as f64 / ROUNDS as f64
        });
        println!(
            "tokio, 32 B echo with {}: allocations per message {per_message:.3}",
            if lending { "read_with" } else { "read + feed" }
        );
        let expected = if lending { 0.0 } else { 1.0 };
        assert_eq!(per_message, expected, "lending {lending}");
    }
}
