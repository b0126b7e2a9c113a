//! The tokio adapter over loopback TCP: handshakes, echo, Stream + Sink,
//! split halves used by two tasks, cancel safety, backpressure, deadlines
//! and the close handshake.
#![cfg(feature = "tokio")]

mod common;

use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::HandshakeError;
use rfc6455::tokio::{self as ws, Rejection, Timeouts, WebSocket};
use rfc6455::{
    AcceptOptions, ClientOptions, CloseCode, Config, Connection, Error, Event, Message,
    MessageKind, State, Timeout,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

/// The longest any step may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(30);

async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    (listener, url)
}

/// An echo server for one connection; returns how the connection ended.
/// It answers with `feed`, which only queues: each `read` must write the
/// queued echoes before it waits, or the client would wait forever.
fn echo_once(listener: TcpListener) -> JoinHandle<Error> {
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(tcp).await.unwrap();
        loop {
            match socket.read().await {
                Ok(message) => {
                    if let Err(e) = socket.feed(message).await {
                        return e;
                    }
                }
                Err(e) => return e,
            }
        }
    })
}

#[tokio::test]
async fn echo_and_close_handshake() {
    let (listener, url) = listen().await;
    let server = echo_once(listener);
    let mut client = ws::connect(&url).await.unwrap();
    assert!(client.response().is_some());
    assert!(client.request().is_none());
    for text in ["hello", "", "ünïcödé"] {
        client.send(Message::text(text)).await.unwrap();
        assert_eq!(client.read().await.unwrap(), Message::text(text));
    }
    let big = vec![7u8; 3 << 20];
    client.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(client.read().await.unwrap().as_bytes(), &big[..]);
    let frame = client
        .close_and_wait(CloseCode::NORMAL, "bye")
        .await
        .unwrap();
    assert_eq!(frame.unwrap().code, CloseCode::NORMAL);
    assert_eq!(client.state(), State::Closed { clean: true });
    match timeout(LIMIT, server).await.unwrap().unwrap() {
        Error::Closed { frame, clean, .. } => {
            assert!(clean);
            assert_eq!(frame.unwrap().reason.as_str(), "bye");
        }
        other => panic!("server ended with {other}"),
    }
}

/// The same sending vocabulary as the blocking and mio sockets: `send`
/// takes anything that converts into a message, a streamed message goes
/// out piece by piece (a ping may go between the pieces), and an
/// unsolicited pong needs no answer; both halves of a split socket have
/// them too.
#[tokio::test]
async fn pongs_and_streamed_pieces_from_the_socket_and_its_write_half() {
    let (listener, url) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(tcp).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(socket.read_event().await.unwrap());
        }
        seen
    });
    let mut client = ws::connect(&url).await.unwrap();
    client.send("plain &str").await.unwrap();
    client
        .send_fragment(MessageKind::Text, b"stre", false)
        .await
        .unwrap();
    client.send_ping(b"between").await.unwrap();
    client
        .send_fragment(MessageKind::Text, b"amed", true)
        .await
        .unwrap();
    client.send_pong(b"heartbeat").await.unwrap();
    let (_reader, mut writer) = client.split();
    writer
        .send_fragment(MessageKind::Binary, &[1, 2], false)
        .await
        .unwrap();
    writer
        .send_fragment(MessageKind::Binary, &[3], true)
        .await
        .unwrap();
    writer.send_pong(b"again").await.unwrap();
    let seen = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(
        seen,
        vec![
            Event::Message(Message::text("plain &str")),
            Event::Ping(b"between"[..].into()),
            Event::Message(Message::text("streamed")),
            Event::Pong(b"heartbeat"[..].into()),
            Event::Message(Message::binary(vec![1, 2, 3])),
        ]
    );
}

#[tokio::test]
async fn decide_sees_the_request_and_picks_a_subprotocol() {
    let (listener, url) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let socket = ws::accept_with(tcp, Config::default(), |request| {
            assert_eq!(request.header("X-Token"), Some("let-me-in"));
            Ok(AcceptOptions {
                protocol: request.protocols.iter().find(|p| *p == "chat.v2").cloned(),
                ..AcceptOptions::default()
            })
        })
        .await
        .unwrap();
        assert_eq!(socket.request().unwrap().path(), "/room");
        socket.protocol().map(String::from)
    });
    let options = ClientOptions {
        protocols: vec!["chat.v1".into(), "chat.v2".into()],
        headers: vec![("X-Token".into(), "let-me-in".into())],
        ..ClientOptions::default()
    };
    let client = ws::connect_with(&format!("{url}room"), options, Config::default())
        .await
        .unwrap();
    assert_eq!(client.protocol(), Some("chat.v2"));
    assert_eq!(server.await.unwrap().as_deref(), Some("chat.v2"));
}

#[tokio::test]
async fn a_refusal_reaches_the_client_with_its_status() {
    let (listener, url) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        ws::accept_with(tcp, Config::default(), |_| {
            Err(Rejection::new(403, "no entry"))
        })
        .await
        .unwrap_err()
    });
    match ws::connect(&url).await.unwrap_err() {
        Error::Handshake(HandshakeError::Rejected(response)) => {
            assert_eq!(response.status, 403);
            assert_eq!(response.body, b"no entry");
        }
        other => panic!("expected a refusal, got {other}"),
    }
    assert!(matches!(server.await.unwrap(), Error::Handshake(_)));
}

#[tokio::test]
async fn stream_and_sink() {
    let (listener, url) = listen().await;
    let server = echo_once(listener);
    let mut client = ws::connect(&url).await.unwrap();
    let outgoing: Vec<Message> = (0..100).map(|i| Message::text(i.to_string())).collect();
    let mut source = futures_util::stream::iter(outgoing.clone().into_iter().map(Ok));
    client.send_all(&mut source).await.unwrap();
    let echoed: Vec<Message> = (&mut client).take(100).map(Result::unwrap).collect().await;
    assert_eq!(echoed, outgoing);
    SinkExt::close(&mut client).await.unwrap();
    // The stream ends once the server answered the close.
    assert!(timeout(LIMIT, client.next()).await.unwrap().is_none());
    assert!(matches!(
        server.await.unwrap(),
        Error::Closed { clean: true, .. }
    ));
}

/// A writer task sends every 10 ms while a reader task waits for echoes:
/// neither blocks the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_work_from_two_tasks() {
    let (listener, url) = listen().await;
    let server = echo_once(listener);
    let (mut reader, mut writer) = ws::connect(&url).await.unwrap().split();
    const COUNT: usize = 50;
    let writing = tokio::spawn(async move {
        let start = Instant::now();
        let mut worst = Duration::ZERO;
        for i in 0..COUNT {
            tokio::time::sleep_until(start + Duration::from_millis(10 * i as u64)).await;
            let began = Instant::now();
            writer
                .send(Message::text(format!("tick {i}")))
                .await
                .unwrap();
            worst = worst.max(began.elapsed());
        }
        (writer, worst)
    });
    for i in 0..COUNT {
        let message = timeout(LIMIT, reader.read()).await.unwrap().unwrap();
        assert_eq!(message.as_text(), Some(format!("tick {i}").as_str()));
    }
    let (mut writer, worst) = writing.await.unwrap();
    // On time: no send waited for the reader (which holds no lock while
    // it waits for the echo); a few ms of slack for a loaded machine.
    println!("slowest send: {worst:?}");
    assert!(worst < Duration::from_millis(10), "a send took {worst:?}");
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(matches!(
        timeout(LIMIT, reader.read()).await.unwrap(),
        Err(Error::Closed { clean: true, .. })
    ));
    let socket = reader.reunite(writer).unwrap();
    assert_eq!(socket.state(), State::Closed { clean: true });
    server.await.unwrap();
}

/// A raw client over TCP speaking through a sans-IO connection.
struct Raw {
    tcp: TcpStream,
    conn: Connection,
}

impl Raw {
    async fn connect(url: &str) -> Raw {
        let addr = url.trim_start_matches("ws://").trim_end_matches('/');
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let parsed = rfc6455::WsUrl::parse(url).unwrap();
        let mut upgrade =
            rfc6455::ClientUpgrade::new(&parsed, ClientOptions::default(), Config::default());
        tcp.write_all(upgrade.request()).await.unwrap();
        let mut buf = [0u8; 1024];
        loop {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "server closed during the handshake");
            if let Some((conn, _)) = upgrade.receive(&buf[..n]).unwrap() {
                return Raw { tcp, conn };
            }
        }
    }

    async fn write(&mut self) {
        let out = self.conn.take_output();
        self.tcp.write_all(&out).await.unwrap();
    }

    async fn next_event(&mut self) -> Event {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(event) = self.conn.poll_event().unwrap() {
                return event;
            }
            let n = timeout(LIMIT, self.tcp.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "server closed the connection");
            self.conn.receive(&buf[..n]);
        }
    }
}

/// Pongs the read half queues reach the peer though nobody sends.
#[tokio::test]
async fn reader_answers_pings_while_the_writer_is_idle() {
    let (listener, url) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let (mut reader, writer) = ws::accept(tcp).await.unwrap().split();
        let read = reader.read().await;
        drop(writer);
        read
    });
    let mut peer = Raw::connect(&url).await;
    for payload in [&b"one"[..], b"two"] {
        peer.conn.send_ping(payload).unwrap();
        peer.write().await;
        match peer.next_event().await {
            Event::Pong(data) => assert_eq!(&data[..], payload),
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    peer.conn.send(Message::text("done")).unwrap();
    peer.write().await;
    assert_eq!(server.await.unwrap().unwrap(), Message::text("done"));
}

/// Yields to the runtime `n` times: a branch that makes `select!` drop
/// the other future after it was polled `n` times without finishing.
async fn yields(n: u32) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

/// The pattern message `i` carries: its number, then bytes derived from it,
/// with sizes from a few bytes to 200 KiB so writes are often partial.
fn numbered(i: u32) -> Message {
    let len = 4 + (i as usize * 7919) % (200 * 1024);
    let mut data = i.to_be_bytes().to_vec();
    data.extend(common::pattern(len - 4, i));
    Message::binary(data)
}

fn number_of(message: &Message) -> u32 {
    let bytes = message.as_bytes();
    let i = u32::from_be_bytes(bytes[..4].try_into().unwrap());
    assert_eq!(message, &numbered(i), "message {i} arrived corrupted");
    i
}

/// `read` and `send` dropped mid-way, hundreds of times, lose and corrupt
/// nothing: every message read arrives whole and in order, every completed
/// send arrives, and a cancelled one arrives whole or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_reads_and_sends_lose_and_corrupt_nothing() {
    const COUNT: u32 = 300;
    // Small socket buffers, so that writes are often partial and block.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(16 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = socket.listen(16).unwrap();
    // The server sends numbered messages with cancelled sends interleaved.
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(tcp).await.unwrap();
        socket.set_high_water_mark(64 * 1024);
        let mut completed = Vec::new();
        let mut cancelled = 0;
        for i in 0..COUNT {
            if i % 4 == 0 {
                socket.send(numbered(i)).await.unwrap();
                completed.push(i);
                continue;
            }
            tokio::select! {
                biased;
                result = socket.send(numbered(i)) => {
                    result.unwrap();
                    completed.push(i);
                }
                _ = yields(1 + i % 3) => cancelled += 1,
            }
        }
        socket.flush().await.unwrap();
        let frame = socket.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
        assert!(frame.is_some());
        (completed, cancelled)
    });
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(16 * 1024).unwrap();
    let tcp = tcp.connect(addr).await.unwrap();
    let mut client = ws::client(
        tcp,
        "ws://localhost/",
        ClientOptions::default(),
        Config::default(),
    )
    .await
    .unwrap();
    let mut received = Vec::new();
    let mut cancelled_reads = 0;
    loop {
        tokio::select! {
            read = client.read() => match read {
                Ok(message) => received.push(number_of(&message)),
                Err(Error::Closed { clean: true, .. }) => break,
                Err(e) => panic!("read failed: {e}"),
            },
            _ = yields(1 + received.len() as u32 % 2) => cancelled_reads += 1,
        }
    }
    let (completed, cancelled_sends) = server.await.unwrap();
    assert!(received.windows(2).all(|w| w[0] < w[1]), "out of order");
    for i in &completed {
        assert!(received.contains(i), "completed send {i} never arrived");
    }
    println!("cancelled: {cancelled_reads} reads, {cancelled_sends} sends");
    assert!(
        cancelled_reads > 50,
        "only {cancelled_reads} reads were cancelled"
    );
    assert!(completed.len() >= COUNT as usize / 4);
    assert!(
        cancelled_sends > 10,
        "only {cancelled_sends} sends were cancelled"
    );
}

/// A peer that never reads: queueing waits at the high-water mark (the
/// `Sink`'s `poll_ready`), and `send` waits for the stream, instead of
/// buffering without bound.
#[tokio::test]
async fn a_peer_that_never_reads_cannot_grow_our_memory() {
    const MARK: usize = 128 * 1024;
    const CHUNK: usize = 64 * 1024;
    let (listener, url) = listen().await;
    let _peer = tokio::spawn(async move {
        // Accepts and then never reads.
        let (tcp, _) = listener.accept().await.unwrap();
        let socket = ws::accept(tcp).await.unwrap();
        tokio::time::sleep(LIMIT).await;
        drop(socket);
    });
    let mut client = ws::connect(&url).await.unwrap();
    client.set_high_water_mark(MARK);
    let chunk = Message::binary(common::pattern(CHUNK, 7));
    for use_feed in [true, false] {
        let mut queued = 0usize;
        loop {
            let step = async {
                if use_feed {
                    client.feed(chunk.clone()).await
                } else {
                    client.send(chunk.clone()).await
                }
            };
            match timeout(Duration::from_millis(200), step).await {
                Ok(result) => {
                    result.unwrap();
                    queued += 1;
                    // The kernel's buffers fill first (a few MiB on loopback).
                    assert!(queued < 4096, "sends never waited");
                }
                Err(_) => break,
            }
            assert!(client.pending_output() < MARK + CHUNK + 16);
        }
        if use_feed {
            assert!(client.pending_output() >= MARK);
        }
    }
}

/// A peer that stops mid-frame is pinged, then cut off by the pong timeout.
#[tokio::test]
async fn a_peer_stalled_mid_frame_is_cut_off() {
    let (listener, url) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(tcp).await.unwrap();
        socket.set_timeouts(Timeouts {
            ping_after: Some(Duration::from_millis(100)),
            pong: Some(Duration::from_millis(100)),
            ..Timeouts::default()
        });
        let start = Instant::now();
        (socket.read().await, start.elapsed())
    });
    let mut peer = Raw::connect(&url).await;
    peer.conn
        .send(Message::binary(common::pattern(1000, 3)))
        .unwrap();
    let frame = peer.conn.take_output();
    peer.tcp.write_all(&frame[..500]).await.unwrap();
    let (result, elapsed) = timeout(LIMIT, server).await.unwrap().unwrap();
    match result {
        Err(e) => assert!(matches!(e, Error::Timeout(Timeout::Pong)), "{e:?}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    // The ping went out before the cut.
    assert!(matches!(peer.next_event().await, Event::Ping(_)));
}

/// A handshake that never completes ends at the handshake deadline
/// (10 s, the blocking adapter's `HANDSHAKE_TIMEOUT` too).
#[tokio::test]
async fn a_stalled_handshake_ends_at_the_deadline() {
    let (listener, url) = listen().await;
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    let mut peer = TcpStream::connect(addr).await.unwrap();
    peer.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    let start = Instant::now();
    match ws::accept(tcp).await {
        Err(e) if e.is_timeout() => {
            assert!(matches!(e, Error::Timeout(Timeout::Handshake)), "{e:?}")
        }
        Err(other) => panic!("expected a timeout, got {other}"),
        Ok(_) => panic!("half a request was accepted"),
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed >= rfc6455::blocking::HANDSHAKE_TIMEOUT,
        "{elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(13), "{elapsed:?}");
}

/// The client side: a server that accepts and then says nothing is pinged
/// and given up on; dropping the halves afterwards is harmless.
#[tokio::test]
async fn keepalive_pings_a_silent_server_then_gives_up() {
    let (listener, url) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let socket = ws::accept(tcp).await.unwrap();
        // Holds the connection and never reads, so never answers the ping.
        tokio::time::sleep(LIMIT).await;
        drop(socket);
    });
    let mut client = ws::connect(&url).await.unwrap();
    client.set_timeouts(Timeouts {
        ping_after: Some(Duration::from_millis(150)),
        pong: Some(Duration::from_millis(150)),
        ..Timeouts::default()
    });
    let (mut reader, writer) = client.split();
    let start = Instant::now();
    let result = reader.read().await;
    assert!(
        matches!(&result, Err(Error::Timeout(Timeout::Pong))),
        "{result:?}"
    );
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(matches!(reader.read().await, Err(Error::Closed { .. })));
    drop(reader);
    drop(writer);
    server.abort();
}

/// Dropping a socket or a half mid-conversation never panics: the peer
/// sees the stream end.
#[tokio::test]
async fn dropping_halves_ends_the_stream() {
    let (listener, url) = listen().await;
    let server = echo_once(listener);
    let (reader, mut writer) = ws::connect(&url).await.unwrap().split();
    writer.send(Message::text("x")).await.unwrap();
    drop(reader);
    writer.send(Message::text("y")).await.unwrap();
    drop(writer);
    // The server reads the end of the stream, or fails writing its last
    // echo into a closed socket.
    let ended = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(
        matches!(ended, Error::Closed { clean: false, .. } | Error::Io(_)),
        "{ended}"
    );
}

/// A client over one end of an in-memory duplex stream.
async fn in_memory_client(stream: tokio::io::DuplexStream) -> WebSocket<tokio::io::DuplexStream> {
    ws::client(
        stream,
        "ws://in-memory/",
        ClientOptions::default(),
        Config::default(),
    )
    .await
    .unwrap()
}

/// The server's clients via `client()` over any stream: an in-memory duplex.
#[tokio::test]
async fn handshake_over_an_in_memory_stream() {
    let (a, b) = tokio::io::duplex(1024);
    let server = tokio::spawn(async move {
        let mut socket: WebSocket<_> = ws::accept(b).await.unwrap();
        let message = socket.read().await.unwrap();
        socket.send(message).await.unwrap();
        socket.read().await
    });
    let mut client = in_memory_client(a).await;
    let text = "x".repeat(10_000);
    client.send(Message::text(text.as_str())).await.unwrap();
    assert_eq!(client.read().await.unwrap().as_text(), Some(text.as_str()));
    let frame = client
        .close_and_wait(CloseCode::GOING_AWAY, "")
        .await
        .unwrap();
    assert_eq!(frame.unwrap().code, CloseCode::GOING_AWAY);
    assert!(matches!(
        server.await.unwrap(),
        Err(Error::Closed { clean: true, .. })
    ));
}

/// A stream that counts the writes that reach it and the reads that
/// return data, and notes the room each read was given.
struct Observed<S> {
    inner: S,
    writes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    reads: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    regions: Vec<core::ops::Range<usize>>,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Observed<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        // Zeroes the room first (a test needs no speed).
        let room = buf.initialize_unfilled();
        let start = room.as_ptr() as usize;
        let region = start..start + room.len();
        self.regions.push(region);
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        polled
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Observed<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if polled.is_ready() {
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        polled
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Messages that arrive together are echoed together: `read` writes what
/// `feed` queued only once the buffered input is consumed (one write per
/// batch, not per message), while a ping's pong goes out as soon as the
/// ping is read, with the echoes queued before it. A 16 KiB message
/// arrives with one read, header and all.
#[tokio::test]
async fn echoes_of_one_batch_leave_in_one_write_and_pongs_at_once() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let writes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Observed {
        inner: b,
        writes: writes.clone(),
        reads: reads.clone(),
        regions: Vec::new(),
    };
    let server = tokio::spawn(async move {
        let mut socket = ws::accept(counted).await.unwrap();
        loop {
            match socket.read().await {
                Ok(message) => socket.feed(message).await.unwrap(),
                Err(e) => return e,
            }
        }
    });
    let mut client = in_memory_client(a).await;
    writes.store(0, std::sync::atomic::Ordering::SeqCst);
    // Eight messages, a ping, eight more: queued, then written at once.
    for i in 0..8 {
        client.feed(Message::text(format!("m{i}"))).await.unwrap();
    }
    client.send_ping(b"mid").await.unwrap();
    for i in 8..16 {
        client.feed(Message::text(format!("m{i}"))).await.unwrap();
    }
    client.flush().await.unwrap();
    let mut order = Vec::new();
    while order.len() < 17 {
        match timeout(LIMIT, client.read_event()).await.unwrap().unwrap() {
            Event::Message(message) => {
                let text = message.as_text().unwrap().strip_prefix('m').unwrap();
                order.push(Some(text.parse::<u32>().unwrap()));
            }
            Event::Pong(payload) => {
                assert_eq!(&payload[..], b"mid");
                order.push(None);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let expected: Vec<_> = (0..8)
        .map(Some)
        .chain([None])
        .chain((8..16).map(Some))
        .collect();
    assert_eq!(order, expected);
    // The first write ends with the pong; the second carries the rest.
    assert_eq!(writes.load(std::sync::atomic::Ordering::SeqCst), 2);
    let reads_before = reads.load(std::sync::atomic::Ordering::SeqCst);
    let large = Message::binary(vec![0x5a; 16 * 1024]);
    client.send(large.clone()).await.unwrap();
    assert_eq!(timeout(LIMIT, client.read()).await.unwrap().unwrap(), large);
    assert_eq!(
        reads.load(std::sync::atomic::Ordering::SeqCst),
        reads_before + 1
    );
    client.close_and_wait(CloseCode::NORMAL, "").await.unwrap();
    assert!(matches!(
        timeout(LIMIT, server).await.unwrap().unwrap(),
        Error::Closed { clean: true, .. }
    ));
}

/// A 16 KiB message arrives in one read and is handed out where that read
/// put it (no copy into the connection), while a small one is copied out
/// of the shared read buffer, so it pins nothing when kept.
#[tokio::test]
async fn a_large_message_is_handed_out_where_it_was_read() {
    let (ours, mut theirs) = tokio::io::duplex(1 << 20);
    let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stream = Observed {
        inner: ours,
        writes: Default::default(),
        reads: reads.clone(),
        regions: Vec::new(),
    };
    let mut socket = WebSocket::from_parts(
        stream,
        Connection::new(rfc6455::Role::Server, Config::default()),
        None,
    );
    let mut peer = Connection::new(rfc6455::Role::Client, Config::default());
    let large = common::pattern(16 * 1024, 7);
    for message in [Message::binary(large.clone()), Message::text("small")] {
        peer.send(message).unwrap();
        theirs.write_all(&peer.take_output()).await.unwrap();
        let got = timeout(LIMIT, socket.read()).await.unwrap().unwrap();
        let at = got.as_bytes().as_ptr() as usize;
        let in_a_read = socket.get_ref().regions.iter().any(|r| r.contains(&at));
        if got.as_bytes().len() > 1024 {
            assert_eq!(got, Message::binary(large.clone()));
            assert!(in_a_read, "the large message was copied");
        } else {
            assert_eq!(got, Message::text("small"));
            assert!(!in_a_read, "the small message lies in the read buffer");
        }
    }
    assert_eq!(
        reads.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "one read per message"
    );
}
