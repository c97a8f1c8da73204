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

mod accounts_file;
mod aws_error;
mod commands;
mod context;
mod doctor;
mod init;
mod preflight;
mod report_command;
mod stack;
mod status;
mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use onboarding::domain::{parse_tag, OuRef, Phase, TransferMode};
use onboarding::permissions::Principal;
use onboarding::report::Format;
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

#[derive(clap::Args)]
struct EnrollArgs {
    /// The enrollment's name, e.g. acme-2026.
    name: String,
    /// direct (members accept while still in their organization, falling back to
    /// standalone), standalone (leave first), or billing (one management account keeps
    /// its organization, members included, and transfers its bill to the target).
    #[arg(long, value_parser = parse_mode, default_value = "direct")]
    mode: TransferMode,
    /// Billing mode: the day the target starts paying the bill (YYYY-MM-DD, UTC
    /// midnight); default: the first day of a month at least 48 hours after the
    /// invitation (AWS wants it accepted 24 hours before the start).
    #[arg(long, value_parser = parse_day)]
    transfer_start: Option<chrono::DateTime<chrono::Utc>>,
    /// The management account of the organization the accounts leave.
    #[arg(long)]
    management: Option<String>,
    /// A member account of that organization (repeatable).
    #[arg(long = "member")]
    members: Vec<String>,
    /// An account in no organization (repeatable).
    #[arg(long = "standalone")]
    standalone: Vec<String>,
    /// A CSV file of `account_id,role[,ou,tags]` lines (role: management, member or
    /// standalone; tags: `KEY=VALUE` separated by `;`).
    #[arg(long)]
    file: Option<PathBuf>,
    /// The target OU every account is placed in once it joined: an OU id (ou-…) or a path
    /// of unit names under the root, such as Customers/Acme.
    #[arg(long, value_parser = parse_ou)]
    ou: Option<OuRef>,
    /// A tag every account gets, KEY=VALUE (repeatable); the invitation carries it.
    #[arg(long = "tag", value_parser = parse_tag_arg)]
    tags: Vec<(String, String)>,
    /// The organization the accounts leave (o-…), for their
    /// org-onboarding:source-organization tag; without it, the reconciler reads it while
    /// the account is still there (standalone accounts get `none`).
    #[arg(long)]
    source_organization: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table and the event bus if missing (idempotent). With --stack, the
    /// stack's (creating nothing that exists); without, it refuses to create a table when
    /// a stack of the region names another.
    Init,
    /// Enroll a customer's accounts (idempotent; direct transfer by default).
    Enroll(EnrollArgs),
    /// A summary per enrollment and phase, then every account (or those the filters
    /// keep): phase, blockers and remediation; progress per enrollment.
    Status {
        #[arg(long)]
        enrollment: Option<String>,
        /// Only accounts in this phase (e.g. Invited).
        #[arg(long, value_parser = parse_phase)]
        phase: Option<Phase>,
        /// Only accounts with a blocker.
        #[arg(long)]
        blocked: bool,
        /// Print a JSON array of records, one per line, written as they are read.
        #[arg(long)]
        json: bool,
    },
    /// The report for people who track a move: one HTML page, CSV or Markdown.
    Report {
        #[arg(long, value_parser = parse_format, default_value = "html")]
        format: Format,
        #[arg(long)]
        enrollment: Option<String>,
        /// Write to this file instead of stdout.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// One account's record with its history.
    Show {
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Before anyone leaves an organization: per account, what AWS will refuse (predicted
    /// blockers), what to check by hand, the policies that trust the old organization and
    /// other organizations' invitations, read through the spoke role. Runs the preflight
    /// in process: the records keep the predicted blockers, `Preflight Completed` is
    /// published.
    Preflight {
        /// Only this enrollment's accounts (default: every account still to move).
        enrollment: Option<String>,
        /// Only this account.
        #[arg(long, conflicts_with = "enrollment")]
        account: Option<String>,
        /// One JSON object per account and line (JSON Lines), nothing else on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Feed EventBridge CloudTrail events (files: one event, a JSON array or JSON Lines;
    /// directories in name order) through the tracker.
    Replay {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Check the deployment: configuration, target organization, table, bus, CloudTrail
    /// trail, with --account one customer account's spoke role, with --permissions every
    /// role against the permission manifest; one line each, exit 1 on a failure.
    Doctor {
        #[arg(long)]
        account: Option<String>,
        /// Simulate every function's role (the stack's, or --role) against the permission
        /// manifest, and with --account the spoke role there.
        #[arg(long)]
        permissions: bool,
        /// A function's role, FUNCTION=ARN (repeatable): instead of the stack's, or without
        /// a stack.
        #[arg(long = "role", value_name = "FUNCTION=ARN", value_parser = parse_role, requires = "permissions")]
        roles: Vec<(Principal, String)>,
    },
    /// Run a function's handler in process with the real clients.
    Invoke {
        #[command(subcommand)]
        function: Function,
    },
}

#[derive(Subcommand)]
enum Function {
    /// Apply one event file through the tracker.
    Tracker {
        #[arg(long)]
        event: PathBuf,
    },
    /// Run the acceptor's sweep, or for one account whatever its phase.
    Acceptor {
        #[arg(long)]
        account: Option<String>,
    },
    /// Run the inviter's sweep, or for one account whatever its phase.
    Inviter {
        #[arg(long)]
        account: Option<String>,
    },
    /// Run the placer's sweep (every joined account not yet placed), or for one account:
    /// move it into its OU, apply missing tags, verify the access role.
    Placer {
        #[arg(long)]
        account: Option<String>,
    },
    /// Run one reconciler pass (every record not joined, against the real state), or for
    /// one account; one line per corrected account.
    Reconciler {
        #[arg(long)]
        account: Option<String>,
    },
}

fn parse_mode(value: &str) -> Result<TransferMode, String> {
    value.parse()
}

fn parse_day(value: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|e| format!("{value:?} is not a day such as 2027-02-01: {e}"))
}

fn parse_ou(value: &str) -> Result<OuRef, String> {
    OuRef::parse(value).map_err(|e| e.to_string())
}

fn parse_tag_arg(value: &str) -> Result<(String, String), String> {
    parse_tag(value).map_err(|e| e.to_string())
}

fn parse_role(value: &str) -> Result<(Principal, String), String> {
    let functions: Vec<&str> = Principal::ALL
        .iter()
        .filter(|p| p.role_output().is_some())
        .map(|p| p.name())
        .collect();
    let (name, arn) = value
        .split_once('=')
        .ok_or_else(|| format!("{value:?} is not FUNCTION=ARN"))?;
    let principal = Principal::from_name(name)
        .filter(|p| p.role_output().is_some())
        .ok_or_else(|| format!("unknown function {name:?} ({})", functions.join(", ")))?;
    if !arn.starts_with("arn:") || !arn.contains(":role/") {
        return Err(format!(
            "{arn:?} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        ));
    }
    Ok((principal, arn.to_owned()))
}

fn parse_format(value: &str) -> Result<Format, String> {
    value.parse()
}

fn parse_phase(value: &str) -> Result<Phase, String> {
    Phase::ALL
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(value))
        .ok_or_else(|| {
            let names: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
            format!("unknown phase {value:?} ({})", names.join(", "))
        })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match commands::run(cli.command, cli.stack.as_deref()).await {
        Ok(code) => code,
        Err(error) => {
            let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
            eprintln!("onboardctl: {}", chain.join(": "));
            ExitCode::from(2)
        }
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
