//! In-memory adapters, for handler unit tests: same semantics as the DynamoDB store
//! (version-conditioned commits, event markers, outbox), without AWS. A record can be
//! made unreadable ([`InMemoryRecordStore::put_unreadable`]), as an item that does not
//! decode is in DynamoDB: listed apart by the pages, an error to `load`.
//!
//! It keeps what the DynamoDB store keeps rather than deriving it: the placement index
//! holds the records whose writer listed them (as the adapter writes `to_place`), and
//! counters are what writes added. [`InMemoryRecordStore::insert_as_written_before`] puts a
//! record as an earlier release left it (not listed, not counted), which only the upgrade
//! ([`StoredDataUpgrade`]) brings up to date.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    awaits_placement, AccountId, CountChange, Counter, EnrollmentCounts, EnrollmentName,
    OnboardingRecord, Phase,
};
use crate::ports::{
    AccountRange, Commit, CountReader, CreateOutcome, Notifier, NotifyError, OutboxClaim,
    OutboxItem, OutboxScope, OutboxStore, OutgoingNotification, RecordCreator, RecordPage,
    RecordReader, Settling, StoreError, StoredDataUpgrade, SweepCursors, SweepSource,
    TransitionCommitter, Unreadable, UpgradeReport,
};

/// An outbox item's identity: its scope and the event that committed it.
type OutboxKey = (OutboxScope, String);

#[derive(Default)]
struct State {
    records: BTreeMap<AccountId, OnboardingRecord>,
    markers: HashSet<String>,
    outbox: BTreeMap<OutboxKey, OutboxItem>,
    /// Since when each outbox item is pending for the reconciler's sweep (as the
    /// DynamoDB store's pending index lists it): from its commit, or from its release
    /// when it was left to expire.
    committed: HashMap<OutboxKey, DateTime<Utc>>,
    counts: HashMap<EnrollmentName, EnrollmentCounts>,
    cursors: HashMap<String, AccountId>,
    /// Records that cannot be read: their phase (where a sweep meets them) and why.
    unreadable: BTreeMap<AccountId, (Phase, String)>,
    /// The placement index: records written while joined and not placed.
    to_place: BTreeSet<AccountId>,
    /// Records as an earlier release wrote them, not upgraded yet.
    older: BTreeSet<AccountId>,
}

impl State {
    /// Stores `record` as this release writes it (listed for placement when it awaits it).
    fn write(&mut self, record: &OnboardingRecord) {
        let account = record.account_id.clone();
        self.older.remove(&account);
        if awaits_placement(record) {
            self.to_place.insert(account.clone());
        } else {
            self.to_place.remove(&account);
        }
        self.records.insert(account, record.clone());
    }

    /// Adds `change` to its enrollment's counters. Enrolling creates them complete; a
    /// move of a record never counted creates them partial, as DynamoDB's `ADD` does.
    fn count(&mut self, change: &CountChange, enrolling: bool) {
        self.counts
            .entry(change.enrollment.clone())
            .or_insert_with(|| EnrollmentCounts {
                partial: !enrolling,
                ..EnrollmentCounts::default()
            })
            .add(change);
    }
}

#[derive(Default)]
pub struct InMemoryRecordStore {
    state: Mutex<State>,
    listing_failures: Mutex<usize>,
}

impl InMemoryRecordStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `times` enrollment reads (listings and counters) fail transiently
    /// (a follow-up failing after its commit).
    pub fn fail_next_listings(&self, times: usize) {
        *self.listing_failures.lock().unwrap() = times;
    }

    fn injected_failure(&self) -> Result<(), StoreError> {
        let mut failures = self.listing_failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(StoreError::Transient("injected listing failure".into()));
        }
        Ok(())
    }

    /// Puts `record` as a release before the placement index and the counters wrote it:
    /// not listed for placement, not counted on its enrollment (whose counters, if any,
    /// then hold only the changes since, as a release that counted left them).
    pub fn insert_as_written_before(&self, record: OnboardingRecord) {
        let mut state = self.state();
        state.older.insert(record.account_id.clone());
        state.to_place.remove(&record.account_id);
        if let Some(counts) = state.counts.get_mut(&record.enrollment) {
            counts.partial = true;
        }
        state.records.insert(record.account_id.clone(), record);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("in-memory store poisoned")
    }

    /// Stores a record of `account` in `phase` that cannot be read (`error` says why), in
    /// place of any record it had.
    pub fn put_unreadable(&self, account: AccountId, phase: Phase, error: &str) {
        let mut state = self.state();
        state.records.remove(&account);
        state.unreadable.insert(account, (phase, error.to_owned()));
    }
}

/// How the store names an unreadable record: as the DynamoDB adapter does, by its key.
fn unreadable(account: &AccountId, error: &str) -> Unreadable {
    Unreadable {
        key: format!("ACCOUNT#{account}"),
        error: error.to_owned(),
    }
}

/// A page of `records` (in account order) after `cursor`, and the unreadable records
/// among them; the cursor is the last account id of the page.
fn page_after<'a>(
    records: impl Iterator<Item = (&'a AccountId, Result<&'a OnboardingRecord, &'a str>)>,
    cursor: Option<&str>,
) -> RecordPage {
    let mut page = RecordPage::default();
    let mut taken = 0;
    for (account, record) in records.filter(|(a, _)| cursor.is_none_or(|c| a.as_str() > c)) {
        if taken == MEMORY_PAGE {
            break;
        }
        taken += 1;
        match record {
            Ok(record) => page.records.push(record.clone()),
            Err(error) => page.unreadable.push(unreadable(account, error)),
        }
        page.next = (taken == MEMORY_PAGE).then(|| account.to_string());
    }
    page
}

fn key_of(item: &OutboxItem) -> OutboxKey {
    (item.scope.clone(), item.event_id.clone())
}

#[async_trait]
impl RecordReader for InMemoryRecordStore {
    async fn load(&self, account: &AccountId) -> Result<Option<OnboardingRecord>, StoreError> {
        let state = self.state();
        if let Some((_, error)) = state.unreadable.get(account) {
            return Err(StoreError::Permanent(format!(
                "malformed record item ACCOUNT#{account}: {error}"
            )));
        }
        Ok(state.records.get(account).cloned())
    }

    async fn list_by_enrollment(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<Vec<OnboardingRecord>, StoreError> {
        self.injected_failure()?;
        Ok(self
            .state()
            .records
            .values()
            .filter(|r| &r.enrollment == enrollment)
            .cloned()
            .collect())
    }

    async fn list_by_phase(&self, phase: Phase) -> Result<Vec<OnboardingRecord>, StoreError> {
        Ok(self
            .state()
            .records
            .values()
            .filter(|r| r.phase == phase)
            .cloned()
            .collect())
    }

    async fn list_all(&self) -> Result<Vec<OnboardingRecord>, StoreError> {
        Ok(self.state().records.values().cloned().collect())
    }

    async fn list_awaiting_placement(&self) -> Result<Vec<OnboardingRecord>, StoreError> {
        let state = self.state();
        Ok(state
            .to_place
            .iter()
            .filter_map(|account| state.records.get(account))
            .cloned()
            .collect())
    }

    /// Pages of [`MEMORY_PAGE`] records in account order; the cursor is the last
    /// account id of the page.
    async fn list_page(
        &self,
        enrollment: Option<&EnrollmentName>,
        cursor: Option<&str>,
    ) -> Result<RecordPage, StoreError> {
        self.injected_failure()?;
        let state = self.state();
        let mut all: Vec<_> = state
            .records
            .iter()
            .filter(|(_, r)| enrollment.is_none_or(|e| &r.enrollment == e))
            .map(|(a, r)| (a, Ok(r)))
            .chain(
                state
                    .unreadable
                    .iter()
                    .map(|(a, (_, error))| (a, Err(error.as_str()))),
            )
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        Ok(page_after(all.into_iter(), cursor))
    }

    /// As [`Self::list_page`], of the source's records within `range`.
    async fn sweep_page(
        &self,
        source: SweepSource,
        range: &AccountRange,
        cursor: Option<&str>,
    ) -> Result<RecordPage, StoreError> {
        let state = self.state();
        // The placement index as written (`to_place`), as DynamoDB's `by_placement` holds it.
        let in_source = |account: &AccountId, phase: Phase| match source {
            SweepSource::Phase(wanted) => phase == wanted,
            SweepSource::AwaitingPlacement => state.to_place.contains(account),
        };
        let mut all: Vec<_> = state
            .records
            .iter()
            .filter(|(a, r)| in_source(a, r.phase))
            .map(|(a, r)| (a, Ok(r)))
            .chain(
                state
                    .unreadable
                    .iter()
                    .filter(|(a, (phase, _))| in_source(a, *phase))
                    .map(|(a, (_, error))| (a, Err(error.as_str()))),
            )
            .filter(|(a, _)| range.contains(a))
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        Ok(page_after(all.into_iter(), cursor))
    }
}

#[async_trait]
impl RecordCreator for InMemoryRecordStore {
    async fn create_many(
        &self,
        records: &[OnboardingRecord],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        let mut state = self.state();
        let mut outcomes = Vec::with_capacity(records.len());
        for record in records {
            if state.records.contains_key(&record.account_id) {
                outcomes.push(CreateOutcome::AlreadyEnrolled);
                continue;
            }
            state.write(record);
            state.count(&CountChange::enrolled(record), true);
            outcomes.push(CreateOutcome::Created);
        }
        Ok(outcomes)
    }
}

#[async_trait]
impl CountReader for InMemoryRecordStore {
    async fn load_counts(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<EnrollmentCounts, StoreError> {
        self.injected_failure()?;
        Ok(self
            .state()
            .counts
            .get(enrollment)
            .cloned()
            .unwrap_or_default())
    }
}

#[async_trait]
impl TransitionCommitter for InMemoryRecordStore {
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.markers.contains(&commit.event_id) {
            return Err(StoreError::Duplicate {
                event_id: commit.event_id.clone(),
            });
        }
        let account = &commit.record.account_id;
        let stored = state.records.get(account).map(|r| r.version);
        if stored != Some(commit.expected_version) {
            return Err(StoreError::Conflict {
                account: account.to_string(),
            });
        }
        if let Some(guard) = commit.guard {
            let members = state
                .counts
                .get(&commit.record.enrollment)
                .and_then(|c| c.values.get(&Counter::MembersInOldOrganization).copied());
            if !guard.holds(members) {
                return Err(StoreError::FollowUpDue {
                    account: account.to_string(),
                });
            }
        }
        state.markers.insert(commit.event_id.clone());
        state.write(&commit.record);
        if let Some(change) = &commit.counts {
            state.count(change, false);
        }
        let now = Utc::now();
        if let Some(item) = commit.outbox_item(now) {
            let key = key_of(&item);
            if commit.settling == Settling::Cleared {
                state.committed.insert(key.clone(), now);
            }
            state.outbox.insert(key, item);
        }
        Ok(())
    }
}

#[async_trait]
impl OutboxStore for InMemoryRecordStore {
    async fn commit_once(
        &self,
        scope: &OutboxScope,
        event_id: &str,
        outbox: &[OutgoingNotification],
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        if !state.markers.insert(event_id.to_owned()) {
            return Ok(false);
        }
        let item = OutboxItem::announcement(scope.clone(), event_id, outbox.to_vec());
        let key = key_of(&item);
        state.committed.insert(key.clone(), Utc::now());
        state.outbox.insert(key, item);
        Ok(true)
    }

    async fn record_and_outbox(
        &self,
        account: &AccountId,
        event_id: &str,
    ) -> Result<(Option<OnboardingRecord>, Option<OutboxItem>), StoreError> {
        let record = self.load(account).await?;
        let key = (OutboxScope::Account(account.clone()), event_id.to_owned());
        Ok((record, self.state().outbox.get(&key).cloned()))
    }

    async fn pending_outbox(&self, scope: &OutboxScope) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(self
            .state()
            .outbox
            .values()
            .filter(|item| &item.scope == scope)
            .cloned()
            .collect())
    }

    async fn outbox_item(
        &self,
        scope: &OutboxScope,
        event_id: &str,
    ) -> Result<Option<OutboxItem>, StoreError> {
        let key = (scope.clone(), event_id.to_owned());
        Ok(self.state().outbox.get(&key).cloned())
    }

    async fn clear_outbox(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let mut state = self.state();
        let key = key_of(item);
        state.outbox.remove(&key);
        state.committed.remove(&key);
        Ok(())
    }

    async fn stale_outbox(&self, before: DateTime<Utc>) -> Result<Vec<OutboxItem>, StoreError> {
        let state = self.state();
        Ok(state
            .outbox
            .iter()
            .filter(|(key, _)| state.committed.get(*key).is_some_and(|at| *at < before))
            .map(|(_, item)| item.clone())
            .collect())
    }

    async fn claim_outbox(
        &self,
        item: &OutboxItem,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        claimant: &str,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(stored) = state.outbox.get_mut(&key_of(item)) else {
            return Ok(false);
        };
        if !stored.claimable_by(claimant, now) {
            return Ok(false);
        }
        stored.claim = Some(OutboxClaim {
            by: claimant.to_owned(),
            until,
        });
        Ok(true)
    }

    async fn release_outbox(
        &self,
        item: &OutboxItem,
        claimant: &str,
        published: bool,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let key = key_of(item);
        let Some(stored) = state.outbox.get_mut(&key) else {
            return Ok(());
        };
        if stored
            .claim
            .as_ref()
            .is_none_or(|claim| claim.by != claimant)
        {
            return Ok(());
        }
        stored.claim = None;
        if published {
            stored.notifications.clear();
        }
        state.committed.entry(key).or_insert_with(Utc::now);
        Ok(())
    }
}

#[async_trait]
impl SweepCursors for InMemoryRecordStore {
    async fn sweep_cursor(&self, name: &str) -> Result<Option<AccountId>, StoreError> {
        Ok(self.state().cursors.get(name).cloned())
    }

    async fn save_sweep_cursor(
        &self,
        name: &str,
        after: Option<&AccountId>,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        match after {
            Some(account) => state.cursors.insert(name.to_owned(), account.clone()),
            None => state.cursors.remove(name),
        };
        Ok(())
    }
}

#[async_trait]
impl StoredDataUpgrade for InMemoryRecordStore {
    /// Upgrades up to `limit` older records: listed for placement when they await it,
    /// their enrollment's counters rebuilt from its records when missing or partial.
    async fn upgrade_step(
        &self,
        limit: usize,
        _restart: bool,
    ) -> Result<UpgradeReport, StoreError> {
        let mut state = self.state();
        let mut report = UpgradeReport::default();
        let step: Vec<AccountId> = state.older.iter().take(limit).cloned().collect();
        let mut enrollments = BTreeSet::new();
        for account in step {
            state.older.remove(&account);
            let record = state.records[&account].clone();
            report.examined += 1;
            report.records += 1;
            if awaits_placement(&record) {
                state.to_place.insert(account);
                report.awaiting_placement += 1;
            }
            enrollments.insert(record.enrollment);
        }
        for enrollment in enrollments {
            if state.counts.get(&enrollment).is_some_and(|c| !c.partial) {
                continue;
            }
            let counts = EnrollmentCounts::of_records(
                state
                    .records
                    .values()
                    .filter(|r| r.enrollment == enrollment),
            );
            state.counts.insert(enrollment.clone(), counts);
            report.rebuilt.push(enrollment);
        }
        report.finished = state.older.is_empty();
        Ok(report)
    }
}

/// Records per page of the in-memory store's listing (small, so tests see several pages).
pub const MEMORY_PAGE: usize = 100;

/// Records what was published; can be told to fail the next `n` publishes.
#[derive(Default)]
pub struct InMemoryNotifier {
    published: Mutex<Vec<OutgoingNotification>>,
    failures_left: Mutex<usize>,
}

impl InMemoryNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail_next(&self, times: usize) {
        *self.failures_left.lock().unwrap() = times;
    }

    pub fn published(&self) -> Vec<OutgoingNotification> {
        self.published.lock().unwrap().clone()
    }

    pub fn detail_types(&self) -> Vec<String> {
        self.published()
            .into_iter()
            .map(|n| n.detail_type)
            .collect()
    }
}

#[async_trait]
impl Notifier for InMemoryNotifier {
    async fn publish(&self, notifications: &[OutgoingNotification]) -> Result<(), NotifyError> {
        let mut failures = self.failures_left.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(NotifyError::Transient("injected failure".into()));
        }
        self.published
            .lock()
            .unwrap()
            .extend_from_slice(notifications);
        Ok(())
    }
}
