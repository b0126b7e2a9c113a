//! The sans-IO connection's read and write paths, and permessage-deflate.
//!
//! ```sh
//! cargo bench --bench connection
//! cargo bench --bench connection -- read/   # one group
//! ```
//!
//! Read: a server connection is fed a client's masked frames from memory,
//! one read of 4 KiB or 64 KiB at a time written straight into
//! `read_buf`, and polled until each read is used up. Write: `send` of a
//! `Message` holding `Bytes` queues each frame (a server shares a large
//! payload, a client copies and masks it), drained every 64 KiB as a
//! socket would. Broadcast: one message to 1,000 server connections, sent
//! with `send_binary` (a copy per connection), `send` (the message's
//! `Bytes` shared) and `send_prepared` (framed once, shared); and to 1,000
//! permessage-deflate connections, with context takeover and without
//! (`server_no_context_takeover`): `send` (compressed per connection)
//! against `send_prepared` of a `PreparedMessage::compressed` (compressed
//! once per broadcast, its construction measured too), each connection
//! releasing its compressor when drained as the mio adapter does.

mod common;

use common::{client_wire, payload, Workload, READ_SIZES, WORKLOADS};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rfc6455::deflate::DeflateParams;
use rfc6455::{Config, Connection, Event, FastRng, Message, PreparedMessage, Role};
use std::hint::black_box;
use std::time::Duration;

fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
}

fn config() -> Config {
    Config::default().with_max_size(64 << 20)
}

fn throughput(w: &Workload) -> Throughput {
    if w.count > 1 {
        Throughput::Elements(w.count as u64)
    } else {
        Throughput::Bytes(w.payload_bytes())
    }
}

/// Feed `wire` to a fresh server connection `read` bytes at a time and
/// return the number of messages it produced.
fn read_all(wire: &[u8], read: usize) -> usize {
    let mut conn = Connection::new(Role::Server, config());
    let mut messages = 0;
    for chunk in wire.chunks(read) {
        conn.read_buf(chunk.len()).copy_from_slice(chunk);
        conn.filled(chunk.len());
        while let Some(event) = conn.poll_event().expect("valid input") {
            if let Event::Message(message) = event {
                black_box(&message);
                messages += 1;
            }
        }
    }
    messages
}

fn read(c: &mut Criterion) {
    let mut group = c.benchmark_group("read");
    for w in WORKLOADS {
        let wire = client_wire(&w, config());
        assert_eq!(read_all(&wire, 4096), w.count);
        group.throughput(throughput(&w));
        for read in READ_SIZES {
            let id = BenchmarkId::new(w.name, format!("{} KiB reads", read >> 10));
            group.bench_function(id, |b| b.iter(|| read_all(&wire, read)));
        }
    }
    group.finish();
}

/// Send `w` from a fresh connection, handing the output to a "socket" every
/// 64 KiB; returns the bytes written.
fn write_all(w: &Workload, data: &bytes::Bytes, role: Role) -> usize {
    let mut conn = Connection::with_rng(role, config(), Box::new(FastRng::from_seed(3)));
    let mut written = 0;
    for _ in 0..w.count {
        conn.send(Message::Binary(data.clone())).expect("send");
        if conn.output_len() >= 64 << 10 {
            written += drain(&mut conn);
        }
    }
    written + drain(&mut conn)
}

/// Hand every pending chunk to a black box, as a socket that takes
/// everything would; returns the bytes.
fn drain(conn: &mut Connection) -> usize {
    let pending = conn.output_len();
    for chunk in conn.output_chunks() {
        black_box(chunk);
    }
    conn.advance_output(pending);
    pending
}

fn write(c: &mut Criterion) {
    let mut group = c.benchmark_group("write");
    for w in WORKLOADS {
        let data = bytes::Bytes::from(payload(w.size));
        group.throughput(throughput(&w));
        for (role, name) in [(Role::Server, "server"), (Role::Client, "client_masked")] {
            group.bench_function(BenchmarkId::new(w.name, name), |b| {
                b.iter(|| write_all(&w, &data, role))
            });
        }
    }
    group.finish();
}

/// 1,000 JSON-like text messages of about 1 KiB each.
fn json_messages() -> Vec<String> {
    (0..1000)
        .map(|i| {
            let mut s = String::from("[");
            let mut j = 0;
            while s.len() < 1000 {
                s.push_str(&format!(
                    r#"{{"id":{},"user":"user{}","event":"update","value":{}}},"#,
                    i * 100 + j,
                    (i + j) % 37,
                    (i * 7919 + j) % 1000
                ));
                j += 1;
            }
            s.push(']');
            s
        })
        .collect()
}

fn deflate_pair(level: u32) -> (Connection, Connection) {
    let mut cfg = config();
    if let Some(d) = cfg.deflate.as_mut() {
        d.level = level;
    }
    let params = DeflateParams::default();
    let mut client =
        Connection::with_rng(Role::Client, cfg.clone(), Box::new(FastRng::from_seed(5)));
    let mut server = Connection::new(Role::Server, cfg);
    client.set_deflate(&params);
    server.set_deflate(&params);
    (client, server)
}

/// Connections a broadcast fans out to.
const FAN_OUT: usize = 1000;

/// One message to [`FAN_OUT`] server connections, each drained after the
/// send as an event loop writes each socket.
fn broadcast(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast");
    let mut conns: Vec<Connection> = (0..FAN_OUT)
        .map(|_| Connection::new(Role::Server, Config::default()))
        .collect();
    for size in [16 << 10, 1 << 20] {
        let data = bytes::Bytes::from(payload(size));
        let message = Message::Binary(data.clone());
        let prepared = PreparedMessage::new(message.clone());
        let name = format!("{} KiB x {FAN_OUT}", size >> 10);
        group.throughput(Throughput::Elements(FAN_OUT as u64));
        group.bench_function(BenchmarkId::new("send_binary", &name), |b| {
            b.iter(|| {
                for conn in &mut conns {
                    conn.send_binary(&data).expect("send");
                    drain(conn);
                }
            })
        });
        group.bench_function(BenchmarkId::new("send", &name), |b| {
            b.iter(|| {
                for conn in &mut conns {
                    conn.send(message.clone()).expect("send");
                    drain(conn);
                }
            })
        });
        group.bench_function(BenchmarkId::new("send_prepared", &name), |b| {
            b.iter(|| {
                for conn in &mut conns {
                    conn.send_prepared(&prepared).expect("send");
                    drain(conn);
                }
            })
        });
    }
    broadcast_deflate(&mut group);
    group.finish();
}

/// One JSON message to [`FAN_OUT`] deflate connections: compressed per
/// connection (`send`) or once (`send_prepared`). Each iteration sends the
/// next of 16 different messages, so context takeover sees a stream, not
/// one message repeated.
fn broadcast_deflate(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let lines = json_messages();
    let deflate = config().deflate.unwrap_or_default();
    for takeover in [true, false] {
        let params = DeflateParams {
            server_no_context_takeover: !takeover,
            ..DeflateParams::default()
        };
        let mut conns: Vec<Connection> = (0..FAN_OUT)
            .map(|_| {
                let mut conn = Connection::new(Role::Server, config());
                conn.set_deflate(&params);
                conn
            })
            .collect();
        for kib in [1, 16] {
            let messages: Vec<String> = lines.chunks(kib).take(16).map(|c| c.concat()).collect();
            let name = format!(
                "deflate {} KiB x {FAN_OUT}, {}",
                kib,
                if takeover { "takeover" } else { "no takeover" }
            );
            let mut next = 0;
            group.bench_function(BenchmarkId::new("send", &name), |b| {
                b.iter(|| {
                    next = (next + 1) % messages.len();
                    let message = Message::text(messages[next].as_str());
                    for conn in &mut conns {
                        fan_out(conn, &|conn| conn.send(message.clone()).expect("send"));
                    }
                })
            });
            group.bench_function(BenchmarkId::new("send_prepared", &name), |b| {
                b.iter(|| {
                    next = (next + 1) % messages.len();
                    let message = Message::text(messages[next].as_str());
                    let prepared = PreparedMessage::compressed(message, &deflate);
                    for conn in &mut conns {
                        fan_out(conn, &|conn| conn.send_prepared(&prepared).expect("send"));
                    }
                })
            });
        }
    }
}

/// One connection's share of a broadcast in an event loop: queue, write
/// out, and release what an idle connection need not hold.
fn fan_out(conn: &mut Connection, send: &dyn Fn(&mut Connection)) {
    send(conn);
    drain(conn);
    conn.shrink_buffers();
}

/// permessage-deflate: compressing 1,000 messages on send, and inflating
/// them on receive, with the context kept between messages (the default).
fn deflate(c: &mut Criterion) {
    let messages = json_messages();
    let bytes: usize = messages.iter().map(String::len).sum();
    let mut group = c.benchmark_group("deflate");
    group.throughput(Throughput::Bytes(bytes as u64));
    for level in [1, 6] {
        group.bench_function(BenchmarkId::new("send_compress", level), |b| {
            b.iter(|| {
                let (mut client, _) = deflate_pair(level);
                for m in &messages {
                    client.send_text(m).expect("send");
                    black_box(client.take_output());
                }
            })
        });
        let (mut client, _) = deflate_pair(level);
        for m in &messages {
            client.send_text(m).expect("send");
        }
        let wire = client.take_output();
        group.bench_function(BenchmarkId::new("receive_inflate", level), |b| {
            b.iter(|| {
                let (_, mut server) = deflate_pair(level);
                let mut count = 0;
                for chunk in wire.chunks(16 << 10) {
                    server.receive(chunk);
                    while let Some(event) = server.poll_event().expect("valid") {
                        if let Event::Message(Message::Text(t)) = event {
                            black_box(t);
                            count += 1;
                        }
                    }
                }
                assert_eq!(count, messages.len());
            })
        });
    }
    // The worst case for releasing when idle: every message its own burst,
    // so each one restores a pooled compressor and presets the saved
    // window (context takeover), against keeping the compressor (above).
    for bits in [15u8, 12] {
        group.bench_function(BenchmarkId::new("send_compress_release_each", bits), |b| {
            b.iter(|| {
                let (mut client, _) = deflate_pair_bits(6, bits);
                for m in &messages {
                    client.send_text(m).expect("send");
                    black_box(client.output_chunk());
                    client.advance_output(client.output_len());
                    client.shrink_buffers();
                }
            })
        });
    }
    group.finish();
}

/// A pair whose client compresses with `bits` window bits.
fn deflate_pair_bits(level: u32, bits: u8) -> (Connection, Connection) {
    let (mut client, server) = deflate_pair(level);
    let params = DeflateParams {
        client_max_window_bits: bits,
        ..DeflateParams::default()
    };
    client.set_deflate(&params);
    (client, server)
}

criterion_group! {
    name = benches;
    config = quick();
    targets = read, write, broadcast, deflate
}
criterion_main!(benches);
