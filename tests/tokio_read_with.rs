//! `WebSocket::read_with`: messages handled where they lie and answered
//! through `Replies`, over loopback TCP and over streams that take their
//! output in pieces, late, or only when flushed; and small `send`s written
//! straight from the stack.
#![cfg(feature = "tokio")]

mod common;

use rfc6455::tokio::{self as ws, Timeouts, WebSocket};
use rfc6455::{CloseCode, Config, Connection, Error, Message, MessageKind, MessageRef, Role};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::timeout;

/// The longest any step may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(30);

/// Echo with `read_with` until the connection ends; returns the lengths
/// the closure saw, in order, and how the connection ended.
async fn echo_with<S>(mut socket: WebSocket<S>) -> (Vec<usize>, Error)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut seen = Vec::new();
    loop {
        let handled = socket
            .read_with(|message, replies| {
                replies.send(message)?;
                Ok(message.len())
            })
            .await;
        match handled.and_then(|result: Result<usize, Error>| result) {
            Ok(len) => seen.push(len),
            Err(e) => return (seen, e),
        }
    }
}

/// Every kind of message the client can send comes back as it was:
/// short ones (lent from the future's own buffer), long and fragmented
/// ones (lent from the message the connection assembled), with pings
/// answered on the way.
#[tokio::test]
async fn every_kind_of_message_is_echoed_from_where_it_lies() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        echo_with(ws::accept(tcp).await.unwrap()).await
    });
    let mut client = ws::connect(&url).await.unwrap();
    let messages = [
        Message::text("hello"),
        Message::text(""),
        Message::binary(vec![1u8; 125]),
        Message::binary(vec![2u8; 126]),
        Message::text("é".repeat(5000)),
        Message::binary(common::pattern(300_000, 3)),
    ];
    for message in &messages {
        client.send(message.clone()).await.unwrap();
        let echo = timeout(LIMIT, client.read()).await.unwrap().unwrap();
        assert_eq!(&echo, message);
    }
    // A fragmented message, a ping in the middle of it.
    client
        .send_fragment(MessageKind::Text, b"frag", false)
        .await
        .unwrap();
    client.send_ping(b"mid").await.unwrap();
    client
        .send_fragment(MessageKind::Text, b"mented", true)
        .await
        .unwrap();
    let echo = timeout(LIMIT, client.read()).await.unwrap().unwrap();
    assert_eq!(echo, Message::text("fragmented"));
    client.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
    let (seen, end) = timeout(LIMIT, server).await.unwrap().unwrap();
    let mut want: Vec<usize> = messages.iter().map(Message::len).collect();
    want.push("fragmented".len());
    assert_eq!(seen, want);
    assert!(matches!(end, Error::Closed { clean: true, .. }), "{end}");
}

/// A stream that treats the bytes written to it awkwardly, to test the
/// paths a real socket rarely takes: `piece` bytes at most per write,
/// every other write refused with `Pending` (waking the task at once), and
/// writes kept back until a flush, whose every other call is `Pending`.
struct Awkward<S> {
    inner: S,
    piece: usize,
    refuse_writes: bool,
    refused_last: bool,
    /// Written but not yet flushed, when the stream holds back writes.
    held: Option<Vec<u8>>,
    refused_last_flush: bool,
    writes: Arc<AtomicUsize>,
}

impl<S> Awkward<S> {
    fn new(inner: S, piece: usize, refuse_writes: bool, hold_until_flushed: bool) -> Self {
        Awkward {
            inner,
            piece,
            refuse_writes,
            refused_last: false,
            held: hold_until_flushed.then(Vec::new),
            refused_last_flush: false,
            writes: Arc::default(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Awkward<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Awkward<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        if this.refuse_writes && !this.refused_last {
            this.refused_last = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.refused_last = false;
        let take = buf.len().min(this.piece);
        let polled = match &mut this.held {
            Some(held) => {
                held.extend_from_slice(&buf[..take]);
                Poll::Ready(Ok(take))
            }
            None => Pin::new(&mut this.inner).poll_write(cx, &buf[..take]),
        };
        if polled.is_ready() {
            this.writes.fetch_add(1, Ordering::SeqCst);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if let Some(held) = &mut this.held {
            if !this.refused_last_flush {
                this.refused_last_flush = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            this.refused_last_flush = false;
            while !held.is_empty() {
                match Pin::new(&mut this.inner).poll_write(cx, held) {
                    Poll::Ready(Ok(n)) => drop(held.drain(..n)),
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A server over an awkward stream, echoing with `read_with` or with
/// `read` and `send`, against a client that sends short and long messages
/// one at a time and waits for each echo.
async fn echo_over(piece: usize, hold_until_flushed: bool, with: bool) {
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let stream = Awkward::new(ours, piece, true, hold_until_flushed);
    let server = tokio::spawn(async move {
        let conn = Connection::new(Role::Server, Config::default());
        let mut socket = WebSocket::from_parts(stream, conn, None);
        // No keepalive: its pings would write (and flush) what a stalled
        // path left behind, hiding the stall.
        socket.set_timeouts(Timeouts::none());
        if with {
            return echo_with(socket).await.1;
        }
        loop {
            match socket.read().await {
                Ok(message) => {
                    if let Err(e) = socket.send(message).await {
                        return e;
                    }
                }
                Err(e) => return e,
            }
        }
    });
    let conn = Connection::new(Role::Client, Config::default());
    let mut client = WebSocket::from_parts(theirs, conn, None);
    client.set_timeouts(Timeouts::none());
    for i in 0..40u32 {
        let len = [3, 125, 126, 2000][i as usize % 4];
        let message = if i % 2 == 0 {
            Message::binary(common::pattern(len, i))
        } else {
            Message::text("x".repeat(len))
        };
        client.send(message.clone()).await.unwrap();
        let echo = timeout(LIMIT, client.read())
            .await
            .expect("echo in time")
            .unwrap();
        assert_eq!(echo, message, "message {i}");
    }
    client.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
    let end = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(matches!(end, Error::Closed { clean: true, .. }), "{end}");
}

/// A reply written straight from the stack that the stream takes in
/// pieces, or refuses at first, is finished from the queue.
#[tokio::test]
async fn a_direct_reply_the_stream_takes_in_pieces_arrives_whole() {
    for piece in [1, 5, 64] {
        echo_over(piece, false, true).await;
        echo_over(piece, false, false).await;
    }
}

/// A stream that holds writes until flushed, and whose flush is not done
/// the first time (a TLS stream over a full socket): the next wait
/// flushes again although nothing is queued, whichever way the echo went
/// out.
#[tokio::test]
async fn a_flush_left_unfinished_is_finished_by_the_next_wait() {
    echo_over(usize::MAX, true, true).await;
    echo_over(usize::MAX, true, false).await;
    echo_over(7, true, true).await;
}

/// Replies to the messages of one read are batched as `feed`'s are: one
/// write for all of them (the first is not written alone from the stack).
#[tokio::test]
async fn replies_to_one_read_leave_in_one_write() {
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    // No refusals here: every write reaches the peer whole and is counted.
    let stream = Awkward::new(ours, usize::MAX, false, false);
    let writes = stream.writes.clone();
    let server = tokio::spawn(async move {
        let conn = Connection::new(Role::Server, Config::default());
        echo_with(WebSocket::from_parts(stream, conn, None)).await
    });
    let conn = Connection::new(Role::Client, Config::default());
    let mut client = WebSocket::from_parts(theirs, conn, None);
    for i in 0..16 {
        client.feed(Message::text(format!("m{i}"))).await.unwrap();
    }
    client.flush().await.unwrap();
    for i in 0..16 {
        let echo = timeout(LIMIT, client.read()).await.unwrap().unwrap();
        assert_eq!(echo, Message::text(format!("m{i}")));
    }
    assert_eq!(writes.load(Ordering::SeqCst), 1, "one write for 16 replies");
    // One message alone: its reply goes out at once, in one write.
    client.send(Message::text("alone")).await.unwrap();
    assert_eq!(
        timeout(LIMIT, client.read()).await.unwrap().unwrap(),
        Message::text("alone")
    );
    assert_eq!(writes.load(Ordering::SeqCst), 2);
    client.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
    let (seen, _) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(seen.len(), 17);
}

/// The closure's own result comes back as it returned it; a reply that
/// the connection refuses is the closure's to see; replies can be more
/// than one, and owned.
#[tokio::test]
async fn the_closure_answers_as_it_likes() {
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let conn = Connection::new(Role::Server, Config::default());
    let mut server = WebSocket::from_parts(ours, conn, None);
    let conn = Connection::new(Role::Client, Config::default());
    let mut client = WebSocket::from_parts(theirs, conn, None);
    client.send(Message::text("2 3")).await.unwrap();
    let sum = server
        .read_with(|message, replies| {
            let text = message.as_text().expect("text");
            let sum: u32 = text.split(' ').map(|n| n.parse::<u32>().unwrap()).sum();
            replies.send("sum follows").unwrap();
            replies
                .send_message(Message::binary(sum.to_be_bytes().to_vec()))
                .unwrap();
            replies.send(&b"done"[..]).unwrap();
            assert!(replies.pending_output() > 0);
            sum
        })
        .await
        .unwrap();
    assert_eq!(sum, 5);
    // Written before read_with returned (the message came alone): no
    // flush, no further read on the server.
    for want in [
        Message::text("sum follows"),
        Message::binary(vec![0, 0, 0, 5]),
        Message::binary(b"done".to_vec()),
    ] {
        assert_eq!(timeout(LIMIT, client.read()).await.unwrap().unwrap(), want);
    }
    // After our close, a message the peer had in flight is still lent,
    // and a reply to it is refused.
    server.close(CloseCode::NORMAL, "").await.unwrap();
    client.send(Message::text("late")).await.unwrap();
    let refused = server
        .read_with(|message, replies| {
            assert_eq!(message, MessageRef::Text("late"));
            replies.send(message)
        })
        .await
        .unwrap();
    assert!(matches!(refused, Err(Error::SendAfterClose)), "{refused:?}");
}

/// The numbered message `i`: short or long, so both lending paths run.
fn numbered(i: u32) -> Vec<u8> {
    let len = 4 + [0, 40, 121, 200, 5000][i as usize % 5];
    let mut data = i.to_be_bytes().to_vec();
    data.extend(common::pattern(len - 4, i));
    data
}

async fn yields(n: u32) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

/// `read_with` dropped mid-way, hundreds of times: every message is
/// handed to exactly one closure, whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_read_withs_lose_and_repeat_nothing() {
    const COUNT: u32 = 400;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let sender = tokio::spawn(async move {
        let mut client = ws::connect(&url).await.unwrap();
        for i in 0..COUNT {
            client.send(Message::binary(numbered(i))).await.unwrap();
            if i % 7 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        client.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
    });
    let (tcp, _) = listener.accept().await.unwrap();
    let mut server = ws::accept(tcp).await.unwrap();
    let mut received = Vec::new();
    let mut cancelled = 0;
    loop {
        tokio::select! {
            handled = server.read_with(|message, _| {
                let bytes = message.as_bytes();
                let i = u32::from_be_bytes(bytes[..4].try_into().unwrap());
                assert_eq!(bytes, &numbered(i)[..], "message {i} corrupted");
                i
            }) => match handled {
                Ok(i) => received.push(i),
                Err(Error::Closed { clean: true, .. }) => break,
                Err(e) => panic!("read_with failed: {e}"),
            },
            _ = yields(1 + received.len() as u32 % 3) => cancelled += 1,
        }
    }
    timeout(LIMIT, sender).await.unwrap().unwrap();
    assert_eq!(received, (0..COUNT).collect::<Vec<_>>());
    assert!(cancelled > 50, "only {cancelled} calls were cancelled");
}
