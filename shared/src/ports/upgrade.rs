//! Bringing stored items written by earlier releases up to date, a bounded step at a time.

use async_trait::async_trait;

use super::store::StoreError;
use crate::domain::EnrollmentName;

/// What one upgrade step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpgradeReport {
    /// Items the step read (every kind; those already up to date included).
    pub examined: usize,
    /// Records given the current schema version.
    pub records: usize,
    /// Of those, joined records not yet placed that now list as awaiting placement.
    pub awaiting_placement: usize,
    /// Outbox items given the current schema version (and, from the first release, the
    /// attributes that list them as pending).
    pub outbox: usize,
    /// Sweep cursors given the current schema version.
    pub cursors: usize,
    /// Enrollments whose counters were rebuilt from their records.
    pub rebuilt: Vec<EnrollmentName>,
    /// Enrollments whose rebuild waits for a later step (records were enrolled a moment
    /// ago, or the counters changed while the rebuild read the records).
    pub deferred: Vec<EnrollmentName>,
    /// Items that could not be read (each logged with its key), left as they are.
    pub unreadable: usize,
    /// Every item of the table was seen and nothing waits: later steps cost one read.
    pub finished: bool,
}

impl UpgradeReport {
    /// How many items the step changed.
    pub fn upgraded(&self) -> usize {
        self.records + self.outbox + self.cursors + self.rebuilt.len()
    }
}

/// Brings items written by earlier releases up to date.
#[async_trait]
pub trait StoredDataUpgrade: Send + Sync {
    /// Upgrades what it finds among at most `limit` items, resuming where the last step
    /// stopped (`restart`: from the first item, even after a finished upgrade). Idempotent.
    async fn upgrade_step(&self, limit: usize, restart: bool) -> Result<UpgradeReport, StoreError>;
}

#[async_trait]
impl<T: StoredDataUpgrade + ?Sized> StoredDataUpgrade for std::sync::Arc<T> {
    async fn upgrade_step(&self, limit: usize, restart: bool) -> Result<UpgradeReport, StoreError> {
        (**self).upgrade_step(limit, restart).await
    }
}
