//! The HTML report of the demo's final state, for a look at the page: plays the demo's
//! scenario on its own emulator (without the pauses) and writes `onboardctl report`'s
//! page of every record at the end to the path given (default `demo-report.html`).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use onboarding::report::{self, Format};
use onboarding_e2e::scenario::{self, Options};
use onboarding_e2e::Emulator;

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "demo-report.html".to_owned());
    let emulator = match Emulator::start() {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("demo_report: cannot start the emulator: {error:#}");
            return ExitCode::from(2);
        }
    };
    let result = write_report(&emulator, &path);
    emulator.stop();
    match result {
        Ok(accounts) => {
            println!("wrote {path} ({accounts} accounts)");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("demo_report failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn write_report(emulator: &Emulator, path: &str) -> Result<usize> {
    let runtime = tokio::runtime::Runtime::new()?;
    let options = Options {
        pace: Duration::ZERO,
        ..Options::demo()
    };
    let outcome = runtime.block_on(scenario::run(emulator, &options))?;
    let mut records = outcome.records;
    records.extend(outcome.direct_records);
    records.extend(outcome.billing_records);
    let page = report::render(Format::Html, &records, Utc::now())?;
    std::fs::write(path, page).with_context(|| format!("writing {path}"))?;
    Ok(records.len())
}
