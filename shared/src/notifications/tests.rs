use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use super::*;
use crate::domain::{
    AccountId, Blocker, BlockerCode, EnrollmentName, HandshakeId, Notification, OnboardingRecord,
    Phase, Role, Step, TransferMode,
};

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
        (
            BLOCKED,
            json!({"new_blockers": blockers, "in_digest": false}),
        ),
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
    for (index, (published, (detail_type, extra))) in rendered.iter().zip(expected).enumerate() {
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

/// An account that began waiting for an invitation slot, as the inviter leaves it.
fn waiting(i: usize) -> (OnboardingRecord, Notification) {
    let mut record = record();
    record.account_id = AccountId::parse(format!("{:012}", 900_000_000_000u64 + i as u64)).unwrap();
    record.phase = Phase::AwaitingInvitation;
    let wait = crate::domain::WaitingReason::InvitationSlot.blocker(Utc::now());
    record.blockers = vec![wait.clone()];
    (
        record,
        Notification::Blocked {
            blockers: vec![wait],
        },
    )
}

#[test]
fn a_wait_is_blocked_for_machines_and_e_mailed_only_in_the_digest() {
    let (record, blocked) = waiting(0);
    let rendered = render(&record, std::slice::from_ref(&blocked), "ev-3");
    let detail = Blocked::from_outgoing(&rendered[0]).unwrap();
    assert!(detail.in_digest, "only waits: the digest tells them");
    let refused = render(
        &super::tests::record(),
        &[Notification::Blocked {
            blockers: super::tests::record().blockers,
        }],
        "ev-4",
    );
    assert!(!Blocked::from_outgoing(&refused[0]).unwrap().in_digest);
    // The e-mail rule's condition reads a field every `Onboarding Blocked` carries.
    for (field, values) in NotificationKind::Blocked.email_only_when() {
        assert!(rendered[0].detail.get(field).is_some(), "{field}");
        assert_eq!(*values, "[false]");
    }
    assert_eq!(NotificationKind::UnexpectedInvitation.email(), None);
    assert!(EMAILED.contains(&ONBOARDING_DIGEST));
}

#[test]
fn many_waiting_accounts_of_one_run_are_one_digest_naming_the_first_and_counting_all() {
    let mut digest = Digest::default();
    for i in 0..35 {
        let (record, blocked) = waiting(i);
        digest.note(&record, &[blocked]);
    }
    let (record, _) = waiting(99);
    digest.note(
        &record,
        &[Notification::UnexpectedInvitation {
            handshake: HandshakeId::parse("h-9876543210").unwrap(),
            organization: Some(crate::domain::OrganizationId::parse("o-foreignorg01").unwrap()),
            reason: "not the target organization".into(),
        }],
    );
    let enrollment = EnrollmentName::parse("acme").unwrap();
    let published = digest.into_notification(
        &enrollment,
        crate::domain::FunctionName::Inviter,
        Utc::now(),
    );
    assert_eq!(published.detail_type, ONBOARDING_DIGEST);
    let detail = OnboardingDigest::from_outgoing(&published).unwrap();
    assert_eq!(
        (detail.accounts_waiting, detail.waiting.len()),
        (35, DIGEST_LISTED)
    );
    assert_eq!(detail.unexpected_invitations, 1);
    assert!(
        detail.summary.starts_with("35 accounts began waiting for an invitation slot: 900000000000 (ACCOUNT_LIMIT_REACHED)")
            && detail.summary.contains(", and 15 more.")
            && detail.summary.contains("1 invitation from another organization than the target was seen and NOT accepted: 900000000099 invited by organization o-foreignorg01"),
        "{}",
        detail.summary
    );
    assert!(published.id.starts_with("digest#inviter#acme#"));
    assert!(Digest::default().is_empty());
}
