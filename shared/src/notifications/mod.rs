//! The product's notifications: the EventBridge events it publishes (source `org-onboarding`
//! on the hub bus). [`NotificationDetail`] is the one list: each variant is a detail-type,
//! serde-tagged as EventBridge carries it (`detail-type`, `detail`), wrapping the struct of
//! its fields ([`details`]); its e-mail, if a person must see it, is in [`email`].
//!
//! Adding a notification: its struct in `details.rs`, one line in [`detail_types!`] below,
//! its arm in [`NotificationKind::email`], and (when a transition decides it) its
//! [`Notification`](crate::domain::Notification) and the arm rendering it in `render.rs`.
//! template.yaml's e-mail rules are generated from this module (`make notification-rules`)
//! and checked against it (tests/tests/template_contract.rs).
//!
//! Waiting accounts and unexpected invitations are e-mailed as one [`digest`] per
//! enrollment and run, not one e-mail per account: their own events stay, for machines.
//!
//! The types are the contract: the tracker renders with them, the acceptor and inviter
//! read their triggers with them ([`crate::trigger`]), tests and the demo read what was
//! published with them.

pub mod details;
pub mod digest;
pub mod email;
mod render;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::AccountId;
use crate::ports::OutgoingNotification;

pub use details::*;
pub use digest::Digest;
pub use email::Email;
pub use render::{enrollment_completed, render};

/// The source of every notification (the notifier port publishes under it).
pub use crate::ports::SOURCE;

/// Declares the notifications: the tagged enum, its kinds and each struct's [`Detail`]
/// impl, from one line per detail-type. Those about an account flatten an
/// [`AccountContext`] (field `context`); those about an enrollment carry their own
/// `notification_id`.
macro_rules! detail_types {
    (
        about an account { $($account:ident = $account_type:literal,)+ }
        about an enrollment { $($enrollment:ident = $enrollment_type:literal,)+ }
    ) => {
        /// Any notification the product publishes, as EventBridge carries it: `detail-type`
        /// names the variant, `detail` holds its fields.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "detail-type", content = "detail")]
        pub enum NotificationDetail {
            $(#[serde(rename = $account_type)] $account($account),)+
            $(#[serde(rename = $enrollment_type)] $enrollment($enrollment),)+
        }

        /// A notification's detail-type, without its fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum NotificationKind {
            $($account,)+
            $($enrollment,)+
        }

        impl NotificationKind {
            /// Every detail-type the product publishes.
            pub const ALL: &'static [NotificationKind] =
                &[$(Self::$account,)+ $(Self::$enrollment,)+];

            pub const fn detail_type(self) -> &'static str {
                match self {
                    $(Self::$account => $account_type,)+
                    $(Self::$enrollment => $enrollment_type,)+
                }
            }

            /// The variant's name: template.yaml's e-mail rule is `Notification<name>Rule`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$account => stringify!($account),)+
                    $(Self::$enrollment => stringify!($enrollment),)+
                }
            }
        }

        impl NotificationDetail {
            pub fn kind(&self) -> NotificationKind {
                match self {
                    $(Self::$account(_) => NotificationKind::$account,)+
                    $(Self::$enrollment(_) => NotificationKind::$enrollment,)+
                }
            }

            /// The account the notification is about, with the record's context; `None`
            /// for the enrollment-wide announcements.
            pub fn account_context(&self) -> Option<&AccountContext> {
                match self {
                    $(Self::$account(d) => Some(&d.context),)+
                    $(Self::$enrollment(_) => None,)+
                }
            }

            pub fn notification_id(&self) -> &str {
                match self {
                    $(Self::$account(d) => &d.context.notification_id,)+
                    $(Self::$enrollment(d) => &d.notification_id,)+
                }
            }
        }

        $(detail_types!(@detail $account);)+
        $(detail_types!(@detail $enrollment);)+
    };
    (@detail $variant:ident) => {
        impl Detail for $variant {
            const KIND: NotificationKind = NotificationKind::$variant;

            fn from_detail(detail: NotificationDetail) -> Option<Self> {
                match detail {
                    NotificationDetail::$variant(d) => Some(d),
                    _ => None,
                }
            }
        }
    };
}

detail_types! {
    about an account {
        PhaseChanged = "Onboarding Phase Changed",
        Blocked = "Onboarding Blocked",
        Unblocked = "Onboarding Unblocked",
        UnexpectedInvitation = "Unexpected Invitation",
        AccountJoined = "Account Joined",
        Stalled = "Onboarding Stalled",
        InvitationExpiring = "Invitation Expiring",
        AccountPlaced = "Account Placed",
        BillingTransferred = "Billing Transferred",
    }
    about an enrollment {
        EnrollmentCompleted = "Enrollment Completed",
        PreflightCompleted = "Preflight Completed",
        OnboardingDigest = "Onboarding Digest",
    }
}

/// The detail-types by name, for rules and readers that match on the string.
pub const PHASE_CHANGED: &str = NotificationKind::PhaseChanged.detail_type();
pub const BLOCKED: &str = NotificationKind::Blocked.detail_type();
pub const UNBLOCKED: &str = NotificationKind::Unblocked.detail_type();
pub const UNEXPECTED_INVITATION: &str = NotificationKind::UnexpectedInvitation.detail_type();
pub const ACCOUNT_JOINED: &str = NotificationKind::AccountJoined.detail_type();
pub const ENROLLMENT_COMPLETED: &str = NotificationKind::EnrollmentCompleted.detail_type();
pub const STALLED: &str = NotificationKind::Stalled.detail_type();
pub const INVITATION_EXPIRING: &str = NotificationKind::InvitationExpiring.detail_type();
pub const ACCOUNT_PLACED: &str = NotificationKind::AccountPlaced.detail_type();
pub const PREFLIGHT_COMPLETED: &str = NotificationKind::PreflightCompleted.detail_type();
pub const BILLING_TRANSFERRED: &str = NotificationKind::BillingTransferred.detail_type();
pub const ONBOARDING_DIGEST: &str = NotificationKind::OnboardingDigest.detail_type();

/// Every detail-type the product publishes, one per [`NotificationDetail`] variant.
pub const DETAIL_TYPES: [&str; NotificationKind::ALL.len()] =
    detail_types_of(NotificationKind::ALL);

/// The detail-types a person must see: template.yaml routes each to the SNS topic (e-mail)
/// with the text of [`NotificationKind::email`]. Phase changes and unblocks are for
/// machines and dashboards.
pub const EMAILED: [&str; email::EMAILED_KINDS.len()] = detail_types_of(&email::EMAILED_KINDS);

const fn detail_types_of<const N: usize>(kinds: &[NotificationKind]) -> [&'static str; N] {
    let mut types = [""; N];
    let mut i = 0;
    while i < N {
        types[i] = kinds[i].detail_type();
        i += 1;
    }
    types
}

impl NotificationKind {
    pub fn from_detail_type(detail_type: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.detail_type() == detail_type)
    }
}

/// The `detail` of one detail-type, tied to its detail-type.
pub trait Detail: Serialize + DeserializeOwned {
    const KIND: NotificationKind;
    const DETAIL_TYPE: &'static str = Self::KIND.detail_type();

    /// This type's fields, when `detail` is of this type.
    fn from_detail(detail: NotificationDetail) -> Option<Self>;

    /// Reads `detail` as this type; an event of another detail-type is an error.
    fn parse(detail_type: &str, detail: &Value) -> Result<Self, ContractError> {
        if detail_type != Self::DETAIL_TYPE {
            return Err(ContractError::OtherDetailType {
                expected: Self::DETAIL_TYPE,
                found: detail_type.to_owned(),
            });
        }
        let parsed = NotificationDetail::parse(detail_type, detail)?;
        Self::from_detail(parsed).ok_or_else(|| ContractError::OtherDetailType {
            expected: Self::DETAIL_TYPE,
            found: detail_type.to_owned(),
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

impl NotificationDetail {
    pub fn detail_type(&self) -> &'static str {
        self.kind().detail_type()
    }

    /// Reads `detail` with the type of `detail_type`.
    pub fn parse(detail_type: &str, detail: &Value) -> Result<Self, ContractError> {
        let kind = NotificationKind::from_detail_type(detail_type)
            .ok_or_else(|| ContractError::UnknownDetailType(detail_type.to_owned()))?;
        let event = serde_json::json!({ "detail-type": detail_type, "detail": detail });
        Self::deserialize(event).map_err(|e| ContractError::InvalidDetail {
            detail_type: kind.detail_type(),
            error: e.to_string(),
        })
    }

    /// Reads an EventBridge event as subscribers receive it (`detail-type` and `detail`).
    pub fn from_event(event: &Value) -> Result<Self, ContractError> {
        let (detail_type, detail) = detail_type_and_detail(event)?;
        Self::parse(detail_type, detail)
    }

    pub fn account_id(&self) -> Option<&AccountId> {
        self.account_context().map(|c| &c.account_id)
    }

    /// The JSON `detail` as published.
    pub fn to_json(&self) -> Value {
        // Only strings, numbers, lists and structs: serialising to a Value cannot fail.
        let mut tagged = serde_json::to_value(self).expect("a notification is plain JSON data");
        tagged["detail"].take()
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

#[cfg(test)]
mod tests;
