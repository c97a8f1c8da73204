//! The stored-data upgrade as the reconciler's passes and `onboardctl migrate` run it: a
//! bounded step of the store's upgrade ([`StoredDataUpgrade`]), then the completion check
//! of every enrollment whose counters it rebuilt (its last account may have been placed
//! while its counters could not say so: nothing else would announce it).

use crate::ports::{Notifier, StoredDataUpgrade, UpgradeReport};
use crate::recorder::{ObservationRecorder, RecordError, RecorderStore};

/// How many items one reconciler pass examines: a page well inside a pass's time (one
/// `Scan` page, a conditional write per older item, a rebuild per enrollment met).
pub const PER_PASS: usize = 200;

/// One step of at most `limit` items (`restart`: from the first item), then the
/// completion of each enrollment rebuilt.
pub async fn step<S, N>(
    recorder: &ObservationRecorder<S, N>,
    limit: usize,
    restart: bool,
) -> Result<UpgradeReport, RecordError>
where
    S: RecorderStore + StoredDataUpgrade,
    N: Notifier,
{
    let report = recorder.store().upgrade_step(limit, restart).await?;
    for enrollment in &report.rebuilt {
        recorder
            .announce_completion(enrollment, "stored-data-upgrade")
            .await?;
    }
    Ok(report)
}
