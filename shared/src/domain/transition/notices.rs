//! Notices: a stall and an expiring invitation are announced without changing the record.

use chrono::{DateTime, Utc};

use super::{Decision, Notification};
use crate::domain::ids::HandshakeId;
use crate::domain::record::OnboardingRecord;

/// A stall is announced for the phase the account has been in since `since`; once the
/// account moves on, that stall is over and the observation changes nothing.
pub(super) fn announce_stall(next: &OnboardingRecord, out: &mut Decision, since: DateTime<Utc>) {
    if next.phase_since == since {
        out.notifications.push(Notification::Stalled { since });
    }
}

/// An expiry is announced for the current invitation only.
pub(super) fn announce_expiry(
    next: &OnboardingRecord,
    out: &mut Decision,
    handshake: &HandshakeId,
    expires_at: DateTime<Utc>,
) {
    if next.phase.is_offered() && next.handshake_id() == Some(handshake) {
        out.notifications.push(Notification::InvitationExpiring {
            handshake: handshake.clone(),
            expires_at,
        });
    }
}
