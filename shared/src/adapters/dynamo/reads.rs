//! Reading records: `load` is a consistent `GetItem`; `list_by_enrollment`,
//! `list_by_phase` and `list_awaiting_placement` query their index, `list_all` scans for
//! `sk = RECORD`, all following every page; `list_page` returns one DynamoDB page, and
//! `sweep_page` one page of at most [`SWEEP_PAGE`] records of the phase or placement
//! index, in account order (the indexes' range key). A page's items that do not decode
//! are returned apart ([`Unreadable`], with their key), never failing the page.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::{key, record_from_item, to_value, Item};
use super::keys::{
    record_pk, BY_ENROLLMENT_INDEX, BY_PHASE_INDEX, BY_PLACEMENT_INDEX, RECORD_SK, TO_PLACE,
};
use super::{classify, DynamoRecordStore};
use crate::domain::{AccountId, EnrollmentName, OnboardingRecord, Phase};
use crate::ports::{AccountRange, RecordPage, RecordReader, StoreError, SweepSource, Unreadable};

/// Records per page of a sweep: a sweep holds one page per source it merges, so its
/// memory stays that size whatever the table's (a DynamoDB page is up to 1 MB else).
pub const SWEEP_PAGE: i32 = 100;

impl DynamoRecordStore {
    /// A consistent Scan of the record items (every other kind of item filtered out).
    fn scan_records(&self) -> ScanFluentBuilder {
        self.client
            .scan()
            .table_name(&self.table)
            .filter_expression("#sk = :record")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_values(":record", AttributeValue::S(RECORD_SK.to_owned()))
            .consistent_read(true)
    }

    /// A Query of `index` for the items whose `attribute` is `value` (the caller pages).
    pub(super) fn index_query(
        &self,
        index: &str,
        attribute: &str,
        value: AttributeValue,
    ) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", attribute)
            .expression_attribute_values(":v", value)
    }

    async fn query_index(
        &self,
        index: &str,
        attribute: &str,
        value: AttributeValue,
    ) -> Result<Vec<OnboardingRecord>, StoreError> {
        let items = self
            .index_query(index, attribute, value)
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
impl RecordReader for DynamoRecordStore {
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    async fn load(&self, account: &AccountId) -> Result<Option<OnboardingRecord>, StoreError> {
        self.get(key(record_pk(account), RECORD_SK)?)
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

    /// A Query of the enrollment index, or a Scan of the records, one DynamoDB page
    /// (up to 1 MB) per call; the cursor is the page's `LastEvaluatedKey` as JSON.
    #[tracing::instrument(skip(self))]
    async fn list_page(
        &self,
        enrollment: Option<&EnrollmentName>,
        cursor: Option<&str>,
    ) -> Result<RecordPage, StoreError> {
        let start = cursor.map(page_cursor::decode).transpose()?;
        let (items, last) = match enrollment {
            Some(enrollment) => {
                let value = to_value("the enrollment", enrollment)?;
                let output = self
                    .index_query(BY_ENROLLMENT_INDEX, "enrollment", value)
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
        page_of(items, last)
    }

    #[tracing::instrument(skip(self))]
    async fn sweep_page(
        &self,
        source: SweepSource,
        range: &AccountRange,
        cursor: Option<&str>,
    ) -> Result<RecordPage, StoreError> {
        let (index, attribute, value) = match source {
            SweepSource::Phase(phase) => (BY_PHASE_INDEX, "phase", to_value("the phase", &phase)?),
            SweepSource::AwaitingPlacement => (
                BY_PLACEMENT_INDEX,
                "to_place",
                AttributeValue::S(TO_PLACE.to_owned()),
            ),
        };
        let (condition, bound) = match range {
            AccountRange::All => ("#k = :v", None),
            AccountRange::After(account) => ("#k = :v AND #a > :a", Some(account)),
            AccountRange::Through(account) => ("#k = :v AND #a <= :a", Some(account)),
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(condition)
            .expression_attribute_names("#k", attribute)
            .expression_attribute_values(":v", value)
            .limit(SWEEP_PAGE)
            .set_exclusive_start_key(cursor.map(page_cursor::decode).transpose()?);
        if let Some(account) = bound {
            query = query
                .expression_attribute_names("#a", "account_id")
                .expression_attribute_values(":a", AttributeValue::S(account.to_string()));
        }
        let output = query.send().await.map_err(|e| classify("Query", &e))?;
        page_of(output.items, output.last_evaluated_key)
    }
}

/// A page of items: the records, those that do not decode apart, where the next starts.
fn page_of(items: Option<Vec<Item>>, last: Option<Item>) -> Result<RecordPage, StoreError> {
    let mut page = RecordPage {
        next: last.map(|key| page_cursor::encode(&key)).transpose()?,
        ..RecordPage::default()
    };
    for item in items.unwrap_or_default() {
        let key = item_key(&item);
        match record_from_item(item) {
            Ok(record) => page.records.push(record),
            Err(error) => page.unreadable.push(Unreadable {
                key,
                error: error.to_string(),
            }),
        }
    }
    Ok(page)
}

/// How an item is named in the log: its `pk`.
fn item_key(item: &Item) -> String {
    match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "(no pk)".to_owned(),
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
