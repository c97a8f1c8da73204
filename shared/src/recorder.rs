//! The application service every function records through: an observation (who observed,
//! a key, the account, what) or a CloudTrail event becomes a domain event, is applied to
//! the account's record exactly once through the domain's transitions, and its
//! notifications are published through the outbox. It also owns what every function would
//! otherwise repeat: closing a current invitation found closed, the outcomes of reaching
//! an account through its spoke role, and the failure classes of a function's work.
//!
//! Exactly once, in the face of duplicates, reordering and failures:
//! - the record write is version-conditioned; a conflict reloads, re-applies and retries
//!   with jittered backoff, a bounded number of times;
//! - the event's marker is written in the same transaction, so a redelivery is a no-op
//!   even when two copies run at once;
//! - notifications go into an outbox in that transaction and are published after it. If
//!   publishing fails the handler returns `Err`, Lambda redelivers, the event is now a
//!   duplicate, and the pending outbox is published then. The committing invocation holds
//!   a claim on its outbox item, named by its invocation ([`crate::invocation`]), released
//!   when publishing fails; another invocation publishes a pending item only after
//!   claiming it, so concurrent copies of an event do not publish it again;
//! - what becomes of a published item is the recorder's [`Settling`]: deleted (functions
//!   recording many events per run), or left claimed until its TTL (the tracker: one event
//!   per invocation), so an event costs one read, one transaction and one publish. Then
//!   only the committing invocation's own retries take the item back (Lambda retries under
//!   the same request id); a failure after publishing drops the published notifications
//!   from the item as it releases it;
//! - what the transition leads to beyond its record (the follow-ups: the management
//!   account's re-evaluation, the members of a deleted organization) costs reads only when
//!   the enrollment's counters cross a threshold: the commit is conditioned on them
//!   ([`CountGuard`]), and an item whose follow-ups are due says so, so that a redelivery
//!   reads nothing more to know whether it has any to redo.
//!
//! Each notification carries a stable `notification_id` for the windows left: an
//! invocation that dies after publishing and before its item is settled, a Cleared
//! publisher slower than its lease.
//!
//! What a person is told once per enrollment and run rather than once per account (an
//! account that began waiting, an unexpected invitation) is noted as it is committed and
//! published by [`ObservationRecorder::publish_digests`], which each function calls at the
//! end of its run ([`crate::notifications::digest`]).

mod digest;
mod follow_ups;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::domain::reconcile::closed_current;
use crate::domain::{
    apply, may_change, AccountId, ArrivalProof, AwsFailure, CountChange, DomainEvent, EventKind,
    FunctionName, Observation, ObservedHandshake, OnboardingRecord, Phase, Step, Target,
};
use crate::error_class::{Classified, ErrorClass};
use crate::invocation;
use crate::notifications;
use crate::ports::{
    Commit, CountReader, Notifier, NotifyError, OrganizationsError, OutboxItem, OutboxScope,
    OutboxStore, RecordReader, Settling, StoreError, TargetDirectory, TransitionCommitter,
    OUTBOX_LEASE,
};

use digest::DigestBook;
use follow_ups::{prompts_confirmation, FollowUps, Settle};

/// What the recorder touches of the store: it reads records (and counters, for the
/// follow-ups), commits transitions and works the outbox; it never enrolls nor moves
/// sweep cursors. Every type with those capabilities is one.
pub trait RecorderStore: RecordReader + TransitionCommitter + OutboxStore + CountReader {}

impl<T> RecorderStore for T where
    T: RecordReader + TransitionCommitter + OutboxStore + CountReader + ?Sized
{
}

/// How many times a conflicting write is retried before the invocation fails (and Lambda
/// retries it as a whole).
const MAX_ATTEMPTS: u32 = 8;

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied {
        account: AccountId,
        phase: Phase,
    },
    /// Already applied (redelivery).
    Duplicate {
        account: AccountId,
    },
    /// Valid, but changes nothing (late, or superseded).
    Unchanged {
        account: AccountId,
    },
    /// About an account that is not enrolled.
    NotEnrolled {
        account: AccountId,
    },
    /// A well-formed event the product does not follow.
    Ignored {
        reason: String,
    },
    /// A malformed event: logged with its id and skipped, never retried.
    Rejected {
        reason: String,
    },
}

/// Why recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("the record of {0} kept changing concurrently; giving up for now")]
    ConflictsExhausted(AccountId),
}

impl Classified for RecordError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Store(error) => error.class(),
            Self::Notify(error) => error.class(),
            // Lambda's retry comes later, when the competing writers are done.
            Self::ConflictsExhausted(_) => ErrorClass::Transient,
        }
    }
}

/// What a function that acts through Organizations and records what it observed fails
/// with: recording failed, or a call kept failing past its retries.
#[derive(Debug, thiserror::Error)]
pub enum ObserverError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Call(#[from] FailedCall),
}

impl Classified for ObserverError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Record(error) => error.class(),
            Self::Call(failed) => failed.error.class(),
        }
    }
}

impl From<StoreError> for ObserverError {
    fn from(error: StoreError) -> Self {
        Self::Record(error.into())
    }
}

impl From<OrganizationsError> for ObserverError {
    fn from(error: OrganizationsError) -> Self {
        Self::Call(FailedCall {
            call: None,
            account: None,
            error,
        })
    }
}

/// A call that failed past its retries (or for good): which, in which account, when
/// known.
#[derive(Debug, thiserror::Error)]
pub struct FailedCall {
    pub call: Option<&'static str>,
    pub account: Option<AccountId>,
    pub error: OrganizationsError,
}

impl FailedCall {
    pub fn new(call: &'static str, account: Option<&AccountId>, error: OrganizationsError) -> Self {
        Self {
            call: Some(call),
            account: account.cloned(),
            error,
        }
    }
}

impl fmt::Display for FailedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = &self.error;
        match (self.call, &self.account) {
            (Some(call), Some(account)) => write!(f, "{call} kept failing for {account}: {error}"),
            (Some(call), None) => write!(f, "{call} kept failing: {error}"),
            (None, _) => write!(f, "Organizations kept failing: {error}"),
        }
    }
}

/// Records observations and events for every function (see the module's header).
pub struct ObservationRecorder<S, N> {
    store: S,
    notifier: N,
    target: Target,
    /// Confirms acceptances (the proof of joining); without it none is confirmed.
    members: Option<Arc<dyn TargetDirectory>>,
    /// What this run told that is e-mailed as one digest per enrollment.
    digests: DigestBook,
    settling: Settling,
}

impl<S: RecorderStore, N: Notifier> ObservationRecorder<S, N> {
    pub fn new(store: S, notifier: N, target: Target) -> Self {
        Self {
            store,
            notifier,
            target,
            members: None,
            digests: DigestBook::default(),
            settling: Settling::Cleared,
        }
    }

    /// Leaves each published outbox item to expire rather than deleting it: for a function
    /// that records one event per invocation (the tracker), whose retries carry the
    /// invocation's id ([`Settling::Expires`]).
    pub fn leaving_published_to_expire(mut self) -> Self {
        self.settling = Settling::Expires;
        self
    }

    /// Confirms acceptances with the target organization's member list.
    pub fn with_target_directory(mut self, members: Arc<dyn TargetDirectory>) -> Self {
        self.members = Some(members);
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Records what a function observed.
    pub async fn observe(&self, observation: Observation) -> Result<Outcome, RecordError> {
        self.record(&observation.into_event(Utc::now())).await
    }

    /// The record's current invitation, listed closed in `handshakes`: `by` records its
    /// closure, so the inviter sends a new one. `Some` when it was closed.
    pub async fn close_current_if_gone(
        &self,
        by: FunctionName,
        record: &OnboardingRecord,
        handshakes: &[ObservedHandshake],
        now: DateTime<Utc>,
    ) -> Result<Option<Outcome>, RecordError> {
        let Some((current, closure)) = closed_current(record, handshakes, now) else {
            return Ok(None);
        };
        let kind = EventKind::InvitationClosed {
            handshake: current.clone(),
            closure,
        };
        let observation = Observation::once(by, "closed", current, &record.account_id, kind);
        self.observe(observation).await.map(Some)
    }

    /// The spoke role in the account refused `by` for good: the account's access blocker.
    pub async fn access_denied(
        &self,
        by: FunctionName,
        account: &AccountId,
        failure: AwsFailure,
    ) -> Result<(), RecordError> {
        let kind = EventKind::AccessChecked {
            failure: Some(failure),
        };
        self.observe(Observation::sighting(by, "access-denied", account, kind))
            .await
            .map(drop)
    }

    /// The spoke role works (again) for `by`: an access blocker of the record no longer
    /// holds.
    pub async fn access_works(
        &self,
        by: FunctionName,
        record: &OnboardingRecord,
    ) -> Result<(), RecordError> {
        if !record.blockers.iter().any(|b| b.step == Step::Access) {
            return Ok(());
        }
        let kind = EventKind::AccessChecked { failure: None };
        let observation = Observation::sighting(by, "access-ok", &record.account_id, kind);
        self.observe(observation).await.map(drop)
    }

    /// A call `by` makes in the account was refused for good (an SCP): its blocker.
    pub async fn call_refused(
        &self,
        by: FunctionName,
        account: &AccountId,
        call: &str,
        failure: AwsFailure,
    ) -> Result<(), RecordError> {
        let kind = EventKind::CallRefused {
            call: call.to_owned(),
            failure,
        };
        self.observe(Observation::sighting(by, "refused", account, kind))
            .await
            .map(drop)
    }

    /// Applies one domain event and everything it leads to.
    #[tracing::instrument(skip_all, fields(event_id = %event.id, account_id = %event.account, kind = event.kind.name()))]
    pub async fn record(&self, event: &DomainEvent) -> Result<Outcome, RecordError> {
        self.record_on(event, None).await
    }

    /// [`Self::record`], starting from `known`, the account's record as this invocation
    /// last read or committed it, if it has one (no read; a stale one only costs a
    /// conflict).
    async fn record_on(
        &self,
        event: &DomainEvent,
        known: Option<OnboardingRecord>,
    ) -> Result<Outcome, RecordError> {
        let (outcome, mut follow_ups) = self.apply_once(event, known).await?;
        let settle = follow_ups.settle.take();
        match self.after_commit(follow_ups, &event.id).await {
            Ok(confirmed) => {
                if let Some(settle) = settle {
                    self.settle(settle).await?;
                }
                Ok(confirmed.unwrap_or(outcome))
            }
            Err(error) => {
                if let Some(settle) = settle {
                    self.release_published(&settle).await;
                }
                Err(error)
            }
        }
    }

    /// What a committed (or redelivered) event leads to: the confirmation of an
    /// acceptance (`Some`, the confirmation's outcome, when it moved the record), else its
    /// follow-ups.
    async fn after_commit(
        &self,
        follow_ups: FollowUps,
        cause: &str,
    ) -> Result<Option<Outcome>, RecordError> {
        if let Some((proof, record)) = &follow_ups.confirm {
            // The record as the event left it: committed, or as read when nothing was.
            let latest = follow_ups.record.clone().unwrap_or_else(|| record.clone());
            if let Some(confirmed) = self.confirm(*proof, record, latest, cause).await? {
                return Ok(Some(confirmed));
            }
        }
        self.follow_up(follow_ups, cause).await?;
        Ok(None)
    }

    /// Applies an event a follow-up derives (to another record, or to each member) and
    /// settles its outbox; its own follow-ups are its cause's business.
    async fn apply_derived(&self, event: &DomainEvent) -> Result<(), RecordError> {
        let (_, follow_ups) = Box::pin(self.apply_once(event, None)).await?;
        if let Some(settle) = follow_ups.settle {
            self.settle(settle).await?;
        }
        Ok(())
    }

    /// Applies one event to its account's record once, if the event may speak for it:
    /// from `known` first, when it has not applied the event (so nothing of the event's can
    /// be in the outbox), else from one read.
    async fn apply_once(
        &self,
        event: &DomainEvent,
        mut known: Option<OnboardingRecord>,
    ) -> Result<(Outcome, FollowUps), RecordError> {
        let account = event.account.clone();
        for attempt in 0..MAX_ATTEMPTS {
            let (record, left) = match known.take() {
                Some(record) if !record.has_applied(&event.id) => (Some(record), None),
                _ => self.store.record_and_outbox(&account, &event.id).await?,
            };
            let Some(record) = record else {
                info!("account is not enrolled; skipping");
                return Ok((Outcome::NotEnrolled { account }, FollowUps::default()));
            };
            if let Err(reason) = may_change(event, &record, &self.target) {
                info!(%reason, ignored = "origin", "ignoring an event that cannot speak for this record");
                return Ok((Outcome::Ignored { reason }, FollowUps::default()));
            }
            let confirm = prompts_confirmation(event, &record, &self.target)
                .map(|proof| (proof, record.clone()));
            match self.commit_transition(event, record, left).await? {
                Some((outcome, mut follow_ups)) => {
                    follow_ups.confirm = confirm;
                    return Ok((outcome, follow_ups));
                }
                None => crate::retry::backoff(attempt).await,
            }
        }
        Err(RecordError::ConflictsExhausted(account))
    }

    /// Commits the transition of `record` with its marker, outbox and counters, and
    /// publishes the outbox; `None` when the record changed meanwhile (reload, retry).
    /// `left` is what an earlier delivery of the event left in the outbox.
    async fn commit_transition(
        &self,
        event: &DomainEvent,
        record: OnboardingRecord,
        left: Option<OutboxItem>,
    ) -> Result<Option<(Outcome, FollowUps)>, RecordError> {
        let account = record.account_id.clone();
        let transition = apply(&record, event, &self.target, Utc::now());
        if !transition.changed {
            if record.has_applied(&event.id) {
                let follow_ups = match left {
                    Some(item) => self.take_over_left(item, record).await?,
                    None => FollowUps::default(),
                };
                return Ok(Some((Outcome::Duplicate { account }, follow_ups)));
            }
            return Ok(Some((Outcome::Unchanged { account }, FollowUps::default())));
        }
        let guard = follow_ups::guard(&transition.follow_ups);
        let mut commit = Commit {
            outbox: notifications::render(&transition.record, &transition.notifications, &event.id),
            expected_version: record.version,
            event_id: event.id.clone(),
            counts: CountChange::between(&record, &transition.record),
            follow_ups: follow_ups::due(&transition.follow_ups, guard, &transition.record),
            record: transition.record,
            claimant: invocation::claimant(),
            guard,
            settling: self.settling,
        };
        let mut result = self.store.commit(&commit).await;
        if let Err(StoreError::FollowUpDue { .. }) = result {
            info!("the enrollment's counters cross a threshold: its follow-up is due");
            commit.guard = None;
            commit.follow_ups = follow_ups::due(&transition.follow_ups, None, &commit.record);
            result = self.store.commit(&commit).await;
        }
        match result {
            Ok(()) => {
                info!(from = %record.phase, to = %commit.record.phase, version = commit.record.version, "applied");
                self.digests.note(&commit.record, &transition.notifications);
                let settle = self.written(&commit);
                if let Some(settle) = &settle {
                    self.publish_claimed(&settle.item, &settle.claimant).await?;
                }
                let phase = commit.record.phase;
                let follow_ups = FollowUps {
                    list: follow_ups::unguarded(transition.follow_ups, commit.guard),
                    record: Some(commit.record),
                    confirm: None,
                    settle,
                };
                Ok(Some((Outcome::Applied { account, phase }, follow_ups)))
            }
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(StoreError::Duplicate { .. }) => {
                self.flush(&OutboxScope::Account(account.clone()), &event.id)
                    .await?;
                Ok(Some((Outcome::Duplicate { account }, FollowUps::default())))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The outbox item `commit` wrote, as this invocation holds it, and what becomes of it
    /// once published and followed up: deleted when the recorder clears what it publishes
    /// or when follow-ups were due (then they are done), else left to expire.
    fn written(&self, commit: &Commit) -> Option<Settle> {
        commit.outbox_item(Utc::now()).map(|item| Settle {
            item,
            claimant: commit.claimant.clone(),
            clear: commit.settling == Settling::Cleared || commit.follow_ups,
        })
    }

    /// A redelivered event found what an earlier delivery left in the outbox: unless
    /// another invocation holds it, take it over, publish what it still holds and redo the
    /// follow-ups it says are due (from `record`'s state).
    async fn take_over_left(
        &self,
        item: OutboxItem,
        record: OnboardingRecord,
    ) -> Result<FollowUps, RecordError> {
        let Some(settle) = self.take_over(item).await? else {
            return Ok(FollowUps::default());
        };
        let mut follow_ups = if settle.item.follow_ups {
            FollowUps::redo(record)
        } else {
            FollowUps::default()
        };
        follow_ups.settle = Some(settle);
        Ok(follow_ups)
    }

    /// An acceptance is a prompt, not a proof: ask the target organization, with the hub's
    /// own credentials, for the proof the record's journey asks: whether the account is a
    /// member (one call), or whether it lists the record's billing transfer as accepted
    /// (two list calls). Only a yes
    /// moves the record; a no, or a question that cannot be answered, leaves it where it
    /// is and never fails the event.
    async fn confirm(
        &self,
        proof: ArrivalProof,
        record: &OnboardingRecord,
        latest: OnboardingRecord,
        cause: &str,
    ) -> Result<Option<Outcome>, RecordError> {
        let account = &record.account_id;
        let Some(members) = &self.members else {
            warn!("no membership check is configured; the acceptance is not confirmed");
            return Ok(None);
        };
        let confirmed = match proof {
            ArrivalProof::BillingTransfer => {
                members.transfer_proving(record).await.map(|transfer| {
                    transfer.map(|t| EventKind::TransferConfirmed {
                        transfer: t.id,
                        starts_at: t.starts_at,
                    })
                })
            }
            ArrivalProof::Membership => members
                .is_member(account)
                .await
                .map(|member| member.then_some(EventKind::MembershipConfirmed)),
        };
        match confirmed {
            Ok(Some(kind)) => {
                let suffix = proof.event_suffix();
                let event =
                    DomainEvent::observed(format!("{cause}#{suffix}"), account.clone(), kind);
                Ok(Some(Box::pin(self.record_on(&event, Some(latest))).await?))
            }
            Ok(None) => {
                info!("the target organization does not list the account (or its transfer) yet; the record stays");
                Ok(None)
            }
            Err(error) => {
                warn!(%error, "could not confirm the membership; the record stays");
                Ok(None)
            }
        }
    }

    /// Publishes the notifications of an outbox item this invocation holds; on failure
    /// gives the claim up, so the next delivery publishes them at once.
    async fn publish_claimed(&self, item: &OutboxItem, claimant: &str) -> Result<(), RecordError> {
        if item.notifications.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.notifier.publish(&item.notifications).await {
            if let Err(release) = self.store.release_outbox(item, claimant, false).await {
                warn!(event_id = %item.event_id, %release, "could not release the outbox claim; it expires by itself");
            }
            return Err(error.into());
        }
        Ok(())
    }

    /// Settles a published outbox item: deletes it, or leaves it to expire.
    async fn settle(&self, settle: Settle) -> Result<(), RecordError> {
        if settle.clear {
            self.store.clear_outbox(&settle.item).await?;
        }
        Ok(())
    }

    /// What went wrong after the item's notifications were published: release it without
    /// them, so that what is retried is its follow-ups only.
    async fn release_published(&self, settle: &Settle) {
        let Settle { item, claimant, .. } = settle;
        if let Err(release) = self.store.release_outbox(item, claimant, true).await {
            warn!(event_id = %item.event_id, %release, "could not release the outbox item; its holder's retry takes it back");
        }
    }

    /// Publishes what an earlier delivery of this event committed but could not publish
    /// (one key read), unless another invocation holds its claim (it is publishing it
    /// right now).
    pub(super) async fn flush(
        &self,
        scope: &OutboxScope,
        event_id: &str,
    ) -> Result<(), RecordError> {
        match self.store.outbox_item(scope, event_id).await? {
            Some(item) => self.publish_pending(&item).await.map(drop),
            None => Ok(()),
        }
    }

    /// Claims an outbox item another invocation left (it failed, died, or was this one's
    /// earlier attempt) and publishes what it holds: `None`, and no write, when another
    /// invocation holds it (it is publishing it, or published it and left it to expire).
    async fn take_over(&self, item: OutboxItem) -> Result<Option<Settle>, RecordError> {
        let now = Utc::now();
        let claimant = invocation::claimant();
        let claimed = item.claimable_by(&claimant, now)
            && self
                .store
                .claim_outbox(&item, now, now + OUTBOX_LEASE, &claimant)
                .await?;
        if !claimed {
            info!(event_id = %item.event_id, "another invocation holds the pending notifications");
            return Ok(None);
        }
        info!(event_id = %item.event_id, count = item.notifications.len(), "publishing pending notifications");
        self.publish_claimed(&item, &claimant).await?;
        Ok(Some(Settle {
            item,
            claimant,
            clear: true,
        }))
    }

    /// Publishes a pending outbox item, redoes the follow-ups it says are due (reading its
    /// account's record) and clears it, unless another invocation holds its claim:
    /// `Ok(false)` then.
    pub async fn publish_pending(&self, item: &OutboxItem) -> Result<bool, RecordError> {
        let Some(settle) = self.take_over(item.clone()).await? else {
            return Ok(false);
        };
        if let (true, OutboxScope::Account(account)) = (item.follow_ups, &item.scope) {
            if let Some(record) = self.store.load(account).await? {
                let redo = Box::pin(self.redo_follow_ups(record, &item.event_id));
                if let Err(error) = redo.await {
                    self.release_published(&settle).await;
                    return Err(error);
                }
            }
        }
        self.settle(settle).await?;
        Ok(true)
    }
}
