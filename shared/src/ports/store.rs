//! The record store: onboarding records, event markers and the notification outbox.
//!
//! One port per capability, so a handler's signature says what it may touch:
//!
//! | trait | capability |
//! |---|---|
//! | [`RecordReader`] | reads onboarding records: one by account, by enrollment, by phase, awaiting placement, all, page by page, a sweep's source page by page |
//! | [`RecordCreator`] | enrolls: creates records unless they exist, counting them on their enrollment |
//! | [`TransitionCommitter`] | commits a transition: the record (version-conditioned), its event marker, its outbox and counters, atomically |
//! | [`OutboxStore`] | the notification outbox: once-only announcements, pending items, claims, clearing |
//! | [`SweepCursors`] | where each sweep resumes |
//! | [`CountReader`] | an enrollment's counters |
//!
//! [`RecordStore`] is all of them (implemented for every type that implements each), for
//! the code that needs the whole store. How items are keyed is the adapter's business:
//! the port speaks of accounts, enrollments and [`OutboxScope`]s, never of keys.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::notifier::OutgoingNotification;
use crate::domain::{
    AccountId, CountChange, EnrollmentCounts, EnrollmentName, OnboardingRecord, Phase,
};

/// Failures of the store, classified at the adapter boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The record changed since it was read (optimistic lock): reload, re-apply, retry.
    #[error("the record of {account} changed concurrently")]
    Conflict { account: String },
    /// The event was already committed (its marker exists): nothing to do.
    #[error("event {event_id} was already applied")]
    Duplicate { event_id: String },
    /// Throttling, timeouts, service errors: retry later (Lambda retries, then the DLQ).
    #[error("store temporarily unavailable: {0}")]
    Transient(String),
    /// Misconfiguration or invalid data: retrying will not help.
    #[error("store error: {0}")]
    Permanent(String),
    /// The commit's [`CountGuard`] did not hold: the change crosses a threshold of the
    /// enrollment's counters, so its follow-up has work to do. Nothing was written; commit
    /// again without the guard, then do the follow-up.
    #[error("the counters of the enrollment of {account} reach a threshold")]
    FollowUpDue { account: String },
}

/// A condition on the enrollment's counters, checked in the commit's transaction, under
/// which the transition's follow-up has nothing to do, so the commit spares its reads:
/// DynamoDB's transactions return no values, but a failed condition says the threshold is
/// crossed ([`StoreError::FollowUpDue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountGuard {
    /// A member leaves and others remain in the old organization: the counter was above
    /// one before this change (the management account's re-evaluation changes nothing).
    MembersRemain,
    /// No member is counted in the old organization (its deletion lists no member).
    NoMemberLeft,
}

impl CountGuard {
    /// Whether the guard holds on the counter of members still in the old organization
    /// before the change (`None`: no such counter, read as zero). The DynamoDB store
    /// checks the same as a condition on the counters item.
    pub fn holds(self, members_in_old_organization: Option<i64>) -> bool {
        match self {
            Self::MembersRemain => members_in_old_organization.is_some_and(|n| n > 1),
            Self::NoMemberLeft => members_in_old_organization.is_none_or(|n| n <= 0),
        }
    }
}

/// What becomes of a published outbox item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Settling {
    /// Deleted once published: a function recording many events per invocation, whose
    /// retry repeats the whole run.
    #[default]
    Cleared,
    /// Left claimed by the committing invocation for [`RETRY_LEASE`] and collected by the
    /// table's TTL: one event per invocation (the tracker), whose retries carry the same
    /// invocation id, so no write follows the publish.
    Expires,
}

impl Settling {
    /// How long the committing invocation holds the item it writes.
    pub fn lease(self) -> chrono::Duration {
        match self {
            Self::Cleared => OUTBOX_LEASE,
            Self::Expires => RETRY_LEASE,
        }
    }
}

/// One atomic write: the record (version-conditioned), the marker of the event that
/// produced it (so a redelivery is a no-op even when two copies run at once), the
/// notifications to publish once it is committed (the outbox, under the record's
/// account), and what the move changes on the enrollment's counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub record: OnboardingRecord,
    /// The version the record had when read.
    pub expected_version: u64,
    pub event_id: String,
    pub outbox: Vec<OutgoingNotification>,
    pub counts: Option<CountChange>,
    /// Who holds the outbox item's claim from the commit (the committing invocation).
    pub claimant: String,
    /// Commit only if the transition's follow-up has nothing to do (else
    /// [`StoreError::FollowUpDue`]).
    pub guard: Option<CountGuard>,
    /// The transition leaves follow-ups to do after the commit: the outbox item is written
    /// (even without notifications) and says so, so that a redelivery redoes them.
    pub follow_ups: bool,
    pub settling: Settling,
}

impl Commit {
    /// Whether the commit writes an outbox item.
    pub fn writes_outbox(&self) -> bool {
        !self.outbox.is_empty() || self.follow_ups
    }

    /// The outbox item the commit writes, if any: under the record's account, held by the
    /// claimant from `now` for its settling's lease.
    pub fn outbox_item(&self, now: DateTime<Utc>) -> Option<OutboxItem> {
        self.writes_outbox().then(|| OutboxItem {
            scope: OutboxScope::Account(self.record.account_id.clone()),
            event_id: self.event_id.clone(),
            notifications: self.outbox.clone(),
            claim: Some(OutboxClaim {
                by: self.claimant.clone(),
                until: now + self.settling.lease(),
            }),
            follow_ups: self.follow_ups,
        })
    }
}

/// Whom an outbox item belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutboxScope {
    /// One account's record: what a [`Commit`] of it publishes.
    Account(AccountId),
    /// A whole enrollment: its announcements (e.g. its completion, announced once).
    Enrollment(EnrollmentName),
}

impl fmt::Display for OutboxScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboxScope::Account(account) => write!(f, "account {account}"),
            OutboxScope::Enrollment(enrollment) => write!(f, "enrollment {enrollment}"),
        }
    }
}

/// Notifications committed with an event, not yet known to be published.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub scope: OutboxScope,
    pub event_id: String,
    pub notifications: Vec<OutgoingNotification>,
    /// Who may publish it now, if anyone holds the right.
    pub claim: Option<OutboxClaim>,
    /// The commit left follow-ups that are not known to be done. An earlier release's item,
    /// which did not say, reads as `true`: they are redone, being idempotent.
    pub follow_ups: bool,
}

impl OutboxItem {
    /// Notifications to publish, and nothing else, under `scope` (an announcement).
    pub fn announcement(
        scope: OutboxScope,
        event_id: &str,
        notifications: Vec<OutgoingNotification>,
    ) -> Self {
        Self {
            scope,
            event_id: event_id.to_owned(),
            notifications,
            claim: None,
            follow_ups: false,
        }
    }

    /// Whether `claimant` may take the item at `now`: nobody holds it, the holder's lease
    /// ran out, or the holder is `claimant` itself (Lambda's retry of the invocation that
    /// committed it, which failed or died before it was done).
    pub fn claimable_by(&self, claimant: &str, now: DateTime<Utc>) -> bool {
        self.claim
            .as_ref()
            .is_none_or(|claim| claim.until < now || claim.by == claimant)
    }
}

/// The right to publish an outbox item: who holds it, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxClaim {
    pub by: String,
    pub until: DateTime<Utc>,
}

/// How long an invocation holds the right to publish an outbox item: the one that
/// committed it holds it from the commit, another one takes it with
/// [`OutboxStore::claim_outbox`]. Long enough for one PutEvents with its retries, shorter
/// than Lambda's first retry of a failed invocation (one minute, or the queue's visibility
/// timeout), so a crashed publisher's notifications go out on that retry.
pub const OUTBOX_LEASE: chrono::Duration = chrono::Duration::seconds(30);

/// How long the committing invocation holds an outbox item it leaves to expire
/// ([`Settling::Expires`]): beyond the six hours Lambda keeps retrying an asynchronous
/// event. Its own retries take it back by their invocation id (Lambda retries an
/// invocation under the same request id); any other copy of the event leaves it alone, so
/// an item published without a write after it is never published again.
pub const RETRY_LEASE: chrono::Duration = chrono::Duration::hours(7);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// A record for this account already existed and was left as it is.
    AlreadyEnrolled,
}

/// One page of [`RecordReader::list_page`] or [`RecordReader::sweep_page`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordPage {
    pub records: Vec<OnboardingRecord>,
    /// Stored records of the page that cannot be read: left out of `records`, so one bad
    /// item never fails a listing.
    pub unreadable: Vec<Unreadable>,
    /// Where the next page starts (opaque to callers), `None` after the last page.
    pub next: Option<String>,
}

/// A stored record that cannot be read (an item that does not decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The item's key, as the store names it (for the log and the operator).
    pub key: String,
    /// Why it cannot be read.
    pub error: String,
}

/// What a sweep reads: the records in one phase, or the joined ones not yet placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepSource {
    Phase(Phase),
    AwaitingPlacement,
}

/// Which accounts a page of a sweep's source covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRange {
    All,
    /// The accounts after this one.
    After(AccountId),
    /// The accounts up to this one, itself included.
    Through(AccountId),
}

impl AccountRange {
    pub fn contains(&self, account: &AccountId) -> bool {
        match self {
            Self::All => true,
            Self::After(after) => account > after,
            Self::Through(through) => account <= through,
        }
    }
}

/// Reads onboarding records.
#[async_trait]
pub trait RecordReader: Send + Sync {
    async fn load(&self, account: &AccountId) -> Result<Option<OnboardingRecord>, StoreError>;
    async fn list_by_enrollment(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<Vec<OnboardingRecord>, StoreError>;
    async fn list_by_phase(&self, phase: Phase) -> Result<Vec<OnboardingRecord>, StoreError>;
    async fn list_all(&self) -> Result<Vec<OnboardingRecord>, StoreError>;
    /// The joined records not yet placed: what the placer's sweep works through (one query
    /// sized by those records, not by every joined account).
    async fn list_awaiting_placement(&self) -> Result<Vec<OnboardingRecord>, StoreError>;
    /// One page of records, of one enrollment or of all, from `cursor` (`None`: the
    /// start), so a listing of thousands is printed as it arrives instead of held in
    /// memory. A page may be empty while `next` is set; the listing ends when `next` is
    /// `None`. Not ordered.
    async fn list_page(
        &self,
        enrollment: Option<&EnrollmentName>,
        cursor: Option<&str>,
    ) -> Result<RecordPage, StoreError>;
    /// One page of `source`'s records within `range`, in account order, from `cursor`
    /// (`None`: the first page; a page's `next`, `None` after the last): what a sweep
    /// streams, a page at a time whatever the table's size.
    async fn sweep_page(
        &self,
        source: SweepSource,
        range: &AccountRange,
        cursor: Option<&str>,
    ) -> Result<RecordPage, StoreError>;
}

/// Enrolls accounts: creates their records.
#[async_trait]
pub trait RecordCreator: Send + Sync {
    /// Creates the record unless one exists for the account (re-enrolling is idempotent),
    /// counting it on its enrollment.
    async fn create(&self, record: &OnboardingRecord) -> Result<CreateOutcome, StoreError> {
        let mut outcomes = self.create_many(std::slice::from_ref(record)).await?;
        Ok(outcomes.pop().unwrap_or(CreateOutcome::AlreadyEnrolled))
    }
    /// Creates many records (in batches where the store can), each unless one exists for
    /// its account; the outcomes in the order of `records`.
    async fn create_many(
        &self,
        records: &[OnboardingRecord],
    ) -> Result<Vec<CreateOutcome>, StoreError>;
}

/// Commits what a transition decided.
#[async_trait]
pub trait TransitionCommitter: Send + Sync {
    /// Commits atomically, or fails with `Conflict` (stale version) or `Duplicate` (event
    /// already committed). The outbox item is written claimed by the caller for
    /// [`OUTBOX_LEASE`]: it publishes it, and concurrent copies of the event must not.
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError>;
}

/// The notification outbox: what was committed and is not yet known to be published.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Commits an outbox under `scope` once: `Ok(false)` when the marker `event_id`
    /// already exists (e.g. an enrollment's completion, announced once).
    async fn commit_once(
        &self,
        scope: &OutboxScope,
        event_id: &str,
        outbox: &[OutgoingNotification],
    ) -> Result<bool, StoreError>;
    /// An event's account record and the outbox item the event left under the account, in
    /// one read: everything an event, new or redelivered, needs to start.
    async fn record_and_outbox(
        &self,
        account: &AccountId,
        event_id: &str,
    ) -> Result<(Option<OnboardingRecord>, Option<OutboxItem>), StoreError>;
    /// Outbox items not yet cleared, of one scope.
    async fn pending_outbox(&self, scope: &OutboxScope) -> Result<Vec<OutboxItem>, StoreError>;
    /// The outbox item an event committed under `scope`, if it is still pending (a key
    /// read: what a redelivered event checks).
    async fn outbox_item(
        &self,
        scope: &OutboxScope,
        event_id: &str,
    ) -> Result<Option<OutboxItem>, StoreError>;
    async fn clear_outbox(&self, item: &OutboxItem) -> Result<(), StoreError>;
    /// Every outbox item, of any scope, committed before `before` and not yet cleared: what
    /// the reconciler publishes when the invocation that committed it died first.
    async fn stale_outbox(&self, before: DateTime<Utc>) -> Result<Vec<OutboxItem>, StoreError>;
    /// Takes the right to publish a pending outbox item until `until`: `Ok(false)` when
    /// another invocation holds an unexpired claim (it is publishing it), or the item is
    /// gone (published). Without this, every concurrent copy of an event would publish
    /// the outbox of the copy that committed it.
    async fn claim_outbox(
        &self,
        item: &OutboxItem,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        claimant: &str,
    ) -> Result<bool, StoreError>;
    /// Gives `claimant`'s claim up after a failure, so the next delivery (or the
    /// reconciler's sweep of pending items) takes it at once; a claim someone else took
    /// meanwhile is left alone. `published`: the notifications went out (a follow-up
    /// failed), so they are dropped from the item and only its follow-ups remain.
    async fn release_outbox(
        &self,
        item: &OutboxItem,
        claimant: &str,
        published: bool,
    ) -> Result<(), StoreError>;
}

/// Where each sweep resumes.
#[async_trait]
pub trait SweepCursors: Send + Sync {
    /// Where the sweep `name` stops and the next one resumes: after this account.
    async fn sweep_cursor(&self, name: &str) -> Result<Option<AccountId>, StoreError>;
    /// Keeps where the sweep `name` resumes (`None`: from the beginning).
    async fn save_sweep_cursor(
        &self,
        name: &str,
        after: Option<&AccountId>,
    ) -> Result<(), StoreError>;
}

/// Reads an enrollment's counters.
#[async_trait]
pub trait CountReader: Send + Sync {
    /// The enrollment's counters (all zero when it has none), read consistently.
    async fn load_counts(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<EnrollmentCounts, StoreError>;
}

/// The whole store: every capability above.
pub trait RecordStore:
    RecordReader + RecordCreator + TransitionCommitter + OutboxStore + SweepCursors + CountReader
{
}

impl<T> RecordStore for T where
    T: RecordReader
        + RecordCreator
        + TransitionCommitter
        + OutboxStore
        + SweepCursors
        + CountReader
        + ?Sized
{
}

#[async_trait]
impl<T: RecordReader + ?Sized> RecordReader for std::sync::Arc<T> {
    async fn load(&self, account: &AccountId) -> Result<Option<OnboardingRecord>, StoreError> {
        (**self).load(account).await
    }
    async fn list_by_enrollment(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<Vec<OnboardingRecord>, StoreError> {
        (**self).list_by_enrollment(enrollment).await
    }
    async fn list_by_phase(&self, phase: Phase) -> Result<Vec<OnboardingRecord>, StoreError> {
        (**self).list_by_phase(phase).await
    }
    async fn list_all(&self) -> Result<Vec<OnboardingRecord>, StoreError> {
        (**self).list_all().await
    }
    async fn list_awaiting_placement(&self) -> Result<Vec<OnboardingRecord>, StoreError> {
        (**self).list_awaiting_placement().await
    }
    async fn list_page(
        &self,
        enrollment: Option<&EnrollmentName>,
        cursor: Option<&str>,
    ) -> Result<RecordPage, StoreError> {
        (**self).list_page(enrollment, cursor).await
    }
    async fn sweep_page(
        &self,
        source: SweepSource,
        range: &AccountRange,
        cursor: Option<&str>,
    ) -> Result<RecordPage, StoreError> {
        (**self).sweep_page(source, range, cursor).await
    }
}

#[async_trait]
impl<T: RecordCreator + ?Sized> RecordCreator for std::sync::Arc<T> {
    async fn create(&self, record: &OnboardingRecord) -> Result<CreateOutcome, StoreError> {
        (**self).create(record).await
    }
    async fn create_many(
        &self,
        records: &[OnboardingRecord],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        (**self).create_many(records).await
    }
}

#[async_trait]
impl<T: TransitionCommitter + ?Sized> TransitionCommitter for std::sync::Arc<T> {
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        (**self).commit(commit).await
    }
}

#[async_trait]
impl<T: OutboxStore + ?Sized> OutboxStore for std::sync::Arc<T> {
    async fn commit_once(
        &self,
        scope: &OutboxScope,
        event_id: &str,
        outbox: &[OutgoingNotification],
    ) -> Result<bool, StoreError> {
        (**self).commit_once(scope, event_id, outbox).await
    }
    async fn record_and_outbox(
        &self,
        account: &AccountId,
        event_id: &str,
    ) -> Result<(Option<OnboardingRecord>, Option<OutboxItem>), StoreError> {
        (**self).record_and_outbox(account, event_id).await
    }
    async fn pending_outbox(&self, scope: &OutboxScope) -> Result<Vec<OutboxItem>, StoreError> {
        (**self).pending_outbox(scope).await
    }
    async fn outbox_item(
        &self,
        scope: &OutboxScope,
        event_id: &str,
    ) -> Result<Option<OutboxItem>, StoreError> {
        (**self).outbox_item(scope, event_id).await
    }
    async fn clear_outbox(&self, item: &OutboxItem) -> Result<(), StoreError> {
        (**self).clear_outbox(item).await
    }
    async fn stale_outbox(&self, before: DateTime<Utc>) -> Result<Vec<OutboxItem>, StoreError> {
        (**self).stale_outbox(before).await
    }
    async fn claim_outbox(
        &self,
        item: &OutboxItem,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        claimant: &str,
    ) -> Result<bool, StoreError> {
        (**self).claim_outbox(item, now, until, claimant).await
    }
    async fn release_outbox(
        &self,
        item: &OutboxItem,
        claimant: &str,
        published: bool,
    ) -> Result<(), StoreError> {
        (**self).release_outbox(item, claimant, published).await
    }
}

#[async_trait]
impl<T: SweepCursors + ?Sized> SweepCursors for std::sync::Arc<T> {
    async fn sweep_cursor(&self, name: &str) -> Result<Option<AccountId>, StoreError> {
        (**self).sweep_cursor(name).await
    }
    async fn save_sweep_cursor(
        &self,
        name: &str,
        after: Option<&AccountId>,
    ) -> Result<(), StoreError> {
        (**self).save_sweep_cursor(name, after).await
    }
}

#[async_trait]
impl<T: CountReader + ?Sized> CountReader for std::sync::Arc<T> {
    async fn load_counts(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<EnrollmentCounts, StoreError> {
        (**self).load_counts(enrollment).await
    }
}
