//! The enrollment counters item: `pk = ENROLLMENT#<name>`, `sk = COUNTS`, one number
//! attribute per counter (`accounts`, `phase_<Phase>`, `members_in_old_organization`,
//! `placed`), `enrollment` and `management_account`. Changed by `ADD` in the transactions
//! that create or move records, so concurrent writers never lose an increment; read with a
//! consistent `GetItem`. Every change also adds 1 to `revision`, and enrolling records sets
//! `enrolled_at`, so a rebuild ([`super::rebuild`]) can tell that nothing changed between
//! its reads and its write, and wait for new records to reach the enrollment index.
//!
//! The transaction of an enrollment's first records creates the item with
//! `schema_version` (a complete baseline), conditioned on its absence; when it exists, the
//! batch is written again adding to it ([`Counting::Enroll`]).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::keys::{enrollment_pk, schema_value, COUNTS_SK, SCHEMA_ATTRIBUTE};
use super::{classify, DynamoRecordStore};
use crate::domain::{AccountId, CountChange, Counter, EnrollmentCounts, EnrollmentName, Phase};
use crate::ports::{CountGuard, CountReader, StoreError};

pub(super) fn counts_key(enrollment: &EnrollmentName) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(enrollment_pk(enrollment)),
        ),
        ("sk".to_owned(), AttributeValue::S(COUNTS_SK.to_owned())),
    ])
}

pub(super) fn attribute(counter: Counter) -> String {
    match counter {
        Counter::Accounts => "accounts".to_owned(),
        Counter::InPhase(phase) => format!("phase_{phase}"),
        Counter::MembersInOldOrganization => "members_in_old_organization".to_owned(),
        Counter::Placed => "placed".to_owned(),
    }
}

pub(super) fn every_counter() -> impl Iterator<Item = Counter> {
    [
        Counter::Accounts,
        Counter::MembersInOldOrganization,
        Counter::Placed,
    ]
    .into_iter()
    .chain(Phase::ALL.into_iter().map(Counter::InPhase))
}

/// How a transaction counts its change on the enrollment's counters item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counting {
    /// The enrollment's first records: the item is created, a complete baseline
    /// (`schema_version`), only if it does not exist yet.
    Create,
    /// More records of an enrollment that has counters: added, and `enrolled_at` set.
    Enroll,
    /// A record's move: added to the item as it is (created without a baseline if absent).
    Move,
}

/// The condition `guard` sets on the counters item before the change, with its names and
/// values. A missing item or counter is zero: no member remains, none is left.
fn condition(guard: CountGuard) -> (&'static str, &'static str) {
    match guard {
        CountGuard::MembersRemain => ("#guard > :guard", "1"),
        CountGuard::NoMemberLeft => ("attribute_not_exists(#guard) OR #guard <= :guard", "0"),
    }
}

/// The transaction item checking `guard` on the enrollment's counters, where no counter
/// moves.
pub(super) fn check(
    table: &str,
    enrollment: &EnrollmentName,
    guard: CountGuard,
) -> TransactWriteItem {
    let (expression, value) = condition(guard);
    TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(counts_key(enrollment)))
                .condition_expression(expression)
                .expression_attribute_names("#guard", attribute(Counter::MembersInOldOrganization))
                .expression_attribute_values(":guard", AttributeValue::N(value.to_owned()))
                .build()
                .expect("table, key and condition are set"),
        )
        .build()
}

/// The transaction item adding `change` to its enrollment's counters, conditioned on
/// `guard` when there is one.
pub(super) fn add(
    table: &str,
    change: &CountChange,
    counting: Counting,
    guard: Option<CountGuard>,
    now: DateTime<Utc>,
) -> TransactWriteItem {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(counts_key(&change.enrollment)))
        .expression_attribute_names("#enrollment", "enrollment")
        .expression_attribute_values(
            ":enrollment",
            AttributeValue::S(change.enrollment.to_string()),
        )
        .expression_attribute_names("#revision", "revision")
        .expression_attribute_values(":one", AttributeValue::N("1".to_owned()));
    let mut set = vec!["#enrollment = :enrollment".to_owned()];
    if counting != Counting::Move {
        update = update
            .expression_attribute_names("#enrolled", "enrolled_at")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()));
        set.push("#enrolled = :now".to_owned());
    }
    if let Some(guard) = guard {
        let (expression, value) = condition(guard);
        update = update
            .condition_expression(expression)
            .expression_attribute_names("#guard", attribute(Counter::MembersInOldOrganization))
            .expression_attribute_values(":guard", AttributeValue::N(value.to_owned()));
    }
    if counting == Counting::Create {
        update = update
            .expression_attribute_names("#schema", SCHEMA_ATTRIBUTE)
            .expression_attribute_values(":schema", schema_value())
            .condition_expression("attribute_not_exists(pk)");
        set.push("#schema = :schema".to_owned());
    }
    if let Some(management) = &change.management_account {
        update = update
            .expression_attribute_names("#management", "management_account")
            .expression_attribute_values(":management", AttributeValue::S(management.to_string()));
        set.push("#management = :management".to_owned());
    }
    let mut adds = vec!["#revision :one".to_owned()];
    for (i, (counter, delta)) in change.deltas.iter().enumerate() {
        update = update
            .expression_attribute_names(format!("#c{i}"), attribute(*counter))
            .expression_attribute_values(format!(":d{i}"), AttributeValue::N(delta.to_string()));
        adds.push(format!("#c{i} :d{i}"));
    }
    let expression = format!("SET {} ADD {}", set.join(", "), adds.join(", "));
    TransactWriteItem::builder()
        .update(
            update
                .update_expression(expression)
                .build()
                .expect("table, key and expression are set"),
        )
        .build()
}

#[async_trait]
impl CountReader for DynamoRecordStore {
    #[tracing::instrument(skip(self), fields(enrollment = %enrollment))]
    async fn load_counts(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<EnrollmentCounts, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(counts_key(enrollment)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", &e))?;
        output.item.map_or_else(
            || Ok(EnrollmentCounts::default()),
            |item| parse(&item, enrollment),
        )
    }
}

/// Reads the counters item (missing counters are zero). Without `schema_version` it was
/// never a baseline (an earlier release's, see [`super::keys`]): partial until rebuilt.
pub(super) fn parse(
    item: &HashMap<String, AttributeValue>,
    enrollment: &EnrollmentName,
) -> Result<EnrollmentCounts, StoreError> {
    let malformed = |what: String| {
        StoreError::Permanent(format!(
            "malformed counters of enrollment {enrollment}: {what}"
        ))
    };
    let mut counts = EnrollmentCounts::default();
    for counter in every_counter() {
        let name = attribute(counter);
        match item.get(&name) {
            None => {}
            Some(AttributeValue::N(n)) => {
                let value = n.parse().map_err(|e| malformed(format!("{name}: {e}")))?;
                counts.values.insert(counter, value);
            }
            Some(other) => return Err(malformed(format!("{name} is {other:?}"))),
        }
    }
    counts.management_account = match item.get("management_account") {
        Some(AttributeValue::S(id)) => {
            Some(AccountId::parse(id).map_err(|e| malformed(e.to_string()))?)
        }
        _ => None,
    };
    counts.partial = !item.contains_key(SCHEMA_ATTRIBUTE);
    Ok(counts)
}
