//! An account's history: the events applied to its record, kept small. Past
//! [`HISTORY_LIMIT`] entries the oldest but the first are dropped: the first (where the
//! account's onboarding began) and the latest stay, and the record counts how many were
//! dropped between them ([`OnboardingRecord::history_trimmed`]).

use super::{HistoryEntry, OnboardingRecord, HISTORY_LIMIT};

impl OnboardingRecord {
    /// Appends `entry`, trimming the history to its first and its latest entries.
    pub fn remember(&mut self, entry: HistoryEntry) {
        self.history.push(entry);
        if self.history.len() > HISTORY_LIMIT {
            let excess = self.history.len() - HISTORY_LIMIT;
            self.history.drain(1..=excess);
            self.history_trimmed += excess as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::domain::{AccountId, EnrollmentName, Phase, Role, TransferMode};

    fn entry(i: usize) -> HistoryEntry {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap() + Duration::minutes(i as i64);
        HistoryEntry {
            event_id: format!("ev-{i}"),
            occurred_at: at,
            applied_at: at,
            summary: "invitation_deferred".into(),
            phase: Phase::AwaitingInvitation,
            source: "inviter".into(),
            replayed: false,
        }
    }

    #[test]
    fn a_long_history_keeps_its_first_and_latest_entries_and_counts_the_trimmed_ones() {
        let mut record = OnboardingRecord::enroll(
            AccountId::parse("555555555555").unwrap(),
            EnrollmentName::parse("acme").unwrap(),
            TransferMode::Standalone,
            Role::Standalone,
            0,
            entry(0).applied_at,
        );
        let total = HISTORY_LIMIT + 30;
        for i in 0..total {
            record.remember(entry(i));
        }
        assert_eq!(record.history.len(), HISTORY_LIMIT);
        assert_eq!(record.history[0].event_id, "ev-0", "the first entry stays");
        assert_eq!(record.history[1].event_id, "ev-31", "then the latest ones");
        assert_eq!(
            record.history.last().unwrap().event_id,
            format!("ev-{}", total - 1)
        );
        assert_eq!(record.history_trimmed, 30);
        assert!(record.has_applied("ev-0") && !record.has_applied("ev-1"));

        // Stored, the count is kept; a record written before it was kept reads as untrimmed.
        let mut stored = serde_json::to_value(&record).unwrap();
        assert_eq!(stored["history_trimmed"], 30);
        stored.as_object_mut().unwrap().remove("history_trimmed");
        let old: OnboardingRecord = serde_json::from_value(stored).unwrap();
        assert_eq!(old.history_trimmed, 0);
        let untrimmed = serde_json::to_value(&old).unwrap();
        assert!(
            untrimmed.get("history_trimmed").is_none(),
            "not written while 0"
        );
    }
}
