//! The preflight's handler with in-memory ports: which accounts a run checks (due, not
//! yet left, not joined), an account the spoke role cannot reach, a throttle past its
//! retries, the old organization's delegated administrators read once per run, and the
//! `Preflight Completed` of each enrollment.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
use onboarding::domain::preflight::{Contact, PhoneVerification, Read, SeenOrganization};
use onboarding::domain::*;
use onboarding::error_class::{Classified, ErrorClass};
use onboarding::notifications::Detail as _;
use onboarding::notifications::{PreflightCompleted, PREFLIGHT_COMPLETED};
use onboarding::ports::{AccountInspector, OrganizationsError, RecordCreator, RecordReader};
use onboarding::preflight::{Preflight, PreflightOutcome};
use onboarding::tracker::Tracker;

const MANAGEMENT: &str = "222222222222";
const MEMBERS: [&str; 2] = ["333333333333", "444444444444"];

/// Accounts of one organization, as an inspector would read them: the first member is a
/// delegated administrator; `unreachable` accounts refuse the spoke role.
#[derive(Default)]
struct Organization {
    unreachable: Vec<&'static str>,
    throttled: bool,
    administrator_reads: Mutex<u32>,
    inspections: Mutex<u32>,
}

fn id(account: &str) -> AccountId {
    AccountId::parse(account).unwrap()
}

#[async_trait]
impl AccountInspector for Organization {
    async fn inspect(&self, account: &AccountId) -> Result<AccountFacts, OrganizationsError> {
        *self.inspections.lock().unwrap() += 1;
        if self.throttled {
            return Err(OrganizationsError {
                failure: AwsFailure::new("TooManyRequestsException", None, "slow down"),
                transient: true,
            });
        }
        if self.unreachable.contains(&account.as_str()) {
            return Err(OrganizationsError {
                failure: AwsFailure::new("AccessDenied", None, "not authorized to assume"),
                transient: false,
            });
        }
        Ok(AccountFacts {
            contact: Ok(Contact::Present {
                phone: PhoneVerification::Verified,
            }),
            created_at: Ok(Some(Utc::now() - chrono::Duration::days(900))),
            organization: Ok(Some(SeenOrganization {
                organization: OrganizationId::parse("o-oldorg12345").unwrap(),
                management_account: id(MANAGEMENT),
            })),
            delegated_administrator: None,
            handshakes: Ok(Vec::new()),
            policies: Vec::new(),
            unread_policies: Vec::new(),
        })
    }

    async fn delegated_administrators(
        &self,
        _management: &AccountId,
    ) -> Result<Read<Vec<AccountId>>, OrganizationsError> {
        *self.administrator_reads.lock().unwrap() += 1;
        Ok(Ok(vec![id(MEMBERS[0])]))
    }
}

type Handler = Preflight<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>, Arc<Organization>>;

async fn enrolled(store: &InMemoryRecordStore) {
    let enrollment = Enrollment {
        name: EnrollmentName::parse("acme").unwrap(),
        transfer_mode: TransferMode::Standalone,
        management_account: Some(id(MANAGEMENT)),
        members: MEMBERS.iter().map(|m| id(m)).collect(),
        standalone_accounts: Vec::new(),
        placement: Placement::default(),
    };
    store
        .create_many(&enrollment.records(Utc::now()).unwrap())
        .await
        .unwrap();
}

fn handler(
    store: &Arc<InMemoryRecordStore>,
    notifier: &Arc<InMemoryNotifier>,
    organization: &Arc<Organization>,
) -> Handler {
    let tracker = Tracker::new(store.clone(), notifier.clone(), target());
    Preflight::new(tracker, organization.clone())
}

fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: id("111111111111"),
    }
}

fn completed(notifier: &InMemoryNotifier) -> Vec<PreflightCompleted> {
    notifier
        .published()
        .iter()
        .filter(|n| n.detail_type == PREFLIGHT_COMPLETED)
        .map(|n| PreflightCompleted::from_outgoing(n).unwrap())
        .collect()
}

#[tokio::test]
async fn a_sweep_checks_the_accounts_due_once_and_reads_the_administrators_once() {
    let store = Arc::new(InMemoryRecordStore::new());
    let notifier = Arc::new(InMemoryNotifier::new());
    let organization = Arc::new(Organization::default());
    enrolled(&store).await;
    let preflight = handler(&store, &notifier, &organization);

    let report = preflight.sweep().await.unwrap();
    assert_eq!(report.done.len(), 3, "{report:?}");
    assert_eq!(
        *organization.administrator_reads.lock().unwrap(),
        1,
        "once per management account and run"
    );
    let administrator = store.load(&id(MEMBERS[0])).await.unwrap().unwrap();
    assert!(administrator.is_blocked_by(BlockerCode::DelegatedAdministrator));
    assert!(administrator.blockers.iter().all(|b| b.is_predicted()));
    let other = store.load(&id(MEMBERS[1])).await.unwrap().unwrap();
    assert!(other.blockers.is_empty(), "{:?}", other.blockers);
    let announced = completed(&notifier);
    assert_eq!(announced.len(), 1);
    assert_eq!(
        (announced[0].accounts, announced[0].accounts_blocked),
        (3, 1)
    );

    let again = preflight.sweep().await.unwrap();
    assert!(
        again.done.is_empty(),
        "checked less than a day ago: not due"
    );
    assert_eq!(
        completed(&notifier).len(),
        1,
        "nothing checked, nothing announced"
    );
    let now = handler(&store, &notifier, &organization).with_interval(chrono::Duration::zero());
    assert_eq!(now.sweep().await.unwrap().done.len(), 3, "due again");
}

#[tokio::test]
async fn an_account_the_spoke_role_cannot_reach_is_counted_and_its_record_left_alone() {
    let store = Arc::new(InMemoryRecordStore::new());
    let notifier = Arc::new(InMemoryNotifier::new());
    let organization = Arc::new(Organization {
        unreachable: vec![MEMBERS[1]],
        ..Organization::default()
    });
    enrolled(&store).await;
    let report = handler(&store, &notifier, &organization)
        .check_enrollment(&EnrollmentName::parse("acme").unwrap())
        .await
        .unwrap();
    let outcome = &report
        .done
        .iter()
        .find(|(a, _)| a.as_str() == MEMBERS[1])
        .unwrap()
        .1;
    assert!(
        matches!(outcome, PreflightOutcome::Unreachable { .. }),
        "{outcome:?}"
    );
    let record = store.load(&id(MEMBERS[1])).await.unwrap().unwrap();
    assert!(
        record.blockers.is_empty() && record.preflight.is_none(),
        "the acceptor's and reconciler's own access is not the preflight's to judge: {:?}",
        record.blockers
    );
    assert_eq!(completed(&notifier)[0].unreachable, 1);
}

#[tokio::test]
async fn joined_or_departed_accounts_are_not_checked() {
    let store = Arc::new(InMemoryRecordStore::new());
    let notifier = Arc::new(InMemoryNotifier::new());
    let organization = Arc::new(Organization::default());
    enrolled(&store).await;
    let preflight = handler(&store, &notifier, &organization);
    let left = DomainEvent::observed(
        "test:left",
        id(MEMBERS[1]),
        EventKind::LeftOrganization { removed: false },
    );
    let confirmed = DomainEvent::observed(
        "test:joined",
        id(MEMBERS[0]),
        EventKind::MembershipConfirmed,
    );
    let tracker = Tracker::new(store.clone(), notifier.clone(), target());
    tracker.record(&left).await.unwrap();
    tracker.record(&confirmed).await.unwrap();
    assert_eq!(
        preflight.check_account(&id(MEMBERS[1])).await.unwrap(),
        PreflightOutcome::NotApplicable {
            phase: Phase::AwaitingInvitation
        }
    );
    assert_eq!(
        preflight.check_account(&id(MEMBERS[0])).await.unwrap(),
        PreflightOutcome::NotApplicable {
            phase: Phase::Joined
        }
    );
    assert_eq!(*organization.inspections.lock().unwrap(), 0);
    let report = preflight.check_all().await.unwrap();
    let checked: Vec<&str> = report.done.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        checked,
        [MANAGEMENT],
        "only the account still in its organization"
    );
}

// The retries wait: the clock is paused and advances by itself.
#[tokio::test(start_paused = true)]
async fn a_throttle_past_its_retries_fails_the_run_and_predicts_nothing() {
    let store = Arc::new(InMemoryRecordStore::new());
    let notifier = Arc::new(InMemoryNotifier::new());
    let organization = Arc::new(Organization {
        throttled: true,
        ..Organization::default()
    });
    enrolled(&store).await;
    let error = handler(&store, &notifier, &organization)
        .check_account(&id(MANAGEMENT))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient);
    let record = store.load(&id(MANAGEMENT)).await.unwrap().unwrap();
    assert!(record.preflight.is_none());
}
