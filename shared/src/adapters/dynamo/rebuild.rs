//! Rebuilding an enrollment's counters from its records, for counters an earlier release
//! never kept (release 1 had none; an enrollment of release 1 moved under release 2 or 3
//! has an item holding only the changes since) or never marked as a baseline.
//!
//! Counters change in the same transaction as the record that moves, so a rebuild must not
//! lose a change made while it reads. It is a compare-and-set:
//! 1. read the counters item (consistent `GetItem`): a baseline (`schema_version`) needs
//!    nothing; one with records enrolled less than [`SETTLE`] ago waits (see below);
//! 2. list the enrollment's record keys from `by_enrollment`, page by page, and read the
//!    records themselves consistently (`BatchGetItem`, 100 keys a call), summing what each
//!    contributes as it stands ([`EnrollmentCounts::of_records`]); memory holds one page;
//! 3. `PutItem` the totals with `schema_version`, conditioned on the counters item being
//!    exactly as read in 1 (absent, or every counter, `revision` and `management_account`
//!    unchanged).
//!
//! A transition committed before 1 is in the records read in 2 (consistent reads after 1).
//! One committed after 1 changed the counters item (every change adds 1 to `revision`;
//! release 2 and 3 writers, which did not, change at least one counter), so the `PutItem`
//! fails and the rebuild waits for the next step; one committed after 3 adds its change to
//! the new totals, which were read before it. What remains is the index: a record created
//! just before 1 may not be listed by `by_enrollment` yet (a global secondary index is
//! eventually consistent). Its creation set the counters item's `enrolled_at`, so a
//! rebuild waits until no record was enrolled for [`SETTLE`], far longer than the index's
//! propagation (normally under a second, "Global secondary indexes: read consistency",
//! DynamoDB Developer Guide). A release 2 or 3 writer, which set no `enrolled_at`, runs
//! only while the new release is being deployed; the index lagging a whole minute behind
//! is the one race left (the counters would miss that record; `accounts` one short).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use super::codec::{key, record_from_item, to_value, Item};
use super::counts::{attribute, counts_key, every_counter};
use super::keys::{record_pk, schema_value, BY_ENROLLMENT_INDEX, RECORD_SK, SCHEMA_ATTRIBUTE};
use super::{classify, DynamoRecordStore};
use crate::domain::{AccountId, EnrollmentCounts, EnrollmentName};
use crate::ports::StoreError;

/// How long after the last records were enrolled a rebuild waits for the enrollment index.
pub const SETTLE: chrono::Duration = chrono::Duration::seconds(60);

/// `BatchGetItem` takes at most 100 keys a call.
const BATCH_GET: usize = 100;

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rebuild {
    /// The counters were a baseline already.
    Baseline,
    Rebuilt,
    /// Records were enrolled a moment ago, or the counters changed while the records were
    /// read: later.
    Deferred,
}

impl DynamoRecordStore {
    /// Rebuilds `enrollment`'s counters from its records unless they are a baseline.
    pub(super) async fn rebuild_counts(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<Rebuild, StoreError> {
        let observed = self.get(counts_key(enrollment)).await?;
        if let Some(item) = &observed {
            if item.contains_key(SCHEMA_ATTRIBUTE) {
                return Ok(Rebuild::Baseline);
            }
            let enrolled_at = match item.get("enrolled_at") {
                Some(AttributeValue::N(at)) => at.parse::<i64>().ok(),
                _ => None,
            };
            if enrolled_at.is_some_and(|at| Utc::now().timestamp() - at < SETTLE.num_seconds()) {
                return Ok(Rebuild::Deferred);
            }
        }
        let counts = self.standing_counts(enrollment).await?;
        let result = self
            .put_baseline(enrollment, &counts, observed.as_ref())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Rebuild::Rebuilt),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(PutItemError::is_conditional_check_failed_exception) =>
            {
                Ok(Rebuild::Deferred)
            }
            Err(err) => Err(classify("PutItem", &err)),
        }
    }

    /// The counters of the enrollment's records as they stand, read consistently.
    async fn standing_counts(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<EnrollmentCounts, StoreError> {
        let mut counts = EnrollmentCounts::default();
        let mut start: Option<Item> = None;
        loop {
            let value = to_value("the enrollment", enrollment)?;
            let page = self
                .index_query(BY_ENROLLMENT_INDEX, "enrollment", value)
                .projection_expression("account_id")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify("Query", &e))?;
            let accounts: Vec<AccountId> = page
                .items()
                .iter()
                .filter_map(|item| match item.get("account_id") {
                    Some(AttributeValue::S(id)) => AccountId::parse(id).ok(),
                    _ => None,
                })
                .collect();
            for chunk in accounts.chunks(BATCH_GET) {
                for item in self.records_consistently(chunk).await? {
                    let record = record_from_item(item)?;
                    // The index may list a record whose enrollment it no longer has.
                    if &record.enrollment == enrollment {
                        counts.add(&crate::domain::CountChange::standing(&record));
                    }
                }
            }
            match page.last_evaluated_key {
                Some(last) if !last.is_empty() => start = Some(last),
                _ => return Ok(counts),
            }
        }
    }

    /// The record items of `accounts` (at most [`BATCH_GET`]), read consistently; keys
    /// DynamoDB leaves unprocessed (throttling) are asked again.
    async fn records_consistently(&self, accounts: &[AccountId]) -> Result<Vec<Item>, StoreError> {
        let keys = accounts
            .iter()
            .map(|account| key(record_pk(account), RECORD_SK))
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_get(keys).await
    }

    /// The `PutItem` of `counts` as a baseline, conditioned on the item being as `observed`.
    fn put_baseline(
        &self,
        enrollment: &EnrollmentName,
        counts: &EnrollmentCounts,
        observed: Option<&Item>,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        let mut item = counts_key(enrollment);
        item.insert(
            "enrollment".into(),
            AttributeValue::S(enrollment.to_string()),
        );
        for (counter, value) in &counts.values {
            item.insert(attribute(*counter), AttributeValue::N(value.to_string()));
        }
        if let Some(management) = &counts.management_account {
            item.insert(
                "management_account".into(),
                AttributeValue::S(management.to_string()),
            );
        }
        let revision = observed
            .and_then(|o| match o.get("revision") {
                Some(AttributeValue::N(n)) => n.parse::<i64>().ok(),
                _ => None,
            })
            .unwrap_or(0);
        item.insert(
            "revision".into(),
            AttributeValue::N((revision + 1).to_string()),
        );
        if let Some(enrolled_at) = observed.and_then(|o| o.get("enrolled_at")) {
            item.insert("enrolled_at".into(), enrolled_at.clone());
        }
        item.insert(SCHEMA_ATTRIBUTE.into(), schema_value());
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let Some(observed) = observed else {
            return put.condition_expression("attribute_not_exists(pk)");
        };
        let (condition, names, values) = unchanged(observed);
        put.condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
    }
}

/// A condition that holds while the counters item is as `observed`: each counter,
/// `revision` and `management_account` equal, or still absent.
fn unchanged(observed: &Item) -> (String, HashMap<String, String>, Item) {
    let watched = every_counter()
        .map(attribute)
        .chain(["revision".to_owned(), "management_account".to_owned()]);
    let (mut terms, mut names, mut values) = (Vec::new(), HashMap::new(), HashMap::new());
    for (i, name) in watched.enumerate() {
        names.insert(format!("#a{i}"), name.clone());
        match observed.get(&name) {
            Some(value) => {
                values.insert(format!(":a{i}"), value.clone());
                terms.push(format!("#a{i} = :a{i}"));
            }
            None => terms.push(format!("attribute_not_exists(#a{i})")),
        }
    }
    (terms.join(" AND "), names, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_condition_names_every_counter_present_or_absent() {
        let observed = Item::from([
            ("phase_Joined".to_owned(), AttributeValue::N("1".into())),
            ("phase_Invited".to_owned(), AttributeValue::N("-1".into())),
        ]);
        let (condition, names, values) = unchanged(&observed);
        let named = |attr: &str| names.iter().find(|(_, n)| *n == attr).unwrap().0.clone();
        assert!(condition.contains(&format!("{} = :", named("phase_Joined"))));
        assert!(condition.contains(&format!("attribute_not_exists({})", named("accounts"))));
        assert!(condition.contains(&format!("attribute_not_exists({})", named("revision"))));
        assert_eq!(values.len(), 2);
        assert!(condition.len() < 4096, "DynamoDB's expression limit");
    }
}
