//! Sweeps on the emulator's DynamoDB: records streamed a page at a time from the phase
//! index in account order, a record that does not decode skipped and reported while the
//! sweep finishes the others, and a sweep killed mid-way resumed after the last account
//! it finished.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use onboarding::domain::{
    AccountId, EnrollmentName, FunctionName, OnboardingRecord, Phase, Role, TransferMode,
};
use onboarding::inviter::InviterOutcome;
use onboarding::ports::{RecordCreator, StoreError, SweepCursors, SweepSource};
use onboarding::sweep::{resumable, SweepLimits};
use onboarding_e2e::accounts::AwsAccount;
use onboarding_e2e::hub::Hub;
use tokio::sync::Notify;

use common::*;

const AWAITING: [SweepSource; 1] = [SweepSource::Phase(Phase::AwaitingInvitation)];

/// Puts a record item of `account` awaiting its invitation that does not decode (its
/// version is a string, every other field missing), straight into the table.
async fn put_malformed(hub: &Hub, account: &str) -> String {
    let key = format!("ACCOUNT#{account}");
    let item: HashMap<String, AttributeValue> = [
        ("pk", key.clone()),
        ("sk", "RECORD".to_owned()),
        ("account_id", account.to_owned()),
        ("phase", "AwaitingInvitation".to_owned()),
        ("enrollment", "acme".to_owned()),
        ("version", "not a number".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), AttributeValue::S(value)))
    .collect();
    hub.put_raw_item(item).await.unwrap();
    key
}

fn awaiting(i: usize) -> OnboardingRecord {
    let mut record = OnboardingRecord::enroll(
        AccountId::parse(format!("{}", 300_000_000_000 + i)).unwrap(),
        EnrollmentName::parse("acme").unwrap(),
        TransferMode::Standalone,
        Role::Standalone,
        0,
        Utc::now(),
    );
    record.phase = Phase::AwaitingInvitation;
    record
}

#[tokio::test]
async fn the_inviters_sweep_over_an_unreadable_item_invites_the_others() {
    let (emulator, _recorder, hub) = hub("sweep-unreadable").await;
    let mut customers = Vec::new();
    for name in ["one", "two"] {
        let customer = AwsAccount::create_unique(emulator).await.unwrap();
        hub.add_spoke(&customer).await.unwrap();
        hub.enroll(&standalone_enrollment(name, customer.account_id()))
            .await
            .unwrap();
        customers.push(customer.account_id().to_owned());
    }
    let key = put_malformed(&hub, "000000000001").await;

    let report = hub.inviter().sweep().await.unwrap();
    assert_eq!(report.unreadable, vec![key], "{report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    let invited: Vec<&str> = report
        .done
        .iter()
        .filter(|(_, o)| matches!(o, InviterOutcome::Invited { .. }))
        .map(|(a, _)| a.as_str())
        .collect();
    customers.sort();
    assert_eq!(invited, customers);
}

#[tokio::test]
async fn a_sweep_killed_mid_way_resumes_after_the_last_account_it_finished() {
    let (_emulator, _recorder, hub) = hub("sweep-resume").await;
    let store = hub.store();
    // Three pages of the phase index, and an unreadable item among them.
    let records: Vec<_> = (1..=250).map(awaiting).collect();
    store.create_many(&records).await.unwrap();
    let unreadable = put_malformed(&hub, "300000000120").await;
    let limits = SweepLimits {
        concurrency: 1,
        save_every: std::time::Duration::ZERO,
        ..SweepLimits::default()
    };

    // The first run is killed (dropped, as a Lambda timeout kills it) while it works on
    // its 151st account.
    let started = Mutex::new(Vec::new());
    let stuck = Notify::new();
    let first = resumable(
        &store,
        FunctionName::Inviter,
        limits,
        &AWAITING,
        |_| true,
        |record| {
            let n = {
                let mut started = started.lock().unwrap();
                started.push(record.account_id.clone());
                started.len()
            };
            let stuck = &stuck;
            async move {
                if n == 151 {
                    stuck.notify_one();
                    std::future::pending::<()>().await;
                }
                Ok::<_, StoreError>(())
            }
        },
    );
    tokio::select! {
        _ = first => panic!("the first run was to be killed"),
        _ = stuck.notified() => {}
    }
    let finished = started.lock().unwrap()[149].clone();
    assert_eq!(
        finished.as_str(),
        "300000000151",
        "the unreadable one skipped"
    );
    let cursor = store.sweep_cursor("inviter").await.unwrap();
    assert_eq!(cursor, Some(finished.clone()));

    let next = Mutex::new(Vec::new());
    let report = resumable(
        &store,
        FunctionName::Inviter,
        limits,
        &AWAITING,
        |_| true,
        |record| {
            next.lock().unwrap().push(record.account_id);
            async { Ok::<_, StoreError>(()) }
        },
    )
    .await
    .unwrap();
    let order = next.into_inner().unwrap();
    assert_eq!(order.len(), 249, "every readable record once");
    assert_eq!(
        order[0].as_str(),
        "300000000152",
        "after the last one finished"
    );
    assert_eq!(order[98].as_str(), "300000000250");
    assert_eq!(
        order[99].as_str(),
        "300000000001",
        "then from the beginning"
    );
    assert_eq!(report.unreadable, vec![unreadable]);
    assert_eq!(store.sweep_cursor("inviter").await.unwrap(), None);
}
