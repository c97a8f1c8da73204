//! Blockers: why a step cannot proceed, and what a person must do about it.
//!
//! Failures reach us from two sources that carry different detail: the API's error has a
//! `Reason` field, while a CloudTrail event of a failed call has only `errorCode` and
//! `errorMessage`. [`classify`] works from the reason when there is one and otherwise looks
//! for the reason's name or its documented wording in the message. The raw code and message
//! are always kept on the blocker, so nothing AWS said is lost.

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

/// An error AWS returned, as far as we know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsFailure {
    /// The exception name, e.g. `ConstraintViolationException`.
    pub code: String,
    /// The `Reason` field of the API error; absent in CloudTrail events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: String,
}

impl AwsFailure {
    pub fn new(code: impl Into<String>, reason: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            reason: reason.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// The step of the journey a blocker stops; a later success of that step clears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Leave,
    DeleteOrganization,
    Invite,
    Accept,
    /// Reaching the account at all (spoke role).
    Access,
    /// Placing the joined account: its OU, its tags, the target's access role.
    Place,
    /// Predicted by the preflight, before AWS refuses anything: cleared by a later
    /// preflight that no longer finds it, or once the account is out of its organization.
    Preflight,
    /// The billing transfer itself, once accepted (billing mode): its end is reported here.
    Transfer,
}

/// Stable blocker codes: notification consumers and dashboards key on these strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlockerCode {
    PaymentMethodMissing,
    PaymentMethodInvalid,
    ContactInfoMissing,
    CustomerAgreementNotAccepted,
    PhoneNotVerified,
    AccountTooNew,
    AccountSetupIncomplete,
    MarketplaceAddressMismatch,
    BusinessLicenseMissing,
    OrganizationNotEmpty,
    ManagementMustDeleteOrganization,
    StillInOrganization,
    DifferentSellerOfRecord,
    InvitationQuotaReached,
    AccountLimitReached,
    MembershipChangeRateLimited,
    TargetOrganizationChangingFeatures,
    ManagementEmailNotVerified,
    UnusedPrepaymentBalance,
    LegacyPermissionsInUse,
    AccessDenied,
    ServiceControlPolicyDenies,
    AccountNotFound,
    HandshakeNotFound,
    HandshakeNotOpen,
    DuplicateInvitation,
    SpokeRoleUntrusted,
    OuNotFound,
    AccessRoleMissing,
    EnrollmentMismatch,
    DelegatedAdministrator,
    TransferTerminated,
    /// In the target organization, but no invitation of this onboarding brought it in:
    /// never moved or tagged.
    NotJoinedThroughOnboarding,
    UnknownError,
}

impl std::fmt::Display for BlockerCode {
    /// The stable code, as serialized (`PAYMENT_METHOD_MISSING`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        f.pad(value.as_str().unwrap_or_default())
    }
}

impl BlockerCode {
    /// What is wrong, and what a person must do about it (the texts are in the
    /// `explanation` table below, grouped by the step that meets them).
    pub fn explain(self) -> Explanation {
        use explanation::*;
        use BlockerCode::*;
        match self {
            PaymentMethodMissing => PAYMENT_METHOD_MISSING,
            PaymentMethodInvalid => PAYMENT_METHOD_INVALID,
            ContactInfoMissing => CONTACT_INFO_MISSING,
            CustomerAgreementNotAccepted => CUSTOMER_AGREEMENT_NOT_ACCEPTED,
            PhoneNotVerified => PHONE_NOT_VERIFIED,
            AccountTooNew => ACCOUNT_TOO_NEW,
            AccountSetupIncomplete => ACCOUNT_SETUP_INCOMPLETE,
            MarketplaceAddressMismatch => MARKETPLACE_ADDRESS_MISMATCH,
            BusinessLicenseMissing => BUSINESS_LICENSE_MISSING,
            OrganizationNotEmpty => ORGANIZATION_NOT_EMPTY,
            ManagementMustDeleteOrganization => MANAGEMENT_MUST_DELETE_ORGANIZATION,
            StillInOrganization => STILL_IN_ORGANIZATION,
            DifferentSellerOfRecord => DIFFERENT_SELLER_OF_RECORD,
            InvitationQuotaReached => INVITATION_QUOTA_REACHED,
            AccountLimitReached => ACCOUNT_LIMIT_REACHED,
            MembershipChangeRateLimited => MEMBERSHIP_CHANGE_RATE_LIMITED,
            TargetOrganizationChangingFeatures => TARGET_ORGANIZATION_CHANGING_FEATURES,
            ManagementEmailNotVerified => MANAGEMENT_EMAIL_NOT_VERIFIED,
            UnusedPrepaymentBalance => UNUSED_PREPAYMENT_BALANCE,
            LegacyPermissionsInUse => LEGACY_PERMISSIONS_IN_USE,
            AccessDenied => ACCESS_DENIED,
            ServiceControlPolicyDenies => SERVICE_CONTROL_POLICY_DENIES,
            AccountNotFound => ACCOUNT_NOT_FOUND,
            HandshakeNotFound => HANDSHAKE_NOT_FOUND,
            HandshakeNotOpen => HANDSHAKE_NOT_OPEN,
            DuplicateInvitation => DUPLICATE_INVITATION,
            SpokeRoleUntrusted => SPOKE_ROLE_UNTRUSTED,
            OuNotFound => OU_NOT_FOUND,
            AccessRoleMissing => ACCESS_ROLE_MISSING,
            EnrollmentMismatch => ENROLLMENT_MISMATCH,
            DelegatedAdministrator => DELEGATED_ADMINISTRATOR,
            TransferTerminated => TRANSFER_TERMINATED,
            NotJoinedThroughOnboarding => NOT_JOINED_THROUGH_ONBOARDING,
            UnknownError => UNKNOWN_ERROR,
        }
    }
}

/// What is wrong, and what a person must do about it.
pub type Explanation = (&'static str, &'static str);

mod explanation;

/// A reason a step cannot proceed, with the remediation a person must do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    pub code: BlockerCode,
    pub message: String,
    pub remediation: String,
    pub step: Step,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_message: Option<String>,
    pub since: DateTime<Utc>,
}

impl Blocker {
    pub fn new(code: BlockerCode, step: Step, since: DateTime<Utc>) -> Self {
        let (message, remediation) = code.explain();
        Self {
            code,
            message: message.to_owned(),
            remediation: remediation.to_owned(),
            step,
            raw_code: None,
            raw_message: None,
            since,
        }
    }

    pub fn from_failure(
        code: BlockerCode,
        step: Step,
        failure: &AwsFailure,
        since: DateTime<Utc>,
    ) -> Self {
        let raw_code = match &failure.reason {
            Some(reason) => format!("{}:{reason}", failure.code),
            None => failure.code.clone(),
        };
        Self {
            raw_code: Some(raw_code),
            raw_message: Some(failure.message.clone()).filter(|m| !m.is_empty()),
            ..Self::new(code, step, since)
        }
    }

    /// Predicted by the preflight, not returned by AWS.
    pub fn is_predicted(&self) -> bool {
        self.step == Step::Preflight
    }

    /// Same blocker for de-duplication purposes: a repeated failure does not add a copy.
    pub fn same_as(&self, other: &Blocker) -> bool {
        self.code == other.code && self.step == other.step
    }
}

mod classify;
pub use classify::{
    classify, is_throttling_code, is_transient_code, known_reason, FailureClass,
    RETRYABLE_FAILURE_CODES, THROTTLING_CODES,
};

#[cfg(test)]
mod tests;
