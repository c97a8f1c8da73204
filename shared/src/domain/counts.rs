//! An enrollment's counters: how many accounts it has, how many are in each phase, how
//! many members are still in the old organization, and its management account. They are
//! kept on one enrollment item and changed in the same transaction as the record that
//! moves, so what an event leads to (the management account's re-evaluation, the
//! enrollment's completion) reads one item, never the whole enrollment: the cost of an
//! event does not grow with the enrollment.
//!
//! Changes are increments (commutative), so concurrent events of one enrollment never lose
//! one; each record's change is applied once because the record's write is
//! version-conditioned in the same transaction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, EnrollmentName};
use super::phase::{Phase, Role};
use super::record::OnboardingRecord;

/// One counter of an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Counter {
    Accounts,
    InPhase(Phase),
    /// Enrolled members still recorded in the old organization.
    MembersInOldOrganization,
    /// Accounts placed: in their OU, tagged and reachable (onboarding ended).
    Placed,
}

/// The counters of one enrollment, as last committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrollmentCounts {
    pub values: BTreeMap<Counter, i64>,
    pub management_account: Option<AccountId>,
    /// Kept only since a release after the enrollment's first records (which did not
    /// count): the values are changes, not totals, until the counters are rebuilt from
    /// the records. Nothing is complete on such counters.
    pub partial: bool,
}

impl EnrollmentCounts {
    pub fn get(&self, counter: Counter) -> i64 {
        self.values.get(&counter).copied().unwrap_or(0)
    }

    pub fn accounts(&self) -> i64 {
        self.get(Counter::Accounts)
    }

    pub fn in_phase(&self, phase: Phase) -> i64 {
        self.get(Counter::InPhase(phase))
    }

    pub fn members_in_old_organization(&self) -> i64 {
        self.get(Counter::MembersInOldOrganization)
    }

    /// Every enrolled account joined (or, billing mode, transferred its bill).
    pub fn all_joined(&self) -> bool {
        !self.partial && self.accounts() > 0 && self.moved() == self.accounts()
    }

    /// How many accounts are where their move ends: joined, or transferred.
    pub fn moved(&self) -> i64 {
        self.in_phase(Phase::Joined) + self.in_phase(Phase::Transferred)
    }

    pub fn placed(&self) -> i64 {
        self.get(Counter::Placed)
    }

    /// Every enrolled account is placed: the enrollment is complete.
    pub fn all_placed(&self) -> bool {
        !self.partial && self.accounts() > 0 && self.placed() == self.accounts()
    }

    /// The counters of records as they stand (a rebuild of counters an earlier version never
    /// kept): the sum of what each contributes ([`CountChange::standing`]).
    pub fn of_records<'a>(records: impl IntoIterator<Item = &'a OnboardingRecord>) -> Self {
        let mut counts = Self::default();
        for record in records {
            counts.add(&CountChange::standing(record));
        }
        counts
    }

    /// Applies a change (the in-memory store and tests; DynamoDB adds on its side).
    pub fn add(&mut self, change: &CountChange) {
        for (counter, delta) in &change.deltas {
            *self.values.entry(*counter).or_default() += delta;
        }
        if change.management_account.is_some() {
            self.management_account
                .clone_from(&change.management_account);
        }
    }
}

/// What one write changes on its enrollment's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountChange {
    pub enrollment: EnrollmentName,
    pub deltas: Vec<(Counter, i64)>,
    /// Set when the management account is enrolled.
    pub management_account: Option<AccountId>,
}

impl CountChange {
    /// The counters a newly enrolled record adds.
    pub fn enrolled(record: &OnboardingRecord) -> Self {
        let mut deltas = vec![(Counter::Accounts, 1), (Counter::InPhase(record.phase), 1)];
        if counts_as_member_in_organization(record) {
            deltas.push((Counter::MembersInOldOrganization, 1));
        }
        Self {
            enrollment: record.enrollment.clone(),
            deltas,
            management_account: (record.role == Role::Management)
                .then(|| record.account_id.clone()),
        }
    }

    /// What a record adds to its enrollment's counters as it stands: its enrolment, and its
    /// placement once placed. The sum over an enrollment's records is what its counters
    /// would say had they been kept since the first record ([`EnrollmentCounts::of_records`]).
    pub fn standing(record: &OnboardingRecord) -> Self {
        let mut change = Self::enrolled(record);
        if record.placed.is_some() {
            change.deltas.push((Counter::Placed, 1));
        }
        change
    }

    /// What a transition from `before` to `after` changes, `None` when no counter moves.
    pub fn between(before: &OnboardingRecord, after: &OnboardingRecord) -> Option<Self> {
        let mut deltas = Vec::new();
        if before.phase != after.phase {
            deltas.push((Counter::InPhase(before.phase), -1));
            deltas.push((Counter::InPhase(after.phase), 1));
        }
        let (was, is) = (
            counts_as_member_in_organization(before),
            counts_as_member_in_organization(after),
        );
        if was != is {
            deltas.push((Counter::MembersInOldOrganization, if is { 1 } else { -1 }));
        }
        match (before.placed.is_some(), after.placed.is_some()) {
            (false, true) => deltas.push((Counter::Placed, 1)),
            (true, false) => deltas.push((Counter::Placed, -1)),
            _ => {}
        }
        (!deltas.is_empty()).then(|| Self {
            enrollment: after.enrollment.clone(),
            deltas,
            management_account: None,
        })
    }

    /// The sum of several changes of one enrollment (a batch of records in one write).
    pub fn sum(changes: impl IntoIterator<Item = CountChange>) -> Option<Self> {
        let mut changes = changes.into_iter().peekable();
        let enrollment = changes.peek()?.enrollment.clone();
        let mut total = EnrollmentCounts::default();
        changes.for_each(|change| total.add(&change));
        Some(Self {
            enrollment,
            deltas: total.values.into_iter().filter(|(_, d)| *d != 0).collect(),
            management_account: total.management_account,
        })
    }
}

fn counts_as_member_in_organization(record: &OnboardingRecord) -> bool {
    record.role == Role::Member && record.in_old_organization
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::TransferMode;

    fn record(id: &str, role: Role) -> OnboardingRecord {
        OnboardingRecord::enroll(
            AccountId::parse(id).unwrap(),
            EnrollmentName::parse("acme").unwrap(),
            TransferMode::Standalone,
            role,
            1,
            Utc::now(),
        )
    }

    #[test]
    fn enrolling_counts_the_account_its_phase_and_a_member_in_the_organization() {
        let mut counts = EnrollmentCounts::default();
        let management = record("111111111111", Role::Management);
        let member = record("222222222222", Role::Member);
        let change = CountChange::sum([
            CountChange::enrolled(&management),
            CountChange::enrolled(&member),
        ])
        .unwrap();
        counts.add(&change);
        assert_eq!(counts.accounts(), 2);
        assert_eq!(counts.in_phase(Phase::DeletingOrganization), 1);
        assert_eq!(counts.in_phase(Phase::LeavingOrganization), 1);
        assert_eq!(counts.members_in_old_organization(), 1);
        assert_eq!(counts.management_account, Some(management.account_id));
    }

    #[test]
    fn a_member_leaving_moves_its_phase_and_leaves_the_organization_count() {
        let before = record("222222222222", Role::Member);
        let mut after = before.clone();
        after.phase = Phase::AwaitingInvitation;
        after.in_old_organization = false;
        let mut counts = EnrollmentCounts::default();
        counts.add(&CountChange::enrolled(&before));
        counts.add(&CountChange::between(&before, &after).unwrap());
        assert_eq!(counts.in_phase(Phase::LeavingOrganization), 0);
        assert_eq!(counts.in_phase(Phase::AwaitingInvitation), 1);
        assert_eq!(counts.members_in_old_organization(), 0);
        assert!(CountChange::between(&after, &after).is_none());
    }

    #[test]
    fn the_enrollment_is_complete_when_every_account_joined() {
        let before = record("333333333333", Role::Standalone);
        let mut joined = before.clone();
        joined.phase = Phase::Joined;
        let mut counts = EnrollmentCounts::default();
        counts.add(&CountChange::enrolled(&before));
        assert!(!counts.all_joined());
        counts.add(&CountChange::between(&before, &joined).unwrap());
        assert!(counts.all_joined());
        assert!(!EnrollmentCounts::default().all_joined());
        assert!(!counts.all_placed(), "joined is not placed");
        let mut placed = joined.clone();
        placed.placed = Some(crate::domain::Placed {
            placed_in: None,
            access_role: None,
            at: Utc::now(),
        });
        counts.add(&CountChange::between(&joined, &placed).unwrap());
        assert!(counts.all_placed());
        counts.partial = true;
        assert!(
            !counts.all_placed() && !counts.all_joined(),
            "partial counters complete nothing"
        );
    }

    #[test]
    fn counters_rebuilt_from_records_equal_those_kept_through_their_moves() {
        let management = record("111111111111", Role::Management);
        let member = record("222222222222", Role::Member);
        let mut kept = EnrollmentCounts::default();
        kept.add(&CountChange::enrolled(&management));
        kept.add(&CountChange::enrolled(&member));
        let mut joined = member.clone();
        joined.phase = Phase::Joined;
        joined.in_old_organization = false;
        kept.add(&CountChange::between(&member, &joined).unwrap());
        let mut placed = joined.clone();
        placed.placed = Some(crate::domain::Placed {
            placed_in: None,
            access_role: None,
            at: Utc::now(),
        });
        kept.add(&CountChange::between(&joined, &placed).unwrap());
        kept.values.retain(|_, value| *value != 0);
        assert_eq!(EnrollmentCounts::of_records([&management, &placed]), kept);
    }
}
