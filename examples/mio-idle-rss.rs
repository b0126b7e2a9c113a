//! Resident memory of a mio server holding many idle WebSocket connections
//! (Linux: reads `VmRSS` from `/proc/self/status`).
//!
//! ```sh
//! scripts/mio-idle-rss.sh 10000     # raises the fd limit, then runs:
//! cargo run --release --features mio --example mio-idle-rss -- 10000
//! ```
//! Starts a mio server thread on 127.0.0.1, then runs itself again as a
//! separate client process that opens N connections and completes every
//! opening handshake, then stays silent. Once the server has opened all N,
//! it reports its resident memory before and after, and the difference per
//! connection. The client process exits when this one closes its standard
//! input; both stop by themselves (within two minutes at worst). Needs N
//! file descriptors per process, plus a few.

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use rfc6455::mio::{Options, SocketEvent, Timeouts, WebSocket};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(usize::MAX);
const BOUND: Duration = Duration::from_secs(120);
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, addr, n] if flag == "--clients" => clients(addr, n),
        [] => server(10_000),
        [n] => match n.parse() {
            Ok(n) => server(n),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "N must be a number",
            )),
        },
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: mio-idle-rss [N]",
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mio-idle-rss: {e}");
            ExitCode::FAILURE
        }
    }
}

/// This process's resident set, in bytes.
fn rss() -> io::Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::new(io::ErrorKind::Unsupported, "no VmRSS in /proc/self/status"))
}

fn server(n: usize) -> io::Result<()> {
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().expect("an address"))?;
    let addr = listener.local_addr()?;
    let poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let opened = Arc::new(AtomicUsize::new(0));
    let counter = opened.clone();
    thread::spawn(move || serve(poll, listener, &counter));
    // The loop is up and idle: everything from here on is per connection.
    thread::sleep(Duration::from_millis(100));
    let before = rss()?;

    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["--clients", &addr.to_string(), &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    if line.trim() != "ready" {
        let _ = child.kill();
        return Err(io::Error::other(format!("client process: {}", line.trim())));
    }
    let start = Instant::now();
    while opened.load(SeqCst) < n {
        if start.elapsed() > BOUND {
            let _ = child.kill();
            return Err(io::Error::other("the server did not open every connection"));
        }
        thread::sleep(Duration::from_millis(10));
    }
    // Let the loop go back to sleep after the last handshake.
    thread::sleep(Duration::from_millis(500));
    let after = rss()?;

    drop(child.stdin.take());
    child.wait()?;
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    println!("idle connections:   {n}");
    println!("server RSS before:  {:.1} MiB", before as f64 / 1048576.0);
    println!("server RSS after:   {:.1} MiB", after as f64 / 1048576.0);
    println!("per idle connection: {per:.0} bytes");
    Ok(())
}

/// Accept and complete handshakes; count them. Deadlines are off so that
/// nothing but the connections themselves (no keepalive pings) is measured.
fn serve(mut poll: Poll, listener: TcpListener, opened: &AtomicUsize) {
    let options = Options {
        timeouts: Timeouts::none(),
        ..Options::default()
    };
    let mut sockets: Vec<WebSocket> = Vec::new();
    let mut events = Events::with_capacity(1024);
    loop {
        if poll.poll(&mut events, None).is_err() {
            continue;
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((stream, _)) = listener.accept() {
                    let mut ws = WebSocket::accept(stream, &options);
                    if ws.register(poll.registry(), Token(sockets.len())).is_ok() {
                        sockets.push(ws);
                        drive(&mut poll, sockets.last_mut().expect("pushed"), opened);
                    }
                }
            } else if let Some(ws) = sockets.get_mut(event.token().0) {
                ws.ready(event);
                drive(&mut poll, ws, opened);
            }
        }
    }
}

fn drive(poll: &mut Poll, ws: &mut WebSocket, opened: &AtomicUsize) {
    while let Ok(Some(event)) = ws.poll_event() {
        if event == SocketEvent::Open {
            opened.fetch_add(1, SeqCst);
        }
    }
    let _ = ws.flush(poll.registry());
}

/// The client process: N handshakes, then silence until stdin closes.
fn clients(addr: &str, n: &str) -> io::Result<()> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad address"))?;
    let n: usize = n
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad count"))?;
    let mut streams = Vec::with_capacity(n);
    for i in 0..n {
        match handshake(addr) {
            Ok(stream) => streams.push(stream),
            Err(e) => {
                println!("connection {i} failed: {e}");
                return Err(e);
            }
        }
    }
    println!("ready");
    io::stdout().flush()?;
    // Until the server process closes our stdin (or dies), keep them open.
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    Ok(())
}

fn handshake(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(REQUEST)?;
    let mut response = Vec::new();
    let mut buf = [0u8; 512];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let got = stream.read(&mut buf)?;
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        response.extend_from_slice(&buf[..got]);
    }
    if !response.starts_with(b"HTTP/1.1 101") {
        return Err(io::Error::other("handshake refused"));
    }
    Ok(stream)
}
