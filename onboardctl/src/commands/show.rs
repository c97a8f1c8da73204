//! `onboardctl show ACCOUNT`: one account's record with its history, as a person reads it
//! (its row, blockers and remediation, billing transfer, placement, preflight), or as
//! JSON with `--json`.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::Utc;
use onboarding::domain::{wanted_tags, OnboardingRecord, WaitingReason};
use onboarding::ports::RecordReader;
use onboarding::report::line::InvitationLine;
use onboarding::report::view::plural;

use super::{account, status};
use crate::context::Context;
use crate::terminal::{out, Terminal};

#[derive(clap::Args)]
pub struct Args {
    account: String,
    #[arg(long)]
    json: bool,
}

pub async fn run(cx: &Context, args: Args) -> Result<ExitCode> {
    let id = account(&args.account)?;
    let record = cx
        .at(cx.store()?.load(&id).await, "reading the table")?
        .with_context(|| format!("account {id} is not enrolled"))?;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&record)?);
        return Ok(ExitCode::SUCCESS);
    }
    // The place in line is read only for a waiting account (it lists every awaiting one).
    let line = if record
        .blockers
        .iter()
        .any(|b| WaitingReason::of_blocker(b).is_some())
    {
        cx.at(InvitationLine::read(&cx.store()?).await, "reading the line")?
    } else {
        InvitationLine::default()
    };
    print_record(&record, &line);
    Ok(ExitCode::SUCCESS)
}

fn print_record(record: &OnboardingRecord, line: &InvitationLine) {
    let one = std::slice::from_ref(record);
    out!("{}\n", status::accounts(one, Terminal::detect()));
    status::print_remediation(one, line);
    out!(
        "transfer mode: {}   version: {}   handshake: {}",
        record.transfer_mode.as_str(),
        record.version,
        record
            .handshake_id()
            .map_or("-".to_owned(), ToString::to_string)
    );
    if let Some(billing) = record.billing() {
        print_billing(record, billing);
    }
    if let Some(fallback) = &record.fallback {
        out!(
            "fell back to the standalone path at {}: {}",
            fallback.at,
            fallback.reason
        );
    }
    print_placement(record);
    print_preflight(record);
    out!("\nhistory:");
    for (index, entry) in record.history.iter().enumerate() {
        if index == 1 && record.history_trimmed > 0 {
            out!(
                "  ({} trimmed)",
                plural(
                    usize::try_from(record.history_trimmed).unwrap_or(usize::MAX),
                    "earlier entry",
                    "earlier entries"
                )
            );
        }
        out!(
            "  {}  {:<22} {}  ({}){}",
            entry.applied_at.format("%Y-%m-%d %H:%M:%S"),
            entry.phase,
            entry.summary,
            entry.event_id,
            if entry.replayed { "  replayed" } else { "" }
        );
    }
}

/// Billing mode: the transfer asked for and the one accepted. The members have no record:
/// they stay in the customer's organization, and the transfer covers them all.
fn print_billing(record: &OnboardingRecord, billing: &onboarding::domain::billing::BillingTerms) {
    let day = |at: Option<chrono::DateTime<Utc>>| at.map(|at| at.format("%Y-%m-%d").to_string());
    out!(
        "billing transfer of organization {} (its management account and every member account; members need no record)",
        record
            .source_organization
            .as_ref()
            .map_or("(not read yet)".to_owned(), ToString::to_string)
    );
    out!(
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
    out!(
        "ou: {}   tags: {}",
        record
            .ou
            .as_ref()
            .map_or("-".to_owned(), ToString::to_string),
        tags.join(", ")
    );
    match &record.placed {
        Some(placed) => out!(
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
        None => out!("placed: not yet"),
    }
}

/// What the last preflight found beyond its predicted blockers (those are in the table
/// and under "Blocked:", marked `(predicted)`): when, the checks to do by hand, and the
/// policies that trust the old organization the record kept.
fn print_preflight(record: &OnboardingRecord) {
    let Some(summary) = &record.preflight else {
        // Said only while a preflight can still predict something for the account.
        if onboarding::preflight::applies(record) {
            out!(
                "preflight: not run yet (onboardctl preflight --account {})",
                record.account_id
            );
        }
        return;
    };
    let predicted = record.blockers.iter().filter(|b| b.is_predicted()).count();
    out!(
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
        out!(
            "  {}  {} = {}",
            policy.resource,
            policy.condition_key,
            policy.value
        );
    }
    let untold = summary
        .policies_total
        .saturating_sub(summary.policies.len());
    if untold > 0 {
        out!(
            "  and {untold} more: onboardctl preflight --account {} lists every one",
            record.account_id
        );
    }
    if summary.checks > 0 {
        out!(
            "  the checks, and all it found: onboardctl preflight --account {}",
            record.account_id
        );
    }
}
