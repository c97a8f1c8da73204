//! Events per second through parse + apply: every CloudTrail fixture, read from its JSON
//! text into a domain event and applied to a matching record.
//!
//! `cargo bench -p onboarding --bench throughput` (divan prints time per event; events per
//! second is its inverse, also shown as throughput).

use chrono::Utc;
use divan::counter::ItemsCount;
use onboarding::cloudtrail::parse_event_str;
use onboarding::domain::*;

fn main() {
    divan::main();
}

/// Every fixture's text, in file name order.
fn fixtures() -> Vec<String> {
    onboarding::fixtures::names()
        .iter()
        .map(|name| onboarding::fixtures::text(name))
        .collect()
}

fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: AccountId::parse("111111111111").unwrap(),
    }
}

#[divan::bench]
fn parse_and_apply(bencher: divan::Bencher) {
    let texts = fixtures();
    let now = Utc::now();
    let records: Vec<OnboardingRecord> = texts
        .iter()
        .map(|text| {
            let event = parse_event_str(text).unwrap();
            OnboardingRecord::enroll(
                event.account,
                EnrollmentName::parse("bench").unwrap(),
                TransferMode::Standalone,
                Role::Member,
                1,
                now,
            )
        })
        .collect();
    let target = target();
    bencher.counter(ItemsCount::new(texts.len())).bench(|| {
        for (text, record) in texts.iter().zip(&records) {
            let event = parse_event_str(divan::black_box(text)).unwrap();
            divan::black_box(apply(record, &event, &target, now));
        }
    });
}

#[divan::bench]
fn parse_only(bencher: divan::Bencher) {
    let texts = fixtures();
    bencher.counter(ItemsCount::new(texts.len())).bench(|| {
        for text in &texts {
            divan::black_box(parse_event_str(divan::black_box(text)).unwrap());
        }
    });
}

/// The tracker's handler end to end with the in-memory store and notifier: a member's
/// whole journey (leave, invited, accepted), three CloudTrail events, per iteration on a
/// fresh store. `cargo bench -p onboarding --bench throughput -- tracker`
#[divan::bench]
fn tracker_handler_in_memory(bencher: divan::Bencher) {
    use std::sync::Arc;

    use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
    use onboarding::ports::RecordCreator;
    use onboarding::tracker::Tracker;

    let read = onboarding::fixtures::json;
    let mut journey = vec![
        read("leave-organization.json"),
        read("invite-account-to-organization.json"),
        read("accept-handshake.json"),
    ];
    // One account's story: point the invitation and acceptance at the member that left.
    for event in &mut journey[1..] {
        let text = event.to_string().replace("555555555555", "333333333333");
        *event = serde_json::from_str(&text).unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let record = OnboardingRecord::enroll(
        AccountId::parse("333333333333").unwrap(),
        EnrollmentName::parse("bench").unwrap(),
        TransferMode::Standalone,
        Role::Member,
        1,
        Utc::now(),
    );
    bencher
        .counter(ItemsCount::new(journey.len()))
        .with_inputs(|| {
            let store = Arc::new(InMemoryRecordStore::new());
            runtime.block_on(store.create(&record)).unwrap();
            Tracker::new(store, Arc::new(InMemoryNotifier::new()), target())
        })
        .bench_local_values(|tracker| {
            runtime.block_on(async {
                for event in &journey {
                    divan::black_box(tracker.handle_json(event).await.unwrap());
                }
            })
        });
}

/// The preflight's reading of one account with `policies` resource policies (a trust
/// policy naming the old organization every tenth): policy documents judged per second.
#[divan::bench(args = [10, 1000])]
fn preflight_assess(bencher: divan::Bencher, policies: usize) {
    use onboarding::domain::preflight::{
        Contact, PhoneVerification, PolicyDocument, SeenOrganization,
    };
    let now = Utc::now();
    let mut record = OnboardingRecord::enroll(
        AccountId::parse("222222222201").unwrap(),
        EnrollmentName::parse("bench").unwrap(),
        TransferMode::Standalone,
        Role::Member,
        0,
        now,
    );
    record.old_management_account = Some(AccountId::parse("222222222222").unwrap());
    let document = |org: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}}}]})
        .to_string()
    };
    let facts = AccountFacts {
        contact: Ok(Contact::Present {
            phone: PhoneVerification::Verified,
        }),
        created_at: Ok(Some(now - chrono::Duration::days(400))),
        organization: Ok(Some(SeenOrganization {
            organization: OrganizationId::parse("o-oldorg12345").unwrap(),
            management_account: AccountId::parse("222222222222").unwrap(),
        })),
        delegated_administrator: Some(Ok(false)),
        handshakes: Ok(Vec::new()),
        policies: (0..policies)
            .map(|i| PolicyDocument {
                resource: format!("arn:aws:s3:::bucket-{i}"),
                document: document(if i % 10 == 0 {
                    "o-oldorg12345"
                } else {
                    "o-another1234"
                }),
            })
            .collect(),
        unread_policies: Vec::new(),
    };
    let target = target();
    bencher
        .counter(ItemsCount::new(policies))
        .bench(|| divan::black_box(assess(&record, divan::black_box(&facts), &target, now)));
}
