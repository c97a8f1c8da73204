//! Classification: what a failed call means for the onboarding (retry, a blocker a person
//! removes, the account still in an organization, nothing to do), from the API's `Reason`
//! when there is one and otherwise from the wording of the message.

use super::{AwsFailure, BlockerCode};
use crate::domain::error_code::{canonical, denied_by_scp, is_one_of};

/// What a failed call means for the onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Throttling, concurrent modification, service errors: retry, nobody needs to act.
    Transient,
    /// A person must act (or, for quotas, time must pass).
    Blocker(BlockerCode),
    /// The account is still in an organization: for a direct-mode member that is the
    /// fallback to the standalone path, for anyone else a blocker.
    StillInOrganization,
    /// The handshake is already in the requested state (accepted twice, say).
    AlreadyInState,
    /// An identical open invitation exists: adopt it.
    DuplicateInvitation,
}

/// (reason name, blocker, documented wording of the reason in messages)
pub(super) const REASONS: &[(&str, BlockerCode, &[&str])] = &[
    (
        "MASTER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED",
        BlockerCode::PaymentMethodMissing,
        &[],
    ),
    (
        "MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED",
        BlockerCode::PaymentMethodMissing,
        &[],
    ),
    (
        "PAYMENT_INSTRUMENT_REQUIRED",
        BlockerCode::PaymentMethodMissing,
        &["payment instrument", "payment method"],
    ),
    (
        "INVALID_PAYMENT_INSTRUMENT",
        BlockerCode::PaymentMethodInvalid,
        &["invalid payment"],
    ),
    (
        "MASTER_ACCOUNT_MISSING_CONTACT_INFO",
        BlockerCode::ContactInfoMissing,
        &["contact information", "contact info"],
    ),
    (
        "ACCOUNT_CANNOT_LEAVE_WITHOUT_EULA",
        BlockerCode::CustomerAgreementNotAccepted,
        &["end user license agreement", "customer agreement", "eula"],
    ),
    (
        "ACCOUNT_CANNOT_LEAVE_WITHOUT_PHONE_VERIFICATION",
        BlockerCode::PhoneNotVerified,
        &["phone verification"],
    ),
    (
        "WAIT_PERIOD_ACTIVE",
        BlockerCode::AccountTooNew,
        &["seven days", "7 days", "waiting period"],
    ),
    (
        "ACCOUNT_CREATION_NOT_COMPLETE",
        BlockerCode::AccountSetupIncomplete,
        &["creation process", "still being created"],
    ),
    (
        "MASTER_ACCOUNT_ADDRESS_DOES_NOT_MATCH_MARKETPLACE",
        BlockerCode::MarketplaceAddressMismatch,
        &["marketplace"],
    ),
    (
        "MASTER_ACCOUNT_MISSING_BUSINESS_LICENSE",
        BlockerCode::BusinessLicenseMissing,
        &["business license"],
    ),
    (
        "ACCOUNT_CANNOT_LEAVE_ORGANIZATION",
        BlockerCode::ManagementMustDeleteOrganization,
        &[
            "remove the management account",
            "can't remove the management",
            "cannot remove the management",
        ],
    ),
    (
        "ALREADY_IN_AN_ORGANIZATION",
        BlockerCode::StillInOrganization,
        &[
            "already a member of an organization",
            "already in an organization",
        ],
    ),
    (
        "ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD",
        BlockerCode::DifferentSellerOfRecord,
        &["seller of record", "different marketplace"],
    ),
    (
        "HANDSHAKE_RATE_LIMIT_EXCEEDED",
        BlockerCode::InvitationQuotaReached,
        &["number of handshakes", "handshakes that you can send"],
    ),
    (
        "ACCOUNT_NUMBER_LIMIT_EXCEEDED",
        BlockerCode::AccountLimitReached,
        &["limit on the number of accounts"],
    ),
    (
        "ORGANIZATION_MEMBERSHIP_CHANGE_RATE_LIMIT_EXCEEDED",
        BlockerCode::MembershipChangeRateLimited,
        &["too many membership", "membership change"],
    ),
    (
        "ORGANIZATION_ALREADY_HAS_ALL_FEATURES",
        BlockerCode::TargetOrganizationChangingFeatures,
        &["already enabled all features"],
    ),
    (
        "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
        BlockerCode::TargetOrganizationChangingFeatures,
        &["already started the process to enable all features"],
    ),
    (
        "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES",
        BlockerCode::TargetOrganizationChangingFeatures,
        &["process of enabling all features"],
    ),
    (
        "MANAGEMENT_ACCOUNT_EMAIL_NOT_VERIFIED",
        BlockerCode::ManagementEmailNotVerified,
        &[
            "email address of the management account",
            "email not verified",
        ],
    ),
    (
        "UNUSED_PREPAYMENT_BALANCE",
        BlockerCode::UnusedPrepaymentBalance,
        &["prepayment"],
    ),
    (
        // A billing transfer to one's own organization, or to an account that manages none.
        "SOURCE_AND_TARGET_CANNOT_MATCH",
        BlockerCode::EnrollmentMismatch,
        &[],
    ),
    (
        "LEGACY_PERMISSIONS_STILL_IN_USE",
        BlockerCode::LegacyPermissionsInUse,
        &["legacy permissions", "fine-grained actions"],
    ),
];

/// Finds the documented reason of a constraint violation, from the `Reason` field or, when a
/// CloudTrail event lost it, from the message. Longer names are tried first so that
/// `MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED` is not read as `PAYMENT_INSTRUMENT_REQUIRED`.
pub fn known_reason(failure: &AwsFailure) -> Option<(&'static str, BlockerCode)> {
    if let Some(reason) = &failure.reason {
        if let Some((name, code, _)) = REASONS.iter().find(|(name, _, _)| name == reason) {
            return Some((name, *code));
        }
    }
    let by_name = REASONS
        .iter()
        .filter(|(name, _, _)| failure.message.contains(name))
        .max_by_key(|(name, _, _)| name.len());
    if let Some((name, code, _)) = by_name {
        return Some((name, *code));
    }
    let lower = failure.message.to_ascii_lowercase();
    REASONS
        .iter()
        .find(|(_, _, phrases)| phrases.iter().any(|p| lower.contains(p)))
        .map(|(name, code, _)| (*name, *code))
}

/// The AWS error codes worth retrying later, whichever service or call says them: the one
/// list the adapters and the domain read (a code missing here is permanent). First
/// throttling, in each service's spelling (Organizations, STS, DynamoDB and EventBridge,
/// DynamoDB's cancellation reasons and PutEvents' entry codes)...
pub const THROTTLING_CODES: &[&str] = &[
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "ThrottlingError",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "ProvisionedThroughputExceeded",
];

/// ...then concurrent modification and service-side failures.
pub const RETRYABLE_FAILURE_CODES: &[&str] = &[
    "ConcurrentModificationException",
    "TransactionInProgressException",
    "ReplicatedWriteConflictException",
    "ServiceException",
    "InternalFailure",
    "InternalException",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Whether AWS throttled the call (see [`THROTTLING_CODES`]).
pub fn is_throttling_code(code: &str) -> bool {
    is_one_of(code, THROTTLING_CODES)
}

/// Whether retrying can help with an error of this code.
pub fn is_transient_code(code: &str) -> bool {
    is_throttling_code(code) || is_one_of(code, RETRYABLE_FAILURE_CODES)
}

/// Classifies a failed Organizations call.
pub fn classify(failure: &AwsFailure) -> FailureClass {
    // Matched without the `Exception` suffix: CloudTrail records some codes without it.
    match canonical(&failure.code) {
        code if is_transient_code(code) => FailureClass::Transient,
        "HandshakeAlreadyInState" => FailureClass::AlreadyInState,
        "DuplicateHandshake" => FailureClass::DuplicateInvitation,
        "MasterCannotLeaveOrganization" => {
            FailureClass::Blocker(BlockerCode::ManagementMustDeleteOrganization)
        }
        "OrganizationNotEmpty" => FailureClass::Blocker(BlockerCode::OrganizationNotEmpty),
        "AccessDenied" | "AccessDeniedForDependency" if denied_by_scp(&failure.message) => {
            FailureClass::Blocker(BlockerCode::ServiceControlPolicyDenies)
        }
        "AccessDenied" | "AccessDeniedForDependency" => {
            FailureClass::Blocker(BlockerCode::AccessDenied)
        }
        // InviteAccountToOrganization: the target management account's e-mail address is
        // not verified (API reference, AccountOwnerNotVerifiedException).
        "AccountOwnerNotVerified" => FailureClass::Blocker(BlockerCode::ManagementEmailNotVerified),
        "AccountNotFound" => FailureClass::Blocker(BlockerCode::AccountNotFound),
        "HandshakeNotFound" => FailureClass::Blocker(BlockerCode::HandshakeNotFound),
        "InvalidHandshakeTransition" => FailureClass::Blocker(BlockerCode::HandshakeNotOpen),
        "ConstraintViolation" | "HandshakeConstraintViolation" => {
            match known_reason(failure) {
                Some((_, BlockerCode::StillInOrganization)) => FailureClass::StillInOrganization,
                // Leaving a management account is the same situation whatever exception says it.
                Some((_, code)) => FailureClass::Blocker(code),
                None => FailureClass::Blocker(BlockerCode::UnknownError),
            }
        }
        _ => FailureClass::Blocker(BlockerCode::UnknownError),
    }
}
