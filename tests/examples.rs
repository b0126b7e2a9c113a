//! The example programs, run as subprocesses against loopback peers.
//!
//! `cargo test` builds the examples, into `target/<profile>/examples/`,
//! next to the `deps/` folder this test binary runs from.

mod common;

use common::{connect, join, spawn_echo_server, TIMEOUT};
use rfc6455::blocking::MaybeTlsStream;
#[cfg(all(feature = "mio", feature = "deflate"))]
use rfc6455::{ClientOptions, Config};
use rfc6455::{CloseCode, Message};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The path of a built example program.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test binary> -> target/<profile>/examples/<name>
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo test` (which builds the examples) or `cargo build --examples`",
        path.display()
    );
    path
}

/// A child process killed when dropped, so a failing test leaves nothing running.
struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    fn spawn(command: &mut Command) -> Self {
        KillOnDrop(Some(command.spawn().expect("start the example")))
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("the child is still ours")
    }

    /// Wait within [`TIMEOUT`] for the child to exit; its output. (Its
    /// output is small, so it cannot block on a full pipe meanwhile.)
    fn output(mut self) -> Output {
        let deadline = Instant::now() + TIMEOUT;
        while self.child().try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the example did not exit in time"
            );
            thread::sleep(Duration::from_millis(10));
        }
        let child = self.0.take().unwrap();
        child.wait_with_output().unwrap()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Start a server example on a free port; the running child and its URL.
fn spawn_server_example(name: &str) -> (KillOnDrop, String) {
    spawn_server_example_with(name, &[])
}

/// [`spawn_server_example`] with more arguments after the address.
fn spawn_server_example_with(name: &str, args: &[&str]) -> (KillOnDrop, String) {
    // A free port: bind to port 0, note the port, release it for the child.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = KillOnDrop::spawn(
        Command::new(example(name))
            .arg(addr.to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    (server, format!("ws://{addr}/"))
}

/// A client of a server example that may not be listening yet.
fn connect_when_listening(url: &str) -> rfc6455::blocking::WebSocket<MaybeTlsStream> {
    when_listening(|| rfc6455::blocking::connect(url))
}

/// The first `connect` that succeeds within [`TIMEOUT`], its reads bounded.
fn when_listening(
    connect: impl Fn() -> Result<rfc6455::blocking::WebSocket<MaybeTlsStream>, rfc6455::Error>,
) -> rfc6455::blocking::WebSocket<MaybeTlsStream> {
    let deadline = Instant::now() + TIMEOUT;
    let ws = loop {
        match connect() {
            Ok(ws) => break ws,
            Err(e) => {
                assert!(Instant::now() < deadline, "the server never listened: {e}");
                thread::sleep(Duration::from_millis(20));
            }
        }
    };
    ws.get_ref().set_read_timeout(Some(TIMEOUT)).unwrap();
    ws
}

#[test]
fn client_example_echoes_stdin_lines() {
    let (url, server) = spawn_echo_server(1);
    let mut client = KillOnDrop::spawn(
        Command::new(example("client"))
            .arg(&url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // Dropping stdin after the lines is the end of input: the client closes.
    let mut stdin = client.child().stdin.take().unwrap();
    stdin.write_all(b"a\nb\n").unwrap();
    drop(stdin);
    let output = client.output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "a\nb\n",
        "stderr: {stderr}"
    );
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {stderr}",
        output.status
    );
    assert_eq!(join(server), vec![2]);
}

#[test]
fn echo_server_example_serves_a_blocking_client() {
    let (_server, url) = spawn_server_example("echo-server");
    let mut ws = connect_when_listening(&url);
    for message in [
        Message::text("ping?"),
        Message::binary(vec![0u8, 1, 2]),
        Message::text(""),
    ] {
        ws.send(message.clone()).unwrap();
        assert_eq!(ws.read().unwrap(), message);
    }
    let echo = ws.close_and_wait(CloseCode(4000), "bye").unwrap();
    assert_eq!(echo.map(|frame| frame.code), Some(CloseCode(4000)));
    // A second client on the same server works too.
    let mut again = connect(&url);
    again.send(Message::text("second")).unwrap();
    assert_eq!(again.read().unwrap(), Message::text("second"));
    again.close_and_wait(CloseCode::NORMAL, "").unwrap();
}

/// `tokio-echo-server --tls CERT KEY` serves `wss://` with PEM files, as
/// `echo-server --tls` does, and closes on request (`?close=`).
#[test]
#[cfg(all(feature = "tokio", feature = "rustls"))]
fn tokio_echo_server_example_serves_wss_from_pem_files() {
    use common::certs::Ca;
    use rfc6455::{ClientOptions, Config};

    let ca = Ca::new("examples CA");
    let leaf = ca.leaf(&["localhost"]);
    let dir = std::env::temp_dir().join(format!("rfc6455-tokio-echo-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    std::fs::write(&key, &leaf.key_pem).unwrap();
    let (_server, url) = spawn_server_example_with(
        "tokio-echo-server",
        &["--tls", cert.to_str().unwrap(), key.to_str().unwrap()],
    );
    let port = url.trim_end_matches('/').rsplit(':').next().unwrap();
    let wss = format!("wss://localhost:{port}/?close=4001&reason=enough");
    let options = ClientOptions {
        protocols: vec!["echo".into()],
        ..ClientOptions::default()
    };
    let mut ws = when_listening(|| {
        rfc6455::blocking::connect_tls(&wss, ca.client_config(), options.clone(), Config::default())
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ws.get_ref().is_tls());
    assert_eq!(ws.protocol(), Some("echo"));
    ws.send(Message::binary(vec![9u8; 70_000])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![9u8; 70_000]));
    // The server closes after the first echo, as the query asked.
    match ws.read() {
        Err(rfc6455::Error::Closed { frame, .. }) => {
            let frame = frame.expect("a close frame");
            assert_eq!(
                (frame.code, frame.reason.as_str()),
                (CloseCode(4001), "enough")
            );
        }
        other => panic!("expected the server's close, got {other:?}"),
    }
}

#[test]
#[cfg(all(feature = "mio", feature = "deflate"))]
fn mio_broadcast_example_sends_each_message_to_every_other_client() {
    let (_server, url) = spawn_server_example("mio-broadcast");
    let mut sender = connect_when_listening(&url);
    // Two clients that negotiate permessage-deflate (the default) and one
    // that does not.
    let plain = Config {
        deflate: None,
        ..Config::default()
    };
    let mut receivers = [
        connect(&url),
        connect(&url),
        common::connect_with(&url, ClientOptions::default(), plain),
    ];
    let compressed: Vec<bool> = receivers
        .iter()
        .map(|r| r.connection().is_compressed())
        .collect();
    assert_eq!(compressed, [true, true, false]);
    // A large message (its payload shared by the receivers' queues) and a
    // small one (copied).
    let large = Message::binary((0..100_000u32).map(|i| i as u8).collect::<Vec<_>>());
    let small = Message::text("hello, all");
    sender.send(large.clone()).unwrap();
    sender.send(small.clone()).unwrap();
    for receiver in &mut receivers {
        assert_eq!(receiver.read().unwrap(), large);
        assert_eq!(receiver.read().unwrap(), small);
    }
    for ws in receivers.iter_mut().chain([&mut sender]) {
        ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
    }
}

/// A TCP stream that counts the bytes read from it.
#[cfg(all(feature = "mio", feature = "deflate"))]
struct CountingStream {
    tcp: std::net::TcpStream,
    read: usize,
}

#[cfg(all(feature = "mio", feature = "deflate"))]
impl std::io::Read for CountingStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.tcp.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

#[cfg(all(feature = "mio", feature = "deflate"))]
impl Write for CountingStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

#[cfg(all(feature = "mio", feature = "deflate"))]
impl rfc6455::blocking::BlockingTransport for CountingStream {}

/// The broadcast is compressed once, not per receiver: a receiver with
/// context takeover gets the same message twice as the same standalone
/// compressed frame (compressing per connection would make the repeat a
/// few bytes of back-reference), and inflates both.
#[test]
#[cfg(all(feature = "mio", feature = "deflate"))]
fn mio_broadcast_example_compresses_each_message_once() {
    let (_server, url) = spawn_server_example("mio-broadcast");
    let mut sender = connect_when_listening(&url);
    let addr = url.trim_start_matches("ws://").trim_end_matches('/');
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let stream = CountingStream { tcp, read: 0 };
    let mut receiver =
        rfc6455::blocking::client(stream, &url, ClientOptions::default(), Config::default())
            .unwrap();
    assert!(receiver.connection().is_compressed());
    let text: String = (0..4000u32)
        .map(|i| char::from(b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26))
        .collect();
    let mut standalone = Vec::new();
    let deflate = rfc6455::deflate::DeflateConfig::default();
    rfc6455::deflate::compress_standalone(text.as_bytes(), &deflate, 15, &mut standalone);
    assert!(standalone.len() < text.len() / 2);
    let before = receiver.get_ref().read;
    for _ in 0..2 {
        sender.send(Message::text(text.as_str())).unwrap();
        assert_eq!(receiver.read().unwrap(), Message::text(text.as_str()));
    }
    // Two frames, each a 4-byte header and the standalone stream.
    assert_eq!(receiver.get_ref().read - before, 2 * (4 + standalone.len()));
    sender.close_and_wait(CloseCode::NORMAL, "").unwrap();
    receiver.close_and_wait(CloseCode::NORMAL, "").unwrap();
}

/// The proxy variables a test sets, cleared first so the test's own
/// environment does not leak in.
const PROXY_VARIABLES: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Run the client example on `url` with the proxy variables `vars`,
/// sending one line; its output.
fn client_with_proxy_env(url: &str, vars: &[(&str, String)]) -> Output {
    let mut command = Command::new(example("client"));
    command
        .arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command.envs(vars.iter().map(|(name, value)| (name, value)));
    let mut client = KillOnDrop::spawn(&mut command);
    let mut stdin = client.child().stdin.take().unwrap();
    // A client that failed to connect has exited: the write may fail.
    let _ = stdin.write_all(b"via proxy\n");
    drop(stdin);
    client.output()
}

#[test]
fn client_example_goes_through_the_proxy_of_the_environment() {
    let Some(proxy) = common::proxies::tinyproxy(&[]) else {
        return;
    };
    let (url, server) = spawn_echo_server(1);
    let output = client_with_proxy_env(&url, &[("HTTP_PROXY", proxy.url("http", ""))]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "via proxy\n");
    assert_eq!(join(server), vec![1]);
    // A proxy that refuses this port shows the client really asks it.
    let Some(strict) = common::proxies::tinyproxy(&["ConnectPort 9"]) else {
        return;
    };
    let (_listener, url) = common::listen();
    let output = client_with_proxy_env(&url, &[("http_proxy", strict.url("http", ""))]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("CONNECT refused with 403"), "{stderr}");
    // ALL_PROXY serves either scheme, SOCKS5 included.
    let Some(socks) = common::proxies::microsocks(None) else {
        return;
    };
    let (url, server) = spawn_echo_server(1);
    let output = client_with_proxy_env(&url, &[("ALL_PROXY", socks.url("socks5h", ""))]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "via proxy\n");
    assert_eq!(join(server), vec![1]);
}

#[test]
fn client_example_bypasses_the_proxy_for_no_proxy_hosts() {
    let dead_proxy = format!("http://127.0.0.1:{}", common::proxies::free_port());
    let (url, server) = spawn_echo_server(1);
    let vars = [
        ("HTTP_PROXY", dead_proxy.clone()),
        ("NO_PROXY", "example.com, 127.0.0.1".to_string()),
    ];
    let output = client_with_proxy_env(&url, &vars);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "via proxy\n");
    assert_eq!(join(server), vec![1]);
    // Without the bypass the dead proxy is used, and named.
    let output = client_with_proxy_env(&url, &vars[..1]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("proxy {dead_proxy}: cannot connect")),
        "{stderr}"
    );
}
