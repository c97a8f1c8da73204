//! The report as Markdown, for a ticket or a wiki page: per enrollment its progress, the
//! accounts that need a person with their remediation, and a table of every account.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::view::{
    by_enrollment, plural, predicted_detail, AccountView, EnrollmentView, PREDICTED,
};
use crate::domain::OnboardingRecord;

pub fn render(records: &[OnboardingRecord], now: DateTime<Utc>) -> String {
    let mut out = format!(
        "# Onboarding report\n\nGenerated {} UTC.\n",
        now.format("%Y-%m-%d %H:%M")
    );
    for enrollment in by_enrollment(records, now) {
        enrollment_section(&mut out, &enrollment);
    }
    out
}

fn enrollment_section(out: &mut String, enrollment: &EnrollmentView<'_>) {
    let _ = writeln!(
        out,
        "\n## {}\n\n{} of {} {}.",
        cell(&enrollment.name),
        enrollment.joined(),
        plural(enrollment.total(), "account", "accounts"),
        enrollment.words().arrived,
    );
    let counts: Vec<String> = enrollment
        .phases()
        .iter()
        .map(|p| format!("{p}: {}", enrollment.in_phase(*p)))
        .collect();
    let _ = writeln!(out, "{}\n", counts.join(" · "));
    let attention: Vec<&AccountView<'_>> = enrollment.attention().collect();
    if !attention.is_empty() {
        let _ = writeln!(out, "### Needs attention\n");
        for account in attention {
            attention_item(out, account);
        }
        out.push('\n');
    }
    accounts_table(out, enrollment);
}

fn attention_item(out: &mut String, account: &AccountView<'_>) {
    let id = account.record.account_id.as_str();
    if account.stalled {
        let _ = writeln!(
            out,
            "- **{id}** stalled: no progress for {} in {}",
            account.in_phase, account.phase
        );
    }
    for blocker in account.blockers() {
        let predicted = if blocker.is_predicted() {
            format!(" ({PREDICTED})")
        } else {
            String::new()
        };
        let seen = predicted_detail(blocker).map_or(String::new(), |detail| {
            format!(" (preflight saw: {})", cell(detail))
        });
        let _ = writeln!(
            out,
            "- **{id}** `{}`{predicted}: {} **Fix:** {}{seen}",
            blocker.code,
            cell(&blocker.message),
            cell(&blocker.remediation)
        );
    }
}

fn accounts_table(out: &mut String, enrollment: &EnrollmentView<'_>) {
    let placed = enrollment.has_placements();
    let mut header = "| account | role | phase | in phase | blockers |".to_owned();
    let mut rule = "|---|---|---|---|---|".to_owned();
    if placed {
        header.push_str(" OU | tags |");
        rule.push_str("---|---|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for account in &enrollment.accounts {
        let record = account.record;
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} |",
            record.account_id,
            record.role.as_str(),
            cell(&account.phase),
            account.in_phase,
            account.blocker_codes()
        );
        if placed {
            let (ou, tags) = account.placement_cells(", ");
            let _ = write!(out, " {} | {} |", cell(&ou), cell(&tags));
        }
        out.push('\n');
    }
}

/// Text from a record inside a table cell: pipes and line breaks would end the cell, and
/// angle brackets would be taken as HTML by most renderers.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}
