//! The digest: what one run found that a person should know, told once per enrollment and
//! run (`Onboarding Digest`) instead of once per account. Which accounts began waiting for
//! an invitation slot, and which invitations from other organizations were seen (never
//! accepted): the first run of a 10,000-account move, or another organization inviting a
//! customer's accounts over and over, is one e-mail per enrollment and run.
//!
//! Each account's own event (`Onboarding Blocked`, `Unexpected Invitation`) is still
//! published exactly once, through the account's outbox, for machines (EventBridge
//! consumers keyed on those detail-types). Their e-mail is the digest's: an `Onboarding
//! Blocked` whose new blockers are all waits says so (`in_digest`) and its e-mail rule
//! skips it; `Unexpected Invitation` has no e-mail of its own.
//!
//! The recorder notes what each committed transition told ([`Digest::note`]) and the
//! function publishes the digests at the end of its run, through each enrollment's outbox
//! (`ObservationRecorder::publish_digests`). A run that dies between a commit and its
//! digest loses that e-mail, never the account's event.

use chrono::{DateTime, Utc};

use super::details::{DigestUnexpected, DigestWaiting, OnboardingDigest, DIGEST_LISTED};
use super::NotificationDetail;
use crate::domain::observation::timestamp_nanos;
use crate::domain::{
    Blocker, EnrollmentName, FunctionName, Notification, OnboardingRecord, WaitingReason,
};
use crate::ports::OutgoingNotification;
use crate::report::view::plural;

/// What one run told about one enrollment's accounts, so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest {
    accounts_waiting: usize,
    waiting: Vec<DigestWaiting>,
    unexpected_invitations: usize,
    unexpected: Vec<DigestUnexpected>,
}

/// Whether every one of `blockers` is a wait for an invitation slot: the digest tells
/// those, so their `Onboarding Blocked` is not e-mailed on its own.
pub fn only_waits(blockers: &[Blocker]) -> bool {
    !blockers.is_empty()
        && blockers
            .iter()
            .all(|b| WaitingReason::of_blocker(b).is_some())
}

impl Digest {
    /// Notes what a committed transition of `record` told that the digest e-mails.
    pub fn note(&mut self, record: &OnboardingRecord, notifications: &[Notification]) {
        for notification in notifications {
            match notification {
                Notification::Blocked { blockers } => {
                    let wait = blockers
                        .iter()
                        .find(|b| WaitingReason::of_blocker(b).is_some());
                    if let Some(wait) = wait {
                        self.accounts_waiting += 1;
                        if let Some(list) = listed(&mut self.waiting) {
                            list.push(DigestWaiting {
                                account_id: record.account_id.clone(),
                                code: wait.code,
                            });
                        }
                    }
                }
                Notification::UnexpectedInvitation {
                    handshake,
                    organization,
                    reason,
                } => {
                    self.unexpected_invitations += 1;
                    if let Some(list) = listed(&mut self.unexpected) {
                        list.push(DigestUnexpected {
                            account_id: record.account_id.clone(),
                            handshake_id: handshake.clone(),
                            inviting_organization: organization.clone(),
                            reason: reason.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether the run told nothing the digest e-mails.
    pub fn is_empty(&self) -> bool {
        self.accounts_waiting == 0 && self.unexpected_invitations == 0
    }

    /// The `Onboarding Digest` of `by`'s run over `enrollment`, ready to publish; its
    /// notification id is unique to the run.
    pub fn into_notification(
        self,
        enrollment: &EnrollmentName,
        by: FunctionName,
        now: DateTime<Utc>,
    ) -> OutgoingNotification {
        let summary = self.summary();
        NotificationDetail::OnboardingDigest(OnboardingDigest {
            notification_id: format!("digest#{by}#{enrollment}#{}", timestamp_nanos(now)),
            enrollment: enrollment.clone(),
            function: by,
            accounts_waiting: self.accounts_waiting,
            waiting: self.waiting,
            unexpected_invitations: self.unexpected_invitations,
            unexpected: self.unexpected,
            summary,
        })
        .to_outgoing()
    }

    /// The digest in sentences, one per kind of news (the e-mail shows it as it is).
    fn summary(&self) -> String {
        let mut sentences = Vec::new();
        if self.accounts_waiting > 0 {
            let accounts: Vec<String> = self
                .waiting
                .iter()
                .map(|w| format!("{} ({})", w.account_id, w.code))
                .collect();
            sentences.push(format!(
                "{} began waiting for an invitation slot: {}{}. Nothing to do: the inviter invites each in its turn, and onboardctl status shows its place in line.",
                plural(self.accounts_waiting, "account", "accounts"),
                accounts.join(", "),
                more(self.accounts_waiting, accounts.len()),
            ));
        }
        if self.unexpected_invitations > 0 {
            let invitations: Vec<String> = self
                .unexpected
                .iter()
                .map(|u| {
                    let from = u
                        .inviting_organization
                        .as_ref()
                        .map_or("an unknown organization".to_owned(), |o| {
                            format!("organization {o}")
                        });
                    format!(
                        "{} invited by {from} ({}: {})",
                        u.account_id, u.handshake_id, u.reason
                    )
                })
                .collect();
            sentences.push(format!(
                "{} from another organization than the target {} seen and NOT accepted: {}{}. What to do: find out who sent {}; decline {} in the account (AWS Organizations > Invitations) unless expected.",
                plural(self.unexpected_invitations, "invitation", "invitations"),
                if self.unexpected_invitations == 1 { "was" } else { "were" },
                invitations.join("; "),
                more(self.unexpected_invitations, invitations.len()),
                if self.unexpected_invitations == 1 { "it" } else { "them" },
                if self.unexpected_invitations == 1 { "it" } else { "each" },
            ));
        }
        sentences.join(" ")
    }
}

/// The list, while it has room for one more name.
fn listed<T>(list: &mut Vec<T>) -> Option<&mut Vec<T>> {
    (list.len() < DIGEST_LISTED).then_some(list)
}

/// ", and 12 more" when only `listed` of `total` are named.
fn more(total: usize, listed: usize) -> String {
    match total.saturating_sub(listed) {
        0 => String::new(),
        rest => format!(", and {rest} more"),
    }
}
