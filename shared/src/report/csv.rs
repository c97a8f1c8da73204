//! The report as CSV for spreadsheets: one row per account, written with the `csv` crate
//! (quoting of commas, quotes and line breaks in messages is its job, not ours).

use chrono::{DateTime, SecondsFormat, Utc};

use super::view::{blocker_label, by_enrollment, AccountView};
use super::ReportError;
use crate::domain::OnboardingRecord;

/// The columns, in order. `organizational_unit` and `tags` are added once a record has a
/// placement (see [`super::view::Placement`]).
pub const COLUMNS: [&str; 13] = [
    "account_id",
    "enrollment",
    "role",
    "transfer_mode",
    "phase",
    "fallback",
    "time_in_phase",
    "phase_since",
    "stalled",
    "blockers",
    "remediation",
    "handshake_id",
    "updated_at",
];

pub fn render(records: &[OnboardingRecord], now: DateTime<Utc>) -> Result<String, ReportError> {
    let enrollments = by_enrollment(records, now);
    let placed = enrollments.iter().any(|e| e.has_placements());
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = COLUMNS.to_vec();
    if placed {
        header.extend(["organizational_unit", "tags"]);
    }
    writer.write_record(&header)?;
    for account in enrollments.iter().flat_map(|e| &e.accounts) {
        writer.write_record(row(account, placed))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ReportError::Csv(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ReportError::Csv(e.to_string()))
}

fn row(account: &AccountView<'_>, placed: bool) -> Vec<String> {
    let record = account.record;
    let remediation: Vec<String> = record
        .blockers
        .iter()
        .map(|b| format!("{}: {}", blocker_label(b), b.remediation))
        .collect();
    let mut cells = vec![
        record.account_id.to_string(),
        record.enrollment.to_string(),
        record.role.as_str().to_owned(),
        record.transfer_mode.as_str().to_owned(),
        record.phase.to_string(),
        record
            .fallback
            .as_ref()
            .map_or(String::new(), |f| f.reason.clone()),
        account.in_phase.clone(),
        timestamp(record.phase_since),
        account.stalled.to_string(),
        record
            .blockers
            .iter()
            .map(|b| b.code.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        remediation.join("\n"),
        record
            .handshake_id()
            .map_or(String::new(), ToString::to_string),
        timestamp(record.updated_at),
    ];
    if placed {
        let (ou, tags) = account.placement_cells(";");
        cells.push(ou);
        cells.push(tags);
    }
    cells
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}
