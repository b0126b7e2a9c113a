//! Randomness for masking keys and `Sec-WebSocket-Key`.
//!
//! RFC 6455 §10.3 asks that masking keys be unpredictable to the *application*
//! (so script running in a browser cannot choose the bytes a proxy sees); it
//! does not ask for cryptographic strength against the network, which sees
//! the key in the clear anyway. A fast non-cryptographic generator seeded with
//! per-process entropy is therefore what we use by default, and callers who
//! want something else (a CSPRNG, or a fixed seed in tests) inject their own
//! [`RandomSource`].

/// A source of random bytes for masking keys and handshake nonces.
///
/// Implementations must be cheap: a client draws four bytes per frame sent.
///
/// ```
/// use rfc6455::{Config, Connection, RandomSource, Role};
///
/// /// Every masking key 0: only for tests that compare wire bytes.
/// struct Zeros;
/// impl RandomSource for Zeros {
///     fn fill(&mut self, buf: &mut [u8]) {
///         buf.fill(0);
///     }
/// }
///
/// let mut client = Connection::with_rng(Role::Client, Config::default(), Box::new(Zeros));
/// client.send_text("hi")?;
/// assert_eq!(&client.take_output()[..], b"\x81\x82\0\0\0\0hi");
/// # Ok::<(), rfc6455::Error>(())
/// ```
pub trait RandomSource {
    /// Fill `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);

    /// A fresh 4-byte masking key.
    fn mask_key(&mut self) -> [u8; 4] {
        let mut key = [0u8; 4];
        self.fill(&mut key);
        key
    }
}

/// The default generator: wyrand, a 64-bit counter-based generator.
///
/// Seeded from the OS (through std's randomly keyed hasher) when `std` is on;
/// without `std` it mixes a global counter with an address, which still gives
/// distinct streams per connection, and callers needing more inject a source.
///
/// ```
/// use rfc6455::FastRng;
/// let (mut a, mut b) = (FastRng::from_seed(7), FastRng::from_seed(7));
/// assert_eq!(a.next_u64(), b.next_u64()); // same seed, same stream
/// ```
#[derive(Debug, Clone)]
pub struct FastRng {
    state: u64,
}

impl FastRng {
    /// A generator with a fixed seed: deterministic output, for tests.
    ///
    /// ```
    /// use rfc6455::{ClientOptions, ClientUpgrade, Config, FastRng, WsUrl};
    /// let url = WsUrl::parse("ws://example.com/")?;
    /// let request = |seed| {
    ///     ClientUpgrade::with_rng(&url, ClientOptions::default(), Config::default(), &mut FastRng::from_seed(seed))
    ///         .request()
    ///         .to_vec()
    /// };
    /// assert_eq!(request(1), request(1)); // a reproducible Sec-WebSocket-Key
    /// assert_ne!(request(1), request(2));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub const fn from_seed(seed: u64) -> Self {
        FastRng { state: seed }
    }

    /// A generator seeded with fresh entropy.
    ///
    /// ```
    /// let mut rng = rfc6455::FastRng::new();
    /// assert_ne!(rng.next_u64(), rng.next_u64());
    /// ```
    pub fn new() -> Self {
        FastRng {
            state: entropy_seed(),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.state) * u128::from(self.state ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    }
}

impl Default for FastRng {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomSource for FastRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn mask_key(&mut self) -> [u8; 4] {
        (self.next_u64() as u32).to_le_bytes()
    }
}

#[cfg(feature = "std")]
fn entropy_seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    // RandomState is keyed from the OS random source once per thread and then
    // incremented, so every call yields a distinct, unpredictable seed.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(counter_seed());
    hasher.finish()
}

#[cfg(not(feature = "std"))]
fn entropy_seed() -> u64 {
    counter_seed()
}

fn counter_seed() -> u64 {
    use core::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let local = 0u8;
    let addr = &local as *const u8 as usize as u64;
    COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed) ^ addr.rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generator_is_deterministic() {
        let mut a = FastRng::from_seed(7);
        let mut b = FastRng::from_seed(7);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_eq!(a.mask_key(), b.mask_key());
    }

    #[test]
    fn fresh_generators_differ() {
        let mut a = FastRng::new();
        let mut b = FastRng::new();
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn fill_covers_odd_lengths() {
        let mut rng = FastRng::from_seed(1);
        let mut buf = [0u8; 13];
        rng.fill(&mut buf);
        assert!(buf[8..].iter().any(|&b| b != 0));
    }
}
