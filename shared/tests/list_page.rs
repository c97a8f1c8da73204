//! `RecordStore::list_page` of the in-memory store: the pages, followed to the end, list
//! every record once, and an enrollment's pages only its records.

use std::collections::BTreeSet;

use chrono::Utc;
use onboarding::adapters::memory::{InMemoryRecordStore, MEMORY_PAGE};
use onboarding::domain::{AccountId, EnrollmentName, OnboardingRecord, Role, TransferMode};
use onboarding::ports::{RecordCreator, RecordReader};

fn record(n: usize, enrollment: &str) -> OnboardingRecord {
    OnboardingRecord::enroll(
        AccountId::parse(format!("{:012}", 100_000_000_000 + n)).unwrap(),
        EnrollmentName::parse(enrollment).unwrap(),
        TransferMode::Standalone,
        Role::Standalone,
        0,
        Utc::now(),
    )
}

async fn pages(
    store: &InMemoryRecordStore,
    enrollment: Option<&EnrollmentName>,
) -> (usize, Vec<String>) {
    let (mut pages, mut ids, mut cursor) = (0, Vec::new(), None::<String>);
    loop {
        let page = store
            .list_page(enrollment, cursor.as_deref())
            .await
            .unwrap();
        pages += 1;
        ids.extend(page.records.iter().map(|r| r.account_id.to_string()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return (pages, ids),
        }
    }
}

#[tokio::test]
async fn following_the_pages_lists_every_record_once() {
    let store = InMemoryRecordStore::new();
    let acme: Vec<OnboardingRecord> = (0..2 * MEMORY_PAGE + 7)
        .map(|n| record(n, "acme"))
        .collect();
    let globex: Vec<OnboardingRecord> = (1000..1010).map(|n| record(n, "globex")).collect();
    store.create_many(&acme).await.unwrap();
    store.create_many(&globex).await.unwrap();

    let (count, ids) = pages(&store, None).await;
    assert_eq!(count, 3);
    assert_eq!(ids.len(), acme.len() + globex.len());
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "no record twice"
    );

    let name = EnrollmentName::parse("globex").unwrap();
    let (_, ids) = pages(&store, Some(&name)).await;
    assert_eq!(ids.len(), 10);
}
