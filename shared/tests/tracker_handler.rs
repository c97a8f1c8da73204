//! The tracker's handler with in-memory fakes: exactly-once application, notifications,
//! the outbox on publish failure, management re-evaluation and enrollment completion.

use std::sync::Arc;

use chrono::Utc;
use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
use onboarding::domain::*;
use onboarding::fixtures::json as fixture;
use onboarding::notifications::{self as n, Detail as _};
use onboarding::ports::{RecordCreator, RecordReader};
use onboarding::tracker::{Outcome, Tracker};
use serde_json::Value;

type TestTracker = Tracker<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>>;

fn with_event_id(mut event: Value, id: &str) -> Value {
    event["detail"]["eventID"] = Value::from(id);
    event
}

fn acct(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}

async fn setup(
    mode: TransferMode,
) -> (TestTracker, Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>) {
    tracker_for(Enrollment {
        name: EnrollmentName::parse("acme").unwrap(),
        transfer_mode: mode,
        management_account: Some(acct("222222222222")),
        members: vec![acct("333333333333"), acct("444444444444")],
        standalone_accounts: vec![acct("555555555555")],
        placement: Default::default(),
    })
    .await
}

async fn phase_of(store: &InMemoryRecordStore, account: &str) -> Phase {
    store.load(&acct(account)).await.unwrap().unwrap().phase
}

#[tokio::test]
async fn member_leaving_advances_and_notifies() {
    let (tracker, store, notifier) = setup(TransferMode::Standalone).await;
    let outcome = tracker
        .handle_json(&fixture("leave-organization.json"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Applied {
            account: acct("333333333333"),
            phase: Phase::AwaitingInvitation
        }
    );
    assert_eq!(
        phase_of(&store, "333333333333").await,
        Phase::AwaitingInvitation
    );
    let published = notifier.published();
    assert_eq!(published[0].detail_type, n::PHASE_CHANGED);
    let changed = n::PhaseChanged::from_outgoing(&published[0]).unwrap();
    assert_eq!(changed.new_phase, Phase::AwaitingInvitation);
    assert_eq!(changed.old_phase, Phase::LeavingOrganization);
    assert_eq!(
        changed.context.cloudtrail_event_id,
        fixture("leave-organization.json")["detail"]["eventID"]
    );
}

#[tokio::test]
async fn the_same_event_twice_is_one_transition_and_one_notification_set() {
    let (tracker, store, notifier) = setup(TransferMode::Standalone).await;
    let event = fixture("leave-organization-payment-instrument-required.json");
    tracker.handle_json(&event).await.unwrap();
    let second = tracker.handle_json(&event).await.unwrap();
    assert_eq!(
        second,
        Outcome::Duplicate {
            account: acct("333333333333")
        }
    );
    assert_eq!(notifier.detail_types(), [n::BLOCKED]);
    let record = store.load(&acct("333333333333")).await.unwrap().unwrap();
    assert_eq!(record.version, 2);
    assert_eq!(record.blockers[0].code, BlockerCode::PaymentMethodMissing);
}

#[tokio::test]
async fn eight_concurrent_copies_apply_once() {
    let (tracker, store, notifier) = setup(TransferMode::Standalone).await;
    let tracker = Arc::new(tracker);
    let event = fixture("leave-organization.json");
    let copies = (0..8).map(|_| {
        let (tracker, event) = (tracker.clone(), event.clone());
        tokio::spawn(async move { tracker.handle_json(&event).await.unwrap() })
    });
    let outcomes: Vec<Outcome> = futures_join(copies).await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Applied { .. }))
            .count(),
        1
    );
    assert_eq!(
        store
            .load(&acct("333333333333"))
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
    let phase_changes = notifier
        .published()
        .into_iter()
        .filter_map(|p| n::PhaseChanged::from_outgoing(&p).ok())
        .filter(|d| d.context.account_id.as_str() == "333333333333")
        .count();
    assert_eq!(phase_changes, 1);
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn sixteen_concurrent_different_events_lose_no_update() {
    let (tracker, store, _) = setup(TransferMode::Standalone).await;
    let tracker = Arc::new(tracker);
    // 16 distinct failures of the standalone account's acceptance, each with its own reason
    // code text: every one must end up in the history.
    let base = fixture("accept-handshake-different-seller.json");
    let handles = (0..16).map(|i| {
        let tracker = tracker.clone();
        let mut event = with_event_id(base.clone(), &format!("concurrent-{i:02}"));
        event["detail"]["errorCode"] = Value::from(if i % 2 == 0 {
            "ConstraintViolationException"
        } else {
            "TooManyRequestsException"
        });
        event["detail"]["errorMessage"] = Value::from(format!("UNKNOWN_REASON_{i}"));
        tokio::spawn(async move { tracker.handle_json(&event).await.unwrap() })
    });
    futures_join(handles).await;
    let record = store.load(&acct("555555555555")).await.unwrap().unwrap();
    // 8 constraint violations add one (deduplicated) blocker but each is a change only the
    // first time; transient ones change nothing. So: exactly one applied, and no lost write
    // means the version equals 1 + the number of changes in history.
    assert_eq!(record.version as usize, 1 + record.history.len());
    assert_eq!(record.blockers.len(), 1);
}

#[tokio::test]
async fn sixteen_concurrent_changes_to_one_account_are_all_kept() {
    let (tracker, store, _) = setup(TransferMode::Direct).await;
    let tracker = Arc::new(tracker);
    // Sixteen different handshakes of the standalone account closing at once: each is a
    // real change (the record remembers every settled handshake), so each needs its own
    // version; optimistic locking must serialise them without losing one.
    let handles = (0..16).map(|i| {
        let tracker = tracker.clone();
        tokio::spawn(async move {
            let event = DomainEvent {
                id: format!("close-{i}"),
                recorded_in: None,
                replayed: false,
                account: acct("555555555555"),
                occurred_at: Utc::now(),
                kind: EventKind::InvitationClosed {
                    handshake: HandshakeId::parse(format!("h-concurrent{i:04}")).unwrap(),
                    closure: Closure::Expired,
                },
            };
            tracker.record(&event).await.unwrap()
        })
    });
    let outcomes = futures_join(handles).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Applied { .. })),
        "{outcomes:?}"
    );
    let record = store.load(&acct("555555555555")).await.unwrap().unwrap();
    assert_eq!(record.version, 17);
    assert_eq!(record.settled_handshakes.len(), 16);
}

#[tokio::test]
async fn a_failed_publish_is_delivered_on_retry_exactly_once() {
    let (tracker, store, notifier) = setup(TransferMode::Standalone).await;
    notifier.fail_next(1);
    let event = fixture("leave-organization.json");
    assert!(
        tracker.handle_json(&event).await.is_err(),
        "publish failure must make Lambda retry"
    );
    assert_eq!(
        phase_of(&store, "333333333333").await,
        Phase::AwaitingInvitation,
        "the write is kept"
    );
    assert!(notifier.published().is_empty());
    // Lambda's retry: the event is a duplicate now, and the pending outbox goes out.
    assert_eq!(
        tracker.handle_json(&event).await.unwrap(),
        Outcome::Duplicate {
            account: acct("333333333333")
        }
    );
    let first = notifier.published();
    assert!(first.iter().any(|p| p.detail_type == n::PHASE_CHANGED));
    // A third delivery publishes nothing more.
    tracker.handle_json(&event).await.unwrap();
    assert_eq!(notifier.published(), first);
}

#[tokio::test]
async fn events_for_accounts_not_enrolled_are_skipped() {
    let (tracker, _, notifier) = setup(TransferMode::Standalone).await;
    let event = fixture("invite-account-to-organization-rate-limit.json");
    let mut event = event.clone();
    event["detail"]["requestParameters"]["target"]["id"] = Value::from("999999999999");
    assert_eq!(
        tracker.handle_json(&event).await.unwrap(),
        Outcome::NotEnrolled {
            account: acct("999999999999")
        }
    );
    assert!(notifier.published().is_empty());
}

#[tokio::test]
async fn malformed_and_unknown_events_are_skipped_not_retried() {
    let (tracker, _, _) = setup(TransferMode::Standalone).await;
    let mut broken = fixture("remove-account-from-organization.json");
    broken["detail"]["requestParameters"]["accountId"] = Value::from("nope");
    assert!(matches!(
        tracker.handle_json(&broken).await.unwrap(),
        Outcome::Rejected { .. }
    ));
    let mut other = fixture("leave-organization.json");
    other["detail"]["eventName"] = Value::from("CreateAccount");
    assert!(matches!(
        tracker.handle_json(&other).await.unwrap(),
        Outcome::Ignored { .. }
    ));
}

#[tokio::test]
async fn management_account_is_unblocked_when_the_last_member_leaves() {
    let (tracker, store, notifier) = setup(TransferMode::Standalone).await;
    tracker
        .handle_json(&fixture("leave-organization.json"))
        .await
        .unwrap();
    let management = store.load(&acct("222222222222")).await.unwrap().unwrap();
    assert!(
        management.is_blocked_by(BlockerCode::OrganizationNotEmpty),
        "one member remains"
    );
    tracker
        .handle_json(&fixture("remove-account-from-organization.json"))
        .await
        .unwrap();
    let management = store.load(&acct("222222222222")).await.unwrap().unwrap();
    assert!(!management.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    assert_eq!(
        management.phase,
        Phase::DeletingOrganization,
        "it still has to delete its organization"
    );
    assert!(notifier
        .published()
        .iter()
        .filter_map(|p| n::Unblocked::from_outgoing(p).ok())
        .any(|d| d.context.account_id.as_str() == "222222222222"));
}

#[tokio::test]
async fn direct_member_joining_unblocks_the_management_account() {
    let (tracker, store, _) = setup(TransferMode::Direct).await;
    for (i, member) in ["333333333333", "444444444444"].into_iter().enumerate() {
        let event = DomainEvent {
            id: format!("joined-{i}"),
            recorded_in: None,
            replayed: false,
            account: acct(member),
            occurred_at: Utc::now(),
            kind: EventKind::JoinedOrganization {
                management_account: acct("111111111111"),
            },
        };
        tracker.record(&event).await.unwrap();
    }
    let management = store.load(&acct("222222222222")).await.unwrap().unwrap();
    assert!(!management.is_blocked_by(BlockerCode::OrganizationNotEmpty));
}

#[tokio::test]
async fn organization_deletion_marks_members_with_lost_leave_events_as_departed() {
    let (tracker, store, _) = setup(TransferMode::Standalone).await;
    tracker
        .handle_json(&fixture("delete-organization.json"))
        .await
        .unwrap();
    assert_eq!(
        phase_of(&store, "222222222222").await,
        Phase::AwaitingInvitation
    );
    assert_eq!(
        phase_of(&store, "333333333333").await,
        Phase::AwaitingInvitation
    );
    assert_eq!(
        phase_of(&store, "444444444444").await,
        Phase::AwaitingInvitation
    );
}

#[tokio::test]
async fn enrollment_completed_is_announced_once() {
    let (tracker, _, notifier) = setup(TransferMode::Direct).await;
    let joined = EventKind::JoinedOrganization {
        management_account: acct("111111111111"),
    };
    let placed = EventKind::AccountPlaced {
        placed_in: None,
        access_role: Some("OrgOnboardingAccess".into()),
    };
    for (name, kind) in [("joined", joined), ("placed", placed)] {
        assert!(
            !notifier
                .detail_types()
                .iter()
                .any(|t| t == n::ENROLLMENT_COMPLETED),
            "before every account is {name}: joined is not onboarded, placing comes first"
        );
        for account in [
            "222222222222",
            "333333333333",
            "444444444444",
            "555555555555",
        ] {
            for copy in 0..2 {
                let id = format!("{name}-{account}-{copy}");
                let event = DomainEvent::observed(id, acct(account), kind.clone());
                tracker.record(&event).await.unwrap();
            }
        }
    }
    let completed = notifier
        .detail_types()
        .into_iter()
        .filter(|t| t == n::ENROLLMENT_COMPLETED)
        .count();
    assert_eq!(completed, 1);
    assert_eq!(
        notifier
            .detail_types()
            .into_iter()
            .filter(|t| t == n::ACCOUNT_JOINED)
            .count(),
        4
    );
}

#[tokio::test]
async fn follow_ups_that_failed_after_the_commit_are_redone_on_redelivery() {
    let (tracker, store, notifier) = setup(TransferMode::Standalone).await;
    tracker
        .handle_json(&fixture("leave-organization.json"))
        .await
        .unwrap();
    // The second member leaves, but re-evaluating the management account fails.
    store.fail_next_listings(1);
    let event = fixture("remove-account-from-organization.json");
    assert!(
        tracker.handle_json(&event).await.is_err(),
        "Lambda must retry"
    );
    let management = store.load(&acct("222222222222")).await.unwrap().unwrap();
    assert!(management.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    let published = notifier.published();
    assert!(
        published
            .iter()
            .any(|p| p.detail["account_id"] == "444444444444"),
        "the member's own notifications went out before the follow-up failed"
    );
    // Lambda's retry: the event is a duplicate, and the re-evaluation happens now; what
    // was published is not published again.
    assert_eq!(
        tracker.handle_json(&event).await.unwrap(),
        Outcome::Duplicate {
            account: acct("444444444444")
        }
    );
    let management = store.load(&acct("222222222222")).await.unwrap().unwrap();
    assert!(!management.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    let again = notifier.published();
    assert!(
        again[published.len()..]
            .iter()
            .all(|p| p.detail["account_id"] != "444444444444"),
        "{again:?}"
    );
    // A third delivery: nothing is left to do.
    tracker.handle_json(&event).await.unwrap();
    assert_eq!(notifier.published(), again);
}

/// A tracker over an in-memory store holding `enrollment`'s records.
async fn tracker_for(
    enrollment: Enrollment,
) -> (TestTracker, Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>) {
    let store = Arc::new(InMemoryRecordStore::new());
    let notifier = Arc::new(InMemoryNotifier::new());
    for record in enrollment.records(Utc::now()).unwrap() {
        store.create(&record).await.unwrap();
    }
    let target = Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: acct("111111111111"),
    };
    (
        Tracker::new(store.clone(), notifier.clone(), target),
        store,
        notifier,
    )
}

/// The fixtures' customer management account enrolled alone in billing mode.
async fn billing_setup() -> (TestTracker, Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>) {
    tracker_for(Enrollment {
        name: EnrollmentName::parse("acme").unwrap(),
        transfer_mode: TransferMode::billing(),
        management_account: Some(acct("222222222222")),
        members: vec![],
        standalone_accounts: vec![],
        placement: Default::default(),
    })
    .await
}

async fn customer_record(store: &InMemoryRecordStore) -> OnboardingRecord {
    store.load(&acct("222222222222")).await.unwrap().unwrap()
}

fn codes(record: &OnboardingRecord) -> Vec<BlockerCode> {
    record.blockers.iter().map(|b| b.code).collect()
}

#[tokio::test]
async fn billing_fixtures_drive_the_customers_record_and_a_forged_invitation_changes_nothing() {
    let (tracker, store, notifier) = billing_setup().await;
    let forged = tracker
        .handle_json(&fixture(
            "invite-organization-to-transfer-responsibility-forged.json",
        ))
        .await
        .unwrap();
    let Outcome::Ignored { reason } = &forged else {
        panic!("{forged:?}")
    };
    assert!(
        reason.contains("333333333333") && reason.contains("222222222222"),
        "{reason}"
    );
    let record = customer_record(&store).await;
    assert_eq!((record.phase, record.version), (Phase::AwaitingTransfer, 1));
    assert!(notifier.published().is_empty());

    let failed = tracker
        .handle_json(&fixture(
            "invite-organization-to-transfer-responsibility-unused-prepayment-balance.json",
        ))
        .await
        .unwrap();
    assert!(matches!(failed, Outcome::Applied { .. }), "{failed:?}");
    assert_eq!(
        codes(&customer_record(&store).await),
        [BlockerCode::UnusedPrepaymentBalance]
    );

    let invited = tracker
        .handle_json(&fixture(
            "invite-organization-to-transfer-responsibility.json",
        ))
        .await
        .unwrap();
    assert_eq!(
        invited,
        Outcome::Applied {
            account: acct("222222222222"),
            phase: Phase::TransferInvited
        }
    );
    let record = customer_record(&store).await;
    assert_eq!(
        record.handshake_id().map(|h| h.as_str()),
        Some("h-exampletransferid222")
    );
    assert!(
        codes(&record).is_empty(),
        "the invitation clears the Invite step"
    );

    // An acceptance is a prompt, never the proof: the record stays invited...
    tracker
        .handle_json(&fixture("accept-handshake-transfer-responsibility.json"))
        .await
        .unwrap();
    assert_eq!(customer_record(&store).await.phase, Phase::TransferInvited);
    // ...until the target's own list shows the transfer accepted.
    let confirmed = DomainEvent::observed(
        "test#transferred",
        acct("222222222222"),
        EventKind::TransferConfirmed {
            transfer: "rt-exampletransfer222".into(),
            starts_at: None,
        },
    );
    tracker.record(&confirmed).await.unwrap();
    assert_eq!(customer_record(&store).await.phase, Phase::Transferred);

    // The customer ends it: reported, never undone.
    let ended = tracker
        .handle_json(&fixture(
            "terminate-responsibility-transfer-by-customer.json",
        ))
        .await
        .unwrap();
    assert_eq!(
        ended,
        Outcome::Applied {
            account: acct("222222222222"),
            phase: Phase::Transferred
        }
    );
    let record = customer_record(&store).await;
    assert_eq!(codes(&record), [BlockerCode::TransferTerminated]);
    assert_eq!(
        record
            .billing()
            .cloned()
            .unwrap()
            .ended_at
            .unwrap()
            .to_rfc3339(),
        "2027-01-01T00:00:00+00:00"
    );
    // The target's record of the same end reports nothing more.
    tracker
        .handle_json(&fixture("terminate-responsibility-transfer.json"))
        .await
        .unwrap();
    let record = customer_record(&store).await;
    assert_eq!(
        (record.phase, codes(&record)),
        (Phase::Transferred, vec![BlockerCode::TransferTerminated])
    );
}

#[tokio::test]
async fn a_declined_or_ended_transfer_invitation_awaits_a_new_one() {
    for file in [
        "decline-handshake-transfer-responsibility.json",
        "terminate-responsibility-transfer.json",
        "terminate-responsibility-transfer-by-customer.json",
    ] {
        let (tracker, store, _) = billing_setup().await;
        tracker
            .handle_json(&fixture(
                "invite-organization-to-transfer-responsibility.json",
            ))
            .await
            .unwrap();
        let outcome = tracker.handle_json(&fixture(file)).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Applied {
                account: acct("222222222222"),
                phase: Phase::AwaitingTransfer
            },
            "{file}"
        );
        let record = customer_record(&store).await;
        assert_eq!(record.handshake_id(), None, "{file}");
        assert!(codes(&record).is_empty(), "{file}");
    }
}
