//! Trust boundaries on the in-memory store: every CloudTrail fixture, recorded in each
//! origin (the account itself, the target management account, the account's old
//! management account, another customer's account), is applied or ignored exactly as
//! `onboarding::fixtures::allowed_origins` specifies (or, when the body's caller disagrees
//! with the envelope, rejected), and an event not applied changes nothing.

use std::sync::Arc;

use chrono::Utc;
use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
use onboarding::cloudtrail::parse_event;
use onboarding::domain::*;
use onboarding::fixtures::{self, allowed_origins, Origin};
use onboarding::ports::{RecordCreator, RecordReader};
use onboarding::tracker::{Outcome, Tracker};
use serde_json::Value;

const TARGET_MANAGEMENT: &str = "111111111111";
const OLD_MANAGEMENT: &str = "222222222222";
const ANOTHER_CUSTOMER: &str = "777777777777";

fn acct(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}

async fn enrolled() -> (
    Tracker<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>>,
    Arc<InMemoryRecordStore>,
) {
    enrolled_in(TransferMode::Standalone).await
}

/// The fixtures' customer enrolled in `mode`: its management account, two members and a
/// standalone account; in billing mode its management account alone.
async fn enrolled_in(
    mode: TransferMode,
) -> (
    Tracker<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>>,
    Arc<InMemoryRecordStore>,
) {
    let store = Arc::new(InMemoryRecordStore::new());
    let enrollment = fixtures::enrollment(mode);
    store
        .create_many(&enrollment.records(Utc::now()).unwrap())
        .await
        .unwrap();
    let target = Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: acct(TARGET_MANAGEMENT),
    };
    let tracker = Tracker::new(store.clone(), Arc::new(InMemoryNotifier::new()), target);
    (tracker, store)
}

/// The account an origin stands for, for an event about `about`; `None` where the origin
/// does not exist for it (a management or standalone account has no old management
/// account) or is another origin already.
fn origin_account(origin: Origin, about: &AccountId) -> Option<String> {
    let member = ["333333333333", "444444444444"].contains(&about.as_str());
    match origin {
        Origin::TheAccount => Some(about.to_string()),
        Origin::Target => (about.as_str() != TARGET_MANAGEMENT).then(|| TARGET_MANAGEMENT.into()),
        Origin::OldManagement => member.then(|| OLD_MANAGEMENT.into()),
        Origin::AnotherCustomer => Some(ANOTHER_CUSTOMER.into()),
    }
}

/// The fixture as if recorded in `account` (the envelope's account and the trail's
/// `recipientAccountId`).
pub fn recorded_in(mut event: Value, account: &str) -> Value {
    event["account"] = Value::from(account);
    event["detail"]["recipientAccountId"] = Value::from(account);
    event
}

#[tokio::test]
async fn every_event_changes_only_the_records_its_origin_can_speak_for() {
    let mut checked = 0;
    for name in fixtures::names() {
        let event = fixtures::json(&name);
        // As the tracker reads it: the end of a billing transfer is about the customer,
        // whichever party recorded it.
        let about = parse_event(&event)
            .unwrap()
            .about_customer(&acct(TARGET_MANAGEMENT))
            .account;
        let event_name = event["detail"]["eventName"].as_str().unwrap().to_owned();
        for origin in Origin::ALL {
            let Some(origin_id) = origin_account(origin, &about) else {
                continue;
            };
            let (tracker, store) = enrolled_in(fixtures::transfer_mode_of(&event)).await;
            let before = store.load(&about).await.unwrap();
            let outcome = tracker
                .handle_json(&recorded_in(event.clone(), &origin_id))
                .await
                .unwrap();
            let allowed = allowed_origins(&event_name).contains(&origin);
            match &outcome {
                // Ignored by the origin rules, or (a call an account makes about itself,
                // whose body names it as the caller) rejected as disagreeing with the
                // envelope: never applied.
                Outcome::Ignored { reason } | Outcome::Rejected { reason }
                    if !allowed
                        && (matches!(outcome, Outcome::Ignored { .. })
                            || reason.contains("is not the account that recorded the event")) =>
                {
                    assert!(
                        reason.contains(&origin_id) && reason.contains(about.as_str()),
                        "{name} from {origin:?}: the reason names both accounts: {reason}"
                    );
                    assert_eq!(
                        store.load(&about).await.unwrap(),
                        before,
                        "{name}: nothing changed"
                    );
                }
                Outcome::Ignored { reason } => panic!("{name} from {origin:?} ignored: {reason}"),
                other if !allowed => panic!("{name} from {origin:?} must be ignored: {other:?}"),
                _ => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked} cases");
}

#[tokio::test]
async fn a_foreign_accept_handshake_never_makes_an_account_joined() {
    let (tracker, store) = enrolled().await;
    let accept = fixtures::json("accept-handshake.json");
    for origin in [ANOTHER_CUSTOMER, OLD_MANAGEMENT, "555555555555"] {
        tracker
            .handle_json(&recorded_in(accept.clone(), origin))
            .await
            .unwrap();
        let record = store.load(&acct("555555555555")).await.unwrap().unwrap();
        assert_ne!(record.phase, Phase::Joined, "recorded in {origin}");
    }
}
