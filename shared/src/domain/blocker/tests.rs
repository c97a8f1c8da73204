//! Classification and explanation of blockers.

use super::classify::REASONS;
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
