//! Deadlines of your own for the tokio adapter (`tokio::Options` and the
//! `_with_options` functions): a short handshake deadline on either side,
//! and keepalive deadlines that the opened socket keeps.
#![cfg(feature = "tokio")]

mod common;

use rfc6455::tokio::{self as ws, Options};
use rfc6455::{AcceptOptions, ClientOptions, Error, Event, Timeout, Timeouts};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

/// The longest any step may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(30);

/// The deadline the tests configure, far below the default 10 s.
const SHORT: Duration = Duration::from_millis(200);

fn short_handshake() -> Options {
    Options {
        timeouts: Timeouts {
            handshake: Some(SHORT),
            ..Timeouts::default()
        },
        ..Options::default()
    }
}

/// Options whose keepalive pings after `after` of silence.
fn ping_after(after: Duration) -> Options {
    Options {
        timeouts: Timeouts {
            ping_after: Some(after),
            ..Timeouts::default()
        },
        ..Options::default()
    }
}

fn accept_all(_: &rfc6455::Request) -> Result<AcceptOptions, ws::Rejection> {
    Ok(AcceptOptions::default())
}

/// A handshake that failed with the handshake deadline, within a margin of
/// [`SHORT`].
fn assert_handshake_timeout<T>(result: Result<T, Error>, elapsed: Duration) {
    match result {
        Err(e) if e.is_timeout() => {
            assert!(matches!(e, Error::Timeout(Timeout::Handshake)), "{e:?}")
        }
        Err(other) => panic!("expected a timeout, got {other:?}"),
        Ok(_) => panic!("the handshake succeeded"),
    }
    assert!(elapsed >= SHORT, "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// A client that sends half its request and stalls is cut off at the
/// server's configured deadline, not the default 10 s.
#[tokio::test]
async fn a_stalled_request_is_cut_off_at_the_configured_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut peer = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    peer.write_all(b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: web")
        .await
        .unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    let start = Instant::now();
    let result = timeout(
        LIMIT,
        ws::accept_with_options(tcp, short_handshake(), accept_all),
    )
    .await
    .unwrap();
    assert_handshake_timeout(result, start.elapsed());
}

/// A server that accepts TCP and never answers the upgrade: the client
/// gives up at its configured deadline, through `connect_with_options` and
/// through `client_with_options` over a stream of its own.
#[tokio::test]
async fn a_silent_server_is_cut_off_at_the_configured_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    // Holds the connections open and says nothing.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let start = Instant::now();
    let result = timeout(
        LIMIT,
        ws::connect_with_options(&url, ClientOptions::default(), short_handshake()),
    )
    .await
    .unwrap();
    assert_handshake_timeout(result, start.elapsed());

    let (ours, _theirs) = tokio::io::duplex(1024);
    let start = Instant::now();
    let result = timeout(
        LIMIT,
        ws::client_with_options(ours, &url, ClientOptions::default(), short_handshake()),
    )
    .await
    .unwrap();
    assert_handshake_timeout(result, start.elapsed());
    silent.abort();
}

/// The socket `accept_with_options` opens keeps the configured keepalive:
/// after 100 ms of silence it pings the client (the default is 20 s).
#[tokio::test]
async fn the_accepted_socket_pings_on_the_configured_interval() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let options = ping_after(Duration::from_millis(100));
    let expected = options.timeouts;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept_with_options(tcp, options, accept_all)
            .await
            .unwrap();
        assert_eq!(socket.timeouts(), expected);
        // Reading drives the timer; the client's pong ends the silence.
        socket.read_event().await
    });
    let mut client = ws::connect(&url).await.unwrap();
    let start = Instant::now();
    let event = timeout(LIMIT, client.read_event()).await.unwrap().unwrap();
    assert!(matches!(event, Event::Ping(_)), "{event:?}");
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // The pong the client sent back reaches the server.
    client.flush().await.unwrap();
    let seen = timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
    assert!(matches!(seen, Event::Pong(_)), "{seen:?}");
}

/// Input that keeps arriving is the silence the keepalive waits for
/// ending: a client that sends every 25 ms to a server pinging after
/// 250 ms of silence is never pinged, and once it stops, it is.
#[tokio::test]
async fn steady_input_keeps_the_keepalive_quiet() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let options = ping_after(Duration::from_millis(250));
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept_with_options(tcp, options, accept_all)
            .await
            .unwrap();
        let mut messages = 0;
        while socket.read().await.is_ok() {
            messages += 1;
        }
        messages
    });
    let (reader, mut writer) = ws::connect(&url).await.unwrap().split();
    let pinged = tokio::spawn(first_ping(reader));
    let mut ticks = tokio::time::interval(Duration::from_millis(25));
    for i in 0..40 {
        ticks.tick().await;
        writer.send(format!("tick {i}")).await.unwrap();
    }
    let stopped = Instant::now();
    assert!(!pinged.is_finished(), "pinged while input kept arriving");
    let ping = timeout(LIMIT, pinged).await.unwrap().unwrap();
    assert!(
        ping - stopped >= Duration::from_millis(200),
        "{:?}",
        ping - stopped
    );
    writer.close(rfc6455::CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(timeout(LIMIT, server).await.unwrap().unwrap(), 40);
}

/// The client side: `connect_with_options` opens a socket that pings a
/// server that says nothing, on the configured interval.
#[tokio::test]
async fn the_connected_socket_pings_on_the_configured_interval() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(tcp).await.unwrap();
        let start = Instant::now();
        let event = socket.read_event().await;
        (event, start.elapsed())
    });
    let options = ping_after(Duration::from_millis(100));
    let mut client = ws::connect_with_options(&url, ClientOptions::default(), options)
        .await
        .unwrap();
    assert_eq!(
        client.timeouts().ping_after,
        Some(Duration::from_millis(100))
    );
    // Reading drives the client's timer until the server's pong arrives.
    let reading = tokio::spawn(async move { client.read_event().await });
    let (event, elapsed) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(matches!(event, Ok(Event::Ping(_))), "{event:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    reading.abort();
}

/// A bare `Config` converts into options with the default deadlines and
/// high-water mark, so the older functions behave as before.
#[test]
fn a_config_converts_into_default_options() {
    let config = rfc6455::Config::default().with_max_size(1 << 10);
    let options = Options::from(config.clone());
    assert_eq!(options.config, config);
    assert_eq!(options.timeouts, Timeouts::default());
    assert_eq!(options.high_water_mark, ws::DEFAULT_HIGH_WATER_MARK);
    assert_eq!(
        Options::default(),
        Options::from(rfc6455::Config::default())
    );
}

/// A server that opens every connection with the same settings keeps one
/// copy of them: each accepted connection reads the same allocation, as in
/// the mio adapter, whether the config came bare or in `Options`.
#[tokio::test]
async fn accepted_connections_share_one_config() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let config = rfc6455::Config::default().with_max_size(1 << 12);
    let server = {
        let config = config.clone();
        tokio::spawn(async move {
            let mut sockets = Vec::new();
            for round in 0..2 {
                let (tcp, _) = listener.accept().await.unwrap();
                let socket = if round == 0 {
                    ws::accept_with(tcp, config.clone(), accept_all).await
                } else {
                    let options = Options::from(config.clone());
                    ws::accept_with_options(tcp, options, accept_all).await
                };
                sockets.push(socket.unwrap());
            }
            sockets
        })
    };
    let _first = timeout(LIMIT, ws::connect(&url)).await.unwrap().unwrap();
    let _second = timeout(LIMIT, ws::connect(&url)).await.unwrap().unwrap();
    let sockets = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(core::ptr::eq(
        sockets[0].connection().config(),
        sockets[1].connection().config()
    ));
    assert_eq!(*sockets[0].connection().config(), config);
}

/// The socket keeps the configured high-water mark: with 4 KiB, a second
/// message waits while the first 10 KiB sit unwritten in front of a peer
/// that does not read (the default mark, 256 KiB, would take it at once).
#[tokio::test]
async fn the_socket_keeps_the_configured_high_water_mark() {
    let (ours, theirs) = tokio::io::duplex(1024);
    let server = tokio::spawn(async move {
        // Accepts, then holds the stream without reading.
        let socket = ws::accept(theirs).await.unwrap();
        tokio::time::sleep(LIMIT).await;
        drop(socket);
    });
    let options = Options {
        high_water_mark: 4096,
        ..Options::default()
    };
    let mut client =
        ws::client_with_options(ours, "ws://in-memory/", ClientOptions::default(), options)
            .await
            .unwrap();
    // Poorly compressible, so permessage-deflate keeps it over the mark.
    let noise = common::pattern(10 * 1024, 7);
    let message = rfc6455::Message::binary(noise);
    client.feed(message.clone()).await.unwrap();
    assert!(
        client.pending_output() > 4096,
        "{}",
        client.pending_output()
    );
    let second = timeout(Duration::from_millis(200), client.feed(message)).await;
    assert!(second.is_err(), "a message was queued over the mark");
    server.abort();
}

/// When the first ping reaches `reader`.
async fn first_ping<S>(mut reader: ws::ReadHalf<S>) -> Instant
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match reader.read_event().await {
            Ok(Event::Ping(_)) => return Instant::now(),
            Ok(_) => {}
            Err(e) => panic!("the connection ended: {e}"),
        }
    }
}

/// When the ping of a server whose keepalive pings after `after` reaches
/// a client that sent a message every 7 ms for `talk`, then fell silent:
/// how long after its last message. On tokio's paused clock, so exact.
async fn ping_delay_after_talking(after: Duration, talk: Duration) -> Duration {
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        let mut socket = ws::accept_with_options(theirs, ping_after(after), accept_all)
            .await
            .unwrap();
        while socket.read().await.is_ok() {}
    });
    let quiet = Options {
        timeouts: Timeouts::none(),
        ..Options::default()
    };
    let client = ws::client_with_options(ours, "ws://in-memory/", ClientOptions::default(), quiet)
        .await
        .unwrap();
    let (reader, mut writer) = client.split();
    let pinged = tokio::spawn(first_ping(reader));
    let start = Instant::now();
    let mut last = start;
    while last - start < talk {
        writer.send("tick").await.unwrap();
        last = Instant::now();
        tokio::time::sleep(Duration::from_millis(7)).await;
    }
    let ping = timeout(LIMIT, pinged).await.unwrap().unwrap();
    server.abort();
    ping - last
}

/// The tokio keepalive credits input in steps of a quarter of
/// `ping_after`, so that a busy connection reads no clock per message: its
/// ping follows the last input after 1 to 1.25 times `ping_after`,
/// wherever in a step the input stopped (crediting input only when the
/// deadline came would let it be up to twice as late).
#[tokio::test(start_paused = true)]
async fn the_keepalive_pings_within_a_quarter_interval_of_its_time() {
    let after = Duration::from_millis(400);
    for talk in [1000, 1040, 1080, 1333] {
        let delay = ping_delay_after_talking(after, Duration::from_millis(talk)).await;
        // tokio's timer rounds deadlines up to the next millisecond.
        assert!(
            delay >= after && delay <= after * 5 / 4 + Duration::from_millis(2),
            "talking for {talk} ms: pinged {delay:?} after the last message"
        );
    }
}
