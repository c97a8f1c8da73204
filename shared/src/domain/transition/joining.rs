//! Joining: what proves an account is in the target organization, and its placement once
//! it is (the end of onboarding).

use chrono::{DateTime, Utc};

use super::blockers::clear_steps;
use super::{Decision, Notification};
use crate::domain::blocker::Step;
use crate::domain::ids::AccountId;
use crate::domain::placement::Placed;
use crate::domain::record::{OnboardingRecord, Target};

/// The target organization listing the account as a member joins (a billing-mode account
/// never joins: its organization stays).
pub(super) fn join_on_confirmed_membership(next: &mut OnboardingRecord, out: &mut Decision) {
    if !next.journey().moves_account() {
        return;
    }
    join(next);
    out.reason = Some("the target organization lists the account as a member".into());
}

/// Organizations recording the account joining the target's management account joins.
pub(super) fn join_on_service_event(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    target: &Target,
    management_account: &AccountId,
) {
    if *management_account == target.management_account && next.journey().moves_account() {
        join(next);
        out.reason =
            Some("AWS Organizations recorded the account joining the target organization".into());
    }
}

/// The account is in the target organization; the current handshake (if any) is the one
/// that brought it in.
fn join(next: &mut OnboardingRecord) {
    next.phase = next.journey().offer_phases().arrived;
    next.in_old_organization = false;
    next.blockers.clear();
}

/// Onboarding ends: the record says where the account is and how the target reaches it,
/// and what blocked placing it is cleared.
pub(super) fn place(
    next: &mut OnboardingRecord,
    notifications: &mut Vec<Notification>,
    placed_in: Option<String>,
    access_role: Option<String>,
    now: DateTime<Utc>,
) {
    clear_steps(next, &[Step::Place]);
    // A journey that moves no account (a billing transfer) announced its arrival already.
    if next.journey().moves_account() {
        notifications.push(Notification::AccountPlaced {
            placed_in: placed_in.clone(),
            access_role: access_role.clone(),
        });
    }
    next.placed = Some(Placed {
        placed_in,
        access_role,
        at: now,
    });
}
