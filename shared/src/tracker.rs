//! The tracker: the CloudTrail handler. An EventBridge event becomes a domain event (or is
//! ignored, or rejected as malformed) and is recorded through the
//! [`ObservationRecorder`], exactly once, with its notifications.

use std::sync::Arc;

use serde_json::Value;
use tracing::{info, warn};

use crate::cloudtrail::parse_event;
use crate::domain::{DomainEvent, FunctionName, Target};
use crate::ports::{Notifier, TargetDirectory};
use crate::recorder::{ObservationRecorder, RecorderStore};
pub use crate::recorder::{ObserverError, Outcome, RecordError as TrackerError};

pub struct Tracker<S, N> {
    recorder: ObservationRecorder<S, N>,
}

impl<S: RecorderStore, N: Notifier> Tracker<S, N> {
    pub fn new(store: S, notifier: N, target: Target) -> Self {
        Self {
            recorder: ObservationRecorder::new(store, notifier, target),
        }
    }

    /// Confirms acceptances with the target organization's member list.
    pub fn with_target_directory(mut self, members: Arc<dyn TargetDirectory>) -> Self {
        self.recorder = self.recorder.with_target_directory(members);
        self
    }

    /// The recorder the tracker records through (every other function records through
    /// one too).
    pub fn recorder(&self) -> &ObservationRecorder<S, N> {
        &self.recorder
    }

    /// Handles one EventBridge event. `Err` only for what a retry can fix.
    pub async fn handle_json(&self, event: &Value) -> Result<Outcome, TrackerError> {
        match parse_event(event) {
            Ok(event) => {
                let event = event.about_customer(&self.recorder.target().management_account);
                self.record(&event).await
            }
            Err(error) if error.is_unsupported() => {
                info!(event_id = error.event_id(), %error, "ignoring event");
                Ok(Outcome::Ignored {
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
