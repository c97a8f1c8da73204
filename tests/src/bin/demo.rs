//! `make demo`: the whole onboarding flow on the local emulator, in one command.
//!
//! Starts its own fakecloud on a free port, plays [`onboarding_e2e::scenario`] (the same
//! scenario the end-to-end tests assert), prints the status table as it changes, stops
//! the emulator and exits 0 when every account joined and the foreign invitation was
//! reported. Quiet unless `RUST_LOG` asks for logs.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use onboarding_e2e::scenario::{self, Options};
use onboarding_e2e::Emulator;

fn main() -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        onboarding::telemetry::init_lambda();
    }
    let started = Instant::now();
    let emulator = match Emulator::start() {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("demo: cannot start the emulator: {error:#}");
            return ExitCode::from(2);
        }
    };
    println!(
        "org-onboarding demo on fakecloud {} at {} (pid {}, healthy in {} ms; log {})",
        onboarding_e2e::emulator::FAKECLOUD_VERSION,
        emulator.endpoint(),
        emulator.pid(),
        emulator.startup_time().as_millis(),
        emulator.log_path().display()
    );
    let result = run(&emulator);
    emulator.stop();
    match result {
        Ok(report) => {
            println!("\nFinal status:\n");
            for line in report.final_table.lines() {
                if line.is_empty() {
                    println!();
                } else {
                    println!("    {line}");
                }
            }
            println!(
                "\nDone in {:.1}s: every moved account joined and was placed in its OU, the billing enrollment's bill was transferred, the foreign invitation was reported and never accepted; emulator stopped.",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("\ndemo failed: {error:#}");
            eprintln!("(emulator stopped; run with RUST_LOG=info for the handlers' logs)");
            ExitCode::FAILURE
        }
    }
}

fn run(emulator: &Emulator) -> Result<scenario::Report> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?
        .block_on(scenario::run(emulator, &Options::demo()))
}
