//! Rendering: the notifications a transition decided ([`Notification`]), each with the
//! record's context (account, enrollment, role, phase, blockers with remediation,
//! handshake, CloudTrail event id), ready for the outbox.

use crate::domain::{Blocker, EnrollmentName, Notification, OnboardingRecord};
use crate::ports::OutgoingNotification;

use super::details::*;
use super::NotificationDetail;

impl From<&Blocker> for NotifiedBlocker {
    fn from(b: &Blocker) -> Self {
        NotifiedBlocker {
            code: b.code,
            message: b.message.clone(),
            remediation: b.remediation.clone(),
            step: b.step,
            raw_code: b.raw_code.clone(),
            raw_message: b.raw_message.clone(),
        }
    }
}

fn notified_blockers(blockers: &[Blocker]) -> Vec<NotifiedBlocker> {
    blockers.iter().map(NotifiedBlocker::from).collect()
}

fn account_context(
    record: &OnboardingRecord,
    notification_id: String,
    event_id: &str,
) -> AccountContext {
    AccountContext {
        notification_id,
        account_id: record.account_id.clone(),
        enrollment: record.enrollment.clone(),
        role: record.role,
        transfer_mode: record.transfer_mode.clone(),
        phase: record.phase,
        handshake_id: record.handshake_id().cloned(),
        blockers: notified_blockers(&record.blockers),
        cloudtrail_event_id: event_id.to_owned(),
        version: record.version,
    }
}

fn detail_of(
    notification: &Notification,
    record: &OnboardingRecord,
    context: AccountContext,
) -> NotificationDetail {
    match notification {
        Notification::PhaseChanged { from, to, reason } => {
            NotificationDetail::PhaseChanged(PhaseChanged {
                context,
                old_phase: *from,
                new_phase: *to,
                reason: reason.clone(),
            })
        }
        Notification::Blocked { blockers } => NotificationDetail::Blocked(Blocked {
            context,
            new_blockers: notified_blockers(blockers),
            in_digest: super::digest::only_waits(blockers),
        }),
        Notification::Unblocked { cleared } => NotificationDetail::Unblocked(Unblocked {
            context,
            cleared: cleared.clone(),
        }),
        Notification::AccountJoined => NotificationDetail::AccountJoined(AccountJoined { context }),
        Notification::BillingTransferred {
            transfer,
            starts_at,
        } => NotificationDetail::BillingTransferred(BillingTransferred {
            context,
            transfer_id: transfer.clone(),
            starts_at: *starts_at,
            organization: record.source_organization.clone(),
        }),
        Notification::UnexpectedInvitation {
            handshake,
            organization,
            reason,
        } => NotificationDetail::UnexpectedInvitation(UnexpectedInvitation {
            context,
            unexpected_handshake_id: handshake.clone(),
            inviting_organization: organization.clone(),
            reason: reason.clone(),
        }),
        Notification::Stalled { since } => NotificationDetail::Stalled(Stalled {
            context,
            stalled_since: *since,
        }),
        Notification::InvitationExpiring {
            handshake,
            expires_at,
        } => NotificationDetail::InvitationExpiring(InvitationExpiring {
            context,
            expiring_handshake_id: handshake.clone(),
            expires_at: *expires_at,
        }),
        Notification::AccountPlaced {
            placed_in,
            access_role,
        } => NotificationDetail::AccountPlaced(AccountPlaced {
            context,
            placed_in: placed_in.clone(),
            access_role: access_role.clone(),
            tags: record.tags.clone(),
        }),
    }
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
            let context = account_context(record, format!("{event_id}#{index}"), event_id);
            detail_of(notification, record, context).to_outgoing()
        })
        .collect()
}

/// The one-time announcement that every account of an enrollment joined and was placed.
pub fn enrollment_completed(
    enrollment: &EnrollmentName,
    accounts: usize,
    event_id: &str,
) -> OutgoingNotification {
    NotificationDetail::EnrollmentCompleted(EnrollmentCompleted {
        notification_id: format!("{event_id}#completed"),
        enrollment: enrollment.clone(),
        accounts,
        cloudtrail_event_id: event_id.to_owned(),
    })
    .to_outgoing()
}
