//! What woke the acceptor or the inviter: a notification about one account (an
//! "Onboarding Phase Changed" event on the hub bus) or a schedule (sweep every candidate).

use std::future::Future;

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::AccountId;
use crate::notifications;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Account(AccountId),
    Sweep,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {event_id}: not a trigger of this function: {reason}")]
pub struct TriggerError {
    pub event_id: String,
    pub reason: String,
}

/// Runs `one` for a notification about one account, `all` for a schedule; logs and skips
/// any other event (no retry storm for an event that will never be ours).
pub async fn dispatch<T, E, One, All>(
    event: &Value,
    one: impl FnOnce(AccountId) -> One,
    all: impl FnOnce() -> All,
) -> Result<Vec<(AccountId, T)>, E>
where
    One: Future<Output = Result<T, E>>,
    All: Future<Output = Result<Vec<(AccountId, T)>, E>>,
{
    match parse_trigger(event) {
        Ok(Trigger::Account(account)) => Ok(vec![(account.clone(), one(account).await?)]),
        Ok(Trigger::Sweep) => all().await,
        Err(error) => {
            tracing::warn!(event_id = %error.event_id, %error, "skipping event");
            Ok(Vec::new())
        }
    }
}

/// Reads the EventBridge event that invoked the function.
pub fn parse_trigger(event: &Value) -> Result<Trigger, TriggerError> {
    let event_id = event
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let error = |reason: String| TriggerError {
        event_id: event_id.clone(),
        reason,
    };
    let envelope = CloudWatchEvent::<Value>::deserialize(event)
        .map_err(|e| error(format!("not an EventBridge event: {e}")))?;
    match (envelope.source.as_deref(), envelope.detail_type.as_deref()) {
        (Some("aws.events" | "aws.scheduler"), Some("Scheduled Event")) => Ok(Trigger::Sweep),
        (Some(notifications::SOURCE), Some(_)) => {
            let account = envelope
                .detail
                .as_ref()
                .and_then(|d| d.get("account_id"))
                .and_then(Value::as_str)
                .ok_or_else(|| error("detail.account_id is missing".into()))?;
            AccountId::parse(account)
                .map(Trigger::Account)
                .map_err(|e| error(e.to_string()))
        }
        (source, detail_type) => Err(error(format!(
            "source {source:?}, detail-type {detail_type:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn phase_change_notification_names_the_account() {
        let event = json!({"version":"0","id":"e1","detail-type":"Onboarding Phase Changed","source":"org-onboarding",
            "account":"111111111111","time":"2026-11-20T10:00:00Z","region":"us-east-1","resources":[],
            "detail":{"account_id":"555555555555","new_phase":"Invited"}});
        assert_eq!(
            parse_trigger(&event),
            Ok(Trigger::Account(AccountId::parse("555555555555").unwrap()))
        );
    }

    #[test]
    fn schedule_is_a_sweep_and_anything_else_is_an_error() {
        let event = json!({"version":"0","id":"e2","detail-type":"Scheduled Event","source":"aws.events",
            "account":"111111111111","time":"2026-11-20T10:00:00Z","region":"us-east-1","resources":[],"detail":{}});
        assert_eq!(parse_trigger(&event), Ok(Trigger::Sweep));
        let mut other = event.clone();
        other["source"] = json!("aws.ec2");
        assert!(parse_trigger(&other)
            .unwrap_err()
            .to_string()
            .contains("e2"));
    }
}
