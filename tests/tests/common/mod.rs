//! Shared setup of the tracker, acceptor and inviter tests on the emulator: a hub per
//! test, CloudTrail fixtures rewritten to a test's own accounts, a queue reading the
//! hub's notifications, and an SDK interceptor counting the calls a handler makes. What
//! the demo needs too (hubs, customers, enrollments, record reads, queues) lives in the
//! library (`onboarding_e2e`); these are the tests' panicking shorthands for it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::Utc;
use onboarding::domain::{AccountId, Enrollment, OnboardingRecord, Phase, TransferMode};
use onboarding::ports::RecordStore;
use serde_json::{json, Value};

use onboarding_e2e::accounts::unique_account_id;
use onboarding_e2e::customers;
use onboarding_e2e::event_loop::TestQueue;
use onboarding_e2e::hub::{self, unique_prefix, Hub};
use onboarding_e2e::{Emulator, Recorder};

/// The fixtures, read by the shared loader (each test binary uses only some of this
/// module, hence the allow, as `dead_code` above).
#[allow(unused_imports)]
pub use onboarding::fixtures::{names as fixture_names, text as fixture_text};

/// The emulator, a recorder and a new hub (its own account, organization, table, bus).
pub async fn hub(name: &str) -> (&'static Emulator, Recorder, Hub) {
    let emulator = Emulator::shared().await.unwrap();
    let recorder = Recorder::new(emulator);
    let hub = Hub::create(emulator, &recorder, &unique_prefix(name))
        .await
        .unwrap();
    (emulator, recorder, hub)
}

/// A queue receiving every notification the product publishes on the hub bus.
pub async fn notifications(hub: &Hub) -> TestQueue {
    hub.event_loop
        .notifications_queue("notifications")
        .await
        .unwrap()
}

/// Everything on the queue now ([`TestQueue::drain`]).
pub async fn drain(queue: &TestQueue) -> Vec<Value> {
    queue.drain().await.unwrap()
}

/// Everything until the queue answers empty ([`TestQueue::drain_all`]).
pub async fn drain_all(queue: &TestQueue) -> Vec<Value> {
    queue.drain_all().await.unwrap()
}

/// The accounts of the fixtures, replaced by a test's own: the target organization and
/// its management account are the hub's, the rest are fresh unique accounts.
#[derive(Debug, Clone)]
pub struct Cast {
    pub target_management: String,
    pub target_organization: String,
    pub customer_management: String,
    pub member_a: String,
    pub member_b: String,
    pub standalone: String,
    pub foreign_management: String,
}

impl Cast {
    pub fn new(hub: &Hub) -> Cast {
        Cast {
            target_management: hub.target.management_account.to_string(),
            target_organization: hub.target.organization.to_string(),
            customer_management: unique_account_id(),
            member_a: unique_account_id(),
            member_b: unique_account_id(),
            standalone: unique_account_id(),
            foreign_management: unique_account_id(),
        }
    }

    /// A fixture's text with this cast's accounts (shapes untouched).
    pub fn rewrite(&self, text: &str) -> String {
        text.replace("111111111111", &self.target_management)
            .replace("o-exampleorgid", &self.target_organization)
            .replace("222222222222", &self.customer_management)
            .replace("333333333333", &self.member_a)
            .replace("444444444444", &self.member_b)
            .replace("555555555555", &self.standalone)
            .replace("666666666666", &self.foreign_management)
    }

    /// Fixture `name` with this cast's accounts and the event id prefixed with `tag`
    /// (event ids are deduplication keys, unique per table).
    pub fn event(&self, name: &str, tag: &str) -> Value {
        let mut event: Value = serde_json::from_str(&self.rewrite(&fixture_text(name))).unwrap();
        let id = format!("{tag}-{}", event["detail"]["eventID"].as_str().unwrap());
        event["detail"]["eventID"] = json!(id);
        event["id"] = json!(format!("{tag}-{}", event["id"].as_str().unwrap()));
        event
    }

    /// The enrollment of the fixtures' customer: its management account, two members and
    /// a standalone account.
    pub fn enrollment(&self, name: &str, mode: TransferMode) -> Enrollment {
        customers::enrollment(
            name,
            mode,
            Some(&self.customer_management),
            &[&self.member_a, &self.member_b],
            &[&self.standalone],
        )
        .unwrap()
    }
}

pub fn acct(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

pub async fn record_of(store: &impl RecordStore, account: &str) -> OnboardingRecord {
    hub::record_of(store, account).await.unwrap()
}

pub fn blocker_codes(record: &OnboardingRecord) -> Vec<String> {
    let mut codes: Vec<String> = record.blockers.iter().map(|b| b.code.to_string()).collect();
    codes.sort();
    codes
}

/// A one-account enrollment of a standalone account.
pub fn standalone_enrollment(name: &str, account: &str) -> Enrollment {
    customers::standalone_enrollment(name, account).unwrap()
}

/// `(detail-type, account_id)` of notifications, for assertions.
pub fn summary(notifications: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = notifications
        .iter()
        .map(|n| {
            (
                n["detail-type"].as_str().unwrap_or_default().to_owned(),
                n["detail"]["account_id"]
                    .as_str()
                    .or_else(|| n["detail"]["enrollment"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn phase_of(record: &OnboardingRecord) -> Phase {
    record.phase
}

pub fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}

/// `{"GetItem": 1, …}` from `[("GetItem", 1), …]`.
pub fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// Someone in `account` declines `declined` (recorded as CloudTrail there, and forwarded
/// to the hub bus); then the deployment's functions run on their queues until idle,
/// without a failure. The account's record then, whose current handshake is a new one
/// (the declined one settled).
pub async fn decline_and_run_until_idle(
    hub: &Hub,
    recorder: &Recorder,
    account: &onboarding_e2e::accounts::AwsAccount,
    declined: &onboarding::domain::HandshakeId,
) -> OnboardingRecord {
    onboarding_e2e::recorder::recorded_organizations_client(account, recorder)
        .decline_handshake()
        .handshake_id(declined.as_str())
        .send()
        .await
        .unwrap();
    let report = hub
        .dispatcher()
        .unwrap()
        .run_until_idle(std::time::Duration::from_secs(90))
        .await
        .unwrap();
    assert_eq!(report.total_failed(), 0, "{report:?}");
    let record = record_of(&hub.store(), account.account_id()).await;
    assert_ne!(record.handshake_id(), Some(declined), "{record:?}");
    assert!(record.handshake_id().is_some(), "{record:?}");
    assert!(record.settled_handshakes.contains(declined));
    record
}

/// The notifications of one detail-type among `published`.
pub fn of_type<'a>(published: &'a [Value], detail_type: &str) -> Vec<&'a Value> {
    published
        .iter()
        .filter(|p| p["detail-type"] == detail_type)
        .collect()
}
