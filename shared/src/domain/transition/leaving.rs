//! Leaving the old organization: a member leaves or is removed, the management account
//! deletes the organization once no enrolled member remains in it.

use super::blockers::clear_steps;
use super::{Decision, FollowUp};
use crate::domain::blocker::{BlockerCode, Step};
use crate::domain::phase::{Phase, Role};
use crate::domain::record::OnboardingRecord;

/// A member that leaves (or is removed from) its old organization awaits its invitation; a
/// management account never leaves, it deletes its organization.
pub(super) fn leave_organization(next: &mut OnboardingRecord, out: &mut Decision, removed: bool) {
    if next.role == Role::Management || !next.in_old_organization {
        return;
    }
    out_of_old_organization(next, &[Step::Leave]);
    if next.phase == Phase::LeavingOrganization {
        next.phase = Phase::AwaitingInvitation;
        out.reason = Some(
            if removed {
                "removed from its organization"
            } else {
                "left its organization"
            }
            .into(),
        );
    }
}

/// A management account whose organization is deleted awaits its invitation, and the
/// members still recorded in that organization have left it.
pub(super) fn delete_organization(next: &mut OnboardingRecord, out: &mut Decision) {
    // A journey that moves no account keeps its organization, whatever happens to it.
    let keeps_it = !next.journey().moves_account();
    if next.role != Role::Management || !next.in_old_organization || keeps_it {
        return;
    }
    out_of_old_organization(next, &[Step::Leave, Step::DeleteOrganization]);
    if next.phase == Phase::DeletingOrganization {
        next.phase = Phase::AwaitingInvitation;
        out.reason = Some("its organization was deleted".into());
    }
    out.follow_ups.push(FollowUp::OldOrganizationDeleted);
}

/// The account is out of its old organization: what blocked leaving it no longer does.
pub(super) fn out_of_old_organization(next: &mut OnboardingRecord, steps: &[Step]) {
    next.in_old_organization = false;
    clear_steps(next, steps);
    clear_steps(next, &[Step::Preflight]);
    next.blockers
        .retain(|b| b.code != BlockerCode::StillInOrganization);
}

/// A management account deleting its organization is no longer blocked by its members once
/// none remains.
pub(super) fn members_remaining(next: &mut OnboardingRecord, count: u32) {
    if next.role != Role::Management || next.phase != Phase::DeletingOrganization {
        return;
    }
    // Departures are monotonic: the blocker is set at enrollment and by AWS refusing
    // the deletion, and only cleared here, so a stale count (two members leaving at
    // once, each seeing the other) can never bring it back.
    if count == 0 {
        next.blockers
            .retain(|b| b.code != BlockerCode::OrganizationNotEmpty);
    }
}
