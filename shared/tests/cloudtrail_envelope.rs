//! Who recorded an event is the EventBridge envelope's `account` (issue 28, item 1): for
//! every event kind, a body that disagrees with its envelope (`recipientAccountId`, or the
//! caller of a call an account makes only about itself) is rejected with a typed error,
//! counted, and changes nothing, through the tracker and through a replay; the subject of
//! such calls and the management account of a service event come from the envelope; a
//! replayed event is marked in the history.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
use onboarding::cloudtrail::{parse_event, trail_event, ParseError};
use onboarding::domain::*;
use onboarding::fixtures;
use onboarding::metrics::ORIGIN_MISMATCH;
use onboarding::ports::{RecordCreator, RecordReader};
use onboarding::tracker::{Outcome, Tracker};
use serde_json::{json, Value};

const TARGET_MANAGEMENT: &str = "111111111111";
const ANOTHER_CUSTOMER: &str = "777777777777";

fn acct(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}

fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: acct(TARGET_MANAGEMENT),
    }
}

type Counted = Arc<Mutex<Vec<&'static str>>>;

/// The fixtures' customer enrolled in `mode`, and a tracker whose metrics are kept.
async fn tracker_in(
    mode: TransferMode,
) -> (
    Tracker<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>>,
    Arc<InMemoryRecordStore>,
    Counted,
) {
    let store = Arc::new(InMemoryRecordStore::new());
    let enrollment = fixtures::enrollment(mode);
    store
        .create_many(&enrollment.records(Utc::now()).unwrap())
        .await
        .unwrap();
    let counted = Counted::default();
    let sink = counted.clone();
    let tracker = Tracker::new(store.clone(), Arc::new(InMemoryNotifier::new()), target())
        .counting_with(Arc::new(move |metric| sink.lock().unwrap().push(metric)));
    (tracker, store, counted)
}

/// Every fixture whose event the tracker reads (parses): one per event kind and outcome.
fn parsed_fixtures() -> Vec<(String, Value, DomainEvent)> {
    fixtures::names()
        .into_iter()
        .filter_map(|name| {
            let event = fixtures::json(&name);
            let parsed = parse_event(&event).ok()?;
            Some((name, event, parsed))
        })
        .collect()
}

/// Fixture `event` with its envelope saying `account` recorded it, the body unchanged.
fn envelope_says(mut event: Value, account: &str) -> Value {
    event["account"] = json!(account);
    event
}

fn assert_mismatch(error: ParseError, field: &str, claimed: &str, envelope: &str, name: &str) {
    let message = error.to_string();
    match error {
        ParseError::OriginMismatch {
            field: f,
            claimed: c,
            recorded_in,
            ..
        } => {
            assert_eq!((f, c.as_str()), (field, claimed), "{name}");
            assert_eq!(recorded_in.as_str(), envelope, "{name}");
            assert!(
                message.contains(claimed) && message.contains(envelope),
                "{name}: the error names both accounts: {message}"
            );
        }
        other => panic!("{name}: expected an origin mismatch, got {other:?}"),
    }
}

#[test]
fn every_event_kind_whose_recipient_disagrees_with_the_envelope_is_an_origin_mismatch() {
    let fixtures = parsed_fixtures();
    assert!(fixtures.len() > 25, "{} fixtures", fixtures.len());
    for (name, event, _) in fixtures {
        let recipient = event["detail"]["recipientAccountId"]
            .as_str()
            .unwrap()
            .to_owned();
        // The attack of the issue: the envelope says a customer, the body the target.
        let forged = envelope_says(event, ANOTHER_CUSTOMER);
        let error = parse_event(&forged).unwrap_err();
        assert!(error.is_origin_mismatch(), "{name}: {error}");
        assert_mismatch(
            error,
            "recipientAccountId",
            &recipient,
            ANOTHER_CUSTOMER,
            &name,
        );
    }
}

#[test]
fn the_calls_an_account_makes_about_itself_are_about_the_envelopes_account() {
    let mut checked = 0;
    for (name, event, parsed) in parsed_fixtures() {
        let trail = trail_event(event["detail"]["eventName"].as_str().unwrap()).unwrap();
        // Every event's recording account is the envelope's.
        assert_eq!(
            parsed.recorded_in.as_ref().map(AccountId::as_str),
            event["account"].as_str(),
            "{name}"
        );
        if !trail.is_about_its_recorder() {
            continue;
        }
        // Single-sourced with the origin rules: only the account speaks for these, so the
        // event is about the account that recorded it...
        assert_eq!(Some(&parsed.account), parsed.recorded_in.as_ref(), "{name}");
        // ...and a caller of another account in the body is rejected.
        let mut other_caller = event.clone();
        other_caller["detail"]["userIdentity"]["accountId"] = json!(ANOTHER_CUSTOMER);
        let error = parse_event(&other_caller).unwrap_err();
        let recorder = event["account"].as_str().unwrap();
        assert_mismatch(
            error,
            "userIdentity.accountId",
            ANOTHER_CUSTOMER,
            recorder,
            &name,
        );
        // Without a caller in the body, the envelope decides.
        let mut no_caller = event.clone();
        no_caller["detail"]
            .as_object_mut()
            .unwrap()
            .remove("userIdentity");
        no_caller["detail"]
            .as_object_mut()
            .unwrap()
            .remove("recipientAccountId");
        assert_eq!(
            parse_event(&no_caller).unwrap().account.as_str(),
            recorder,
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 10, "{checked} own calls checked");
}

#[test]
fn a_caller_of_another_account_decides_nothing_for_the_targets_calls() {
    // A cross-account caller legitimately differs from the recipient (the resource owner's
    // copy, a delegated administrator): for the target's calls the request names the
    // account and the envelope says who recorded it.
    for name in [
        "invite-account-to-organization.json",
        "cancel-handshake.json",
        "remove-account-from-organization.json",
        "terminate-responsibility-transfer.json",
    ] {
        let event = fixtures::json(name);
        let before = parse_event(&event).unwrap();
        let mut delegated = event;
        delegated["detail"]["userIdentity"]["accountId"] = json!("999999999999");
        let after = parse_event(&delegated).unwrap();
        assert_eq!(after, before, "{name}");
    }
}

#[test]
fn an_event_without_an_envelope_account_is_invalid() {
    let mut event = fixtures::json("leave-organization.json");
    event.as_object_mut().unwrap().remove("account");
    match parse_event(&event).unwrap_err() {
        ParseError::InvalidField { field, .. } => assert_eq!(field, "account"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_service_events_management_account_is_the_envelopes() {
    let joined = fixtures::json("service-event-account-joined-organization.json");
    // Recorded in a customer's account, with no recipient in the body to disagree: the
    // event speaks for the customer's organization, not the target's.
    let mut forwarded = envelope_says(joined, ANOTHER_CUSTOMER);
    forwarded["detail"]
        .as_object_mut()
        .unwrap()
        .remove("recipientAccountId");
    let event = parse_event(&forwarded).unwrap();
    assert_eq!(
        event.kind,
        EventKind::JoinedOrganization {
            management_account: acct(ANOTHER_CUSTOMER)
        }
    );
    assert_eq!(event.recorded_in, Some(acct(ANOTHER_CUSTOMER)));
}

#[tokio::test]
async fn the_tracker_rejects_counts_and_never_applies_a_disagreeing_event_of_any_kind() {
    let mut checked = 0;
    for (name, event, _) in parsed_fixtures() {
        let (tracker, store, counted) = tracker_in(fixtures::transfer_mode_of(&event)).await;
        let before = store.list_all().await.unwrap();
        // Both disagreements: the recipient, and (for a call about the account itself) the
        // caller alone.
        let mut cases = vec![envelope_says(event.clone(), ANOTHER_CUSTOMER)];
        let name_of = event["detail"]["eventName"].as_str().unwrap();
        if trail_event(name_of).unwrap().is_about_its_recorder() {
            let mut caller = event.clone();
            caller["detail"]["userIdentity"]["accountId"] = json!(ANOTHER_CUSTOMER);
            cases.push(caller);
        }
        for (n, case) in cases.iter().enumerate() {
            for replayed in [false, true] {
                let outcome = if replayed {
                    tracker.replay_json(case).await.unwrap()
                } else {
                    tracker.handle_json(case).await.unwrap()
                };
                let Outcome::Rejected { reason } = &outcome else {
                    panic!("{name} case {n}: {outcome:?}");
                };
                assert!(
                    reason.contains(ANOTHER_CUSTOMER),
                    "{name}: the reason names the account: {reason}"
                );
                checked += 1;
            }
        }
        assert_eq!(
            store.list_all().await.unwrap(),
            before,
            "{name}: nothing changed"
        );
        assert_eq!(
            counted.lock().unwrap().as_slice(),
            vec![ORIGIN_MISMATCH; cases.len() * 2].as_slice(),
            "{name}: each rejection counted once"
        );
    }
    assert!(checked > 60, "{checked} cases");
}

#[tokio::test]
async fn a_forged_joined_service_event_never_makes_a_record_joined() {
    let (tracker, store, _) = tracker_in(TransferMode::Standalone).await;
    let joined = fixtures::json("service-event-account-joined-organization.json");
    // The envelope says a customer recorded it; the body claims the target: rejected.
    let forged = envelope_says(joined.clone(), ANOTHER_CUSTOMER);
    assert!(matches!(
        tracker.handle_json(&forged).await.unwrap(),
        Outcome::Rejected { .. }
    ));
    // The body claims nothing: a customer's record of a join is ignored by the origin
    // rules (only the target management account speaks for a join).
    let mut unclaimed = forged;
    unclaimed["detail"]
        .as_object_mut()
        .unwrap()
        .remove("recipientAccountId");
    assert!(matches!(
        tracker.handle_json(&unclaimed).await.unwrap(),
        Outcome::Ignored { .. }
    ));
    let record = store.load(&acct("555555555555")).await.unwrap().unwrap();
    assert_ne!(record.phase, Phase::Joined);
    // The genuine event joins it.
    assert!(matches!(
        tracker.handle_json(&joined).await.unwrap(),
        Outcome::Applied {
            phase: Phase::Joined,
            ..
        }
    ));
}

#[tokio::test]
async fn a_replayed_event_is_marked_replayed_in_the_history() {
    let (tracker, store, counted) = tracker_in(TransferMode::Standalone).await;
    tracker
        .handle_json(&fixtures::json("invite-account-to-organization.json"))
        .await
        .unwrap();
    let outcome = tracker
        .replay_json(&fixtures::json(
            "service-event-account-joined-organization.json",
        ))
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    let record = store.load(&acct("555555555555")).await.unwrap().unwrap();
    let marks: Vec<(&str, bool)> = record
        .history
        .iter()
        .map(|h| (h.summary.as_str(), h.replayed))
        .collect();
    assert_eq!(
        marks,
        [("invitation_sent", false), ("joined_organization", true)]
    );
    // Stored as it always was, with the mark only where it is set.
    let stored = serde_json::to_value(&record.history).unwrap();
    assert!(stored[0].get("replayed").is_none(), "{stored}");
    assert_eq!(stored[1]["replayed"], true);
    let old: HistoryEntry = serde_json::from_value(json!({
        "event_id": "e", "occurred_at": "2026-01-01T00:00:00Z",
        "applied_at": "2026-01-01T00:00:00Z", "summary": "left_organization",
        "phase": "AwaitingInvitation"}))
    .unwrap();
    assert!(
        !old.replayed,
        "an entry of an earlier version reads as not replayed"
    );
    assert!(counted.lock().unwrap().is_empty());
}
