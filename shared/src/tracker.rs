//! The tracker: the CloudTrail handler. An EventBridge event becomes a domain event (or is
//! ignored, or rejected as malformed or as a body that disagrees with its envelope about
//! who recorded it) and is recorded through the [`ObservationRecorder`], exactly once, with
//! its notifications. `onboardctl replay` goes through the same path
//! ([`Tracker::replay_json`]): the same parse, the same origin rules; only the history
//! entry is marked replayed.

use std::sync::Arc;

use serde_json::Value;
use tracing::{info, warn};

use crate::cloudtrail::parse_event;
use crate::domain::{DomainEvent, FunctionName, Target};
use crate::metrics;
use crate::ports::{Notifier, TargetDirectory};
use crate::recorder::{ObservationRecorder, RecorderStore};
pub use crate::recorder::{ObserverError, Outcome, RecordError as TrackerError};

/// Counts one metric by name.
pub type Counter = Arc<dyn Fn(&'static str) + Send + Sync>;

pub struct Tracker<S, N> {
    recorder: ObservationRecorder<S, N>,
    count: Counter,
}

impl<S: RecorderStore, N: Notifier> Tracker<S, N> {
    /// A tracker counting its metrics as CloudWatch embedded metrics ([`metrics::count`]).
    pub fn new(store: S, notifier: N, target: Target) -> Self {
        Self {
            // One event per invocation: what it published is left to expire.
            recorder: ObservationRecorder::new(store, notifier, target)
                .leaving_published_to_expire(),
            count: Arc::new(|metric| metrics::count(metric, FunctionName::Tracker)),
        }
    }

    /// Confirms acceptances with the target organization's member list.
    pub fn with_target_directory(mut self, members: Arc<dyn TargetDirectory>) -> Self {
        self.recorder = self.recorder.with_target_directory(members);
        self
    }

    /// Counts metrics with `count` instead (tests; the CLI, whose report is its output).
    pub fn counting_with(mut self, count: Counter) -> Self {
        self.count = count;
        self
    }

    /// The recorder the tracker records through (every other function records through
    /// one too).
    pub fn recorder(&self) -> &ObservationRecorder<S, N> {
        &self.recorder
    }

    /// Handles one EventBridge event. `Err` only for what a retry can fix.
    pub async fn handle_json(&self, event: &Value) -> Result<Outcome, TrackerError> {
        self.handle(event, false).await
    }

    /// Handles one event an operator fed (`onboardctl replay`): exactly as
    /// [`Self::handle_json`], and the history marks what it applied as replayed.
    pub async fn replay_json(&self, event: &Value) -> Result<Outcome, TrackerError> {
        self.handle(event, true).await
    }

    async fn handle(&self, event: &Value, replayed: bool) -> Result<Outcome, TrackerError> {
        match parse_event(event) {
            Ok(event) => {
                let mut event = event.about_customer(&self.recorder.target().management_account);
                event.replayed = replayed;
                self.record(&event).await
            }
            Err(error) if error.is_unsupported() => {
                info!(event_id = error.event_id(), %error, "ignoring event");
                Ok(Outcome::Ignored {
                    reason: error.to_string(),
                })
            }
            Err(error) if error.is_origin_mismatch() => {
                warn!(event_id = error.event_id(), %error, metric = metrics::ORIGIN_MISMATCH, replayed,
                    "rejecting an event whose body disagrees with its envelope about who recorded it");
                (self.count)(metrics::ORIGIN_MISMATCH);
                Ok(Outcome::Rejected {
                    reason: error.to_string(),
                })
            }
            Err(error) => {
                warn!(event_id = error.event_id(), %error, "rejecting malformed event");
                Ok(Outcome::Rejected {
                    reason: error.to_string(),
                })
            }
        }
    }

    /// Applies one domain event and everything it leads to; one event is one run (its
    /// digest, e.g. of an unexpected acceptance, is published at the end).
    pub async fn record(&self, event: &DomainEvent) -> Result<Outcome, TrackerError> {
        let outcome = self.recorder.record(event).await;
        self.recorder.publish_digests(FunctionName::Tracker).await?;
        outcome
    }
}

/// Every function is built on a recorder; a tracker gives its own (the tests and the
/// harness build functions from a tracker).
impl<S, N> From<Tracker<S, N>> for ObservationRecorder<S, N> {
    fn from(tracker: Tracker<S, N>) -> Self {
        tracker.recorder
    }
}
