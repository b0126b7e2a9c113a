//! The Autobahn testsuite's testee in client mode (`wstest -m fuzzingserver`).
//!
//! ```sh
//! cargo run --release --example autobahn-client -- ws://127.0.0.1:9012 rfc6455
//! ```
//! Asks the fuzzing server for the number of cases, runs each one as an echo
//! client, then asks it to write the reports. Exits 0 when done.

use rfc6455::{blocking, ClientOptions, Config, Error, Message};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9012".into());
    let agent = args.next().unwrap_or_else(|| "rfc6455".into());
    let base = base.trim_end_matches('/');

    let count = match case_count(base) {
        Ok(count) => count,
        Err(e) => {
            eprintln!("getCaseCount failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("running {count} cases as agent {agent}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run_case(&url) {
            eprintln!("case {case}: {e}");
        }
    }
    let url = format!("{base}/updateReports?agent={agent}");
    match blocking::connect(&url).and_then(|mut ws| drain(&mut ws)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("updateReports failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn case_count(base: &str) -> Result<u32, Error> {
    let mut ws = blocking::connect(&format!("{base}/getCaseCount"))?;
    let message = ws.read()?;
    let count = message
        .as_text()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    drain(&mut ws)?;
    Ok(count)
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
fn drain<S: blocking::Transport>(ws: &mut blocking::WebSocket<S>) -> Result<(), Error> {
    loop {
        match ws.read() {
            Ok(Message::Text(_)) | Ok(Message::Binary(_)) => continue,
            Err(Error::Closed { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
