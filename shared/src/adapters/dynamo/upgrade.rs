//! Upgrading items earlier releases wrote ([`StoredDataUpgrade`]), a bounded step at a time.
//!
//! A step reads one page of at most `limit` items with a consistent `Scan` from where the
//! last step stopped (the page's start key is kept in the `UPGRADE` / `SCHEMA#<n>` item),
//! keeping those without the current `schema_version`, and upgrades each by its kind, with
//! a conditional `UpdateItem` that changes nothing else:
//! - a record: `schema_version`, and `to_place` on a joined record not yet placed (release
//!   1 and 2 never wrote it, so the placer's index never listed them), conditioned on the
//!   version it was read at (a concurrent commit writes the current layout itself);
//! - an outbox item: `schema_version`, and release 1's missing `pending` / `pending_since`
//!   (so the reconciler's `by_pending` query finds it), if it still exists;
//! - a sweep cursor: `schema_version`, if it still exists;
//! - every enrollment met (through a record or its counters item): its counters are rebuilt
//!   from the records unless they are a baseline already ([`super::rebuild`]).
//!
//! Event markers are left as they are: only their existence is ever read, and they expire
//! within 30 days. Once the scan reaches the end with no rebuild waiting, the upgrade item
//! says `finished` and a step is one `GetItem`.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::codec::{key, record_from_item, Item};
use super::keys::{
    schema_value, upgrade_sk, COUNTS_SK, CURSOR_SK, ENROLLMENT_PREFIX, EVENT_SK, OUTBOX_PREFIX,
    PENDING_OUTBOX, RECORD_SK, SCHEMA_ATTRIBUTE, TO_PLACE, UPGRADE_PK,
};
use super::{classify, is_condition_failure, DynamoRecordStore};
use crate::domain::{awaits_placement, EnrollmentName};
use crate::ports::{StoreError, StoredDataUpgrade, UpgradeReport};

/// Where the upgrade stands, as its item keeps it.
#[derive(Debug, Default)]
struct Progress {
    resume_at: Option<Item>,
    /// The scan reached the end of the table: only deferred rebuilds remain.
    scanned_all: bool,
    finished: bool,
    /// Enrollments whose counters rebuild waits for a later step.
    deferred: BTreeSet<String>,
}

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

impl DynamoRecordStore {
    async fn progress(&self) -> Result<Progress, StoreError> {
        let Some(item) = self.get(key(UPGRADE_PK.to_owned(), &upgrade_sk())?).await? else {
            return Ok(Progress::default());
        };
        Ok(Progress {
            resume_at: match item.get("resume_at") {
                Some(AttributeValue::M(start)) => Some(start.clone()),
                _ => None,
            },
            scanned_all: matches!(item.get("scanned_all"), Some(AttributeValue::Bool(true))),
            finished: matches!(item.get("finished"), Some(AttributeValue::Bool(true))),
            deferred: match item.get("deferred") {
                Some(AttributeValue::Ss(names)) => names.iter().cloned().collect(),
                _ => BTreeSet::new(),
            },
        })
    }

    async fn save_progress(&self, progress: &Progress) -> Result<(), StoreError> {
        let mut item = key(UPGRADE_PK.to_owned(), &upgrade_sk())?;
        item.insert(
            "scanned_all".into(),
            AttributeValue::Bool(progress.scanned_all),
        );
        item.insert("finished".into(), AttributeValue::Bool(progress.finished));
        if let Some(start) = &progress.resume_at {
            item.insert("resume_at".into(), AttributeValue::M(start.clone()));
        }
        if !progress.deferred.is_empty() {
            let names = progress.deferred.iter().cloned().collect();
            item.insert("deferred".into(), AttributeValue::Ss(names));
        }
        self.put_current(item).await
    }

    /// One page of the items written before this release (markers and the upgrade's own
    /// item left out), read consistently; and where the next page starts.
    async fn older_items(
        &self,
        limit: usize,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, usize, Option<Item>), StoreError> {
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .filter_expression(
                "(attribute_not_exists(#schema) OR #schema < :schema) AND #sk <> :event AND #pk <> :upgrade",
            )
            .expression_attribute_names("#schema", SCHEMA_ATTRIBUTE)
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":schema", schema_value())
            .expression_attribute_values(":event", AttributeValue::S(EVENT_SK.to_owned()))
            .expression_attribute_values(":upgrade", AttributeValue::S(UPGRADE_PK.to_owned()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| classify("Scan", &e))?;
        let scanned = usize::try_from(page.scanned_count).unwrap_or_default();
        let next = page.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((page.items.unwrap_or_default(), scanned, next))
    }

    /// `SET` of `schema_version` and `extra` on the item `key`, if `condition` holds;
    /// `false` when it does not (the item changed or went meanwhile).
    async fn set_schema(
        &self,
        key: Item,
        extra: &[(&str, AttributeValue)],
        condition: (&str, Option<(&str, AttributeValue)>),
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .expression_attribute_names("#schema", SCHEMA_ATTRIBUTE)
            .expression_attribute_values(":schema", schema_value())
            .condition_expression(condition.0);
        let mut set = vec!["#schema = :schema".to_owned()];
        for (i, (name, value)) in extra.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#x{i}"), *name)
                .expression_attribute_values(format!(":x{i}"), value.clone());
            set.push(format!("#x{i} = :x{i}"));
        }
        if let Some((name, value)) = condition.1 {
            update = update
                .expression_attribute_names("#c", name)
                .expression_attribute_values(":c", value);
        }
        match update
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(classify("UpdateItem", &err)),
        }
    }

    /// Upgrades one item of the page by its kind; the enrollment it names goes to
    /// `enrollments` (its counters are checked after the page).
    async fn upgrade_item(
        &self,
        item: Item,
        report: &mut UpgradeReport,
        enrollments: &mut BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let (Some(pk), Some(sk)) = (text(&item, "pk"), text(&item, "sk")) else {
            warn!("an item without string keys, left as it is");
            report.unreadable += 1;
            return Ok(());
        };
        let item_key = key(pk.clone(), &sk)?;
        if sk == RECORD_SK {
            let record = match record_from_item(item) {
                Ok(record) => record,
                Err(error) => {
                    warn!(%pk, %error, "unreadable record, left as it is");
                    report.unreadable += 1;
                    return Ok(());
                }
            };
            enrollments.insert(record.enrollment.to_string());
            let place = awaits_placement(&record);
            let extra: &[(&str, AttributeValue)] = if place {
                &[("to_place", AttributeValue::S(TO_PLACE.to_owned()))]
            } else {
                &[]
            };
            let version = AttributeValue::N(record.version.to_string());
            // A record committed meanwhile was written in the current layout by its writer.
            if self
                .set_schema(item_key, extra, ("#c = :c", Some(("version", version))))
                .await?
            {
                report.records += 1;
                report.awaiting_placement += usize::from(place);
            }
        } else if pk.starts_with(OUTBOX_PREFIX) {
            let mut extra = Vec::new();
            if !item.contains_key("pending") {
                let since = text(&item, "created_at")
                    .and_then(|at| at.parse::<DateTime<Utc>>().ok())
                    .unwrap_or_else(Utc::now);
                extra.push(("pending", AttributeValue::S(PENDING_OUTBOX.to_owned())));
                extra.push((
                    "pending_since",
                    AttributeValue::N(since.timestamp().to_string()),
                ));
            }
            if self
                .set_schema(item_key, &extra, ("attribute_exists(pk)", None))
                .await?
            {
                report.outbox += 1;
            }
        } else if sk == CURSOR_SK {
            if self
                .set_schema(item_key, &[], ("attribute_exists(pk)", None))
                .await?
            {
                report.cursors += 1;
            }
        } else if sk == COUNTS_SK {
            if let Some(name) = pk.strip_prefix(ENROLLMENT_PREFIX) {
                enrollments.insert(name.to_owned());
            }
        } else {
            warn!(%pk, %sk, "an item of no kind this release knows, left as it is");
            report.unreadable += 1;
        }
        Ok(())
    }

    /// Rebuilds the counters of each of `names` that need it; those that must wait stay
    /// in `progress.deferred`.
    async fn baseline_all(
        &self,
        names: BTreeSet<String>,
        progress: &mut Progress,
        report: &mut UpgradeReport,
    ) -> Result<(), StoreError> {
        for name in names {
            let Ok(enrollment) = EnrollmentName::parse(&name) else {
                warn!(enrollment = %name, "an enrollment name this release cannot read");
                report.unreadable += 1;
                progress.deferred.remove(&name);
                continue;
            };
            match self.rebuild_counts(&enrollment).await {
                Ok(super::rebuild::Rebuild::Rebuilt) => {
                    progress.deferred.remove(&name);
                    report.rebuilt.push(enrollment);
                }
                Ok(super::rebuild::Rebuild::Baseline) => {
                    progress.deferred.remove(&name);
                }
                Ok(super::rebuild::Rebuild::Deferred) => {
                    progress.deferred.insert(name);
                    report.deferred.push(enrollment);
                }
                Err(StoreError::Permanent(error)) => {
                    warn!(%enrollment, %error, "counters not rebuilt: an unreadable record");
                    progress.deferred.remove(&name);
                    report.unreadable += 1;
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl StoredDataUpgrade for DynamoRecordStore {
    #[tracing::instrument(skip(self))]
    async fn upgrade_step(&self, limit: usize, restart: bool) -> Result<UpgradeReport, StoreError> {
        let mut progress = if restart {
            Progress::default()
        } else {
            self.progress().await?
        };
        let mut report = UpgradeReport::default();
        if progress.finished {
            report.finished = true;
            return Ok(report);
        }
        // Rebuilds that waited are tried again with the page's.
        let mut enrollments = progress.deferred.clone();
        if !progress.scanned_all {
            let (items, scanned, next) = self.older_items(limit, progress.resume_at.take()).await?;
            report.examined = scanned;
            for item in items {
                self.upgrade_item(item, &mut report, &mut enrollments)
                    .await?;
            }
            progress.scanned_all = next.is_none();
            progress.resume_at = next;
        }
        self.baseline_all(enrollments, &mut progress, &mut report)
            .await?;
        progress.finished = progress.scanned_all && progress.deferred.is_empty();
        self.save_progress(&progress).await?;
        report.finished = progress.finished;
        if report.upgraded() > 0 || !report.deferred.is_empty() {
            info!(
                records = report.records,
                awaiting_placement = report.awaiting_placement,
                outbox = report.outbox,
                cursors = report.cursors,
                rebuilt = report.rebuilt.len(),
                deferred = report.deferred.len(),
                unreadable = report.unreadable,
                "stored items upgraded"
            );
        }
        Ok(report)
    }
}
