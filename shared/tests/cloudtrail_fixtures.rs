//! Every fixture parses to the expected domain event; broken and unknown events give the
//! typed error, naming the event id.

use chrono::Utc;
use onboarding::cloudtrail::{parse_event, parse_event_str, ParseError};
use onboarding::domain::{
    may_change, AccountId, BlockerCode, Closure, DomainEvent, EnrollmentName, EventKind,
    FailureClass, OnboardingRecord, Operation, OrganizationId, Role, Target, TransferMode,
};
use serde_json::Value;

use onboarding::fixtures::json as fixture;

fn failure_class(kind: &EventKind) -> Option<FailureClass> {
    match kind {
        EventKind::CallFailed { failure, .. } => Some(onboarding::domain::classify(failure)),
        _ => None,
    }
}

#[test]
fn every_fixture_parses_to_its_domain_event() {
    use BlockerCode::*;
    let blocked = |code| Some(FailureClass::Blocker(code));
    // (file, account, event name, failure class if the call failed)
    let expected: &[(&str, &str, &str, Option<FailureClass>)] = &[
        (
            "invite-account-to-organization.json",
            "555555555555",
            "invitation_sent",
            None,
        ),
        (
            "invite-account-to-organization-foreign.json",
            "555555555555",
            "invitation_sent",
            None,
        ),
        (
            "invite-account-to-organization-already-in-organization.json",
            "333333333333",
            "call_failed",
            Some(FailureClass::StillInOrganization),
        ),
        (
            "invite-account-to-organization-rate-limit.json",
            "555555555555",
            "call_failed",
            blocked(InvitationQuotaReached),
        ),
        (
            "invite-account-to-organization-duplicate.json",
            "555555555555",
            "call_failed",
            Some(FailureClass::DuplicateInvitation),
        ),
        (
            "accept-handshake.json",
            "555555555555",
            "invitation_accepted",
            None,
        ),
        (
            "accept-handshake-payment-instrument-required.json",
            "555555555555",
            "call_failed",
            blocked(PaymentMethodMissing),
        ),
        (
            "accept-handshake-different-seller.json",
            "555555555555",
            "call_failed",
            blocked(DifferentSellerOfRecord),
        ),
        (
            "accept-handshake-already-in-organization.json",
            "333333333333",
            "call_failed",
            Some(FailureClass::StillInOrganization),
        ),
        (
            "decline-handshake.json",
            "555555555555",
            "invitation_closed",
            None,
        ),
        (
            "cancel-handshake.json",
            "555555555555",
            "invitation_closed",
            None,
        ),
        (
            "leave-organization.json",
            "333333333333",
            "left_organization",
            None,
        ),
        (
            "leave-organization-payment-instrument-required.json",
            "333333333333",
            "call_failed",
            blocked(PaymentMethodMissing),
        ),
        (
            "leave-organization-missing-contact-info.json",
            "333333333333",
            "call_failed",
            blocked(ContactInfoMissing),
        ),
        (
            "leave-organization-denied-by-scp.json",
            "333333333333",
            "call_failed",
            blocked(ServiceControlPolicyDenies),
        ),
        (
            "leave-organization-access-denied.json",
            "333333333333",
            "call_failed",
            blocked(AccessDenied),
        ),
        (
            "leave-organization-without-eula.json",
            "333333333333",
            "call_failed",
            blocked(CustomerAgreementNotAccepted),
        ),
        (
            "leave-organization-without-phone-verification.json",
            "333333333333",
            "call_failed",
            blocked(PhoneNotVerified),
        ),
        (
            "leave-organization-wait-period.json",
            "333333333333",
            "call_failed",
            blocked(AccountTooNew),
        ),
        (
            "leave-organization-management-account.json",
            "222222222222",
            "call_failed",
            blocked(ManagementMustDeleteOrganization),
        ),
        (
            "remove-account-from-organization.json",
            "444444444444",
            "left_organization",
            None,
        ),
        (
            "remove-account-from-organization-payment-instrument-required.json",
            "444444444444",
            "call_failed",
            blocked(PaymentMethodMissing),
        ),
        (
            "delete-organization.json",
            "222222222222",
            "organization_deleted",
            None,
        ),
        (
            "delete-organization-not-empty.json",
            "222222222222",
            "call_failed",
            blocked(OrganizationNotEmpty),
        ),
        (
            "service-event-account-joined-organization.json",
            "555555555555",
            "joined_organization",
            None,
        ),
        (
            "service-event-account-departed-organization.json",
            "444444444444",
            "departed_organization",
            None,
        ),
        // Billing mode: the target invites the customer's management account to transfer
        // its bill; the customer answers; either party ends the transfer.
        (
            "invite-organization-to-transfer-responsibility.json",
            "222222222222",
            "transfer_invitation_sent",
            None,
        ),
        (
            "invite-organization-to-transfer-responsibility-unused-prepayment-balance.json",
            "222222222222",
            "call_failed",
            blocked(UnusedPrepaymentBalance),
        ),
        (
            // Parsed like the genuine one; the origin rules refuse it (see below).
            "invite-organization-to-transfer-responsibility-forged.json",
            "222222222222",
            "transfer_invitation_sent",
            None,
        ),
        (
            "accept-handshake-transfer-responsibility.json",
            "222222222222",
            "invitation_accepted",
            None,
        ),
        (
            "decline-handshake-transfer-responsibility.json",
            "222222222222",
            "invitation_closed",
            None,
        ),
        (
            "terminate-responsibility-transfer.json",
            "222222222222",
            "transfer_terminated",
            None,
        ),
        (
            // About the party other than the recording customer: the target's management
            // account, until `about_customer` turns it round.
            "terminate-responsibility-transfer-by-customer.json",
            "111111111111",
            "transfer_terminated",
            None,
        ),
    ];
    assert_eq!(
        onboarding::fixtures::names().len(),
        expected.len(),
        "every fixture has an expectation here"
    );
    for (file, account, name, class) in expected {
        let raw = fixture(file);
        let event = parse_event(&raw).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(event.account.as_str(), *account, "{file}");
        assert_eq!(event.kind.name(), *name, "{file}");
        assert_eq!(
            event.id,
            raw["detail"]["eventID"].as_str().unwrap(),
            "{file}"
        );
        assert_eq!(failure_class(&event.kind), *class, "{file}");
    }
}

#[test]
fn invitation_carries_handshake_organization_and_documented_expiry_format() {
    let event = parse_event(&fixture("invite-account-to-organization.json")).unwrap();
    let EventKind::InvitationSent {
        handshake,
        organization,
        expires_at,
    } = event.kind
    else {
        panic!()
    };
    assert_eq!(handshake.as_str(), "h-examplehandshakeid111");
    assert_eq!(organization.unwrap().as_str(), "o-exampleorgid");
    assert_eq!(
        expires_at.unwrap().to_rfc3339(),
        "2026-12-05T09:41:16+00:00"
    );
}

#[test]
fn foreign_invitation_names_the_foreign_organization() {
    let event = parse_event(&fixture("invite-account-to-organization-foreign.json")).unwrap();
    let EventKind::InvitationSent {
        organization,
        expires_at,
        ..
    } = event.kind
    else {
        panic!()
    };
    assert_eq!(organization.unwrap().as_str(), "o-foreignorg01");
    assert!(expires_at.is_some());
}

#[test]
fn failed_calls_keep_the_raw_code_and_message() {
    let event = parse_event(&fixture(
        "leave-organization-payment-instrument-required.json",
    ))
    .unwrap();
    let EventKind::CallFailed {
        operation, failure, ..
    } = event.kind
    else {
        panic!()
    };
    assert_eq!(operation, Operation::LeaveOrganization);
    assert_eq!(failure.code, "ConstraintViolationException");
    assert!(failure.message.contains("payment instrument"));
    assert_eq!(failure.reason, None, "CloudTrail carries no Reason field");
}

#[test]
fn decline_and_cancel_are_closures_of_the_named_handshake() {
    for (file, closure) in [
        ("decline-handshake.json", Closure::Declined),
        ("cancel-handshake.json", Closure::Canceled),
    ] {
        let EventKind::InvitationClosed {
            handshake,
            closure: got,
        } = parse_event(&fixture(file)).unwrap().kind
        else {
            panic!("{file}")
        };
        assert_eq!(handshake.as_str(), "h-examplehandshakeid111");
        assert_eq!(got, closure);
    }
}

#[test]
fn departure_service_event_says_whether_the_account_was_removed() {
    let event = parse_event(&fixture("service-event-account-departed-organization.json")).unwrap();
    assert_eq!(
        event.kind,
        EventKind::DepartedOrganization { removed: true }
    );
    let joined = parse_event(&fixture("service-event-account-joined-organization.json")).unwrap();
    let EventKind::JoinedOrganization { management_account } = joined.kind else {
        panic!()
    };
    assert_eq!(management_account.as_str(), "111111111111");
}

#[test]
fn truncated_event_is_malformed_and_names_what_it_can() {
    let text = onboarding::fixtures::text("leave-organization.json");
    let err = parse_event_str(&text[..text.len() / 2]).unwrap_err();
    assert!(matches!(err, ParseError::Malformed { .. }), "{err}");
    let mut no_time = fixture("leave-organization.json");
    no_time.as_object_mut().unwrap().remove("time");
    let err = parse_event(&no_time).unwrap_err();
    assert!(matches!(err, ParseError::Malformed { .. }), "{err}");
    assert_eq!(
        err.event_id(),
        no_time["detail"]["eventID"].as_str().unwrap()
    );
}

#[test]
fn wrong_typed_fields_are_typed_errors_not_panics() {
    let mut event = fixture("remove-account-from-organization.json");
    event["detail"]["requestParameters"]["accountId"] = Value::from(444);
    let err = parse_event(&event).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::InvalidField {
                field: "requestParameters.accountId",
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains(event["detail"]["eventID"].as_str().unwrap()));

    let mut event = fixture("invite-account-to-organization.json");
    event["detail"]["responseElements"]["handshake"]["id"] = Value::from("not-a-handshake");
    assert!(matches!(
        parse_event(&event).unwrap_err(),
        ParseError::InvalidField { .. }
    ));

    let mut event = fixture("leave-organization.json");
    event["detail"]["eventName"] = Value::from(42);
    assert!(matches!(
        parse_event(&event).unwrap_err(),
        ParseError::Malformed { .. }
    ));

    // A caller that is not the recording account (not even an account id) is rejected.
    let mut event = fixture("leave-organization.json");
    event["detail"]["userIdentity"]["accountId"] = Value::from("12");
    assert!(matches!(
        parse_event(&event).unwrap_err(),
        ParseError::OriginMismatch {
            field: "userIdentity.accountId",
            ..
        }
    ));
}

#[test]
fn unknown_events_are_unsupported() {
    let mut event = fixture("leave-organization.json");
    event["detail"]["eventName"] = Value::from("CreateAccount");
    let err = parse_event(&event).unwrap_err();
    assert!(err.is_unsupported(), "{err}");

    let mut event = fixture("leave-organization.json");
    event["source"] = Value::from("aws.ec2");
    assert!(parse_event(&event).unwrap_err().is_unsupported());

    let mut event = fixture("leave-organization.json");
    event["detail-type"] = Value::from("Scheduled Event");
    assert!(parse_event(&event).unwrap_err().is_unsupported());

    assert!(
        matches!(parse_event(&Value::from("just a string")).unwrap_err(), ParseError::Malformed { event_id, .. } if event_id == "unknown")
    );
}

#[test]
fn email_invitations_without_an_account_party_are_invalid() {
    let mut event = fixture("invite-account-to-organization-rate-limit.json");
    event["detail"]["requestParameters"]["target"] =
        serde_json::json!({"type": "EMAIL", "id": "someone@example.com"});
    assert!(matches!(
        parse_event(&event).unwrap_err(),
        ParseError::InvalidField {
            field: "requestParameters.target",
            ..
        }
    ));
}

#[test]
fn the_inviting_management_account_listed_as_a_party_is_not_taken_for_the_invited_one() {
    let mut event = fixture("cancel-handshake.json");
    let parties = event["detail"]["responseElements"]["handshake"]["parties"]
        .as_array_mut()
        .unwrap();
    parties.insert(
        0,
        serde_json::json!({"id": "111111111111", "type": "ACCOUNT"}),
    );
    assert_eq!(
        parse_event(&event).unwrap().account.as_str(),
        "555555555555"
    );
}

// ---------------------------------------------------------------------------------------
// Billing mode (issue 19)
// ---------------------------------------------------------------------------------------

const TRANSFER_HANDSHAKE: &str = "h-exampletransferid222";
const TRANSFER: &str = "rt-exampletransfer222";

fn acct(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

/// The fixtures' target organization (`o-exampleorgid`, management `111111111111`).
fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: acct("111111111111"),
    }
}

/// The billing-mode record of the fixtures' customer management account.
fn billing_record() -> OnboardingRecord {
    OnboardingRecord::enroll(
        acct("222222222222"),
        EnrollmentName::parse("acme").unwrap(),
        TransferMode::billing(),
        Role::Management,
        0,
        Utc::now(),
    )
}

/// Fixture `file` parsed.
fn event_of(file: &str) -> DomainEvent {
    parse_event(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Fixture `file` parsed as the tracker reads it (turned to the customer).
fn for_the_tracker(file: &str) -> DomainEvent {
    event_of(file).about_customer(&target().management_account)
}

#[test]
fn transfer_invitation_carries_the_handshake_the_target_organization_the_expiry_and_the_transfer() {
    let event = event_of("invite-organization-to-transfer-responsibility.json");
    assert_eq!(event.recorded_in, Some(acct("111111111111")));
    assert_eq!(may_change(&event, &billing_record(), &target()), Ok(()));
    let EventKind::TransferInvitationSent {
        handshake,
        organization,
        expires_at,
        transfer,
    } = event.kind
    else {
        panic!("{:?}", event.kind)
    };
    assert_eq!(transfer.as_deref(), Some("rt-exampletransfer222"));
    assert_eq!(handshake.as_str(), TRANSFER_HANDSHAKE);
    assert_eq!(organization.unwrap().as_str(), "o-exampleorgid");
    assert_eq!(
        expires_at.unwrap().to_rfc3339(),
        "2026-12-05T10:15:29+00:00"
    );
}

#[test]
fn a_failed_transfer_invitation_keeps_the_code_and_message_and_blocks_the_invite_step() {
    let event =
        event_of("invite-organization-to-transfer-responsibility-unused-prepayment-balance.json");
    let EventKind::CallFailed {
        operation,
        failure,
        handshake,
    } = &event.kind
    else {
        panic!("{:?}", event.kind)
    };
    assert_eq!(
        *operation,
        Operation::InviteOrganizationToTransferResponsibility
    );
    assert_eq!(failure.code, "HandshakeConstraintViolationException");
    assert!(failure.message.contains("UNUSED_PREPAYMENT_BALANCE"));
    assert_eq!(failure.reason, None, "CloudTrail carries no Reason field");
    assert_eq!(*handshake, None);
    assert_eq!(operation.step(), onboarding::domain::Step::Invite);
    assert_eq!(may_change(&event, &billing_record(), &target()), Ok(()));
}

#[test]
fn the_customer_accepts_or_declines_the_targets_transfer_handshake() {
    let accepted = event_of("accept-handshake-transfer-responsibility.json");
    assert_eq!(accepted.recorded_in, Some(acct("222222222222")));
    let EventKind::InvitationAccepted {
        handshake,
        organization,
    } = &accepted.kind
    else {
        panic!("{:?}", accepted.kind)
    };
    assert_eq!(handshake.as_str(), TRANSFER_HANDSHAKE);
    assert_eq!(organization.as_ref().unwrap().as_str(), "o-exampleorgid");

    let declined = event_of("decline-handshake-transfer-responsibility.json");
    assert_eq!(
        declined.kind,
        EventKind::InvitationClosed {
            handshake: onboarding::domain::HandshakeId::parse(TRANSFER_HANDSHAKE).unwrap(),
            closure: Closure::Declined,
        }
    );
    // Only the customer's own account speaks for its answer.
    let record = billing_record();
    for event in [&accepted, &declined] {
        assert_eq!(
            may_change(event, &record, &target()),
            Ok(()),
            "{}",
            event.id
        );
        let mut from_target = (*event).clone();
        from_target.recorded_in = Some(acct("111111111111"));
        assert!(
            may_change(&from_target, &record, &target()).is_err(),
            "{}",
            event.id
        );
    }
}

#[test]
fn the_target_ending_the_transfer_is_about_the_customer() {
    let raw = event_of("terminate-responsibility-transfer.json");
    assert_eq!(raw.recorded_in, Some(acct("111111111111")));
    let event = for_the_tracker("terminate-responsibility-transfer.json");
    assert_eq!(
        event, raw,
        "already about the customer: about_customer changes nothing"
    );
    let EventKind::TransferTerminated {
        transfer,
        ended_at,
        counterpart,
    } = &event.kind
    else {
        panic!("{:?}", event.kind)
    };
    assert_eq!(event.account.as_str(), "222222222222");
    assert_eq!(transfer.as_deref(), Some(TRANSFER));
    assert_eq!(ended_at.unwrap().to_rfc3339(), "2027-01-01T00:00:00+00:00");
    assert_eq!(
        counterpart.as_ref().map(AccountId::as_str),
        Some("111111111111")
    );
    assert_eq!(may_change(&event, &billing_record(), &target()), Ok(()));
}

#[test]
fn the_customer_ending_the_transfer_is_turned_to_the_customer_and_may_change_its_record() {
    let raw = event_of("terminate-responsibility-transfer-by-customer.json");
    assert_eq!(raw.recorded_in, Some(acct("222222222222")));
    assert_eq!(
        raw.account.as_str(),
        "111111111111",
        "the party other than the recorder"
    );
    let event = raw.about_customer(&target().management_account);
    assert_eq!(event.account.as_str(), "222222222222");
    assert_eq!(event.recorded_in, Some(acct("222222222222")));
    let EventKind::TransferTerminated {
        transfer,
        ended_at,
        counterpart,
    } = &event.kind
    else {
        panic!("{:?}", event.kind)
    };
    assert_eq!(transfer.as_deref(), Some(TRANSFER));
    assert_eq!(ended_at.unwrap().to_rfc3339(), "2027-01-01T00:00:00+00:00");
    assert_eq!(
        counterpart.as_ref().map(AccountId::as_str),
        Some("111111111111")
    );
    assert_eq!(may_change(&event, &billing_record(), &target()), Ok(()));
    // Both parties' records of the same transfer end read the same.
    let by_target = for_the_tracker("terminate-responsibility-transfer.json");
    assert_eq!(
        (&event.account, &event.kind),
        (&by_target.account, &by_target.kind)
    );
}

#[test]
fn a_termination_recorded_in_another_customers_account_cannot_change_the_record() {
    let mut event = fixture("terminate-responsibility-transfer-by-customer.json");
    event["account"] = Value::from("777777777777");
    event["detail"]["recipientAccountId"] = Value::from("777777777777");
    let event = parse_event(&event)
        .unwrap()
        .about_customer(&target().management_account);
    assert_eq!(event.account.as_str(), "222222222222");
    let refused = may_change(&event, &billing_record(), &target()).unwrap_err();
    assert!(
        refused.contains("777777777777") && refused.contains("222222222222"),
        "{refused}"
    );
}

#[test]
fn a_forged_transfer_invitation_recorded_in_a_customer_account_is_refused() {
    let forged = event_of("invite-organization-to-transfer-responsibility-forged.json");
    assert_eq!(forged.recorded_in, Some(acct("333333333333")));
    let EventKind::TransferInvitationSent { organization, .. } = &forged.kind else {
        panic!("{:?}", forged.kind)
    };
    assert_eq!(
        organization.as_ref().unwrap().as_str(),
        "o-exampleorgid",
        "it names the target organization"
    );
    let record = billing_record();
    let refused = may_change(&forged, &record, &target()).unwrap_err();
    assert!(
        refused.contains("333333333333")
            && refused.contains("222222222222")
            && refused.contains("the target management account (111111111111)"),
        "{refused}"
    );
    // Recorded in the customer's own management account, it is refused as well: only
    // the target's CloudTrail speaks for the target's invitation.
    let mut own = forged.clone();
    own.recorded_in = Some(acct("222222222222"));
    assert!(may_change(&own, &record, &target()).is_err());
    // The genuine event, identical but for where it was recorded, passes.
    let genuine = event_of("invite-organization-to-transfer-responsibility.json");
    assert_eq!(
        (&genuine.account, &genuine.kind),
        (&forged.account, &forged.kind)
    );
    assert_eq!(may_change(&genuine, &record, &target()), Ok(()));
}

#[test]
fn a_failed_termination_is_unsupported_and_a_handshake_of_another_action_is_not_an_acceptance() {
    let mut event = fixture("terminate-responsibility-transfer.json");
    event["detail"]["responseElements"] = Value::Null;
    event["detail"]["errorCode"] = Value::from("ResponsibilityTransferNotFoundException");
    event["detail"]["errorMessage"] = Value::from("We can't find a transfer that you specified.");
    let err = parse_event(&event).unwrap_err();
    assert!(err.is_unsupported(), "{err}");
    assert_eq!(err.event_id(), event["detail"]["eventID"].as_str().unwrap());

    let mut event = fixture("accept-handshake-transfer-responsibility.json");
    event["detail"]["responseElements"]["handshake"]["action"] =
        Value::from("approve_all_features");
    assert!(parse_event(&event).unwrap_err().is_unsupported());
}

#[test]
fn a_termination_naming_only_the_recording_account_is_invalid() {
    let mut event = fixture("terminate-responsibility-transfer.json");
    event["detail"]["responseElements"]["responsibilityTransfer"]["source"]
        ["managementAccountId"] = Value::from("111111111111");
    assert!(matches!(
        parse_event(&event).unwrap_err(),
        ParseError::InvalidField { .. }
    ));
    let mut event = fixture("terminate-responsibility-transfer.json");
    event["detail"]["responseElements"] = Value::Null;
    assert!(matches!(
        parse_event(&event).unwrap_err(),
        ParseError::InvalidField { .. }
    ));
}
