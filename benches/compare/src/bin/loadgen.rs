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
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .ok_or("usage: loadgen ADDR [--conns N] [--inflight D] [--size BYTES] [--secs T] [--server-pid PID]")?
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
    };
    while let Some(flag) = args.next() {
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

fn config() -> Config {
    Config::default().with_max_size(64 << 20)
}

/// Connect and run the opening handshake.
async fn open(addr: SocketAddr) -> Result<(TcpStream, Connection), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let url = WsUrl::parse(&format!("ws://{addr}/")).map_err(|e| e.to_string())?;
    let mut upgrade = ClientUpgrade::new(&url, ClientOptions::default(), config());
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

/// Keep `inflight` messages going on one connection until `deadline`.
async fn drive(
    mut stream: TcpStream,
    mut conn: Connection,
    inflight: usize,
    payload: Vec<u8>,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut sent: VecDeque<Instant> = VecDeque::with_capacity(inflight);
    let mut buf = vec![0u8; 64 << 10];
    let (mut rd, mut wr) = stream.split();
    let give_up = deadline + GRACE;
    loop {
        let now = Instant::now();
        if now < deadline {
            while sent.len() < inflight {
                if conn.send_binary(&payload).is_err() {
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
            w = wr.write(conn.pending_output()), if conn.has_pending_output() => {
                match w {
                    Ok(n) => conn.advance_output(n),
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
            Some(Ok(n)) => conn.receive(&buf[..n]),
        }
        loop {
            match conn.poll_event() {
                Ok(Some(Event::Message(message))) => {
                    let Some(start) = sent.pop_front() else {
                        tally.errors += 1;
                        return tally;
                    };
                    let done = Instant::now();
                    if message.len() != payload.len() {
                        tally.errors += 1;
                    }
                    if done <= deadline {
                        tally.messages += 1;
                    }
                    let micros = done.duration_since(start).as_micros();
                    tally.rtts.push(micros.min(u128::from(u32::MAX)) as u32);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    tally.errors += 1;
                    return tally;
                }
            }
        }
    }
    // Say goodbye; the server's reply is not waited for.
    if conn.close(rfc6455::CloseCode::NORMAL, "").is_ok() {
        let _ = wr.write_all(conn.pending_output()).await;
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
        match open(args.addr).await {
            Ok(c) => conns.push(c),
            Err(e) => {
                eprintln!("loadgen: {e}");
                return 1;
            }
        }
    }
    let payload: Vec<u8> = (0..args.size).map(|i| (i % 251) as u8).collect();
    let cpu_before = args.server_pid.and_then(cpu_seconds);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.secs);
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|(stream, conn)| {
            tokio::spawn(drive(
                stream,
                conn,
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
