//! Workloads shared by the criterion benches and the peer comparison
//! (`benches/compare` includes this file), so both measure the same bytes.

#![allow(dead_code)]

use rfc6455::{Config, Connection, FastRng, Role};

/// A run of binary messages of one size.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Short name for tables.
    pub name: &'static str,
    /// Messages in the run.
    pub count: usize,
    /// Payload bytes per message.
    pub size: usize,
}

impl Workload {
    /// Payload bytes in the whole run.
    pub fn payload_bytes(&self) -> u64 {
        (self.count * self.size) as u64
    }
}

/// 100,000 messages of 16 B, one of 1 MiB, one of 16 MiB.
pub const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "100k x 16 B",
        count: 100_000,
        size: 16,
    },
    Workload {
        name: "1 x 1 MiB",
        count: 1,
        size: 1 << 20,
    },
    Workload {
        name: "1 x 16 MiB",
        count: 1,
        size: 16 << 20,
    },
];

/// Sizes of the reads that feed the receiving side.
pub const READ_SIZES: [usize; 2] = [4 << 10, 64 << 10];

/// A payload of `size` bytes that is not all one value.
pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 251) as u8).collect()
}

/// The wire bytes of `w` as a client sends them: masked binary frames,
/// with deterministic keys. `config` must not negotiate compression.
pub fn client_wire(w: &Workload, config: Config) -> Vec<u8> {
    let mut client = Connection::with_rng(Role::Client, config, Box::new(FastRng::from_seed(9)));
    let data = payload(w.size);
    let mut wire = Vec::with_capacity(w.count * (w.size + 14));
    for _ in 0..w.count {
        client.send_binary(&data).expect("send");
        wire.extend_from_slice(&client.take_output());
    }
    wire
}
