//! Failed and refused calls: a failure blocks its step (unless it is stale, transient or
//! older than the success that cleared it), or falls a direct-mode member back to the
//! standalone path, once; access checks block or clear the access step.

use chrono::{DateTime, Utc};

use super::blockers::{add_blocker, clear_steps};
use super::Decision;
use crate::domain::blocker::{classify, AwsFailure, Blocker, BlockerCode, FailureClass, Step};
use crate::domain::event::Operation;
use crate::domain::ids::HandshakeId;
use crate::domain::phase::{Phase, Role};
use crate::domain::record::{Fallback, OnboardingRecord};

/// A failed call, as the rules read it.
pub(super) struct Failed<'a> {
    pub(super) operation: Operation,
    pub(super) failure: &'a AwsFailure,
    pub(super) handshake: &'a Option<HandshakeId>,
    pub(super) occurred_at: DateTime<Utc>,
}

/// A failed call blocks its step, or falls a direct-mode member back to the standalone
/// path; a transient failure, one about a step done or another handshake, or one that
/// happened before the success that cleared its blocker, changes nothing.
pub(super) fn record_failure(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    failed: &Failed,
    now: DateTime<Utc>,
) {
    let Failed {
        operation,
        failure,
        handshake,
        occurred_at,
    } = *failed;
    if is_stale_failure(next, operation, handshake) {
        return;
    }
    let code = match classify(failure) {
        FailureClass::Transient
        | FailureClass::AlreadyInState
        | FailureClass::DuplicateInvitation => return,
        FailureClass::StillInOrganization => BlockerCode::StillInOrganization,
        FailureClass::Blocker(code) => code,
    };
    if next
        .cleared_at(code)
        .is_some_and(|cleared| cleared >= occurred_at)
    {
        return; // refused before the success that cleared it
    }
    if code == BlockerCode::StillInOrganization && can_fall_back(next, operation, handshake) {
        return fall_back_to_standalone(next, out, operation, failure, now);
    }
    // One "still in an organization" blocker is enough, whichever call said it.
    if code == BlockerCode::StillInOrganization && next.is_blocked_by(code) {
        return;
    }
    add_blocker(
        next,
        Blocker::from_failure(code, operation.step(), failure, now),
    );
}

/// A failure about another handshake than the current one (an invitation aside), or a late
/// failure of a step already done (events arrive out of order), blocks nothing.
pub(super) fn is_stale_failure(
    next: &OnboardingRecord,
    operation: Operation,
    handshake: &Option<HandshakeId>,
) -> bool {
    let about_another_handshake = handshake.is_some()
        && next.handshake.is_some()
        && handshake.as_ref() != next.handshake_id()
        && operation != Operation::InviteAccountToOrganization;
    let step_done = match operation.step() {
        Step::Leave | Step::DeleteOrganization => !next.in_old_organization,
        Step::Invite => next.phase.is_offered(),
        Step::Accept | Step::Access | Step::Place | Step::Preflight | Step::Transfer => false,
    };
    about_another_handshake || step_done
}

/// AWS refusing a direct transfer because the account is still in its organization sends
/// it, once, down the standalone path: leave first, blocked until it has.
pub(super) fn fall_back_to_standalone(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    operation: Operation,
    failure: &AwsFailure,
    now: DateTime<Utc>,
) {
    next.phase = Phase::LeavingOrganization;
    next.handshake = None;
    let reason = format!(
        "AWS refused the direct transfer ({} on {}): falling back to the standalone path, the account must leave its organization first",
        failure.code,
        operation.name()
    );
    next.fallback = Some(Fallback {
        reason: reason.clone(),
        at: now,
    });
    add_blocker(
        next,
        Blocker::from_failure(BlockerCode::StillInOrganization, Step::Leave, failure, now),
    );
    out.reason = Some(reason);
}

/// A direct-mode member refused because it is still in its organization falls back to the
/// standalone path, once, and only when the refused transfer was ours: our invitation
/// (InviteAccountToOrganization is only ever the target's), or the acceptance of the
/// record's current invitation. Accepting another organization's invitation is refused the
/// same way, and must not send the account down our standalone path.
pub(super) fn can_fall_back(
    record: &OnboardingRecord,
    operation: Operation,
    handshake: &Option<HandshakeId>,
) -> bool {
    let ours = match operation {
        Operation::InviteAccountToOrganization => true,
        Operation::AcceptHandshake => {
            handshake.is_some() && handshake.as_ref() == record.handshake_id()
        }
        _ => false,
    };
    ours && record.role == Role::Member
        && record.journey().may_fall_back()
        && record.fallback.is_none()
        && matches!(record.phase, Phase::AwaitingInvitation | Phase::Invited)
}

/// A failed access check blocks the access step; a successful one clears it.
pub(super) fn access_checked(
    next: &mut OnboardingRecord,
    failure: Option<&AwsFailure>,
    now: DateTime<Utc>,
) {
    match failure {
        Some(failure) => add_blocker(
            next,
            Blocker::from_failure(BlockerCode::SpokeRoleUntrusted, Step::Access, failure, now),
        ),
        None => clear_steps(next, &[Step::Access]),
    }
}

/// A call the functions make in the account, refused for good, blocks access to it until
/// a later access check succeeds.
pub(super) fn call_refused(next: &mut OnboardingRecord, failure: &AwsFailure, now: DateTime<Utc>) {
    let code = match classify(failure) {
        FailureClass::Blocker(code) => code,
        _ => BlockerCode::UnknownError,
    };
    add_blocker(
        next,
        Blocker::from_failure(code, Step::Access, failure, now),
    );
}
