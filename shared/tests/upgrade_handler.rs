//! The stored-data upgrade with in-memory ports, which keep what DynamoDB keeps (the
//! placement index as written, counters as added) instead of deriving them: a record an
//! earlier release wrote is placed only once upgraded, partial counters complete nothing,
//! and an enrollment completes once its counters are rebuilt. The emulator test
//! (`tests/tests/upgrade_emulator.rs`) runs the same on the items each release wrote.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
use onboarding::domain::*;
use onboarding::notifications::ENROLLMENT_COMPLETED;
use onboarding::placer::{Placer, PlacerOutcome};
use onboarding::ports::{
    CountReader, OrganizationTree, OrganizationalUnit, OrganizationsError, RecordCreator,
    TargetAccess,
};
use onboarding::recorder::ObservationRecorder;
use onboarding::upgrade;

const OU: &str = "ou-abcd-11111111";

/// Every account already in the OU, untagged; every tag and access works.
struct Tree;

#[async_trait]
impl OrganizationTree for Tree {
    async fn root_id(&self) -> Result<String, OrganizationsError> {
        Ok("r-abcd".to_owned())
    }
    async fn child_units(&self, _: &str) -> Result<Vec<OrganizationalUnit>, OrganizationsError> {
        Ok(Vec::new())
    }
    async fn parent_of(&self, _: &AccountId) -> Result<String, OrganizationsError> {
        Ok(OU.to_owned())
    }
    async fn move_account(
        &self,
        _: &AccountId,
        _: &str,
        _: &str,
    ) -> Result<(), OrganizationsError> {
        Ok(())
    }
    async fn tags_of(&self, _: &AccountId) -> Result<BTreeMap<String, String>, OrganizationsError> {
        Ok(BTreeMap::new())
    }
    async fn tag(
        &self,
        _: &AccountId,
        _: &BTreeMap<String, String>,
    ) -> Result<(), OrganizationsError> {
        Ok(())
    }
}

struct Reachable;

#[async_trait]
impl TargetAccess for Reachable {
    async fn verify(&self, _: &AccountId, _: &str) -> Result<(), OrganizationsError> {
        Ok(())
    }
}

type Store = Arc<InMemoryRecordStore>;
type Notifier = Arc<InMemoryNotifier>;

struct Hub {
    store: Store,
    notifier: Notifier,
    recorder: ObservationRecorder<Store, Notifier>,
    placer: Placer<Store, Notifier, Tree, Reachable>,
}

fn hub() -> Hub {
    let (store, notifier) = (
        Arc::new(InMemoryRecordStore::new()),
        Arc::new(InMemoryNotifier::new()),
    );
    let target = Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: AccountId::parse("111111111111").unwrap(),
    };
    let recorder = ObservationRecorder::new(store.clone(), notifier.clone(), target.clone());
    let placer = Placer::new(
        ObservationRecorder::new(store.clone(), notifier.clone(), target),
        Tree,
        Reachable,
    );
    Hub {
        store,
        notifier,
        recorder,
        placer,
    }
}

/// A joined record of enrollment acme, not yet placed, asking for the OU, with the
/// invitation of ours that brought it in (what the placer asks before moving it).
fn joined(id: &str) -> OnboardingRecord {
    let mut record = OnboardingRecord::enroll(
        AccountId::parse(id).unwrap(),
        EnrollmentName::parse("acme").unwrap(),
        TransferMode::Direct,
        Role::Standalone,
        0,
        Utc::now(),
    );
    record.phase = Phase::Joined;
    record.ou = Some(OuRef::parse(OU).unwrap());
    record.handshake = Some(CurrentHandshake {
        id: HandshakeId::parse("h-examplehandshakeid111").unwrap(),
        expires_at: None,
    });
    record
}

fn completions(notifier: &InMemoryNotifier) -> usize {
    notifier
        .detail_types()
        .iter()
        .filter(|t| *t == ENROLLMENT_COMPLETED)
        .count()
}

#[tokio::test]
async fn a_joined_record_an_earlier_release_wrote_is_placed_once_upgraded_and_its_enrollment_completes(
) {
    let hub = hub();
    hub.store.insert_as_written_before(joined("222222222222"));
    assert!(
        hub.placer.sweep().await.unwrap().done.is_empty(),
        "not listed as written"
    );

    let report = upgrade::step(&hub.recorder, 100, false).await.unwrap();
    assert_eq!((report.records, report.awaiting_placement), (1, 1));
    assert_eq!(report.rebuilt, [EnrollmentName::parse("acme").unwrap()]);
    assert!(report.finished);

    let swept = hub.placer.sweep().await.unwrap();
    assert!(
        matches!(swept.done[..], [(_, PlacerOutcome::Placed { .. })]),
        "{swept:?}"
    );
    assert_eq!(completions(&hub.notifier), 1);
    let again = upgrade::step(&hub.recorder, 100, true).await.unwrap();
    assert_eq!(again.upgraded(), 0);
}

#[tokio::test]
async fn partial_counters_complete_nothing_until_rebuilt_from_the_records() {
    let hub = hub();
    // Enrolled under a release that counted: its counters say 1 account.
    hub.store.create(&joined("333333333333")).await.unwrap();
    // Enrolled before counters existed: not counted, not listed.
    hub.store.insert_as_written_before(joined("444444444444"));
    let acme = EnrollmentName::parse("acme").unwrap();

    hub.placer.sweep().await.unwrap();
    let counts = hub.store.load_counts(&acme).await.unwrap();
    assert_eq!((counts.accounts(), counts.placed()), (1, 1));
    assert!(counts.partial && !counts.all_placed());
    assert_eq!(completions(&hub.notifier), 0, "one of two accounts placed");

    let report = upgrade::step(&hub.recorder, 100, false).await.unwrap();
    assert_eq!(report.rebuilt, std::slice::from_ref(&acme));
    let counts = hub.store.load_counts(&acme).await.unwrap();
    assert_eq!(
        (counts.accounts(), counts.placed(), counts.partial),
        (2, 1, false)
    );
    assert_eq!(completions(&hub.notifier), 0);

    hub.placer.sweep().await.unwrap();
    assert_eq!(completions(&hub.notifier), 1);
}
