//! Blockers: why a step cannot proceed, and what a person must do about it.
//!
//! Failures reach us from two sources that carry different detail: the API's error has a
//! `Reason` field, while a CloudTrail event of a failed call has only `errorCode` and
//! `errorMessage`. [`classify`] works from the reason when there is one and otherwise looks
//! for the reason's name or its documented wording in the message. The raw code and message
//! are always kept on the blocker, so nothing AWS said is lost.

use chrono::{DateTime, Utc};

use super::error_code::{canonical, denied_by_scp, is_one_of};
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
            UnknownError => UNKNOWN_ERROR,
        }
    }
}

/// What is wrong, and what a person must do about it.
pub type Explanation = (&'static str, &'static str);

/// The text of every [`BlockerCode::explain`]: notifications and the status report show
/// these to people, so they say what to do, not what the code is.
mod explanation {
    use super::Explanation;

    // Leaving: what AWS requires of a standalone account, and of the account that leaves.

    pub const PAYMENT_METHOD_MISSING: Explanation = (
        "The account has no payment method, which a standalone account needs.",
        "Sign in to the account as its root user or a billing administrator, open Billing and Cost Management > Payment preferences, and add a valid credit card or bank account.",
    );
    pub const PAYMENT_METHOD_INVALID: Explanation = (
        "The account's payment method is not valid.",
        "In Billing and Cost Management > Payment preferences of the account, replace the expired or failed payment method, then retry.",
    );
    pub const CONTACT_INFO_MISSING: Explanation = (
        "The account is missing contact information required for a standalone account.",
        "Open Account settings > Contact information in the account and fill in the full name, address and phone number.",
    );
    pub const CUSTOMER_AGREEMENT_NOT_ACCEPTED: Explanation = (
        "The account has not accepted the AWS Customer Agreement.",
        "Sign in to the account as its root user and accept the AWS Customer Agreement when prompted (complete the account sign-up).",
    );
    pub const PHONE_NOT_VERIFIED: Explanation = (
        "The account's phone number has not been verified.",
        "Sign in to the account as its root user and complete phone verification in the account sign-up flow.",
    );
    pub const ACCOUNT_TOO_NEW: Explanation = (
        "The account was created less than 7 days ago and cannot leave its organization yet.",
        "Wait until the account is 7 days old; the onboarding resumes by itself when the next leave attempt succeeds.",
    );
    pub const ACCOUNT_SETUP_INCOMPLETE: Explanation = (
        "The account's creation has not finished.",
        "Wait for account creation to complete (usually minutes), then retry leaving the organization.",
    );
    pub const MARKETPLACE_ADDRESS_MISMATCH: Explanation = (
        "The management account's address does not match its AWS Marketplace seller address.",
        "Update the account address (Account settings) to match the Marketplace seller of record, then retry.",
    );
    pub const BUSINESS_LICENSE_MISSING: Explanation = (
        "The management account has no business license on file (required in some regions, e.g. India).",
        "Upload the business license in the account's settings, then retry.",
    );

    // Leaving or deleting the old organization, and joining while still in one.

    pub const ORGANIZATION_NOT_EMPTY: Explanation = (
        "The old organization still has member accounts, so it cannot be deleted yet.",
        "Let the remaining members leave, be removed, or join the target organization; the management account moves on by itself once none is left.",
    );
    pub const MANAGEMENT_MUST_DELETE_ORGANIZATION: Explanation = (
        "This is its organization's management account: it cannot leave, it must delete its organization.",
        "Once every member is gone, delete the organization from the management account (AWS Organizations > Settings > Delete organization).",
    );
    pub const STILL_IN_ORGANIZATION: Explanation = (
        "The account is still a member of an organization, so it cannot join the target organization.",
        "Leave the current organization (or have its management account remove the account), or delete the organization if this is its management account.",
    );
    pub const DIFFERENT_SELLER_OF_RECORD: Explanation = (
        "The account and the target organization have different AWS sellers of record (e.g. AWS Inc. and AWS India, or different partitions).",
        "Ask AWS Support to align the sellers of record; an account can only join an organization of the same seller and partition.",
    );

    // Inviting: limits and state of the target organization.

    pub const INVITATION_QUOTA_REACHED: Explanation = (
        "The target organization reached its daily invitation quota.",
        "Nothing to do: the inviter tries again on a later run. To go faster, ask AWS Support to raise the handshake quota.",
    );
    pub const ACCOUNT_LIMIT_REACHED: Explanation = (
        "The target organization reached its account limit.",
        "Request a higher 'accounts per organization' quota in Service Quotas (AWS Organizations) for the target organization; the inviter retries on its next run.",
    );
    pub const MEMBERSHIP_CHANGE_RATE_LIMITED: Explanation = (
        "Too many accounts joined or left this organization recently.",
        "Wait and retry later; AWS limits how often membership can change.",
    );
    pub const TARGET_ORGANIZATION_CHANGING_FEATURES: Explanation = (
        "The target organization is enabling all features, which pauses invitations or makes this handshake invalid.",
        "Finish (or cancel) the enable-all-features process in the target organization; the inviter retries on its next run.",
    );
    pub const MANAGEMENT_EMAIL_NOT_VERIFIED: Explanation = (
        "The target organization's management account email address is not verified.",
        "Verify the management account's email address from the AWS Organizations console of the target organization.",
    );
    pub const UNUSED_PREPAYMENT_BALANCE: Explanation = (
        "The account has an unused prepayment balance that blocks the move.",
        "Contact AWS Support to settle or transfer the prepayment balance, then retry.",
    );
    pub const LEGACY_PERMISSIONS_IN_USE: Explanation = (
        "The organization still uses legacy billing IAM permissions.",
        "Migrate the organization to the fine-grained billing, cost management and account IAM actions, then retry.",
    );

    // Any call: permissions, ids, handshakes and access through the spoke role.

    pub const ACCESS_DENIED: Explanation = (
        "The caller is not allowed to perform this Organizations call.",
        "Check the IAM permissions of the role making the call (the spoke role in customer accounts, the hub function's role in the target organization).",
    );
    pub const SERVICE_CONTROL_POLICY_DENIES: Explanation = (
        "A service control policy of the account's organization denies this call (AWS: \"with an explicit deny in a service control policy\"); many organizations deny leaving as a guardrail.",
        "Ask the old organization's management account to lift the SCP for this account: in AWS Organizations > Policies, find the service control policy attached to the account, its OUs or the root that denies the action (often organizations:LeaveOrganization), and detach it from the account or add an exception for it (for instance a condition on aws:PrincipalArn that excludes the spoke role); the next attempt then succeeds.",
    );
    pub const ACCOUNT_NOT_FOUND: Explanation = (
        "AWS does not know this account id in this context.",
        "Check the account id in the enrollment; re-enroll with the correct id.",
    );
    pub const HANDSHAKE_NOT_FOUND: Explanation = (
        "The invitation no longer exists.",
        "Nothing to do: a new invitation is sent on the inviter's next run.",
    );
    pub const HANDSHAKE_NOT_OPEN: Explanation = (
        "The invitation is no longer open (accepted, declined, cancelled or expired).",
        "Nothing to do if the account joined; otherwise a new invitation is sent on the inviter's next run.",
    );
    pub const DUPLICATE_INVITATION: Explanation = (
        "An identical invitation is already open.",
        "Nothing to do: the open invitation is adopted.",
    );
    pub const SPOKE_ROLE_UNTRUSTED: Explanation = (
        "The hub cannot assume the spoke role in this account (not deployed, or the external id does not match).",
        "Deploy infra/spoke.yaml in the account (or the StackSet) with the hub account id and the configured external id.",
    );

    // Placing a joined account.

    pub const OU_NOT_FOUND: Explanation = (
        "The organizational unit the enrollment names does not exist in the target organization.",
        "Create the OU in the target organization (AWS Organizations > AWS accounts > Actions > Create new), with the path or id the blocker's raw message names; the placer moves the account on its next run.",
    );
    pub const ACCESS_ROLE_MISSING: Explanation = (
        "The target management account cannot assume the access role in this account.",
        "Deploy infra/spoke.yaml in the account with CreateAccessRole=true, or, if the account already has the role (accounts their old organization created do, trusting the old management account), change its trust policy to the target management account; the placer checks again on its next run.",
    );
    // Predicted by the preflight.

    pub const ENROLLMENT_MISMATCH: Explanation = (
        "The account's role in its organization is not the one the enrollment gives it (a management account enrolled as a member, a member enrolled as a management account or under another management account, a standalone account that is in an organization).",
        "Read the detail on this blocker for where the account really is, then enroll it again with the right role (onboardctl enroll ... --management / --member / --standalone) in the right enrollment.",
    );
    pub const DELEGATED_ADMINISTRATOR: Explanation = (
        "The account is a delegated administrator of its old organization, which must be deregistered before it can leave.",
        "From the old management account, list its services (aws organizations list-delegated-services-for-account --account-id ID) and deregister each (aws organizations deregister-delegated-administrator --account-id ID --service-principal PRINCIPAL), after moving that administration elsewhere.",
    );

    // The billing transfer (billing mode).

    pub const TRANSFER_TERMINATED: Explanation = (
        "The billing transfer was ended: the target organization no longer pays this organization's bill from the end date on this blocker.",
        "Ask both management accounts why it was ended (AWS Organizations > Responsibility transfers shows who ended it). To transfer again, enroll the management account again with --mode billing: a new invitation is sent.",
    );
    pub const UNKNOWN_ERROR: Explanation = (
        "AWS refused the call for a reason this tool does not know.",
        "Read the raw error code and message on this blocker and act on them; then retry.",
    );
}

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
const REASONS: &[(&str, BlockerCode, &[&str])] = &[
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

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(reason: &str) -> AwsFailure {
        AwsFailure::new("ConstraintViolationException", Some(reason), "")
    }

    #[test]
    fn every_documented_reason_maps_to_its_blocker_from_the_reason_field() {
        for (name, code, _) in REASONS {
            let expected = if *code == BlockerCode::StillInOrganization {
                FailureClass::StillInOrganization
            } else {
                FailureClass::Blocker(*code)
            };
            assert_eq!(classify(&constraint(name)), expected, "{name}");
        }
    }

    #[test]
    fn every_documented_reason_maps_to_its_blocker_from_the_message_alone() {
        for (name, code, _) in REASONS {
            let failure = AwsFailure::new(
                "HandshakeConstraintViolationException",
                None,
                format!("The request failed: {name}."),
            );
            assert_eq!(
                known_reason(&failure).map(|(_, c)| c),
                Some(*code),
                "{name}"
            );
        }
    }

    #[test]
    fn longer_reason_names_win_over_their_suffixes() {
        let failure = AwsFailure::new(
            "ConstraintViolationException",
            None,
            "MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED",
        );
        assert_eq!(
            known_reason(&failure).map(|(n, _)| n),
            Some("MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED")
        );
    }

    #[test]
    fn documented_wording_is_recognised_without_the_reason_name() {
        let failure = AwsFailure::new(
            "ConstraintViolationException",
            None,
            "You can't remove a member account that doesn't have a payment instrument attached.",
        );
        assert_eq!(
            classify(&failure),
            FailureClass::Blocker(BlockerCode::PaymentMethodMissing)
        );
        let failure = AwsFailure::new(
            "HandshakeConstraintViolationException",
            None,
            "The handshake request is invalid because the invited account is already a member of an organization.",
        );
        assert_eq!(classify(&failure), FailureClass::StillInOrganization);
    }

    #[test]
    fn exceptions_without_reasons_have_their_own_class() {
        let cases = [
            (
                "MasterCannotLeaveOrganizationException",
                FailureClass::Blocker(BlockerCode::ManagementMustDeleteOrganization),
            ),
            (
                "OrganizationNotEmptyException",
                FailureClass::Blocker(BlockerCode::OrganizationNotEmpty),
            ),
            (
                "AccessDeniedException",
                FailureClass::Blocker(BlockerCode::AccessDenied),
            ),
            (
                "AccountNotFoundException",
                FailureClass::Blocker(BlockerCode::AccountNotFound),
            ),
            (
                "HandshakeNotFoundException",
                FailureClass::Blocker(BlockerCode::HandshakeNotFound),
            ),
            (
                "InvalidHandshakeTransitionException",
                FailureClass::Blocker(BlockerCode::HandshakeNotOpen),
            ),
            (
                "DuplicateHandshakeException",
                FailureClass::DuplicateInvitation,
            ),
            (
                "HandshakeAlreadyInStateException",
                FailureClass::AlreadyInState,
            ),
            ("ConcurrentModificationException", FailureClass::Transient),
            ("TooManyRequestsException", FailureClass::Transient),
            (
                "AccountOwnerNotVerifiedException",
                FailureClass::Blocker(BlockerCode::ManagementEmailNotVerified),
            ),
            // CloudTrail's spellings of the same codes.
            (
                "AccessDenied",
                FailureClass::Blocker(BlockerCode::AccessDenied),
            ),
            ("Throttling", FailureClass::Transient),
            (
                "MasterCannotLeaveOrganization",
                FailureClass::Blocker(BlockerCode::ManagementMustDeleteOrganization),
            ),
        ];
        for (code, class) in cases {
            assert_eq!(classify(&AwsFailure::new(code, None, "m")), class, "{code}");
        }
    }

    #[test]
    fn a_denial_by_a_service_control_policy_names_the_scp() {
        let message = "User: arn:aws:sts::222222222222:assumed-role/OrgOnboardingSpoke/leave is not authorized to perform: organizations:LeaveOrganization on resource: * with an explicit deny in a service control policy";
        for code in ["AccessDenied", "AccessDeniedException"] {
            let failure = AwsFailure::new(code, None, message);
            assert_eq!(
                classify(&failure),
                FailureClass::Blocker(BlockerCode::ServiceControlPolicyDenies),
                "{code}"
            );
        }
        let (_, remediation) = BlockerCode::ServiceControlPolicyDenies.explain();
        assert!(remediation.contains("service control policy") && remediation.contains("detach"));
    }

    #[test]
    fn an_unknown_reason_keeps_the_raw_code_and_message() {
        let failure = AwsFailure::new(
            "ConstraintViolationException",
            Some("SOMETHING_NEW"),
            "brand new rule",
        );
        assert_eq!(
            classify(&failure),
            FailureClass::Blocker(BlockerCode::UnknownError)
        );
        let blocker =
            Blocker::from_failure(BlockerCode::UnknownError, Step::Leave, &failure, Utc::now());
        assert_eq!(
            blocker.raw_code.as_deref(),
            Some("ConstraintViolationException:SOMETHING_NEW")
        );
        assert_eq!(blocker.raw_message.as_deref(), Some("brand new rule"));
    }

    #[test]
    fn every_blocker_explains_itself() {
        for (_, code, _) in REASONS {
            let (message, remediation) = code.explain();
            assert!(!message.is_empty() && remediation.len() > 20);
        }
    }
}
