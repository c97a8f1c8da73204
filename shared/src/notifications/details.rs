//! The fields of each notification: one struct per detail-type, what subscribers read in
//! the event's `detail`. A field renamed here is renamed for every reader at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    AccountId, BlockerCode, EnrollmentName, FunctionName, HandshakeId, OrganizationId, Phase, Role,
    Step, TransferMode,
};

/// What every notification about one account carries: the record as the event left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountContext {
    /// CloudTrail event id and position: stable across retries, so consumers drop repeats.
    pub notification_id: String,
    pub account_id: AccountId,
    pub enrollment: EnrollmentName,
    pub role: Role,
    pub transfer_mode: TransferMode,
    pub phase: Phase,
    pub handshake_id: Option<HandshakeId>,
    /// All blockers of the record after the event.
    pub blockers: Vec<NotifiedBlocker>,
    pub cloudtrail_event_id: String,
    pub version: u64,
}

/// A blocker as notifications show it: without `since`, and with `raw_code` and
/// `raw_message` always present (`null` when AWS gave none), unlike the stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifiedBlocker {
    pub code: BlockerCode,
    pub message: String,
    pub remediation: String,
    pub step: Step,
    pub raw_code: Option<String>,
    pub raw_message: Option<String>,
}

/// `Onboarding Phase Changed`: what the acceptor and the inviter are triggered by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseChanged {
    #[serde(flatten)]
    pub context: AccountContext,
    pub old_phase: Phase,
    pub new_phase: Phase,
    pub reason: Option<String>,
}

/// `Onboarding Blocked`: new blockers, each with the remediation a person must do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    #[serde(flatten)]
    pub context: AccountContext,
    pub new_blockers: Vec<NotifiedBlocker>,
    /// Every new blocker is a wait for an invitation slot, which the enrollment's
    /// `Onboarding Digest` tells: this event is for machines, not e-mailed on its own.
    #[serde(default)]
    pub in_digest: bool,
}

/// `Onboarding Unblocked`: blockers that a later success cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unblocked {
    #[serde(flatten)]
    pub context: AccountContext,
    pub cleared: Vec<BlockerCode>,
}

/// `Unexpected Invitation`: an invitation the verification policy refused (never accepted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnexpectedInvitation {
    #[serde(flatten)]
    pub context: AccountContext,
    pub unexpected_handshake_id: HandshakeId,
    pub inviting_organization: Option<OrganizationId>,
    pub reason: String,
}

/// `Account Joined`: the account is in the target organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountJoined {
    #[serde(flatten)]
    pub context: AccountContext,
}

/// `Billing Transferred` (billing mode): the target organization lists the transfer as
/// accepted; it pays the customer organization's bill from `starts_at`. The customer's
/// organization, members included, stays as it is: onboarding ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingTransferred {
    #[serde(flatten)]
    pub context: AccountContext,
    /// The transfer (`rt-…`).
    pub transfer_id: String,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// The customer's organization, whose members come along without a record of their own.
    #[serde(default)]
    pub organization: Option<OrganizationId>,
}

/// `Account Placed`: the joined account is in its OU, carries its tags and the target can
/// reach it: onboarding ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPlaced {
    #[serde(flatten)]
    pub context: AccountContext,
    /// The OU (or root) id the account is in; `null` when the enrollment asked for none.
    pub placed_in: Option<String>,
    /// The role the target assumed in the account; `null` when access was not verified.
    pub access_role: Option<String>,
    /// The tags the enrollment asked for.
    pub tags: BTreeMap<String, String>,
}

/// `Enrollment Completed`: every account of an enrollment joined and was placed
/// (announced once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentCompleted {
    pub notification_id: String,
    pub enrollment: EnrollmentName,
    pub accounts: usize,
    pub cloudtrail_event_id: String,
}

/// `Preflight Completed`: a preflight run checked accounts of one enrollment (published
/// by every run, with what it found; the accounts' records hold the details).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflightCompleted {
    pub notification_id: String,
    pub enrollment: EnrollmentName,
    /// Accounts checked by this run.
    pub accounts: usize,
    /// Accounts with at least one predicted blocker.
    pub accounts_blocked: usize,
    /// Predicted blockers by code.
    pub blockers: BTreeMap<BlockerCode, usize>,
    /// Policy conditions that trust the old organization, and the accounts that have some.
    pub policies: usize,
    pub accounts_with_policies: usize,
    /// Items a person must look at (what no API answers, reads that were refused).
    pub checks: usize,
    /// Accounts the spoke role could not reach (their records say why).
    pub unreachable: usize,
}

/// `Onboarding Digest`: what one run of a function found that a person should know about
/// an enrollment's accounts, told once per enrollment and run rather than once per account:
/// the accounts that began waiting for an invitation slot, and the invitations from other
/// organizations that were seen (none is ever accepted). Each account's own event
/// (`Onboarding Blocked`, `Unexpected Invitation`) is still published, for machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingDigest {
    pub notification_id: String,
    pub enrollment: EnrollmentName,
    /// The function whose run this tells.
    pub function: FunctionName,
    /// Accounts that began waiting for an invitation slot in this run.
    pub accounts_waiting: usize,
    /// The first of them (at most [`DIGEST_LISTED`]), each with the code of its wait.
    pub waiting: Vec<DigestWaiting>,
    /// Invitations from other organizations seen in this run; none was accepted.
    pub unexpected_invitations: usize,
    /// The first of them (at most [`DIGEST_LISTED`]).
    pub unexpected: Vec<DigestUnexpected>,
    /// All of it in words, as the e-mail shows it.
    pub summary: String,
}

/// How many accounts (and invitations) an [`OnboardingDigest`] lists by name; the counts
/// say how many there were, `onboardctl status` shows them all.
pub const DIGEST_LISTED: usize = 20;

/// An account that began waiting for an invitation slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestWaiting {
    pub account_id: AccountId,
    pub code: BlockerCode,
}

/// An invitation from another organization, seen and not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestUnexpected {
    pub account_id: AccountId,
    pub handshake_id: HandshakeId,
    pub inviting_organization: Option<OrganizationId>,
    pub reason: String,
}

/// `Onboarding Stalled`: no progress for the configured time (announced once per stall);
/// the context's blockers say what a person must do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stalled {
    #[serde(flatten)]
    pub context: AccountContext,
    /// When the account entered the phase it is still in.
    pub stalled_since: DateTime<Utc>,
}

/// `Invitation Expiring`: the current invitation closes soon unless it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationExpiring {
    #[serde(flatten)]
    pub context: AccountContext,
    pub expiring_handshake_id: HandshakeId,
    pub expires_at: DateTime<Utc>,
}
