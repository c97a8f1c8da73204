//! Every fixture parses to the expected domain event; broken and unknown events give the
//! typed error, naming the event id.

use onboarding::cloudtrail::{parse_event, parse_event_str, ParseError};
use onboarding::domain::{BlockerCode, Closure, EventKind, FailureClass, Operation};
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

    let mut event = fixture("leave-organization.json");
    event["detail"]["userIdentity"]["accountId"] = Value::from("12");
    assert!(matches!(
        parse_event(&event).unwrap_err(),
        ParseError::InvalidField { .. }
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
