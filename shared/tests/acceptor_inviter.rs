//! The acceptor and the inviter with in-memory fakes: what is accepted, what is never
//! accepted, what is reported, and how refusals become blockers or the fallback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, Utc};
use onboarding::acceptor::{Acceptor, AcceptorOutcome};
use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
use onboarding::domain::*;
use onboarding::inviter::{Inviter, InviterOutcome};
use onboarding::notifications::{self as n, Detail as _};
use onboarding::ports::*;
use onboarding::report::line::InvitationLine;
use onboarding::report::view::remediation_lines;
use onboarding::tracker::Tracker;

const TARGET_ORG: &str = "o-exampleorgid";
const TARGET_MGMT: &str = "111111111111";
const SOLO: &str = "555555555555";
const MEMBER: &str = "333333333333";

fn acct(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}
fn target() -> Target {
    Target {
        organization: OrganizationId::parse(TARGET_ORG).unwrap(),
        management_account: acct(TARGET_MGMT),
    }
}
fn invitation(id: &str, org: &str, mgmt: &str, account: &str, state: &str) -> ObservedHandshake {
    ObservedHandshake {
        id: HandshakeId::parse(id).unwrap(),
        arn: Some(format!(
            "arn:aws:organizations::{mgmt}:handshake/{org}/invite/{id}"
        )),
        action: "INVITE".into(),
        state: state.into(),
        parties: vec![
            HandshakeParty::organization(org),
            HandshakeParty::account(account),
        ],
        expires_at: Some(Utc::now() + Duration::days(14)),
        requested_at: None,
        transfer: None,
    }
}
fn ours(id: &str, account: &str) -> ObservedHandshake {
    invitation(id, TARGET_ORG, TARGET_MGMT, account, "OPEN")
}
fn foreign(id: &str, account: &str) -> ObservedHandshake {
    invitation(id, "o-foreignorg01", "666666666666", account, "OPEN")
}
fn aws_error(code: &str, reason: Option<&str>, transient: bool) -> OrganizationsError {
    OrganizationsError {
        failure: AwsFailure::new(code, reason, format!("{code} from the fake")),
        transient,
    }
}

/// One customer account's side of Organizations.
#[derive(Default)]
struct FakeAccount {
    handshakes: Mutex<Vec<ObservedHandshake>>,
    /// ListHandshakesForAccount fails with this (an SCP denying it).
    list_error: Mutex<Option<OrganizationsError>>,
    accept_errors: Mutex<Vec<OrganizationsError>>,
    accepted: Mutex<Vec<HandshakeId>>,
    declined: Mutex<Vec<HandshakeId>>,
    membership: Mutex<Option<Membership>>,
}

impl FakeAccount {
    /// An invitation this account sees.
    fn offer(&self, handshake: ObservedHandshake) {
        self.handshakes.lock().unwrap().push(handshake);
    }

    /// The next `AcceptHandshake` fails with `error` (errors are taken last first).
    fn fail_next_accept(&self, error: OrganizationsError) {
        self.accept_errors.lock().unwrap().push(error);
    }
}

#[async_trait]
impl AccountOrganizations for FakeAccount {
    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, OrganizationsError> {
        if let Some(error) = self.list_error.lock().unwrap().clone() {
            return Err(error);
        }
        Ok(self.handshakes.lock().unwrap().clone())
    }
    async fn accept(
        &self,
        handshake: &HandshakeId,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        if let Some(error) = self.accept_errors.lock().unwrap().pop() {
            return Err(error);
        }
        self.accepted.lock().unwrap().push(handshake.clone());
        let mut all = self.handshakes.lock().unwrap();
        let h = all.iter_mut().find(|h| &h.id == handshake).unwrap();
        h.state = "ACCEPTED".into();
        Ok(h.clone())
    }
    async fn decline(&self, handshake: &HandshakeId) -> Result<(), OrganizationsError> {
        self.declined.lock().unwrap().push(handshake.clone());
        Ok(())
    }
    async fn membership(&self) -> Result<Option<Membership>, OrganizationsError> {
        Ok(self.membership.lock().unwrap().clone())
    }
    async fn other_members(&self) -> Result<u32, OrganizationsError> {
        Err(aws_error("AccessDeniedException", None, false))
    }
}

#[derive(Default)]
struct FakeCredentials {
    accounts: Mutex<HashMap<AccountId, Arc<FakeAccount>>>,
    denied: Mutex<Vec<AccountId>>,
    /// The organization DescribeOrganization shows the hub in, when not the target.
    hub_organization: Mutex<Option<Membership>>,
}

impl FakeCredentials {
    fn account(&self, id: &str) -> Arc<FakeAccount> {
        self.accounts
            .lock()
            .unwrap()
            .entry(acct(id))
            .or_default()
            .clone()
    }
}

#[async_trait]
impl Credentials for FakeCredentials {
    async fn organizations_for(
        &self,
        account: &AccountId,
    ) -> Result<Arc<dyn AccountOrganizations>, OrganizationsError> {
        if self.denied.lock().unwrap().contains(account) {
            return Err(aws_error("AccessDenied", None, false));
        }
        Ok(self.account(account.as_str()))
    }
}

/// The target organization's member list, as AWS would show it: the accounts that
/// accepted the target's invitation or whose organization is the target.
#[async_trait]
impl TargetDirectory for FakeCredentials {
    async fn is_member(&self, account: &AccountId) -> Result<bool, OrganizationsError> {
        let Some(fake) = self.accounts.lock().unwrap().get(account).cloned() else {
            return Ok(false);
        };
        let in_target = fake
            .membership
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|m| m.organization == target().organization);
        Ok(in_target || !fake.accepted.lock().unwrap().is_empty())
    }
    /// The hub runs in the target management account, unless a test says otherwise.
    async fn own_organization(&self) -> Result<Option<Membership>, OrganizationsError> {
        Ok(Some(
            self.hub_organization
                .lock()
                .unwrap()
                .clone()
                .unwrap_or(Membership {
                    organization: target().organization,
                    management_account: acct(TARGET_MGMT),
                }),
        ))
    }
    /// These tests enroll no billing transfer: the target lists none.
    async fn transfer_proving(
        &self,
        _record: &OnboardingRecord,
    ) -> Result<Option<billing::ObservedTransfer>, OrganizationsError> {
        Ok(None)
    }
}

/// The target organization's side.
#[derive(Default)]
struct FakeTarget {
    handshakes: Mutex<Vec<ObservedHandshake>>,
    /// The first invitation of every `throttle_every`-th account is throttled (0: never).
    throttle_every: Mutex<u32>,
    throttled: Mutex<std::collections::HashSet<AccountId>>,
    calls: Mutex<u32>,
    invite_errors: Mutex<HashMap<AccountId, OrganizationsError>>,
    invites: Mutex<u32>,
    /// The accounts in the target organization (ListAccounts).
    accounts: Mutex<u32>,
    /// How many times they were listed.
    listed: Mutex<u32>,
}

#[async_trait]
impl TargetOrganization for FakeTarget {
    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, OrganizationsError> {
        Ok(self.handshakes.lock().unwrap().clone())
    }
    async fn invite(
        &self,
        account: &AccountId,
        _notes: &str,
        _tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        if let Some(error) = self.invite_errors.lock().unwrap().get(account) {
            return Err(error.clone());
        }
        let every = u64::from(*self.throttle_every.lock().unwrap());
        *self.calls.lock().unwrap() += 1;
        let number: u64 = account.as_str().parse().unwrap();
        if every > 0
            && number % every == 0
            && self.throttled.lock().unwrap().insert(account.clone())
        {
            return Err(aws_error("TooManyRequestsException", None, true));
        }
        let mut count = self.invites.lock().unwrap();
        *count += 1;
        let h = ours(
            &format!("h-invite{:04}{}", *count, &account.as_str()[..4]),
            account.as_str(),
        );
        self.handshakes.lock().unwrap().push(h.clone());
        Ok(h)
    }
    async fn member_accounts(&self) -> Result<Vec<AccountId>, OrganizationsError> {
        *self.listed.lock().unwrap() += 1;
        let count = u64::from(*self.accounts.lock().unwrap());
        Ok((0..count)
            .map(|i| acct(&format!("{:012}", 900_000_000_000 + i)))
            .collect())
    }
}

/// These tests enroll no billing transfer: the inviter never sends one, and lists none.
#[async_trait]
impl BillingTransfers for FakeTarget {
    async fn invite_to_transfer(
        &self,
        account: &AccountId,
        _starts_at: chrono::DateTime<Utc>,
        _name: &str,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        panic!("no billing enrollment here, yet a transfer invitation to {account}")
    }
    async fn transfers(&self) -> Result<Vec<billing::ObservedTransfer>, OrganizationsError> {
        Ok(Vec::new())
    }
}

struct World {
    store: Arc<InMemoryRecordStore>,
    notifier: Arc<InMemoryNotifier>,
    credentials: Arc<FakeCredentials>,
    organization: Arc<FakeTarget>,
}

type TestAcceptor = Acceptor<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>, Arc<FakeCredentials>>;
type TestInviter = Inviter<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>, Arc<FakeTarget>>;

impl World {
    /// An enrollment of `n` standalone accounts besides the usual ones.
    async fn with_standalone(n: u64) -> (Self, Vec<AccountId>) {
        let world = Self::new(TransferMode::Standalone).await;
        let accounts: Vec<AccountId> = (0..n)
            .map(|i| acct(&format!("{}", 900_000_000_000 + i)))
            .collect();
        let enrollment = Enrollment {
            name: EnrollmentName::parse("wide").unwrap(),
            transfer_mode: TransferMode::Standalone,
            management_account: None,
            members: Vec::new(),
            standalone_accounts: accounts.clone(),
            placement: Default::default(),
        };
        world
            .store
            .create_many(&enrollment.records(Utc::now()).unwrap())
            .await
            .unwrap();
        (world, accounts)
    }

    async fn new(mode: TransferMode) -> Self {
        let store = Arc::new(InMemoryRecordStore::new());
        let enrollment = Enrollment {
            name: EnrollmentName::parse("acme").unwrap(),
            transfer_mode: mode,
            management_account: Some(acct("222222222222")),
            members: vec![acct(MEMBER)],
            standalone_accounts: vec![acct(SOLO)],
            placement: Default::default(),
        };
        for record in enrollment.records(Utc::now()).unwrap() {
            store.create(&record).await.unwrap();
        }
        Self {
            store,
            notifier: Arc::new(InMemoryNotifier::new()),
            credentials: Arc::new(FakeCredentials::default()),
            organization: Arc::new(FakeTarget::default()),
        }
    }
    fn tracker(&self) -> Tracker<Arc<InMemoryRecordStore>, Arc<InMemoryNotifier>> {
        Tracker::new(self.store.clone(), self.notifier.clone(), target())
            .with_target_directory(self.credentials.clone())
    }
    fn acceptor(&self, decline: bool) -> TestAcceptor {
        Acceptor::new(
            self.tracker(),
            self.credentials.clone(),
            self.credentials.clone(),
            decline,
        )
    }
    fn inviter(&self) -> TestInviter {
        Inviter::new(
            self.tracker(),
            self.organization.clone(),
            self.credentials.clone(),
        )
    }
    async fn record(&self, account: &str) -> OnboardingRecord {
        self.store.load(&acct(account)).await.unwrap().unwrap()
    }
    fn count(&self, detail_type: &str) -> usize {
        self.notifier
            .detail_types()
            .iter()
            .filter(|t| *t == detail_type)
            .count()
    }
}

// --- acceptor ---------------------------------------------------------------------------

#[tokio::test]
async fn a_verified_invitation_is_accepted_and_the_account_joins() {
    let world = World::new(TransferMode::Standalone).await;
    world
        .credentials
        .account(SOLO)
        .offer(ours("h-examplehandshakeid111", SOLO));
    let outcome = world.acceptor(false).process(&acct(SOLO)).await.unwrap();
    assert_eq!(
        outcome,
        AcceptorOutcome::Accepted {
            handshake: HandshakeId::parse("h-examplehandshakeid111").unwrap()
        }
    );
    assert_eq!(world.record(SOLO).await.phase, Phase::Joined);
    assert_eq!(world.count(n::ACCOUNT_JOINED), 1);
}

#[tokio::test]
async fn a_retry_after_the_placement_was_committed_redoes_the_enrollments_completion() {
    let (world, accounts) = World::with_standalone(1).await;
    let account = accounts[0].clone();
    world
        .credentials
        .account(account.as_str())
        .offer(ours("h-examplehandshakeid111", account.as_str()));
    let acceptor = world.acceptor(false);
    acceptor.process(&account).await.unwrap();
    assert_eq!(world.record(account.as_str()).await.phase, Phase::Joined);
    assert_eq!(
        world.count(n::ENROLLMENT_COMPLETED),
        0,
        "joined is not onboarded: the placer has not checked its access yet"
    );

    // The placement commits, then the completion check fails (its counters read).
    let placed = DomainEvent::observed(
        "placer#placed",
        account.clone(),
        EventKind::AccountPlaced {
            placed_in: None,
            access_role: Some("OrgOnboardingAccess".into()),
        },
    );
    world.store.fail_next_listings(1);
    assert!(world.tracker().record(&placed).await.is_err());
    assert!(world.record(account.as_str()).await.placed.is_some());
    assert_eq!(world.count(n::ENROLLMENT_COMPLETED), 0);

    // Lambda's retry finds the placement recorded and redoes what it asked for.
    world.tracker().record(&placed).await.unwrap();
    assert_eq!(world.count(n::ENROLLMENT_COMPLETED), 1);
    acceptor.process(&account).await.unwrap();
    world.tracker().record(&placed).await.unwrap();
    assert_eq!(world.count(n::ENROLLMENT_COMPLETED), 1, "announced once");
}

#[tokio::test]
async fn a_foreign_invitation_is_never_accepted_and_reported_once() {
    let world = World::new(TransferMode::Standalone).await;
    let account = world.credentials.account(SOLO);
    account.offer(foreign("h-foreignhandshake001", SOLO));
    let acceptor = world.acceptor(false);
    assert_eq!(
        acceptor.process(&acct(SOLO)).await.unwrap(),
        AcceptorOutcome::NothingToAccept { reported: 1 }
    );
    acceptor.process(&acct(SOLO)).await.unwrap();
    assert!(account.accepted.lock().unwrap().is_empty());
    assert!(
        account.declined.lock().unwrap().is_empty(),
        "declining is opt-in"
    );
    assert_eq!(world.count(n::UNEXPECTED_INVITATION), 1);
    let detail = world
        .notifier
        .published()
        .iter()
        .find_map(|p| n::UnexpectedInvitation::from_outgoing(p).ok())
        .unwrap();
    assert_eq!(
        detail.inviting_organization.as_ref().map(|o| o.as_str()),
        Some("o-foreignorg01")
    );
    assert_eq!(
        detail.unexpected_handshake_id.as_str(),
        "h-foreignhandshake001"
    );
}

#[tokio::test]
async fn unexpected_invitations_are_declined_only_when_configured() {
    let world = World::new(TransferMode::Standalone).await;
    let account = world.credentials.account(SOLO);
    account.offer(foreign("h-foreignhandshake001", SOLO));
    let acceptor = world.acceptor(true);
    acceptor.process(&acct(SOLO)).await.unwrap();
    acceptor.process(&acct(SOLO)).await.unwrap();
    assert_eq!(account.declined.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_forged_event_naming_the_target_for_a_foreign_handshake_is_not_accepted() {
    let world = World::new(TransferMode::Standalone).await;
    // The event payload claims the target organization invited the account with h-forged...
    let forged = DomainEvent {
        id: "forged-1".into(),
        recorded_in: None,
        replayed: false,
        account: acct(SOLO),
        occurred_at: Utc::now(),
        kind: EventKind::InvitationSent {
            handshake: HandshakeId::parse("h-forgedhandshake1").unwrap(),
            organization: Some(target().organization),
            expires_at: None,
        },
    };
    world.tracker().record(&forged).await.unwrap();
    assert_eq!(world.record(SOLO).await.phase, Phase::Invited);
    // ... but the API, in the account, shows it comes from another organization.
    let account = world.credentials.account(SOLO);
    account.offer(foreign("h-forgedhandshake1", SOLO));
    let outcome = world.acceptor(false).process(&acct(SOLO)).await.unwrap();
    assert_eq!(outcome, AcceptorOutcome::NothingToAccept { reported: 1 });
    assert!(account.accepted.lock().unwrap().is_empty());
    assert_ne!(world.record(SOLO).await.phase, Phase::Joined);
    assert_eq!(world.count(n::UNEXPECTED_INVITATION), 1);
}

#[tokio::test]
async fn an_invitation_from_the_target_id_but_another_management_account_is_refused() {
    let world = World::new(TransferMode::Standalone).await;
    let account = world.credentials.account(SOLO);
    account.offer(invitation(
        "h-spoofedmgmt0001",
        TARGET_ORG,
        "666666666666",
        SOLO,
        "OPEN",
    ));
    world.acceptor(false).process(&acct(SOLO)).await.unwrap();
    assert!(account.accepted.lock().unwrap().is_empty());
    let detail = world
        .notifier
        .published()
        .iter()
        .find_map(|p| n::UnexpectedInvitation::from_outgoing(p).ok())
        .unwrap();
    assert!(detail.reason.starts_with("WRONG_MANAGEMENT_ACCOUNT"));
}

#[tokio::test]
async fn already_accepted_counts_only_when_the_account_is_in_the_target_organization() {
    // Not in the target: the record keeps the verified invitation it took before accepting,
    // blocked as not open.
    for (in_target, phase) in [(true, Phase::Joined), (false, Phase::Invited)] {
        let world = World::new(TransferMode::Standalone).await;
        let account = world.credentials.account(SOLO);
        account.offer(ours("h-examplehandshakeid111", SOLO));
        account.fail_next_accept(aws_error(
            "InvalidHandshakeTransitionException",
            None,
            false,
        ));
        if in_target {
            *account.membership.lock().unwrap() = Some(Membership {
                organization: target().organization,
                management_account: acct(TARGET_MGMT),
            });
        }
        world.acceptor(false).process(&acct(SOLO)).await.unwrap();
        let record = world.record(SOLO).await;
        assert_eq!(record.phase, phase, "in target: {in_target}");
        assert_eq!(
            record.is_blocked_by(BlockerCode::HandshakeNotOpen),
            !in_target
        );
    }
}

#[tokio::test]
async fn acceptance_refusals_become_blockers() {
    let cases = [
        (
            aws_error(
                "HandshakeConstraintViolationException",
                Some("PAYMENT_INSTRUMENT_REQUIRED"),
                false,
            ),
            BlockerCode::PaymentMethodMissing,
        ),
        (
            aws_error(
                "HandshakeConstraintViolationException",
                Some("ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD"),
                false,
            ),
            BlockerCode::DifferentSellerOfRecord,
        ),
        (
            aws_error("MasterCannotLeaveOrganizationException", None, false),
            BlockerCode::ManagementMustDeleteOrganization,
        ),
        (
            aws_error(
                "HandshakeConstraintViolationException",
                Some("ALREADY_IN_AN_ORGANIZATION"),
                false,
            ),
            BlockerCode::StillInOrganization,
        ),
    ];
    for (error, code) in cases {
        let world = World::new(TransferMode::Standalone).await;
        let account = world.credentials.account(SOLO);
        account.offer(ours("h-examplehandshakeid111", SOLO));
        account.fail_next_accept(error);
        let outcome = world.acceptor(false).process(&acct(SOLO)).await.unwrap();
        assert!(matches!(outcome, AcceptorOutcome::Blocked { .. }));
        assert!(world.record(SOLO).await.is_blocked_by(code), "{code}");
    }
}

#[tokio::test]
async fn throttled_acceptance_is_retried() {
    let world = World::new(TransferMode::Standalone).await;
    let account = world.credentials.account(SOLO);
    account.offer(ours("h-examplehandshakeid111", SOLO));
    account.fail_next_accept(aws_error("TooManyRequestsException", None, true));
    let outcome = world.acceptor(false).process(&acct(SOLO)).await.unwrap();
    assert!(matches!(outcome, AcceptorOutcome::Accepted { .. }));
}

#[tokio::test]
async fn a_spoke_role_that_cannot_be_assumed_is_a_blocker() {
    let world = World::new(TransferMode::Standalone).await;
    world.credentials.denied.lock().unwrap().push(acct(SOLO));
    world.acceptor(false).process(&acct(SOLO)).await.unwrap();
    let record = world.record(SOLO).await;
    let blocker = record
        .blockers
        .iter()
        .find(|b| b.code == BlockerCode::SpokeRoleUntrusted)
        .unwrap();
    assert!(blocker.remediation.contains("spoke.yaml"));
    // Once the role is deployed, the blocker clears on the next run.
    world.credentials.denied.lock().unwrap().clear();
    world.acceptor(false).process(&acct(SOLO)).await.unwrap();
    assert!(world.record(SOLO).await.blockers.is_empty());
}

#[tokio::test]
async fn direct_member_refused_at_acceptance_falls_back_to_the_standalone_path() {
    let world = World::new(TransferMode::Direct).await;
    let account = world.credentials.account(MEMBER);
    account.offer(ours("h-examplehandshakeid111", MEMBER));
    account.fail_next_accept(aws_error(
        "HandshakeConstraintViolationException",
        Some("ALREADY_IN_AN_ORGANIZATION"),
        false,
    ));
    world.acceptor(false).process(&acct(MEMBER)).await.unwrap();
    let record = world.record(MEMBER).await;
    assert_eq!(record.phase, Phase::LeavingOrganization);
    assert!(record.fallback.is_some());
}

// --- inviter ----------------------------------------------------------------------------

#[tokio::test]
async fn the_inviter_invites_awaiting_accounts_once() {
    let world = World::new(TransferMode::Standalone).await;
    let inviter = world.inviter();
    let first = inviter.sweep().await.unwrap();
    assert!(first
        .done
        .iter()
        .any(|(a, o)| a.as_str() == SOLO && matches!(o, InviterOutcome::Invited { .. })));
    assert_eq!(world.record(SOLO).await.phase, Phase::Invited);
    // Re-running changes nothing: the invitation is open, the record is Invited.
    inviter.sweep().await.unwrap();
    assert_eq!(*world.organization.invites.lock().unwrap(), 1);
}

#[tokio::test]
async fn an_open_invitation_is_adopted_not_sent_again() {
    let world = World::new(TransferMode::Standalone).await;
    world
        .organization
        .handshakes
        .lock()
        .unwrap()
        .push(ours("h-alreadysent00001", SOLO));
    let outcome = world.inviter().process(&acct(SOLO), false).await.unwrap();
    assert!(matches!(outcome, InviterOutcome::Adopted { .. }));
    assert_eq!(*world.organization.invites.lock().unwrap(), 0);
    assert_eq!(
        world
            .record(SOLO)
            .await
            .handshake_id()
            .cloned()
            .unwrap()
            .as_str(),
        "h-alreadysent00001"
    );
}

#[tokio::test]
async fn quota_refusal_defers_the_account_and_the_batch_goes_on() {
    let world = World::new(TransferMode::Direct).await;
    world.organization.invite_errors.lock().unwrap().insert(
        acct(SOLO),
        aws_error(
            "HandshakeConstraintViolationException",
            Some("HANDSHAKE_RATE_LIMIT_EXCEEDED"),
            false,
        ),
    );
    let outcomes = world.inviter().sweep().await.unwrap();
    assert!(outcomes
        .done
        .iter()
        .any(|(a, o)| a.as_str() == MEMBER && matches!(o, InviterOutcome::Invited { .. })));
    let solo = world.record(SOLO).await;
    assert_eq!(solo.phase, Phase::AwaitingInvitation);
    assert!(solo.is_blocked_by(BlockerCode::InvitationQuotaReached));
}

/// The notifications the template's e-mail rules send (each rule: its detail-type, and
/// what it asks of the detail), as EventBridge would match them.
fn emailed(world: &World) -> Vec<OutgoingNotification> {
    world
        .notifier
        .published()
        .into_iter()
        .filter(|p| {
            n::NotificationKind::from_detail_type(&p.detail_type).is_some_and(|kind| {
                kind.email().is_some()
                    && kind.email_only_when().iter().all(|(field, values)| {
                        let wanted: Vec<serde_json::Value> = flow_list(values);
                        wanted.contains(&p.detail[*field])
                    })
            })
        })
        .collect()
}

/// A YAML flow list of scalars (`[false]`) as JSON values.
fn flow_list(values: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(values).expect("a flow list of JSON scalars")
}

/// The inviter's next run: `limit` accounts in the target organization (AWS may raise it).
fn inviter_with_limit(world: &World, limit: u32) -> TestInviter {
    world.inviter().with_limits(InvitationLimits {
        per_day: 1000,
        account_limit: limit,
    })
}

/// One invited account joins: its invitation accepted, the organization one account more.
async fn next_invited_joins(world: &World, run: usize) {
    let invited = world.store.list_by_phase(Phase::Invited).await.unwrap();
    let Some(record) = invited.into_iter().min_by_key(|r| r.account_id.clone()) else {
        return;
    };
    let handshake = record.handshake_id().unwrap().clone();
    for h in world.organization.handshakes.lock().unwrap().iter_mut() {
        if h.id == handshake {
            h.state = "ACCEPTED".into();
        }
    }
    *world.organization.accounts.lock().unwrap() += 1;
    let joined = DomainEvent::observed(
        format!("reconciler:member:{run}"),
        record.account_id.clone(),
        EventKind::MembershipConfirmed,
    );
    world.tracker().record(&joined).await.unwrap();
}

/// Waiting for an invitation slot is written once: over 100 inviter runs, while other
/// accounts are invited and join one by one (the organization's counts change every run,
/// and the limit is raised now and then), the last account in line keeps its version and
/// its one history entry, is e-mailed once in one digest, and `status` shows its place in
/// line, computed from the line.
#[tokio::test]
async fn a_waiting_account_is_written_once_over_a_hundred_inviter_runs() {
    let (world, accounts) = World::with_standalone(30).await;
    *world.organization.accounts.lock().unwrap() = 5;
    let last = accounts.last().unwrap().clone();
    for run in 0..100 {
        let limit = 10 + (run / 5) as u32;
        let report = inviter_with_limit(&world, limit).sweep().await.unwrap();
        assert!(report.failed.is_empty(), "{report:?}");
        next_invited_joins(&world, run).await;
    }
    let joined = world.store.list_by_phase(Phase::Joined).await.unwrap();
    assert_eq!(
        joined.len(),
        24,
        "5 at first, then one per raise of the limit"
    );
    let waiting = world.store.load(&last).await.unwrap().unwrap();
    assert_eq!(waiting.phase, Phase::AwaitingInvitation);
    assert_eq!(waiting.version, 2, "written once, when it began waiting");
    assert_eq!(waiting.history.len(), 1, "{:?}", waiting.history);
    assert_eq!(
        waiting.blockers,
        vec![WaitingReason::InvitationSlot.blocker(waiting.blockers[0].since)]
    );
    assert!(
        !waiting.blockers[0].message.contains(char::is_numeric),
        "no counts, no clock: {}",
        waiting.blockers[0].message
    );
    let blocked_for_last = world
        .notifier
        .published()
        .iter()
        .filter_map(|p| n::Blocked::from_outgoing(p).ok())
        .filter(|b| b.context.account_id == last)
        .count();
    assert_eq!(blocked_for_last, 1, "one event for machines");
    assert_eq!(
        world.count(n::ONBOARDING_DIGEST),
        1,
        "one digest, the first run's"
    );
    let digest = world
        .notifier
        .published()
        .iter()
        .find_map(|p| n::OnboardingDigest::from_outgoing(p).ok())
        .unwrap();
    assert_eq!(digest.accounts_waiting, 26, "31 awaiting, 5 slots");

    // Its place in line is computed when read: 7 accounts still await, it is the last.
    let line = InvitationLine::read(&*world.store).await.unwrap();
    let place = line.place(&last).unwrap();
    assert_eq!((place.position, place.of), (7, 7));
    let status = remediation_lines(std::slice::from_ref(&waiting), &line);
    assert!(
        status[0].ends_with("Now: place 7 of 7 in line."),
        "{}",
        status[0]
    );
}

/// Accounts of two enrollments that begin waiting in one run are e-mailed as one digest
/// per enrollment; their own `Onboarding Blocked` events are published for machines only.
#[tokio::test]
async fn waiting_accounts_of_a_run_are_one_emailed_digest_per_enrollment() {
    let (world, accounts) = World::with_standalone(5).await;
    *world.organization.accounts.lock().unwrap() = 10;
    inviter_with_limit(&world, 10).sweep().await.unwrap();
    assert_eq!(
        world.count(n::BLOCKED),
        accounts.len() + 1,
        "wide's five, acme's one"
    );
    let emailed = emailed(&world);
    let digests: Vec<n::OnboardingDigest> = emailed
        .iter()
        .map(|p| n::OnboardingDigest::from_outgoing(p).unwrap())
        .collect();
    let per_enrollment: Vec<(&str, usize)> = digests
        .iter()
        .map(|d| (d.enrollment.as_str(), d.accounts_waiting))
        .collect();
    assert_eq!(per_enrollment, vec![("acme", 1), ("wide", 5)]);
    assert!(digests[1].summary.contains(accounts[0].as_str()));
    // The next run changes nothing: no event, no digest.
    let published = world.notifier.published().len();
    inviter_with_limit(&world, 10).sweep().await.unwrap();
    assert_eq!(world.notifier.published().len(), published);
}

/// Another organization inviting a customer's accounts again and again is one e-mail per
/// enrollment and run: the acceptor's sweep reports each invitation for machines and
/// e-mails the digest.
#[tokio::test]
async fn unexpected_invitations_of_a_run_are_one_emailed_digest() {
    let world = World::new(TransferMode::Direct).await;
    let solo = world.credentials.account(SOLO);
    solo.offer(foreign("h-foreignhandshake001", SOLO));
    solo.offer(foreign("h-foreignhandshake002", SOLO));
    world
        .credentials
        .account(MEMBER)
        .offer(foreign("h-foreignhandshake003", MEMBER));
    world.acceptor(false).sweep().await.unwrap();
    assert_eq!(world.count(n::UNEXPECTED_INVITATION), 3, "for machines");
    let emailed = emailed(&world);
    assert_eq!(emailed.len(), 1, "{emailed:?}");
    let digest = n::OnboardingDigest::from_outgoing(&emailed[0]).unwrap();
    assert_eq!(digest.unexpected_invitations, 3);
    assert_eq!(digest.function, FunctionName::Acceptor);
    assert!(
        digest.summary.contains("h-foreignhandshake003"),
        "{}",
        digest.summary
    );
}

#[tokio::test]
async fn direct_member_refused_at_invitation_falls_back() {
    let world = World::new(TransferMode::Direct).await;
    world.organization.invite_errors.lock().unwrap().insert(
        acct(MEMBER),
        aws_error(
            "HandshakeConstraintViolationException",
            Some("ALREADY_IN_AN_ORGANIZATION"),
            false,
        ),
    );
    world.inviter().process(&acct(MEMBER), false).await.unwrap();
    let record = world.record(MEMBER).await;
    assert_eq!(record.phase, Phase::LeavingOrganization);
    assert!(
        record
            .fallback
            .unwrap()
            .reason
            .contains("ALREADY_IN_AN_ORGANIZATION")
            || record.blockers[0]
                .raw_code
                .as_deref()
                .unwrap()
                .contains("ALREADY_IN_AN_ORGANIZATION")
    );
    assert!(world.notifier.published().iter().any(|p| {
        n::PhaseChanged::from_outgoing(p).is_ok_and(|d| d.new_phase == Phase::LeavingOrganization)
    }));
}

#[tokio::test]
async fn an_expired_invitation_leads_to_a_new_one() {
    let world = World::new(TransferMode::Standalone).await;
    let inviter = world.inviter();
    inviter.process(&acct(SOLO), false).await.unwrap();
    let first = world.record(SOLO).await.handshake_id().cloned().unwrap();
    world
        .organization
        .handshakes
        .lock()
        .unwrap()
        .iter_mut()
        .for_each(|h| h.state = "EXPIRED".into());
    inviter.sweep().await.unwrap();
    let record = world.record(SOLO).await;
    assert_eq!(record.phase, Phase::Invited);
    assert_ne!(record.handshake_id().cloned().unwrap(), first);
    assert_eq!(*world.organization.invites.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_duplicate_handshake_error_adopts_the_open_invitation() {
    let world = World::new(TransferMode::Standalone).await;
    world.organization.invite_errors.lock().unwrap().insert(
        acct(SOLO),
        aws_error("DuplicateHandshakeException", None, false),
    );
    // The open invitation appears only after the first listing (sent concurrently).
    let outcome = {
        let inviter = world.inviter();
        world.organization.handshakes.lock().unwrap().clear();
        let first = inviter.process(&acct(SOLO), false).await.unwrap();
        assert!(
            matches!(first, InviterOutcome::Refused { .. }),
            "nothing to adopt yet: {first:?}"
        );
        world
            .organization
            .handshakes
            .lock()
            .unwrap()
            .push(ours("h-concurrent00001", SOLO));
        inviter.process(&acct(SOLO), false).await.unwrap()
    };
    assert!(matches!(outcome, InviterOutcome::Adopted { .. }));
}

// --- trust boundaries and scale ---------------------------------------------------------

#[tokio::test]
async fn a_sweep_accepts_the_others_when_one_role_is_missing_and_one_call_is_denied() {
    let (world, accounts) = World::with_standalone(6).await;
    for account in &accounts {
        let fake = world.credentials.account(account.as_str());
        fake.handshakes.lock().unwrap().push(ours(
            &format!("h-sweep{}", account.as_str()),
            account.as_str(),
        ));
        world.store.load(account).await.unwrap().unwrap();
    }
    // Invitations for every account, as the inviter would have recorded them.
    for account in &accounts {
        let kind = EventKind::InvitationSent {
            handshake: HandshakeId::parse(format!("h-sweep{}", account.as_str())).unwrap(),
            organization: Some(target().organization),
            expires_at: None,
        };
        let event = DomainEvent::observed(format!("sent-{account}"), account.clone(), kind);
        world.tracker().record(&event).await.unwrap();
    }
    let (missing, denied) = (&accounts[1], &accounts[4]);
    world
        .credentials
        .denied
        .lock()
        .unwrap()
        .push(missing.clone());
    *world
        .credentials
        .account(denied.as_str())
        .list_error
        .lock()
        .unwrap() = Some(aws_error("AccessDeniedException", None, false));
    let report = world.acceptor(false).sweep().await.unwrap();
    assert!(
        report.failed.is_empty(),
        "a permanent refusal is a blocker: {report:?}"
    );
    for account in &accounts {
        let record = world.store.load(account).await.unwrap().unwrap();
        if account == missing {
            assert!(record.is_blocked_by(BlockerCode::SpokeRoleUntrusted));
        } else if account == denied {
            assert!(
                record.is_blocked_by(BlockerCode::AccessDenied),
                "{:?}",
                record.blockers
            );
            assert!(record.blockers[0].remediation.len() > 20);
        } else {
            assert_eq!(record.phase, Phase::Joined, "{account}");
        }
    }
}

#[tokio::test]
async fn nothing_is_accepted_while_the_configured_target_is_not_the_hubs_organization() {
    let world = World::new(TransferMode::Standalone).await;
    world
        .credentials
        .account(SOLO)
        .offer(ours("h-examplehandshakeid111", SOLO));
    *world.credentials.hub_organization.lock().unwrap() = Some(Membership {
        organization: OrganizationId::parse("o-otherorg123").unwrap(),
        management_account: acct(TARGET_MGMT),
    });
    let outcome = world.acceptor(false).process(&acct(SOLO)).await.unwrap();
    let AcceptorOutcome::TargetUnverified { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.contains("TARGET_ORGANIZATION_ID") && reason.contains("o-otherorg123"),
        "{reason}"
    );
    assert!(world
        .credentials
        .account(SOLO)
        .accepted
        .lock()
        .unwrap()
        .is_empty());
    assert_ne!(world.record(SOLO).await.phase, Phase::Joined);
}

/// A typo in TARGET_MANAGEMENT_ACCOUNT_ID: the hub's own organization names another
/// management account. With declining on, the hub's own invitation (which now looks
/// foreign) must not be declined, nothing is reported, and the inviter sends nothing.
fn with_wrong_management_account(world: &World) {
    *world.credentials.hub_organization.lock().unwrap() = Some(Membership {
        organization: target().organization,
        management_account: acct("999999999999"),
    });
}

#[tokio::test]
async fn a_wrong_target_id_with_declining_on_declines_nothing() {
    let world = World::new(TransferMode::Standalone).await;
    with_wrong_management_account(&world);
    let account = world.credentials.account(SOLO);
    // The real target's invitation, signed by the management account the typo misses,
    // and another organization's: neither is declined while the target is unverified.
    account.offer(invitation(
        "h-examplehandshakeid111",
        TARGET_ORG,
        "999999999999",
        SOLO,
        "OPEN",
    ));
    account.offer(foreign("h-foreignhandshake001", SOLO));
    let acceptor = world.acceptor(true);
    let outcome = acceptor.process(&acct(SOLO)).await.unwrap();
    let AcceptorOutcome::TargetUnverified { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.contains("TARGET_MANAGEMENT_ACCOUNT_ID") && reason.contains("999999999999"),
        "{reason}"
    );
    let swept = acceptor.sweep().await.unwrap();
    assert!(
        swept.done.is_empty() && swept.failed.is_empty(),
        "{swept:?}"
    );
    assert!(account.declined.lock().unwrap().is_empty());
    assert!(account.accepted.lock().unwrap().is_empty());
    assert_eq!(world.count(n::UNEXPECTED_INVITATION), 0);
    assert_eq!(world.record(SOLO).await.phase, Phase::AwaitingInvitation);
}

#[tokio::test]
async fn a_wrong_target_id_sends_no_invitation() {
    let world = World::new(TransferMode::Standalone).await;
    with_wrong_management_account(&world);
    let inviter = world.inviter();
    let swept = inviter.sweep().await.unwrap();
    assert!(
        swept.done.is_empty() && swept.failed.is_empty(),
        "{swept:?}"
    );
    let outcome = inviter.process(&acct(SOLO), false).await.unwrap();
    assert!(
        matches!(&outcome, InviterOutcome::TargetUnverified { reason } if reason.contains("999999999999")),
        "{outcome:?}"
    );
    assert_eq!(*world.organization.invites.lock().unwrap(), 0);
    assert_eq!(*world.organization.calls.lock().unwrap(), 0);
    assert_eq!(world.record(SOLO).await.version, 1, "nothing recorded");
}

#[tokio::test(start_paused = true)]
async fn a_sweep_of_three_hundred_accounts_with_throttling_invites_every_one() {
    let (world, accounts) = World::with_standalone(300).await;
    *world.organization.throttle_every.lock().unwrap() = 4;
    // Paced at the throttled rate, the sweep takes longer than one run's budget (the clock
    // is tokio's, paused): here every account is to be invited in one.
    let inviter = world
        .inviter()
        .with_limits(InvitationLimits {
            per_day: 1000,
            account_limit: 1000,
        })
        .with_sweep_limits(onboarding::sweep::SweepLimits {
            budget: std::time::Duration::from_secs(3 * 3600),
            ..Default::default()
        });
    let report = inviter.sweep().await.unwrap();
    assert!(
        report.failed.is_empty() && !report.out_of_time,
        "{report:?}"
    );
    for account in &accounts {
        assert_eq!(
            world.store.load(account).await.unwrap().unwrap().phase,
            Phase::Invited
        );
    }
    assert!(
        *world.organization.calls.lock().unwrap() > 300,
        "throttled calls were retried"
    );
}

#[tokio::test]
async fn accounts_beyond_the_invitation_quota_wait_with_the_reason_and_the_next_slot() {
    let (world, accounts) = World::with_standalone(5).await;
    let inviter = world.inviter().with_limits(InvitationLimits {
        per_day: 2,
        account_limit: 100,
    });
    inviter.sweep().await.unwrap();
    let invited = *world.organization.invites.lock().unwrap();
    // The quota is max(2, 100) = 100: everything fits. With both at 2, two go out.
    assert_eq!(invited, 6, "all six awaiting accounts fit");
    let (world, accounts2) = World::with_standalone(5).await;
    let inviter = world.inviter().with_limits(InvitationLimits {
        per_day: 2,
        account_limit: 2,
    });
    let report = inviter.sweep().await.unwrap();
    let waiting: Vec<_> = report
        .done
        .iter()
        .filter(|(_, o)| matches!(o, InviterOutcome::Waiting { .. }))
        .collect();
    assert_eq!(*world.organization.invites.lock().unwrap(), 2);
    assert_eq!(waiting.len(), 4, "six awaiting, two slots");
    let waiting_record = world.store.load(&waiting[0].0).await.unwrap().unwrap();
    let blocker = &waiting_record.blockers[0];
    assert!(
        matches!(
            blocker.code,
            BlockerCode::InvitationQuotaReached | BlockerCode::AccountLimitReached
        ),
        "{blocker:?}"
    );
    assert!(
        blocker.message.starts_with("Waiting for"),
        "{}",
        blocker.message
    );
    assert!(!accounts.is_empty() && !accounts2.is_empty());
}

#[tokio::test]
async fn the_target_accounts_are_listed_only_when_an_invitation_slot_depends_on_them() {
    let (world, accounts) = World::with_standalone(3).await;
    let listed = || *world.organization.listed.lock().unwrap();
    // A triggered run for an account whose invitation is open adopts it: no slot asked.
    world
        .organization
        .handshakes
        .lock()
        .unwrap()
        .push(ours("h-alreadysent00001", accounts[0].as_str()));
    let outcome = world.inviter().process(&accounts[0], false).await.unwrap();
    assert!(
        matches!(outcome, InviterOutcome::Adopted { .. }),
        "{outcome:?}"
    );
    assert_eq!(listed(), 0);

    // The day's quota is used up (one sent in the last day, a quota of one): the count
    // cannot change the plan, so the accounts wait without a listing.
    world.organization.handshakes.lock().unwrap()[0].requested_at = Some(Utc::now());
    let spent = InvitationLimits {
        per_day: 1,
        account_limit: 1,
    };
    let report = world.inviter().with_limits(spent).sweep().await.unwrap();
    let waiting = report
        .done
        .iter()
        .filter(|(_, o)| matches!(o, InviterOutcome::Waiting { .. }))
        .count();
    assert_eq!(waiting, 3, "{report:?}");
    assert_eq!(listed(), 0);

    // With room, one listing plans the whole run's slots.
    world.inviter().sweep().await.unwrap();
    assert_eq!(listed(), 1);
    assert_eq!(*world.organization.invites.lock().unwrap(), 3);
}
