//! Billing transfers: the target's list of transfers proves one accepted (`Transferred`);
//! one that ends is reported, never undone. Only a journey with billing terms has one.

use chrono::{DateTime, Utc};

use super::blockers::add_blocker;
use super::invitation::drop_current_invitation;
use super::Decision;
use crate::domain::blocker::{AwsFailure, Blocker, BlockerCode, Step};
use crate::domain::record::OnboardingRecord;

/// The target's own list of transfers showing the account's as accepted transfers its
/// bill (billing mode): the proof `Transferred` needs.
pub(super) fn confirm_transfer(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    transfer: &str,
    starts_at: Option<DateTime<Utc>>,
) {
    if next.phase.is_terminal() {
        return;
    }
    let arrived = next.journey().offer_phases().arrived;
    let Some(terms) = next.transfer_mode.billing_terms_mut() else {
        return; // no billing transfer on this journey
    };
    if terms
        .offered
        .as_deref()
        .is_some_and(|offered| offered != transfer)
    {
        return; // another transfer than the one the record was offered
    }
    terms.transfer = Some(transfer.to_owned());
    terms.starts_at = starts_at;
    next.phase = arrived;
    next.blockers.clear();
    out.reason = Some(format!(
        "the target organization lists billing transfer {transfer} as accepted"
    ));
}

/// An accepted transfer that ends is reported (a blocker a person reads), never undone:
/// the record stays `Transferred`. One that ends before it was accepted was withdrawn:
/// a new invitation follows.
pub(super) fn terminate_transfer(
    next: &mut OnboardingRecord,
    out: &mut Decision,
    transfer: Option<&str>,
    ended_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    if next.billing().is_none() {
        return; // no billing transfer on this journey
    }
    if !next.phase.is_terminal() {
        let reason = format!(
            "the billing transfer {} was ended before it was accepted; a new invitation will be sent",
            transfer.unwrap_or("invitation")
        );
        return drop_current_invitation(next, out, reason);
    }
    let Some(terms) = next.transfer_mode.billing_terms_mut() else {
        return;
    };
    if transfer.is_some_and(|t| terms.transfer.as_deref().is_some_and(|ours| ours != t)) {
        return; // another transfer than the accepted one
    }
    terms.ended_at = ended_at.or(Some(now));
    let ended = terms.ended_at.map(|at| at.to_rfc3339()).unwrap_or_default();
    let failure = AwsFailure::new(
        "TerminateResponsibilityTransfer",
        None,
        format!(
            "billing transfer {} ended at {ended}",
            transfer.or(terms.transfer.as_deref()).unwrap_or("?")
        ),
    );
    add_blocker(
        next,
        Blocker::from_failure(
            BlockerCode::TransferTerminated,
            Step::Transfer,
            &failure,
            now,
        ),
    );
}
