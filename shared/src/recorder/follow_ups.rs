//! What a committed (or redelivered) event asks of the recorder beyond its record: the
//! management account's re-evaluation when a member left, the members of a deleted
//! organization, the enrollment's completion, and announcements once per enrollment; and
//! which of them a commit can rule out on the enrollment's counters ([`guard`]), so that
//! they cost reads only where they have work to do.

use tracing::info;

use super::{ObservationRecorder, RecordError, RecorderStore};
use crate::domain::{
    ArrivalProof, DomainEvent, EnrollmentName, EventKind, FollowUp, OnboardingRecord, Role, Target,
};
use crate::notifications;
use crate::ports::{CountGuard, Notifier, OutboxItem, OutboxScope, OutgoingNotification};

#[derive(Default)]
pub(super) struct FollowUps {
    pub(super) record: Option<OnboardingRecord>,
    pub(super) list: Vec<FollowUp>,
    /// The event was an acceptance: confirm, through the API, the arrival the record's
    /// journey asks proof of (the record as the acceptance found it).
    pub(super) confirm: Option<(ArrivalProof, OnboardingRecord)>,
    /// The outbox item this invocation published, to settle once the rest is done.
    pub(super) settle: Option<Settle>,
}

/// An outbox item this invocation holds and published: what becomes of it once the
/// event's follow-ups are done (deleted, or left to expire), or given up if they fail.
pub(super) struct Settle {
    pub(super) item: OutboxItem,
    pub(super) claimant: String,
    pub(super) clear: bool,
}

/// The condition on the enrollment's counters under which `follow_up` has nothing to do:
/// a member's leave re-evaluates its management account, which changes only once no
/// member remains; a deleted organization's members are looked for only when some are
/// still counted in it.
fn guarded_by(follow_up: &FollowUp) -> Option<CountGuard> {
    match follow_up {
        FollowUp::ReevaluateManagement => Some(CountGuard::MembersRemain),
        FollowUp::OldOrganizationDeleted => Some(CountGuard::NoMemberLeft),
        // Carried by the notifications to the inviter and the acceptor.
        FollowUp::SendInvitation | FollowUp::AcceptInvitation { .. } => None,
    }
}

/// The guard a commit of a transition leading to `list` holds.
pub(super) fn guard(list: &[FollowUp]) -> Option<CountGuard> {
    list.iter().find_map(guarded_by)
}

/// Whether `follow_up` has work after a commit that held `guard`.
fn has_work(follow_up: &FollowUp, guard: Option<CountGuard>) -> bool {
    guarded_by(follow_up).is_some_and(|own| Some(own) != guard)
}

/// The follow-ups left to do after a commit that held `guard`.
pub(super) fn unguarded(list: Vec<FollowUp>, guard: Option<CountGuard>) -> Vec<FollowUp> {
    list.into_iter()
        .filter(|follow_up| guarded_by(follow_up).is_none() || has_work(follow_up, guard))
        .collect()
}

/// Whether a commit holding `guard` leaves the recorder work after it: a follow-up the
/// guard does not rule out, or the enrollment's completion to look at (a placed record).
pub(super) fn due(list: &[FollowUp], guard: Option<CountGuard>, record: &OnboardingRecord) -> bool {
    list.iter().any(|follow_up| has_work(follow_up, guard)) || record.placed.is_some()
}

impl FollowUps {
    /// A redelivered event may be Lambda's retry of an invocation that committed and then
    /// failed in its follow-ups: redo what the record's state implies. Each follow-up is
    /// idempotent (derived event ids, a once-only marker), so a plain repeat costs reads only.
    pub(super) fn redo(record: OnboardingRecord) -> Self {
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
            ..Self::default()
        }
    }
}

/// An acceptance of no other organization's invitation, by an account not yet joined (or
/// transferred): the proof its journey asks for.
pub(super) fn prompts_confirmation(
    event: &DomainEvent,
    record: &OnboardingRecord,
    target: &Target,
) -> Option<ArrivalProof> {
    let EventKind::InvitationAccepted { organization, .. } = &event.kind else {
        return None;
    };
    let ours = organization
        .as_ref()
        .is_none_or(|o| *o == target.organization);
    (!record.phase.is_terminal() && ours).then(|| record.journey().arrival_proof())
}

impl<S: RecorderStore, N: Notifier> ObservationRecorder<S, N> {
    /// Does what a committed (or redelivered) event asks beyond its record.
    pub(super) async fn follow_up(
        &self,
        follow_ups: FollowUps,
        cause: &str,
    ) -> Result<(), RecordError> {
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

    /// Redoes the follow-ups `record`'s state implies (the management account's
    /// re-evaluation, the enrollment's completion): what a function that recorded an
    /// event itself calls when it finds the event's work done but may have died before
    /// the follow-ups. Each is idempotent, so a plain repeat costs reads only.
    pub async fn redo_follow_ups(
        &self,
        record: OnboardingRecord,
        cause: &str,
    ) -> Result<(), RecordError> {
        self.follow_up(FollowUps::redo(record), cause).await
    }

    /// A member left: tell the management account how many enrolled members remain, as
    /// the enrollment's counters say (one key read, whatever the enrollment's size).
    async fn reevaluate_management(
        &self,
        enrollment: &EnrollmentName,
        cause: &str,
    ) -> Result<(), RecordError> {
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
        self.apply_derived(&event).await
    }

    /// The old organization was deleted: every member still recorded in it has left. The
    /// counters say whether any is (normally none: AWS deletes only an empty
    /// organization), so the enrollment is listed only when leave events were lost.
    async fn members_departed(
        &self,
        enrollment: &EnrollmentName,
        cause: &str,
    ) -> Result<(), RecordError> {
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
            self.apply_derived(&event).await?;
        }
        Ok(())
    }

    /// Announces, once, that every account of the enrollment joined and was placed (the
    /// counters say so).
    pub async fn announce_completion(
        &self,
        enrollment: &EnrollmentName,
        cause: &str,
    ) -> Result<(), RecordError> {
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
    ) -> Result<bool, RecordError> {
        let scope = OutboxScope::Enrollment(enrollment.clone());
        let committed = self
            .store
            .commit_once(&scope, marker, std::slice::from_ref(&notification))
            .await?;
        self.flush(&scope, marker).await?;
        Ok(committed)
    }
}
