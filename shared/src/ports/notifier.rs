//! The notifier: publishes the product's notifications (EventBridge events on the hub bus).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The EventBridge source of every notification the product publishes; rules and
/// subscribers match on it.
pub const SOURCE: &str = "org-onboarding";

/// One notification, ready to publish: its detail-type and JSON detail. `id` is stable
/// across retries (CloudTrail event id and position), so consumers can drop a repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingNotification {
    pub id: String,
    pub detail_type: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("publishing notifications failed, retry later: {0}")]
    Transient(String),
    #[error("publishing notifications failed: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publishes all, or fails: a notification the bus did not take is an error.
    async fn publish(&self, notifications: &[OutgoingNotification]) -> Result<(), NotifyError>;
}

#[async_trait]
impl<T: Notifier + ?Sized> Notifier for std::sync::Arc<T> {
    async fn publish(&self, notifications: &[OutgoingNotification]) -> Result<(), NotifyError> {
        (**self).publish(notifications).await
    }
}
