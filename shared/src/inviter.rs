//! The inviter: from the target organization, make sure every account awaiting its
//! invitation has one. Idempotent: an open invitation already sent to the account is
//! adopted (ListHandshakesForOrganization) before anything is sent, and
//! `DuplicateHandshakeException` adopts too. A refusal is recorded through the tracker's
//! transition: `ALREADY_IN_AN_ORGANIZATION` is the fallback of a direct-mode member (or a
//! blocker), the daily invitation quota and the account limit defer the account to a
//! later run with a visible reason, and the rest of the batch goes on.

use chrono::Utc;
use serde_json::Value;
use tracing::{info, warn};

use crate::domain::{
    AccountId, DomainEvent, EventKind, HandshakeId, ObservedHandshake, OnboardingRecord, Operation,
    Phase,
};
use crate::error_class::{Classified, ErrorClass};
use crate::ports::{Notifier, OrganizationsError, RecordStore, TargetOrganization};
use crate::retry;
use crate::tracker::{Tracker, TrackerError};
use crate::trigger::dispatch;

const ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviterOutcome {
    Invited {
        handshake: HandshakeId,
    },
    /// An open invitation already existed and is now the record's.
    Adopted {
        handshake: HandshakeId,
    },
    /// AWS refused; the record shows why (blocker, fallback or quota).
    Refused {
        reason: String,
    },
    /// Nothing to do in this phase.
    Skipped {
        phase: Phase,
    },
    NotEnrolled,
}

#[derive(Debug, thiserror::Error)]
pub enum InviterError {
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    #[error("Organizations kept failing: {0}")]
    Organizations(#[from] OrganizationsError),
}

impl Classified for InviterError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Tracker(error) => error.class(),
            Self::Organizations(error) => error.class(),
        }
    }
}

pub struct Inviter<S, N, T> {
    tracker: Tracker<S, N>,
    organization: T,
}

impl<S: RecordStore, N: Notifier, T: TargetOrganization> Inviter<S, N, T> {
    pub fn new(tracker: Tracker<S, N>, organization: T) -> Self {
        Self {
            tracker,
            organization,
        }
    }

    pub async fn handle_json(
        &self,
        event: &Value,
    ) -> Result<Vec<(AccountId, InviterOutcome)>, InviterError> {
        dispatch(
            event,
            |account| async move { self.process(&account, false).await },
            || self.sweep(),
        )
        .await
    }

    /// Every account awaiting an invitation, and every invited one whose invitation may
    /// have closed.
    pub async fn sweep(&self) -> Result<Vec<(AccountId, InviterOutcome)>, InviterError> {
        let store = self.tracker.store();
        let mut records = store
            .list_by_phase(Phase::Invited)
            .await
            .map_err(TrackerError::from)?;
        records.extend(
            store
                .list_by_phase(Phase::AwaitingInvitation)
                .await
                .map_err(TrackerError::from)?,
        );
        let handshakes = self.list_handshakes().await?;
        let mut outcomes = Vec::new();
        for record in records {
            let outcome = self
                .process_record(record.clone(), &handshakes, false)
                .await?;
            outcomes.push((record.account_id, outcome));
        }
        Ok(outcomes)
    }

    /// One account. `force` invites whatever the phase (for `onboardctl invoke --account`).
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    pub async fn process(
        &self,
        account: &AccountId,
        force: bool,
    ) -> Result<InviterOutcome, InviterError> {
        let Some(record) = self
            .tracker
            .store()
            .load(account)
            .await
            .map_err(TrackerError::from)?
        else {
            return Ok(InviterOutcome::NotEnrolled);
        };
        let handshakes = self.list_handshakes().await?;
        self.process_record(record, &handshakes, force).await
    }

    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, InviterError> {
        Ok(retry::transient(ATTEMPTS, || self.organization.list_handshakes()).await?)
    }

    async fn process_record(
        &self,
        mut record: OnboardingRecord,
        handshakes: &[ObservedHandshake],
        force: bool,
    ) -> Result<InviterOutcome, InviterError> {
        let account = record.account_id.clone();
        if record.phase == Phase::Invited {
            let Some(closed) = self.close_current_if_gone(&record, handshakes).await? else {
                return Ok(InviterOutcome::Skipped {
                    phase: record.phase,
                });
            };
            record = closed;
        }
        if record.phase != Phase::AwaitingInvitation && !(force && record.phase != Phase::Joined) {
            return Ok(InviterOutcome::Skipped {
                phase: record.phase,
            });
        }
        if let Some(open) = open_invitation_for(&record, handshakes, Utc::now()) {
            return self.adopt(&account, open).await;
        }
        let notes = format!("org-onboarding: enrollment {}", record.enrollment);
        match retry::transient(ATTEMPTS, || self.organization.invite(&account, &notes)).await {
            Ok(handshake) => {
                info!(handshake_id = %handshake.id, "invited");
                let id = handshake.id.clone();
                self.record(&account, format!("inviter:invited:{id}"), sent(&handshake))
                    .await?;
                Ok(InviterOutcome::Invited { handshake: id })
            }
            Err(error) if error.code() == "DuplicateHandshakeException" => {
                let handshakes = self.list_handshakes().await?;
                match open_invitation_for(&record, &handshakes, Utc::now()) {
                    Some(open) => self.adopt(&account, open).await,
                    None => self.refused(&account, error).await,
                }
            }
            Err(error) if error.transient => {
                // Throttled past our retries: leave it to the next run, don't fail the batch.
                warn!(%error, "deferring the invitation to the next run");
                Ok(InviterOutcome::Refused {
                    reason: error.to_string(),
                })
            }
            Err(error) => self.refused(&account, error).await,
        }
    }

    async fn adopt(
        &self,
        account: &AccountId,
        open: &ObservedHandshake,
    ) -> Result<InviterOutcome, InviterError> {
        info!(handshake_id = %open.id, "adopting the open invitation");
        self.record(account, format!("inviter:adopted:{}", open.id), sent(open))
            .await?;
        Ok(InviterOutcome::Adopted {
            handshake: open.id.clone(),
        })
    }

    async fn refused(
        &self,
        account: &AccountId,
        error: OrganizationsError,
    ) -> Result<InviterOutcome, InviterError> {
        warn!(%error, "AWS refused the invitation");
        let kind = EventKind::CallFailed {
            operation: Operation::InviteAccountToOrganization,
            failure: error.failure.clone(),
            handshake: None,
        };
        let id = format!(
            "inviter:failed:{account}:{}",
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        self.record(account, id, kind).await?;
        Ok(InviterOutcome::Refused {
            reason: error.to_string(),
        })
    }

    /// The record's invitation closed (declined, cancelled, expired): record it and return
    /// the record, now awaiting a new invitation.
    async fn close_current_if_gone(
        &self,
        record: &OnboardingRecord,
        handshakes: &[ObservedHandshake],
    ) -> Result<Option<OnboardingRecord>, InviterError> {
        let Some(current) = &record.handshake_id else {
            return Ok(None);
        };
        let Some(closure) = handshakes
            .iter()
            .find(|h| &h.id == current)
            .and_then(|h| h.closure(Utc::now()))
        else {
            return Ok(None);
        };
        let kind = EventKind::InvitationClosed {
            handshake: current.clone(),
            closure,
        };
        self.record(
            &record.account_id,
            format!("inviter:closed:{current}"),
            kind,
        )
        .await?;
        Ok(self
            .tracker
            .store()
            .load(&record.account_id)
            .await
            .map_err(TrackerError::from)?)
    }

    async fn record(
        &self,
        account: &AccountId,
        id: String,
        kind: EventKind,
    ) -> Result<(), InviterError> {
        let event = DomainEvent::observed(id, account.clone(), kind);
        self.tracker.record(&event).await?;
        Ok(())
    }
}

fn sent(handshake: &ObservedHandshake) -> EventKind {
    EventKind::InvitationSent {
        handshake: handshake.id.clone(),
        organization: handshake.inviting_organization(),
        expires_at: handshake.expires_at,
    }
}

/// An open, unexpired invitation from the target organization to this account that the
/// record has not already seen closed.
fn open_invitation_for<'a>(
    record: &OnboardingRecord,
    handshakes: &'a [ObservedHandshake],
    now: chrono::DateTime<Utc>,
) -> Option<&'a ObservedHandshake> {
    handshakes.iter().find(|h| {
        h.is_open_invitation()
            && h.expires_at.is_some_and(|at| at > now)
            && h.parties.iter().any(|(kind, id)| {
                kind.eq_ignore_ascii_case("ACCOUNT") && id == record.account_id.as_str()
            })
            && !record.settled_handshakes.contains(&h.id)
    })
}
