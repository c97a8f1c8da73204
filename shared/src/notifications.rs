//! Turning a transition's notifications into the EventBridge events the product publishes
//! (source `org-onboarding` on the hub bus). Rules and subscribers match on these
//! detail-types and on `detail.new_phase`.

use serde_json::{json, Value};

use crate::domain::{Blocker, EnrollmentName, Notification, OnboardingRecord};
use crate::ports::OutgoingNotification;

pub const SOURCE: &str = "org-onboarding";

pub const PHASE_CHANGED: &str = "Onboarding Phase Changed";
pub const BLOCKED: &str = "Onboarding Blocked";
pub const UNBLOCKED: &str = "Onboarding Unblocked";
pub const UNEXPECTED_INVITATION: &str = "Unexpected Invitation";
pub const ACCOUNT_JOINED: &str = "Account Joined";
pub const ENROLLMENT_COMPLETED: &str = "Enrollment Completed";

fn blockers_json(blockers: &[Blocker]) -> Value {
    Value::Array(
        blockers
            .iter()
            .map(|b| {
                json!({
                    "code": b.code, "message": b.message, "remediation": b.remediation,
                    "step": b.step, "raw_code": b.raw_code, "raw_message": b.raw_message,
                })
            })
            .collect(),
    )
}

/// The notifications of one applied event, each with the record's context: account,
/// enrollment, role, phases, blockers with remediation, handshake, CloudTrail event id.
pub fn render(
    record: &OnboardingRecord,
    notifications: &[Notification],
    event_id: &str,
) -> Vec<OutgoingNotification> {
    notifications
        .iter()
        .enumerate()
        .map(|(index, notification)| {
            let mut detail = json!({
                "notification_id": format!("{event_id}#{index}"),
                "account_id": record.account_id,
                "enrollment": record.enrollment,
                "role": record.role,
                "transfer_mode": record.transfer_mode,
                "phase": record.phase,
                "handshake_id": record.handshake_id,
                "blockers": blockers_json(&record.blockers),
                "cloudtrail_event_id": event_id,
                "version": record.version,
            });
            let (detail_type, extra) = match notification {
                Notification::PhaseChanged { from, to, reason } => {
                    (PHASE_CHANGED, json!({"old_phase": from, "new_phase": to, "reason": reason}))
                }
                Notification::Blocked { blockers } => (BLOCKED, json!({"new_blockers": blockers_json(blockers)})),
                Notification::Unblocked { cleared } => (UNBLOCKED, json!({"cleared": cleared})),
                Notification::AccountJoined => (ACCOUNT_JOINED, json!({})),
                Notification::UnexpectedInvitation { handshake, organization, reason } => (
                    UNEXPECTED_INVITATION,
                    json!({"unexpected_handshake_id": handshake, "inviting_organization": organization, "reason": reason}),
                ),
            };
            merge(&mut detail, extra);
            OutgoingNotification { id: format!("{event_id}#{index}"), detail_type: detail_type.to_owned(), detail }
        })
        .collect()
}

/// The one-time announcement that every account of an enrollment joined.
pub fn enrollment_completed(
    enrollment: &EnrollmentName,
    accounts: usize,
    event_id: &str,
) -> OutgoingNotification {
    OutgoingNotification {
        id: format!("{event_id}#completed"),
        detail_type: ENROLLMENT_COMPLETED.to_owned(),
        detail: json!({
            "notification_id": format!("{event_id}#completed"),
            "enrollment": enrollment,
            "accounts": accounts,
            "cloudtrail_event_id": event_id,
        }),
    }
}

fn merge(into: &mut Value, extra: Value) {
    if let (Value::Object(into), Value::Object(extra)) = (into, extra) {
        into.extend(extra);
    }
}
