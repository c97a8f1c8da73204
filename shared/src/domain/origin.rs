//! Which records an event may change: an event is a hint, and only an account that can
//! know what happened may speak for a record. Customer accounts forward their CloudTrail
//! events to the hub, so customer A's account can deliver an event naming customer B's
//! account; that event is ignored (with a reason naming both), never applied.
//!
//! | event | may change the record of X when recorded in |
//! |---|---|
//! | InviteAccountToOrganization, InviteOrganizationToTransferResponsibility (success or failure), CancelHandshake | the target management account |
//! | TerminateResponsibilityTransfer | X itself, or the target management account (either party may end a transfer) |
//! | AccountJoinedOrganization (service event) | the target management account |
//! | AcceptHandshake, DeclineHandshake, LeaveOrganization, DeleteOrganization (success or failure) | X itself |
//! | RemoveAccountFromOrganization (success or failure) | X's enrolled old management account |
//! | AccountDepartedOrganization (service event) | X's old management account, or the target's |
//!
//! (LeaveOrganization is the account's own call: recorded in the account; a removal is the
//! old management account's call: recorded there.)
//!
//! What a function observed through the API itself (no CloudTrail record behind it) speaks
//! for the account it was observed in; the observations only a function makes (members
//! remaining, a refused invitation, access checks, a confirmed membership) are never
//! accepted from CloudTrail.

use super::event::{Closure, DomainEvent, EventKind, Operation};
use super::ids::AccountId;
use super::record::{OnboardingRecord, Target};

/// Who, relative to a record, recorded an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Speaker {
    TheAccount,
    TargetManagement,
    OldManagement,
}

use Speaker::{OldManagement, TargetManagement, TheAccount};

/// The accounts whose CloudTrail may speak for an event of this kind.
fn speakers(kind: &EventKind) -> &'static [Speaker] {
    match kind {
        EventKind::InvitationSent { .. }
        | EventKind::TransferInvitationSent { .. }
        | EventKind::JoinedOrganization { .. } => &[TargetManagement],
        EventKind::TransferTerminated { .. } => &[TheAccount, TargetManagement],
        EventKind::InvitationClosed { closure, .. } => match closure {
            Closure::Declined => &[TheAccount],
            Closure::Canceled | Closure::Withdrawn => &[TargetManagement],
            Closure::Expired => &[TheAccount, TargetManagement],
        },
        EventKind::InvitationAccepted { .. } | EventKind::OrganizationDeleted => &[TheAccount],
        EventKind::LeftOrganization { removed: false } => &[TheAccount],
        EventKind::LeftOrganization { removed: true } => &[OldManagement],
        EventKind::DepartedOrganization { .. } => &[OldManagement, TargetManagement],
        EventKind::CallFailed { operation, .. } => match operation {
            Operation::InviteAccountToOrganization
            | Operation::InviteOrganizationToTransferResponsibility
            | Operation::CancelHandshake => &[TargetManagement],
            Operation::TerminateResponsibilityTransfer => &[TheAccount, TargetManagement],
            Operation::RemoveAccountFromOrganization => &[OldManagement],
            Operation::AcceptHandshake
            | Operation::DeclineHandshake
            | Operation::LeaveOrganization
            | Operation::DeleteOrganization => &[TheAccount],
        },
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
        | EventKind::PreflightChecked { .. } => &[],
    }
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
