//! Planning invitations within AWS's limits instead of trying and failing: the invitation
//! quota (invitations sent in the last 24 hours: 20 by default, or the account limit when
//! that is higher) and the organization's account limit (10 by default; open invitations
//! count against it). Accounts beyond the slots wait, each with the reason and when the
//! next slot opens.

use chrono::{DateTime, Duration, Utc};

use super::blocker::BlockerCode;
use super::policy::ObservedHandshake;

/// The target organization's limits (configuration; AWS's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitationLimits {
    pub per_day: u32,
    pub account_limit: u32,
}

impl Default for InvitationLimits {
    fn default() -> Self {
        Self {
            per_day: 20,
            account_limit: 10,
        }
    }
}

/// Why an account waits for its invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub code: BlockerCode,
    pub message: String,
}

/// How many invitations may go out now, and why any other account waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationPlan {
    pub slots: u32,
    pub waiting: Waiting,
}

/// Plans from the organization's handshakes (ListHandshakesForOrganization) and how many
/// accounts it has now.
pub fn plan(
    limits: InvitationLimits,
    handshakes: &[ObservedHandshake],
    accounts: u32,
    now: DateTime<Utc>,
) -> InvitationPlan {
    let quota = limits.per_day.max(limits.account_limit);
    let window_start = now - Duration::hours(24);
    let mut sent: Vec<DateTime<Utc>> = invitations(handshakes)
        .filter_map(|h| h.requested_at)
        .filter(|at| *at > window_start)
        .collect();
    sent.sort();
    let pending: Vec<&ObservedHandshake> = invitations(handshakes)
        .filter(|h| h.closure(now).is_none() && is_pending(h))
        .collect();
    let quota_left = quota.saturating_sub(sent.len() as u32);
    let used = accounts + pending.len() as u32;
    let room = limits.account_limit.saturating_sub(used);
    let waiting = if quota_left <= room {
        let next = sent
            .first()
            .map(|oldest| *oldest + Duration::hours(24))
            .map_or("as soon as one is sent".to_owned(), format_time);
        Waiting {
            code: BlockerCode::InvitationQuotaReached,
            message: format!(
                "waiting for an invitation slot: {} invitation{} sent in the last 24 hours, the quota is {quota}; the next slot opens at {next}",
                sent.len(),
                if sent.len() == 1 { "" } else { "s" },
            ),
        }
    } else {
        let first_expiry = pending.iter().filter_map(|h| h.expires_at).min();
        Waiting {
            code: BlockerCode::AccountLimitReached,
            message: format!(
                "waiting for room in the organization: {accounts} accounts and {} pending invitation{} of its limit of {}; a slot opens when a pending invitation is accepted, declined or expires{}, or when AWS raises the limit",
                pending.len(),
                if pending.len() == 1 { "" } else { "s" },
                limits.account_limit,
                first_expiry.map_or(String::new(), |at| format!(" (the first expires at {})", format_time(at))),
            ),
        }
    };
    InvitationPlan {
        slots: quota_left.min(room),
        waiting,
    }
}

fn invitations(handshakes: &[ObservedHandshake]) -> impl Iterator<Item = &ObservedHandshake> {
    handshakes.iter().filter(|h| h.is_invitation())
}

fn is_pending(handshake: &ObservedHandshake) -> bool {
    handshake.state.is_pending()
}

fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::HandshakeId;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn sent(i: usize, hours_ago: i64, state: &str) -> ObservedHandshake {
        ObservedHandshake {
            id: HandshakeId::parse(format!("h-planned{i:08}")).unwrap(),
            arn: None,
            action: "INVITE".into(),
            state: state.into(),
            parties: Vec::new(),
            expires_at: Some(now() + Duration::days(15) - Duration::hours(hours_ago)),
            requested_at: Some(now() - Duration::hours(hours_ago)),
        }
    }

    #[test]
    fn the_daily_quota_leaves_the_rest_waiting_until_the_oldest_is_a_day_old() {
        let limits = InvitationLimits {
            per_day: 20,
            account_limit: 1000,
        };
        // 20 accepted in the last day; one sent 30 hours ago does not count.
        let mut handshakes: Vec<_> = (0..20)
            .map(|i| sent(i, 20 - i as i64, "ACCEPTED"))
            .collect();
        handshakes.push(sent(99, 30, "ACCEPTED"));
        let plan = plan(limits, &handshakes, 21, now());
        assert_eq!(
            plan.slots, 979,
            "the quota is the account limit when higher: 1000 - 21"
        );
        let limits = InvitationLimits {
            per_day: 20,
            account_limit: 10,
        };
        let plan = super::plan(limits, &handshakes, 0, now());
        assert_eq!(plan.slots, 0);
        assert_eq!(plan.waiting.code, BlockerCode::InvitationQuotaReached);
        assert!(
            plan.waiting.message.contains("20 invitations sent")
                && plan.waiting.message.contains("2026-12-01 16:00 UTC"),
            "{}",
            plan.waiting.message
        );
    }

    #[test]
    fn pending_invitations_count_against_the_account_limit() {
        let limits = InvitationLimits::default();
        let handshakes: Vec<_> = (0..3).map(|i| sent(i, 1, "OPEN")).collect();
        let plan = plan(limits, &handshakes, 5, now());
        assert_eq!(plan.slots, 2, "10 - 5 accounts - 3 pending");
        let full = super::plan(limits, &handshakes, 7, now());
        assert_eq!(full.slots, 0);
        assert_eq!(full.waiting.code, BlockerCode::AccountLimitReached);
        assert!(
            full.waiting.message.contains("3 pending invitations"),
            "{}",
            full.waiting.message
        );
        assert!(
            full.waiting.message.contains("the first expires at"),
            "{}",
            full.waiting.message
        );
    }
}
