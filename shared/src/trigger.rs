//! What woke the acceptor or the inviter: a notification about one account (an
//! "Onboarding Phase Changed" event on the hub bus) or a schedule (sweep every candidate).
//!
//! [`PHASE_TRIGGERS`] says which phase change wakes which function; template.yaml's rules
//! and the test harness's event loop are checked against it (tests/tests/template_contract.rs).

use std::future::Future;

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::{AccountId, FunctionName, Phase};
use crate::notifications::{self, Detail, NotificationDetail, PhaseChanged};
use crate::sweep::SweepReport;

/// A function woken by the notification that an account entered one of `new_phases`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseTrigger {
    /// The function woken.
    pub function: FunctionName,
    /// The phase that asks for the function's work, then billing mode's mirror of it.
    pub new_phases: &'static [Phase],
}

impl PhaseTrigger {
    /// The EventBridge pattern of the function's rule on the hub bus.
    pub fn event_pattern(&self) -> Value {
        json!({
            "source": [notifications::SOURCE],
            "detail-type": [PhaseChanged::DETAIL_TYPE],
            "detail": {"new_phase": self.new_phases.iter().map(|p| p.as_str()).collect::<Vec<_>>()},
        })
    }
}

/// The acceptor verifies and accepts an invitation once the account is invited (to join,
/// or to transfer its bill).
pub const ACCEPTOR_TRIGGER: PhaseTrigger = PhaseTrigger {
    function: FunctionName::Acceptor,
    new_phases: &[Phase::Invited, Phase::TransferInvited],
};

/// The inviter sends (or adopts) an invitation once the account awaits one.
pub const INVITER_TRIGGER: PhaseTrigger = PhaseTrigger {
    function: FunctionName::Inviter,
    new_phases: &[Phase::AwaitingInvitation, Phase::AwaitingTransfer],
};

/// Every function woken by a phase change (the tracker follows CloudTrail instead).
pub const PHASE_TRIGGERS: [PhaseTrigger; 2] = [ACCEPTOR_TRIGGER, INVITER_TRIGGER];

/// A function woken by one of the product's notifications about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationTrigger {
    pub function: FunctionName,
    pub detail_type: &'static str,
}

impl NotificationTrigger {
    /// The EventBridge pattern of the function's rule on the hub bus.
    pub fn event_pattern(&self) -> Value {
        json!({
            "source": [notifications::SOURCE],
            "detail-type": [self.detail_type],
        })
    }
}

/// The placer moves, tags and checks an account once it joined.
pub const PLACER_TRIGGER: NotificationTrigger = NotificationTrigger {
    function: FunctionName::Placer,
    detail_type: notifications::ACCOUNT_JOINED,
};

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

/// Runs `one` for a notification about one account (its error is the invocation's, so
/// Lambda retries a transient one), `all` for a schedule; logs and skips any other event
/// (no retry storm for an event that will never be ours).
pub async fn dispatch<T, E, One, All>(
    event: &Value,
    one: impl FnOnce(AccountId) -> One,
    all: impl FnOnce() -> All,
) -> Result<SweepReport<T>, E>
where
    One: Future<Output = Result<T, E>>,
    All: Future<Output = Result<SweepReport<T>, E>>,
{
    match parse_trigger(event) {
        Ok(Trigger::Account(account)) => {
            let outcome = one(account.clone()).await?;
            Ok(SweepReport::of_one(account, outcome))
        }
        Ok(Trigger::Sweep) => all().await,
        Err(error) => {
            tracing::warn!(event_id = %error.event_id, %error, "skipping event");
            Ok(SweepReport::default())
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
        (Some(notifications::SOURCE), Some(detail_type)) => {
            let detail = envelope.detail.unwrap_or(Value::Null);
            let notification = NotificationDetail::parse(detail_type, &detail)
                .map_err(|e| error(e.to_string()))?;
            notification
                .account_id()
                .cloned()
                .map(Trigger::Account)
                .ok_or_else(|| error(format!("{detail_type} names no account")))
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

    const PHASE_CHANGED_TYPE: &str = notifications::PHASE_CHANGED;

    fn notification(detail_type: &str, detail: Value) -> Value {
        json!({"version":"0","id":"e1","detail-type":detail_type,"source":"org-onboarding",
            "account":"111111111111","time":"2026-11-20T10:00:00Z","region":"us-east-1","resources":[],
            "detail":detail})
    }

    fn phase_changed_detail() -> Value {
        json!({"notification_id":"ct-1#0","account_id":"555555555555","enrollment":"acme",
            "role":"standalone","transfer_mode":"direct","phase":"Invited","handshake_id":"h-0123456789",
            "blockers":[],"cloudtrail_event_id":"ct-1","version":3,
            "old_phase":"AwaitingInvitation","new_phase":"Invited","reason":null})
    }

    #[test]
    fn phase_change_notification_names_the_account() {
        let event = notification(PHASE_CHANGED_TYPE, phase_changed_detail());
        assert_eq!(
            parse_trigger(&event),
            Ok(Trigger::Account(AccountId::parse("555555555555").unwrap()))
        );
    }

    #[test]
    fn our_events_that_break_the_contract_or_name_no_account_are_errors() {
        let broken = notification(
            PHASE_CHANGED_TYPE,
            json!({"account_id":"555555555555","new_phase":"Invited"}),
        );
        assert!(parse_trigger(&broken)
            .unwrap_err()
            .reason
            .contains("invalid detail"));
        let unknown = notification("Onboarding Teleported", phase_changed_detail());
        assert!(parse_trigger(&unknown)
            .unwrap_err()
            .reason
            .contains("Onboarding Teleported"));
        let completed = notification(
            notifications::ENROLLMENT_COMPLETED,
            json!({"notification_id":"ct-1#completed","enrollment":"acme","accounts":2,"cloudtrail_event_id":"ct-1"}),
        );
        assert!(parse_trigger(&completed)
            .unwrap_err()
            .reason
            .contains("names no account"));
    }

    #[test]
    fn each_trigger_pattern_matches_phase_changes_into_its_phase() {
        let pattern = INVITER_TRIGGER.event_pattern();
        assert_eq!(pattern["source"], json!(["org-onboarding"]));
        assert_eq!(pattern["detail-type"], json!(["Onboarding Phase Changed"]));
        assert_eq!(
            pattern["detail"]["new_phase"],
            json!(["AwaitingInvitation", "AwaitingTransfer"])
        );
        assert_eq!(
            ACCEPTOR_TRIGGER.event_pattern()["detail"]["new_phase"],
            json!(["Invited", "TransferInvited"])
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
