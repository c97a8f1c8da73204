//! The target's offer (an invitation to join, or to transfer the bill): taken by an account
//! awaiting it, closed, refused or deferred; an invitation from another organization is
//! reported once and never taken.

use chrono::{DateTime, Utc};

use super::blockers::{add_blocker, clear_steps};
use super::{Decision, Notification};
use crate::domain::blocker::Step;
use crate::domain::event::Closure;
use crate::domain::ids::{HandshakeId, OrganizationId};
use crate::domain::policy::Offer;
use crate::domain::quota::WaitingReason;
use crate::domain::record::{CurrentHandshake, OnboardingRecord, Target, HANDSHAKE_MEMORY};

/// A handshake an event says was sent to the account, and what it offers.
pub(super) struct Offered<'a> {
    pub(super) offer: Offer,
    pub(super) handshake: &'a HandshakeId,
    pub(super) organization: &'a Option<OrganizationId>,
    pub(super) expires_at: Option<DateTime<Utc>>,
    /// A billing transfer's id, when the offer names it.
    pub(super) transfer: Option<&'a str>,
}

impl<'a> Offered<'a> {
    pub(super) fn new(
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
            transfer: None,
        }
    }

    /// The offer of the billing transfer `transfer`, when known.
    pub(super) fn carrying(self, transfer: Option<&'a str>) -> Self {
        Self { transfer, ..self }
    }
}

/// An invitation from the target is taken by an account awaiting one of its kind (to join,
/// or billing mode's to transfer the bill), unless its handshake is settled or another one
/// is current; one from another organization is reported.
pub(super) fn take_invitation(
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
        transfer,
    } = *offered;
    if is_settled(next, handshake) || next.handshake.is_some() {
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
    let journey = next.journey();
    let phases = journey.offer_phases();
    if next.phase == phases.awaiting && journey.offer() == offer {
        next.phase = phases.offered;
        next.handshake = Some(CurrentHandshake {
            id: handshake.clone(),
            expires_at,
        });
        if let Some(terms) = next.transfer_mode.billing_terms_mut() {
            terms.offered = transfer.map(str::to_owned);
        }
        clear_steps(next, &[Step::Invite]);
    }
}

/// Accepting another organization's invitation is reported. Accepting the target's is no
/// proof of joining (the tracker confirms it through the API), so it changes nothing here.
pub(super) fn report_foreign_acceptance(
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

/// A closed handshake is settled; if it was the current one, an invited account awaits a
/// new invitation.
pub(super) fn close_invitation(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    handshake: &HandshakeId,
    closure: Closure,
) {
    settle(next, handshake);
    if next.handshake_id() == Some(handshake) {
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

/// An invitation the acceptor refused is reported and, if it was the current one (a forged
/// event put it there), dropped so the target organization's own can be taken.
pub(super) fn drop_refused_invitation(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    handshake: &HandshakeId,
    organization: &Option<OrganizationId>,
    reason: &str,
) {
    if next.handshake_id() == Some(handshake) {
        let why = format!("invitation {handshake} failed verification ({reason})");
        drop_current_invitation(next, out, why);
    }
    report_unexpected(next, out, handshake, organization, reason.to_owned())
}

/// Forgets the current handshake; an invited account goes back to awaiting an invitation,
/// for `reason`.
pub(super) fn drop_current_invitation(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    reason: String,
) {
    next.handshake = None;
    if next.phase.is_offered() {
        next.phase = next.journey().offer_phases().awaiting;
        out.reason = Some(reason);
    }
}

/// An account awaiting its invitation that the plan has no slot for shows why it waits: its
/// stable reason only, so seeing the same reason again changes nothing (no write, no
/// history entry, no notification). A waiting state written with counts by an earlier
/// version is rewritten once, keeping its `since`; a reason that no longer holds goes.
pub(super) fn defer_invitation(
    next: &mut OnboardingRecord,
    reason: WaitingReason,
    now: DateTime<Utc>,
) {
    if !next.phase.awaits_offer() {
        return;
    }
    next.blockers
        .retain(|b| WaitingReason::of_blocker(b).is_none_or(|r| r == reason));
    let wanted = reason.blocker(now);
    match next.blockers.iter_mut().find(|b| b.same_as(&wanted)) {
        // AWS's own refusal of the same code says it already.
        Some(refused) if refused.raw_code.is_some() => {}
        Some(waiting) => *waiting = reason.blocker(waiting.since),
        None => add_blocker(next, wanted),
    }
}

/// The organization an event names, when it is not the target's.
pub(super) fn foreign<'a>(
    organization: &'a Option<OrganizationId>,
    target: &Target,
) -> Option<&'a OrganizationId> {
    organization
        .as_ref()
        .filter(|org| **org != target.organization)
}

/// Remembers a handshake that is not the target's and reports it, once.
pub(super) fn report_unexpected(
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

pub(super) fn is_settled(record: &OnboardingRecord, handshake: &HandshakeId) -> bool {
    record.settled_handshakes.contains(handshake)
}

pub(super) fn settle(record: &mut OnboardingRecord, handshake: &HandshakeId) {
    if !is_settled(record, handshake) {
        record.settled_handshakes.push(handshake.clone());
        if record.settled_handshakes.len() > HANDSHAKE_MEMORY {
            record.settled_handshakes.remove(0);
        }
    }
}
