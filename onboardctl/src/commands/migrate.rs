//! `onboardctl migrate`: brings every item an earlier release wrote up to date: the step
//! each reconciler pass takes ([`onboarding::upgrade`]), from the table's first item, page
//! by page (memory holds one page) until the whole table was seen; then what it upgraded.
//! Idempotent: a second run upgrades nothing. Enrollments with records enrolled less than
//! a minute ago are left to the next reconciler pass (or run): the rebuild waits for them.

use std::process::ExitCode;

use anyhow::Result;
use onboarding::ports::UpgradeReport;
use onboarding::report::view::plural;
use onboarding::upgrade;

use crate::context::Context;
use crate::terminal::out;

#[derive(clap::Args)]
pub struct Args {
    /// Items read per page (one DynamoDB Scan page, each older item written on its own).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
    page: u16,
}

pub async fn run(cx: &Context, args: Args) -> Result<ExitCode> {
    let recorder = cx.wiring()?.recorder();
    let mut total = UpgradeReport::default();
    let mut restart = true;
    loop {
        let step = cx.at(
            upgrade::step(&recorder, usize::from(args.page), restart).await,
            "upgrading the table's items",
        )?;
        restart = false;
        // Nothing left to read: what remains waits for its counters to settle.
        let only_waiting = step.examined == 0 && !step.finished;
        add(&mut total, step);
        if total.finished || only_waiting {
            break;
        }
    }
    for line in summary(&total) {
        out!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn add(total: &mut UpgradeReport, step: UpgradeReport) {
    total.examined += step.examined;
    total.records += step.records;
    total.awaiting_placement += step.awaiting_placement;
    total.outbox += step.outbox;
    total.cursors += step.cursors;
    total.rebuilt.extend(step.rebuilt);
    total.deferred = step.deferred;
    total.unreadable += step.unreadable;
    total.finished = step.finished;
}

/// What a person reads: what was looked at, what changed, what waits.
fn summary(total: &UpgradeReport) -> Vec<String> {
    let mut lines = vec![format!(
        "examined {}; upgraded {}",
        plural(total.examined, "item", "items"),
        plural(total.upgraded(), "item", "items")
    )];
    if total.records > 0 {
        lines.push(format!(
            "  {} ({} joined and now awaiting placement)",
            plural(total.records, "record", "records"),
            total.awaiting_placement
        ));
    }
    if total.outbox > 0 {
        lines.push(format!(
            "  {}",
            plural(total.outbox, "outbox item", "outbox items")
        ));
    }
    if total.cursors > 0 {
        lines.push(format!(
            "  {}",
            plural(total.cursors, "sweep cursor", "sweep cursors")
        ));
    }
    if !total.rebuilt.is_empty() {
        let names: Vec<String> = total.rebuilt.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "  counters rebuilt from the records: {}",
            names.join(", ")
        ));
    }
    if !total.deferred.is_empty() {
        let names: Vec<String> = total.deferred.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "waiting: {} enrolled accounts less than a minute ago; the next reconciler pass (or onboardctl migrate) rebuilds their counters",
            names.join(", ")
        ));
    }
    if total.unreadable > 0 {
        lines.push(format!(
            "left as they are: {} this release cannot read (RUST_LOG=warn names them)",
            plural(total.unreadable, "item", "items")
        ));
    }
    if total.finished {
        lines.push("every item is up to date".to_owned());
    }
    lines
}

#[cfg(test)]
mod tests {
    use onboarding::domain::EnrollmentName;

    use super::*;

    #[test]
    fn the_summary_names_what_changed_and_what_waits() {
        let report = UpgradeReport {
            examined: 12,
            records: 3,
            awaiting_placement: 2,
            outbox: 1,
            rebuilt: vec![EnrollmentName::parse("acme").unwrap()],
            deferred: vec![EnrollmentName::parse("globex").unwrap()],
            ..UpgradeReport::default()
        };
        let lines = summary(&report);
        assert_eq!(lines[0], "examined 12 items; upgraded 5 items");
        assert!(lines.contains(&"  3 records (2 joined and now awaiting placement)".to_owned()));
        assert!(lines
            .iter()
            .any(|l| l.contains("rebuilt from the records: acme")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("waiting: globex enrolled")));
        assert!(!lines.iter().any(|l| l.contains("up to date")));
        let done = summary(&UpgradeReport {
            finished: true,
            ..UpgradeReport::default()
        });
        assert_eq!(
            done,
            [
                "examined 0 items; upgraded 0 items",
                "every item is up to date"
            ]
        );
    }
}
