//! Our blocking client against another implementation's server: a scripted
//! run of checks, one line each, exiting non-zero if any fails.
//!
//! ```sh
//! cargo run --all-features --example interop-client -- ws://127.0.0.1:9001/ [--no-deflate]
//! cargo run --all-features --example interop-client -- wss://localhost:9443/ --ca ca.pem
//! cargo run --all-features --example interop-client -- ws://127.0.0.1:9001/ --tokio
//! ```
//! The server must echo every message, select the subprotocol `echo` when
//! offered, echo the code of a close it receives, and, for a request with
//! `?close=CODE&reason=TEXT`, close with that code and reason right after
//! echoing the first message (tests/interop/ has such servers for Node `ws`
//! and Python `websockets`; examples/echo-server does the same).
//!
//! With the `deflate` feature, permessage-deflate must be negotiated unless
//! `--no-deflate` says the server does not offer it. `--ca CA.pem` (feature
//! `rustls`) verifies `wss://` servers against that CA instead of the
//! Mozilla roots. `--tokio` (feature `tokio`) runs the same checks with the
//! tokio adapter's client instead of the blocking one. Output follows TAP
//! (`ok - ...` / `not ok - ...`), which the interop script counts.

use rfc6455::blocking::{self, MaybeTlsStream, WebSocket};
use rfc6455::{ClientOptions, CloseCode, CloseFrame, Config, Error, Event, Message};

use std::process::ExitCode;
use std::time::Duration;

/// Bound on any single read, so a silent peer fails the run instead of hanging it.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

const USAGE: &str =
    "usage: interop-client ws[s]://HOST:PORT/ [--no-deflate] [--ca CA.pem] [--tokio]";

fn main() -> ExitCode {
    let mut url = None;
    let mut expect_deflate = cfg!(feature = "deflate");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-deflate" => expect_deflate = false,
            "--tokio" if cfg!(feature = "tokio") => {
                let _ = USE_TOKIO.set(());
            }
            "--ca" => {
                let loaded = args.next().ok_or("--ca needs a file".to_string());
                if let Err(e) = loaded.and_then(|ca| trust(&ca)) {
                    eprintln!("interop-client: {e}");
                    return ExitCode::from(2);
                }
            }
            _ if url.is_none() => url = Some(arg),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(url) = url else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut run = Run::default();
    run.check("echo session", || echo_session(&url, expect_deflate));
    run.check("no common subprotocol", || no_common_protocol(&url));
    run.check("server-initiated close 4002", || server_close(&url));
    #[cfg(feature = "deflate")]
    run.check("deflate declined by us", || without_deflate(&url));
    println!("# {} passed, {} failed", run.passed, run.failed);
    if run.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[derive(Default)]
struct Run {
    passed: usize,
    failed: usize,
}

impl Run {
    /// Run one scenario; its own sub-checks print their lines, and an error
    /// that ends it early prints one more failure.
    fn check(&mut self, name: &str, scenario: impl FnOnce() -> Result<Vec<Outcome>, String>) {
        let outcomes = match scenario() {
            Ok(outcomes) => outcomes,
            Err(why) => vec![Outcome::fail(name, why)],
        };
        for outcome in outcomes {
            match outcome.failure {
                None => {
                    self.passed += 1;
                    println!("ok - {}", outcome.name);
                }
                Some(why) => {
                    self.failed += 1;
                    println!("not ok - {}: {why}", outcome.name);
                }
            }
        }
    }
}

/// One named check's result.
struct Outcome {
    name: String,
    failure: Option<String>,
}

impl Outcome {
    fn of(name: &str, result: Result<(), String>) -> Self {
        Outcome {
            name: name.into(),
            failure: result.err(),
        }
    }

    fn fail(name: &str, why: String) -> Self {
        Self::of(name, Err(why))
    }
}

/// Set by `--tokio`: every connection uses the tokio adapter.
static USE_TOKIO: std::sync::OnceLock<()> = std::sync::OnceLock::new();

/// The socket under test: the blocking adapter's, or (`--tokio`) the tokio
/// adapter's driven from this thread, every step bounded by [`READ_TIMEOUT`].
/// One exists at a time, so its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Socket {
    Blocking(WebSocket<MaybeTlsStream>),
    #[cfg(feature = "tokio")]
    Tokio(rfc6455::tokio::WebSocket<rfc6455::tokio::MaybeTlsStream>),
}

/// Run one tokio step on this thread's runtime, within [`READ_TIMEOUT`].
#[cfg(feature = "tokio")]
fn block_on<T>(step: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
    }
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            match tokio::time::timeout(READ_TIMEOUT, step).await {
                Ok(result) => result,
                Err(_) => Err(Error::Io(std::io::ErrorKind::TimedOut.into())),
            }
        })
    })
}

/// Call the same method on either adapter's socket.
macro_rules! on_socket {
    ($socket:expr, $ws:ident => $blocking:expr, $tokio:expr) => {
        match $socket {
            Socket::Blocking($ws) => $blocking,
            #[cfg(feature = "tokio")]
            Socket::Tokio($ws) => $tokio,
        }
    };
}

impl Socket {
    fn send(&mut self, message: Message) -> Result<(), Error> {
        on_socket!(self, ws => ws.send(message), block_on(ws.send(message)))
    }

    fn read(&mut self) -> Result<Message, Error> {
        on_socket!(self, ws => ws.read(), block_on(ws.read()))
    }

    fn read_event(&mut self) -> Result<Event, Error> {
        on_socket!(self, ws => ws.read_event(), block_on(ws.read_event()))
    }

    fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        on_socket!(self, ws => ws.send_ping(payload), block_on(ws.send_ping(payload)))
    }

    fn close_and_wait(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<Option<CloseFrame>, Error> {
        on_socket!(self, ws => ws.close_and_wait(code, reason), block_on(ws.close_and_wait(code, reason)))
    }

    fn protocol(&self) -> Option<&str> {
        on_socket!(self, ws => ws.protocol(), ws.protocol())
    }

    fn connection(&self) -> &rfc6455::Connection {
        on_socket!(self, ws => ws.connection(), ws.connection())
    }

    fn state(&self) -> rfc6455::State {
        on_socket!(self, ws => ws.state(), ws.state())
    }
}

fn connect(url: &str, protocols: &[&str], config: Config) -> Result<Socket, String> {
    let options = ClientOptions {
        protocols: protocols.iter().map(|p| p.to_string()).collect(),
        ..ClientOptions::default()
    };
    #[cfg(feature = "tokio")]
    if USE_TOKIO.get().is_some() {
        use rfc6455::tokio as ws;
        #[cfg(feature = "rustls")]
        let connected = match TRUSTED.get() {
            Some(tls) => block_on(ws::connect_tls(url, tls.clone(), options, config)),
            None => block_on(ws::connect_with(url, options, config)),
        };
        #[cfg(not(feature = "rustls"))]
        let connected = block_on(ws::connect_with(url, options, config));
        let socket = connected.map_err(|e| format!("connect: {e}"))?;
        return Ok(Socket::Tokio(socket));
    }
    #[cfg(feature = "rustls")]
    let connected = match TRUSTED.get() {
        Some(tls) => blocking::connect_tls(url, tls.clone(), options, config),
        None => blocking::connect_with(url, options, config),
    };
    #[cfg(not(feature = "rustls"))]
    let connected = blocking::connect_with(url, options, config);
    let ws = connected.map_err(|e| format!("connect: {e}"))?;
    ws.get_ref()
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| e.to_string())?;
    Ok(Socket::Blocking(ws))
}

/// The TLS configuration `--ca` asked for.
#[cfg(feature = "rustls")]
static TRUSTED: std::sync::OnceLock<std::sync::Arc<rfc6455::rustls::ClientConfig>> =
    std::sync::OnceLock::new();

/// Verify `wss://` servers against the certificates in the PEM file `ca`.
#[cfg(feature = "rustls")]
fn trust(ca: &str) -> Result<(), String> {
    use rfc6455::rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rfc6455::rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{ca}: {e}"))? {
        let cert = cert.map_err(|e| format!("{ca}: {e}"))?;
        roots.add(cert).map_err(|e| format!("{ca}: {e}"))?;
    }
    let _ = TRUSTED.set(blocking::tls_config_with_roots(roots));
    Ok(())
}

#[cfg(not(feature = "rustls"))]
fn trust(_ca: &str) -> Result<(), String> {
    Err("--ca needs the rustls feature".into())
}

/// Send `message` and expect the same bytes and kind back.
fn echo(ws: &mut Socket, message: Message) -> Result<(), String> {
    ws.send(message.clone()).map_err(|e| format!("send: {e}"))?;
    let reply = ws.read().map_err(|e| format!("read: {e}"))?;
    if reply == message {
        return Ok(());
    }
    Err(format!(
        "sent {:?} of {} bytes, got {:?} of {} bytes (first difference at {:?})",
        message.kind(),
        message.len(),
        reply.kind(),
        reply.len(),
        message
            .as_bytes()
            .iter()
            .zip(reply.as_bytes())
            .position(|(a, b)| a != b)
    ))
}

/// Bytes that do not compress, so the large binary echo is really a megabyte
/// on the wire even with deflate (xorshift; fixed seed for repeatable runs).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// `unit` repeated up to exactly `len` bytes (ASCII padding where a
/// character would straddle the end).
fn text_of_len(unit: &str, len: usize) -> String {
    let mut text = String::with_capacity(len);
    for c in unit.chars().cycle() {
        if text.len() + c.len_utf8() > len {
            break;
        }
        text.push(c);
    }
    while text.len() < len {
        text.push('.');
    }
    text
}

/// One connection, offering `nope` and `echo`: every data and control check.
fn echo_session(url: &str, expect_deflate: bool) -> Result<Vec<Outcome>, String> {
    let mut ws = connect(url, &["nope", "echo"], Config::default())?;
    let mut out = Vec::new();
    out.push(Outcome::of(
        "subprotocol echo selected",
        match ws.protocol() {
            Some("echo") => Ok(()),
            other => Err(format!("selected {other:?}")),
        },
    ));
    out.push(Outcome::of(
        "permessage-deflate negotiated as expected",
        match ws.connection().is_compressed() {
            got if got == expect_deflate => Ok(()),
            got => Err(format!("negotiated {got}, expected {expect_deflate}")),
        },
    ));
    out.push(Outcome::of(
        "text echo",
        echo(&mut ws, Message::text("Hello, interop!")),
    ));
    out.push(Outcome::of(
        "unicode text echo",
        echo(&mut ws, Message::text("héllo wörld — 你好, мир 🌍🚀 ∑")),
    ));
    out.push(Outcome::of(
        "empty text echo",
        echo(&mut ws, Message::text("")),
    ));
    out.push(Outcome::of(
        "binary echo (all 256 byte values)",
        echo(&mut ws, Message::binary((0..=255u8).collect::<Vec<u8>>())),
    ));
    let big_text = text_of_len("WebSocket ✓ 1 MiB of text. ", 1 << 20);
    out.push(Outcome::of(
        "1 MiB text echo",
        echo(&mut ws, Message::text(big_text)),
    ));
    out.push(Outcome::of(
        "1 MiB binary echo",
        echo(&mut ws, Message::binary(noise(1 << 20))),
    ));
    out.push(Outcome::of("ping answered with pong", ping(&mut ws)));
    out.push(Outcome::of(
        "client close 4001 echoed",
        match ws.close_and_wait(CloseCode(4001), "client-bye") {
            Ok(Some(frame)) if frame.code == CloseCode(4001) => Ok(()),
            Ok(other) => Err(format!("peer closed with {other:?}")),
            Err(e) => Err(e.to_string()),
        },
    ));
    out.push(Outcome::of(
        "close handshake clean",
        match ws.state() {
            rfc6455::State::Closed { clean: true } => Ok(()),
            other => Err(format!("state {other:?}")),
        },
    ));
    Ok(out)
}

/// A ping with a payload; the pong must carry the same bytes.
fn ping(ws: &mut Socket) -> Result<(), String> {
    let payload = b"interop-ping \x00\xff";
    ws.send_ping(payload).map_err(|e| format!("ping: {e}"))?;
    match ws.read_event().map_err(|e| format!("read: {e}"))? {
        Event::Pong(data) if data.as_ref() == payload => Ok(()),
        other => Err(format!("expected the pong, got {other:?}")),
    }
}

/// Offering only a protocol the server does not speak: no protocol selected.
fn no_common_protocol(url: &str) -> Result<Vec<Outcome>, String> {
    let mut ws = connect(url, &["nope"], Config::default())?;
    let selected = match ws.protocol() {
        None => Ok(()),
        Some(p) => Err(format!("selected {p:?}")),
    };
    let _ = ws.close_and_wait(CloseCode::NORMAL, "");
    Ok(vec![Outcome::of(
        "no subprotocol when none match",
        selected,
    )])
}

/// The server closes with the code and reason asked for in the URL.
fn server_close(url: &str) -> Result<Vec<Outcome>, String> {
    let url = with_query(url, "close=4002&reason=server-bye");
    let mut ws = connect(&url, &[], Config::default())?;
    echo(&mut ws, Message::text("last words"))?;
    let expected = CloseFrame::new(CloseCode(4002), "server-bye");
    let result = match ws.read() {
        Err(Error::Closed {
            frame: Some(frame),
            clean: true,
            ..
        }) if frame == expected => Ok(()),
        Err(Error::Closed { frame, clean, .. }) => {
            Err(format!("closed with {frame:?}, clean {clean}"))
        }
        Ok(message) => Err(format!("expected the close, got {message:?}")),
        Err(e) => Err(e.to_string()),
    };
    Ok(vec![Outcome::of(
        "server close 4002 with reason seen",
        result,
    )])
}

/// A client that does not offer permessage-deflate gets plain frames.
#[cfg(feature = "deflate")]
fn without_deflate(url: &str) -> Result<Vec<Outcome>, String> {
    let config = Config {
        deflate: None,
        ..Config::default()
    };
    let mut ws = connect(url, &[], config)?;
    let plain = match ws.connection().is_compressed() {
        false => echo(&mut ws, Message::text("x".repeat(4096))),
        true => Err("negotiated without an offer".into()),
    };
    let _ = ws.close_and_wait(CloseCode::NORMAL, "");
    Ok(vec![Outcome::of("no deflate when not offered", plain)])
}

fn with_query(url: &str, query: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}
