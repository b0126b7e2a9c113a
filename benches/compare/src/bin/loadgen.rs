//! Echo load generator: N WebSocket connections to an echo server on this
//! machine, each keeping D binary messages of S bytes in flight, for T
//! seconds. Prints messages per second and round-trip percentiles.
//!
//! ```sh
//! loadgen 127.0.0.1:9001 --conns 100 --inflight 1 --size 32 --secs 5 [--server-pid PID]
//! ```
//!
//! One thread (a single-threaded runtime) drives every connection, so it
//! can be pinned to one core. With `--server-pid`, the server's CPU time
//! (user + system, from /proc/PID/stat) over the measured window is
//! reported too. The run is bounded: after T seconds no message is sent,
//! in-flight ones get a short grace period, and the process exits.
//!
//! `--deflate` negotiates permessage-deflate with no context takeover in
//! either direction, so every message is compressed on its own. The
//! generator then compresses and masks its message once and sends those
//! same wire bytes every time, and counts the server's compressed replies
//! by their frame headers without inflating them: the server inflates and
//! deflates every message while the generator does almost nothing. That is
//! the CPU-bound server this mode exists to show (the `--threads` gain of
//! the event-loop server on a machine whose other core runs the generator).
//! Reusing one mask key breaks RFC 6455 §5.3 for a client on the open
//! internet; on loopback against our own server it only saves work.

use rfc6455::deflate::DeflateConfig;
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::{ClientOptions, ClientUpgrade, Config, Connection, Event, WsUrl};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long in-flight messages may take to come back after the deadline.
const GRACE: Duration = Duration::from_secs(3);

struct Args {
    addr: SocketAddr,
    conns: usize,
    inflight: usize,
    size: usize,
    secs: f64,
    server_pid: Option<u32>,
    deflate: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .ok_or("usage: loadgen ADDR [--conns N] [--inflight D] [--size BYTES] [--secs T] [--server-pid PID] [--deflate]")?
        .parse()
        .map_err(|e| format!("address: {e}"))?;
    // Load is for this machine only.
    if !addr.ip().is_loopback() {
        return Err("loadgen only targets loopback addresses".into());
    }
    let mut parsed = Args {
        addr,
        conns: 100,
        inflight: 1,
        size: 32,
        secs: 5.0,
        server_pid: None,
        deflate: false,
    };
    while let Some(flag) = args.next() {
        if flag == "--deflate" {
            parsed.deflate = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag}: {e}");
        match flag.as_str() {
            "--conns" => parsed.conns = value.parse().map_err(|e| bad(&e))?,
            "--inflight" => parsed.inflight = value.parse().map_err(|e| bad(&e))?,
            "--size" => parsed.size = value.parse().map_err(|e| bad(&e))?,
            "--secs" => parsed.secs = value.parse().map_err(|e| bad(&e))?,
            "--server-pid" => parsed.server_pid = Some(value.parse().map_err(|e| bad(&e))?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if parsed.conns == 0 || parsed.inflight == 0 || !(parsed.secs > 0.0 && parsed.secs <= 600.0) {
        return Err("need conns >= 1, inflight >= 1, 0 < secs <= 600".into());
    }
    Ok(parsed)
}

fn config(deflate: bool) -> Config {
    let mut config = Config::default().with_max_size(64 << 20);
    config.deflate = deflate.then(|| DeflateConfig {
        client_no_context_takeover: true,
        server_no_context_takeover: true,
        ..DeflateConfig::default()
    });
    config
}

/// Connect and run the opening handshake.
async fn open(addr: SocketAddr, deflate: bool) -> Result<(TcpStream, Connection), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let url = WsUrl::parse(&format!("ws://{addr}/")).map_err(|e| e.to_string())?;
    let mut upgrade = ClientUpgrade::new(&url, ClientOptions::default(), config(deflate));
    stream
        .write_all(upgrade.request())
        .await
        .map_err(|e| format!("handshake write: {e}"))?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("handshake read: {e}"))?;
        if n == 0 {
            return Err("server closed during the handshake".into());
        }
        if let Some((conn, _)) = upgrade.receive(&buf[..n]).map_err(|e| e.to_string())? {
            if deflate && !conn.is_compressed() {
                return Err("the server did not accept permessage-deflate".into());
            }
            return Ok((stream, conn));
        }
    }
}

#[derive(Default)]
struct Tally {
    /// Round trips completed before the deadline.
    messages: u64,
    /// Round-trip times in microseconds.
    rtts: Vec<u32>,
    errors: u64,
}

/// How one connection frames its messages.
enum Codec {
    /// Every message through the rfc6455 connection (masked afresh,
    /// replies decoded and checked).
    Full(Box<Connection>),
    /// `--deflate`: one prepared compressed frame sent again and again;
    /// replies counted by their headers.
    Prepared {
        frame: Vec<u8>,
        out: Vec<u8>,
        input: Vec<u8>,
    },
}

impl Codec {
    fn new(mut conn: Connection, payload: &[u8], deflate: bool) -> Result<Codec, String> {
        if !deflate {
            return Ok(Codec::Full(Box::new(conn)));
        }
        conn.send_binary(payload).map_err(|e| e.to_string())?;
        let frame = conn.take_output().to_vec();
        Ok(Codec::Prepared {
            frame,
            out: Vec::new(),
            input: Vec::new(),
        })
    }

    fn send(&mut self, payload: &[u8]) -> bool {
        match self {
            Codec::Full(conn) => conn.send_binary(payload).is_ok(),
            Codec::Prepared { frame, out, .. } => {
                out.extend_from_slice(frame);
                true
            }
        }
    }

    fn pending(&self) -> &[u8] {
        match self {
            // A client copies (masks) every payload, so its output is one chunk.
            Codec::Full(conn) => conn.output_chunk(),
            Codec::Prepared { out, .. } => out,
        }
    }

    fn advance(&mut self, n: usize) {
        match self {
            Codec::Full(conn) => conn.advance_output(n),
            Codec::Prepared { out, .. } => {
                out.drain(..n);
            }
        }
    }

    /// Take received bytes; returns the sizes of the replies they
    /// completed (compressed sizes in `Prepared` mode), or `Err` on
    /// anything unexpected.
    fn receive(&mut self, bytes: &[u8], replies: &mut Vec<usize>) -> Result<(), ()> {
        match self {
            Codec::Full(conn) => {
                conn.receive(bytes);
                loop {
                    match conn.poll_event() {
                        Ok(Some(Event::Message(message))) => replies.push(message.len()),
                        Ok(Some(_)) => {}
                        Ok(None) => return Ok(()),
                        Err(_) => return Err(()),
                    }
                }
            }
            Codec::Prepared { input, .. } => {
                input.extend_from_slice(bytes);
                let mut pos = 0;
                while let Ok(Some((header, header_len))) = FrameHeader::parse(&input[pos..]) {
                    let end = pos + header_len + header.payload_len as usize;
                    if end > input.len() {
                        break;
                    }
                    // The echo of a compressed message: one binary frame
                    // with RSV1 set.
                    if header.opcode != OpCode::Binary || !header.fin || !header.rsv1 {
                        return Err(());
                    }
                    replies.push(header.payload_len as usize);
                    pos = end;
                }
                input.drain(..pos);
                Ok(())
            }
        }
    }
}

/// Keep `inflight` messages going on one connection until `deadline`.
async fn drive(
    mut stream: TcpStream,
    mut codec: Codec,
    inflight: usize,
    payload: Vec<u8>,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut sent: VecDeque<Instant> = VecDeque::with_capacity(inflight);
    let mut buf = vec![0u8; 64 << 10];
    let mut replies = Vec::new();
    let prepared = matches!(codec, Codec::Prepared { .. });
    let (mut rd, mut wr) = stream.split();
    let give_up = deadline + GRACE;
    loop {
        let now = Instant::now();
        if now < deadline {
            while sent.len() < inflight {
                if !codec.send(&payload) {
                    tally.errors += 1;
                    return tally;
                }
                sent.push_back(Instant::now());
            }
        } else if sent.is_empty() || now >= give_up {
            break;
        }
        let read = tokio::select! {
            r = rd.read(&mut buf) => Some(r),
            w = wr.write(codec.pending()), if !codec.pending().is_empty() => {
                match w {
                    Ok(n) => codec.advance(n),
                    Err(_) => { tally.errors += 1; return tally; }
                }
                None
            }
            _ = tokio::time::sleep_until(give_up.into()) => break,
        };
        match read {
            None => continue,
            Some(Ok(0)) | Some(Err(_)) => {
                tally.errors += 1;
                return tally;
            }
            Some(Ok(n)) => {
                replies.clear();
                if codec.receive(&buf[..n], &mut replies).is_err() {
                    tally.errors += 1;
                    return tally;
                }
            }
        }
        for &len in &replies {
            let Some(start) = sent.pop_front() else {
                tally.errors += 1;
                return tally;
            };
            let done = Instant::now();
            // Compressed replies are shorter than the message; plain ones
            // come back whole.
            if !prepared && len != payload.len() {
                tally.errors += 1;
            }
            if done <= deadline {
                tally.messages += 1;
            }
            let micros = done.duration_since(start).as_micros();
            tally.rtts.push(micros.min(u128::from(u32::MAX)) as u32);
        }
    }
    // Say goodbye; the server's reply is not waited for.
    if let Codec::Full(conn) = &mut codec {
        if conn.close(rfc6455::CloseCode::NORMAL, "").is_ok() {
            let _ = wr.write_all(&conn.take_output()).await;
        }
    }
    tally
}

/// User + system CPU seconds of a process, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields resume after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 11 and 12 here.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks_per_second())
}

/// `getconf CLK_TCK`; 100 on every Linux this runs on.
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let code = rt.block_on(run(args));
    std::process::exit(code);
}

async fn run(args: Args) -> i32 {
    let mut conns = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        match open(args.addr, args.deflate).await {
            Ok(c) => conns.push(c),
            Err(e) => {
                eprintln!("loadgen: {e}");
                return 1;
            }
        }
    }
    let payload: Vec<u8> = (0..args.size).map(|i| (i % 251) as u8).collect();
    let mut codecs = Vec::with_capacity(conns.len());
    for (stream, conn) in conns {
        match Codec::new(conn, &payload, args.deflate) {
            Ok(codec) => codecs.push((stream, codec)),
            Err(e) => {
                eprintln!("loadgen: {e}");
                return 1;
            }
        }
    }
    let cpu_before = args.server_pid.and_then(cpu_seconds);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.secs);
    let tasks: Vec<_> = codecs
        .into_iter()
        .map(|(stream, codec)| {
            tokio::spawn(drive(
                stream,
                codec,
                args.inflight,
                payload.clone(),
                deadline,
            ))
        })
        .collect();
    // The server's CPU time is read at the deadline, when the measured
    // window ends, not after the grace period.
    let cpu_after = {
        tokio::time::sleep_until(deadline.into()).await;
        args.server_pid.and_then(cpu_seconds)
    };
    let mut total = Tally::default();
    for task in tasks {
        match task.await {
            Ok(t) => {
                total.messages += t.messages;
                total.errors += t.errors;
                total.rtts.extend(t.rtts);
            }
            Err(_) => total.errors += 1,
        }
    }
    let secs = args.secs;
    total.rtts.sort_unstable();
    let rate = total.messages as f64 / secs;
    let server_cpu = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    println!(
        "messages={} secs={:.2} msg_per_s={:.0} p50_us={} p99_us={} server_cpu_s={:.2} msg_per_cpu_s={:.0} errors={}",
        total.messages,
        secs,
        rate,
        percentile(&total.rtts, 0.50),
        percentile(&total.rtts, 0.99),
        server_cpu,
        total.messages as f64 / server_cpu,
        total.errors
    );
    i32::from(total.errors > 0 || total.messages == 0)
}
