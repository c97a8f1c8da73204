//! The placer's handler with in-memory ports: what the emulator cannot stage, a second run
//! moving the account between this run's ListParents and its MoveAccount (the `Account
//! Joined` trigger and a sweep at once), and a throttled call past its retries.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
use onboarding::domain::*;
use onboarding::error_class::{Classified, ErrorClass};
use onboarding::placer::{Placer, PlacerOutcome};
use onboarding::ports::{
    OrganizationTree, OrganizationalUnit, OrganizationsError, RecordCreator, RecordReader,
    TargetAccess,
};
use onboarding::tracker::Tracker;

const ACCOUNT: &str = "555555555555";
const ROOT: &str = "r-abcd";
const OU: &str = "ou-abcd-11111111";

/// A tree where the account is in the root, and where MoveAccount first finds that
/// another run already moved it into the OU.
#[derive(Default)]
struct RacedTree {
    parent: Mutex<String>,
    moves: Mutex<u32>,
    throttle_tags: bool,
}

fn aws_error(code: &str, transient: bool) -> OrganizationsError {
    OrganizationsError {
        failure: AwsFailure::new(code, None, "from the fake"),
        transient,
    }
}

#[async_trait]
impl OrganizationTree for RacedTree {
    async fn root_id(&self) -> Result<String, OrganizationsError> {
        Ok(ROOT.to_owned())
    }
    async fn child_units(
        &self,
        _parent: &str,
    ) -> Result<Vec<OrganizationalUnit>, OrganizationsError> {
        Ok(Vec::new())
    }
    async fn parent_of(&self, _account: &AccountId) -> Result<String, OrganizationsError> {
        Ok(self.parent.lock().unwrap().clone())
    }
    async fn move_account(
        &self,
        _account: &AccountId,
        from: &str,
        to: &str,
    ) -> Result<(), OrganizationsError> {
        *self.moves.lock().unwrap() += 1;
        // The other run's move lands first: the account is no longer in `from`.
        *self.parent.lock().unwrap() = to.to_owned();
        if from == ROOT {
            return Err(aws_error("SourceParentNotFoundException", false));
        }
        Ok(())
    }
    async fn tags_of(
        &self,
        _account: &AccountId,
    ) -> Result<BTreeMap<String, String>, OrganizationsError> {
        if self.throttle_tags {
            return Err(aws_error("TooManyRequestsException", true));
        }
        Ok(BTreeMap::new())
    }
    async fn tag(
        &self,
        _account: &AccountId,
        _tags: &BTreeMap<String, String>,
    ) -> Result<(), OrganizationsError> {
        Ok(())
    }
}

struct Reachable;

#[async_trait]
impl TargetAccess for Reachable {
    async fn verify(&self, _account: &AccountId, _role: &str) -> Result<(), OrganizationsError> {
        Ok(())
    }
}

async fn joined_record(store: &InMemoryRecordStore) {
    let mut record = OnboardingRecord::enroll(
        AccountId::parse(ACCOUNT).unwrap(),
        EnrollmentName::parse("acme").unwrap(),
        TransferMode::Direct,
        Role::Standalone,
        0,
        Utc::now(),
    );
    record.phase = Phase::Joined;
    record.ou = Some(OuRef::parse(OU).unwrap());
    store.create(&record).await.unwrap();
}

fn placer(
    store: &Arc<InMemoryRecordStore>,
    tree: RacedTree,
) -> Placer<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>, RacedTree, Reachable> {
    let target = Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: AccountId::parse("111111111111").unwrap(),
    };
    let tracker = Tracker::new(store.clone(), Arc::new(InMemoryNotifier::new()), target);
    Placer::new(tracker, tree, Reachable)
}

#[tokio::test]
async fn an_account_another_run_moved_meanwhile_is_placed_without_a_blocker() {
    let store = Arc::new(InMemoryRecordStore::new());
    joined_record(&store).await;
    let tree = RacedTree {
        parent: Mutex::new(ROOT.to_owned()),
        ..RacedTree::default()
    };
    let placer = placer(&store, tree);
    let account = AccountId::parse(ACCOUNT).unwrap();
    assert_eq!(
        placer.place(&account).await.unwrap(),
        PlacerOutcome::Placed {
            placed_in: Some(OU.to_owned())
        }
    );
    let record = store.load(&account).await.unwrap().unwrap();
    assert!(record.blockers.is_empty(), "{:?}", record.blockers);
    assert!(record.placed.is_some());
}

// The paced retries wait seconds: the clock is paused and advances by itself.
#[tokio::test(start_paused = true)]
async fn a_call_throttled_past_its_retries_fails_the_run_and_blocks_nothing() {
    let store = Arc::new(InMemoryRecordStore::new());
    joined_record(&store).await;
    let tree = RacedTree {
        parent: Mutex::new(OU.to_owned()),
        throttle_tags: true,
        ..RacedTree::default()
    };
    let placer = placer(&store, tree);
    let account = AccountId::parse(ACCOUNT).unwrap();
    let error = placer.place(&account).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient);
    let record = store.load(&account).await.unwrap().unwrap();
    assert!(
        record.blockers.is_empty(),
        "a throttle is no person's problem"
    );
    assert!(record.placed.is_none(), "the next run places it");
}
