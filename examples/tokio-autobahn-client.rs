//! The Autobahn testsuite's testee in client mode (`wstest -m fuzzingserver`),
//! on the tokio adapter.
//!
//! ```sh
//! cargo run --release --features tokio --example tokio-autobahn-client -- ws://127.0.0.1:9016 rfc6455-tokio
//! ```
//! The same conversation as `examples/autobahn-client` (getCaseCount,
//! runCase for each case as an echo client, updateReports), each connection
//! an async WebSocket on a current-thread runtime. Exits 0 when done.

use rfc6455::tokio as ws;
use rfc6455::{ClientOptions, Config, Error, Message};
use std::process::ExitCode;
use tokio::runtime::Runtime;

#[path = "support/autobahn.rs"]
mod autobahn;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    autobahn::run_suite(
        &mut Tokio { runtime },
        "ws://127.0.0.1:9016",
        "rfc6455-tokio",
    )
}

/// Every connection runs to its end on one runtime.
struct Tokio {
    runtime: Runtime,
}

impl autobahn::Testee for Tokio {
    type Error = Error;

    fn case_count(&mut self, url: &str) -> Result<u32, Error> {
        let messages = self.runtime.block_on(collect(url))?;
        Ok(messages
            .first()
            .and_then(Message::as_text)
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0))
    }

    fn run_case(&mut self, url: &str) -> Result<(), Error> {
        self.runtime.block_on(echo(url))
    }

    fn update_reports(&mut self, url: &str) -> Result<(), Error> {
        self.runtime.block_on(collect(url)).map(drop)
    }
}

/// Echo every message until the server closes.
async fn echo(url: &str) -> Result<(), Error> {
    // Autobahn's section 9 sends messages of up to 16 MiB.
    let config = Config::default().with_max_size(16 << 20);
    let mut socket = ws::connect_with(url, ClientOptions::default(), config).await?;
    loop {
        match socket.read().await {
            Ok(message) => socket.send(message).await?,
            Err(Error::Closed { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// The messages an info endpoint sends before it closes.
async fn collect(url: &str) -> Result<Vec<Message>, Error> {
    let mut socket = ws::connect(url).await?;
    let mut messages = Vec::new();
    loop {
        match socket.read().await {
            Ok(message) => messages.push(message),
            Err(Error::Closed { .. }) => return Ok(messages),
            Err(e) => return Err(e),
        }
    }
}
