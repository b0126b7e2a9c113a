//! Codec micro-benchmarks: masking, frame headers, UTF-8 validation.
//!
//! ```sh
//! cargo bench --bench codec
//! cargo bench --bench codec -- mask/   # one group
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rfc6455::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use rfc6455::mask::{apply_mask, apply_mask_scalar};
use rfc6455::utf8::Utf8Validator;
use std::hint::black_box;
use std::time::Duration;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Short runs: the whole suite stays within a few minutes.
fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(20)
}

/// Masking from 16 B to 1 MiB, at an aligned and an unaligned start. One
/// iteration masks the buffer four times, once from each key offset, so
/// every offset's rotation of the key is in the number.
fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for size in [
        16usize,
        64,
        256,
        1 << 10,
        4 << 10,
        16 << 10,
        64 << 10,
        256 << 10,
        1 << 20,
    ] {
        // One spare leading byte lets the unaligned case start at an odd address.
        let mut buf = vec![0x5au8; size + 1];
        group.throughput(Throughput::Bytes(4 * size as u64));
        for (start, name) in [(0, "aligned"), (1, "unaligned")] {
            group.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter(|| {
                    let data = &mut buf[start..start + size];
                    for offset in 0..4 {
                        black_box(apply_mask(black_box(&mut *data), KEY, offset));
                    }
                })
            });
        }
    }
    // The byte-at-a-time reference, for scale.
    let mut buf = vec![0x5au8; 64 << 10];
    group.throughput(Throughput::Bytes(buf.len() as u64));
    group.bench_function(BenchmarkId::new("scalar_reference", 64 << 10), |b| {
        b.iter(|| apply_mask_scalar(black_box(&mut buf), KEY, 0))
    });
    group.finish();
}

/// 64 KiB, each key offset and each start address modulo 8 on its own.
fn mask_offsets(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask_64k");
    let size = 64 << 10;
    let mut buf = vec![0x5au8; size + 8];
    group.throughput(Throughput::Bytes(size as u64));
    for start in [0usize, 1, 3, 4] {
        for offset in 0..4 {
            let id = format!("start{start}_key{offset}");
            group.bench_function(id, |b| {
                b.iter(|| black_box(apply_mask(&mut buf[start..start + size], KEY, offset)))
            });
        }
    }
    group.finish();
}

fn headers() -> Vec<(&'static str, FrameHeader)> {
    let masked = |len: u64| FrameHeader {
        mask: Some(KEY),
        ..FrameHeader::new(OpCode::Binary, len)
    };
    vec![
        ("7bit", FrameHeader::new(OpCode::Text, 16)),
        ("7bit_masked", masked(16)),
        ("16bit_masked", masked(16 << 10)),
        ("64bit_masked", masked(16 << 20)),
    ]
}

/// Header decode and encode for each length form. One iteration handles a
/// batch of 1,000 headers so the loop overhead does not dominate.
fn frame_header(c: &mut Criterion) {
    const BATCH: usize = 1000;
    let mut group = c.benchmark_group("frame_header");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, header) in headers() {
        let mut wire = [0u8; MAX_HEADER_LEN];
        let len = header.encode(&mut wire);
        let wire = &wire[..len];
        group.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    black_box(FrameHeader::parse(black_box(wire)).ok());
                }
            })
        });
        group.bench_function(BenchmarkId::new("encode", name), |b| {
            let mut out = [0u8; MAX_HEADER_LEN];
            b.iter(|| {
                for _ in 0..BATCH {
                    black_box(black_box(header).encode(&mut out));
                }
            })
        });
    }
    group.finish();
}

/// 64 KiB of text: plain ASCII, and a mix of 1- to 4-byte code points.
fn texts() -> Vec<(&'static str, Vec<u8>)> {
    let size = 64 << 10;
    let ascii: Vec<u8> = b"The quick brown fox jumps over the lazy dog. "
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect();
    let sample = "Hello, мир! Grüße, 世界. Ελληνικά, עברית 😀🚀 ok; ";
    let mut mixed = String::new();
    while mixed.len() < size {
        mixed.push_str(sample);
    }
    vec![("ascii", ascii), ("mixed", mixed.into_bytes())]
}

/// The incremental validator against `core::str::from_utf8`, on whole
/// buffers and on the same bytes fed in 1,000-byte pieces (cut points fall
/// inside code points in the mixed text).
fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    for (name, text) in texts() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::new("core_from_utf8", name), |b| {
            b.iter(|| black_box(core::str::from_utf8(black_box(&text)).is_ok()))
        });
        group.bench_function(BenchmarkId::new("validator_whole", name), |b| {
            b.iter(|| black_box(Utf8Validator::new().finish(black_box(&text)).is_ok()))
        });
        group.bench_function(BenchmarkId::new("validator_pieces_1000", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                for piece in black_box(&text).chunks(1000) {
                    if v.feed(piece).is_err() {
                        return false;
                    }
                }
                v.finish(&[]).is_ok()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = quick();
    targets = mask, mask_offsets, frame_header, utf8
}
criterion_main!(benches);
