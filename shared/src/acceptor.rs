//! The acceptor: for an account, look at its handshakes *through the API* (as the account,
//! through the spoke role), accept the one invitation the policy passes, report every
//! other open invitation once, and record each outcome through the tracker's transition.
//!
//! An already accepted handshake (AWS: `HandshakeAlreadyInStateException`; the emulator:
//! `InvalidHandshakeTransitionException`) counts as accepted only once DescribeOrganization
//! in the account shows the target organization.

use chrono::Utc;
use serde_json::Value;
use tracing::{info, warn};

use crate::domain::{
    judge, AccountId, DomainEvent, EventKind, HandshakeId, ObservedHandshake, OnboardingRecord,
    Operation, Phase, Step,
};
use crate::error_class::{Classified, ErrorClass};
use crate::ports::{AccountOrganizations, Credentials, Notifier, OrganizationsError, RecordStore};
use crate::retry;
use crate::tracker::{Outcome, Tracker, TrackerError};
use crate::trigger::dispatch;

/// Transient Organizations failures are retried this many times within an invocation.
const ATTEMPTS: u32 = 4;

/// What the acceptor did for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptorOutcome {
    Accepted {
        handshake: HandshakeId,
    },
    /// No invitation passes the policy (yet).
    NothingToAccept {
        reported: usize,
    },
    /// AWS refused the acceptance, or the account cannot be reached: a blocker records why.
    Blocked {
        reason: String,
    },
    AlreadyJoined,
    NotEnrolled,
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptorError {
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    #[error("Organizations kept failing for {account}: {error}")]
    Organizations {
        account: AccountId,
        error: OrganizationsError,
    },
    #[error("{failed} of the swept accounts failed transiently; the sweep will be retried")]
    Sweep { failed: usize },
}

impl Classified for AcceptorError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Tracker(error) => error.class(),
            Self::Organizations { error, .. } => error.class(),
            Self::Sweep { .. } => ErrorClass::Transient,
        }
    }
}

pub struct Acceptor<S, N, C> {
    tracker: Tracker<S, N>,
    credentials: C,
    decline_unexpected: bool,
}

impl<S: RecordStore, N: Notifier, C: Credentials> Acceptor<S, N, C> {
    pub fn new(tracker: Tracker<S, N>, credentials: C, decline_unexpected: bool) -> Self {
        Self {
            tracker,
            credentials,
            decline_unexpected,
        }
    }

    /// Handles the EventBridge event that invoked the function.
    pub async fn handle_json(
        &self,
        event: &Value,
    ) -> Result<Vec<(AccountId, AcceptorOutcome)>, AcceptorError> {
        dispatch(
            event,
            |account| async move { self.process(&account).await },
            || self.sweep(),
        )
        .await
    }

    /// Every account that may have an invitation to accept.
    pub async fn sweep(&self) -> Result<Vec<(AccountId, AcceptorOutcome)>, AcceptorError> {
        let store = self.tracker.store();
        let mut accounts: Vec<AccountId> = Vec::new();
        for phase in [Phase::Invited, Phase::AwaitingInvitation] {
            accounts.extend(
                store
                    .list_by_phase(phase)
                    .await
                    .map_err(TrackerError::from)?
                    .into_iter()
                    .map(|r| r.account_id),
            );
        }
        let mut outcomes = Vec::new();
        let mut failed = 0;
        for account in accounts {
            match self.process(&account).await {
                Ok(outcome) => outcomes.push((account, outcome)),
                Err(error) => {
                    warn!(account_id = %account, %error, "acceptor failed for this account; continuing the sweep");
                    failed += 1;
                }
            }
        }
        if failed > 0 {
            return Err(AcceptorError::Sweep { failed });
        }
        Ok(outcomes)
    }

    /// Looks at one account's handshakes and accepts the verified invitation, whatever the
    /// account's phase (a foreign invitation is reported even before ours is sent).
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    pub async fn process(&self, account: &AccountId) -> Result<AcceptorOutcome, AcceptorError> {
        let Some(record) = self
            .tracker
            .store()
            .load(account)
            .await
            .map_err(TrackerError::from)?
        else {
            return Ok(AcceptorOutcome::NotEnrolled);
        };
        if record.phase == Phase::Joined {
            return Ok(AcceptorOutcome::AlreadyJoined);
        }
        let organizations = match self.credentials.organizations_for(account).await {
            Ok(client) => client,
            Err(error) if error.transient => {
                return Err(AcceptorError::Organizations {
                    account: account.clone(),
                    error,
                })
            }
            Err(error) => {
                warn!(%error, "cannot reach the account through the spoke role");
                self.observe(
                    account,
                    "access-denied",
                    EventKind::AccessChecked {
                        failure: Some(error.failure),
                    },
                )
                .await?;
                return Ok(AcceptorOutcome::Blocked {
                    reason: "spoke role missing or not trusted".into(),
                });
            }
        };
        if record.blockers.iter().any(|b| b.step == Step::Access) {
            self.observe(
                account,
                "access-ok",
                EventKind::AccessChecked { failure: None },
            )
            .await?;
        }
        let client = organizations.as_ref();
        let handshakes = self.call(account, || client.list_handshakes()).await?;
        let now = Utc::now();
        self.close_current_if_gone(&record, &handshakes, now)
            .await?;

        let verdict = judge(&handshakes, account, self.tracker.target(), now);
        for (handshake, organization, refusal) in &verdict.unexpected {
            info!(handshake_id = %handshake, reason = refusal.code(), "unexpected invitation; never accepted");
            let kind = EventKind::InvitationRefused {
                handshake: handshake.clone(),
                organization: organization.clone(),
                reason: refusal.describe(),
            };
            let first_time = matches!(
                self.record(account, format!("acceptor:refused:{handshake}"), kind)
                    .await?,
                Outcome::Applied { .. }
            );
            if first_time && self.decline_unexpected {
                if let Err(error) = client.decline(handshake).await {
                    warn!(handshake_id = %handshake, %error, "declining the unexpected invitation failed");
                }
            }
        }
        match verdict.accept {
            Some(handshake) => self.accept(account, client, handshake).await,
            None => Ok(AcceptorOutcome::NothingToAccept {
                reported: verdict.unexpected.len(),
            }),
        }
    }

    async fn accept(
        &self,
        account: &AccountId,
        client: &dyn AccountOrganizations,
        handshake: HandshakeId,
    ) -> Result<AcceptorOutcome, AcceptorError> {
        let target = self.tracker.target();
        let accepted = EventKind::InvitationAccepted {
            handshake: handshake.clone(),
            organization: Some(target.organization.clone()),
        };
        let event_id = format!("acceptor:accepted:{handshake}");
        match retry::transient(ATTEMPTS, || client.accept(&handshake)).await {
            Ok(_) => {
                info!(handshake_id = %handshake, "accepted the verified invitation");
                self.record(account, event_id, accepted).await?;
                Ok(AcceptorOutcome::Accepted { handshake })
            }
            Err(error) if error.transient => Err(AcceptorError::Organizations {
                account: account.clone(),
                error,
            }),
            Err(error)
                if matches!(
                    error.code(),
                    "HandshakeAlreadyInStateException" | "InvalidHandshakeTransitionException"
                ) =>
            {
                let membership = self.call(account, || client.membership()).await?;
                let in_target = membership.is_some_and(|m| {
                    m.organization == target.organization
                        && m.management_account == target.management_account
                });
                if in_target {
                    self.record(account, event_id, accepted).await?;
                    Ok(AcceptorOutcome::Accepted { handshake })
                } else {
                    self.failed(account, handshake, error).await
                }
            }
            Err(error) => self.failed(account, handshake, error).await,
        }
    }

    async fn failed(
        &self,
        account: &AccountId,
        handshake: HandshakeId,
        error: OrganizationsError,
    ) -> Result<AcceptorOutcome, AcceptorError> {
        warn!(handshake_id = %handshake, %error, "AWS refused the acceptance");
        let kind = EventKind::CallFailed {
            operation: Operation::AcceptHandshake,
            failure: error.failure.clone(),
            handshake: Some(handshake),
        };
        self.observe(account, "accept-failed", kind).await?;
        Ok(AcceptorOutcome::Blocked {
            reason: error.to_string(),
        })
    }

    /// The record's current invitation is no longer open: record its closure, so the
    /// inviter sends a new one.
    async fn close_current_if_gone(
        &self,
        record: &OnboardingRecord,
        handshakes: &[ObservedHandshake],
        now: chrono::DateTime<Utc>,
    ) -> Result<(), AcceptorError> {
        let Some(current) = &record.handshake_id else {
            return Ok(());
        };
        let Some(observed) = handshakes.iter().find(|h| &h.id == current) else {
            return Ok(());
        };
        if let Some(closure) = observed.closure(now) {
            let kind = EventKind::InvitationClosed {
                handshake: current.clone(),
                closure,
            };
            self.record(
                &record.account_id,
                format!("acceptor:closed:{current}"),
                kind,
            )
            .await?;
        }
        Ok(())
    }

    async fn call<T, F, Fut>(&self, account: &AccountId, call: F) -> Result<T, AcceptorError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, OrganizationsError>>,
    {
        retry::transient(ATTEMPTS, call)
            .await
            .map_err(|error| AcceptorError::Organizations {
                account: account.clone(),
                error,
            })
    }

    async fn record(
        &self,
        account: &AccountId,
        id: String,
        kind: EventKind,
    ) -> Result<Outcome, AcceptorError> {
        let event = DomainEvent::observed(id, account.clone(), kind);
        Ok(self.tracker.record(&event).await?)
    }

    /// Records an observation that may repeat over time (each is judged on the record's
    /// state, so a repeat changes nothing).
    async fn observe(
        &self,
        account: &AccountId,
        what: &str,
        kind: EventKind,
    ) -> Result<(), AcceptorError> {
        let id = format!(
            "acceptor:{what}:{account}:{}",
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        self.record(account, id, kind).await.map(|_| ())
    }
}
