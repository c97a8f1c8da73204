//! [`RecordStore`] on Amazon DynamoDB.
//!
//! # Key design
//!
//! One table, string keys `pk` (HASH) and `sk` (RANGE), on-demand billing, TTL attribute
//! `expires_at`. Four kinds of item:
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | onboarding record | `ACCOUNT#<account_id>` | `RECORD` | every [`OnboardingRecord`] field, mapped with `serde_dynamo` |
//! | event marker | `EVENT#<event_id>` | `EVENT` | `scope`, `created_at`, `expires_at` (epoch seconds, now + 30 days) |
//! | outbox | `OUTBOX#<scope>` | `<event_id>` | `scope`, `event_id`, `notifications` (list), `created_at`, `pending`, `pending_since`, `claimed_until` (epoch seconds, while an invocation publishes it), `claimed_by` (that invocation's token) |
//! | sweep cursor | `SWEEP#<name>` | `CURSOR` | `after` (the account the last sweep stopped after) |
//! | enrollment counters | `ENROLLMENT#<name>` | `COUNTS` | `accounts`, `phase_<Phase>`, `members_in_old_organization` (numbers, changed only by `ADD`), `enrollment`, `management_account` (see `counts`) |
//!
//! Two sparse global secondary indexes, both projecting every attribute, hold only the
//! record items, because only they carry the top-level `enrollment` and `phase` attributes
//! (they are record fields, not copies):
//! - `by_enrollment`: HASH `enrollment`, RANGE `account_id`;
//! - `by_phase`: HASH `phase`, RANGE `account_id`.
//!
//! A third, `by_pending` (HASH `pending` = `OUTBOX`, RANGE `pending_since`, epoch seconds),
//! holds only the outbox items, so the reconciler finds those left pending by a dead
//! invocation with one query (sized by the pending items, not the table). A fourth,
//! `by_placement` (HASH `to_place` = `PLACE`, RANGE `account_id`), holds only the joined
//! records not yet placed (the adapter writes `to_place` on those alone), so the placer's
//! sweep reads what it has to do, not every joined account.
//!
//! # Writes
//!
//! [`RecordStore::commit`] is exactly one `TransactWriteItems` call, in this item order:
//! 1. Put the record, conditioned on `version = <expected_version>` (optimistic lock);
//! 2. Put the event marker, conditioned on `attribute_not_exists(pk)` (deduplication by
//!    CloudTrail `eventID`, so two concurrent copies of one event cannot both commit);
//! 3. Put the outbox item under the account's scope (only when there is something to
//!    publish), so a notification is never lost when publishing fails after the write.
//!    It is written claimed (`claimed_until` = now + [`OUTBOX_LEASE`]) by the committing
//!    invocation, which publishes it; [`RecordStore::claim_outbox`] is a conditional
//!    `UpdateItem` (`attribute_exists(pk) AND (attribute_not_exists(claimed_until) OR
//!    claimed_until < :now)`), so of concurrent copies of an event only the claimant
//!    publishes, and [`RecordStore::release_outbox`] removes the claim after a failure,
//!    conditioned on `claimed_by` being the releaser's own token.
//!
//! 4. Update the enrollment's counters (`ADD`, only when a phase or the membership of the
//!    old organization moves), so the counters are exact whatever runs concurrently.
//!
//! [`RecordStore::create_many`] writes up to [`ENROLL_BATCH`] records of one enrollment
//! per `TransactWriteItems` (each Put conditioned on `attribute_not_exists(pk)`) with one
//! counters update for the batch; records that exist already are dropped from the batch
//! (by their cancellation reasons) and the rest is written again.
//!
//! [`RecordStore::commit_once`] is one `TransactWriteItems` of the marker (same condition)
//! and the outbox item; a failed marker condition means `Ok(false)`.
//!
//! A cancelled transaction is classified from its cancellation reasons, read by item
//! position, never guessed from the message: marker `ConditionalCheckFailed` =>
//! [`StoreError::Duplicate`] (it wins over every other reason: a redelivered event also
//! finds the version it produced); else any reason that retrying cannot fix (e.g.
//! `ValidationError`) => [`StoreError::Permanent`] naming the reasons; else record
//! `ConditionalCheckFailed` or `TransactionConflict` => [`StoreError::Conflict`]; else
//! a throttling reason (`ThrottlingError`, `ProvisionedThroughputExceeded`, …) =>
//! [`StoreError::Transient`]. A cancellation without one reason per item is `Transient`
//! (retried, then dead-lettered, rather than dropped on a guess). Other SDK errors are
//! classified by error code, on the one list of transient codes
//! ([`crate::domain::blocker::is_transient_code`]: throttling, `InternalServerError`,
//! `TransactionInProgressException`, …), 429 and 5xx, timeouts and dispatch failures are transient;
//! the rest (missing table, validation, access denied) permanent.
//!
//! Reads: `load` is a consistent `GetItem`; `list_by_enrollment` / `list_by_phase` query
//! their index, `list_all` scans for `sk = RECORD`, `pending_outbox` is a consistent
//! `Query` on `OUTBOX#<scope>`, all following every page. What an event reads is key reads
//! only (`load`, `load_counts`, `outbox_item`: consistent `GetItem`s).
//! The SDK fills `ClientRequestToken` for every `TransactWriteItems` request, so its own
//! retries of one call (after a timeout, say) are idempotent on the service side.

use std::collections::HashMap;
use std::fmt::Display;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;

mod counts;

use super::sdk_error::{self, describe};
use crate::domain::blocker::is_transient_code;
use crate::domain::{
    awaits_placement, AccountId, CountChange, EnrollmentCounts, EnrollmentName, OnboardingRecord,
    Phase,
};
use crate::ports::{
    Commit, CreateOutcome, OutboxItem, OutgoingNotification, RecordStore, StoreError, OUTBOX_LEASE,
};

/// Name of the index listing records by enrollment.
pub const BY_ENROLLMENT_INDEX: &str = "by_enrollment";
/// Name of the index listing records by phase.
pub const BY_PHASE_INDEX: &str = "by_phase";
/// Name of the index listing outbox items by when they were committed.
pub const BY_PENDING_INDEX: &str = "by_pending";
/// Name of the index listing the joined records not yet placed.
pub const BY_PLACEMENT_INDEX: &str = "by_placement";
/// The `to_place` value of a joined record not yet placed (the hash key of
/// [`BY_PLACEMENT_INDEX`]); the attribute is absent otherwise.
const TO_PLACE: &str = "PLACE";
/// The `pending` value every outbox item carries (the hash key of [`BY_PENDING_INDEX`]).
const PENDING_OUTBOX: &str = "OUTBOX";
/// The table's TTL attribute (event markers only).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// How many records one enrollment write takes: the 100 items of a `TransactWriteItems`,
/// less the counters update.
pub const ENROLL_BATCH: usize = 99;
/// How long an event marker is kept: far longer than any redelivery or Lambda retry.
pub const MARKER_RETENTION: chrono::Duration = chrono::Duration::days(30);

const RECORD_SK: &str = "RECORD";
const EVENT_SK: &str = "EVENT";

type Item = HashMap<String, AttributeValue>;

fn record_pk(account: &str) -> String {
    format!("ACCOUNT#{account}")
}

fn marker_pk(event_id: &str) -> String {
    format!("EVENT#{event_id}")
}

fn sweep_pk(name: &str) -> String {
    format!("SWEEP#{name}")
}

const CURSOR_SK: &str = "CURSOR";

fn outbox_pk(scope: &str) -> String {
    format!("OUTBOX#{scope}")
}

#[derive(Serialize)]
struct Key<'a> {
    pk: String,
    sk: &'a str,
}

#[derive(Serialize)]
struct RecordItem<'a> {
    pk: String,
    sk: &'static str,
    /// [`BY_PLACEMENT_INDEX`]'s hash key, only on a joined record not yet placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    to_place: Option<&'static str>,
    #[serde(flatten)]
    record: &'a OnboardingRecord,
}

#[derive(Serialize)]
struct MarkerItem<'a> {
    pk: String,
    sk: &'static str,
    scope: &'a str,
    created_at: DateTime<Utc>,
    expires_at: i64,
}

/// Read back as an [`OutboxItem`] (`pk`, `sk` and `created_at` are ignored then).
#[derive(Serialize)]
struct OutboxEntry<'a> {
    pk: String,
    sk: &'a str,
    scope: &'a str,
    event_id: &'a str,
    notifications: &'a [OutgoingNotification],
    created_at: DateTime<Utc>,
    /// [`BY_PENDING_INDEX`]'s keys: a constant, and the commit time in epoch seconds.
    pending: &'static str,
    pending_since: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed_until: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed_by: Option<&'a str>,
}

/// A claim on an outbox item: until when, and who holds it.
type Claim<'a> = (DateTime<Utc>, &'a str);

fn to_item<T: Serialize>(what: &str, value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Permanent(format!("cannot map {what} to a DynamoDB item: {e}")))
}

fn to_value<T: Serialize>(what: &str, value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::Permanent(format!("cannot map {what} to a DynamoDB value: {e}")))
}

fn record_from_item(item: Item) -> Result<OnboardingRecord, StoreError> {
    let pk = match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "(no pk)".to_owned(),
    };
    serde_dynamo::from_item(item)
        .map_err(|e| StoreError::Permanent(format!("malformed record item {pk}: {e}")))
}

fn key(pk: String, sk: &str) -> Result<Item, StoreError> {
    to_item("a key", &Key { pk, sk })
}

fn record_item(record: &OnboardingRecord) -> Result<Item, StoreError> {
    to_item(
        "the record",
        &RecordItem {
            pk: record_pk(record.account_id.as_str()),
            sk: RECORD_SK,
            to_place: awaits_placement(record).then_some(TO_PLACE),
            record,
        },
    )
}

fn marker_item(event_id: &str, scope: &str, now: DateTime<Utc>) -> Result<Item, StoreError> {
    to_item(
        "the event marker",
        &MarkerItem {
            pk: marker_pk(event_id),
            sk: EVENT_SK,
            scope,
            created_at: now,
            expires_at: (now + MARKER_RETENTION).timestamp(),
        },
    )
}

fn outbox_item(
    scope: &str,
    event_id: &str,
    notifications: &[OutgoingNotification],
    now: DateTime<Utc>,
    claim: Option<Claim>,
) -> Result<Item, StoreError> {
    to_item(
        "the outbox",
        &OutboxEntry {
            pk: outbox_pk(scope),
            sk: event_id,
            scope,
            event_id,
            notifications,
            created_at: now,
            pending: PENDING_OUTBOX,
            pending_since: now.timestamp(),
            claimed_until: claim.map(|(until, _)| until.timestamp()),
            claimed_by: claim.map(|(_, by)| by),
        },
    )
}

/// Classifies an SDK error that is not a condition failure: timeouts, dispatch and
/// response failures, 5xx and throttling codes are transient; the rest (missing table,
/// validation, access denied, a request that cannot be built) is permanent.
fn classify<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let read = sdk_error::read(err);
    let detail = format!("{operation}: {}", read.described);
    if read.transient {
        StoreError::Transient(detail)
    } else {
        StoreError::Permanent(detail)
    }
}

/// What an item of a transaction is, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxItem {
    Record,
    Marker,
    Outbox,
    Counts,
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
    let permanent = codes
        .iter()
        .any(|(item, code)| *code != "None" && !conflict(*item, code) && !is_transient_code(code));
    if permanent {
        return StoreError::Permanent(format!("transaction cancelled: [{described}]"));
    }
    if codes.iter().any(|(item, code)| conflict(*item, code)) {
        return StoreError::Conflict {
            account: account.unwrap_or("(none)").to_owned(),
        };
    }
    StoreError::Transient(format!("transaction cancelled: [{described}]"))
}

fn transact_error(
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

/// The positions of the records that exist already, when that alone cancelled an
/// enrollment batch of `records` records (followed by the counters update).
fn existing_records(
    err: &SdkError<TransactWriteItemsError, HttpResponse>,
    records: usize,
) -> Option<Vec<usize>> {
    let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error()
    else {
        return None;
    };
    let reasons = e.cancellation_reasons();
    if reasons.len() != records + 1 {
        return None;
    }
    let mut existing = Vec::new();
    for (i, reason) in reasons.iter().enumerate() {
        match reason.code() {
            Some("ConditionalCheckFailed") if i < records => existing.push(i),
            None | Some("None") => {}
            Some(_) => return None,
        }
    }
    (!existing.is_empty()).then_some(existing)
}

fn put(table: &str, item: Item, condition: &str) -> Put {
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .build()
        .expect("table name and item are set")
}

/// The onboarding records, event markers and outbox in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoRecordStore {
    client: Client,
    table: String,
}

impl DynamoRecordStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn put_marker(
        &self,
        event_id: &str,
        scope: &str,
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

    fn put_outbox(
        &self,
        scope: &str,
        event_id: &str,
        notifications: &[OutgoingNotification],
        now: DateTime<Utc>,
        claim: Option<Claim>,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = outbox_item(scope, event_id, notifications, now, claim)?;
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .build()
                    .expect("table name and item are set"),
            )
            .build())
    }

    /// Writes one batch of one enrollment's records with their counters; a record that
    /// exists already is left out (its cancellation reason says so) and the rest written
    /// again, so re-enrolling is idempotent.
    async fn create_batch(
        &self,
        batch: &[&OnboardingRecord],
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
            items.push(counts::add(&self.table, &change));
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
            let existing = existing_records(&err, pending.len())
                .ok_or_else(|| transact_error(err, &[TxItem::Record], None, "enrollment"))?;
            let (exist, rest): (Vec<_>, Vec<_>) = pending
                .iter()
                .enumerate()
                .partition(|(i, _)| existing.contains(i));
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

    /// A consistent Scan of the record items (every other kind of item filtered out).
    fn scan_records(&self) -> aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder {
        self.client
            .scan()
            .table_name(&self.table)
            .filter_expression("#sk = :record")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":record", AttributeValue::S(RECORD_SK.to_owned()))
            .consistent_read(true)
    }

    /// One item by its key, read consistently: every read an event makes is one of these.
    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", &e))?;
        Ok(output.item)
    }

    async fn query_index(
        &self,
        index: &str,
        attribute: &str,
        value: AttributeValue,
    ) -> Result<Vec<OnboardingRecord>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", attribute)
            .expression_attribute_values(":v", value)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("Query", &e))?;
        items.into_iter().map(record_from_item).collect()
    }
}

#[async_trait]
impl RecordStore for DynamoRecordStore {
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    async fn load(&self, account: &AccountId) -> Result<Option<OnboardingRecord>, StoreError> {
        self.get(key(record_pk(account.as_str()), RECORD_SK)?)
            .await?
            .map(record_from_item)
            .transpose()
    }

    #[tracing::instrument(skip(self), fields(enrollment = %enrollment))]
    async fn list_by_enrollment(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<Vec<OnboardingRecord>, StoreError> {
        let value = to_value("the enrollment", enrollment)?;
        self.query_index(BY_ENROLLMENT_INDEX, "enrollment", value)
            .await
    }

    #[tracing::instrument(skip(self), fields(phase = %phase))]
    async fn list_by_phase(&self, phase: Phase) -> Result<Vec<OnboardingRecord>, StoreError> {
        let value = to_value("the phase", &phase)?;
        self.query_index(BY_PHASE_INDEX, "phase", value).await
    }

    async fn list_awaiting_placement(&self) -> Result<Vec<OnboardingRecord>, StoreError> {
        let value = AttributeValue::S(TO_PLACE.to_owned());
        self.query_index(BY_PLACEMENT_INDEX, "to_place", value)
            .await
    }

    #[tracing::instrument(skip(self))]
    async fn list_all(&self) -> Result<Vec<OnboardingRecord>, StoreError> {
        let items = self
            .scan_records()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("Scan", &e))?;
        items.into_iter().map(record_from_item).collect()
    }

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
        for batch in by_enrollment.values().flat_map(|r| r.chunks(ENROLL_BATCH)) {
            for (account, outcome) in self.create_batch(batch).await? {
                outcomes.insert(account, outcome);
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

    #[tracing::instrument(skip(self), fields(enrollment = %enrollment))]
    async fn load_counts(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<EnrollmentCounts, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(counts::counts_key(enrollment)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", &e))?;
        output.item.map_or_else(
            || Ok(EnrollmentCounts::default()),
            |item| counts::parse(&item, enrollment),
        )
    }

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
        let account = commit.record.account_id.as_str();
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
        let mut items = vec![record, self.put_marker(&commit.event_id, account, now)?];
        let mut kinds = vec![TxItem::Record, TxItem::Marker];
        if !commit.outbox.is_empty() {
            items.push(self.put_outbox(
                account,
                &commit.event_id,
                &commit.outbox,
                now,
                Some((now + OUTBOX_LEASE, &commit.claimant)),
            )?);
            kinds.push(TxItem::Outbox);
        }
        if let Some(change) = &commit.counts {
            items.push(counts::add(&self.table, change));
            kinds.push(TxItem::Counts);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| transact_error(e, &kinds, Some(account), &commit.event_id))?;
        Ok(())
    }

    #[tracing::instrument(skip(self, outbox), fields(scope = %scope, event_id = %event_id, outbox = outbox.len()))]
    async fn commit_once(
        &self,
        scope: &str,
        event_id: &str,
        outbox: &[OutgoingNotification],
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let mut items = vec![self.put_marker(event_id, scope, now)?];
        let mut kinds = vec![TxItem::Marker];
        if !outbox.is_empty() {
            items.push(self.put_outbox(scope, event_id, outbox, now, None)?);
            kinds.push(TxItem::Outbox);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) => match transact_error(err, &kinds, None, event_id) {
                StoreError::Duplicate { .. } => Ok(false),
                // No record here to reload: another writer of the same marker is in flight,
                // and retrying later settles it (then as `Ok(false)`).
                StoreError::Conflict { .. } => Err(StoreError::Transient(format!(
                    "transaction conflict on the marker of {event_id}"
                ))),
                other => Err(other),
            },
        }
    }

    #[tracing::instrument(skip(self), fields(scope = %scope))]
    async fn pending_outbox(&self, scope: &str) -> Result<Vec<OutboxItem>, StoreError> {
        let mut outbox = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":pk", AttributeValue::S(outbox_pk(scope)))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify("Query", &e))?;
            for item in page.items().iter().cloned() {
                let entry: OutboxItem = serde_dynamo::from_item(item).map_err(|e| {
                    StoreError::Permanent(format!("malformed outbox item of {scope}: {e}"))
                })?;
                outbox.push(entry);
            }
            match page.last_evaluated_key {
                Some(last) if !last.is_empty() => start = Some(last),
                _ => break,
            }
        }
        Ok(outbox)
    }

    #[tracing::instrument(skip(self), fields(scope = %scope, event_id = %event_id))]
    async fn outbox_item(
        &self,
        scope: &str,
        event_id: &str,
    ) -> Result<Option<OutboxItem>, StoreError> {
        self.get(key(outbox_pk(scope), event_id)?)
            .await?
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| {
                    StoreError::Permanent(format!("malformed outbox item of {scope}: {e}"))
                })
            })
            .transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn stale_outbox(&self, before: DateTime<Utc>) -> Result<Vec<OutboxItem>, StoreError> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_PENDING_INDEX)
            .key_condition_expression("#p = :p AND #since < :before")
            .expression_attribute_names("#p", "pending")
            .expression_attribute_names("#since", "pending_since")
            .expression_attribute_values(":p", AttributeValue::S(PENDING_OUTBOX.to_owned()))
            .expression_attribute_values(
                ":before",
                AttributeValue::N(before.timestamp().to_string()),
            )
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("Query", &e))?;
        items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item(item)
                    .map_err(|e| StoreError::Permanent(format!("malformed outbox item: {e}")))
            })
            .collect()
    }

    #[tracing::instrument(skip(self))]
    async fn sweep_cursor(&self, name: &str) -> Result<Option<AccountId>, StoreError> {
        let item = self.get(key(sweep_pk(name), CURSOR_SK)?).await?;
        match item.as_ref().and_then(|item| item.get("after")) {
            Some(AttributeValue::S(after)) => AccountId::parse(after)
                .map(Some)
                .map_err(|e| StoreError::Permanent(format!("sweep cursor {name}: {e}"))),
            _ => Ok(None),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn save_sweep_cursor(
        &self,
        name: &str,
        after: Option<&AccountId>,
    ) -> Result<(), StoreError> {
        let mut item = key(sweep_pk(name), CURSOR_SK)?;
        if let Some(after) = after {
            item.insert("after".into(), AttributeValue::S(after.to_string()));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify("PutItem", &e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self, item), fields(scope = %item.scope, event_id = %item.event_id))]
    async fn clear_outbox(&self, item: &OutboxItem) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(outbox_pk(&item.scope), &item.event_id)?))
            .send()
            .await
            .map_err(|e| classify("DeleteItem", &e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self, item), fields(scope = %item.scope, event_id = %item.event_id))]
    async fn claim_outbox(
        &self,
        item: &OutboxItem,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        claimant: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(outbox_pk(&item.scope), &item.event_id)?))
            .update_expression("SET #c = :until, #b = :by")
            .expression_attribute_names("#b", "claimed_by")
            .expression_attribute_values(":by", AttributeValue::S(claimant.to_owned()))
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(#c) OR #c < :now)",
            )
            .expression_attribute_names("#c", "claimed_until")
            .expression_attribute_values(":until", AttributeValue::N(until.timestamp().to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(classify("UpdateItem", &err)),
        }
    }

    #[tracing::instrument(skip(self, item), fields(scope = %item.scope, event_id = %item.event_id))]
    async fn release_outbox(&self, item: &OutboxItem, claimant: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(outbox_pk(&item.scope), &item.event_id)?))
            .update_expression("REMOVE #c, #b")
            // Only the releaser's own claim: one taken by another invocation meanwhile stays.
            .condition_expression("attribute_exists(pk) AND #b = :by")
            .expression_attribute_names("#c", "claimed_until")
            .expression_attribute_names("#b", "claimed_by")
            .expression_attribute_values(":by", AttributeValue::S(claimant.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(classify("UpdateItem", &err)),
        }
    }

    /// A Query of the enrollment index, or a Scan of the records, one DynamoDB page
    /// (up to 1 MB) per call; the cursor is the page's `LastEvaluatedKey` as JSON.
    #[tracing::instrument(skip(self))]
    async fn list_page(
        &self,
        enrollment: Option<&EnrollmentName>,
        cursor: Option<&str>,
    ) -> Result<crate::ports::RecordPage, StoreError> {
        let start = cursor.map(page_cursor::decode).transpose()?;
        let (items, last) = match enrollment {
            Some(enrollment) => {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(BY_ENROLLMENT_INDEX)
                    .key_condition_expression("#k = :v")
                    .expression_attribute_names("#k", "enrollment")
                    .expression_attribute_values(":v", to_value("the enrollment", enrollment)?)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| classify("Query", &e))?;
                (output.items, output.last_evaluated_key)
            }
            None => {
                let output = self
                    .scan_records()
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| classify("Scan", &e))?;
                (output.items, output.last_evaluated_key)
            }
        };
        Ok(crate::ports::RecordPage {
            records: items
                .unwrap_or_default()
                .into_iter()
                .map(record_from_item)
                .collect::<Result<_, _>>()?,
            next: last.map(|key| page_cursor::encode(&key)).transpose()?,
        })
    }
}

/// `LastEvaluatedKey` <-> an opaque cursor: a JSON object of the key's string attributes
/// (every key attribute of the table and its indexes is a string).
mod page_cursor {
    use std::collections::{BTreeMap, HashMap};

    use aws_sdk_dynamodb::types::AttributeValue;

    use crate::ports::StoreError;

    pub fn encode(key: &HashMap<String, AttributeValue>) -> Result<String, StoreError> {
        let strings: BTreeMap<&str, &str> = key
            .iter()
            .map(|(name, value)| match value {
                AttributeValue::S(text) => Ok((name.as_str(), text.as_str())),
                _ => Err(StoreError::Permanent(format!(
                    "key attribute {name} of a page is not a string"
                ))),
            })
            .collect::<Result<_, _>>()?;
        serde_json::to_string(&strings).map_err(|e| StoreError::Permanent(e.to_string()))
    }

    pub fn decode(cursor: &str) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let strings: HashMap<String, String> = serde_json::from_str(cursor)
            .map_err(|e| StoreError::Permanent(format!("malformed page cursor: {e}")))?;
        Ok(strings
            .into_iter()
            .map(|(name, text)| (name, AttributeValue::S(text)))
            .collect())
    }
}

fn is_condition_failure(err: &SdkError<UpdateItemError, HttpResponse>) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

fn key_element(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .expect("name and key type are set")
}

fn index(name: &str, hash: &str, range: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element(hash, KeyType::Hash))
        .key_schema(key_element(range, KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .expect("name, key schema and projection are set")
}

fn permanent(operation: &str, err: impl Display) -> StoreError {
    StoreError::Permanent(format!("{operation}: {err}"))
}

/// Creates the table with its two indexes and TTL, as the key design above describes.
/// Idempotent: an existing table is left as it is. A service that does not support TTL
/// (some emulators) is logged as a warning, not an error.
#[tracing::instrument(skip(client))]
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute("pk"))
        .attribute_definitions(string_attribute("sk"))
        .attribute_definitions(string_attribute("account_id"))
        .attribute_definitions(string_attribute("enrollment"))
        .attribute_definitions(string_attribute("phase"))
        .attribute_definitions(string_attribute("pending"))
        .attribute_definitions(string_attribute("to_place"))
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pending_since")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .expect("name and type are set"),
        )
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .global_secondary_indexes(index(BY_ENROLLMENT_INDEX, "enrollment", "account_id"))
        .global_secondary_indexes(index(BY_PHASE_INDEX, "phase", "account_id"))
        .global_secondary_indexes(index(BY_PENDING_INDEX, "pending", "pending_since"))
        .global_secondary_indexes(index(BY_PLACEMENT_INDEX, "to_place", "account_id"))
        .send()
        .await;
    match created {
        Ok(_) => tracing::info!(table, "table created"),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            tracing::info!(table, "table already exists");
        }
        Err(err) => return Err(classify("CreateTable", &err)),
    }
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(120))
        .await
        .map_err(|e| {
            StoreError::Transient(format!(
                "waiting for table {table}: {}",
                sdk_error::causes(&e)
            ))
        })?;
    let ttl = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .map_err(|e| permanent("UpdateTimeToLive", e))?,
        )
        .send()
        .await;
    match ttl {
        Ok(_) => tracing::info!(table, attribute = TTL_ATTRIBUTE, "TTL enabled"),
        Err(err) if err.message().is_some_and(|m| m.contains("already enabled")) => {
            tracing::debug!(table, "TTL already enabled");
        }
        Err(err) => tracing::warn!(
            table,
            error = %describe(&err),
            "could not enable TTL on {TTL_ATTRIBUTE}; event markers will not expire"
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, TransferMode};
    use serde_json::json;

    fn record() -> OnboardingRecord {
        OnboardingRecord::enroll(
            AccountId::parse("111122223333").unwrap(),
            EnrollmentName::parse("acme").unwrap(),
            TransferMode::Standalone,
            Role::Management,
            2,
            Utc::now(),
        )
    }

    #[test]
    fn record_item_has_keys_and_index_attributes_and_round_trips() {
        let record = record();
        let item = record_item(&record).unwrap();
        assert_eq!(item["pk"], AttributeValue::S("ACCOUNT#111122223333".into()));
        assert_eq!(item["sk"], AttributeValue::S("RECORD".into()));
        assert_eq!(item["account_id"], AttributeValue::S("111122223333".into()));
        assert_eq!(item["enrollment"], AttributeValue::S("acme".into()));
        assert_eq!(item["phase"], to_value("phase", &record.phase).unwrap());
        assert!(matches!(item["phase"], AttributeValue::S(_)));
        assert_eq!(item["version"], AttributeValue::N("1".into()));
        assert!(!item.contains_key("to_place"), "not joined: not to place");
        assert_eq!(record_from_item(item).unwrap(), record);
    }

    #[test]
    fn only_a_joined_record_not_yet_placed_is_in_the_placement_index() {
        let mut record = record();
        record.phase = Phase::Joined;
        record.ou = Some(crate::domain::OuRef::parse("Customers").unwrap());
        let item = record_item(&record).unwrap();
        assert_eq!(item["to_place"], AttributeValue::S(TO_PLACE.into()));
        assert_eq!(
            record_from_item(item).unwrap(),
            record,
            "read back without it"
        );
        record.placed = Some(crate::domain::Placed {
            placed_in: None,
            access_role: None,
            at: Utc::now(),
        });
        assert!(!record_item(&record).unwrap().contains_key("to_place"));
    }

    #[test]
    fn marker_expires_in_thirty_days() {
        let now = Utc::now();
        let item = marker_item("ev-1", "111122223333", now).unwrap();
        assert_eq!(item["pk"], AttributeValue::S("EVENT#ev-1".into()));
        assert_eq!(item["sk"], AttributeValue::S("EVENT".into()));
        let expected = (now.timestamp() + 30 * 86_400).to_string();
        assert_eq!(item["expires_at"], AttributeValue::N(expected));
        assert!(
            !item.contains_key("account_id"),
            "markers stay out of the indexes"
        );
    }

    #[test]
    fn outbox_item_round_trips() {
        let notifications = vec![OutgoingNotification {
            id: "ev-1#0".into(),
            detail_type: "Onboarding Blocked".into(),
            detail: json!({"account_id": "111122223333", "blockers": [{"code": "x", "n": 3, "f": 1.5, "none": null, "empty": ""}], "flag": true}),
        }];
        let item = outbox_item("111122223333", "ev-1", &notifications, Utc::now(), None).unwrap();
        assert_eq!(item["pk"], AttributeValue::S("OUTBOX#111122223333".into()));
        assert_eq!(item["sk"], AttributeValue::S("ev-1".into()));
        assert!(matches!(item["notifications"], AttributeValue::L(_)));
        assert!(!item.contains_key("enrollment") && !item.contains_key("phase"));
        let back: OutboxItem = serde_dynamo::from_item(item).unwrap();
        assert_eq!(
            back,
            OutboxItem {
                scope: "111122223333".into(),
                event_id: "ev-1".into(),
                notifications
            }
        );
    }
}
