//! Planning invitations within AWS's limits instead of trying and failing: the invitation
//! quota (invitations sent in the last 24 hours: 20 by default, or the account limit when
//! that is higher) and the organization's account limit (10 by default; open invitations
//! count against it). Accounts beyond the slots wait.
//!
//! What a waiting account stores is only its [`WaitingReason`], never the counts or the
//! time the next slot opens: those change with every run, and a record is written only when
//! what it means changes. The counts and the clock are the plan's [`Waiting::detail`], for
//! the logs and the run's outcome; a person sees the account's place in line, computed when
//! read ([`crate::report::line`]).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::blocker::{Blocker, BlockerCode, Step};
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

/// Why an account waits for its invitation: a stable reason, the same run after run while
/// it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitingReason {
    /// The organization's accounts and pending invitations fill its account limit.
    InvitationSlot,
    /// The invitations sent in the last 24 hours used the daily quota.
    DailyQuota,
}

impl WaitingReason {
    pub const ALL: [WaitingReason; 2] = [WaitingReason::InvitationSlot, WaitingReason::DailyQuota];

    /// The blocker code the record shows it with.
    pub const fn code(self) -> BlockerCode {
        match self {
            WaitingReason::InvitationSlot => BlockerCode::AccountLimitReached,
            WaitingReason::DailyQuota => BlockerCode::InvitationQuotaReached,
        }
    }

    /// What it means, and what (not) to do: the same words every time.
    const fn words(self) -> (&'static str, &'static str) {
        match self {
            WaitingReason::InvitationSlot => (
                "Waiting for an invitation slot: the target organization's accounts and pending invitations fill its account limit.",
                "Nothing to do: a slot opens when a pending invitation is accepted, declined or expires, or when the limit is raised (Service Quotas: accounts per organization); the inviter then invites the accounts in line, in turn (onboardctl status shows the place in line).",
            ),
            WaitingReason::DailyQuota => (
                "Waiting for the daily invitation quota: the target organization sent as many invitations in the last 24 hours as it may.",
                "Nothing to do: the quota frees up as sent invitations turn a day old; the inviter then invites the accounts in line, in turn (onboardctl status shows the place in line). To go faster, ask AWS Support to raise the handshake quota.",
            ),
        }
    }

    /// The stored waiting state: a blocker of the invitation step with this reason's code
    /// and words, waiting since `since`.
    pub fn blocker(self, since: DateTime<Utc>) -> Blocker {
        let (message, remediation) = self.words();
        Blocker {
            message: message.to_owned(),
            remediation: remediation.to_owned(),
            ..Blocker::new(self.code(), Step::Invite, since)
        }
    }

    /// The reason `blocker` is the waiting state of, if it is one: the inviter's deferral
    /// (an invitation-step blocker of a waiting code that AWS did not return; a refusal
    /// carries AWS's code).
    pub fn of_blocker(blocker: &Blocker) -> Option<Self> {
        if blocker.step != Step::Invite || blocker.raw_code.is_some() {
            return None;
        }
        Self::ALL.into_iter().find(|r| r.code() == blocker.code)
    }
}

/// Why an account waits for its invitation in this run: the stable reason, and the counts
/// and times behind it (`detail`, for logs and the run's outcome only, never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub reason: WaitingReason,
    pub detail: String,
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
            reason: WaitingReason::DailyQuota,
            detail: format!(
                "waiting for an invitation slot: {} invitation{} sent in the last 24 hours, the quota is {quota}; the next slot opens at {next}",
                sent.len(),
                if sent.len() == 1 { "" } else { "s" },
            ),
        }
    } else {
        let first_expiry = pending.iter().filter_map(|h| h.expires_at).min();
        Waiting {
            reason: WaitingReason::InvitationSlot,
            detail: format!(
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
            transfer: None,
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
        assert_eq!(plan.waiting.reason, WaitingReason::DailyQuota);
        assert!(
            plan.waiting.detail.contains("20 invitations sent")
                && plan.waiting.detail.contains("2026-12-01 16:00 UTC"),
            "{}",
            plan.waiting.detail
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
        assert_eq!(full.waiting.reason, WaitingReason::InvitationSlot);
        assert!(
            full.waiting.detail.contains("3 pending invitations"),
            "{}",
            full.waiting.detail
        );
        assert!(
            full.waiting.detail.contains("the first expires at"),
            "{}",
            full.waiting.detail
        );
    }

    #[test]
    fn the_waiting_reason_is_the_same_run_after_run_while_the_counts_and_clock_move() {
        let limits = InvitationLimits::default();
        let plans: Vec<InvitationPlan> = (0..4)
            .map(|joined| {
                let pending: Vec<_> = (0..(4 - joined)).map(|i| sent(i, 1, "OPEN")).collect();
                plan(
                    limits,
                    &pending,
                    6 + joined as u32,
                    now() + Duration::hours(joined as i64),
                )
            })
            .collect();
        assert!(plans.iter().all(|p| p.slots == 0));
        assert!(plans
            .windows(2)
            .all(|w| w[0].waiting.reason == w[1].waiting.reason
                && w[0].waiting.detail != w[1].waiting.detail));
        let stored = plans[0].waiting.reason.blocker(now());
        assert_eq!(stored, plans[3].waiting.reason.blocker(now()));
        assert_eq!(
            WaitingReason::of_blocker(&stored),
            Some(WaitingReason::InvitationSlot)
        );
    }
}
