//! Domain events: what happened to one account, in the product's words.
//!
//! CloudTrail events are read into these by the CloudTrail reader (which depends on the
//! domain, never the reverse); the functions also produce them from what they observe
//! through the API (an accepted handshake, the members left in an organization), so every
//! change goes through the same transition function.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::blocker::{AwsFailure, BlockerCode, Step};
use super::function::FunctionName;
use super::ids::{AccountId, HandshakeId, OrganizationId};
use super::preflight::PreflightSummary;
use super::quota::WaitingReason;

/// Declares [`Operation`] from one list of its variants, and derives from that list
/// [`Operation::ALL`] and [`Operation::name`] (a variant is named after its API call), so
/// the compiler keeps both complete.
macro_rules! operations {
    ($($(#[doc = $doc:literal])* $operation:ident,)+) => {
        /// The AWS Organizations calls the product follows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Operation {
            $($(#[doc = $doc])* $operation,)+
        }

        impl Operation {
            /// Every operation, in the order of their declaration.
            pub const ALL: [Operation; [$(Operation::$operation),+].len()] =
                [$(Operation::$operation),+];

            /// The API name, as CloudTrail's `eventName` spells it. `const` so that
            /// [`crate::cloudtrail::FOLLOWED_API_CALLS`] is a compile-time list.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Operation::$operation => stringify!($operation),)+
                }
            }
        }
    };
}

operations! {
    InviteAccountToOrganization,
    AcceptHandshake,
    DeclineHandshake,
    CancelHandshake,
    LeaveOrganization,
    RemoveAccountFromOrganization,
    DeleteOrganization,
    /// The target inviting a customer organization to transfer its bill (billing mode).
    InviteOrganizationToTransferResponsibility,
    /// Either management account ending a billing transfer.
    TerminateResponsibilityTransfer,
}

impl Operation {
    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The step of the journey a failure of this call blocks.
    pub fn step(self) -> Step {
        match self {
            Operation::InviteAccountToOrganization
            | Operation::InviteOrganizationToTransferResponsibility => Step::Invite,
            Operation::AcceptHandshake
            | Operation::DeclineHandshake
            | Operation::CancelHandshake => Step::Accept,
            Operation::LeaveOrganization | Operation::RemoveAccountFromOrganization => Step::Leave,
            Operation::DeleteOrganization => Step::DeleteOrganization,
            Operation::TerminateResponsibilityTransfer => Step::Transfer,
        }
    }
}

/// How a handshake stopped being open without being accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Closure {
    Declined,
    Canceled,
    Expired,
    /// A billing transfer the inviter withdrew before it was accepted.
    Withdrawn,
}

/// Something that happened to one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// CloudTrail `eventID`, or an id the function derived for what it observed; the
    /// de-duplication key.
    pub id: String,
    /// The account the event is about.
    pub account: AccountId,
    pub occurred_at: DateTime<Utc>,
    pub kind: EventKind,
    /// The account whose CloudTrail recorded the event; `None` for what a function
    /// observed through the API itself. It decides which records the event may change
    /// ([`crate::domain::origin`]).
    #[serde(default)]
    pub recorded_in: Option<AccountId>,
    /// Fed by an operator (`onboardctl replay`) rather than delivered by EventBridge: the
    /// same rules apply, and the account's history marks the entry replayed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
}

impl DomainEvent {
    /// Who made the event known, as an account's history shows it: `cloudtrail` for an
    /// AWS record, else the function that observed it (the prefix of its id, e.g.
    /// `reconciler:left:…`), `tracker` for the tracker's own derived observations.
    pub fn source(&self) -> &'static str {
        if self.recorded_in.is_some() {
            return "cloudtrail";
        }
        self.observer().as_str()
    }

    /// The function that observed the event: the prefix of its id, else the tracker
    /// (which derives its own observations from other events' ids).
    pub fn observer(&self) -> FunctionName {
        self.id
            .split_once(':')
            .and_then(|(prefix, _)| prefix.parse().ok())
            .unwrap_or(FunctionName::Tracker)
    }

    /// A billing transfer's end names two management accounts; the record is the
    /// customer's, never the target's own: an event about the target's management account
    /// is turned to its counterpart.
    pub fn about_customer(mut self, target_management: &AccountId) -> Self {
        if let EventKind::TransferTerminated {
            counterpart: Some(other),
            ..
        } = &mut self.kind
        {
            if self.account == *target_management {
                std::mem::swap(&mut self.account, other);
            }
        }
        self
    }

    /// What a function observed through the API (no CloudTrail record behind it).
    pub fn observed(id: impl Into<String>, account: AccountId, kind: EventKind) -> Self {
        Self {
            id: id.into(),
            account,
            occurred_at: chrono::Utc::now(),
            kind,
            recorded_in: None,
            replayed: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// An organization invited the account (InviteAccountToOrganization succeeded).
    InvitationSent {
        handshake: HandshakeId,
        /// The inviting organization, when the event names it.
        organization: Option<OrganizationId>,
        expires_at: Option<DateTime<Utc>>,
    },
    /// The target invited the customer's management account to transfer its bill
    /// (InviteOrganizationToTransferResponsibility succeeded; billing mode).
    TransferInvitationSent {
        handshake: HandshakeId,
        organization: Option<OrganizationId>,
        expires_at: Option<DateTime<Utc>>,
        /// The transfer the handshake carries (`rt-…`), when the observer saw it: the one
        /// whose acceptance is the record's proof. Absent in events of earlier versions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer: Option<String>,
    },
    /// The account accepted an invitation (AcceptHandshake succeeded). A prompt to confirm
    /// the membership through the API, never proof of joining by itself.
    InvitationAccepted {
        handshake: HandshakeId,
        organization: Option<OrganizationId>,
    },
    /// A handshake was declined, cancelled or expired.
    InvitationClosed {
        handshake: HandshakeId,
        closure: Closure,
    },
    /// The account is no longer in its old organization (left, or removed by its management account).
    LeftOrganization { removed: bool },
    /// Organizations' own record that the account departed an organization (a service
    /// event only that organization's management account sees): like leaving it.
    DepartedOrganization { removed: bool },
    /// The account's (old) organization was deleted: it is standalone now.
    OrganizationDeleted,
    /// Organizations' own record that the account joined the organization of
    /// `management_account` (a service event only that management account sees).
    JoinedOrganization { management_account: AccountId },
    /// An Organizations call about this account failed.
    CallFailed {
        operation: Operation,
        failure: AwsFailure,
        handshake: Option<HandshakeId>,
    },
    /// Observed by the tracker: how many enrolled members are still in this management
    /// account's organization.
    MembersRemaining { count: u32 },
    /// The acceptor refused an invitation the verification policy did not pass.
    InvitationRefused {
        handshake: HandshakeId,
        organization: Option<OrganizationId>,
        reason: String,
    },
    /// Access to the account through the spoke role failed (or works again).
    AccessChecked { failure: Option<AwsFailure> },
    /// A call the functions make in the account (listing its handshakes, reading its
    /// organization) was refused for good, e.g. by a service control policy.
    CallRefused { call: String, failure: AwsFailure },
    /// The inviter planned no invitation slot for the account yet: it waits, for the
    /// reason given (the invitation quota, or the organization's account limit). Only the
    /// stable reason: the counts and times behind it change every run.
    InvitationDeferred { reason: WaitingReason },
    /// The API, with the hub's own credentials, shows the account in the target
    /// organization: the proof of joining (with the target's service event).
    MembershipConfirmed,
    /// The API, with the hub's own credentials, lists the billing transfer `transfer` to
    /// the account as accepted, taking effect at `starts_at`: the proof of the transfer.
    TransferConfirmed {
        transfer: String,
        starts_at: Option<DateTime<Utc>>,
    },
    /// An accepted billing transfer was ended (TerminateResponsibilityTransfer, by either
    /// management account): the target no longer pays the customer's bill from `ended_at`.
    TransferTerminated {
        transfer: Option<String>,
        ended_at: Option<DateTime<Utc>>,
        /// The transfer's other management account, as CloudTrail named it.
        #[serde(default)]
        counterpart: Option<AccountId>,
    },
    /// Observed by the reconciler: the account has made no progress since `since` (when
    /// it entered its phase). Announced once per stall.
    Stalled { since: DateTime<Utc> },
    /// Observed by the reconciler: the current invitation closes soon unless accepted.
    InvitationExpiring {
        handshake: HandshakeId,
        expires_at: DateTime<Utc>,
    },
    /// Observed by the placer: the joined account is in its OU (`placed_in`), carries its
    /// tags, and the target assumed `access_role` in it.
    AccountPlaced {
        placed_in: Option<String>,
        access_role: Option<String>,
    },
    /// Observed by the placer: what keeps the joined account from being placed. Replaces
    /// the placement blockers the record had.
    PlacementBlocked { problems: Vec<Problem> },
    /// Observed by the reconciler: the organization the account is leaving (for its
    /// `org-onboarding:source-organization` tag), when the record did not know it.
    SourceOrganizationObserved { organization: OrganizationId },
    /// Observed by the preflight: the blockers it predicts (replacing those it predicted
    /// before), the organization the account is in, and what it found to look at.
    PreflightChecked {
        predicted: Vec<Problem>,
        organization: Option<OrganizationId>,
        summary: PreflightSummary,
    },
}

/// One reason a step cannot proceed, with what AWS (or the function that found it) said:
/// what the placer could not do, what the preflight predicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub code: BlockerCode,
    pub failure: AwsFailure,
}

impl EventKind {
    /// What happens after the move: the only events a joined (or transferred) record
    /// takes: its placement, and the end of a billing transfer.
    pub fn follows_the_move(&self) -> bool {
        matches!(
            self,
            EventKind::AccountPlaced { .. }
                | EventKind::PlacementBlocked { .. }
                | EventKind::TransferTerminated { .. }
        )
    }
}

impl EventKind {
    /// A short name for logs and history.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::InvitationSent { .. } => "invitation_sent",
            EventKind::TransferInvitationSent { .. } => "transfer_invitation_sent",
            EventKind::TransferConfirmed { .. } => "transfer_confirmed",
            EventKind::TransferTerminated { .. } => "transfer_terminated",
            EventKind::InvitationAccepted { .. } => "invitation_accepted",
            EventKind::InvitationClosed { .. } => "invitation_closed",
            EventKind::LeftOrganization { .. } => "left_organization",
            EventKind::DepartedOrganization { .. } => "departed_organization",
            EventKind::OrganizationDeleted => "organization_deleted",
            EventKind::JoinedOrganization { .. } => "joined_organization",
            EventKind::CallFailed { .. } => "call_failed",
            EventKind::MembersRemaining { .. } => "members_remaining",
            EventKind::InvitationRefused { .. } => "invitation_refused",
            EventKind::AccessChecked { .. } => "access_checked",
            EventKind::CallRefused { .. } => "call_refused",
            EventKind::MembershipConfirmed => "membership_confirmed",
            EventKind::InvitationDeferred { .. } => "invitation_deferred",
            EventKind::Stalled { .. } => "stalled",
            EventKind::InvitationExpiring { .. } => "invitation_expiring",
            EventKind::AccountPlaced { .. } => "account_placed",
            EventKind::PlacementBlocked { .. } => "placement_blocked",
            EventKind::SourceOrganizationObserved { .. } => "source_organization_observed",
            EventKind::PreflightChecked { .. } => "preflight_checked",
        }
    }
}
