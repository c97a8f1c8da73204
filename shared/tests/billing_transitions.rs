//! Billing mode's transitions: a management account keeps its organization and transfers
//! its bill: `AwaitingTransfer` → `TransferInvited` → `Transferred`, with the proof, the
//! closings that lead to a new invitation, and the end of a transfer reported.

use chrono::{DateTime, TimeZone, Utc};
use onboarding::domain::billing::{
    proves_transfer, BillingTerms, ObservedTransfer, TransferStatus,
};
use onboarding::domain::*;

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap() + chrono::Duration::minutes(minute.into())
}
fn acct(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}
fn hs(s: &str) -> HandshakeId {
    HandshakeId::parse(s).unwrap()
}
fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: acct(TARGET_MGMT),
    }
}

const TARGET_MGMT: &str = "111111111111";
const CUSTOMER: &str = "222222222222";
const H1: &str = "h-transferhandshake1";
const H2: &str = "h-transferhandshake2";

fn billing_enrollment() -> Enrollment {
    Enrollment {
        name: EnrollmentName::parse("acme-billing").unwrap(),
        transfer_mode: TransferMode::billing(),
        management_account: Some(acct(CUSTOMER)),
        members: Vec::new(),
        standalone_accounts: Vec::new(),
        placement: Placement::default(),
    }
}

fn record() -> OnboardingRecord {
    billing_enrollment().records(t(0)).unwrap().remove(0)
}

/// Applies `kinds` in order (each with an id of its own), returning every transition.
fn run(mut record: OnboardingRecord, kinds: Vec<EventKind>) -> (OnboardingRecord, Vec<Transition>) {
    let mut transitions = Vec::new();
    for (n, kind) in kinds.into_iter().enumerate() {
        let n = u32::try_from(n).unwrap() + 1;
        let event = DomainEvent {
            id: format!("ev-{}-{n}", record.version),
            account: record.account_id.clone(),
            occurred_at: t(n),
            kind,
            recorded_in: None,
            replayed: false,
        };
        let transition = apply(&record, &event, &target(), t(n));
        record = transition.record.clone();
        transitions.push(transition);
    }
    (record, transitions)
}

fn transfer_sent(handshake: &str, org: &str) -> EventKind {
    EventKind::TransferInvitationSent {
        handshake: hs(handshake),
        organization: Some(OrganizationId::parse(org).unwrap()),
        expires_at: Some(t(60 * 24 * 15)),
        transfer: Some(TRANSFER.into()),
    }
}
fn confirmed() -> EventKind {
    confirmed_transfer(TRANSFER)
}
fn confirmed_transfer(transfer: &str) -> EventKind {
    EventKind::TransferConfirmed {
        transfer: transfer.into(),
        starts_at: Some(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()),
    }
}
/// The transfer the first invitation carries.
const TRANSFER: &str = "rt-examplet1";

/// A transfer the target lists, in force unless said otherwise.
fn listed(id: &str, account: &str) -> ObservedTransfer {
    ObservedTransfer {
        id: id.into(),
        status: TransferStatus::Accepted,
        management_accounts: vec![acct(TARGET_MGMT), acct(account)],
        handshake: None,
        starts_at: None,
        ended_at: None,
    }
}

#[test]
fn only_the_transfer_the_records_invitation_carried_proves_it() {
    let (invited, _) = run(record(), vec![transfer_sent(H1, "o-exampleorgid")]);
    assert_eq!(
        invited.billing().unwrap().offered.as_deref(),
        Some(TRANSFER)
    );
    assert!(proves_transfer(&invited, &listed(TRANSFER, CUSTOMER)));
    // Another accepted transfer naming the account (an earlier one, or the other way
    // round) is not the record's.
    assert!(!proves_transfer(
        &invited,
        &listed("rt-othertransfer", CUSTOMER)
    ));
    let ended = ObservedTransfer {
        ended_at: Some(t(5)),
        ..listed(TRANSFER, CUSTOMER)
    };
    assert!(!proves_transfer(&invited, &ended), "ended: not in force");
    let requested = ObservedTransfer {
        status: TransferStatus::Requested,
        ..listed(TRANSFER, CUSTOMER)
    };
    assert!(!proves_transfer(&invited, &requested), "not accepted yet");
    // No invitation, no proof: an accepted transfer to an account awaiting one is not its.
    assert!(!proves_transfer(&record(), &listed(TRANSFER, CUSTOMER)));

    // A confirmation of another transfer leaves the record invited.
    let (record, _) = run(
        invited.clone(),
        vec![confirmed_transfer("rt-othertransfer")],
    );
    assert_eq!(record.phase, Phase::TransferInvited);
    let (record, _) = run(invited, vec![confirmed()]);
    assert_eq!(record.phase, Phase::Transferred);
}

#[test]
fn a_record_from_before_records_kept_their_transfer_is_proven_by_the_accounts_transfer() {
    let mut legacy = EventKind::TransferInvitationSent {
        handshake: hs(H1),
        organization: Some(target().organization),
        expires_at: None,
        transfer: None,
    };
    // An event of an earlier version has no transfer field at all.
    let json = serde_json::to_value(&legacy).unwrap();
    assert!(json.get("transfer").is_none());
    legacy = serde_json::from_value(json).unwrap();
    let (invited, _) = run(record(), vec![legacy]);
    assert_eq!(invited.phase, Phase::TransferInvited);
    assert_eq!(invited.billing().unwrap().offered, None);
    assert!(proves_transfer(
        &invited,
        &listed("rt-anytransfer1", CUSTOMER)
    ));
    assert!(!proves_transfer(
        &invited,
        &listed("rt-anytransfer1", "333333333333")
    ));
}

#[test]
fn a_billing_enrollment_is_one_management_account_awaiting_its_transfer() {
    let record = record();
    assert_eq!(record.phase, Phase::AwaitingTransfer);
    assert_eq!(record.role, Role::Management);
    assert!(record.blockers.is_empty(), "its members never block it");
    assert_eq!(record.billing(), Some(&BillingTerms::default()));

    let with_members = Enrollment {
        members: vec![acct("333333333333")],
        ..billing_enrollment()
    };
    assert_eq!(
        with_members.records(t(0)),
        Err(EnrollmentError::BillingTakesOneManagementAccount)
    );
    let placed = Enrollment {
        placement: Placement {
            ou: Some(OuRef::parse("Customers/Acme").unwrap()),
            ..Placement::default()
        },
        ..billing_enrollment()
    };
    assert_eq!(
        placed.records(t(0)),
        Err(EnrollmentError::BillingHasNoPlacement)
    );
}

#[test]
fn invited_accepted_and_transferred_only_with_the_targets_proof() {
    let (record, transitions) = run(
        record(),
        vec![
            transfer_sent(H1, "o-exampleorgid"),
            EventKind::InvitationAccepted {
                handshake: hs(H1),
                organization: Some(target().organization),
            },
        ],
    );
    assert_eq!(
        record.phase,
        Phase::TransferInvited,
        "an acceptance is no proof"
    );
    assert!(transitions[0]
        .follow_ups
        .contains(&FollowUp::AcceptInvitation { handshake: hs(H1) }));

    let (record, transitions) = run(record, vec![confirmed()]);
    assert_eq!(record.phase, Phase::Transferred);
    let billing = record.billing().cloned().unwrap();
    assert_eq!(billing.transfer.as_deref(), Some("rt-examplet1"));
    assert!(transitions[0]
        .notifications
        .iter()
        .any(|n| matches!(n, Notification::BillingTransferred { transfer, .. } if transfer == "rt-examplet1")));
    assert!(
        record.placed.is_some(),
        "nothing to place: onboarding ended"
    );
    assert!(!transitions[0]
        .notifications
        .iter()
        .any(|n| matches!(n, Notification::AccountPlaced { .. })));

    // Terminal: nothing moves it back, not even the membership proof of a join.
    let (after, _) = run(
        record.clone(),
        vec![
            EventKind::MembershipConfirmed,
            transfer_sent(H2, "o-exampleorgid"),
        ],
    );
    assert_eq!(after.phase, Phase::Transferred);
    assert_eq!(after.version, record.version);
}

#[test]
fn an_invitation_to_join_is_never_taken_for_a_transfer_and_a_foreign_transfer_is_reported() {
    let join = EventKind::InvitationSent {
        handshake: hs(H1),
        organization: Some(target().organization),
        expires_at: None,
    };
    let (record, _) = run(record(), vec![join]);
    assert_eq!(record.phase, Phase::AwaitingTransfer);
    assert_eq!(record.handshake_id(), None);

    let (record, transitions) = run(record, vec![transfer_sent(H2, "o-foreignorg01")]);
    assert_eq!(record.phase, Phase::AwaitingTransfer);
    assert!(matches!(
        transitions[0].notifications.as_slice(),
        [Notification::UnexpectedInvitation { .. }]
    ));
    // And the join records of the other modes never take a transfer.
    let member = OnboardingRecord::enroll(
        acct("333333333333"),
        EnrollmentName::parse("acme").unwrap(),
        TransferMode::Direct,
        Role::Member,
        0,
        t(0),
    );
    let (member, _) = run(member, vec![transfer_sent(H1, "o-exampleorgid")]);
    assert_eq!(member.phase, Phase::AwaitingInvitation);
}

#[test]
fn a_declined_expired_or_withdrawn_transfer_invitation_awaits_a_new_one() {
    for closure in [
        Closure::Declined,
        Closure::Expired,
        Closure::Withdrawn,
        Closure::Canceled,
    ] {
        let (record, transitions) = run(
            record(),
            vec![
                transfer_sent(H1, "o-exampleorgid"),
                EventKind::InvitationClosed {
                    handshake: hs(H1),
                    closure,
                },
            ],
        );
        assert_eq!(record.phase, Phase::AwaitingTransfer, "{closure:?}");
        assert!(transitions[1]
            .follow_ups
            .contains(&FollowUp::SendInvitation));
        // The next invitation is taken; a late event about the closed one is not.
        let (record, _) = run(
            record,
            vec![
                transfer_sent(H1, "o-exampleorgid"),
                transfer_sent(H2, "o-exampleorgid"),
            ],
        );
        assert_eq!(record.handshake_id(), Some(&hs(H2)));
    }
}

#[test]
fn an_ended_transfer_is_reported_as_a_blocker_and_never_undone() {
    let (record, _) = run(
        record(),
        vec![transfer_sent(H1, "o-exampleorgid"), confirmed()],
    );
    let ended_at = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
    let other = EventKind::TransferTerminated {
        transfer: Some("rt-othertransfer".into()),
        ended_at: Some(ended_at),
        counterpart: None,
    };
    let (unchanged, _) = run(record.clone(), vec![other]);
    assert!(
        unchanged.blockers.is_empty(),
        "another transfer's end says nothing"
    );

    let ended = EventKind::TransferTerminated {
        transfer: Some("rt-examplet1".into()),
        ended_at: Some(ended_at),
        counterpart: None,
    };
    let (record, transitions) = run(record, vec![ended]);
    assert_eq!(record.phase, Phase::Transferred);
    assert!(record.is_blocked_by(BlockerCode::TransferTerminated));
    assert_eq!(record.billing().cloned().unwrap().ended_at, Some(ended_at));
    assert!(transitions[0]
        .notifications
        .iter()
        .any(|n| matches!(n, Notification::Blocked { .. })));
}

#[test]
fn a_transfer_ended_before_it_was_accepted_is_a_withdrawal() {
    let ended = EventKind::TransferTerminated {
        transfer: Some("rt-examplet1".into()),
        ended_at: None,
        counterpart: None,
    };
    let (record, _) = run(record(), vec![transfer_sent(H1, "o-exampleorgid"), ended]);
    assert_eq!(record.phase, Phase::AwaitingTransfer);
    assert!(record.blockers.is_empty());
}

#[test]
fn the_end_of_a_transfer_is_about_the_customer_whichever_party_recorded_it() {
    let kind = EventKind::TransferTerminated {
        transfer: Some("rt-examplet1".into()),
        ended_at: None,
        counterpart: Some(acct(CUSTOMER)),
    };
    // The customer ended it: CloudTrail in its account names the target as the other party.
    let event = DomainEvent {
        id: "ct-1".into(),
        account: acct(TARGET_MGMT),
        occurred_at: t(1),
        kind,
        recorded_in: Some(acct(CUSTOMER)),
        replayed: false,
    }
    .about_customer(&acct(TARGET_MGMT));
    assert_eq!(event.account, acct(CUSTOMER));
    assert_eq!(may_change(&event, &record(), &target()), Ok(()));
}

#[test]
fn preflight_predictions_and_the_old_organizations_deletion_do_not_apply() {
    let summary = onboarding::domain::PreflightSummary {
        at: t(1),
        policies: Vec::new(),
        policies_total: 0,
        checks: 0,
    };
    let predicted = EventKind::PreflightChecked {
        predicted: vec![Problem {
            code: BlockerCode::ContactInfoMissing,
            failure: AwsFailure::new("preflight", None, "no contact"),
        }],
        organization: None,
        summary,
    };
    let (record, _) = run(record(), vec![predicted, EventKind::OrganizationDeleted]);
    assert!(record.blockers.is_empty());
    assert_eq!(record.phase, Phase::AwaitingTransfer);
}
