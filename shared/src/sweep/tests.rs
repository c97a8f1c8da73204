//! The sweep on the in-memory store: paged in account order, resumed where a killed run
//! got to, each account within its deadline, unreadable records skipped. Time is tokio's
//! paused clock: an account's "work" is a sleep that takes no real time.

use std::future::pending;
use std::sync::Mutex;

use chrono::Utc;

use super::*;
use crate::adapters::memory::{InMemoryRecordStore, MEMORY_PAGE};
use crate::domain::{EnrollmentName, Phase, Role, TransferMode};
use crate::ports::RecordCreator;

const NAME: FunctionName = FunctionName::Inviter;
const AWAITING: [SweepSource; 1] = [SweepSource::Phase(Phase::AwaitingInvitation)];

fn id(i: usize) -> AccountId {
    AccountId::parse(format!("{:012}", 100_000_000_000 + i)).unwrap()
}

fn record(i: usize, phase: Phase) -> OnboardingRecord {
    let mut record = OnboardingRecord::enroll(
        id(i),
        EnrollmentName::parse("acme").unwrap(),
        TransferMode::Standalone,
        Role::Standalone,
        0,
        Utc::now(),
    );
    record.phase = phase;
    record
}

/// A store with accounts `1..=n` awaiting their invitation.
async fn store_of(n: usize) -> InMemoryRecordStore {
    let store = InMemoryRecordStore::new();
    let records: Vec<_> = (1..=n)
        .map(|i| record(i, Phase::AwaitingInvitation))
        .collect();
    store.create_many(&records).await.unwrap();
    store
}

fn limits(concurrency: usize) -> SweepLimits {
    SweepLimits {
        concurrency,
        ..SweepLimits::default()
    }
}

/// What one account's work returns.
type Work = std::pin::Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;

/// Work that takes one second an account and notes the accounts it started.
fn one_second_each(started: &Mutex<Vec<AccountId>>) -> impl Fn(OnboardingRecord) -> Work + '_ {
    move |record| {
        started.lock().unwrap().push(record.account_id.clone());
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(())
        })
    }
}

fn swept(report: &SweepReport<()>) -> Vec<AccountId> {
    report.done.iter().map(|(a, _)| a.clone()).collect()
}

#[tokio::test]
async fn one_failing_account_does_not_stop_the_others() {
    let store = store_of(20).await;
    let report = resumable(
        &store,
        NAME,
        limits(8),
        &AWAITING,
        |_| true,
        |record| async move {
            if record.account_id == id(8) {
                Err(StoreError::Permanent("broken".into()))
            } else {
                Ok(())
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(report.done.len(), 19);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].1, ErrorClass::Permanent);
    assert!(!report.out_of_time);
    assert_eq!(
        store.sweep_cursor("inviter").await.unwrap(),
        None,
        "round done: from the start next time"
    );
}

#[tokio::test(start_paused = true)]
async fn a_sweep_killed_mid_way_resumes_after_the_last_account_it_finished() {
    let store = store_of(10).await;
    let every_account = SweepLimits {
        concurrency: 1,
        save_every: Duration::ZERO,
        ..SweepLimits::default()
    };
    let started = Mutex::new(Vec::new());
    // Killed (the future dropped, as a Lambda timeout kills) while the sixth account runs.
    let killed = tokio::time::timeout(
        Duration::from_millis(5_500),
        resumable(
            &store,
            NAME,
            every_account,
            &AWAITING,
            |_| true,
            one_second_each(&started),
        ),
    )
    .await;
    assert!(killed.is_err(), "killed mid-way");
    assert_eq!(started.lock().unwrap().len(), 6);
    assert_eq!(store.sweep_cursor("inviter").await.unwrap(), Some(id(5)));

    let next = Mutex::new(Vec::new());
    let report = resumable(
        &store,
        NAME,
        every_account,
        &AWAITING,
        |_| true,
        one_second_each(&next),
    )
    .await
    .unwrap();
    let order = next.lock().unwrap().clone();
    let expected: Vec<AccountId> = (6..=10).chain(1..=5).map(id).collect();
    assert_eq!(order, expected, "after the fifth, round to the beginning");
    assert_eq!(report.done.len(), 10);
}

#[tokio::test(start_paused = true)]
async fn the_saved_cursor_trails_the_finished_accounts_by_at_most_its_saving_interval() {
    let store = store_of(40).await;
    let sweep = SweepLimits {
        concurrency: 4,
        save_every: Duration::from_secs(2),
        ..SweepLimits::default()
    };
    let started = Mutex::new(Vec::new());
    // Four at a time, a second each: 20 finished after 5.5 s, 24 started.
    let killed = tokio::time::timeout(
        Duration::from_millis(5_500),
        resumable(
            &store,
            NAME,
            sweep,
            &AWAITING,
            |_| true,
            one_second_each(&started),
        ),
    )
    .await;
    assert!(killed.is_err());
    let cursor = store.sweep_cursor("inviter").await.unwrap().unwrap();
    // Last saved at 4 s, when 12 to 16 had finished (four end at once, in any order):
    // of the 20 finished, at most 2 s of work (8 accounts) is done again.
    assert!(cursor >= id(12) && cursor <= id(16), "{cursor}");
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_defers_the_rest_to_the_next_run_which_resumes_after_it() {
    let store = store_of(10).await;
    let sweep = SweepLimits {
        concurrency: 1,
        budget: Duration::from_millis(2_500),
        ..SweepLimits::default()
    };
    let started = Mutex::new(Vec::new());
    let report = resumable(
        &store,
        NAME,
        sweep,
        &AWAITING,
        |_| true,
        one_second_each(&started),
    )
    .await
    .unwrap();
    assert_eq!(
        swept(&report),
        vec![id(1), id(2), id(3)],
        "started at 0, 1 and 2 s"
    );
    assert!(report.out_of_time);
    assert_eq!(store.sweep_cursor("inviter").await.unwrap(), Some(id(3)));
}

#[tokio::test(start_paused = true)]
async fn an_account_past_its_deadline_is_reported_and_the_others_finish() {
    let store = store_of(5).await;
    let sweep = SweepLimits {
        concurrency: 2,
        per_account: Duration::from_secs(30),
        ..SweepLimits::default()
    };
    let report = resumable(
        &store,
        NAME,
        sweep,
        &AWAITING,
        |_| true,
        |record| async move {
            if record.account_id == id(2) {
                pending::<()>().await; // throttled for ever
            }
            Ok::<_, StoreError>(())
        },
    )
    .await
    .unwrap();
    assert_eq!(swept(&report), vec![id(1), id(3), id(4), id(5)]);
    let [(account, class, message)] = report.failed.as_slice() else {
        panic!("{report:?}")
    };
    assert_eq!((account, *class), (&id(2), ErrorClass::Transient));
    assert!(message.contains("did not finish within 30 s"), "{message}");
}

#[tokio::test]
async fn a_sweep_over_an_unreadable_record_finishes_the_others() {
    let store = store_of(6).await;
    store.put_unreadable(id(3), Phase::AwaitingInvitation, "version: invalid type");
    let report = resumable(
        &store,
        NAME,
        limits(2),
        &AWAITING,
        |_| true,
        |_| async { Ok::<_, StoreError>(()) },
    )
    .await
    .unwrap();
    assert_eq!(swept(&report), [1, 2, 4, 5, 6].map(id).to_vec());
    assert_eq!(report.unreadable, vec!["ACCOUNT#100000000003".to_owned()]);
    assert!(report.failed.is_empty());
}

#[tokio::test]
async fn sources_are_merged_page_by_page_in_account_order_each_account_once() {
    let store = InMemoryRecordStore::new();
    let n = 2 * MEMORY_PAGE + 50;
    let records: Vec<_> = (1..=n)
        .map(|i| {
            record(
                i,
                if i % 3 == 0 {
                    Phase::Invited
                } else {
                    Phase::AwaitingInvitation
                },
            )
        })
        .collect();
    store.create_many(&records).await.unwrap();
    let sources = [
        SweepSource::Phase(Phase::Invited),
        SweepSource::Phase(Phase::AwaitingInvitation),
    ];
    let candidates: Vec<_> = in_order(&store, &sources, Some(id(100)))
        .map(|c| match c.unwrap() {
            Candidate::Record(r) => r.account_id,
            Candidate::Unreadable(key) => panic!("{key}"),
        })
        .collect()
        .await;
    let expected: Vec<AccountId> = (101..=n).chain(1..=100).map(id).collect();
    assert_eq!(candidates, expected);
}

#[test]
fn the_watermark_waits_for_every_account_started_before() {
    let mut watermark = Watermark::default();
    watermark.finish(1, Some(id(2)));
    assert_eq!(watermark.last, None, "the first is still running");
    watermark.finish(0, Some(id(1)));
    assert_eq!(watermark.last, Some(id(2)));
    watermark.finish(2, None);
    watermark.finish(3, Some(id(4)));
    assert_eq!(
        watermark.last,
        Some(id(4)),
        "an unreadable one is passed over"
    );
}

#[tokio::test(start_paused = true)]
async fn an_account_started_late_must_end_within_the_grace_after_the_budget() {
    let store = store_of(1).await;
    let sweep = SweepLimits {
        budget: Duration::from_secs(60),
        per_account: Duration::from_secs(600),
        ..SweepLimits::default()
    };
    let report = resumable(
        &store,
        NAME,
        sweep,
        &AWAITING,
        |_| true,
        |_| async {
            pending::<()>().await;
            Ok::<_, StoreError>(())
        },
    )
    .await
    .unwrap();
    let [(_, _, message)] = report.failed.as_slice() else {
        panic!("{report:?}")
    };
    assert!(
        message.contains("within 105 s"),
        "budget + grace: {message}"
    );
}
