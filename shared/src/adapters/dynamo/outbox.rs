//! The notification outbox: once-only announcements, pending items and their claims.
//!
//! [`OutboxStore::commit_once`] is one `TransactWriteItems` of the event marker
//! (conditioned on `attribute_not_exists(pk)`) and the outbox item; a failed marker
//! condition means `Ok(false)`. [`OutboxStore::claim_outbox`] is a conditional
//! `UpdateItem` (`attribute_exists(pk) AND (attribute_not_exists(claimed_until) OR
//! claimed_until < :now OR claimed_by = :me)`), so of concurrent copies of an event only
//! the claimant publishes, and [`OutboxStore::release_outbox`] removes the claim after a
//! failure, conditioned on `claimed_by` being the releaser's own token, and puts the item
//! in the `by_pending` index. `record_and_outbox` is one consistent `BatchGetItem` of an
//! event's record and outbox item, `pending_outbox` a consistent `Query` on the scope's
//! key, `outbox_item` a consistent `GetItem`, `stale_outbox` a query of the `by_pending`
//! index.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::codec::{key, outbox_from_item, outbox_item, record_from_item, Item};
use super::commits::{transact_error, TxItem};
use super::keys::{outbox_pk, record_pk, BY_PENDING_INDEX, PENDING_OUTBOX, RECORD_SK};
use super::{classify, is_condition_failure, DynamoRecordStore};
use crate::domain::{AccountId, OnboardingRecord};
use crate::ports::{
    OutboxItem, OutboxScope, OutboxStore, OutgoingNotification, Settling, StoreError,
};

impl DynamoRecordStore {
    /// The outbox item, as a transaction's Put (unconditioned).
    pub(super) fn put_outbox(
        &self,
        outbox: &OutboxItem,
        now: DateTime<Utc>,
        settling: Settling,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = outbox_item(outbox, now, settling)?;
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
}

#[async_trait]
impl OutboxStore for DynamoRecordStore {
    #[tracing::instrument(skip(self, outbox), fields(scope = %scope, event_id = %event_id, outbox = outbox.len()))]
    async fn commit_once(
        &self,
        scope: &OutboxScope,
        event_id: &str,
        outbox: &[OutgoingNotification],
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let mut items = vec![self.put_marker(event_id, scope, now)?];
        let mut kinds = vec![TxItem::Marker];
        if !outbox.is_empty() {
            let item = OutboxItem::announcement(scope.clone(), event_id, outbox.to_vec());
            items.push(self.put_outbox(&item, now, Settling::Cleared)?);
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

    #[tracing::instrument(skip(self), fields(account_id = %account, event_id = %event_id))]
    async fn record_and_outbox(
        &self,
        account: &AccountId,
        event_id: &str,
    ) -> Result<(Option<OnboardingRecord>, Option<OutboxItem>), StoreError> {
        let record_key = key(record_pk(account), RECORD_SK)?;
        let scope = OutboxScope::Account(account.clone());
        let outbox_key = key(outbox_pk(&scope), event_id)?;
        let (mut record, mut outbox) = (None, None);
        for item in self.batch_get(vec![record_key, outbox_key]).await? {
            match item.get("sk") {
                Some(AttributeValue::S(sk)) if sk == RECORD_SK => {
                    record = Some(record_from_item(item)?);
                }
                _ => outbox = Some(outbox_from_item(item)?),
            }
        }
        Ok((record, outbox))
    }

    #[tracing::instrument(skip(self), fields(scope = %scope))]
    async fn pending_outbox(&self, scope: &OutboxScope) -> Result<Vec<OutboxItem>, StoreError> {
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
                outbox.push(outbox_from_item(item)?);
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
        scope: &OutboxScope,
        event_id: &str,
    ) -> Result<Option<OutboxItem>, StoreError> {
        self.get(key(outbox_pk(scope), event_id)?)
            .await?
            .map(outbox_from_item)
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
        items.into_iter().map(outbox_from_item).collect()
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
            // The holder itself takes it back: Lambda's retry of the invocation that
            // committed it carries the same request id.
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(#c) OR #c < :now OR #b = :by)",
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
    async fn release_outbox(
        &self,
        item: &OutboxItem,
        claimant: &str,
        published: bool,
    ) -> Result<(), StoreError> {
        // Pending from now on, for the reconciler's sweep too (an item left to expire was
        // out of its index).
        let mut set = "#p = :p, #since = if_not_exists(#since, :now)".to_owned();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(outbox_pk(&item.scope), &item.event_id)?))
            .expression_attribute_names("#p", "pending")
            .expression_attribute_names("#since", "pending_since")
            .expression_attribute_values(":p", AttributeValue::S(PENDING_OUTBOX.to_owned()))
            .expression_attribute_values(
                ":now",
                AttributeValue::N(Utc::now().timestamp().to_string()),
            );
        if published {
            set.push_str(", #n = :none");
            update = update
                .expression_attribute_names("#n", "notifications")
                .expression_attribute_values(":none", AttributeValue::L(Vec::new()));
        }
        let result = update
            .update_expression(format!("SET {set} REMOVE #c, #b"))
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
}
