//! What the reconciler corrects: the real state of one account, as the Organizations API
//! shows it, against its record. Each difference becomes a domain event with a
//! deterministic id (so a correction applies once, however many passes see it) applied
//! through the same transitions as every CloudTrail event; nothing here writes a record.
//!
//! The corrections are chained: each is tried on the record as the previous ones left it
//! (a member found outside its organization awaits its invitation, and can then take the
//! open invitation found in the same pass), and only those that change it are kept, so a
//! second pass over a corrected record proposes nothing.
//!
//! The target listing the account makes it `Joined` only when we invited it
//! ([`unclaimed_membership`]): the record holds the target's open offer, or the target
//! lists an invitation of its own, sent after the account was enrolled, that the account
//! accepted. An account that is a member without that (one of the target's own accounts,
//! enrolled by mistake or on purpose) is left alone and reported, never joined: joined, the
//! placer would move and tag it.

use chrono::{DateTime, Duration, Utc};

use super::event::{Closure, DomainEvent, EventKind};
use super::function::FunctionName;
use super::handshake::HandshakeState;
use super::ids::{HandshakeId, OrganizationId};
use super::observation::Observation;
use super::phase::{Phase, Role};
use super::policy::ObservedHandshake;
use super::record::{OnboardingRecord, Target};
use super::transition::apply;

/// No progress for this long, while not `Joined`, is a stall (the default).
pub const STALL_AFTER: Duration = Duration::hours(24);
/// An invitation closing within this long is announced as expiring (the default).
pub const EXPIRING_WITHIN: Duration = Duration::hours(48);

/// When a record is stalled and an invitation expiring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub stall_after: Duration,
    pub expiring_within: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            stall_after: STALL_AFTER,
            expiring_within: EXPIRING_WITHIN,
        }
    }
}

/// Where an account stands in the organization it is leaving, as DescribeOrganization in
/// the account (through the spoke role) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldOrganization {
    /// In no organization: out of leaving (a member left or was removed; a management
    /// account's organization was deleted).
    None,
    /// Still in `organization`. For the management account of it, how many other
    /// accounts it still has (ListAccounts there), when that was read.
    Member {
        organization: OrganizationId,
        other_members: Option<u32>,
    },
}

/// What the API showed about one account in this pass.
#[derive(Debug, Clone, Default)]
pub struct RealState<'a> {
    /// The target organization lists the account (ListAccounts, the hub's credentials):
    /// the proof of joining.
    pub in_target: bool,
    /// The target organization's handshakes with the account.
    pub handshakes: Vec<&'a ObservedHandshake>,
    /// Read only where the record may still be wrong about it ([`needs_account_read`]).
    pub old_organization: Option<OldOrganization>,
}

/// Whether the account itself must be asked: only a record that still believes the
/// account is in its old organization can be wrong about that.
pub fn needs_account_read(record: &OnboardingRecord) -> bool {
    // A billing transfer's account stays in its organization: read for its id only.
    record.phase != Phase::Joined && record.in_old_organization
}

/// The events that bring `record` to the real state, in the order to apply them.
pub fn corrections(
    record: &OnboardingRecord,
    state: &RealState<'_>,
    target: &Target,
    deadlines: Deadlines,
    now: DateTime<Utc>,
) -> Vec<DomainEvent> {
    let mut chain = Chain {
        record: record.clone(),
        events: Vec::new(),
        target,
        now,
    };
    let account = record.account_id.clone();
    if state.in_target {
        if unclaimed_membership(record, state).is_none() {
            take_accepted(&mut chain, state);
            chain.try_event("member", &account, EventKind::MembershipConfirmed);
        }
        return chain.events;
    }
    match (&state.old_organization, record.role) {
        (Some(OldOrganization::None), Role::Management) => {
            chain.try_event("deleted", &account, EventKind::OrganizationDeleted)
        }
        (Some(OldOrganization::None), _) => chain.try_event(
            "left",
            &account,
            EventKind::LeftOrganization { removed: false },
        ),
        (
            Some(OldOrganization::Member {
                other_members: Some(0),
                ..
            }),
            Role::Management,
        ) => chain.try_event("empty", &account, EventKind::MembersRemaining { count: 0 }),
        _ => {}
    }
    if let Some(OldOrganization::Member { organization, .. }) = &state.old_organization {
        // What the account's org-onboarding:source-organization tag says, once known.
        chain.try_event(
            "source",
            &account,
            EventKind::SourceOrganizationObserved {
                organization: organization.clone(),
            },
        );
    }
    close_current(&mut chain, state);
    take_open(&mut chain, state);
    announce_expiry(&mut chain, deadlines);
    let since = chain.record.phase_since;
    if now - since >= deadlines.stall_after {
        chain.try_event(
            "stalled",
            format!("{account}:{}", since.timestamp_millis()),
            EventKind::Stalled { since },
        );
    }
    chain.events
}

/// Why the target listing the account as a member does not make its record `Joined`:
/// the record never held an invitation of ours (it is not in its journey's offered phase),
/// and the target lists none it sent the account after it was enrolled that the account
/// accepted. `None` when the membership is ours to confirm (or the journey moves no
/// account, so membership proves nothing either way).
pub fn unclaimed_membership(record: &OnboardingRecord, state: &RealState<'_>) -> Option<String> {
    let journey = record.journey();
    if !state.in_target || !journey.moves_account() {
        return None;
    }
    let phases = journey.offer_phases();
    if record.phase == phases.offered && record.handshake.is_some() {
        return None;
    }
    if record.phase == phases.awaiting && accepted_invitation(record, state).is_some() {
        return None;
    }
    Some(format!(
        "the target organization lists {} as a member, but no invitation of this onboarding brought it in (its record is in {}): it is left alone, never moved or tagged; if it is one of the target's own accounts, it was enrolled by mistake",
        record.account_id, record.phase
    ))
}

/// How much earlier than the record an invitation may say it was sent and still count as
/// sent after the enrollment: the record's time is the enrolling machine's clock, the
/// invitation's is AWS's (and some report whole seconds).
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// The invitation the target sent the account after it was enrolled, that the account
/// accepted (the newest, if several), unless the record saw it closed.
fn accepted_invitation<'a>(
    record: &OnboardingRecord,
    state: &RealState<'a>,
) -> Option<&'a ObservedHandshake> {
    state
        .handshakes
        .iter()
        .copied()
        .filter(|h| {
            h.is_invitation()
                && h.state == HandshakeState::Accepted
                && h.requested_at
                    .is_some_and(|at| at >= record.created_at - CLOCK_SKEW)
                && !record.settled_handshakes.contains(&h.id)
        })
        .max_by_key(|h| h.requested_at)
}

/// An account awaiting its invitation that accepted one the target sent it since it was
/// enrolled (the event that would have said so was lost) takes that invitation first, so
/// its record names the handshake that brought it in.
fn take_accepted(chain: &mut Chain<'_>, state: &RealState<'_>) {
    if chain.record.phase != chain.record.journey().offer_phases().awaiting {
        return;
    }
    if let Some(handshake) = accepted_invitation(&chain.record, state) {
        take_invitation(chain, handshake);
    }
}

/// The record as the corrections so far leave it, and those corrections.
struct Chain<'a> {
    record: OnboardingRecord,
    events: Vec<DomainEvent>,
    target: &'a Target,
    now: DateTime<Utc>,
}

impl Chain<'_> {
    /// Keeps the correction `reconciler:<what>:<subject>` if it changes the record.
    fn try_event(&mut self, what: &'static str, subject: impl ToString, kind: EventKind) {
        let account = &self.record.account_id;
        let event = Observation::once(FunctionName::Reconciler, what, subject, account, kind)
            .into_event(self.now);
        let transition = apply(&self.record, &event, self.target, self.now);
        if transition.changed {
            self.record = transition.record;
            self.events.push(event);
        }
    }
}

/// The current invitation is closed: declined, cancelled or expired (by its state, or
/// because its expiry passed).
fn close_current(chain: &mut Chain<'_>, state: &RealState<'_>) {
    let listed = closed_current(&chain.record, state.handshakes.iter().copied(), chain.now);
    let unlisted = || {
        let current = chain.record.handshake_id().cloned()?;
        let listed = state.handshakes.iter().any(|h| h.id == current);
        let expired = chain
            .record
            .handshake_expires_at()
            .is_some_and(|at| at <= chain.now);
        (!listed && expired).then_some((current, Closure::Expired))
    };
    if let Some((current, closure)) = listed.or_else(unlisted) {
        chain.try_event(
            "closed",
            current.clone(),
            EventKind::InvitationClosed {
                handshake: current,
                closure,
            },
        );
    }
}

/// The record's current invitation, when `handshakes` (as the API lists them) show it
/// closed: declined, cancelled, or past its expiry. Each function that lists handshakes
/// closes it this way, so the inviter can send a new one.
pub fn closed_current<'h>(
    record: &OnboardingRecord,
    handshakes: impl IntoIterator<Item = &'h ObservedHandshake>,
    now: DateTime<Utc>,
) -> Option<(HandshakeId, Closure)> {
    let current = record.handshake_id()?;
    let observed = handshakes.into_iter().find(|h| &h.id == current)?;
    observed
        .closure(now)
        .map(|closure| (current.clone(), closure))
}

/// An account awaiting its invitation takes the newest open one the target sent it.
fn take_open(chain: &mut Chain<'_>, state: &RealState<'_>) {
    if chain.record.phase != Phase::AwaitingInvitation {
        return;
    }
    let newest_open = state
        .handshakes
        .iter()
        .filter(|h| h.is_open_invitation() && h.closure(chain.now).is_none())
        .max_by_key(|h| h.requested_at);
    if let Some(handshake) = newest_open {
        take_invitation(chain, handshake);
    }
}

/// The record takes `handshake`, an invitation of the target's, as its current one.
fn take_invitation(chain: &mut Chain<'_>, handshake: &ObservedHandshake) {
    chain.try_event(
        "invited",
        &handshake.id,
        EventKind::InvitationSent {
            handshake: handshake.id.clone(),
            organization: Some(chain.target.organization.clone()),
            expires_at: handshake.expires_at,
        },
    );
}

/// The current invitation closes within the deadline: announced once per invitation.
fn announce_expiry(chain: &mut Chain<'_>, deadlines: Deadlines) {
    let (Some(handshake), Some(expires_at)) = (
        chain.record.handshake_id().cloned(),
        chain.record.handshake_expires_at(),
    ) else {
        return;
    };
    if expires_at > chain.now && expires_at - chain.now <= deadlines.expiring_within {
        chain.try_event(
            "expiring",
            handshake.clone(),
            EventKind::InvitationExpiring {
                handshake,
                expires_at,
            },
        );
    }
}
