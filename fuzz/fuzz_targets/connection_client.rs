//! A client-role connection fed arbitrary server bytes in arbitrary reads,
//! with and without permessage-deflate. See `run_connection` for the input
//! layout and the invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rfc6455_fuzz::run_connection(rfc6455::Role::Client, data));
