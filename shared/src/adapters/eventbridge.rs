//! [`Notifier`] on Amazon EventBridge: `PutEvents` on the hub bus, source
//! [`crate::ports::SOURCE`], the notification's detail-type and its detail as a
//! JSON string.
//!
//! Entries go out in batches of at most [`MAX_BATCH`] (the `PutEvents` limit). A
//! `FailedEntryCount` above zero is never ignored: the failed entries alone (those the
//! response marks with an `ErrorCode`, matched by position) are sent again, at most
//! [`MAX_ENTRY_RETRIES`] times with jittered exponential backoff, when every code is a
//! retryable one (throttling, internal failure); then the publish fails with
//! [`NotifyError::Transient`]. Any other entry error code fails it at once with
//! [`NotifyError::Permanent`], naming the codes. Either way the caller keeps its outbox
//! and publishes again later; consumers drop repeats by the detail's `notification_id`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::sdk_error;
use crate::domain::blocker::is_transient_code;
use crate::ports::{Notifier, NotifyError, OutgoingNotification, SOURCE};

/// The most entries one `PutEvents` call takes.
pub const MAX_BATCH: usize = 10;
/// How many times failed entries of a batch are sent again before giving up.
pub const MAX_ENTRY_RETRIES: u32 = 3;
/// The first backoff before resending failed entries; it doubles on each retry.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);

/// Publishes notifications as events on one EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventBridgeNotifier {
    client: Client,
    bus: String,
    backoff: Duration,
}

impl EventBridgeNotifier {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
            backoff: DEFAULT_BACKOFF,
        }
    }

    /// Sets the first backoff before resending failed entries (tests use a tiny one).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    fn entry(
        &self,
        notification: &OutgoingNotification,
    ) -> Result<PutEventsRequestEntry, NotifyError> {
        let detail = serde_json::to_string(&notification.detail).map_err(|e| {
            NotifyError::Permanent(format!("detail of {} is not JSON: {e}", notification.id))
        })?;
        Ok(PutEventsRequestEntry::builder()
            .source(SOURCE)
            .detail_type(&notification.detail_type)
            .detail(detail)
            .event_bus_name(&self.bus)
            .build())
    }

    /// Full backoff before retry `retry` (1-based): `backoff * 2^(retry-1)`, jittered to
    /// between half and all of it.
    fn delay(&self, retry: u32) -> Duration {
        let full = self.backoff.saturating_mul(1 << (retry - 1).min(10));
        let full_ms = u64::try_from(full.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(full_ms / 2 + fastrand::u64(0..=full_ms / 2))
    }

    async fn publish_batch(&self, batch: &[OutgoingNotification]) -> Result<(), NotifyError> {
        let mut pending: Vec<(&str, PutEventsRequestEntry)> = batch
            .iter()
            .map(|n| Ok((n.id.as_str(), self.entry(n)?)))
            .collect::<Result<_, NotifyError>>()?;
        let mut retry = 0;
        loop {
            let output = self
                .client
                .put_events()
                .set_entries(Some(pending.iter().map(|(_, e)| e.clone()).collect()))
                .send()
                .await
                .map_err(|e| classify(&e))?;
            if output.failed_entry_count() == 0 {
                return Ok(());
            }
            let results = output.entries();
            if results.len() != pending.len() {
                return Err(NotifyError::Transient(format!(
                    "PutEvents reported {} failed entries but returned {} results for {} entries",
                    output.failed_entry_count(),
                    results.len(),
                    pending.len()
                )));
            }
            let mut failed = Vec::new();
            let mut codes = Vec::new();
            for ((id, entry), result) in pending.into_iter().zip(results) {
                if let Some(code) = result.error_code() {
                    codes.push(format!(
                        "{id}: {code} {}",
                        result.error_message().unwrap_or_default()
                    ));
                    failed.push((id, entry, code));
                }
            }
            if failed.is_empty() {
                return Err(NotifyError::Transient(format!(
                    "PutEvents reported {} failed entries but none carries an error code",
                    output.failed_entry_count()
                )));
            }
            let codes = codes.join("; ");
            if failed.iter().any(|(_, _, code)| !is_transient_code(code)) {
                return Err(NotifyError::Permanent(format!(
                    "EventBridge refused {} of the entries on bus {}: {codes}",
                    failed.len(),
                    self.bus
                )));
            }
            if retry == MAX_ENTRY_RETRIES {
                return Err(NotifyError::Transient(format!(
                    "{} entries still failing after {MAX_ENTRY_RETRIES} retries: {codes}",
                    failed.len()
                )));
            }
            retry += 1;
            let delay = self.delay(retry);
            tracing::warn!(
                failed = failed.len(),
                retry,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                codes,
                "PutEvents entries failed; resending them"
            );
            tokio::time::sleep(delay).await;
            pending = failed
                .into_iter()
                .map(|(id, entry, _)| (id, entry))
                .collect();
        }
    }
}

fn classify<E>(err: &SdkError<E, HttpResponse>) -> NotifyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let read = sdk_error::read(err);
    let detail = format!("PutEvents: {}", read.described);
    if read.transient {
        NotifyError::Transient(detail)
    } else {
        NotifyError::Permanent(detail)
    }
}

#[async_trait]
impl Notifier for EventBridgeNotifier {
    #[tracing::instrument(
        skip(self, notifications),
        fields(bus = %self.bus, count = notifications.len(), event_id)
    )]
    async fn publish(&self, notifications: &[OutgoingNotification]) -> Result<(), NotifyError> {
        if let Some(event_id) = notifications
            .first()
            .and_then(|n| n.detail.get("cloudtrail_event_id"))
            .and_then(|v| v.as_str())
        {
            tracing::Span::current().record("event_id", event_id);
        }
        for batch in notifications.chunks(MAX_BATCH) {
            self.publish_batch(batch).await?;
        }
        Ok(())
    }
}
