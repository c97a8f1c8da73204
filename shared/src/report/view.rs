//! What every report format shows about an account, computed once from its record: the
//! phase, how long it has been there, whether it is stalled or blocked, and (once records
//! carry them) where it was placed in the target organization.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::age;
use super::line::InvitationLine;
use crate::domain::{Blocker, Journey, OnboardingRecord, OuRef, Phase, ProgressWords};

/// No progress for this long, while not `Joined`, makes an account "stalled" in reports:
/// the reconciler's default for publishing `Onboarding Stalled`.
pub const STALLED_AFTER: Duration = crate::domain::reconcile::STALL_AFTER;

/// Where an account was placed once it joined ([`AccountView::from_record`] fills it for a
/// placed record): every format shows the columns once an enrollment has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub organizational_unit: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl AccountView<'_> {
    /// The placement columns as text: the OU (empty when none) and the tags as
    /// `key=value` joined by `separator`.
    pub fn placement_cells(&self, separator: &str) -> (String, String) {
        let placement = self.placement.clone().unwrap_or_default();
        let tags: Vec<String> = placement
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        (
            placement.organizational_unit.unwrap_or_default(),
            tags.join(separator),
        )
    }
}

/// One account as the reports show it.
#[derive(Debug, Clone)]
pub struct AccountView<'r> {
    pub record: &'r OnboardingRecord,
    pub phase: String,
    pub in_phase: String,
    pub stalled: bool,
    pub placement: Option<Placement>,
}

impl<'r> AccountView<'r> {
    pub fn from_record(record: &'r OnboardingRecord, now: DateTime<Utc>) -> Self {
        let mut phase = record.phase.to_string();
        if record.fallback.is_some() {
            phase.push_str(" (fallback)");
        }
        Self {
            record,
            phase,
            in_phase: age(record.phase_since, now),
            stalled: is_stalled(record, now),
            placement: placement_of(record),
        }
    }

    pub fn blockers(&self) -> &[Blocker] {
        &self.record.blockers
    }

    pub fn is_blocked(&self) -> bool {
        !self.record.blockers.is_empty()
    }

    /// Needs a person: blocked, or no progress for [`STALLED_AFTER`].
    pub fn needs_attention(&self) -> bool {
        self.stalled || self.is_blocked()
    }

    /// The blocker codes joined by ", ", or "-"; a blocker the preflight predicted is
    /// marked (`CONTACT_INFO_MISSING (predicted)`), see [`blocker_label`].
    pub fn blocker_codes(&self) -> String {
        if self.record.blockers.is_empty() {
            return "-".to_owned();
        }
        let codes: Vec<String> = self.record.blockers.iter().map(blocker_label).collect();
        codes.join(", ")
    }
}

/// What marks a blocker the preflight predicted, as opposed to a refusal AWS returned.
pub const PREDICTED: &str = "predicted";

/// A blocker's code as every table shows it: `PAYMENT_METHOD_MISSING` for a refusal AWS
/// returned (or a function met), `CONTACT_INFO_MISSING (predicted)` for one the preflight
/// predicted ([`Blocker::is_predicted`]).
pub fn blocker_label(blocker: &Blocker) -> String {
    if blocker.is_predicted() {
        format!("{} ({PREDICTED})", blocker.code)
    } else {
        blocker.code.to_string()
    }
}

/// What the preflight saw for a predicted blocker (the date an age clears, the
/// organization a mismatch is in); `None` for any other blocker.
pub fn predicted_detail(blocker: &Blocker) -> Option<&str> {
    blocker
        .is_predicted()
        .then_some(blocker.raw_message.as_deref())
        .flatten()
        .filter(|detail| !detail.is_empty())
}

/// One line per blocker, as under "Blocked:" in `onboardctl status` and `show`: the
/// account, the code (marked when predicted), the message, what to do, for a predicted
/// blocker what the preflight saw, and for a wait for an invitation slot the account's
/// place in `line` (computed, never stored).
pub fn remediation_lines(records: &[OnboardingRecord], line: &InvitationLine) -> Vec<String> {
    records
        .iter()
        .flat_map(|r| {
            r.blockers.iter().map(move |b| {
                let mut line_text = format!(
                    "  {} {}: {} Fix: {}",
                    r.account_id,
                    blocker_label(b),
                    b.message,
                    b.remediation
                );
                if let Some(detail) = predicted_detail(b) {
                    line_text.push_str(&format!(" (preflight saw: {detail})"));
                }
                if let Some(place) = line.place_of_wait(r, b) {
                    line_text.push_str(&format!(" Now: {place}."));
                }
                line_text
            })
        })
        .collect()
}

/// The OU as asked with the id it resolved to (`Customers/Acme (ou-…)`), and the tags.
fn placement_of(record: &OnboardingRecord) -> Option<Placement> {
    let placed = record.placed.as_ref()?;
    let organizational_unit = match (&record.ou, &placed.placed_in) {
        (Some(OuRef::Path(names)), Some(id)) => Some(format!("{} ({id})", names.join("/"))),
        (_, Some(id)) => Some(id.clone()),
        (_, None) => None,
    };
    Some(Placement {
        organizational_unit,
        tags: record.tags.clone(),
    })
}

/// Where a placed account is, as tables show it: its OU (`Customers/Acme (ou-…)`), `yes`
/// when nothing was asked, `-` while not placed.
pub fn placed_cell(record: &OnboardingRecord) -> String {
    match (&record.placed, placement_of(record)) {
        (None, _) => "-".to_owned(),
        (
            Some(_),
            Some(Placement {
                organizational_unit: Some(ou),
                ..
            }),
        ) => ou,
        (Some(_), _) => "yes".to_owned(),
    }
}

pub fn is_stalled(record: &OnboardingRecord, now: DateTime<Utc>) -> bool {
    !record.phase.is_terminal() && now - record.phase_since > STALLED_AFTER
}

/// One enrollment's accounts, attention first (stalled and blocked), then by account id.
#[derive(Debug, Clone)]
pub struct EnrollmentView<'r> {
    pub name: String,
    pub accounts: Vec<AccountView<'r>>,
}

impl EnrollmentView<'_> {
    pub fn total(&self) -> usize {
        self.accounts.len()
    }

    pub fn in_phase(&self, phase: Phase) -> usize {
        self.accounts
            .iter()
            .filter(|a| a.record.phase == phase)
            .count()
    }

    /// At the end of their journey: joined, or (billing mode) transferred.
    pub fn joined(&self) -> usize {
        self.accounts
            .iter()
            .filter(|a| a.record.phase.is_terminal())
            .count()
    }

    /// How its journey names progress ("joined", "billing transferred"): an enrollment has
    /// one transfer mode, so its first account's journey speaks for all.
    pub fn words(&self) -> ProgressWords {
        self.accounts
            .first()
            .map_or(crate::domain::journey::DIRECT.words(), |a| {
                a.record.journey().words()
            })
    }

    /// The phases its accounts' journeys pass through, in [`Phase::ALL`] order (a legend
    /// lists these, not every mode's).
    pub fn phases(&self) -> Vec<Phase> {
        Phase::ALL
            .into_iter()
            .filter(|p| {
                self.accounts
                    .iter()
                    .any(|a| a.record.journey().phases().contains(p))
            })
            .collect()
    }

    pub fn attention(&self) -> impl Iterator<Item = &AccountView<'_>> {
        self.accounts.iter().filter(|a| a.needs_attention())
    }

    /// Whether any account has a placement, so the OU and tags columns are worth showing.
    pub fn has_placements(&self) -> bool {
        self.accounts.iter().any(|a| a.placement.is_some())
    }
}

/// The records grouped per enrollment (in name order), each sorted attention first.
pub fn by_enrollment(records: &[OnboardingRecord], now: DateTime<Utc>) -> Vec<EnrollmentView<'_>> {
    let mut groups: BTreeMap<&str, Vec<AccountView<'_>>> = BTreeMap::new();
    for record in records {
        groups
            .entry(record.enrollment.as_str())
            .or_default()
            .push(AccountView::from_record(record, now));
    }
    groups
        .into_iter()
        .map(|(name, mut accounts)| {
            accounts.sort_by_key(|a| (!a.needs_attention(), a.record.account_id.to_string()));
            EnrollmentView {
                name: name.to_owned(),
                accounts,
            }
        })
        .collect()
}

/// "1 account", "2 accounts": a count with its noun in the right number.
pub fn plural(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {plural}")
    }
}
