//! The Autobahn testsuite's testee in client mode (`wstest -m fuzzingserver`).
//!
//! ```sh
//! cargo run --release --example autobahn-client -- ws://127.0.0.1:9012 rfc6455
//! ```
//! Asks the fuzzing server for the number of cases, runs each one as an echo
//! client, then asks it to write the reports. Exits 0 when done.

use rfc6455::{blocking, ClientOptions, Config, Error, Message};
use std::process::ExitCode;

#[path = "support/autobahn.rs"]
mod autobahn;

fn main() -> ExitCode {
    autobahn::run_suite(&mut Blocking, "ws://127.0.0.1:9012", "rfc6455")
}

/// Each connection is a blocking WebSocket over a TCP stream.
struct Blocking;

impl autobahn::Testee for Blocking {
    type Error = Error;

    fn case_count(&mut self, url: &str) -> Result<u32, Error> {
        let mut ws = blocking::connect(url)?;
        let message = ws.read()?;
        let count = message
            .as_text()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        drain(&mut ws)?;
        Ok(count)
    }

    fn run_case(&mut self, url: &str) -> Result<(), Error> {
        run_case(url)
    }

    fn update_reports(&mut self, url: &str) -> Result<(), Error> {
        drain(&mut blocking::connect(url)?)
    }
}

/// Echo every message until the server closes.
fn run_case(url: &str) -> Result<(), Error> {
    let config = Config::default().with_max_size(16 << 20);
    let mut ws = blocking::connect_with(url, ClientOptions::default(), config)?;
    loop {
        match ws.read() {
            Ok(message) => ws.send(message)?,
            Err(Error::Closed { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Read until the server's close (the info endpoints send at most a message).
fn drain<S: blocking::BlockingTransport>(ws: &mut blocking::WebSocket<S>) -> Result<(), Error> {
    loop {
        match ws.read() {
            Ok(Message::Text(_)) | Ok(Message::Binary(_)) => continue,
            Err(Error::Closed { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
