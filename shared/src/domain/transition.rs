//! The pure transition: `apply(record, event, target, now)` gives the next record and what
//! it asks for. No I/O, no clock: everything comes in as arguments.
//!
//! Rules (see the tests below, one or more per rule):
//! - phases only move forward, except (a) the direct-to-standalone fallback, once, and
//!   (b) a closed handshake, or one the acceptor refused (it failed verification), that
//!   was the record's current one (`Invited` → `AwaitingInvitation`);
//! - `Joined` is terminal; an event already applied is a no-op;
//! - an event about another handshake never changes the current one;
//! - a management account stays in `DeletingOrganization` until its organization is
//!   deleted, blocked while enrolled members remain in it.
//!
//! Notifications are derived by comparing the record before and after, so no handler can
//! forget one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::blocker::{classify, Blocker, BlockerCode, FailureClass, Step};
use super::event::{Closure, DomainEvent, EventKind, Operation};
use super::ids::{HandshakeId, OrganizationId};
use super::phase::{Phase, Role, TransferMode};
use super::record::{
    Fallback, HistoryEntry, OnboardingRecord, Target, HANDSHAKE_MEMORY, HISTORY_LIMIT,
};

/// What a transition tells the world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notification {
    PhaseChanged {
        from: Phase,
        to: Phase,
        reason: Option<String>,
    },
    Blocked {
        blockers: Vec<Blocker>,
    },
    Unblocked {
        cleared: Vec<BlockerCode>,
    },
    AccountJoined,
    UnexpectedInvitation {
        handshake: HandshakeId,
        organization: Option<OrganizationId>,
        reason: String,
    },
}

/// Work a transition asks of the functions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FollowUp {
    /// The account awaits an invitation: the inviter sends or adopts one.
    SendInvitation,
    /// An invitation is open: the acceptor verifies it through the API and accepts it.
    AcceptInvitation { handshake: HandshakeId },
    /// A member left the old organization: re-evaluate its management account.
    ReevaluateManagement,
    /// The old organization is gone: members still recorded in it have left.
    OldOrganizationDeleted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub record: OnboardingRecord,
    pub changed: bool,
    pub notifications: Vec<Notification>,
    pub follow_ups: Vec<FollowUp>,
}

impl Transition {
    fn unchanged(record: &OnboardingRecord) -> Self {
        Self {
            record: record.clone(),
            changed: false,
            notifications: Vec::new(),
            follow_ups: Vec::new(),
        }
    }
}

/// What the event handlers decided beyond the record itself.
#[derive(Default)]
struct Decision {
    reason: Option<String>,
    notifications: Vec<Notification>,
    follow_ups: Vec<FollowUp>,
}

/// Applies `event` to `record`.
pub fn apply(
    record: &OnboardingRecord,
    event: &DomainEvent,
    target: &Target,
    now: DateTime<Utc>,
) -> Transition {
    if event.account != record.account_id
        || record.has_applied(&event.id)
        || record.phase == Phase::Joined
    {
        return Transition::unchanged(record);
    }
    let mut next = record.clone();
    let mut decision = Decision::default();
    decide(&mut next, &event.kind, target, now, &mut decision);
    if next == *record && decision.notifications.is_empty() {
        return Transition::unchanged(record);
    }

    let mut notifications = decision.notifications;
    let mut follow_ups = decision.follow_ups;
    if next.phase != record.phase {
        next.phase_since = now;
        notifications.insert(
            0,
            Notification::PhaseChanged {
                from: record.phase,
                to: next.phase,
                reason: decision.reason,
            },
        );
        match next.phase {
            Phase::AwaitingInvitation => follow_ups.push(FollowUp::SendInvitation),
            Phase::Invited => follow_ups.extend(
                next.handshake_id
                    .clone()
                    .map(|handshake| FollowUp::AcceptInvitation { handshake }),
            ),
            Phase::Joined => notifications.push(Notification::AccountJoined),
            Phase::LeavingOrganization | Phase::DeletingOrganization => {}
        }
    }
    let added: Vec<Blocker> = next
        .blockers
        .iter()
        .filter(|b| !record.blockers.iter().any(|o| o.same_as(b)))
        .cloned()
        .collect();
    if !added.is_empty() {
        notifications.push(Notification::Blocked { blockers: added });
    }
    let cleared: Vec<BlockerCode> = record
        .blockers
        .iter()
        .filter(|o| !next.blockers.iter().any(|b| b.same_as(o)))
        .map(|b| b.code)
        .collect();
    if !cleared.is_empty() {
        notifications.push(Notification::Unblocked { cleared });
    }
    if record.role == Role::Member && record.in_old_organization && !next.in_old_organization {
        follow_ups.push(FollowUp::ReevaluateManagement);
    }

    next.version = record.version + 1;
    next.updated_at = now;
    next.history.push(HistoryEntry {
        event_id: event.id.clone(),
        occurred_at: event.occurred_at,
        applied_at: now,
        summary: summarize(&event.kind),
        phase: next.phase,
    });
    if next.history.len() > HISTORY_LIMIT {
        let excess = next.history.len() - HISTORY_LIMIT;
        next.history.drain(..excess);
    }
    Transition {
        record: next,
        changed: true,
        notifications,
        follow_ups,
    }
}

fn summarize(kind: &EventKind) -> String {
    match kind {
        EventKind::CallFailed {
            operation, failure, ..
        } => format!("{} failed: {}", operation.name(), failure.code),
        EventKind::InvitationClosed { closure, .. } => {
            format!("invitation {closure:?}").to_lowercase()
        }
        other => other.name().to_owned(),
    }
}

fn decide(
    next: &mut OnboardingRecord,
    kind: &EventKind,
    target: &Target,
    now: DateTime<Utc>,
    out: &mut Decision,
) {
    match kind {
        EventKind::InvitationSent {
            handshake,
            organization,
            expires_at,
        } => {
            if is_settled(next, handshake) || next.handshake_id.is_some() {
                return; // a settled handshake, or another one than the current
            }
            if let Some(org) = organization
                .as_ref()
                .filter(|org| **org != target.organization)
            {
                let reason = format!(
                    "invited by organization {org}, not the target {}",
                    target.organization
                );
                return report_unexpected(next, out, handshake, organization, reason);
            }
            // Only an account ready for its invitation takes it; one still leaving or
            // deleting gets it adopted by the inviter once it is ready.
            if next.phase == Phase::AwaitingInvitation {
                next.phase = Phase::Invited;
                next.handshake_id = Some(handshake.clone());
                next.handshake_expires_at = *expires_at;
                clear_steps(next, &[Step::Invite]);
            }
        }
        EventKind::InvitationAccepted {
            handshake,
            organization,
        } => {
            if let Some(org) = organization
                .as_ref()
                .filter(|org| **org != target.organization)
            {
                let reason = format!(
                    "the account accepted an invitation from organization {org}, not the target"
                );
                return report_unexpected(next, out, handshake, organization, reason);
            }
            join(next, Some(handshake.clone()));
            out.reason = Some(format!("accepted invitation {handshake}"));
        }
        EventKind::JoinedOrganization { management_account } => {
            if *management_account == target.management_account {
                join(next, next.handshake_id.clone());
                out.reason = Some(
                    "AWS Organizations recorded the account joining the target organization".into(),
                );
            }
        }
        EventKind::InvitationClosed { handshake, closure } => {
            settle(next, handshake);
            if next.handshake_id.as_ref() == Some(handshake) {
                next.handshake_id = None;
                next.handshake_expires_at = None;
                if next.phase == Phase::Invited {
                    next.phase = Phase::AwaitingInvitation;
                    let how = match closure {
                        Closure::Declined => "declined",
                        Closure::Canceled => "cancelled",
                        Closure::Expired => "expired",
                    };
                    out.reason = Some(format!(
                        "invitation {handshake} was {how}; a new one will be sent"
                    ));
                }
            }
        }
        EventKind::LeftOrganization { removed } => {
            if next.role == Role::Management || !next.in_old_organization {
                return; // a management account never leaves; it deletes its organization
            }
            next.in_old_organization = false;
            clear_steps(next, &[Step::Leave]);
            next.blockers
                .retain(|b| b.code != BlockerCode::StillInOrganization);
            if next.phase == Phase::LeavingOrganization {
                next.phase = Phase::AwaitingInvitation;
                out.reason = Some(
                    if *removed {
                        "removed from its organization"
                    } else {
                        "left its organization"
                    }
                    .into(),
                );
            }
        }
        EventKind::OrganizationDeleted => {
            if next.role != Role::Management || !next.in_old_organization {
                return;
            }
            next.in_old_organization = false;
            clear_steps(next, &[Step::Leave, Step::DeleteOrganization]);
            next.blockers
                .retain(|b| b.code != BlockerCode::StillInOrganization);
            if next.phase == Phase::DeletingOrganization {
                next.phase = Phase::AwaitingInvitation;
                out.reason = Some("its organization was deleted".into());
            }
            out.follow_ups.push(FollowUp::OldOrganizationDeleted);
        }
        EventKind::CallFailed {
            operation,
            failure,
            handshake,
        } => {
            let about_another_handshake = handshake.is_some()
                && next.handshake_id.is_some()
                && handshake != &next.handshake_id
                && *operation != Operation::InviteAccountToOrganization;
            // A late failure of a step already done (events arrive out of order) blocks nothing.
            let step_done = match operation.step() {
                Step::Leave | Step::DeleteOrganization => !next.in_old_organization,
                Step::Invite => next.phase == Phase::Invited,
                Step::Accept | Step::Access => false,
            };
            if about_another_handshake || step_done {
                return;
            }
            match classify(failure) {
                FailureClass::Transient
                | FailureClass::AlreadyInState
                | FailureClass::DuplicateInvitation => {}
                FailureClass::StillInOrganization if can_fall_back(next, *operation) => {
                    next.phase = Phase::LeavingOrganization;
                    next.handshake_id = None;
                    next.handshake_expires_at = None;
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
                        Blocker::from_failure(
                            BlockerCode::StillInOrganization,
                            Step::Leave,
                            failure,
                            now,
                        ),
                    );
                    out.reason = Some(reason);
                }
                // One "still in an organization" blocker is enough, whichever call said it.
                FailureClass::StillInOrganization
                    if next.is_blocked_by(BlockerCode::StillInOrganization) => {}
                FailureClass::StillInOrganization => {
                    add_blocker(
                        next,
                        Blocker::from_failure(
                            BlockerCode::StillInOrganization,
                            operation.step(),
                            failure,
                            now,
                        ),
                    );
                }
                FailureClass::Blocker(code) => {
                    add_blocker(
                        next,
                        Blocker::from_failure(code, operation.step(), failure, now),
                    );
                }
            }
        }
        EventKind::MembersRemaining { count } => {
            if next.role != Role::Management || next.phase != Phase::DeletingOrganization {
                return;
            }
            // Departures are monotonic: the blocker is set at enrollment and by AWS refusing
            // the deletion, and only cleared here, so a stale count (two members leaving at
            // once, each seeing the other) can never bring it back.
            if *count == 0 {
                next.blockers
                    .retain(|b| b.code != BlockerCode::OrganizationNotEmpty);
            }
        }
        EventKind::InvitationRefused {
            handshake,
            organization,
            reason,
        } => {
            // The current invitation failed verification (a forged event put it there):
            // drop it, so the target organization's own invitation can be taken.
            if next.handshake_id.as_ref() == Some(handshake) {
                next.handshake_id = None;
                next.handshake_expires_at = None;
                if next.phase == Phase::Invited {
                    next.phase = Phase::AwaitingInvitation;
                    out.reason = Some(format!(
                        "invitation {handshake} failed verification ({reason})"
                    ));
                }
            }
            report_unexpected(next, out, handshake, organization, reason.clone())
        }
        EventKind::AccessChecked {
            failure: Some(failure),
        } => {
            add_blocker(
                next,
                Blocker::from_failure(BlockerCode::SpokeRoleUntrusted, Step::Access, failure, now),
            );
        }
        EventKind::AccessChecked { failure: None } => clear_steps(next, &[Step::Access]),
    }
}

/// A direct-mode member refused because it is still in its organization falls back to the
/// standalone path, once.
fn can_fall_back(record: &OnboardingRecord, operation: Operation) -> bool {
    matches!(
        operation,
        Operation::InviteAccountToOrganization | Operation::AcceptHandshake
    ) && record.role == Role::Member
        && record.transfer_mode == TransferMode::Direct
        && record.fallback.is_none()
        && matches!(record.phase, Phase::AwaitingInvitation | Phase::Invited)
}

fn join(next: &mut OnboardingRecord, handshake: Option<HandshakeId>) {
    next.phase = Phase::Joined;
    next.handshake_id = handshake;
    next.in_old_organization = false;
    next.blockers.clear();
}

/// Remembers a handshake that is not the target's and reports it, once.
fn report_unexpected(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    handshake: &HandshakeId,
    organization: &Option<OrganizationId>,
    reason: String,
) {
    if is_settled(next, handshake) {
        return;
    }
    settle(next, handshake);
    out.notifications.push(Notification::UnexpectedInvitation {
        handshake: handshake.clone(),
        organization: organization.clone(),
        reason,
    });
}

fn is_settled(record: &OnboardingRecord, handshake: &HandshakeId) -> bool {
    record.settled_handshakes.contains(handshake)
}

fn settle(record: &mut OnboardingRecord, handshake: &HandshakeId) {
    if !is_settled(record, handshake) {
        record.settled_handshakes.push(handshake.clone());
        if record.settled_handshakes.len() > HANDSHAKE_MEMORY {
            record.settled_handshakes.remove(0);
        }
    }
}

fn add_blocker(record: &mut OnboardingRecord, blocker: Blocker) {
    if !record.blockers.iter().any(|b| b.same_as(&blocker)) {
        record.blockers.push(blocker);
    }
}

fn clear_steps(record: &mut OnboardingRecord, steps: &[Step]) {
    record.blockers.retain(|b| !steps.contains(&b.step));
}
