//! The client side of `benches/conn-memory.sh`: N connections that behave
//! like browser chat tabs, then stay idle while the script reads the
//! server's resident memory.
//!
//! ```sh
//! conn-memory-client 127.0.0.1:9002 [--conns N] [--messages M] [--plain] [--stream chat|ticks]
//! ```
//!
//! Opens N connections one after another, each offering what a browser
//! offers (`permessage-deflate; client_max_window_bits`, or nothing with
//! `--plain`). Then M rounds (default 8): every connection sends one JSON
//! message of about 150 bytes, and every connection reads its echo. The
//! stream is a chat (`chat`, the default: a unique id and timestamp and a
//! different short line of text in every message) or a live dashboard's
//! ticks (`ticks`: the same fields every time, a few of their numbers
//! changing), the two ends of how much one message repeats the last.
//! Prints one line `ready raw=R wire=W ratio=X replies=K`: the raw size of
//! the replies, the size of their payloads on the wire (compressed when
//! RSV1 is set), and their ratio. Then it keeps every connection open,
//! silent, until its standard input closes (or 5 minutes pass), and exits.
//! Loopback only.

use rfc6455::frame::FrameHeader;
use rfc6455::{ClientOptions, ClientUpgrade, Config, Connection, Event, WsUrl};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];
/// Short lines, as most chat lines are.
const LINES: [&str; 16] = [
    "hi all",
    "anyone seen the build today?",
    "it looks green again",
    "lunch?",
    "meeting moved to three",
    "ok",
    "thanks!",
    "I'll take a look after standup",
    "can you review my PR when you have a minute",
    "brb",
    "the deploy finished, all good",
    "sounds good to me",
    "where are the slides?",
    "shared them in the drive",
    "see you tomorrow",
    "+1",
];

/// Chat message `round` of connection `conn`: about 150 bytes of JSON, an
/// envelope whose keys repeat from message to message (as a chat
/// protocol's do) around a short line of text.
fn chat_message(conn: usize, round: usize) -> String {
    let seq = conn * 8 + round;
    format!(
        "{{\"type\":\"message\",\"room\":\"general\",\"id\":\"m{:08}\",\"user\":{{\"id\":{},\"name\":\"{}\"}},\"ts\":{},\"text\":\"{}\"}}",
        seq,
        1000 + (conn + round) % USERS.len(),
        USERS[(conn + round) % USERS.len()],
        1_767_225_600_000u64 + seq as u64 * 1337,
        LINES[(conn * 7 + round * 5) % LINES.len()]
    )
}

/// Tick `round` of connection `conn`: about 150 bytes of JSON, a live
/// dashboard's periodic update, whose fields stay and whose readings move
/// a little from one tick to the next.
fn tick_message(conn: usize, round: usize) -> String {
    let seq = conn * 8 + round;
    // Readings that drift without a pattern a compressor could predict.
    let wobble = |salt: usize| (seq.wrapping_mul(2_654_435_761) >> salt) % 10;
    format!(
        "{{\"type\":\"tick\",\"board\":\"ops\",\"host\":\"web-{:02}\",\"seq\":{},\"ts\":{},\"cpu\":{}.{},\"mem\":{}.{},\"rps\":{},\"p99_ms\":{},\"status\":\"ok\"}}",
        conn % 32,
        seq,
        1_767_225_600_000u64 + round as u64 * 1000,
        40 + wobble(3),
        wobble(7),
        61 + wobble(11) / 5,
        wobble(13),
        1200 + 10 * wobble(17),
        18 + wobble(19),
    )
}

/// Which messages the connections send.
#[derive(Clone, Copy)]
enum Stream {
    Chat,
    Ticks,
}

impl Stream {
    fn message(self, conn: usize, round: usize) -> String {
        match self {
            Stream::Chat => chat_message(conn, round),
            Stream::Ticks => tick_message(conn, round),
        }
    }
}

struct Client {
    stream: TcpStream,
    conn: Connection,
}

fn open(addr: SocketAddr, plain: bool) -> io::Result<Client> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut config = Config::default();
    if plain {
        config.deflate = None;
    }
    let url = WsUrl::parse(&format!("ws://{addr}/")).map_err(io::Error::other)?;
    let mut upgrade = ClientUpgrade::new(&url, ClientOptions::default(), config);
    stream.write_all(upgrade.request())?;
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Some((mut conn, _)) = upgrade.receive(&buf[..n]).map_err(io::Error::other)? {
            if conn.is_compressed() == plain {
                return Err(io::Error::other(
                    "permessage-deflate was not negotiated as asked",
                ));
            }
            conn.shrink_buffers();
            return Ok(Client { stream, conn });
        }
    }
}

/// Read until one message arrives; returns its length and the payload
/// length of its (single) frame on the wire.
fn read_reply(client: &mut Client) -> io::Result<(usize, usize)> {
    let mut buf = [0u8; 4096];
    let mut wire = Vec::new();
    loop {
        let n = client.stream.read(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        wire.extend_from_slice(&buf[..n]);
        client.conn.receive(&buf[..n]);
        match client.conn.poll_event() {
            Ok(Some(Event::Message(message))) => {
                let payload = match FrameHeader::parse(&wire) {
                    Ok(Some((header, _))) => header.payload_len as usize,
                    _ => return Err(io::Error::other("reply frame header unreadable")),
                };
                client.conn.shrink_buffers();
                return Ok((message.len(), payload));
            }
            Ok(Some(other)) => return Err(io::Error::other(format!("unexpected {other:?}"))),
            Ok(None) => {}
            Err(e) => return Err(io::Error::other(e)),
        }
    }
}

fn run(
    addr: SocketAddr,
    conns: usize,
    rounds: usize,
    plain: bool,
    stream: Stream,
) -> io::Result<()> {
    let mut clients = Vec::with_capacity(conns);
    for i in 0..conns {
        clients
            .push(open(addr, plain).map_err(|e| io::Error::other(format!("connection {i}: {e}")))?);
    }
    let (mut raw, mut wire, mut replies) = (0usize, 0usize, 0usize);
    for round in 0..rounds {
        for (i, client) in clients.iter_mut().enumerate() {
            client
                .conn
                .send_text(&stream.message(i, round))
                .map_err(io::Error::other)?;
            let out = client.conn.take_output();
            client.stream.write_all(&out)?;
            client.conn.shrink_buffers();
        }
        for client in &mut clients {
            let (len, payload) = read_reply(client)?;
            raw += len;
            wire += payload;
            replies += 1;
        }
    }
    println!(
        "ready raw={raw} wire={wire} ratio={:.3} replies={replies}",
        wire as f64 / raw.max(1) as f64
    );
    io::stdout().flush()?;
    // Idle until the script has measured and closes our stdin.
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = io::stdin().read_to_end(&mut Vec::new());
        let _ = done.send(());
    });
    let _ = wait.recv_timeout(Duration::from_secs(300));
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let usage =
        "usage: conn-memory-client ADDR [--conns N] [--messages M] [--plain] [--stream chat|ticks]";
    let Some(addr) = args.next().and_then(|a| a.parse::<SocketAddr>().ok()) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    if !addr.ip().is_loopback() {
        eprintln!("conn-memory-client only targets loopback addresses");
        return ExitCode::from(2);
    }
    let (mut conns, mut rounds, mut plain) = (10_000usize, 8usize, false);
    let mut stream = Stream::Chat;
    while let Some(flag) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse::<usize>().ok());
        match flag.as_str() {
            "--conns" => conns = number().unwrap_or(0),
            "--messages" => rounds = number().unwrap_or(usize::MAX),
            "--plain" => plain = true,
            "--stream" => match args.next().as_deref() {
                Some("chat") => stream = Stream::Chat,
                Some("ticks") => stream = Stream::Ticks,
                _ => {
                    eprintln!("{usage}");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{usage}");
                return ExitCode::from(2);
            }
        }
    }
    if conns == 0 || rounds > 1000 {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    match run(addr, conns, rounds, plain, stream) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("failed: {e}");
            ExitCode::FAILURE
        }
    }
}
