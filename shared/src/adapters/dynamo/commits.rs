//! Transactions: enrolling records, committing a transition, and how a cancelled
//! transaction is classified.
//!
//! [`TransitionCommitter::commit`] is exactly one `TransactWriteItems` call, in this item
//! order:
//! 1. Put the record, conditioned on `version = <expected_version>` (optimistic lock);
//! 2. Put the event marker, conditioned on `attribute_not_exists(pk)` (deduplication by
//!    CloudTrail `eventID`, so two concurrent copies of one event cannot both commit);
//! 3. Put the outbox item under the account's scope (only when there is something to
//!    publish or a follow-up to do), so a notification is never lost when publishing fails
//!    after the write.
//!    It is written claimed (`claimed_until` = now + its lease) by the committing
//!    invocation, which publishes it (see [`super::outbox`] for claims);
//! 4. Update the enrollment's counters (`ADD`, only when a phase or the membership of the
//!    old organization moves), so the counters are exact whatever runs concurrently.
//!    With a [`crate::ports::CountGuard`] the update is conditioned on it (or, when no counter moves, a
//!    `ConditionCheck` of the counters item is): the follow-up has nothing to do unless
//!    the condition fails, which cancels the transaction as [`StoreError::FollowUpDue`].
//!
//! The outbox item is written when there is something to publish or a follow-up to do
//! ([`Commit::writes_outbox`]), held for [`crate::ports::OUTBOX_LEASE`] and in the pending
//! index when it is [`crate::ports::Settling::Cleared`], for [`crate::ports::RETRY_LEASE`],
//! with a TTL and out of the index when it [`crate::ports::Settling::Expires`].
//!
//! [`RecordCreator::create_many`] writes up to [`ENROLL_BATCH`] records of one enrollment
//! per `TransactWriteItems` (each Put conditioned on `attribute_not_exists(pk)`) with one
//! counters update for the batch; records that exist already are dropped from the batch
//! (by their cancellation reasons) and the rest is written again. An enrollment's first
//! batch creates its counters item as a complete baseline ([`counts::Counting::Create`]);
//! when the item exists (its cancellation reason says so), the batch is written again
//! adding to it.
//!
//! A cancelled transaction is classified from its cancellation reasons, read by item
//! position, never guessed from the message: marker `ConditionalCheckFailed` =>
//! [`StoreError::Duplicate`] (it wins over every other reason: a redelivered event also
//! finds the version it produced); else any reason that retrying cannot fix (e.g.
//! `ValidationError`) => [`StoreError::Permanent`] naming the reasons; else record
//! `ConditionalCheckFailed` or `TransactionConflict` => [`StoreError::Conflict`]; else
//! counters `ConditionalCheckFailed` (the guard) => [`StoreError::FollowUpDue`]; else
//! a throttling reason (`ThrottlingError`, `ProvisionedThroughputExceeded`, …) =>
//! [`StoreError::Transient`]. A cancellation without one reason per item is `Transient`
//! (retried, then dead-lettered, rather than dropped on a guess).
//!
//! The SDK fills `ClientRequestToken` for every `TransactWriteItems` request, so its own
//! retries of one call (after a timeout, say) are idempotent on the service side.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, Put, TransactWriteItem};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};

use super::codec::{marker_item, record_item, to_value, Item};
use super::counts::Counting;
use super::{classify, counts, DynamoRecordStore};
use crate::domain::blocker::is_transient_code;
use crate::domain::{AccountId, CountChange, EnrollmentName, OnboardingRecord};
use crate::ports::{
    Commit, CreateOutcome, OutboxScope, RecordCreator, StoreError, TransitionCommitter,
};

/// How many records one enrollment write takes: the 100 items of a `TransactWriteItems`,
/// less the counters update.
pub const ENROLL_BATCH: usize = 99;

/// What an item of a transaction is, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxItem {
    Record,
    Marker,
    Outbox,
    Counts,
    /// A `ConditionCheck` of the counters item (a guard where no counter moves).
    Guard,
}

/// Classifies a cancelled transaction from its cancellation reasons (one per item, in
/// request order). Precedence: the event was already applied (duplicate) beats every
/// other reason; then a reason retrying cannot fix (permanent); then an optimistic-lock
/// or transaction conflict (reload and re-apply); then throttling (retry later).
fn cancelled(
    items: &[TxItem],
    reasons: &[CancellationReason],
    account: Option<&str>,
    event_id: &str,
    message: Option<&str>,
) -> StoreError {
    let codes: Vec<(TxItem, &str)> = items
        .iter()
        .zip(reasons)
        .map(|(item, reason)| (*item, reason.code().unwrap_or("None")))
        .collect();
    let described = reasons
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let item = items.get(i).map_or("?".to_owned(), |it| format!("{it:?}"));
            format!(
                "{item}: {} {}",
                r.code().unwrap_or("None"),
                r.message().unwrap_or("")
            )
            .trim_end()
            .to_owned()
        })
        .collect::<Vec<_>>()
        .join("; ");
    if reasons.is_empty() || reasons.len() != items.len() {
        // Without one reason per item there is nothing to read; do not guess a conflict or
        // a duplicate, and do not drop the event either: let it be retried, then dead-lettered.
        return StoreError::Transient(format!(
            "transaction cancelled with {} cancellation reasons for {} items [{described}]: {}",
            reasons.len(),
            items.len(),
            message.unwrap_or("")
        ));
    }
    if codes
        .iter()
        .any(|(item, code)| *item == TxItem::Marker && *code == "ConditionalCheckFailed")
    {
        return StoreError::Duplicate {
            event_id: event_id.to_owned(),
        };
    }
    let conflict = |item: TxItem, code: &str| {
        code == "TransactionConflict"
            || (item == TxItem::Record && code == "ConditionalCheckFailed")
    };
    // In a commit only a guard conditions the counters item.
    let guard_failed = |item: TxItem, code: &str| {
        matches!(item, TxItem::Counts | TxItem::Guard) && code == "ConditionalCheckFailed"
    };
    let permanent = codes.iter().any(|(item, code)| {
        *code != "None"
            && !conflict(*item, code)
            && !guard_failed(*item, code)
            && !is_transient_code(code)
    });
    if permanent {
        return StoreError::Permanent(format!("transaction cancelled: [{described}]"));
    }
    let account = account.unwrap_or("(none)").to_owned();
    if codes.iter().any(|(item, code)| conflict(*item, code)) {
        return StoreError::Conflict { account };
    }
    if codes.iter().any(|(item, code)| guard_failed(*item, code)) {
        return StoreError::FollowUpDue { account };
    }
    StoreError::Transient(format!("transaction cancelled: [{described}]"))
}

pub(super) fn transact_error(
    err: SdkError<TransactWriteItemsError, HttpResponse>,
    items: &[TxItem],
    account: Option<&str>,
    event_id: &str,
) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        return cancelled(
            items,
            e.cancellation_reasons(),
            account,
            event_id,
            e.message(),
        );
    }
    classify("TransactWriteItems", &err)
}

/// What of an enrollment batch exists already, when that alone cancelled it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Existing {
    /// The positions of the records that exist.
    records: Vec<usize>,
    /// The counters item exists (a batch that meant to create it).
    counters: bool,
}

/// What exists already, when that alone cancelled an enrollment batch of `records` records
/// (followed by the counters update).
fn existing_items(
    err: &SdkError<TransactWriteItemsError, HttpResponse>,
    records: usize,
) -> Option<Existing> {
    let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error()
    else {
        return None;
    };
    let reasons = e.cancellation_reasons();
    if reasons.len() != records + 1 {
        return None;
    }
    let mut existing = Existing::default();
    for (i, reason) in reasons.iter().enumerate() {
        match reason.code() {
            Some("ConditionalCheckFailed") if i < records => existing.records.push(i),
            Some("ConditionalCheckFailed") => existing.counters = true,
            None | Some("None") => {}
            Some(_) => return None,
        }
    }
    (!existing.records.is_empty() || existing.counters).then_some(existing)
}

/// A conditioned Put of `item`.
pub(super) fn put(table: &str, item: Item, condition: &str) -> Put {
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .build()
        .expect("table name and item are set")
}

impl DynamoRecordStore {
    /// The event marker, written only if it does not exist yet.
    pub(super) fn put_marker(
        &self,
        event_id: &str,
        scope: &OutboxScope,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .put(put(
                &self.table,
                marker_item(event_id, scope, now)?,
                "attribute_not_exists(pk)",
            ))
            .build())
    }

    /// Writes one batch of one enrollment's records with their counters; a record that
    /// exists already is left out (its cancellation reason says so) and the rest written
    /// again, so re-enrolling is idempotent.
    async fn create_batch(
        &self,
        batch: &[&OnboardingRecord],
        mut counting: Counting,
    ) -> Result<Vec<(AccountId, CreateOutcome)>, StoreError> {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut pending: Vec<&OnboardingRecord> = batch.to_vec();
        while !pending.is_empty() {
            let mut items = Vec::with_capacity(pending.len() + 1);
            for record in &pending {
                items.push(
                    TransactWriteItem::builder()
                        .put(put(
                            &self.table,
                            record_item(record)?,
                            "attribute_not_exists(pk)",
                        ))
                        .build(),
                );
            }
            let change = CountChange::sum(pending.iter().map(|r| CountChange::enrolled(r)))
                .expect("the batch is not empty");
            items.push(counts::add(
                &self.table,
                &change,
                counting,
                None,
                Utc::now(),
            ));
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let err = match result {
                Ok(_) => {
                    outcomes.extend(
                        pending
                            .iter()
                            .map(|r| (r.account_id.clone(), CreateOutcome::Created)),
                    );
                    break;
                }
                Err(err) => err,
            };
            let existing = existing_items(&err, pending.len())
                .ok_or_else(|| transact_error(err, &[TxItem::Record], None, "enrollment"))?;
            if existing.counters {
                counting = Counting::Enroll;
            }
            let (exist, rest): (Vec<_>, Vec<_>) = pending
                .iter()
                .enumerate()
                .partition(|(i, _)| existing.records.contains(i));
            tracing::debug!(
                existing = exist.len(),
                "accounts already enrolled, left as they are"
            );
            outcomes.extend(
                exist
                    .iter()
                    .map(|(_, r)| (r.account_id.clone(), CreateOutcome::AlreadyEnrolled)),
            );
            pending = rest.into_iter().map(|(_, r)| *r).collect();
        }
        Ok(outcomes)
    }
}

#[async_trait]
impl RecordCreator for DynamoRecordStore {
    #[tracing::instrument(skip(self, records), fields(records = records.len()))]
    async fn create_many(
        &self,
        records: &[OnboardingRecord],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        let mut outcomes = HashMap::with_capacity(records.len());
        let mut by_enrollment: HashMap<&EnrollmentName, Vec<&OnboardingRecord>> = HashMap::new();
        for record in records {
            by_enrollment
                .entry(&record.enrollment)
                .or_default()
                .push(record);
        }
        for records in by_enrollment.values() {
            // The first batch creates the counters item unless the enrollment has one.
            let mut counting = Counting::Create;
            for batch in records.chunks(ENROLL_BATCH) {
                for (account, outcome) in self.create_batch(batch, counting).await? {
                    outcomes.insert(account, outcome);
                }
                counting = Counting::Enroll;
            }
        }
        Ok(records
            .iter()
            .map(|r| {
                outcomes
                    .get(&r.account_id)
                    .copied()
                    .unwrap_or(CreateOutcome::AlreadyEnrolled)
            })
            .collect())
    }
}

#[async_trait]
impl TransitionCommitter for DynamoRecordStore {
    #[tracing::instrument(
        skip(self, commit),
        fields(
            account_id = %commit.record.account_id,
            event_id = %commit.event_id,
            version = commit.record.version,
            outbox = commit.outbox.len(),
        )
    )]
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let now = Utc::now();
        let account = &commit.record.account_id;
        let scope = OutboxScope::Account(account.clone());
        let record = TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(record_item(&commit.record)?))
                    .condition_expression("#v = :expected")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(
                        ":expected",
                        to_value("the expected version", &commit.expected_version)?,
                    )
                    .build()
                    .expect("table name and item are set"),
            )
            .build();
        let mut items = vec![record, self.put_marker(&commit.event_id, &scope, now)?];
        let mut kinds = vec![TxItem::Record, TxItem::Marker];
        if let Some(outbox) = commit.outbox_item(now) {
            items.push(self.put_outbox(&outbox, now, commit.settling)?);
            kinds.push(TxItem::Outbox);
        }
        let enrollment = &commit.record.enrollment;
        match (&commit.counts, commit.guard) {
            (Some(change), guard) => {
                items.push(counts::add(&self.table, change, Counting::Move, guard, now));
                kinds.push(TxItem::Counts);
            }
            (None, Some(guard)) => {
                items.push(counts::check(&self.table, enrollment, guard));
                kinds.push(TxItem::Guard);
            }
            (None, None) => {}
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| transact_error(e, &kinds, Some(account.as_str()), &commit.event_id))?;
        Ok(())
    }
}
