//! The pure transition: `apply(record, event, target, now)` gives the next record and what
//! it asks for. No I/O, no clock: everything comes in as arguments.
//!
//! Rules (tested in `shared/tests/domain_transitions.rs`, one or more per rule); `decide`
//! hands each event kind to the function of its rule:
//! - phases only move forward, except (a) the direct-to-standalone fallback, once
//!   (`fall_back_to_standalone`), and (b) a closed handshake, or one the acceptor refused
//!   (it failed verification), that was the record's current one (`Invited` →
//!   `AwaitingInvitation`: `close_invitation`, `drop_refused_invitation`);
//! - `Joined` and `Transferred` are terminal (only placement and the end of a billing
//!   transfer follow them); an event already applied is a no-op (`apply`);
//! - billing mode mirrors the invitation phases (`AwaitingTransfer`, `TransferInvited`)
//!   with the target's transfer invitation, and `Transferred` needs the target's own list
//!   of transfers (`confirm_transfer`); an accepted transfer that ends is reported as a
//!   blocker, never undone (`terminate_transfer`);
//! - an event about another handshake never changes the current one (`take_invitation`,
//!   `close_invitation`, `record_failure`); an invitation from another organization is
//!   reported once, never taken (`report_unexpected`);
//! - a management account stays in `DeletingOrganization` until its organization is
//!   deleted (`delete_organization`), blocked while enrolled members remain in it
//!   (`members_remaining`).
//!
//! Notifications are derived by comparing the record before and after
//! (`announce_phase_change`, `blocker_changes`), so no handler can forget one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::blocker::{classify, AwsFailure, Blocker, BlockerCode, FailureClass, Step};
use super::event::{Closure, DomainEvent, EventKind, Operation, Problem};
use super::ids::{AccountId, HandshakeId, OrganizationId};
use super::phase::{Phase, Role, TransferMode};
use super::placement::{asks_placement, awaits_placement, Placed};
use super::policy::Offer;
use super::preflight::PreflightSummary;
use super::record::{
    ClearedBlocker, Fallback, HistoryEntry, OnboardingRecord, Target, HANDSHAKE_MEMORY,
    HISTORY_LIMIT,
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
        if next.phase.is_terminal() && !asks_placement(&next) {
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
    match next.phase {
        Phase::AwaitingInvitation | Phase::AwaitingTransfer => {
            follow_ups.push(FollowUp::SendInvitation)
        }
        Phase::Invited | Phase::TransferInvited => follow_ups.extend(
            next.handshake_id
                .clone()
                .map(|handshake| FollowUp::AcceptInvitation { handshake }),
        ),
        Phase::Joined => notifications.push(Notification::AccountJoined),
        Phase::Transferred => {
            let terms = next.billing.clone().unwrap_or_default();
            notifications.push(Notification::BillingTransferred {
                transfer: terms.transfer.unwrap_or_default(),
                starts_at: terms.starts_at,
            })
        }
        Phase::LeavingOrganization | Phase::DeletingOrganization => {}
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

/// Records the event in the history, which keeps only the last `HISTORY_LIMIT` entries.
fn append_history(next: &mut OnboardingRecord, event: &DomainEvent, now: DateTime<Utc>) {
    next.history.push(HistoryEntry {
        event_id: event.id.clone(),
        occurred_at: event.occurred_at,
        applied_at: now,
        summary: summarize(&event.kind),
        phase: next.phase,
        source: event.source().to_owned(),
    });
    if next.history.len() > HISTORY_LIMIT {
        let excess = next.history.len() - HISTORY_LIMIT;
        next.history.drain(..excess);
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
        } => {
            let offer = Offered::new(Offer::TransferBilling, handshake, organization, *expires_at);
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
        EventKind::InvitationDeferred { code, message } => {
            defer_invitation(next, *code, message, now)
        }
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

/// Onboarding ends: the record says where the account is and how the target reaches it,
/// and what blocked placing it is cleared.
fn place(
    next: &mut OnboardingRecord,
    notifications: &mut Vec<Notification>,
    placed_in: Option<String>,
    access_role: Option<String>,
    now: DateTime<Utc>,
) {
    clear_steps(next, &[Step::Place]);
    // A billing transfer moves no account: `Billing Transferred` said it all.
    if next.transfer_mode != TransferMode::Billing {
        notifications.push(Notification::AccountPlaced {
            placed_in: placed_in.clone(),
            access_role: access_role.clone(),
        });
    }
    next.placed = Some(Placed {
        placed_in,
        access_role,
        at: now,
    });
}

/// The blockers of `step` become exactly `problems` (one still there keeps its `since`).
fn replace_blockers(
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
fn predict(
    next: &mut OnboardingRecord,
    predicted: &[Problem],
    organization: &Option<OrganizationId>,
    summary: &PreflightSummary,
    now: DateTime<Utc>,
) {
    // A billing transfer needs none of what the preflight predicts (no account leaves).
    let billing = next.transfer_mode == TransferMode::Billing;
    if (!next.in_old_organization && next.role != Role::Standalone) || billing {
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

/// A stall is announced for the phase the account has been in since `since`; once the
/// account moves on, that stall is over and the observation changes nothing.
fn announce_stall(next: &OnboardingRecord, out: &mut Decision, since: DateTime<Utc>) {
    if next.phase_since == since {
        out.notifications.push(Notification::Stalled { since });
    }
}

/// An expiry is announced for the current invitation only.
fn announce_expiry(
    next: &OnboardingRecord,
    out: &mut Decision,
    handshake: &HandshakeId,
    expires_at: DateTime<Utc>,
) {
    if next.phase.is_offered() && next.handshake_id.as_ref() == Some(handshake) {
        out.notifications.push(Notification::InvitationExpiring {
            handshake: handshake.clone(),
            expires_at,
        });
    }
}

/// A handshake an event says was sent to the account, and what it offers.
struct Offered<'a> {
    offer: Offer,
    handshake: &'a HandshakeId,
    organization: &'a Option<OrganizationId>,
    expires_at: Option<DateTime<Utc>>,
}

impl<'a> Offered<'a> {
    fn new(
        offer: Offer,
        handshake: &'a HandshakeId,
        organization: &'a Option<OrganizationId>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            offer,
            handshake,
            organization,
            expires_at,
        }
    }
}

/// An invitation from the target is taken by an account awaiting one of its kind (to join,
/// or billing mode's to transfer the bill), unless its handshake is settled or another one
/// is current; one from another organization is reported.
fn take_invitation(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    target: &Target,
    offered: &Offered,
) {
    let Offered {
        offer,
        handshake,
        organization,
        expires_at,
    } = *offered;
    if is_settled(next, handshake) || next.handshake_id.is_some() {
        return; // a settled handshake, or another one than the current
    }
    if let Some(org) = foreign(organization, target) {
        let reason = format!(
            "invited by organization {org}, not the target {}",
            target.organization
        );
        return report_unexpected(next, out, handshake, organization, reason);
    }
    // Only an account ready for an invitation of this kind takes it; one still leaving
    // or deleting gets it adopted by the inviter once it is ready.
    let [awaiting, offered, _] = next.transfer_mode.offer_phases();
    if next.phase == awaiting && next.transfer_mode.offer() == offer {
        next.phase = offered;
        next.handshake_id = Some(handshake.clone());
        next.handshake_expires_at = expires_at;
        clear_steps(next, &[Step::Invite]);
    }
}

/// Accepting another organization's invitation is reported. Accepting the target's is no
/// proof of joining (the tracker confirms it through the API), so it changes nothing here.
fn report_foreign_acceptance(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    target: &Target,
    handshake: &HandshakeId,
    organization: &Option<OrganizationId>,
) {
    if let Some(org) = foreign(organization, target) {
        let reason =
            format!("the account accepted an invitation from organization {org}, not the target");
        report_unexpected(next, out, handshake, organization, reason);
    }
}

/// The target organization listing the account as a member joins (a billing-mode account
/// never joins: its organization stays).
fn join_on_confirmed_membership(next: &mut OnboardingRecord, out: &mut Decision) {
    if next.transfer_mode == TransferMode::Billing {
        return;
    }
    join(next, next.handshake_id.clone());
    out.reason = Some("the target organization lists the account as a member".into());
}

/// Organizations recording the account joining the target's management account joins.
fn join_on_service_event(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    target: &Target,
    management_account: &AccountId,
) {
    if *management_account == target.management_account
        && next.transfer_mode != TransferMode::Billing
    {
        join(next, next.handshake_id.clone());
        out.reason =
            Some("AWS Organizations recorded the account joining the target organization".into());
    }
}

/// A closed handshake is settled; if it was the current one, an invited account awaits a
/// new invitation.
fn close_invitation(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    handshake: &HandshakeId,
    closure: Closure,
) {
    settle(next, handshake);
    if next.handshake_id.as_ref() == Some(handshake) {
        let how = match closure {
            Closure::Declined => "declined",
            Closure::Canceled => "cancelled",
            Closure::Expired => "expired",
            Closure::Withdrawn => "withdrawn",
        };
        let reason = format!("invitation {handshake} was {how}; a new one will be sent");
        drop_current_invitation(next, out, reason);
    }
}

/// A member that leaves (or is removed from) its old organization awaits its invitation; a
/// management account never leaves, it deletes its organization.
fn leave_organization(next: &mut OnboardingRecord, out: &mut Decision, removed: bool) {
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
fn delete_organization(next: &mut OnboardingRecord, out: &mut Decision) {
    let billing = next.transfer_mode == TransferMode::Billing;
    if next.role != Role::Management || !next.in_old_organization || billing {
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
fn out_of_old_organization(next: &mut OnboardingRecord, steps: &[Step]) {
    next.in_old_organization = false;
    clear_steps(next, steps);
    clear_steps(next, &[Step::Preflight]);
    next.blockers
        .retain(|b| b.code != BlockerCode::StillInOrganization);
}

/// A failed call, as the rules read it.
struct Failed<'a> {
    operation: Operation,
    failure: &'a AwsFailure,
    handshake: &'a Option<HandshakeId>,
    occurred_at: DateTime<Utc>,
}

/// A failed call blocks its step, or falls a direct-mode member back to the standalone
/// path; a transient failure, one about a step done or another handshake, or one that
/// happened before the success that cleared its blocker, changes nothing.
fn record_failure(
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
    if code == BlockerCode::StillInOrganization && can_fall_back(next, operation) {
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
fn is_stale_failure(
    next: &OnboardingRecord,
    operation: Operation,
    handshake: &Option<HandshakeId>,
) -> bool {
    let about_another_handshake = handshake.is_some()
        && next.handshake_id.is_some()
        && handshake != &next.handshake_id
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
fn fall_back_to_standalone(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    operation: Operation,
    failure: &AwsFailure,
    now: DateTime<Utc>,
) {
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
        Blocker::from_failure(BlockerCode::StillInOrganization, Step::Leave, failure, now),
    );
    out.reason = Some(reason);
}

/// A management account deleting its organization is no longer blocked by its members once
/// none remains.
fn members_remaining(next: &mut OnboardingRecord, count: u32) {
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

/// An invitation the acceptor refused is reported and, if it was the current one (a forged
/// event put it there), dropped so the target organization's own can be taken.
fn drop_refused_invitation(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    handshake: &HandshakeId,
    organization: &Option<OrganizationId>,
    reason: &str,
) {
    if next.handshake_id.as_ref() == Some(handshake) {
        let why = format!("invitation {handshake} failed verification ({reason})");
        drop_current_invitation(next, out, why);
    }
    report_unexpected(next, out, handshake, organization, reason.to_owned())
}

/// A failed access check blocks the access step; a successful one clears it.
fn access_checked(next: &mut OnboardingRecord, failure: Option<&AwsFailure>, now: DateTime<Utc>) {
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
fn call_refused(next: &mut OnboardingRecord, failure: &AwsFailure, now: DateTime<Utc>) {
    let code = match classify(failure) {
        FailureClass::Blocker(code) => code,
        _ => BlockerCode::UnknownError,
    };
    add_blocker(
        next,
        Blocker::from_failure(code, Step::Access, failure, now),
    );
}

/// An account awaiting its invitation that the plan has no slot for shows why it waits
/// and when the next slot opens (the message is kept up to date).
fn defer_invitation(
    next: &mut OnboardingRecord,
    code: BlockerCode,
    message: &str,
    now: DateTime<Utc>,
) {
    if !next.phase.awaits_offer() {
        return;
    }
    match next
        .blockers
        .iter_mut()
        .find(|b| b.code == code && b.step == Step::Invite)
    {
        Some(blocker) => message.clone_into(&mut blocker.message),
        None => {
            let mut blocker = Blocker::new(code, Step::Invite, now);
            message.clone_into(&mut blocker.message);
            add_blocker(next, blocker);
        }
    }
}

/// Remembers when each blocker the event cleared was cleared (the event's time), so a
/// refusal from before it never brings the blocker back.
fn remember_cleared(record: &OnboardingRecord, next: &mut OnboardingRecord, at: DateTime<Utc>) {
    for old in &record.blockers {
        if next.blockers.iter().any(|b| b.same_as(old)) {
            continue;
        }
        next.cleared_blockers.retain(|c| c.code != old.code);
        next.cleared_blockers
            .push(ClearedBlocker { code: old.code, at });
    }
}

/// Forgets the current handshake; an invited account goes back to awaiting an invitation,
/// for `reason`.
fn drop_current_invitation(next: &mut OnboardingRecord, out: &mut Decision, reason: String) {
    next.handshake_id = None;
    next.handshake_expires_at = None;
    if next.phase.is_offered() {
        next.phase = next.transfer_mode.offer_phases()[0];
        out.reason = Some(reason);
    }
}

/// The target's own list of transfers showing the account's as accepted transfers its
/// bill (billing mode): the proof `Transferred` needs.
fn confirm_transfer(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    transfer: &str,
    starts_at: Option<DateTime<Utc>>,
) {
    if next.transfer_mode != TransferMode::Billing || next.phase.is_terminal() {
        return;
    }
    next.phase = Phase::Transferred;
    next.blockers.clear();
    let terms = next.billing.get_or_insert_with(Default::default);
    terms.transfer = Some(transfer.to_owned());
    terms.starts_at = starts_at;
    out.reason = Some(format!(
        "the target organization lists billing transfer {transfer} as accepted"
    ));
}

/// An accepted transfer that ends is reported (a blocker a person reads), never undone:
/// the record stays `Transferred`. One that ends before it was accepted was withdrawn:
/// a new invitation follows.
fn terminate_transfer(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    transfer: Option<&str>,
    ended_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    if next.transfer_mode != TransferMode::Billing {
        return;
    }
    if next.phase != Phase::Transferred {
        let reason = format!(
            "the billing transfer {} was ended before it was accepted; a new invitation will be sent",
            transfer.unwrap_or("invitation")
        );
        return drop_current_invitation(next, out, reason);
    }
    let terms = next.billing.get_or_insert_with(Default::default);
    if transfer.is_some_and(|t| terms.transfer.as_deref().is_some_and(|ours| ours != t)) {
        return; // another transfer than the accepted one
    }
    terms.ended_at = ended_at.or(Some(now));
    let ended = terms.ended_at.map(|at| at.to_rfc3339()).unwrap_or_default();
    let failure = AwsFailure::new(
        "TerminateResponsibilityTransfer",
        None,
        format!(
            "billing transfer {} ended at {ended}",
            transfer.or(terms.transfer.as_deref()).unwrap_or("?")
        ),
    );
    add_blocker(
        next,
        Blocker::from_failure(
            BlockerCode::TransferTerminated,
            Step::Transfer,
            &failure,
            now,
        ),
    );
}

/// The organization an event names, when it is not the target's.
fn foreign<'a>(
    organization: &'a Option<OrganizationId>,
    target: &Target,
) -> Option<&'a OrganizationId> {
    organization
        .as_ref()
        .filter(|org| **org != target.organization)
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

/// Adds `blocker` unless the record has it; an actual refusal replaces the prediction of
/// the same code.
fn add_blocker(record: &mut OnboardingRecord, blocker: Blocker) {
    if !blocker.is_predicted() {
        record
            .blockers
            .retain(|b| !(b.is_predicted() && b.code == blocker.code));
    }
    if !record.blockers.iter().any(|b| b.same_as(&blocker)) {
        record.blockers.push(blocker);
    }
}

fn clear_steps(record: &mut OnboardingRecord, steps: &[Step]) {
    record.blockers.retain(|b| !steps.contains(&b.step));
}
