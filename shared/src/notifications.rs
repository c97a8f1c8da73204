//! The product's notifications: the EventBridge events it publishes (source `org-onboarding`
//! on the hub bus), one serde type per detail-type. Rules and subscribers match on these
//! detail-types and on `detail.new_phase`.
//!
//! The types are the contract: the tracker renders with them, the acceptor and inviter
//! read their triggers with them ([`crate::trigger`]), tests and the demo read what was
//! published with them. A field renamed here is renamed for every reader at once, and
//! template.yaml's rules are checked against [`SOURCE`], [`DETAIL_TYPES`] and [`EMAILED`]
//! (tests/tests/template_contract.rs).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{
    AccountId, Blocker, BlockerCode, EnrollmentName, HandshakeId, Notification, OnboardingRecord,
    OrganizationId, Phase, Role, Step, TransferMode,
};
use crate::ports::OutgoingNotification;

/// The source of every notification (the notifier port publishes under it).
pub use crate::ports::SOURCE;

pub const PHASE_CHANGED: &str = "Onboarding Phase Changed";
pub const BLOCKED: &str = "Onboarding Blocked";
pub const UNBLOCKED: &str = "Onboarding Unblocked";
pub const UNEXPECTED_INVITATION: &str = "Unexpected Invitation";
pub const ACCOUNT_JOINED: &str = "Account Joined";
pub const ENROLLMENT_COMPLETED: &str = "Enrollment Completed";
pub const STALLED: &str = "Onboarding Stalled";
pub const INVITATION_EXPIRING: &str = "Invitation Expiring";
pub const ACCOUNT_PLACED: &str = "Account Placed";
pub const PREFLIGHT_COMPLETED: &str = "Preflight Completed";
pub const BILLING_TRANSFERRED: &str = "Billing Transferred";

/// Every detail-type the product publishes, one per [`NotificationDetail`] variant.
pub const DETAIL_TYPES: [&str; 11] = [
    PHASE_CHANGED,
    BLOCKED,
    UNBLOCKED,
    UNEXPECTED_INVITATION,
    ACCOUNT_JOINED,
    ENROLLMENT_COMPLETED,
    STALLED,
    INVITATION_EXPIRING,
    ACCOUNT_PLACED,
    PREFLIGHT_COMPLETED,
    BILLING_TRANSFERRED,
];

/// The detail-types a person must see: template.yaml's `NotificationRule` routes these to
/// the SNS topic (e-mail). Phase changes and unblocks are for machines and dashboards.
pub const EMAILED: [&str; 9] = [
    BLOCKED,
    UNEXPECTED_INVITATION,
    ACCOUNT_JOINED,
    ENROLLMENT_COMPLETED,
    STALLED,
    INVITATION_EXPIRING,
    ACCOUNT_PLACED,
    PREFLIGHT_COMPLETED,
    BILLING_TRANSFERRED,
];

/// The `detail` of one detail-type, tied to its detail-type.
pub trait Detail: Serialize + DeserializeOwned {
    const DETAIL_TYPE: &'static str;

    /// Reads `detail` as this type; an event of another detail-type is an error.
    fn parse(detail_type: &str, detail: &Value) -> Result<Self, ContractError> {
        if detail_type != Self::DETAIL_TYPE {
            return Err(ContractError::OtherDetailType {
                expected: Self::DETAIL_TYPE,
                found: detail_type.to_owned(),
            });
        }
        Self::deserialize(detail).map_err(|e| ContractError::InvalidDetail {
            detail_type: Self::DETAIL_TYPE,
            error: e.to_string(),
        })
    }

    /// Reads a notification about to be published (what the in-memory notifier keeps).
    fn from_outgoing(notification: &OutgoingNotification) -> Result<Self, ContractError> {
        Self::parse(&notification.detail_type, &notification.detail)
    }

    /// Reads an EventBridge event as subscribers receive it.
    fn from_event(event: &Value) -> Result<Self, ContractError> {
        let (detail_type, detail) = detail_type_and_detail(event)?;
        Self::parse(detail_type, detail)
    }
}

/// `detail-type` and `detail` of an EventBridge event. The source is not checked: callers
/// that may see other sources check it first.
fn detail_type_and_detail(event: &Value) -> Result<(&str, &Value), ContractError> {
    let detail_type = event
        .get("detail-type")
        .and_then(Value::as_str)
        .ok_or(ContractError::NotAnEvent)?;
    let detail = event.get("detail").ok_or(ContractError::NotAnEvent)?;
    Ok((detail_type, detail))
}

/// Why a published event could not be read with the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("detail-type {0:?} is not one org-onboarding publishes")]
    UnknownDetailType(String),
    #[error("expected detail-type {expected:?}, found {found:?}")]
    OtherDetailType {
        expected: &'static str,
        found: String,
    },
    #[error("{detail_type}: invalid detail: {error}")]
    InvalidDetail {
        detail_type: &'static str,
        error: String,
    },
    #[error("not an EventBridge event with a detail-type and a detail")]
    NotAnEvent,
}

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
    pub tags: std::collections::BTreeMap<String, String>,
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
    pub blockers: std::collections::BTreeMap<BlockerCode, usize>,
    /// Policy conditions that trust the old organization, and the accounts that have some.
    pub policies: usize,
    pub accounts_with_policies: usize,
    /// Items a person must look at (what no API answers, reads that were refused).
    pub checks: usize,
    /// Accounts the spoke role could not reach (their records say why).
    pub unreachable: usize,
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

impl Detail for PhaseChanged {
    const DETAIL_TYPE: &'static str = PHASE_CHANGED;
}
impl Detail for Blocked {
    const DETAIL_TYPE: &'static str = BLOCKED;
}
impl Detail for Unblocked {
    const DETAIL_TYPE: &'static str = UNBLOCKED;
}
impl Detail for UnexpectedInvitation {
    const DETAIL_TYPE: &'static str = UNEXPECTED_INVITATION;
}
impl Detail for AccountJoined {
    const DETAIL_TYPE: &'static str = ACCOUNT_JOINED;
}
impl Detail for EnrollmentCompleted {
    const DETAIL_TYPE: &'static str = ENROLLMENT_COMPLETED;
}
impl Detail for Stalled {
    const DETAIL_TYPE: &'static str = STALLED;
}
impl Detail for InvitationExpiring {
    const DETAIL_TYPE: &'static str = INVITATION_EXPIRING;
}
impl Detail for AccountPlaced {
    const DETAIL_TYPE: &'static str = ACCOUNT_PLACED;
}
impl Detail for PreflightCompleted {
    const DETAIL_TYPE: &'static str = PREFLIGHT_COMPLETED;
}
impl Detail for BillingTransferred {
    const DETAIL_TYPE: &'static str = BILLING_TRANSFERRED;
}

/// Any notification the product publishes, by detail-type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationDetail {
    PhaseChanged(PhaseChanged),
    Blocked(Blocked),
    Unblocked(Unblocked),
    UnexpectedInvitation(UnexpectedInvitation),
    AccountJoined(AccountJoined),
    EnrollmentCompleted(EnrollmentCompleted),
    Stalled(Stalled),
    InvitationExpiring(InvitationExpiring),
    AccountPlaced(AccountPlaced),
    PreflightCompleted(PreflightCompleted),
    BillingTransferred(BillingTransferred),
}

impl NotificationDetail {
    pub fn detail_type(&self) -> &'static str {
        match self {
            NotificationDetail::PhaseChanged(_) => PhaseChanged::DETAIL_TYPE,
            NotificationDetail::Blocked(_) => Blocked::DETAIL_TYPE,
            NotificationDetail::Unblocked(_) => Unblocked::DETAIL_TYPE,
            NotificationDetail::UnexpectedInvitation(_) => UnexpectedInvitation::DETAIL_TYPE,
            NotificationDetail::AccountJoined(_) => AccountJoined::DETAIL_TYPE,
            NotificationDetail::EnrollmentCompleted(_) => EnrollmentCompleted::DETAIL_TYPE,
            NotificationDetail::Stalled(_) => Stalled::DETAIL_TYPE,
            NotificationDetail::InvitationExpiring(_) => InvitationExpiring::DETAIL_TYPE,
            NotificationDetail::AccountPlaced(_) => AccountPlaced::DETAIL_TYPE,
            NotificationDetail::PreflightCompleted(_) => PreflightCompleted::DETAIL_TYPE,
            NotificationDetail::BillingTransferred(_) => BillingTransferred::DETAIL_TYPE,
        }
    }

    /// Reads `detail` with the type of `detail_type`.
    pub fn parse(detail_type: &str, detail: &Value) -> Result<Self, ContractError> {
        match detail_type {
            PHASE_CHANGED => PhaseChanged::parse(detail_type, detail).map(Self::PhaseChanged),
            BLOCKED => Blocked::parse(detail_type, detail).map(Self::Blocked),
            UNBLOCKED => Unblocked::parse(detail_type, detail).map(Self::Unblocked),
            UNEXPECTED_INVITATION => {
                UnexpectedInvitation::parse(detail_type, detail).map(Self::UnexpectedInvitation)
            }
            ACCOUNT_JOINED => AccountJoined::parse(detail_type, detail).map(Self::AccountJoined),
            ENROLLMENT_COMPLETED => {
                EnrollmentCompleted::parse(detail_type, detail).map(Self::EnrollmentCompleted)
            }
            STALLED => Stalled::parse(detail_type, detail).map(Self::Stalled),
            INVITATION_EXPIRING => {
                InvitationExpiring::parse(detail_type, detail).map(Self::InvitationExpiring)
            }
            ACCOUNT_PLACED => AccountPlaced::parse(detail_type, detail).map(Self::AccountPlaced),
            PREFLIGHT_COMPLETED => {
                PreflightCompleted::parse(detail_type, detail).map(Self::PreflightCompleted)
            }
            BILLING_TRANSFERRED => {
                BillingTransferred::parse(detail_type, detail).map(Self::BillingTransferred)
            }
            other => Err(ContractError::UnknownDetailType(other.to_owned())),
        }
    }

    /// Reads an EventBridge event as subscribers receive it (`detail-type` and `detail`).
    pub fn from_event(event: &Value) -> Result<Self, ContractError> {
        let (detail_type, detail) = detail_type_and_detail(event)?;
        Self::parse(detail_type, detail)
    }

    /// The account the notification is about, with the record's context; `None` for the
    /// enrollment-wide announcements.
    pub fn account_context(&self) -> Option<&AccountContext> {
        match self {
            NotificationDetail::PhaseChanged(d) => Some(&d.context),
            NotificationDetail::Blocked(d) => Some(&d.context),
            NotificationDetail::Unblocked(d) => Some(&d.context),
            NotificationDetail::UnexpectedInvitation(d) => Some(&d.context),
            NotificationDetail::AccountJoined(d) => Some(&d.context),
            NotificationDetail::Stalled(d) => Some(&d.context),
            NotificationDetail::InvitationExpiring(d) => Some(&d.context),
            NotificationDetail::AccountPlaced(d) => Some(&d.context),
            NotificationDetail::BillingTransferred(d) => Some(&d.context),
            NotificationDetail::EnrollmentCompleted(_)
            | NotificationDetail::PreflightCompleted(_) => None,
        }
    }

    pub fn account_id(&self) -> Option<&AccountId> {
        self.account_context().map(|c| &c.account_id)
    }

    pub fn notification_id(&self) -> &str {
        match self {
            NotificationDetail::EnrollmentCompleted(d) => &d.notification_id,
            NotificationDetail::PreflightCompleted(d) => &d.notification_id,
            other => other
                .account_context()
                .map(|c| c.notification_id.as_str())
                .unwrap_or_default(),
        }
    }

    /// The JSON `detail` as published.
    pub fn to_json(&self) -> Value {
        let json = match self {
            NotificationDetail::PhaseChanged(d) => serde_json::to_value(d),
            NotificationDetail::Blocked(d) => serde_json::to_value(d),
            NotificationDetail::Unblocked(d) => serde_json::to_value(d),
            NotificationDetail::UnexpectedInvitation(d) => serde_json::to_value(d),
            NotificationDetail::AccountJoined(d) => serde_json::to_value(d),
            NotificationDetail::EnrollmentCompleted(d) => serde_json::to_value(d),
            NotificationDetail::Stalled(d) => serde_json::to_value(d),
            NotificationDetail::InvitationExpiring(d) => serde_json::to_value(d),
            NotificationDetail::AccountPlaced(d) => serde_json::to_value(d),
            NotificationDetail::PreflightCompleted(d) => serde_json::to_value(d),
            NotificationDetail::BillingTransferred(d) => serde_json::to_value(d),
        };
        // Only strings, numbers, lists and structs: serialising to a Value cannot fail.
        json.expect("a notification detail is plain JSON data")
    }

    /// Ready to publish, with the notification id as the notifier's de-duplication id.
    pub fn to_outgoing(&self) -> OutgoingNotification {
        OutgoingNotification {
            id: self.notification_id().to_owned(),
            detail_type: self.detail_type().to_owned(),
            detail: self.to_json(),
        }
    }
}

impl TryFrom<&OutgoingNotification> for NotificationDetail {
    type Error = ContractError;

    fn try_from(notification: &OutgoingNotification) -> Result<Self, ContractError> {
        NotificationDetail::parse(&notification.detail_type, &notification.detail)
    }
}

impl From<&Blocker> for NotifiedBlocker {
    fn from(b: &Blocker) -> Self {
        NotifiedBlocker {
            code: b.code,
            message: b.message.clone(),
            remediation: b.remediation.clone(),
            step: b.step,
            raw_code: b.raw_code.clone(),
            raw_message: b.raw_message.clone(),
        }
    }
}

fn notified_blockers(blockers: &[Blocker]) -> Vec<NotifiedBlocker> {
    blockers.iter().map(NotifiedBlocker::from).collect()
}

fn account_context(
    record: &OnboardingRecord,
    notification_id: String,
    event_id: &str,
) -> AccountContext {
    AccountContext {
        notification_id,
        account_id: record.account_id.clone(),
        enrollment: record.enrollment.clone(),
        role: record.role,
        transfer_mode: record.transfer_mode.clone(),
        phase: record.phase,
        handshake_id: record.handshake_id().cloned(),
        blockers: notified_blockers(&record.blockers),
        cloudtrail_event_id: event_id.to_owned(),
        version: record.version,
    }
}

fn detail_of(
    notification: &Notification,
    record: &OnboardingRecord,
    context: AccountContext,
) -> NotificationDetail {
    match notification {
        Notification::PhaseChanged { from, to, reason } => {
            NotificationDetail::PhaseChanged(PhaseChanged {
                context,
                old_phase: *from,
                new_phase: *to,
                reason: reason.clone(),
            })
        }
        Notification::Blocked { blockers } => NotificationDetail::Blocked(Blocked {
            context,
            new_blockers: notified_blockers(blockers),
        }),
        Notification::Unblocked { cleared } => NotificationDetail::Unblocked(Unblocked {
            context,
            cleared: cleared.clone(),
        }),
        Notification::AccountJoined => NotificationDetail::AccountJoined(AccountJoined { context }),
        Notification::BillingTransferred {
            transfer,
            starts_at,
        } => NotificationDetail::BillingTransferred(BillingTransferred {
            context,
            transfer_id: transfer.clone(),
            starts_at: *starts_at,
            organization: record.source_organization.clone(),
        }),
        Notification::UnexpectedInvitation {
            handshake,
            organization,
            reason,
        } => NotificationDetail::UnexpectedInvitation(UnexpectedInvitation {
            context,
            unexpected_handshake_id: handshake.clone(),
            inviting_organization: organization.clone(),
            reason: reason.clone(),
        }),
        Notification::Stalled { since } => NotificationDetail::Stalled(Stalled {
            context,
            stalled_since: *since,
        }),
        Notification::InvitationExpiring {
            handshake,
            expires_at,
        } => NotificationDetail::InvitationExpiring(InvitationExpiring {
            context,
            expiring_handshake_id: handshake.clone(),
            expires_at: *expires_at,
        }),
        Notification::AccountPlaced {
            placed_in,
            access_role,
        } => NotificationDetail::AccountPlaced(AccountPlaced {
            context,
            placed_in: placed_in.clone(),
            access_role: access_role.clone(),
            tags: record.tags.clone(),
        }),
    }
}

/// The notifications of one applied event, each with the record's context: account,
/// enrollment, role, phases, blockers with remediation, handshake, CloudTrail event id.
pub fn render(
    record: &OnboardingRecord,
    notifications: &[Notification],
    event_id: &str,
) -> Vec<OutgoingNotification> {
    notifications
        .iter()
        .enumerate()
        .map(|(index, notification)| {
            let context = account_context(record, format!("{event_id}#{index}"), event_id);
            detail_of(notification, record, context).to_outgoing()
        })
        .collect()
}

/// The one-time announcement that every account of an enrollment joined and was placed.
pub fn enrollment_completed(
    enrollment: &EnrollmentName,
    accounts: usize,
    event_id: &str,
) -> OutgoingNotification {
    NotificationDetail::EnrollmentCompleted(EnrollmentCompleted {
        notification_id: format!("{event_id}#completed"),
        enrollment: enrollment.clone(),
        accounts,
        cloudtrail_event_id: event_id.to_owned(),
    })
    .to_outgoing()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;

    fn record() -> OnboardingRecord {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
        let mut record = OnboardingRecord::enroll(
            AccountId::parse("555555555555").unwrap(),
            EnrollmentName::parse("acme").unwrap(),
            TransferMode::Standalone,
            Role::Member,
            0,
            now,
        );
        record.handshake = Some(crate::domain::CurrentHandshake {
            id: HandshakeId::parse("h-0123456789").unwrap(),
            expires_at: None,
        });
        let mut blocker = Blocker::new(BlockerCode::PaymentMethodMissing, Step::Leave, now);
        blocker.raw_code = Some("ConstraintViolationException".into());
        record.blockers = vec![blocker];
        record.version = 7;
        record
    }

    /// The detail as the tracker rendered it with `json!` before the typed contract: the
    /// typed rendering must stay identical, key order included.
    fn common_fields(record: &OnboardingRecord, index: usize) -> Value {
        json!({
            "notification_id": format!("ev-1#{index}"),
            "account_id": "555555555555",
            "enrollment": "acme",
            "role": "member",
            "transfer_mode": "standalone",
            "phase": record.phase,
            "handshake_id": "h-0123456789",
            "blockers": [{
                "code": "PAYMENT_METHOD_MISSING", "message": record.blockers[0].message,
                "remediation": record.blockers[0].remediation, "step": "leave",
                "raw_code": "ConstraintViolationException", "raw_message": null,
            }],
            "cloudtrail_event_id": "ev-1",
            "version": 7,
        })
    }

    fn with(mut common: Value, extra: Value) -> Value {
        if let (Value::Object(common), Value::Object(extra)) = (&mut common, extra) {
            common.extend(extra);
        }
        common
    }

    #[test]
    fn rendering_is_field_for_field_what_subscribers_already_read() {
        let record = record();
        let notifications = vec![
            Notification::PhaseChanged {
                from: Phase::LeavingOrganization,
                to: Phase::AwaitingInvitation,
                reason: None,
            },
            Notification::Blocked {
                blockers: record.blockers.clone(),
            },
            Notification::Unblocked {
                cleared: vec![BlockerCode::PaymentMethodMissing],
            },
            Notification::AccountJoined,
            Notification::UnexpectedInvitation {
                handshake: HandshakeId::parse("h-9876543210").unwrap(),
                organization: None,
                reason: "not the target organization".into(),
            },
        ];
        let blockers = common_fields(&record, 0)["blockers"].clone();
        let expected = [
            (
                PHASE_CHANGED,
                json!({"old_phase": "LeavingOrganization", "new_phase": "AwaitingInvitation", "reason": null}),
            ),
            (BLOCKED, json!({"new_blockers": blockers})),
            (UNBLOCKED, json!({"cleared": ["PAYMENT_METHOD_MISSING"]})),
            (ACCOUNT_JOINED, json!({})),
            (
                UNEXPECTED_INVITATION,
                json!({"unexpected_handshake_id": "h-9876543210", "inviting_organization": null,
                       "reason": "not the target organization"}),
            ),
        ];
        let rendered = render(&record, &notifications, "ev-1");
        assert_eq!(rendered.len(), expected.len());
        for (index, (published, (detail_type, extra))) in rendered.iter().zip(expected).enumerate()
        {
            let detail = with(common_fields(&record, index), extra);
            assert_eq!(published.detail_type, detail_type);
            assert_eq!(published.id, format!("ev-1#{index}"));
            assert_eq!(
                published.detail.to_string(),
                detail.to_string(),
                "{detail_type}"
            );
            let typed = NotificationDetail::try_from(published).unwrap();
            assert_eq!(typed.detail_type(), detail_type);
            assert_eq!(
                typed.to_outgoing(),
                *published,
                "round trip of {detail_type}"
            );
        }
    }

    #[test]
    fn enrollment_completed_is_what_subscribers_already_read() {
        let published = enrollment_completed(&EnrollmentName::parse("acme").unwrap(), 5, "ev-2");
        let expected = json!({
            "notification_id": "ev-2#completed", "enrollment": "acme", "accounts": 5,
            "cloudtrail_event_id": "ev-2",
        });
        assert_eq!(published.id, "ev-2#completed");
        assert_eq!(published.detail_type, ENROLLMENT_COMPLETED);
        assert_eq!(published.detail.to_string(), expected.to_string());
        let typed = NotificationDetail::try_from(&published).unwrap();
        assert_eq!(typed.account_id(), None);
        assert_eq!(typed.notification_id(), "ev-2#completed");
    }

    #[test]
    fn every_detail_type_parses_with_its_own_type_only() {
        let err = NotificationDetail::parse("Something Else", &json!({})).unwrap_err();
        assert_eq!(
            err,
            ContractError::UnknownDetailType("Something Else".into())
        );
        assert!(matches!(
            PhaseChanged::parse(BLOCKED, &json!({})),
            Err(ContractError::OtherDetailType { .. })
        ));
        for detail_type in DETAIL_TYPES {
            assert!(matches!(
                NotificationDetail::parse(detail_type, &json!({"account_id": "555555555555"})),
                Err(ContractError::InvalidDetail { .. })
            ));
        }
        assert!(EMAILED.iter().all(|t| DETAIL_TYPES.contains(t)));
    }
}
