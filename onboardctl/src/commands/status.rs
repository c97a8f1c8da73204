//! `onboardctl status`: a summary per enrollment and phase first (from the enrollments'
//! counters), then the accounts that match the filters with their blockers and
//! remediation, and for an account waiting for an invitation slot its place in line
//! (computed from the awaiting records and the inviter's cursor, never stored). `--json` streams: records are written as the store's pages arrive, as one
//! JSON array with a record per line, so 10,000 accounts are never held in memory.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use chrono::Utc;
use onboarding::domain::{
    EnrollmentCounts, EnrollmentName, OnboardingRecord, Phase, ProgressWords,
};
use onboarding::ports::CountReader;
use onboarding::report::line::InvitationLine;
use onboarding::report::view::{placed_cell, plural, remediation_lines, AccountView};

use super::for_each_record;
use crate::context::Context;
use crate::terminal::{self, out, Terminal};

#[derive(clap::Args)]
pub struct Args {
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

pub async fn run(cx: &Context, args: Args) -> Result<ExitCode> {
    let filter = Filter {
        enrollment: args
            .enrollment
            .as_deref()
            .map(EnrollmentName::parse)
            .transpose()?,
        phase: args.phase,
        blocked: args.blocked,
    };
    if args.json {
        json(cx, &filter).await?;
    } else {
        table(cx, &filter, Terminal::detect()).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Which accounts `status` shows.
#[derive(Debug, Clone, Default)]
struct Filter {
    enrollment: Option<EnrollmentName>,
    phase: Option<Phase>,
    blocked: bool,
}

impl Filter {
    fn admits(&self, record: &OnboardingRecord) -> bool {
        self.phase.is_none_or(|p| record.phase == p)
            && (!self.blocked || !record.blockers.is_empty())
    }
}

async fn json(cx: &Context, filter: &Filter) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut first = true;
    out.write_all(b"[")?;
    for_each_record(cx, filter.enrollment.as_ref(), |record| {
        if filter.admits(&record) {
            out.write_all(if first { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut out, &record)?;
            first = false;
        }
        Ok(())
    })
    .await?;
    out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
    out.flush()?;
    Ok(())
}

async fn table(cx: &Context, filter: &Filter, terminal: Terminal) -> Result<()> {
    // Each enrollment with the words of its journey (its records share one mode).
    let mut enrollments: BTreeMap<EnrollmentName, ProgressWords> = BTreeMap::new();
    let mut shown = Vec::new();
    for_each_record(cx, filter.enrollment.as_ref(), |record| {
        enrollments
            .entry(record.enrollment.clone())
            .or_insert_with(|| record.journey().words());
        if filter.admits(&record) {
            shown.push(record);
        }
        Ok(())
    })
    .await?;
    if enrollments.is_empty() {
        out!("no account is enrolled");
        return Ok(());
    }
    let store = cx.store()?;
    let mut counts = Vec::new();
    for name in enrollments.keys() {
        let count = cx.at(store.load_counts(name).await, "reading the counters")?;
        counts.push((name.clone(), count));
    }
    out!("{}\n", summary(&counts, &shown, terminal));
    shown.sort_by(|a, b| (&a.enrollment, &a.account_id).cmp(&(&b.enrollment, &b.account_id)));
    if shown.is_empty() {
        out!("no account matches\n");
    } else {
        out!("{}\n", accounts(&shown, terminal));
        let line = cx.at(InvitationLine::read(&store).await, "reading the line")?;
        print_remediation(&shown, &line);
    }
    for (name, count) in &counts {
        let words = enrollments[name];
        let progress = words.progress(count.moved(), count.accounts(), count.placed());
        out!("{name}: {progress}");
    }
    Ok(())
}

/// One row per enrollment: accounts, per phase, blocked (of the shown records).
fn summary(
    counts: &[(EnrollmentName, EnrollmentCounts)],
    shown: &[OnboardingRecord],
    terminal: Terminal,
) -> String {
    let mut header = vec!["ENROLLMENT", "ACCOUNTS"];
    header.extend(Phase::ALL.iter().map(|p| p.as_str()));
    let mut table = terminal.table(&header);
    for (name, count) in counts {
        let mut row = vec![name.to_string(), count.accounts().to_string()];
        row.extend(Phase::ALL.iter().map(|p| count.in_phase(*p).to_string()));
        table.add_row(row);
    }
    let blocked = shown.iter().filter(|r| !r.blockers.is_empty()).count();
    let predicted_only = shown
        .iter()
        .filter(|r| !r.blockers.is_empty() && r.actual_blockers().next().is_none())
        .count();
    let mut out = terminal::render(&table);
    if blocked > 0 {
        out.push_str(&format!(
            "\n\n{} blocked (below, with what to do)",
            plural(blocked, "account is", "accounts are")
        ));
        if predicted_only > 0 {
            out.push_str(&format!(
                "; {predicted_only} of them only by what the preflight predicts"
            ));
        }
    }
    out
}

/// The accounts table (also `show`'s first lines).
pub fn accounts(records: &[OnboardingRecord], terminal: Terminal) -> String {
    let now = Utc::now();
    let mut table = terminal.table(&onboarding::report::STATUS_COLUMNS);
    for record in records {
        let view = AccountView::from_record(record, now);
        table.add_row(vec![
            comfy_table::Cell::new(record.account_id.as_str()),
            comfy_table::Cell::new(record.enrollment.as_str()),
            comfy_table::Cell::new(record.role.as_str()),
            terminal.phase_cell(record.phase, view.phase.clone()),
            comfy_table::Cell::new(&view.in_phase),
            comfy_table::Cell::new(placed_cell(record)),
            terminal.blockers_cell(
                view.blocker_codes(),
                record.blockers.iter().all(|b| b.is_predicted()),
            ),
        ]);
    }
    terminal::render(&table)
}

/// Each blocker's message and what to do, under "Blocked:"; a blocker the preflight
/// predicted is marked `(predicted)`, with what it saw; a wait for an invitation slot
/// says the account's place in `line`.
pub fn print_remediation(records: &[OnboardingRecord], line: &InvitationLine) {
    if let Some(text) = remediation(records, line) {
        out!("{text}\n");
    }
}

fn remediation(records: &[OnboardingRecord], line: &InvitationLine) -> Option<String> {
    let lines = remediation_lines(records, line);
    (!lines.is_empty()).then(|| format!("Blocked:\n{}", lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use onboarding::domain::{
        AccountId, EnrollmentName, OnboardingRecord, Phase, Role, TransferMode, WaitingReason,
    };
    use onboarding::report::line::InvitationLine;

    fn waiting(account: &str) -> OnboardingRecord {
        let mut record = OnboardingRecord::enroll(
            AccountId::parse(account).unwrap(),
            EnrollmentName::parse("acme").unwrap(),
            TransferMode::Standalone,
            Role::Standalone,
            0,
            Utc::now(),
        );
        assert_eq!(record.phase, Phase::AwaitingInvitation);
        record.blockers = vec![WaitingReason::InvitationSlot.blocker(Utc::now())];
        record
    }

    #[test]
    fn status_shows_a_waiting_accounts_place_in_line_computed_from_the_line() {
        let records: Vec<_> = ["333333333333", "111111111111", "222222222222"]
            .into_iter()
            .map(waiting)
            .collect();
        // The inviter's last sweep stopped after 111…: 222… is served first, then 333…, 111….
        let cursor = AccountId::parse("111111111111").unwrap();
        let ids = records.iter().map(|r| r.account_id.clone()).collect();
        let line = InvitationLine::new(ids, Some(&cursor));
        let text = super::remediation(&records, &line).unwrap();
        let of = |account: &str| {
            text.lines()
                .find(|l| l.contains(account))
                .unwrap()
                .to_owned()
        };
        assert!(
            of("222222222222").ends_with("Now: place 1 of 3 in line."),
            "{text}"
        );
        assert!(
            of("333333333333").ends_with("Now: place 2 of 3 in line."),
            "{text}"
        );
        assert!(
            of("111111111111").ends_with("Now: place 3 of 3 in line."),
            "{text}"
        );
        assert!(
            !serde_json::to_string(&records[0])
                .unwrap()
                .contains(" of 3 in line"),
            "the place is computed, never stored"
        );
    }
}
