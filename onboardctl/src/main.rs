//! onboardctl: the operator CLI. Configured by the same environment variables as the
//! Lambdas (`TABLE_NAME`, `EVENT_BUS_NAME`, `TARGET_ORGANIZATION_ID`,
//! `TARGET_MANAGEMENT_ACCOUNT_ID`, `SPOKE_ROLE_NAME`, `SPOKE_EXTERNAL_ID`) and the standard
//! AWS ones (`AWS_ENDPOINT_URL`, `AWS_REGION`, keys, profiles), so it works against the
//! local emulator and a real deployment alike.
//!
//! `--stack NAME` reads the hub stack's outputs and parameters instead of the variables they
//! stand for (the table, the bus, the target, the spoke role's name).
//!
//! Errors are one line naming what to fix, exit status 2; `RUST_LOG` shows more.
//!
//! This file only parses the command line and dispatches: each command, with its
//! arguments, is a module of [`commands`].

// Every line goes through `terminal::printable` (`out!`, `err!`): no direct print.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

mod accounts_file;
mod aws_error;
mod commands;
mod context;
mod stack;
mod terminal;

use crate::terminal::err;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use commands::{doctor, enroll, init, invoke, migrate, preflight, replay, report, show, status};
use context::Context;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Parser)]
#[command(
    name = "onboardctl",
    version,
    about = "Move AWS accounts into your AWS Organization, hands-off"
)]
struct Cli {
    /// The hub stack (CloudFormation, in AWS_REGION): its outputs and parameters replace
    /// the variables they set (TABLE_NAME, EVENT_BUS_NAME, TARGET_ORGANIZATION_ID,
    /// TARGET_MANAGEMENT_ACCOUNT_ID, SPOKE_ROLE_NAME, …); SPOKE_EXTERNAL_ID (NoEcho) still
    /// comes from the environment.
    #[arg(long, global = true, value_name = "NAME")]
    stack: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table and the event bus if missing (idempotent). With --stack, the
    /// stack's (creating nothing that exists); without, it refuses to create a table when
    /// a stack of the region names another.
    Init,
    /// Enroll a customer's accounts (idempotent; direct transfer by default).
    Enroll(enroll::Args),
    /// A summary per enrollment and phase, then every account (or those the filters
    /// keep): phase, blockers and remediation; progress per enrollment.
    Status(status::Args),
    /// The report for people who track a move: one HTML page, CSV or Markdown.
    Report(report::Args),
    /// One account's record with its history.
    Show(show::Args),
    /// Before anyone leaves an organization: per account, what AWS will refuse (predicted
    /// blockers), what to check by hand, the policies that trust the old organization and
    /// other organizations' invitations, read through the spoke role. Runs the preflight
    /// in process: the records keep the predicted blockers, `Preflight Completed` is
    /// published.
    Preflight(preflight::Args),
    /// Feed EventBridge CloudTrail events (files: one event, a JSON array or JSON Lines;
    /// directories in name order) through the tracker.
    Replay(replay::Args),
    /// Check the deployment: configuration, target organization, table, bus, CloudTrail
    /// trail, with --account one customer account's spoke role, with --permissions every
    /// role against the permission manifest; one line each, exit 1 on a failure.
    Doctor(doctor::Args),
    /// Bring every item an earlier release wrote up to date (records awaiting placement,
    /// enrollment counters, outbox items, cursors), page by page; idempotent. Each
    /// reconciler pass does the same a page at a time.
    Migrate(migrate::Args),
    /// Run a function's handler in process with the real clients.
    Invoke {
        #[command(subcommand)]
        function: invoke::Function,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli.command, cli.stack.as_deref()).await {
        Ok(code) => code,
        Err(error) => {
            let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
            err!("onboardctl: {}", chain.join(": "));
            ExitCode::from(2)
        }
    }
}

/// Runs `command` against the environment (and with `stack`, the hub stack's outputs).
async fn run(command: Command, stack: Option<&str>) -> anyhow::Result<ExitCode> {
    let cx = Context::load(stack).await?;
    match command {
        Command::Init => init::run(&cx).await,
        Command::Enroll(args) => enroll::run(&cx, args).await,
        Command::Status(args) => status::run(&cx, args).await,
        Command::Report(args) => report::run(&cx, args).await,
        Command::Show(args) => show::run(&cx, args).await,
        Command::Preflight(args) => preflight::run(&cx, args).await,
        Command::Replay(args) => replay::run(&cx, args).await,
        Command::Doctor(args) => doctor::run(&cx, &args).await,
        Command::Invoke { function } => invoke::run(&cx, function).await,
        Command::Migrate(args) => migrate::run(&cx, args).await,
    }
}

/// Quiet unless `RUST_LOG` asks.
fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::TRACE)
            .finish()
            .with(onboarding::telemetry::filter_from_env(tracing::Level::WARN))
            .init();
    }
}
