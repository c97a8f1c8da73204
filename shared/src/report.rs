//! Human-readable reports of onboarding records: the status table with remediation and
//! progress per enrollment, shared by `onboardctl status` and the demo; and the report for
//! people who track a move (`onboardctl report`): one HTML page ([`html`]), CSV for
//! spreadsheets ([`csv`]) and Markdown for a ticket ([`markdown`]), all from the same
//! per-account view ([`view`]).

pub mod csv;
pub mod html;
pub mod line;
pub mod markdown;
#[cfg(test)]
mod tests;
pub mod view;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::{OnboardingRecord, ProgressWords};

/// The formats of `onboardctl report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
    Markdown,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "html" => Ok(Format::Html),
            "csv" => Ok(Format::Csv),
            "md" | "markdown" => Ok(Format::Markdown),
            other => Err(format!("unknown format {other:?} (html, csv or md)")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing CSV: {0}")]
    Csv(String),
}

impl From<::csv::Error> for ReportError {
    fn from(error: ::csv::Error) -> Self {
        ReportError::Csv(error.to_string())
    }
}

/// The whole report of `records` in `format`, as of `now`.
pub fn render(
    format: Format,
    records: &[OnboardingRecord],
    now: DateTime<Utc>,
) -> Result<String, ReportError> {
    match format {
        Format::Html => Ok(html::render(records, now)),
        Format::Csv => csv::render(records, now),
        Format::Markdown => Ok(markdown::render(records, now)),
    }
}

pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        let mut out = vec![line(&self.header)];
        out.extend(self.rows.iter().map(|r| line(r)));
        out.join("\n")
    }
}

/// "3d 4h", "12m", "40s": how long a record has been in its phase.
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - since).num_seconds().max(0);
    match seconds {
        s if s >= 86_400 => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
        s if s >= 3600 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The status table's columns, one row per account (here and in `onboardctl status`).
pub const STATUS_COLUMNS: [&str; 7] = [
    "ACCOUNT",
    "ENROLLMENT",
    "ROLE",
    "PHASE",
    "IN PHASE",
    "PLACED",
    "BLOCKERS",
];

/// One row per account: account, enrollment, role, phase, age in phase, then each blocker
/// with its remediation on lines of its own (a wait with its place in line among
/// `records`).
pub fn status_table(records: &[OnboardingRecord], now: DateTime<Utc>) -> String {
    let mut table = Table::new(&STATUS_COLUMNS);
    for record in records {
        let blockers = if record.blockers.is_empty() {
            "-".to_owned()
        } else {
            record
                .blockers
                .iter()
                .map(view::blocker_label)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut phase = record.phase.to_string();
        if record.fallback.is_some() {
            phase.push_str(" (fallback)");
        }
        table.row(vec![
            record.account_id.to_string(),
            record.enrollment.to_string(),
            record.role.as_str().to_owned(),
            phase,
            age(record.phase_since, now),
            view::placed_cell(record),
            blockers,
        ]);
    }
    let mut out = table.render();
    let remediations = view::remediation_lines(records, &line::InvitationLine::of_records(records));
    if !remediations.is_empty() {
        out.push_str("\n\nBlocked:\n");
        out.push_str(&remediations.join("\n"));
    }
    out
}

/// "acme: 3 of 5 joined, 2 placed" per enrollment, in its journey's words ("initech: 1 of
/// 1 billing transferred": a billing transfer places nothing).
pub fn progress(records: &[OnboardingRecord]) -> Vec<String> {
    let mut by_enrollment: BTreeMap<&str, (usize, usize, usize, ProgressWords)> = BTreeMap::new();
    for record in records {
        let entry = by_enrollment.entry(record.enrollment.as_str()).or_insert((
            0,
            0,
            0,
            record.journey().words(),
        ));
        entry.2 += 1;
        entry.0 += usize::from(record.phase.is_terminal());
        entry.1 += usize::from(record.placed.is_some());
    }
    by_enrollment
        .into_iter()
        .map(|(name, (arrived, placed, total, words))| {
            format!("{name}: {}", words.progress(arrived, total, placed))
        })
        .collect()
}
