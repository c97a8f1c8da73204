//! The record store ports ([`crate::ports::RecordStore`] and its capabilities) on Amazon
//! DynamoDB: one table, by concern:
//!
//! - `keys`: the key layout and indexes (the only place that knows them);
//! - `codec`: records, event markers and outbox items as items, and back;
//! - `commits`: transactions (enrolling, committing a transition) and how a cancelled
//!   one is classified;
//! - `outbox`: once-only announcements, pending items and their claims;
//! - `reads`, `cursors`, `counts`: reading records, sweep cursors, enrollment counters;
//! - `schema`: creating the table;
//! - `upgrade`, `rebuild`: bringing items earlier releases wrote up to date (every item
//!   carries `schema_version`, see `keys`), and rebuilding counters they never kept.
//!
//! What an event reads is key reads only: its record and its own outbox item in one
//! consistent `BatchGetItem` (`record_and_outbox`), and, only where a follow-up is due,
//! `load_counts` and `load` (consistent `GetItem`s). SDK errors other than a transaction's cancellation or a failed
//! condition are classified by error code, on the one list of transient codes
//! ([`crate::domain::blocker::is_transient_code`]: throttling, `InternalServerError`,
//! `TransactionInProgressException`, …), 429 and 5xx, timeouts and dispatch failures are
//! transient; the rest (missing table, validation, access denied) permanent.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

mod codec;
mod commits;
mod counts;
mod cursors;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod keys;
mod outbox;
mod reads;
mod rebuild;
mod schema;
mod upgrade;

use super::sdk_error;
use crate::ports::StoreError;
use codec::Item;

pub use codec::MARKER_RETENTION;
pub use commits::ENROLL_BATCH;
pub use keys::{
    BY_ENROLLMENT_INDEX, BY_PENDING_INDEX, BY_PHASE_INDEX, BY_PLACEMENT_INDEX, SCHEMA_VERSION,
    TTL_ATTRIBUTE,
};
pub use rebuild::SETTLE;
pub use schema::create_table;

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

    /// The items of `keys` (at most 100), read consistently in one `BatchGetItem`; keys
    /// DynamoDB leaves unprocessed (throttling) are asked again after a backoff.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let capacity = keys.len();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Permanent(format!("BatchGetItem: {e}")))?,
        );
        let mut items = Vec::with_capacity(capacity);
        let mut attempt = 0;
        while let Some(keys) = request.take() {
            if attempt > 0 {
                crate::retry::backoff(attempt - 1).await;
            }
            attempt += 1;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(|e| classify("BatchGetItem", &e))?;
            if let Some(mut found) = output.responses {
                items.extend(found.remove(&self.table).unwrap_or_default());
            }
            request = output
                .unprocessed_keys
                .and_then(|mut left| left.remove(&self.table))
                .filter(|left| !left.keys().is_empty());
        }
        Ok(items)
    }

    /// Writes `item` whole and unconditionally, stamped with today's schema version: the
    /// store's own bookkeeping items (sweep cursors, the upgrade's progress).
    async fn put_current(&self, mut item: Item) -> Result<(), StoreError> {
        item.insert(keys::SCHEMA_ATTRIBUTE.into(), keys::schema_value());
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify("PutItem", &e))?;
        Ok(())
    }
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

/// A conditional update whose condition failed (the item is gone, or claimed by another).
fn is_condition_failure(err: &SdkError<UpdateItemError, HttpResponse>) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}
