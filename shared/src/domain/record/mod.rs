//! The onboarding record: one per account, the single source of truth of where it stands.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::billing::BillingTerms;
use super::blocker::{Blocker, BlockerCode, Step};
use super::ids::{AccountId, EnrollmentName, HandshakeId, OrganizationId};
use super::journey::Journey;
use super::phase::{Phase, Role, TransferMode};
use super::placement::{OuRef, Placed};
use super::preflight::PreflightSummary;

mod history;
mod stored;

/// How many applied events a record remembers: the first and the latest ([`history`]).
/// Enough to read an account's story and to drop most redeliveries in the domain itself;
/// the store's event markers catch the rest.
pub const HISTORY_LIMIT: usize = 50;
/// How many closed or refused handshake ids a record remembers, so that a late event about
/// one of them changes nothing.
pub const HANDSHAKE_MEMORY: usize = 20;

/// The organization every account should end up in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub organization: OrganizationId,
    pub management_account: AccountId,
}

/// One applied event, as an account's history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub applied_at: DateTime<Utc>,
    /// What happened, e.g. `left_organization` or `call_failed: LeaveOrganization`.
    pub summary: String,
    pub phase: Phase,
    /// Who made the event known ([`super::DomainEvent::source`]); empty in entries written
    /// before it was kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Applied from an operator's `onboardctl replay`, not from EventBridge (absent in
    /// entries written before it was kept, and in every entry not replayed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
}

impl HistoryEntry {
    /// What happened, in words for people: `membership_confirmed` reads "membership
    /// confirmed"; a summary that is not one identifier (`LeaveOrganization failed:
    /// CODE`, `invitation declined`) is shown as it is.
    pub fn label(&self) -> String {
        let is_identifier = !self.summary.is_empty()
            && self
                .summary
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_');
        if is_identifier {
            self.summary.replace('_', " ")
        } else {
            self.summary.clone()
        }
    }
}

/// A blocker a success cleared, and when that success happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearedBlocker {
    pub code: BlockerCode,
    pub at: DateTime<Utc>,
}

/// Why a direct-mode account moved to the standalone path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fallback {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// The handshake a record waits on: the target's open offer (its id and, when known, when
/// it expires), or once joined the one that brought the account in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentHandshake {
    pub id: HandshakeId,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One account's record. Stored as [`stored::StoredRecord`] says (the attributes earlier
/// versions wrote), whatever its shape in memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "stored::StoredRecord", into = "stored::StoredRecord")]
pub struct OnboardingRecord {
    pub account_id: AccountId,
    pub enrollment: EnrollmentName,
    /// The mode, with its billing terms in billing mode.
    pub transfer_mode: TransferMode,
    pub role: Role,
    pub phase: Phase,
    /// Still in the organization it is leaving (members until they leave or move,
    /// the management account until it deletes its organization).
    pub in_old_organization: bool,
    pub handshake: Option<CurrentHandshake>,
    pub blockers: Vec<Blocker>,
    /// Set once a direct-mode account fell back to the standalone path.
    pub fallback: Option<Fallback>,
    /// Handshakes that were closed or refused: a late event about one changes nothing.
    pub settled_handshakes: Vec<HandshakeId>,
    /// The management account of the organization a member leaves: the one other account
    /// whose events (removing it) may change this record.
    pub old_management_account: Option<AccountId>,
    /// When each blocker was last cleared by a success: a refusal that happened before
    /// never brings it back (events arrive out of order).
    pub cleared_blockers: Vec<ClearedBlocker>,
    /// The target OU the account is to be placed in (`None`: where it lands).
    pub ou: Option<OuRef>,
    /// The tags the enrollment asks for (the product adds its own two).
    pub tags: BTreeMap<String, String>,
    /// The organization the account leaves, once known (given at enrollment, or read by
    /// the reconciler while the account is still in it).
    pub source_organization: Option<OrganizationId>,
    /// Set once the account is in its OU, tagged and reachable: onboarding ended.
    pub placed: Option<Placed>,
    /// What the last preflight found beyond its predicted blockers (which are among
    /// `blockers`, of step `preflight`).
    pub preflight: Option<PreflightSummary>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub phase_since: DateTime<Utc>,
    pub history: Vec<HistoryEntry>,
    /// How many history entries were dropped between the first and the latest ones.
    pub history_trimmed: u64,
}

impl OnboardingRecord {
    /// A new record in the starting phase for its role and mode: a management account
    /// starts deleting its organization (blocked while it has enrolled members), a member
    /// leaves first in standalone mode and awaits the invitation in direct mode, a
    /// standalone account awaits the invitation; in billing mode the management account
    /// awaits the invitation to transfer its bill (its members stay where they are).
    pub fn enroll(
        account_id: AccountId,
        enrollment: EnrollmentName,
        transfer_mode: TransferMode,
        role: Role,
        enrolled_members: usize,
        now: DateTime<Utc>,
    ) -> Self {
        let journey = transfer_mode.journey();
        // The management account deletes the organization its enrolled members leave.
        let blockers =
            if role == Role::Management && enrolled_members > 0 && journey.moves_account() {
                vec![Blocker::new(
                    BlockerCode::OrganizationNotEmpty,
                    Step::DeleteOrganization,
                    now,
                )]
            } else {
                Vec::new()
            };
        Self {
            account_id,
            enrollment,
            phase: journey.starting_phase(role),
            transfer_mode,
            role,
            in_old_organization: role != Role::Standalone,
            handshake: None,
            blockers,
            fallback: None,
            settled_handshakes: Vec::new(),
            old_management_account: None,
            cleared_blockers: Vec::new(),
            ou: None,
            tags: BTreeMap::new(),
            source_organization: None,
            placed: None,
            preflight: None,
            version: 1,
            created_at: now,
            updated_at: now,
            phase_since: now,
            history: Vec::new(),
            history_trimmed: 0,
        }
    }

    /// The journey of the record's transfer mode.
    pub fn journey(&self) -> &'static dyn Journey {
        self.transfer_mode.journey()
    }

    /// Billing mode: the transfer asked for, and the one accepted.
    pub fn billing(&self) -> Option<&BillingTerms> {
        self.transfer_mode.billing_terms()
    }

    /// The current handshake's id.
    pub fn handshake_id(&self) -> Option<&HandshakeId> {
        self.handshake.as_ref().map(|h| &h.id)
    }

    /// When the current handshake expires, when known.
    pub fn handshake_expires_at(&self) -> Option<DateTime<Utc>> {
        self.handshake.as_ref().and_then(|h| h.expires_at)
    }

    /// Whether an event with this id was already applied to the record.
    pub fn has_applied(&self, event_id: &str) -> bool {
        self.history.iter().any(|h| h.event_id == event_id)
    }

    /// The blockers AWS returned (or a function met), without the preflight's predictions.
    pub fn actual_blockers(&self) -> impl Iterator<Item = &Blocker> {
        self.blockers.iter().filter(|b| !b.is_predicted())
    }

    pub fn is_blocked_by(&self, code: BlockerCode) -> bool {
        self.blockers.iter().any(|b| b.code == code)
    }

    /// When a success last cleared this blocker.
    pub fn cleared_at(&self, code: BlockerCode) -> Option<DateTime<Utc>> {
        self.cleared_blockers
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.at)
    }
}

/// One enrollment: a customer's set of accounts moving together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub name: EnrollmentName,
    pub transfer_mode: TransferMode,
    pub management_account: Option<AccountId>,
    pub members: Vec<AccountId>,
    pub standalone_accounts: Vec<AccountId>,
    /// Where every account lands, and the tags it carries.
    pub placement: Placement,
}

/// What an enrollment asks for its accounts beyond the move: of the placer, and (billing
/// mode) of the transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// Billing mode: when the transfer is to take effect (`None`: the first day of the
    /// month after the invitation).
    pub transfer_start: Option<DateTime<Utc>>,
    pub ou: Option<OuRef>,
    pub tags: BTreeMap<String, String>,
    /// The organization the accounts leave, when the operator knows it.
    pub source_organization: Option<OrganizationId>,
    /// What single accounts ask beyond that (a CSV's `ou` and `tags` columns): their OU
    /// replaces the enrollment's, their tags add to its tags.
    pub per_account: BTreeMap<AccountId, AccountPlacement>,
}

/// One account's own OU and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountPlacement {
    pub ou: Option<OuRef>,
    pub tags: BTreeMap<String, String>,
}

impl Placement {
    /// Gives `record` this placement.
    pub fn apply_to(&self, record: &mut OnboardingRecord) {
        record.ou.clone_from(&self.ou);
        record.tags.clone_from(&self.tags);
        if let Some(own) = self.per_account.get(&record.account_id) {
            if own.ou.is_some() {
                record.ou.clone_from(&own.ou);
            }
            record.tags.extend(own.tags.clone());
        }
        if record.role != Role::Standalone {
            record
                .source_organization
                .clone_from(&self.source_organization);
        }
        if let Some(billing) = record.transfer_mode.billing_terms_mut() {
            billing.start = self.transfer_start;
        }
    }
}

/// Why an enrollment cannot be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollmentError {
    #[error("account {0} is listed twice in the enrollment")]
    DuplicateAccount(AccountId),
    #[error("the enrollment has no account")]
    Empty,
    #[error("members are listed without their management account; pass it too")]
    MembersWithoutManagement,
    #[error("a billing enrollment is one management account: its organization, members included, stays as it is and only its bill moves; enroll members and standalone accounts in an enrollment of mode direct or standalone")]
    BillingTakesOneManagementAccount,
    #[error("a billing transfer moves no account, so it has no OU or tags to place")]
    BillingHasNoPlacement,
}

impl Enrollment {
    /// The starting records of every account of the enrollment.
    pub fn records(&self, now: DateTime<Utc>) -> Result<Vec<OnboardingRecord>, EnrollmentError> {
        self.transfer_mode.journey().check(self)?;
        let accounts: Vec<(AccountId, Role)> = self
            .management_account
            .iter()
            .map(|a| (a.clone(), Role::Management))
            .chain(self.members.iter().map(|a| (a.clone(), Role::Member)))
            .chain(
                self.standalone_accounts
                    .iter()
                    .map(|a| (a.clone(), Role::Standalone)),
            )
            .collect();
        if accounts.is_empty() {
            return Err(EnrollmentError::Empty);
        }
        let mut seen = std::collections::HashSet::new();
        for (account, _) in &accounts {
            if !seen.insert(account) {
                return Err(EnrollmentError::DuplicateAccount(account.clone()));
            }
        }
        Ok(accounts
            .into_iter()
            .map(|(account, role)| {
                let mut record = OnboardingRecord::enroll(
                    account,
                    self.name.clone(),
                    self.transfer_mode.clone(),
                    role,
                    self.members.len(),
                    now,
                );
                if role == Role::Member {
                    record
                        .old_management_account
                        .clone_from(&self.management_account);
                }
                self.placement.apply_to(&mut record);
                record
            })
            .collect())
    }
}
