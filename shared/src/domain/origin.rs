//! Which records an event may change: an event is a hint, and only an account that can
//! know what happened may speak for a record. Customer accounts forward their CloudTrail
//! events to the hub, so customer A's account can deliver an event naming customer B's
//! account; that event is ignored (with a reason naming both), never applied.
//!
//! The rules are defined once, per CloudTrail event the product reads (a call's success
//! and failure alike): [`TrailEvent::speakers`]. An event kind takes the rule of the
//! CloudTrail event it is read from. The CloudTrail reader names those events
//! ([`crate::cloudtrail::trail_event`]), and the fixtures' specification the trust-boundary
//! tests hold the tracker to (`fixtures::allowed_origins`) reads the same rules.
//!
//! What a function observed through the API itself (no CloudTrail record behind it) speaks
//! for the account it was observed in; the observations only a function makes (members
//! remaining, a refused invitation, access checks, a confirmed membership) are never
//! accepted from CloudTrail.

use super::event::{Closure, DomainEvent, EventKind, Operation};
use super::ids::AccountId;
use super::record::{OnboardingRecord, Target};

/// Who, relative to a record (the account X), recorded an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// X itself.
    TheAccount,
    /// The target organization's management account.
    TargetManagement,
    /// X's enrolled old management account.
    OldManagement,
}

use Speaker::{OldManagement, TargetManagement, TheAccount};

/// A CloudTrail event the product reads: an API call it follows, or one of AWS
/// Organizations' service events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailEvent {
    Call(Operation),
    /// `AccountJoinedOrganization`, recorded in the management account of the organization
    /// joined.
    AccountJoinedOrganization,
    /// `AccountDepartedOrganization`, recorded in the management account of the
    /// organization left.
    AccountDepartedOrganization,
}

impl TrailEvent {
    /// The origin rules: the accounts whose CloudTrail may speak for this event (succeeded
    /// or failed) about the account X.
    pub const fn speakers(self) -> &'static [Speaker] {
        match self {
            // The target's own calls, and its record of X joining.
            TrailEvent::Call(
                Operation::InviteAccountToOrganization
                | Operation::InviteOrganizationToTransferResponsibility
                | Operation::CancelHandshake,
            )
            | TrailEvent::AccountJoinedOrganization => &[TargetManagement],
            // Either management account of a billing transfer may end it.
            TrailEvent::Call(Operation::TerminateResponsibilityTransfer) => {
                &[TheAccount, TargetManagement]
            }
            // X's own calls (leaving is the account's call: recorded in the account).
            TrailEvent::Call(
                Operation::AcceptHandshake
                | Operation::DeclineHandshake
                | Operation::LeaveOrganization
                | Operation::DeleteOrganization,
            ) => &[TheAccount],
            // A removal is the old management account's call: recorded there.
            TrailEvent::Call(Operation::RemoveAccountFromOrganization) => &[OldManagement],
            TrailEvent::AccountDepartedOrganization => &[OldManagement, TargetManagement],
        }
    }

    /// An event only the account itself may speak for is about the account that recorded
    /// it: the CloudTrail reader takes its subject from the envelope, and rejects a body
    /// naming a caller of another account ([`crate::cloudtrail`]).
    pub fn is_about_its_recorder(self) -> bool {
        matches!(self.speakers(), [TheAccount])
    }
}

/// The accounts whose CloudTrail may speak for an event of this kind: those of the
/// CloudTrail event it is read from.
fn speakers(kind: &EventKind) -> &'static [Speaker] {
    use TrailEvent::Call;
    let read_from = match kind {
        EventKind::InvitationSent { .. } => Call(Operation::InviteAccountToOrganization),
        EventKind::TransferInvitationSent { .. } => {
            Call(Operation::InviteOrganizationToTransferResponsibility)
        }
        EventKind::JoinedOrganization { .. } => TrailEvent::AccountJoinedOrganization,
        EventKind::TransferTerminated { .. } => Call(Operation::TerminateResponsibilityTransfer),
        EventKind::InvitationClosed { closure, .. } => match closure {
            Closure::Declined => Call(Operation::DeclineHandshake),
            Closure::Canceled => Call(Operation::CancelHandshake),
            // Observed by the functions, never read from a trail; were one to report it,
            // the inviter may say it withdrew, and either party that time ran out.
            Closure::Withdrawn => return &[TargetManagement],
            Closure::Expired => return &[TheAccount, TargetManagement],
        },
        EventKind::InvitationAccepted { .. } => Call(Operation::AcceptHandshake),
        EventKind::OrganizationDeleted => Call(Operation::DeleteOrganization),
        EventKind::LeftOrganization { removed: false } => Call(Operation::LeaveOrganization),
        EventKind::LeftOrganization { removed: true } => {
            Call(Operation::RemoveAccountFromOrganization)
        }
        EventKind::DepartedOrganization { .. } => TrailEvent::AccountDepartedOrganization,
        EventKind::CallFailed { operation, .. } => Call(*operation),
        EventKind::MembersRemaining { .. }
        | EventKind::InvitationRefused { .. }
        | EventKind::AccessChecked { .. }
        | EventKind::CallRefused { .. }
        | EventKind::MembershipConfirmed
        | EventKind::TransferConfirmed { .. }
        | EventKind::InvitationDeferred { .. }
        | EventKind::Stalled { .. }
        | EventKind::InvitationExpiring { .. }
        | EventKind::AccountPlaced { .. }
        | EventKind::PlacementBlocked { .. }
        | EventKind::SourceOrganizationObserved { .. }
        | EventKind::PreflightChecked { .. } => return &[],
    };
    read_from.speakers()
}

fn speaker_of(recorded_in: &AccountId, record: &OnboardingRecord, target: &Target) -> Vec<Speaker> {
    let mut roles = Vec::new();
    if *recorded_in == record.account_id {
        roles.push(TheAccount);
    }
    if *recorded_in == target.management_account {
        roles.push(TargetManagement);
    }
    if record.old_management_account.as_ref() == Some(recorded_in) {
        roles.push(OldManagement);
    }
    roles
}

fn describe(speaker: Speaker, record: &OnboardingRecord, target: &Target) -> String {
    match speaker {
        TheAccount => format!("the account itself ({})", record.account_id),
        TargetManagement => format!(
            "the target management account ({})",
            target.management_account
        ),
        OldManagement => match &record.old_management_account {
            Some(management) => format!("its old management account ({management})"),
            None => "its old management account (none enrolled)".to_owned(),
        },
    }
}

/// `Ok` when `event` may change `record`; else why not, naming both accounts.
pub fn may_change(
    event: &DomainEvent,
    record: &OnboardingRecord,
    target: &Target,
) -> Result<(), String> {
    let Some(recorded_in) = &event.recorded_in else {
        return Ok(());
    };
    let allowed = speakers(&event.kind);
    let roles = speaker_of(recorded_in, record, target);
    if allowed.iter().any(|speaker| roles.contains(speaker)) {
        return Ok(());
    }
    let who: Vec<String> = allowed
        .iter()
        .map(|speaker| describe(*speaker, record, target))
        .collect();
    Err(format!(
        "{} recorded in account {recorded_in} cannot change the record of account {}: only {} can speak for it",
        event.kind.name(),
        record.account_id,
        if who.is_empty() {
            "the product's own functions".to_owned()
        } else {
            who.join(" or ")
        }
    ))
}
