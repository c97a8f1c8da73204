//! The placer's handler with in-memory ports: what the emulator cannot stage, a second run
//! moving the account between this run's ListParents and its MoveAccount (the `Account
//! Joined` trigger and a sweep at once), and a throttled call past its retries; a joined
//! record no invitation of ours brought in, refused; a record asking no OU and no tag,
//! placed only once its access is checked.

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

/// Access refused (the access role missing), counting every check.
#[derive(Default)]
struct Unreachable {
    checks: Arc<Mutex<u32>>,
}

#[async_trait]
impl TargetAccess for Unreachable {
    async fn verify(&self, _account: &AccountId, _role: &str) -> Result<(), OrganizationsError> {
        *self.checks.lock().unwrap() += 1;
        Err(aws_error("AccessDenied", false))
    }
}

async fn joined_record(store: &InMemoryRecordStore) {
    let mut record = joined(Some(OU));
    // What brought it in: an invitation of ours.
    record.handshake = Some(CurrentHandshake {
        id: HandshakeId::parse("h-examplehandshakeid111").unwrap(),
        expires_at: None,
    });
    store.create(&record).await.unwrap();
}

/// A joined record asking `ou` (or nothing), without the handshake that brought it in.
fn joined(ou: Option<&str>) -> OnboardingRecord {
    let mut record = OnboardingRecord::enroll(
        AccountId::parse(ACCOUNT).unwrap(),
        EnrollmentName::parse("acme").unwrap(),
        TransferMode::Direct,
        Role::Standalone,
        0,
        Utc::now(),
    );
    record.phase = Phase::Joined;
    record.ou = ou.map(|ou| OuRef::parse(ou).unwrap());
    record
}

fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: AccountId::parse("111111111111").unwrap(),
    }
}

fn placer(
    store: &Arc<InMemoryRecordStore>,
    tree: RacedTree,
) -> Placer<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>, RacedTree, Reachable> {
    let tracker = Tracker::new(store.clone(), Arc::new(InMemoryNotifier::new()), target());
    Placer::new(tracker, tree, Reachable)
}

#[tokio::test]
async fn a_joined_record_no_invitation_of_ours_brought_in_is_never_moved_or_tagged() {
    // One of the target's own accounts, joined by a record that never held our invitation.
    let store = Arc::new(InMemoryRecordStore::new());
    store.create(&joined(Some(OU))).await.unwrap();
    // Not even read: the refusal comes before any call (the tree panics on one).
    let tracker = Tracker::new(store.clone(), Arc::new(InMemoryNotifier::new()), target());
    let placer = Placer::new(tracker, NoCalls, Reachable);
    let account = AccountId::parse(ACCOUNT).unwrap();
    assert_eq!(
        placer.place(&account).await.unwrap(),
        PlacerOutcome::Blocked {
            codes: vec![BlockerCode::NotJoinedThroughOnboarding]
        }
    );
    let swept = placer.sweep().await.unwrap();
    assert!(swept.failed.is_empty(), "{swept:?}");
    let record = store.load(&account).await.unwrap().unwrap();
    assert!(record.placed.is_none());
    assert!(record.is_blocked_by(BlockerCode::NotJoinedThroughOnboarding));
}

#[tokio::test]
async fn nothing_asked_is_placed_only_once_the_target_reaches_the_account() {
    let store = Arc::new(InMemoryRecordStore::new());
    let mut record = joined(None);
    record.handshake = Some(CurrentHandshake {
        id: HandshakeId::parse("h-examplehandshakeid111").unwrap(),
        expires_at: None,
    });
    store.create(&record).await.unwrap();
    let account = AccountId::parse(ACCOUNT).unwrap();
    let tracker = || Tracker::new(store.clone(), Arc::new(InMemoryNotifier::new()), target());
    // The access role is missing: blocked, not placed, and no move or tag was tried (the
    // tree panics on any call).
    let access = Unreachable::default();
    let checks = access.checks.clone();
    let unreachable = Placer::new(tracker(), NoCalls, access);
    assert_eq!(
        unreachable.place(&account).await.unwrap(),
        PlacerOutcome::Blocked {
            codes: vec![BlockerCode::AccessRoleMissing]
        }
    );
    assert_eq!(*checks.lock().unwrap(), 1);
    assert!(store
        .load(&account)
        .await
        .unwrap()
        .unwrap()
        .placed
        .is_none());
    // Reachable: placed where it is, with the role that reached it.
    let reachable = Placer::new(tracker(), NoCalls, Reachable);
    assert_eq!(
        reachable.place(&account).await.unwrap(),
        PlacerOutcome::Placed { placed_in: None }
    );
    let placed = store.load(&account).await.unwrap().unwrap().placed.unwrap();
    assert_eq!(
        placed.access_role.as_deref(),
        Some("OrganizationAccountAccessRole")
    );
}

/// A tree no call may reach: nothing was asked of it.
struct NoCalls;

#[async_trait]
impl OrganizationTree for NoCalls {
    async fn root_id(&self) -> Result<String, OrganizationsError> {
        panic!("ListRoots")
    }
    async fn child_units(
        &self,
        _parent: &str,
    ) -> Result<Vec<OrganizationalUnit>, OrganizationsError> {
        panic!("ListOrganizationalUnitsForParent")
    }
    async fn parent_of(&self, _account: &AccountId) -> Result<String, OrganizationsError> {
        panic!("ListParents")
    }
    async fn move_account(
        &self,
        _account: &AccountId,
        _from: &str,
        _to: &str,
    ) -> Result<(), OrganizationsError> {
        panic!("MoveAccount")
    }
    async fn tags_of(
        &self,
        _account: &AccountId,
    ) -> Result<BTreeMap<String, String>, OrganizationsError> {
        panic!("ListTagsForResource")
    }
    async fn tag(
        &self,
        _account: &AccountId,
        _tags: &BTreeMap<String, String>,
    ) -> Result<(), OrganizationsError> {
        panic!("TagResource")
    }
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
