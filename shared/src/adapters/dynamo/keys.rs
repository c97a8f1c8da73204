//! The table's key layout, known only to this adapter.
//!
//! One table, string keys `pk` (HASH) and `sk` (RANGE), on-demand billing, TTL attribute
//! `expires_at`. Five kinds of item:
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | onboarding record | `ACCOUNT#<account_id>` | `RECORD` | every [`OnboardingRecord`](crate::domain::OnboardingRecord) field, mapped with `serde_dynamo` |
//! | event marker | `EVENT#<event_id>` | `EVENT` | `scope`, `created_at`, `expires_at` (epoch seconds, now + 30 days) |
//! | outbox | `OUTBOX#<scope>` | `<event_id>` | `scope`, `event_id`, `notifications` (list), `created_at`, `follow_ups` (the commit's follow-ups are not known to be done; absent = an earlier release's item: redone), `pending`, `pending_since` (absent while an item left to expire is held), `expires_at` (the TTL of an item left to expire), `claimed_until` (epoch seconds, while an invocation holds it), `claimed_by` (that invocation's request id or token) |
//! | sweep cursor | `SWEEP#<name>` | `CURSOR` | `after` (the account the last sweep stopped after) |
//! | enrollment counters | `ENROLLMENT#<name>` | `COUNTS` | `accounts`, `phase_<Phase>`, `members_in_old_organization`, `placed` (numbers, changed only by `ADD`, or set whole by a rebuild), `revision` (`ADD 1` by every change), `enrolled_at` (epoch seconds of the last records enrolled), `enrollment`, `management_account` (see `counts`) |
//! | stored-data upgrade | `UPGRADE` | `SCHEMA#<n>` | `resume_at` (the scan's next start key), `finished` (see `upgrade`) |
//!
//! Every item this release writes carries `schema_version` = [`SCHEMA_VERSION`]. An item
//! without it was written by an earlier release (`tests/fixtures/stored/`): release 1
//! (no counters, no outbox `pending`), 2 (no `to_place`) or 3; the upgrade tells them
//! apart by their attributes where it matters. On a counters item `schema_version` also
//! means "a complete baseline": the item was created with its enrollment's first records,
//! or rebuilt from the records; one without it may hold only the changes made since an
//! earlier release started counting, and is rebuilt.
//!
//! An outbox's `<scope>` is the account id for an account's outbox, `ENROLLMENT#<name>`
//! for an enrollment's announcements ([`scope_text`]).
//!
//! Two sparse global secondary indexes, both projecting every attribute, hold only the
//! record items, because only they carry the top-level `enrollment` and `phase` attributes
//! (they are record fields, not copies):
//! - `by_enrollment`: HASH `enrollment`, RANGE `account_id`;
//! - `by_phase`: HASH `phase`, RANGE `account_id`.
//!
//! A third, `by_pending` (HASH `pending` = `OUTBOX`, RANGE `pending_since`, epoch seconds),
//! holds only the outbox items that are pending (all but those the tracker left to expire
//! while their invocation holds them), so the reconciler finds those left pending by a
//! failed invocation with one query (sized by the pending items, not the table). A fourth,
//! `by_placement` (HASH `to_place` = `PLACE`, RANGE `account_id`), holds only the joined
//! records not yet placed (the adapter writes `to_place` on those alone), so the placer's
//! sweep reads what it has to do, not every joined account.

use crate::domain::{AccountId, EnrollmentName};
use crate::ports::OutboxScope;

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
pub(super) const TO_PLACE: &str = "PLACE";
/// The `pending` value every outbox item carries (the hash key of [`BY_PENDING_INDEX`]).
pub(super) const PENDING_OUTBOX: &str = "OUTBOX";
/// The layout of the items this release writes (see the table above).
pub const SCHEMA_VERSION: u32 = 4;

/// [`SCHEMA_VERSION`] as an attribute value.
pub(super) fn schema_value() -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::N(SCHEMA_VERSION.to_string())
}
/// The attribute every item of this release carries.
pub(super) const SCHEMA_ATTRIBUTE: &str = "schema_version";
/// The table's TTL attribute (event markers only).
pub const TTL_ATTRIBUTE: &str = "expires_at";

pub(super) const RECORD_SK: &str = "RECORD";
pub(super) const EVENT_SK: &str = "EVENT";
pub(super) const CURSOR_SK: &str = "CURSOR";
pub(super) const COUNTS_SK: &str = "COUNTS";
pub(super) const OUTBOX_PREFIX: &str = "OUTBOX#";
pub(super) const SWEEP_PREFIX: &str = "SWEEP#";
pub(super) const UPGRADE_PK: &str = "UPGRADE";

pub(super) const ENROLLMENT_PREFIX: &str = "ENROLLMENT#";

pub(super) fn record_pk(account: &AccountId) -> String {
    format!("ACCOUNT#{account}")
}

pub(super) fn marker_pk(event_id: &str) -> String {
    format!("EVENT#{event_id}")
}

pub(super) fn sweep_pk(name: &str) -> String {
    format!("{SWEEP_PREFIX}{name}")
}

pub(super) fn enrollment_pk(enrollment: &EnrollmentName) -> String {
    format!("{ENROLLMENT_PREFIX}{enrollment}")
}

/// The stored-data upgrade's own item, one per schema it upgrades to.
pub(super) fn upgrade_sk() -> String {
    format!("SCHEMA#{SCHEMA_VERSION}")
}

pub(super) fn outbox_pk(scope: &OutboxScope) -> String {
    format!("{OUTBOX_PREFIX}{}", scope_text(scope))
}

/// How a scope is written (the outbox's `scope` attribute and key, the marker's `scope`).
pub(super) fn scope_text(scope: &OutboxScope) -> String {
    match scope {
        OutboxScope::Account(account) => account.to_string(),
        OutboxScope::Enrollment(enrollment) => enrollment_pk(enrollment),
    }
}

/// Reads a scope as [`scope_text`] wrote it.
pub(super) fn parse_scope(text: &str) -> Result<OutboxScope, String> {
    match text.strip_prefix(ENROLLMENT_PREFIX) {
        Some(name) => EnrollmentName::parse(name)
            .map(OutboxScope::Enrollment)
            .map_err(|e| e.to_string()),
        None => AccountId::parse(text)
            .map(OutboxScope::Account)
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_written_as_before_and_read_back() {
        let account = OutboxScope::Account(AccountId::parse("111122223333").unwrap());
        let enrollment = OutboxScope::Enrollment(EnrollmentName::parse("acme").unwrap());
        assert_eq!(scope_text(&account), "111122223333");
        assert_eq!(scope_text(&enrollment), "ENROLLMENT#acme");
        assert_eq!(outbox_pk(&enrollment), "OUTBOX#ENROLLMENT#acme");
        for scope in [account, enrollment] {
            assert_eq!(parse_scope(&scope_text(&scope)), Ok(scope));
        }
        assert!(parse_scope("SOMETHING#else").is_err());
    }
}
