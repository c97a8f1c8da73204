//! The commands. Each prints for a person (or JSON with `--json`) and returns the exit code.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use chrono::Utc;
use onboarding::adapters::dynamo::ENROLL_BATCH;
use onboarding::domain::placement::check_tag_count;
use onboarding::domain::{
    wanted_tags, AccountId, Enrollment, EnrollmentName, OnboardingRecord, OrganizationId, Placement,
};
use onboarding::ports::{CreateOutcome, RecordCreator, RecordReader};
use onboarding::reconciler::{Pass, ReconcilerOutcome};
use onboarding::report::view::plural;
use onboarding::sweep::SweepReport;
use onboarding::tracker::Outcome;
use serde_json::Value;

use crate::context::Context;
use crate::terminal::{say, Terminal};
use crate::{accounts_file, preflight, report_command, status, Command, EnrollArgs, Function};

pub async fn run(command: Command, stack: Option<&str>) -> Result<ExitCode> {
    let cx = Context::load(stack).await?;
    match command {
        Command::Init => crate::init::init(&cx).await,
        Command::Enroll(args) => enroll(&cx, args).await,
        Command::Status {
            enrollment,
            phase,
            blocked,
            json,
        } => {
            let filter = status::Filter {
                enrollment: enrollment
                    .as_deref()
                    .map(EnrollmentName::parse)
                    .transpose()?,
                phase,
                blocked,
            };
            if json {
                status::json(&cx, &filter).await?;
            } else {
                status::table(&cx, &filter, Terminal::detect()).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            format,
            enrollment,
            output,
        } => {
            let enrollment = enrollment
                .as_deref()
                .map(EnrollmentName::parse)
                .transpose()?;
            report_command::report(&cx, format, enrollment.as_ref(), output.as_deref()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { account, json } => show(&cx, &account, json).await,
        Command::Preflight {
            enrollment,
            account,
            json,
        } => {
            let scope = match (account, enrollment) {
                (Some(account), _) => preflight::Scope::Account(account),
                (None, Some(enrollment)) => preflight::Scope::Enrollment(enrollment),
                (None, None) => preflight::Scope::All,
            };
            preflight::preflight(&cx, scope, json).await
        }
        Command::Replay { paths } => replay(&cx, &paths).await,
        Command::Invoke { function } => invoke(&cx, function).await,
        Command::Doctor {
            account,
            permissions,
            roles,
        } => {
            let options = crate::doctor::Options {
                account,
                permissions,
                roles,
            };
            crate::doctor::doctor(&cx, &options).await
        }
    }
}

fn account(value: &str) -> Result<AccountId> {
    Ok(AccountId::parse(value.trim())?)
}

async fn enroll(cx: &Context, args: EnrollArgs) -> Result<ExitCode> {
    let accounts = |ids: &[String]| ids.iter().map(|a| account(a)).collect::<Result<Vec<_>>>();
    let mode = args.mode;
    let tags: BTreeMap<String, String> = args.tags.into_iter().collect();
    check_tag_count(&tags)?;
    let mut enrollment = Enrollment {
        name: EnrollmentName::parse(&args.name)?,
        transfer_mode: mode,
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
    println!(
        "enrollment {} ({} mode): {}",
        enrollment.name,
        mode.as_str(),
        plural(records.len(), "account", "accounts")
    );
    Ok(ExitCode::SUCCESS)
}

async fn show(cx: &Context, account_id: &str, json: bool) -> Result<ExitCode> {
    let id = account(account_id)?;
    let record = cx
        .at(cx.store()?.load(&id).await, "reading the table")?
        .with_context(|| format!("account {id} is not enrolled"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&record)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_record(&record);
    Ok(ExitCode::SUCCESS)
}

fn print_record(record: &OnboardingRecord) {
    let one = std::slice::from_ref(record);
    println!("{}\n", status::accounts(one, Terminal::detect()));
    status::print_remediation(one);
    println!(
        "transfer mode: {}   version: {}   handshake: {}",
        record.transfer_mode.as_str(),
        record.version,
        record
            .handshake_id
            .as_ref()
            .map_or("-".to_owned(), ToString::to_string)
    );
    if let Some(billing) = &record.billing {
        print_billing(record, billing);
    }
    if let Some(fallback) = &record.fallback {
        println!(
            "fell back to the standalone path at {}: {}",
            fallback.at, fallback.reason
        );
    }
    print_placement(record);
    print_preflight(record);
    println!("\nhistory:");
    for entry in &record.history {
        println!(
            "  {}  {:<22} {}  ({})",
            entry.applied_at.format("%Y-%m-%d %H:%M:%S"),
            entry.phase,
            entry.summary,
            entry.event_id
        );
    }
}

/// Billing mode: the transfer asked for and the one accepted. The members have no record:
/// they stay in the customer's organization, and the transfer covers them all.
fn print_billing(record: &OnboardingRecord, billing: &onboarding::domain::billing::BillingTerms) {
    let day = |at: Option<chrono::DateTime<Utc>>| at.map(|at| at.format("%Y-%m-%d").to_string());
    println!(
        "billing transfer of organization {} (its management account and every member account; members need no record)",
        record
            .source_organization
            .as_ref()
            .map_or("(not read yet)".to_owned(), ToString::to_string)
    );
    println!(
        "  asked to start: {}   transfer: {}   in force from: {}   ended: {}",
        day(billing.start)
            .unwrap_or_else(|| "the first day of the month after the invitation".to_owned()),
        billing.transfer.as_deref().unwrap_or("-"),
        day(billing.starts_at).unwrap_or_else(|| "-".to_owned()),
        day(billing.ended_at).unwrap_or_else(|| "-".to_owned()),
    );
}

/// What the enrollment asked of the placer, and what it did.
fn print_placement(record: &OnboardingRecord) {
    let tags: Vec<String> = wanted_tags(record)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "ou: {}   tags: {}",
        record
            .ou
            .as_ref()
            .map_or("-".to_owned(), ToString::to_string),
        tags.join(", ")
    );
    match &record.placed {
        Some(placed) => println!(
            "placed at {} in {}, access {}",
            placed.at.format("%Y-%m-%d %H:%M:%S"),
            placed.placed_in.as_deref().unwrap_or("(where it joined)"),
            placed
                .access_role
                .as_deref()
                .map_or("not verified".to_owned(), |role| format!(
                    "verified with {role}"
                ))
        ),
        None => println!("placed: not yet"),
    }
}

/// What the last preflight found beyond its predicted blockers (those are in the table
/// and under "Blocked:", marked `(predicted)`): when, the checks to do by hand, and the
/// policies that trust the old organization the record kept.
fn print_preflight(record: &OnboardingRecord) {
    let Some(summary) = &record.preflight else {
        // Said only while a preflight can still predict something for the account.
        if onboarding::preflight::applies(record) {
            println!(
                "preflight: not run yet (onboardctl preflight --account {})",
                record.account_id
            );
        }
        return;
    };
    let predicted = record.blockers.iter().filter(|b| b.is_predicted()).count();
    println!(
        "preflight at {}: {} predicted, {} to do by hand, {} trusting the old organization{}",
        summary.at.format("%Y-%m-%d %H:%M:%S"),
        plural(predicted, "blocker", "blockers"),
        plural(summary.checks, "check", "checks"),
        plural(summary.policies_total, "policy", "policies"),
        if summary.policies_total > 0 {
            " (they stop working after the move):"
        } else {
            ""
        }
    );
    for policy in &summary.policies {
        println!(
            "  {}  {} = {}",
            policy.resource, policy.condition_key, policy.value
        );
    }
    let untold = summary
        .policies_total
        .saturating_sub(summary.policies.len());
    if untold > 0 {
        println!(
            "  and {untold} more: onboardctl preflight --account {} lists every one",
            record.account_id
        );
    }
    if summary.checks > 0 {
        println!(
            "  the checks, and all it found: onboardctl preflight --account {}",
            record.account_id
        );
    }
}

/// Events from files and directories: one event, a JSON array, or JSON Lines per file;
/// directories in name order.
fn read_events(paths: &[PathBuf]) -> Result<Vec<(String, Result<Value, String>)>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            entries.retain(|p| {
                p.is_file() && p.extension().is_some_and(|x| x == "json" || x == "jsonl")
            });
            entries.sort();
            files.extend(entries);
        } else {
            files.push(path.clone());
        }
    }
    let mut events = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {name}"))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(items)) => {
                events.extend(items.into_iter().map(|v| (name.clone(), Ok(v))))
            }
            Ok(value) => events.push((name, Ok(value))),
            Err(_) => {
                for (n, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let parsed =
                        serde_json::from_str::<Value>(line).map_err(|e| format!("not JSON: {e}"));
                    events.push((format!("{name}:{}", n + 1), parsed));
                }
            }
        }
    }
    Ok(events)
}

async fn replay(cx: &Context, paths: &[PathBuf]) -> Result<ExitCode> {
    let tracker = cx.tracker()?;
    let events = read_events(paths)?;
    let bar = Terminal::detect().bar(events.len() as u64, "replaying");
    let (mut applied, mut duplicate, mut ignored, mut rejected) = (0, 0, 0, 0);
    for (source, event) in events {
        bar.inc(1);
        let id = event
            .as_ref()
            .map(onboarding::cloudtrail::event_id_of)
            .unwrap_or_else(|_| "unknown".into());
        let line = match event {
            Err(reason) => Err(reason),
            Ok(event) => match tracker.handle_json(&event).await {
                Ok(outcome) => Ok(outcome),
                Err(error) => Err(format!("{error} (at {})", cx.endpoint())),
            },
        };
        match line {
            Ok(Outcome::Applied { account, phase }) => {
                applied += 1;
                say(&bar, format!("applied    {id}  {account} -> {phase}"));
            }
            Ok(Outcome::Duplicate { account }) => {
                duplicate += 1;
                say(&bar, format!("duplicate  {id}  {account}"));
            }
            Ok(Outcome::Unchanged { account }) => {
                ignored += 1;
                say(&bar, format!("ignored    {id}  {account}: changes nothing"));
            }
            Ok(Outcome::NotEnrolled { account }) => {
                ignored += 1;
                say(&bar, format!("ignored    {id}  {account} is not enrolled"));
            }
            Ok(Outcome::Ignored { reason }) => {
                ignored += 1;
                say(&bar, format!("ignored    {id}  {reason}"));
            }
            Ok(Outcome::Rejected { reason }) | Err(reason) => {
                rejected += 1;
                say(&bar, format!("rejected   {id}  {source}: {reason}"));
            }
        }
    }
    bar.finish_and_clear();
    println!("{applied} applied, {duplicate} duplicate, {ignored} ignored, {rejected} rejected");
    Ok(if rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn invoke(cx: &Context, function: Function) -> Result<ExitCode> {
    match function {
        Function::Tracker { event } => replay(cx, &[event]).await,
        Function::Acceptor { account: id } => {
            let acceptor = &cx.wiring()?.acceptor()?;
            let report = one_or_sweep(
                cx,
                id,
                "acceptor",
                |id| async move { acceptor.process(&id).await },
                || acceptor.sweep(),
            );
            print_sweep(&report.await?);
            Ok(ExitCode::SUCCESS)
        }
        Function::Inviter { account: id } => {
            let inviter = &cx.wiring()?.inviter();
            let report = one_or_sweep(
                cx,
                id,
                "inviter",
                |id| async move { inviter.process(&id, true).await },
                || inviter.sweep(),
            );
            print_sweep(&report.await?);
            Ok(ExitCode::SUCCESS)
        }
        Function::Placer { account: id } => {
            let placer = &cx.wiring()?.placer();
            let report = one_or_sweep(
                cx,
                id,
                "placer",
                |id| async move { placer.place(&id).await },
                || placer.sweep(),
            );
            print_sweep(&report.await?);
            Ok(ExitCode::SUCCESS)
        }
        Function::Reconciler { account: id } => {
            let reconciler = cx.wiring()?.reconciler()?;
            let pass = match id {
                Some(id) => {
                    let id = known(cx, &id).await?;
                    let outcome =
                        cx.at(reconciler.reconcile(&id).await, "running the reconciler")?;
                    Pass {
                        accounts: SweepReport::of_one(id, outcome),
                        republished: 0,
                    }
                }
                None => {
                    let spinner = Terminal::detect().spinner("reconciler pass");
                    let pass = reconciler.pass().await;
                    spinner.finish_and_clear();
                    cx.at(pass, "running the reconciler")?
                }
            };
            print_pass(&pass);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What `invoke FUNCTION [--account ID]` runs: `one` for an enrolled account, else the
/// function's sweep behind a spinner.
async fn one_or_sweep<T, E, One, All>(
    cx: &Context,
    id: Option<String>,
    function: &str,
    one: impl FnOnce(AccountId) -> One,
    all: impl FnOnce() -> All,
) -> Result<SweepReport<T>>
where
    E: std::error::Error + Send + Sync + 'static,
    One: std::future::Future<Output = Result<T, E>>,
    All: std::future::Future<Output = Result<SweepReport<T>, E>>,
{
    let running = format!("running the {function}");
    match id {
        Some(id) => {
            let id = known(cx, &id).await?;
            let outcome = cx.at(one(id.clone()).await, &running)?;
            Ok(SweepReport::of_one(id, outcome))
        }
        None => {
            let spinner = Terminal::detect().spinner(&format!("{function} sweep"));
            let outcomes = all().await;
            spinner.finish_and_clear();
            cx.at(outcomes, &running)
        }
    }
}

/// One line per account the pass corrected or could not reach, then the totals.
fn print_pass(pass: &Pass) {
    let report = &pass.accounts;
    for (account, outcome) in &report.done {
        match outcome {
            ReconcilerOutcome::Corrected { corrections, phase } => {
                println!(
                    "{account}  corrected to {phase}: {}",
                    corrections.join(", ")
                )
            }
            ReconcilerOutcome::Unreachable { reason } => {
                println!("{account}  unreachable: {reason}")
            }
            ReconcilerOutcome::InStep | ReconcilerOutcome::NotEnrolled => {}
        }
    }
    let corrected = report
        .done
        .iter()
        .filter(|(_, o)| matches!(o, ReconcilerOutcome::Corrected { .. }))
        .count();
    print_sweep(&SweepReport::<()> {
        done: Vec::new(),
        failed: report.failed.clone(),
        deferred: report.deferred.clone(),
    });
    println!(
        "{} checked, {corrected} corrected, {} published",
        plural(report.done.len() + report.failed.len(), "record", "records"),
        plural(
            pass.republished,
            "pending notification",
            "pending notifications"
        ),
    );
}

/// One line per account a sweep reached, then what it could not do.
fn print_sweep<T: std::fmt::Debug>(report: &SweepReport<T>) {
    for (account, outcome) in &report.done {
        println!("{account}  {outcome:?}");
    }
    for (account, class, error) in &report.failed {
        println!("{account}  failed ({}): {error}", class.as_str());
    }
    if !report.deferred.is_empty() {
        println!(
            "{} accounts left for the next run (the sweep's time budget ran out)",
            report.deferred.len()
        );
    }
}

/// An enrolled account id, or an error naming the unknown one.
async fn known(cx: &Context, id: &str) -> Result<AccountId> {
    Ok(known_record(cx, id).await?.account_id)
}

/// The record of an enrolled account, or an error naming the unknown one.
pub async fn known_record(cx: &Context, id: &str) -> Result<OnboardingRecord> {
    let id = account(id)?;
    match cx.at(cx.store()?.load(&id).await, "reading the table")? {
        Some(record) => Ok(record),
        None => bail!("account {id} is not enrolled (enroll it with onboardctl enroll)"),
    }
}
