//! The pure transition: `apply(record, event, target, now)` gives the next record and what
//! it asks for. No I/O, no clock: everything comes in as arguments.
//!
//! This module is the index: [`apply`] and `decide`, which hands each event kind to the
//! function of its rule. The rules live beside it by concern (tested in
//! `shared/tests/domain_transitions.rs`, one or more per rule):
//! - [`invitation`]: the target's offer taken, closed, refused or deferred; an event about
//!   another handshake never changes the current one (`take_invitation`,
//!   `close_invitation`); an invitation from another organization is reported once, never
//!   taken (`report_unexpected`); a closed or refused current handshake moves the record
//!   back to awaiting the offer (`drop_current_invitation`);
//! - [`leaving`]: the old organization left, deleted, or emptied; a management account
//!   stays in `DeletingOrganization` until its organization is deleted
//!   (`delete_organization`), blocked while enrolled members remain (`members_remaining`);
//! - [`joining`]: the proof of joining, and placement once joined;
//! - [`billing`]: a billing transfer confirmed (`Transferred` needs the target's own list
//!   of transfers) or ended (reported as a blocker, never undone);
//! - [`failures`]: failed and refused calls block their step, or fall a direct-mode member
//!   back to the standalone path, once (`fall_back_to_standalone`);
//! - [`blockers`]: adding, clearing and predicting blockers;
//! - [`notices`]: stalls and expiring invitations, announced without changing the record.
//!
//! Phases only move forward, except the fallback and a closed current handshake. The
//! journey terminal phase (`Joined`, `Transferred`) is final: only placement and the end of
//! a billing transfer follow it; an event already applied is a no-op (`apply`). What a
//! transfer mode changes is asked of its journey ([`crate::domain::journey`]), never of
//! the mode.
//!
//! Notifications are derived by comparing the record before and after
//! (`announce_phase_change`, `blocker_changes`), so no handler can forget one.

mod billing;
mod blockers;
mod failures;
mod invitation;
mod joining;
mod leaving;
mod notices;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::blocker::{Blocker, BlockerCode, Step};
use super::event::{DomainEvent, EventKind};
use super::ids::{HandshakeId, OrganizationId};
use super::phase::{Phase, Role};
use super::placement::awaits_placement;
use super::policy::Offer;
use super::record::{HistoryEntry, OnboardingRecord, Target};

use billing::{confirm_transfer, terminate_transfer};
use blockers::{predict, remember_cleared, replace_blockers};
use failures::{access_checked, call_refused, record_failure, Failed};
use invitation::{
    close_invitation, defer_invitation, drop_refused_invitation, report_foreign_acceptance,
    take_invitation, Offered,
};
use joining::{join_on_confirmed_membership, join_on_service_event, place};
use leaving::{delete_organization, leave_organization, members_remaining};
use notices::{announce_expiry, announce_stall};

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
    /// Billing mode: the target's organization lists the transfer as accepted; it pays the
    /// customer organization's bill from `starts_at`.
    BillingTransferred {
        transfer: String,
        starts_at: Option<DateTime<Utc>>,
    },
    UnexpectedInvitation {
        handshake: HandshakeId,
        organization: Option<OrganizationId>,
        reason: String,
    },
    /// No progress since `since`: a person should look at the blockers.
    Stalled {
        since: DateTime<Utc>,
    },
    /// The current invitation closes at `expires_at` unless it is accepted.
    InvitationExpiring {
        handshake: HandshakeId,
        expires_at: DateTime<Utc>,
    },
    /// The joined account is in its OU, tagged and reachable: onboarding ended.
    AccountPlaced {
        placed_in: Option<String>,
        access_role: Option<String>,
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
pub(super) struct Decision {
    pub(super) reason: Option<String>,
    pub(super) notifications: Vec<Notification>,
    pub(super) follow_ups: Vec<FollowUp>,
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
        || (record.phase.is_terminal() && !event.kind.follows_the_move())
    {
        return Transition::unchanged(record);
    }
    let mut next = record.clone();
    let mut decision = Decision::default();
    decide(&mut next, event, target, now, &mut decision);
    remember_cleared(record, &mut next, event.occurred_at);
    if next == *record && decision.notifications.is_empty() {
        return Transition::unchanged(record);
    }

    let Decision {
        reason,
        mut notifications,
        mut follow_ups,
    } = decision;
    if next.phase != record.phase {
        next.phase_since = now;
        announce_phase_change(record, &next, reason, &mut notifications, &mut follow_ups);
        // A billing transfer moves no account: nothing to place or reach. Every account
        // that joins goes through the placer, if only for the access check.
        if next.phase.is_terminal() && !next.journey().moves_account() {
            place(&mut next, &mut notifications, None, None, now);
        }
    }
    notifications.extend(blocker_changes(record, &next));
    if record.role == Role::Member && record.in_old_organization && !next.in_old_organization {
        follow_ups.push(FollowUp::ReevaluateManagement);
    }

    next.version = record.version + 1;
    next.updated_at = now;
    append_history(&mut next, event, now);
    Transition {
        record: next,
        changed: true,
        notifications,
        follow_ups,
    }
}

/// The phase change comes first among the notifications; entering a phase may ask for
/// work (an invitation to send or accept) or announce the join.
fn announce_phase_change(
    record: &OnboardingRecord,
    next: &OnboardingRecord,
    reason: Option<String>,
    notifications: &mut Vec<Notification>,
    follow_ups: &mut Vec<FollowUp>,
) {
    notifications.insert(
        0,
        Notification::PhaseChanged {
            from: record.phase,
            to: next.phase,
            reason,
        },
    );
    let phase = next.phase;
    if phase.awaits_offer() {
        follow_ups.push(FollowUp::SendInvitation);
    } else if phase.is_offered() {
        let handshake = next.handshake_id().cloned();
        follow_ups.extend(handshake.map(|handshake| FollowUp::AcceptInvitation { handshake }));
    } else if phase.is_terminal() {
        notifications.push(next.journey().arrival(next));
    }
}

/// `Blocked` with the blockers `next` has that `record` had not, then `Unblocked` with the
/// codes of those it lost (each only when there are some). Predictions are not announced
/// one by one: the preflight's `Preflight Completed` counts them per enrollment.
fn blocker_changes(record: &OnboardingRecord, next: &OnboardingRecord) -> Vec<Notification> {
    let added: Vec<Blocker> = next
        .actual_blockers()
        .filter(|b| !record.blockers.iter().any(|o| o.same_as(b)))
        .cloned()
        .collect();
    let cleared: Vec<BlockerCode> = record
        .actual_blockers()
        .filter(|o| !next.blockers.iter().any(|b| b.same_as(o)))
        .map(|b| b.code)
        .collect();
    let mut notifications = Vec::new();
    if !added.is_empty() {
        notifications.push(Notification::Blocked { blockers: added });
    }
    if !cleared.is_empty() {
        notifications.push(Notification::Unblocked { cleared });
    }
    notifications
}

/// Records the event in the history (which keeps its first and latest entries).
fn append_history(next: &mut OnboardingRecord, event: &DomainEvent, now: DateTime<Utc>) {
    next.remember(HistoryEntry {
        event_id: event.id.clone(),
        occurred_at: event.occurred_at,
        applied_at: now,
        summary: summarize(&event.kind),
        phase: next.phase,
        source: event.source().to_owned(),
        replayed: event.replayed,
    });
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

/// Hands the event to the rule for its kind.
fn decide(
    next: &mut OnboardingRecord,
    event: &DomainEvent,
    target: &Target,
    now: DateTime<Utc>,
    out: &mut Decision,
) {
    match &event.kind {
        EventKind::InvitationSent {
            handshake,
            organization,
            expires_at,
        } => {
            let offer = Offered::new(Offer::Join, handshake, organization, *expires_at);
            take_invitation(next, out, target, &offer)
        }
        EventKind::TransferInvitationSent {
            handshake,
            organization,
            expires_at,
            transfer,
        } => {
            let offer = Offered::new(Offer::TransferBilling, handshake, organization, *expires_at)
                .carrying(transfer.as_deref());
            take_invitation(next, out, target, &offer)
        }
        EventKind::TransferConfirmed {
            transfer,
            starts_at,
        } => confirm_transfer(next, out, transfer, *starts_at),
        EventKind::TransferTerminated {
            transfer, ended_at, ..
        } => terminate_transfer(next, out, transfer.as_deref(), *ended_at, now),
        EventKind::InvitationAccepted {
            handshake,
            organization,
        } => report_foreign_acceptance(next, out, target, handshake, organization),
        EventKind::JoinedOrganization { management_account } => {
            join_on_service_event(next, out, target, management_account)
        }
        EventKind::InvitationClosed { handshake, closure } => {
            close_invitation(next, out, handshake, *closure)
        }
        EventKind::LeftOrganization { removed } | EventKind::DepartedOrganization { removed } => {
            leave_organization(next, out, *removed)
        }
        EventKind::OrganizationDeleted => delete_organization(next, out),
        EventKind::CallFailed {
            operation,
            failure,
            handshake,
        } => {
            let failed = Failed {
                operation: *operation,
                failure,
                handshake,
                occurred_at: event.occurred_at,
            };
            record_failure(next, out, &failed, now)
        }
        EventKind::MembersRemaining { count } => members_remaining(next, *count),
        EventKind::InvitationRefused {
            handshake,
            organization,
            reason,
        } => drop_refused_invitation(next, out, handshake, organization, reason),
        EventKind::AccessChecked { failure } => access_checked(next, failure.as_ref(), now),
        EventKind::CallRefused { failure, .. } => call_refused(next, failure, now),
        EventKind::MembershipConfirmed => join_on_confirmed_membership(next, out),
        EventKind::InvitationDeferred { reason } => defer_invitation(next, *reason, now),
        EventKind::Stalled { since } => announce_stall(next, out, *since),
        EventKind::InvitationExpiring {
            handshake,
            expires_at,
        } => announce_expiry(next, out, handshake, *expires_at),
        EventKind::AccountPlaced {
            placed_in,
            access_role,
        } => {
            if awaits_placement(next) {
                let (placed_in, access_role) = (placed_in.clone(), access_role.clone());
                place(next, &mut out.notifications, placed_in, access_role, now)
            }
        }
        EventKind::PlacementBlocked { problems } => {
            if awaits_placement(next) {
                replace_blockers(next, Step::Place, problems, now)
            }
        }
        EventKind::PreflightChecked {
            predicted,
            organization,
            summary,
        } => predict(next, predicted, organization, summary, now),
        EventKind::SourceOrganizationObserved { organization } => {
            // Only what the operator did not give, and only while the account is still in it.
            if next.source_organization.is_none() && next.in_old_organization {
                next.source_organization = Some(organization.clone());
            }
        }
    }
}
