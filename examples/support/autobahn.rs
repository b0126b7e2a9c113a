//! The fuzzing server's conversation, shared by the Autobahn client testees
//! (`autobahn-client` on the blocking adapter, `mio-autobahn-client` on the
//! mio one): read `[BASE_URL] [AGENT]`, ask `getCaseCount`, run every case
//! with `runCase`, then ask for `updateReports`. Each testee says only how it
//! opens and drives a connection.

use std::fmt::Display;
use std::process::ExitCode;

/// How one testee talks to the fuzzing server; every method gets a full URL.
pub trait Testee {
    type Error: Display;
    /// Connect to `getCaseCount` and parse the number it sends.
    fn case_count(&mut self, url: &str) -> Result<u32, Self::Error>;
    /// Connect to one `runCase` URL and echo every message until the
    /// server closes.
    fn run_case(&mut self, url: &str) -> Result<(), Self::Error>;
    /// Connect to `updateReports` and read until the server closes.
    fn update_reports(&mut self, url: &str) -> Result<(), Self::Error>;
}

/// Run the whole suite: exit 0 once the reports are written. A failed case
/// is reported and the next one runs (the report judges it).
pub fn run_suite(testee: &mut impl Testee, default_base: &str, default_agent: &str) -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| default_base.into());
    let agent = args.next().unwrap_or_else(|| default_agent.into());
    let base = base.trim_end_matches('/');

    let count = match testee.case_count(&format!("{base}/getCaseCount")) {
        Ok(count) => count,
        Err(e) => {
            eprintln!("getCaseCount failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("running {count} cases as agent {agent}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = testee.run_case(&url) {
            eprintln!("case {case}: {e}");
        }
    }
    match testee.update_reports(&format!("{base}/updateReports?agent={agent}")) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("updateReports failed: {e}");
            ExitCode::FAILURE
        }
    }
}
