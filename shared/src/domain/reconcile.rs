//! What the reconciler corrects: the real state of one account, as the Organizations API
//! shows it, against its record. Each difference becomes a domain event with a
//! deterministic id (so a correction applies once, however many passes see it) applied
//! through the same transitions as every CloudTrail event; nothing here writes a record.
//!
//! The corrections are chained: each is tried on the record as the previous ones left it
//! (a member found outside its organization awaits its invitation, and can then take the
//! open invitation found in the same pass), and only those that change it are kept, so a
//! second pass over a corrected record proposes nothing.

use chrono::{DateTime, Duration, Utc};

use super::event::{DomainEvent, EventKind};
use super::ids::{AccountId, OrganizationId};
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
        chain.try_event(format!("member:{account}"), EventKind::MembershipConfirmed);
        return chain.events;
    }
    match (&state.old_organization, record.role) {
        (Some(OldOrganization::None), Role::Management) => {
            chain.try_event(format!("deleted:{account}"), EventKind::OrganizationDeleted)
        }
        (Some(OldOrganization::None), _) => chain.try_event(
            format!("left:{account}"),
            EventKind::LeftOrganization { removed: false },
        ),
        (
            Some(OldOrganization::Member {
                other_members: Some(0),
                ..
            }),
            Role::Management,
        ) => chain.try_event(
            format!("empty:{account}"),
            EventKind::MembersRemaining { count: 0 },
        ),
        _ => {}
    }
    if let Some(OldOrganization::Member { organization, .. }) = &state.old_organization {
        // What the account's org-onboarding:source-organization tag says, once known.
        chain.try_event(
            format!("source:{account}"),
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
            format!("stalled:{account}:{}", since.timestamp_millis()),
            EventKind::Stalled { since },
        );
    }
    chain.events
}

/// The record as the corrections so far leave it, and those corrections.
struct Chain<'a> {
    record: OnboardingRecord,
    events: Vec<DomainEvent>,
    target: &'a Target,
    now: DateTime<Utc>,
}

impl Chain<'_> {
    /// Keeps the correction `reconciler:<what>` if it changes the record.
    fn try_event(&mut self, what: String, kind: EventKind) {
        let event = observed(format!("reconciler:{what}"), &self.record.account_id, kind);
        let transition = apply(&self.record, &event, self.target, self.now);
        if transition.changed {
            self.record = transition.record;
            self.events.push(event);
        }
    }
}

fn observed(id: String, account: &AccountId, kind: EventKind) -> DomainEvent {
    DomainEvent::observed(id, account.clone(), kind)
}

/// The current invitation is closed: declined, cancelled or expired (by its state, or
/// because its expiry passed).
fn close_current(chain: &mut Chain<'_>, state: &RealState<'_>) {
    let Some(current) = chain.record.handshake_id().cloned() else {
        return;
    };
    let observed = state.handshakes.iter().find(|h| h.id == current);
    let closure = match observed {
        Some(handshake) => handshake.closure(chain.now),
        None => chain
            .record
            .handshake_expires_at()
            .filter(|at| *at <= chain.now)
            .map(|_| super::event::Closure::Expired),
    };
    if let Some(closure) = closure {
        chain.try_event(
            format!("closed:{current}"),
            EventKind::InvitationClosed {
                handshake: current,
                closure,
            },
        );
    }
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
        chain.try_event(
            format!("invited:{}", handshake.id),
            EventKind::InvitationSent {
                handshake: handshake.id.clone(),
                organization: Some(chain.target.organization.clone()),
                expires_at: handshake.expires_at,
            },
        );
    }
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
            format!("expiring:{handshake}"),
            EventKind::InvitationExpiring {
                handshake,
                expires_at,
            },
        );
    }
}
