//! `ClientOptions::connect_timeout` bounds opening TCP, in both adapters:
//! against a listener whose accept queue is full, where the kernel drops
//! new connection attempts and a connect would otherwise wait for minutes.

use rfc6455::{blocking, ClientOptions, Config};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A listener that never accepts, with its queue filled: the connections
/// that filled it are returned to be kept open. `None` where the system
/// accepts every attempt (no queue limit to fill).
fn full_listener() -> Option<(TcpListener, SocketAddr, Vec<TcpStream>)> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..4096 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(stream) => held.push(stream),
            Err(_) => return Some((listener, addr, held)),
        }
    }
    None
}

fn options(timeout: Duration) -> ClientOptions {
    ClientOptions {
        connect_timeout: Some(timeout),
        ..ClientOptions::default()
    }
}

#[test]
fn blocking_connect_gives_up_at_the_connect_timeout() {
    let Some((_listener, addr, _held)) = full_listener() else {
        eprintln!("skipped: this system's accept queue never filled");
        return;
    };
    let start = Instant::now();
    let result = blocking::connect_with(
        &format!("ws://{addr}/"),
        options(Duration::from_millis(300)),
        Config::default(),
    );
    let elapsed = start.elapsed();
    match result {
        Err(e) => assert!(e.is_timeout(), "expected a timeout, got {e}"),
        Ok(_) => panic!("connected to a full listener"),
    }
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[cfg(feature = "mio")]
#[test]
fn mio_connect_gives_up_at_the_connect_timeout() {
    use rfc6455::mio::{Options, Timeout, WebSocket};
    use rfc6455::Error;
    let Some((_listener, addr, _held)) = full_listener() else {
        eprintln!("skipped: this system's accept queue never filled");
        return;
    };
    let mut ws = WebSocket::connect(
        &format!("ws://{addr}/"),
        options(Duration::from_millis(300)),
        &Options::default(),
    )
    .unwrap();
    let deadline = ws.poll_timeout().expect("a connect deadline");
    assert!(deadline <= Instant::now() + Duration::from_millis(300));
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
    assert_eq!(ws.handle_timeout(Instant::now()), Some(Timeout::Connect));
    assert!(ws.is_finished());
    assert!(Error::from(Timeout::Connect).is_timeout());
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn tokio_connect_gives_up_at_the_connect_timeout_direct_or_to_a_proxy() {
    use rfc6455::proxy::ProxyErrorKind;
    use rfc6455::{tokio as ws, Error, ProxyConfig};
    let Some((_listener, addr, _held)) = full_listener() else {
        eprintln!("skipped: this system's accept queue never filled");
        return;
    };
    // Well before the 10 s handshake deadline, which would also end it.
    let limit = Duration::from_millis(300);
    let start = Instant::now();
    let direct =
        ws::connect_with(&format!("ws://{addr}/"), options(limit), Config::default()).await;
    match direct {
        Err(e) => assert!(e.is_timeout(), "expected a timeout, got {e}"),
        Ok(_) => panic!("connected to a full listener"),
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed >= limit && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    // The full listener as the proxy: the same bound, as a proxy error.
    let through = ClientOptions {
        proxy: ProxyConfig::url(format!("socks5h://{addr}")),
        ..options(limit)
    };
    let start = Instant::now();
    match ws::connect_with("ws://127.0.0.1:9/", through, Config::default()).await {
        Err(Error::Proxy(e)) => {
            assert!(matches!(e.kind(), ProxyErrorKind::Timeout), "{e}");
            assert!(e.is_timeout());
        }
        Err(other) => panic!("expected a proxy error, got {other}"),
        Ok(_) => panic!("connected through a full listener"),
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed >= limit && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
}
