//! Items <-> values: the record, the event marker and the outbox item as DynamoDB items
//! (mapped with `serde_dynamo`, keyed as [`super::keys`] lays out), and back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::keys::{
    marker_pk, outbox_pk, parse_scope, record_pk, scope_text, EVENT_SK, PENDING_OUTBOX, RECORD_SK,
    SCHEMA_VERSION, TO_PLACE,
};
use crate::domain::{awaits_placement, OnboardingRecord};
use crate::ports::{
    OutboxClaim, OutboxItem, OutboxScope, OutgoingNotification, Settling, StoreError,
};

/// How long an event marker is kept: far longer than any redelivery or Lambda retry.
pub const MARKER_RETENTION: chrono::Duration = chrono::Duration::days(30);

pub(super) type Item = HashMap<String, AttributeValue>;

#[derive(Serialize)]
struct Key<'a> {
    pk: String,
    sk: &'a str,
}

#[derive(Serialize)]
struct RecordItem<'a> {
    pk: String,
    sk: &'static str,
    schema_version: u32,
    /// [`super::keys::BY_PLACEMENT_INDEX`]'s hash key, only on a joined record not yet placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    to_place: Option<&'static str>,
    #[serde(flatten)]
    record: &'a OnboardingRecord,
}

#[derive(Serialize)]
struct MarkerItem<'a> {
    pk: String,
    sk: &'static str,
    schema_version: u32,
    scope: &'a str,
    created_at: DateTime<Utc>,
    expires_at: i64,
}

/// An outbox item as written; read back as [`StoredOutbox`].
#[derive(Serialize)]
struct OutboxEntry<'a> {
    pk: String,
    sk: &'a str,
    schema_version: u32,
    scope: String,
    event_id: &'a str,
    notifications: &'a [OutgoingNotification],
    created_at: DateTime<Utc>,
    /// [`super::keys::BY_PENDING_INDEX`]'s keys: a constant, and the commit time in epoch
    /// seconds; absent from an item left to expire ([`Settling::Expires`]) until it is
    /// released, so the reconciler's sweep never publishes what its publisher published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_since: Option<i64>,
    /// The table's TTL attribute, on an item left to expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed_until: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed_by: Option<&'a str>,
    follow_ups: bool,
}

/// What an outbox item is read as (the other attributes are ignored).
#[derive(Deserialize)]
struct StoredOutbox {
    scope: String,
    event_id: String,
    notifications: Vec<OutgoingNotification>,
    claimed_until: Option<i64>,
    claimed_by: Option<String>,
    /// Items of a release that did not keep it: their follow-ups are redone.
    #[serde(default = "unknown_follow_ups")]
    follow_ups: bool,
}

fn unknown_follow_ups() -> bool {
    true
}

fn to_item<T: Serialize>(what: &str, value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Permanent(format!("cannot map {what} to a DynamoDB item: {e}")))
}

pub(super) fn to_value<T: Serialize>(what: &str, value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::Permanent(format!("cannot map {what} to a DynamoDB value: {e}")))
}

pub(super) fn key(pk: String, sk: &str) -> Result<Item, StoreError> {
    to_item("a key", &Key { pk, sk })
}

pub(super) fn record_item(record: &OnboardingRecord) -> Result<Item, StoreError> {
    to_item(
        "the record",
        &RecordItem {
            pk: record_pk(&record.account_id),
            sk: RECORD_SK,
            schema_version: SCHEMA_VERSION,
            to_place: awaits_placement(record).then_some(TO_PLACE),
            record,
        },
    )
}

pub(super) fn record_from_item(item: Item) -> Result<OnboardingRecord, StoreError> {
    let pk = match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => "(no pk)".to_owned(),
    };
    serde_dynamo::from_item(item)
        .map_err(|e| StoreError::Permanent(format!("malformed record item {pk}: {e}")))
}

pub(super) fn marker_item(
    event_id: &str,
    scope: &OutboxScope,
    now: DateTime<Utc>,
) -> Result<Item, StoreError> {
    to_item(
        "the event marker",
        &MarkerItem {
            pk: marker_pk(event_id),
            sk: EVENT_SK,
            schema_version: SCHEMA_VERSION,
            scope: &scope_text(scope),
            created_at: now,
            expires_at: (now + MARKER_RETENTION).timestamp(),
        },
    )
}

pub(super) fn outbox_item(
    outbox: &OutboxItem,
    now: DateTime<Utc>,
    settling: Settling,
) -> Result<Item, StoreError> {
    let pending = settling == Settling::Cleared;
    let expires = settling == Settling::Expires;
    to_item(
        "the outbox",
        &OutboxEntry {
            pk: outbox_pk(&outbox.scope),
            sk: &outbox.event_id,
            schema_version: SCHEMA_VERSION,
            scope: scope_text(&outbox.scope),
            event_id: &outbox.event_id,
            notifications: &outbox.notifications,
            created_at: now,
            pending: pending.then_some(PENDING_OUTBOX),
            pending_since: pending.then(|| now.timestamp()),
            expires_at: expires.then(|| (now + MARKER_RETENTION).timestamp()),
            claimed_until: outbox.claim.as_ref().map(|c| c.until.timestamp()),
            claimed_by: outbox.claim.as_ref().map(|c| c.by.as_str()),
            follow_ups: outbox.follow_ups,
        },
    )
}

pub(super) fn outbox_from_item(item: Item) -> Result<OutboxItem, StoreError> {
    let malformed = |e: String| StoreError::Permanent(format!("malformed outbox item: {e}"));
    let stored: StoredOutbox =
        serde_dynamo::from_item(item).map_err(|e| malformed(e.to_string()))?;
    let claim = match (stored.claimed_by, stored.claimed_until) {
        (Some(by), Some(until)) => Some(OutboxClaim {
            by,
            until: DateTime::from_timestamp(until, 0)
                .ok_or_else(|| malformed(format!("claimed_until {until}")))?,
        }),
        _ => None,
    };
    Ok(OutboxItem {
        scope: parse_scope(&stored.scope).map_err(malformed)?,
        event_id: stored.event_id,
        notifications: stored.notifications,
        claim,
        follow_ups: stored.follow_ups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, EnrollmentName, Phase, Role, TransferMode};
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

    fn account_scope() -> OutboxScope {
        OutboxScope::Account(AccountId::parse("111122223333").unwrap())
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
        assert_eq!(item["schema_version"], AttributeValue::N("4".into()));
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
        let item = marker_item("ev-1", &account_scope(), now).unwrap();
        assert_eq!(item["pk"], AttributeValue::S("EVENT#ev-1".into()));
        assert_eq!(item["sk"], AttributeValue::S("EVENT".into()));
        let expected = (now.timestamp() + 30 * 86_400).to_string();
        assert_eq!(item["expires_at"], AttributeValue::N(expected));
        assert_eq!(item["schema_version"], AttributeValue::N("4".into()));
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
        let outbox = OutboxItem {
            scope: account_scope(),
            event_id: "ev-1".into(),
            notifications,
            claim: Some(OutboxClaim {
                by: "invocation-1".into(),
                until: DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap(),
            }),
            follow_ups: true,
        };
        let item = outbox_item(&outbox, Utc::now(), Settling::Cleared).unwrap();
        assert_eq!(item["pk"], AttributeValue::S("OUTBOX#111122223333".into()));
        assert_eq!(item["sk"], AttributeValue::S("ev-1".into()));
        assert!(matches!(item["notifications"], AttributeValue::L(_)));
        assert_eq!(item["schema_version"], AttributeValue::N("4".into()));
        assert!(!item.contains_key("enrollment") && !item.contains_key("phase"));
        assert!(item.contains_key("pending") && !item.contains_key("expires_at"));
        assert_eq!(outbox_from_item(item).unwrap(), outbox);
    }

    #[test]
    fn an_outbox_item_left_to_expire_is_out_of_the_pending_index_with_a_ttl() {
        let now = Utc::now();
        let outbox = OutboxItem::announcement(account_scope(), "ev-1", Vec::new());
        let item = outbox_item(&outbox, now, Settling::Expires).unwrap();
        assert!(!item.contains_key("pending") && !item.contains_key("pending_since"));
        let expected = (now.timestamp() + 30 * 86_400).to_string();
        assert_eq!(item["expires_at"], AttributeValue::N(expected));
    }

    #[test]
    fn an_outbox_item_of_an_earlier_release_redoes_its_follow_ups() {
        let outbox = OutboxItem::announcement(account_scope(), "ev-1", Vec::new());
        let mut item = outbox_item(&outbox, Utc::now(), Settling::Cleared).unwrap();
        item.remove("follow_ups");
        assert!(outbox_from_item(item).unwrap().follow_ups);
    }

    #[test]
    fn an_enrollments_outbox_is_written_under_its_enrollment_key() {
        let scope = OutboxScope::Enrollment(EnrollmentName::parse("acme").unwrap());
        let now = Utc::now();
        let outbox = OutboxItem::announcement(scope.clone(), "completed#acme", Vec::new());
        let item = outbox_item(&outbox, now, Settling::Cleared).unwrap();
        assert_eq!(
            item["pk"],
            AttributeValue::S("OUTBOX#ENROLLMENT#acme".into())
        );
        assert_eq!(item["scope"], AttributeValue::S("ENROLLMENT#acme".into()));
        let marker = marker_item("completed#acme", &scope, now).unwrap();
        assert_eq!(marker["scope"], AttributeValue::S("ENROLLMENT#acme".into()));
        assert_eq!(outbox_from_item(item).unwrap().scope, scope);
    }
}
