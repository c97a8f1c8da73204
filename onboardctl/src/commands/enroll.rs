//! `onboardctl enroll`: an enrollment from the command line and an accounts file, written
//! as one record per account (idempotent: an account enrolled before is said so, never
//! overwritten).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use chrono::Utc;
use onboarding::adapters::dynamo::ENROLL_BATCH;
use onboarding::domain::placement::check_tag_count;
use onboarding::domain::{
    parse_tag, Enrollment, EnrollmentName, OrganizationId, OuRef, Placement, TransferMode,
};
use onboarding::ports::{CreateOutcome, RecordCreator};
use onboarding::report::view::plural;

use super::account;
use crate::accounts_file;
use crate::context::Context;
use crate::terminal::{out, say, Terminal};

#[derive(clap::Args)]
pub struct Args {
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

pub async fn run(cx: &Context, args: Args) -> Result<ExitCode> {
    let accounts = |ids: &[String]| ids.iter().map(|a| account(a)).collect::<Result<Vec<_>>>();
    let mode = args.mode;
    let tags: BTreeMap<String, String> = args.tags.into_iter().collect();
    check_tag_count(&tags)?;
    let mut enrollment = Enrollment {
        name: EnrollmentName::parse(&args.name)?,
        transfer_mode: mode.clone(),
        management_account: args.management.as_deref().map(account).transpose()?,
        members: accounts(&args.members)?,
        standalone_accounts: accounts(&args.standalone)?,
        placement: Placement {
            transfer_start: args.transfer_start,
            ou: args.ou,
            tags,
            source_organization: args
                .source_organization
                .as_deref()
                .map(OrganizationId::parse)
                .transpose()?,
            per_account: BTreeMap::new(),
        },
    };
    if let Some(file) = &args.file {
        accounts_file::read_into(file, &mut enrollment)?;
    }
    let records = enrollment.records(Utc::now())?;
    let store = cx.store()?;
    let bar = Terminal::detect().bar(records.len() as u64, "enrolling");
    // Ten transactions' worth per call, so the bar moves on a file of thousands.
    for chunk in records.chunks(ENROLL_BATCH * 10) {
        let outcomes = cx.at(store.create_many(chunk).await, "writing the enrollment")?;
        for (record, outcome) in chunk.iter().zip(outcomes) {
            let said = match outcome {
                CreateOutcome::Created => "enrolled",
                CreateOutcome::AlreadyEnrolled => "already enrolled",
            };
            let line = format!(
                "{}  {:<10}  {:<20}  {said}",
                record.account_id,
                record.role.as_str(),
                record.phase
            );
            say(&bar, line);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    out!(
        "enrollment {} ({} mode): {}",
        enrollment.name,
        mode.as_str(),
        plural(records.len(), "account", "accounts")
    );
    Ok(ExitCode::SUCCESS)
}
