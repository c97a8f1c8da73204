//! The report as one self-contained HTML page for people who track a move and do not use
//! a terminal: inline CSS and SVG only (no script, no font or image from the network), so
//! it opens from an e-mail attachment or a file share, offline, and prints.
//!
//! Everything that comes from a record goes through [`escape`]: an account's messages and
//! remediation come from AWS errors, and enrollment names from operators.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::view::{
    by_enrollment, plural, predicted_detail, AccountView, EnrollmentView, PREDICTED,
};
use crate::domain::{OnboardingRecord, Phase};

/// Open every account's timeline up to this many accounts per enrollment; beyond, they are
/// folded (`<details>`) so the page stays a page.
const OPEN_TIMELINES_UP_TO: usize = 50;

const STYLE: &str = include_str!("report.css");

pub fn render(records: &[OnboardingRecord], now: DateTime<Utc>) -> String {
    let enrollments = by_enrollment(records, now);
    let mut out = String::with_capacity(4096 + records.len() * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Onboarding report</title><style>{STYLE}</style></head><body>\
         <header><h1>Onboarding report</h1><p class=\"muted\">Generated {} UTC · {} · {}</p></header>",
        now.format("%Y-%m-%d %H:%M"),
        plural(enrollments.len(), "enrollment", "enrollments"),
        plural(records.len(), "account", "accounts"),
    );
    if enrollments.is_empty() {
        out.push_str("<p>No account is enrolled.</p>");
    }
    for enrollment in &enrollments {
        enrollment_section(&mut out, enrollment);
    }
    out.push_str("</body></html>\n");
    out
}

fn enrollment_section(out: &mut String, enrollment: &EnrollmentView<'_>) {
    let _ = write!(
        out,
        "<section class=\"enrollment\"><h2>{}</h2><p class=\"summary\">{} of {} {}</p>",
        escape(&enrollment.name),
        enrollment.joined(),
        plural(enrollment.total(), "account", "accounts"),
        enrollment.words().arrived,
    );
    progress_bar(out, enrollment);
    attention(out, enrollment);
    accounts_table(out, enrollment);
    timelines(out, enrollment);
    out.push_str("</section>");
}

/// A stacked bar, one segment per phase, and the counts beside their colours.
fn progress_bar(out: &mut String, enrollment: &EnrollmentView<'_>) {
    let total = enrollment.total().max(1) as f64;
    out.push_str(
        "<svg class=\"bar\" viewBox=\"0 0 1000 24\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"progress per phase\">",
    );
    let mut x = 0.0;
    let phases = enrollment.phases();
    for &phase in &phases {
        let width = enrollment.in_phase(phase) as f64 / total * 1000.0;
        if width > 0.0 {
            let _ = write!(
                out,
                "<rect x=\"{x:.2}\" y=\"0\" width=\"{width:.2}\" height=\"24\" class=\"{}\"/>",
                phase_class(phase)
            );
        }
        x += width;
    }
    out.push_str("</svg><ul class=\"legend\">");
    for phase in phases {
        let _ = write!(
            out,
            "<li><svg width=\"12\" height=\"12\"><rect width=\"12\" height=\"12\" class=\"{}\"/></svg> {}: <b>{}</b></li>",
            phase_class(phase),
            phase.label(),
            enrollment.in_phase(phase)
        );
    }
    out.push_str("</ul>");
}

fn phase_class(phase: Phase) -> &'static str {
    match phase {
        Phase::LeavingOrganization => "p-leaving",
        Phase::DeletingOrganization => "p-deleting",
        Phase::AwaitingInvitation => "p-awaiting",
        Phase::Invited => "p-invited",
        Phase::Joined | Phase::Transferred => "p-joined",
        Phase::AwaitingTransfer => "p-awaiting",
        Phase::TransferInvited => "p-invited",
    }
}

/// Stalled and blocked accounts first, each with what a person must do.
fn attention(out: &mut String, enrollment: &EnrollmentView<'_>) {
    let accounts: Vec<&AccountView<'_>> = enrollment.attention().collect();
    if accounts.is_empty() {
        out.push_str(
            "<p class=\"ok\">Nothing needs a person: no account is blocked or stalled.</p>",
        );
        return;
    }
    let _ = write!(
        out,
        "<h3>Needs attention ({})</h3><ul class=\"attention\">",
        accounts.len()
    );
    for account in accounts {
        let id = escape(account.record.account_id.as_str());
        if account.stalled {
            let _ = write!(
                out,
                "<li><b>{id}</b> <span class=\"tag stalled\">stalled</span> no progress for {} in {}</li>",
                escape(&account.in_phase),
                escape(&account.phase)
            );
        }
        for blocker in account.blockers() {
            // A predicted blocker is the preflight's forecast, not a refusal AWS returned.
            let (class, predicted) = if blocker.is_predicted() {
                (
                    "tag predicted",
                    format!(" <span class=\"tag predicted-note\">{PREDICTED}</span>"),
                )
            } else {
                ("tag blocked", String::new())
            };
            let seen = predicted_detail(blocker).map_or(String::new(), |detail| {
                format!(
                    " <span class=\"muted\">(preflight saw: {})</span>",
                    escape(detail)
                )
            });
            let _ = write!(
                out,
                "<li><b>{id}</b> <span class=\"{class}\">{}</span>{predicted} {}<div class=\"fix\"><b>Fix:</b> {}{seen}</div></li>",
                escape(&blocker.code.to_string()),
                escape(&blocker.message),
                escape(&blocker.remediation)
            );
        }
    }
    out.push_str("</ul>");
}

fn accounts_table(out: &mut String, enrollment: &EnrollmentView<'_>) {
    let placed = enrollment.has_placements();
    out.push_str(
        "<h3>Accounts</h3><table><thead><tr><th>Account</th><th>Role</th><th>Phase</th>\
         <th>In phase</th><th>Blockers</th>",
    );
    if placed {
        out.push_str("<th>OU</th><th>Tags</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for account in &enrollment.accounts {
        account_row(out, account, placed);
    }
    out.push_str("</tbody></table>");
}

fn account_row(out: &mut String, account: &AccountView<'_>, placed: bool) {
    let record = account.record;
    let class = if account.needs_attention() {
        " class=\"attention-row\""
    } else {
        ""
    };
    let _ = write!(
        out,
        "<tr{class}><td class=\"id\">{}</td><td>{}</td><td><span class=\"dot {}\"></span>{}</td><td>{}{}</td><td>{}</td>",
        escape(record.account_id.as_str()),
        escape(record.role.as_str()),
        phase_class(record.phase),
        escape(&account.phase),
        escape(&account.in_phase),
        if account.stalled { " <span class=\"tag stalled\">stalled</span>" } else { "" },
        escape(&account.blocker_codes()),
    );
    if placed {
        let (ou, tags) = account.placement_cells(", ");
        let _ = write!(out, "<td>{}</td><td>{}</td>", escape(&ou), escape(&tags));
    }
    out.push_str("</tr>");
}

/// Each account's history, oldest first, as the tracker recorded it.
fn timelines(out: &mut String, enrollment: &EnrollmentView<'_>) {
    let open = if enrollment.total() <= OPEN_TIMELINES_UP_TO {
        " open"
    } else {
        ""
    };
    out.push_str("<h3>Timelines</h3><div class=\"timelines\">");
    for account in &enrollment.accounts {
        let record = account.record;
        let _ = write!(
            out,
            "<details{open}><summary><b>{}</b> {} · {}</summary><ol class=\"timeline\">",
            escape(record.account_id.as_str()),
            escape(&account.phase),
            plural(record.history.len(), "event", "events")
        );
        let _ = write!(
            out,
            "<li><time>{}</time> enrolled ({})</li>",
            record.created_at.format("%Y-%m-%d %H:%M:%S"),
            escape(record.role.as_str())
        );
        for (index, entry) in record.history.iter().enumerate() {
            if index == 1 && record.history_trimmed > 0 {
                let trimmed = usize::try_from(record.history_trimmed).unwrap_or(usize::MAX);
                let _ = write!(
                    out,
                    "<li class=\"muted\">… {} trimmed</li>",
                    plural(trimmed, "earlier event", "earlier events")
                );
            }
            let _ = write!(
                out,
                "<li><time>{}</time> <span class=\"dot {}\"></span>{} <span class=\"muted\">{}</span></li>",
                entry.applied_at.format("%Y-%m-%d %H:%M:%S"),
                phase_class(entry.phase),
                escape(entry.phase.label()),
                escape(&entry.label())
            );
        }
        out.push_str("</ol></details>");
    }
    out.push_str("</div>");
}

/// Text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
