//! The tracker's work: a CloudTrail event (or an observation of another function) becomes
//! a domain event, is applied to the account's record exactly once, and its notifications
//! are published.
//!
//! Exactly once, in the face of duplicates, reordering and failures:
//! - the record write is version-conditioned; a conflict reloads, re-applies and retries
//!   with jittered backoff, a bounded number of times;
//! - the event's marker is written in the same transaction, so a redelivery is a no-op
//!   even when two copies run at once;
//! - notifications go into an outbox in that transaction, are published, then cleared. If
//!   publishing fails the handler returns `Err`, Lambda redelivers, the event is now a
//!   duplicate, and the pending outbox is published then. The committing invocation holds
//!   a claim on its outbox item (a lease, [`crate::ports::OUTBOX_LEASE`]), released when
//!   publishing fails; another invocation publishes a pending item only after claiming
//!   it, so concurrent copies of an event do not publish it again. Each notification
//!   carries a stable `notification_id` for the windows left (published, not yet cleared;
//!   a publisher slower than its lease).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, warn};

use crate::cloudtrail::parse_event;
use crate::domain::{
    apply, may_change, AccountId, CountChange, DomainEvent, EnrollmentName, EventKind, FollowUp,
    OnboardingRecord, Phase, Role, Target, TransferMode,
};
use crate::error_class::{Classified, ErrorClass};
use crate::notifications;
use crate::ports::{
    Commit, Notifier, NotifyError, OutboxItem, OutboxScope, OutgoingNotification, RecordStore,
    StoreError, TargetDirectory, OUTBOX_LEASE,
};

/// How many times a conflicting write is retried before the invocation fails (and Lambda
/// retries it as a whole).
const MAX_ATTEMPTS: u32 = 8;

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied {
        account: AccountId,
        phase: Phase,
    },
    /// Already applied (redelivery).
    Duplicate {
        account: AccountId,
    },
    /// Valid, but changes nothing (late, or superseded).
    Unchanged {
        account: AccountId,
    },
    /// About an account that is not enrolled.
    NotEnrolled {
        account: AccountId,
    },
    /// A well-formed event the product does not follow.
    Ignored {
        reason: String,
    },
    /// A malformed event: logged with its id and skipped, never retried.
    Rejected {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("the record of {0} kept changing concurrently; giving up for now")]
    ConflictsExhausted(AccountId),
}

impl Classified for TrackerError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Store(error) => error.class(),
            Self::Notify(error) => error.class(),
            // Lambda's retry comes later, when the competing writers are done.
            Self::ConflictsExhausted(_) => ErrorClass::Transient,
        }
    }
}

/// What a function that acts through Organizations and records what it observed through
/// the tracker fails with (the inviter, the placer).
#[derive(Debug, thiserror::Error)]
pub enum ObserverError {
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    #[error("Organizations kept failing: {0}")]
    Organizations(#[from] crate::ports::OrganizationsError),
}

impl Classified for ObserverError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Tracker(error) => error.class(),
            Self::Organizations(error) => error.class(),
        }
    }
}

pub struct Tracker<S, N> {
    store: S,
    notifier: N,
    target: Target,
    /// Confirms acceptances (the proof of joining); without it none is confirmed.
    members: Option<Arc<dyn TargetDirectory>>,
}

impl<S: RecordStore, N: Notifier> Tracker<S, N> {
    pub fn new(store: S, notifier: N, target: Target) -> Self {
        Self {
            store,
            notifier,
            target,
            members: None,
        }
    }

    /// Confirms acceptances with the target organization's member list.
    pub fn with_target_directory(mut self, members: Arc<dyn TargetDirectory>) -> Self {
        self.members = Some(members);
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Handles one EventBridge event. `Err` only for what a retry can fix.
    pub async fn handle_json(&self, event: &Value) -> Result<Outcome, TrackerError> {
        match parse_event(event) {
            Ok(event) => {
                let event = event.about_customer(&self.target.management_account);
                self.record(&event).await
            }
            Err(error) if error.is_unsupported() => {
                info!(event_id = error.event_id(), %error, "ignoring event");
                Ok(Outcome::Ignored {
                    reason: error.to_string(),
                })
            }
            Err(error) => {
                warn!(event_id = error.event_id(), %error, "rejecting malformed event");
                Ok(Outcome::Rejected {
                    reason: error.to_string(),
                })
            }
        }
    }

    /// Applies one domain event and everything it leads to.
    #[tracing::instrument(skip_all, fields(event_id = %event.id, account_id = %event.account, kind = event.kind.name()))]
    pub async fn record(&self, event: &DomainEvent) -> Result<Outcome, TrackerError> {
        let (outcome, follow_ups) = self.apply_once(event).await?;
        if let Some(mode) = follow_ups.confirm.clone() {
            if let Some(confirmed) = self.confirm(mode, &event.account, &event.id).await? {
                return Ok(confirmed);
            }
        }
        self.follow_up(follow_ups, &event.id).await?;
        Ok(outcome)
    }

    /// Does what a committed (or redelivered) event asks of the tracker beyond its record.
    async fn follow_up(&self, follow_ups: FollowUps, cause: &str) -> Result<(), TrackerError> {
        let Some(record) = follow_ups.record else {
            return Ok(());
        };
        for follow_up in &follow_ups.list {
            match follow_up {
                FollowUp::ReevaluateManagement => {
                    self.reevaluate_management(&record.enrollment, cause)
                        .await?
                }
                FollowUp::OldOrganizationDeleted => {
                    self.members_departed(&record.enrollment, cause).await?
                }
                FollowUp::SendInvitation | FollowUp::AcceptInvitation { .. } => {
                    // Carried by the "Onboarding Phase Changed" notification to the inviter
                    // and the acceptor.
                }
            }
        }
        if record.placed.is_some() {
            self.announce_completion(&record.enrollment, cause).await?;
        }
        Ok(())
    }

    /// Applies one event to its account's record once, if the event may speak for it.
    async fn apply_once(&self, event: &DomainEvent) -> Result<(Outcome, FollowUps), TrackerError> {
        let account = event.account.clone();
        for attempt in 0..MAX_ATTEMPTS {
            let Some(record) = self.store.load(&account).await? else {
                info!("account is not enrolled; skipping");
                return Ok((Outcome::NotEnrolled { account }, FollowUps::default()));
            };
            if let Err(reason) = may_change(event, &record, &self.target) {
                info!(%reason, ignored = "origin", "ignoring an event that cannot speak for this record");
                return Ok((Outcome::Ignored { reason }, FollowUps::default()));
            }
            let confirm = prompts_confirmation(event, &record, &self.target);
            match self.commit_transition(event, record).await? {
                Some((outcome, mut follow_ups)) => {
                    follow_ups.confirm = confirm;
                    return Ok((outcome, follow_ups));
                }
                None => crate::retry::backoff(attempt).await,
            }
        }
        Err(TrackerError::ConflictsExhausted(account))
    }

    /// Commits the transition of `record` with its marker, outbox and counters, and
    /// publishes the outbox; `None` when the record changed meanwhile (reload, retry).
    async fn commit_transition(
        &self,
        event: &DomainEvent,
        record: OnboardingRecord,
    ) -> Result<Option<(Outcome, FollowUps)>, TrackerError> {
        let account = record.account_id.clone();
        let transition = apply(&record, event, &self.target, now());
        if !transition.changed {
            if record.has_applied(&event.id) {
                self.flush(&OutboxScope::Account(account.clone()), &event.id)
                    .await?;
                return Ok(Some((
                    Outcome::Duplicate { account },
                    FollowUps::redo(record),
                )));
            }
            return Ok(Some((Outcome::Unchanged { account }, FollowUps::default())));
        }
        let commit = Commit {
            outbox: notifications::render(&transition.record, &transition.notifications, &event.id),
            expected_version: record.version,
            event_id: event.id.clone(),
            counts: CountChange::between(&record, &transition.record),
            record: transition.record,
            claimant: claimant(),
        };
        match self.store.commit(&commit).await {
            Ok(()) => {
                info!(from = %record.phase, to = %commit.record.phase, version = commit.record.version, "applied");
                self.publish(
                    &OutboxScope::Account(account.clone()),
                    &event.id,
                    &commit.outbox,
                    &commit.claimant,
                )
                .await?;
                let phase = commit.record.phase;
                let follow_ups = FollowUps {
                    record: Some(commit.record),
                    list: transition.follow_ups,
                    confirm: None,
                };
                Ok(Some((Outcome::Applied { account, phase }, follow_ups)))
            }
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(StoreError::Duplicate { .. }) => {
                self.flush(&OutboxScope::Account(account.clone()), &event.id)
                    .await?;
                Ok(Some((Outcome::Duplicate { account }, FollowUps::default())))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// An acceptance is a prompt, not a proof: ask the target organization, with the hub's
    /// own credentials, whether the account is a member (one call), or in billing mode
    /// whether it lists the account's transfer as accepted (two list calls). Only a yes
    /// moves the record; a no, or a question that cannot be answered, leaves it where it
    /// is and never fails the event.
    async fn confirm(
        &self,
        mode: TransferMode,
        account: &AccountId,
        cause: &str,
    ) -> Result<Option<Outcome>, TrackerError> {
        let Some(members) = &self.members else {
            warn!("no membership check is configured; the acceptance is not confirmed");
            return Ok(None);
        };
        let proof = if matches!(mode, TransferMode::Billing(_)) {
            members.transfer_in_force(account).await.map(|transfer| {
                transfer.map(|t| EventKind::TransferConfirmed {
                    transfer: t.id,
                    starts_at: t.starts_at,
                })
            })
        } else {
            members
                .is_member(account)
                .await
                .map(|member| member.then_some(EventKind::MembershipConfirmed))
        };
        match proof {
            Ok(Some(kind)) => {
                let suffix = if matches!(mode, TransferMode::Billing(_)) {
                    "transferred"
                } else {
                    "member"
                };
                let event =
                    DomainEvent::observed(format!("{cause}#{suffix}"), account.clone(), kind);
                Ok(Some(Box::pin(self.record(&event)).await?))
            }
            Ok(None) => {
                info!("the target organization does not list the account (or its transfer) yet; the record stays");
                Ok(None)
            }
            Err(error) => {
                warn!(%error, "could not confirm the membership; the record stays");
                Ok(None)
            }
        }
    }

    /// Publishes a committed outbox, then clears it.
    async fn publish(
        &self,
        scope: &OutboxScope,
        event_id: &str,
        outbox: &[OutgoingNotification],
        claimant: &str,
    ) -> Result<(), TrackerError> {
        if outbox.is_empty() {
            return Ok(());
        }
        let item = OutboxItem {
            scope: scope.clone(),
            event_id: event_id.to_owned(),
            notifications: Vec::new(),
        };
        self.publish_claimed(&item, outbox, claimant).await
    }

    /// Publishes an outbox item this invocation holds the claim of, then clears it; on
    /// failure gives the claim up, so the next delivery publishes it at once.
    async fn publish_claimed(
        &self,
        item: &OutboxItem,
        notifications: &[OutgoingNotification],
        claimant: &str,
    ) -> Result<(), TrackerError> {
        if let Err(error) = self.notifier.publish(notifications).await {
            if let Err(release) = self.store.release_outbox(item, claimant).await {
                warn!(event_id = %item.event_id, %release, "could not release the outbox claim; it expires by itself");
            }
            return Err(error.into());
        }
        self.store.clear_outbox(item).await?;
        Ok(())
    }

    /// Publishes what an earlier delivery of this event committed but could not publish
    /// (one key read), unless another invocation holds its claim (it is publishing it
    /// right now).
    async fn flush(&self, scope: &OutboxScope, event_id: &str) -> Result<(), TrackerError> {
        match self.store.outbox_item(scope, event_id).await? {
            Some(item) => self.publish_pending(&item).await.map(drop),
            None => Ok(()),
        }
    }

    /// Publishes a pending outbox item and clears it, unless another invocation holds its
    /// claim (it is publishing it right now): `Ok(false)` then.
    pub async fn publish_pending(&self, item: &OutboxItem) -> Result<bool, TrackerError> {
        let now = now();
        let claimant = claimant();
        if !self
            .store
            .claim_outbox(item, now, now + OUTBOX_LEASE, &claimant)
            .await?
        {
            info!(event_id = %item.event_id, "pending notifications are being published by another invocation");
            return Ok(false);
        }
        info!(event_id = %item.event_id, count = item.notifications.len(), "publishing pending notifications");
        self.publish_claimed(item, &item.notifications, &claimant)
            .await?;
        Ok(true)
    }

    /// Redoes the follow-ups `record`'s state implies (the management account's
    /// re-evaluation, the enrollment's completion): what a function that recorded an
    /// event itself calls when it finds the event's work done but may have died before
    /// the follow-ups. Each is idempotent, so a plain repeat costs reads only.
    pub async fn redo_follow_ups(
        &self,
        record: OnboardingRecord,
        cause: &str,
    ) -> Result<(), TrackerError> {
        self.follow_up(FollowUps::redo(record), cause).await
    }

    /// A member left: tell the management account how many enrolled members remain, as
    /// the enrollment's counters say (one key read, whatever the enrollment's size).
    async fn reevaluate_management(
        &self,
        enrollment: &EnrollmentName,
        cause: &str,
    ) -> Result<(), TrackerError> {
        let counts = self.store.load_counts(enrollment).await?;
        let Some(management) = counts.management_account.clone() else {
            return Ok(());
        };
        let count = u32::try_from(counts.members_in_old_organization().max(0)).unwrap_or(u32::MAX);
        let event = DomainEvent::observed(
            format!("{cause}#members-remaining"),
            management,
            EventKind::MembersRemaining { count },
        );
        Box::pin(self.apply_once(&event)).await?;
        Ok(())
    }

    /// The old organization was deleted: every member still recorded in it has left. The
    /// counters say whether any is (normally none: AWS deletes only an empty
    /// organization), so the enrollment is listed only when leave events were lost.
    async fn members_departed(
        &self,
        enrollment: &EnrollmentName,
        cause: &str,
    ) -> Result<(), TrackerError> {
        if self
            .store
            .load_counts(enrollment)
            .await?
            .members_in_old_organization()
            <= 0
        {
            return Ok(());
        }
        let records = self.store.list_by_enrollment(enrollment).await?;
        for member in records.iter().filter(|r| r.role == Role::Member) {
            let event = DomainEvent::observed(
                format!("{cause}#departed#{}", member.account_id),
                member.account_id.clone(),
                EventKind::LeftOrganization { removed: false },
            );
            // The index may lag behind: the transition re-reads each record and changes
            // only those still in the organization.
            Box::pin(self.apply_once(&event)).await?;
        }
        Ok(())
    }

    /// Announces, once, that every account of the enrollment joined and was placed (the
    /// counters say so).
    async fn announce_completion(
        &self,
        enrollment: &EnrollmentName,
        cause: &str,
    ) -> Result<(), TrackerError> {
        let counts = self.store.load_counts(enrollment).await?;
        if !counts.all_placed() {
            return Ok(());
        }
        let marker = format!("enrollment-completed#{enrollment}");
        let accounts = usize::try_from(counts.accounts()).unwrap_or_default();
        let notification = notifications::enrollment_completed(enrollment, accounts, cause);
        if self
            .announce_once(enrollment, &marker, notification)
            .await?
        {
            info!(%enrollment, "enrollment completed");
        }
        Ok(())
    }

    /// Publishes an announcement about a whole enrollment once per `marker`, through the
    /// outbox (a failed publish is retried by the next pass, never lost). `true` when this
    /// call committed it.
    pub async fn announce_once(
        &self,
        enrollment: &EnrollmentName,
        marker: &str,
        notification: OutgoingNotification,
    ) -> Result<bool, TrackerError> {
        let scope = OutboxScope::Enrollment(enrollment.clone());
        let committed = self
            .store
            .commit_once(&scope, marker, std::slice::from_ref(&notification))
            .await?;
        self.flush(&scope, marker).await?;
        Ok(committed)
    }
}

#[derive(Default)]
struct FollowUps {
    record: Option<OnboardingRecord>,
    list: Vec<FollowUp>,
    /// The event was an acceptance: confirm, through the API, the membership (or the
    /// billing transfer) the record's mode moves to.
    confirm: Option<TransferMode>,
}

impl FollowUps {
    /// A redelivered event may be Lambda's retry of an invocation that committed and then
    /// failed in its follow-ups: redo what the record's state implies. Each follow-up is
    /// idempotent (derived event ids, a once-only marker), so a plain repeat costs reads only.
    fn redo(record: OnboardingRecord) -> Self {
        let list = match record.role {
            Role::Member if !record.in_old_organization => vec![FollowUp::ReevaluateManagement],
            Role::Management if !record.in_old_organization => {
                vec![FollowUp::OldOrganizationDeleted]
            }
            _ => Vec::new(),
        };
        Self {
            record: Some(record),
            list,
            confirm: None,
        }
    }
}

/// An acceptance of no other organization's invitation, by an account not yet joined (or
/// transferred): the mode whose proof to ask for.
fn prompts_confirmation(
    event: &DomainEvent,
    record: &OnboardingRecord,
    target: &Target,
) -> Option<TransferMode> {
    let EventKind::InvitationAccepted { organization, .. } = &event.kind else {
        return None;
    };
    let ours = organization
        .as_ref()
        .is_none_or(|o| *o == target.organization);
    (!record.phase.is_terminal() && ours).then(|| record.transfer_mode.clone())
}

/// A token naming this invocation's claim on an outbox item, so that it releases only its
/// own claim, never one another invocation took meanwhile.
fn claimant() -> String {
    format!("{:016x}", fastrand::u64(..))
}

fn now() -> DateTime<Utc> {
    Utc::now()
}
