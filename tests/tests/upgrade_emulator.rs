//! Stored data from earlier releases on the emulator: the items each release wrote
//! (`tests/fixtures/stored/<release>/`), loaded into a hub's table as they are (only the
//! fixtures' account ids bound to this test's accounts), reach `Enrollment Completed`
//! through the real functions: the reconciler's pass upgrades them (records listed for
//! placement, counters rebuilt, a release-1 outbox item listed as pending and published),
//! the placer places them, the completion check announces each enrollment once.
//! `onboardctl migrate` does the same from the command line, idempotently.

mod common;

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use onboarding::adapters::dynamo::fixtures;
use onboarding::domain::EnrollmentName;
use onboarding::notifications::{Detail as _, EnrollmentCompleted};
use onboarding::ports::{CountReader, StoredDataUpgrade};

use onboarding_e2e::accounts::{unique_account_id, AwsAccount};
use onboarding_e2e::cli::{operator_environment, Run};
use onboarding_e2e::event_loop::HUB_BUS_NAME;
use onboarding_e2e::hub::{Hub, EXTERNAL_ID};
use onboarding_e2e::Emulator;

use common::*;

/// Every account the fixtures of `releases` name, bound to a new member of the hub's
/// organization (with the access role the placer assumes).
async fn members_for(
    emulator: &Emulator,
    hub: &Hub,
    releases: &[String],
) -> BTreeMap<String, String> {
    let mut accounts = BTreeMap::new();
    for release in releases {
        for fixture in fixtures::account_ids(release) {
            let id = unique_account_id();
            let member =
                AwsAccount::create_member_of(emulator, &id, hub.target.organization.as_str())
                    .await
                    .unwrap();
            hub.grant_access(&member).await.unwrap();
            accounts.insert(fixture, id);
        }
    }
    accounts
}

/// Puts every item of `releases` into the hub's table, as written.
async fn load(hub: &Hub, releases: &[String], accounts: &BTreeMap<String, String>) {
    for release in releases {
        for item in fixtures::items_with_accounts(release, accounts) {
            hub.put_raw_item(item).await.unwrap();
        }
    }
}

/// The enrollments whose `Enrollment Completed` is among `published`, in order.
fn completed(published: &[serde_json::Value]) -> Vec<String> {
    published
        .iter()
        .filter_map(|event| EnrollmentCompleted::from_event(event).ok())
        .map(|done| done.enrollment.to_string())
        .collect()
}

fn enrollment(name: &str) -> EnrollmentName {
    EnrollmentName::parse(name).unwrap()
}

#[tokio::test]
async fn every_release_s_items_reach_enrollment_completed_through_the_reconciler_and_the_placer() {
    let (emulator, _recorder, hub) = hub("upgrade").await;
    let queue = notifications(&hub).await;
    let root = hub.account.root_id().await.unwrap();
    hub.account
        .create_organizational_unit(&root, "Customers")
        .await
        .unwrap();
    let releases = fixtures::releases();
    let accounts = members_for(emulator, &hub, &releases).await;
    load(&hub, &releases, &accounts).await;
    let store = hub.store();

    // As each release left them: only release 3 listed its joined record for placement,
    // and no enrollment's counters can say it is complete.
    let listed = hub.placer().sweep().await.unwrap();
    assert_eq!(
        listed.done.len(),
        1,
        "only the record release 3 listed is placed: {listed:?}"
    );
    for name in ["acme", "globex", "initech", "umbrella"] {
        let counts = store.load_counts(&enrollment(name)).await.unwrap();
        assert!(!counts.all_placed(), "{name}: {counts:?}");
    }
    assert!(completed(&drain_all(&queue).await).is_empty());

    // One reconciler pass upgrades every item (the fixtures are well within a pass) and
    // announces umbrella, whose last account was placed while its counters could not say.
    hub.reconciler().pass().await.unwrap();
    let after_pass = drain_all(&queue).await;
    assert_eq!(completed(&after_pass), ["umbrella"]);
    let release_1_outbox = after_pass
        .iter()
        .filter(|e| {
            e["detail"]["cloudtrail_event_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("ev-accept-"))
        })
        .count();
    assert_eq!(
        release_1_outbox, 1,
        "the notification release 1 left pending is published: {after_pass:#?}"
    );
    let initech = store.load_counts(&enrollment("initech")).await.unwrap();
    assert!(!initech.partial);
    assert_eq!(
        (initech.accounts(), initech.placed()),
        (1, 0),
        "rebuilt from its record"
    );

    // The placer now sees every joined record; each enrollment completes once.
    let placed = hub.placer().sweep().await.unwrap();
    assert_eq!(placed.done.len(), 4, "{placed:?}");
    let mut done = completed(&drain_all(&queue).await);
    done.sort();
    assert_eq!(done, ["acme", "globex", "initech"]);
    for name in ["acme", "globex", "initech", "umbrella"] {
        let counts = store.load_counts(&enrollment(name)).await.unwrap();
        assert!(counts.all_placed(), "{name}: {counts:?}");
    }
    for (fixture, id) in &accounts {
        let record = hub.record(id).await.unwrap();
        assert!(record.placed.is_some(), "{fixture} as {id}");
    }

    // A second upgrade from the start finds nothing to do; nothing is announced twice.
    let again = store.upgrade_step(1000, true).await.unwrap();
    assert_eq!((again.upgraded(), again.finished), (0, true), "{again:?}");
    hub.reconciler().pass().await.unwrap();
    assert!(completed(&drain_all(&queue).await).is_empty());
}

#[tokio::test]
async fn onboardctl_migrate_upgrades_release_1_items_page_by_page_and_a_second_run_nothing() {
    let (emulator, _recorder, hub) = hub("migrate").await;
    let release = vec!["1-before-counters".to_owned()];
    let accounts = members_for(emulator, &hub, &release).await;
    load(&hub, &release, &accounts).await;
    let (mut env, home) = operator_environment(emulator, &hub.account, "migrate").await;
    env.extend([
        ("TABLE_NAME", hub.table.clone()),
        ("EVENT_BUS_NAME", HUB_BUS_NAME.to_owned()),
        (
            "TARGET_ORGANIZATION_ID",
            hub.target.organization.to_string(),
        ),
        (
            "TARGET_MANAGEMENT_ACCOUNT_ID",
            hub.target.management_account.to_string(),
        ),
        ("SPOKE_EXTERNAL_ID", EXTERNAL_ID.to_owned()),
    ]);

    let first = Run::of(&["migrate", "--page", "1"], &home, &env);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.line("examined").ends_with("; upgraded 4 items"),
        "two records, the outbox item and the counters of acme (the marker is read, not changed): {first:?}"
    );
    assert_eq!(
        first.line("  2 records"),
        "  2 records (2 joined and now awaiting placement)"
    );
    assert_eq!(
        first.line("  counters"),
        "  counters rebuilt from the records: acme"
    );
    assert_eq!(first.line("every item"), "every item is up to date");

    let client = aws_sdk_dynamodb::Client::new(hub.account.config());
    let outbox = client
        .get_item()
        .table_name(&hub.table)
        .key(
            "pk",
            AttributeValue::S(format!("OUTBOX#{}", accounts["100000000002"])),
        )
        .key(
            "sk",
            AttributeValue::S(format!("ev-accept-{}", accounts["100000000002"])),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(outbox["pending"], AttributeValue::S("OUTBOX".into()));
    assert_eq!(outbox["schema_version"], AttributeValue::N("4".into()));

    let second = Run::of(&["migrate"], &home, &env);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(
        second.line("examined").ends_with("; upgraded 0 items"),
        "{second:?}"
    );
    assert_eq!(second.line("every item"), "every item is up to date");
}
