//! Blockers: added (an actual refusal replaces the prediction of the same code), cleared
//! by step, remembered when cleared, and predicted by the preflight.

use chrono::{DateTime, Utc};

use crate::domain::blocker::{Blocker, BlockerCode, Step};
use crate::domain::event::Problem;
use crate::domain::ids::OrganizationId;
use crate::domain::phase::Role;
use crate::domain::preflight::PreflightSummary;
use crate::domain::record::{ClearedBlocker, OnboardingRecord};

/// The blockers of `step` become exactly `problems` (one still there keeps its `since`).
pub(super) fn replace_blockers(
    next: &mut OnboardingRecord,
    step: Step,
    problems: &[Problem],
    now: DateTime<Utc>,
) {
    let wanted: Vec<Blocker> = problems
        .iter()
        .map(|p| Blocker::from_failure(p.code, step, &p.failure, now))
        .collect();
    next.blockers
        .retain(|b| b.step != step || wanted.iter().any(|w| w.same_as(b)));
    for blocker in wanted {
        add_blocker(next, blocker);
    }
}

/// The preflight's predictions replace its last ones, except where AWS already returned
/// the same refusal (the actual blocker says it). It is kept while the account can still
/// meet what it predicts: in its old organization, or standalone and not joined.
pub(super) fn predict(
    next: &mut OnboardingRecord,
    predicted: &[Problem],
    organization: &Option<OrganizationId>,
    summary: &PreflightSummary,
    now: DateTime<Utc>,
) {
    // A journey that moves no account needs none of what the preflight predicts.
    let moves = next.journey().moves_account();
    if (!next.in_old_organization && next.role != Role::Standalone) || !moves {
        return;
    }
    let actual: Vec<BlockerCode> = next.actual_blockers().map(|b| b.code).collect();
    let predicted: Vec<Problem> = predicted
        .iter()
        .filter(|p| !actual.contains(&p.code))
        .cloned()
        .collect();
    replace_blockers(next, Step::Preflight, &predicted, now);
    next.preflight = Some(summary.clone());
    if next.source_organization.is_none() && next.in_old_organization {
        next.source_organization.clone_from(organization);
    }
}

/// Remembers when each blocker the event cleared was cleared (the event's time), so a
/// refusal from before it never brings the blocker back.
pub(super) fn remember_cleared(
    record: &OnboardingRecord,
    next: &mut OnboardingRecord,
    at: DateTime<Utc>,
) {
    for old in &record.blockers {
        if next.blockers.iter().any(|b| b.same_as(old)) {
            continue;
        }
        next.cleared_blockers.retain(|c| c.code != old.code);
        next.cleared_blockers
            .push(ClearedBlocker { code: old.code, at });
    }
}

/// Adds `blocker` unless the record has it; an actual refusal replaces the prediction of
/// the same code.
pub(super) fn add_blocker(record: &mut OnboardingRecord, blocker: Blocker) {
    if !blocker.is_predicted() {
        record
            .blockers
            .retain(|b| !(b.is_predicted() && b.code == blocker.code));
    }
    if !record.blockers.iter().any(|b| b.same_as(&blocker)) {
        record.blockers.push(blocker);
    }
}

pub(super) fn clear_steps(record: &mut OnboardingRecord, steps: &[Step]) {
    record.blockers.retain(|b| !steps.contains(&b.step));
}
