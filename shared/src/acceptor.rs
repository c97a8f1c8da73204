//! The acceptor: for an account, look at its handshakes *through the API* (as the account,
//! through the spoke role), accept the one invitation the policy passes, report every
//! other open invitation once, and record each outcome through the
//! [`ObservationRecorder`] (which also closes a current invitation found closed and
//! records the spoke role's refusals).
//!
//! In billing mode the one handshake accepted is the target's `TRANSFER_RESPONSIBILITY`
//! invitation to the customer's management account, judged exactly as strictly
//! ([`crate::domain::judge_offer`]); any other transfer invitation is reported.
//!
//! An already accepted handshake (AWS: `HandshakeAlreadyInStateException`; the emulator:
//! `InvalidHandshakeTransitionException`) counts as accepted only once DescribeOrganization
//! in the account shows the target organization.
//!
//! Nothing is looked at, accepted or declined until the configured target is verified
//! ([`TargetGate`]): before its first account (the cold start) the acceptor asks
//! DescribeOrganization in the hub's own account and compares it with
//! `TARGET_ORGANIZATION_ID` / `TARGET_MANAGEMENT_ACCOUNT_ID`; while they disagree (or the
//! question cannot be answered) it logs an error, emits the `TargetMismatch` metric (the
//! template alarms on it) and leaves every account alone: with a wrong target every real
//! invitation would look foreign, and be declined when declining is configured.
//!
//! Failures stay with their account: a permanent refusal of a call in the account (an SCP
//! denying ListHandshakesForAccount, a missing role) becomes that account's blocker, and a
//! sweep ([`crate::sweep`]) goes on with the others; acceptances are paced within the
//! organization's rate ([`crate::pace`]). Unexpected invitations are e-mailed as one
//! digest per enrollment at the end of each run ([`crate::notifications::digest`]).

use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;
use tracing::{info, warn};

use crate::domain::{
    classify, judge_offer, AccountId, BlockerCode, EventKind, FailureClass, FunctionName,
    HandshakeId, Observation, ObservedHandshake, Offer, OnboardingRecord, Operation, Phase,
    Verdict,
};
use crate::pace::{Pacer, ACCEPT_PER_SECOND};
use crate::ports::{
    AccountOrganizations, Credentials, Notifier, OrganizationsError, SweepCursors, SweepSource,
    TargetDirectory,
};
use crate::recorder::{FailedCall, ObservationRecorder, ObserverError, Outcome, RecorderStore};
use crate::retry;
use crate::sweep::{resumable, SweepLimits, SweepReport};
use crate::target_check::TargetGate;
use crate::trigger::dispatch;

/// The acceptor's observations and calls are its own.
const NAME: FunctionName = FunctionName::Acceptor;

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
    /// The configured target is not verified: nothing was looked at, accepted or declined.
    TargetUnverified {
        reason: String,
    },
}

/// The acceptor fails as every observing function does.
pub type AcceptorError = ObserverError;

pub struct Acceptor<S, N, C> {
    recorder: ObservationRecorder<S, N>,
    credentials: C,
    target: TargetGate,
    decline_unexpected: bool,
    limits: SweepLimits,
    accepts: Pacer,
}

impl<S: RecorderStore + SweepCursors, N: Notifier, C: Credentials> Acceptor<S, N, C> {
    /// `directory` is the hub's own view of its organization (the target check).
    pub fn new(
        recorder: impl Into<ObservationRecorder<S, N>>,
        credentials: C,
        directory: Arc<dyn TargetDirectory>,
        decline_unexpected: bool,
    ) -> Self {
        let recorder = recorder.into();
        let target = TargetGate::new(directory, recorder.target().clone(), NAME);
        Self {
            recorder,
            credentials,
            target,
            decline_unexpected,
            limits: SweepLimits::default(),
            accepts: Pacer::per_second(ACCEPT_PER_SECOND),
        }
    }

    pub fn with_sweep_limits(mut self, limits: SweepLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Handles the EventBridge event that invoked the function.
    pub async fn handle_json(
        &self,
        event: &Value,
    ) -> Result<SweepReport<AcceptorOutcome>, AcceptorError> {
        dispatch(
            event,
            |account| async move { self.process(&account).await },
            || self.sweep(),
        )
        .await
    }

    /// Every account that may have an invitation to accept, within the sweep's limits,
    /// starting after the account the last sweep stopped at.
    pub async fn sweep(&self) -> Result<SweepReport<AcceptorOutcome>, AcceptorError> {
        if self.target.verified().await.is_err() {
            return Ok(SweepReport::default());
        }
        let store = self.recorder.store();
        let sources = Phase::OFFER_PHASES.map(SweepSource::Phase);
        let report = resumable(
            store,
            NAME,
            self.limits,
            &sources,
            |_| true,
            |record| async move { self.process_verified(&record.account_id).await },
        )
        .await;
        self.recorder.publish_digests(NAME).await?;
        Ok(report?)
    }

    /// One account, as a run of its own (its digest published at the end); nothing is done
    /// while the target is unverified.
    pub async fn process(&self, account: &AccountId) -> Result<AcceptorOutcome, AcceptorError> {
        if let Err(reason) = self.target.verified().await {
            return Ok(AcceptorOutcome::TargetUnverified { reason });
        }
        let outcome = self.process_verified(account).await;
        self.recorder.publish_digests(NAME).await?;
        outcome
    }

    /// One account, once the target is verified; a permanent refusal of a call in it
    /// becomes its blocker.
    async fn process_verified(
        &self,
        account: &AccountId,
    ) -> Result<AcceptorOutcome, AcceptorError> {
        match self.look_and_accept(account).await {
            Err(ObserverError::Call(FailedCall {
                call: Some(call),
                account: Some(account),
                error,
            })) if !error.transient => {
                warn!(account_id = %account, call, %error, "refused for good; the account is blocked");
                self.recorder
                    .call_refused(NAME, &account, call, error.failure.clone())
                    .await?;
                Ok(AcceptorOutcome::Blocked {
                    reason: format!("{call} refused: {error}"),
                })
            }
            other => other,
        }
    }

    /// Looks at one account's handshakes and accepts the verified invitation, whatever the
    /// account's phase (a foreign invitation is reported even before ours is sent).
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    async fn look_and_accept(&self, account: &AccountId) -> Result<AcceptorOutcome, AcceptorError> {
        let Some(record) = self.recorder.store().load(account).await? else {
            return Ok(AcceptorOutcome::NotEnrolled);
        };
        if record.phase.is_terminal() {
            // A retry of an invocation that recorded the join and died before its
            // follow-ups (the management account, the enrollment's completion).
            let cause = format!("{NAME}:joined:{account}");
            self.recorder.redo_follow_ups(record, &cause).await?;
            return Ok(AcceptorOutcome::AlreadyJoined);
        }
        let organizations = match self.credentials.organizations_for(account).await {
            Ok(client) => client,
            Err(error) if error.transient => {
                return Err(FailedCall::new("AssumeRole", Some(account), error).into())
            }
            Err(error) => {
                warn!(%error, "cannot reach the account through the spoke role");
                self.recorder
                    .access_denied(NAME, account, error.failure)
                    .await?;
                return Ok(AcceptorOutcome::Blocked {
                    reason: "spoke role missing or not trusted".into(),
                });
            }
        };
        let client = organizations.as_ref();
        let handshakes = self
            .call(account, "ListHandshakesForAccount", || {
                client.list_handshakes()
            })
            .await?;
        self.recorder.access_works(NAME, &record).await?;
        let now = Utc::now();
        self.recorder
            .close_current_if_gone(NAME, &record, &handshakes, now)
            .await?;

        let offer = record.transfer_mode.offer();
        let verdict = judge_offer(offer, &handshakes, account, self.recorder.target(), now);
        self.report_unexpected(account, client, &verdict).await?;
        match verdict.accept {
            Some(handshake) => {
                self.take_before_accepting(&record, &handshakes, &handshake, offer)
                    .await?;
                self.accept(account, client, handshake, offer).await
            }
            None => Ok(AcceptorOutcome::NothingToAccept {
                reported: verdict.unexpected.len(),
            }),
        }
    }

    /// Every invitation the policy refused is reported once (and declined if configured,
    /// retrying a throttled decline); none is ever accepted.
    async fn report_unexpected(
        &self,
        account: &AccountId,
        client: &dyn AccountOrganizations,
        verdict: &Verdict,
    ) -> Result<(), AcceptorError> {
        for (handshake, organization, refusal) in &verdict.unexpected {
            info!(handshake_id = %handshake, reason = refusal.code(), "unexpected invitation; never accepted");
            let kind = EventKind::InvitationRefused {
                handshake: handshake.clone(),
                organization: organization.clone(),
                reason: refusal.describe(),
            };
            let refused = Observation::once(NAME, "refused", handshake, account, kind);
            let first_time = matches!(
                self.recorder.observe(refused).await?,
                Outcome::Applied { .. }
            );
            if first_time && self.decline_unexpected {
                let attempts = retry::attempts(NAME);
                if let Err(error) = retry::transient(attempts, || client.decline(handshake)).await {
                    warn!(handshake_id = %handshake, %error, "declining the unexpected invitation failed");
                }
            }
        }
        Ok(())
    }

    /// A record still awaiting its offer takes the verified invitation before it is
    /// accepted (the inviter's or the tracker's word of it may be late or lost), so the
    /// record names the handshake that brings the account in: the placer's proof, and what
    /// a refused acceptance is judged against.
    async fn take_before_accepting(
        &self,
        record: &OnboardingRecord,
        handshakes: &[ObservedHandshake],
        handshake: &HandshakeId,
        offer: Offer,
    ) -> Result<(), AcceptorError> {
        if record.phase != record.journey().offer_phases().awaiting || record.handshake.is_some() {
            return Ok(());
        }
        let listed = handshakes.iter().find(|h| &h.id == handshake);
        let expires_at = listed.and_then(|h| h.expires_at);
        let (handshake, organization) = (
            handshake.clone(),
            Some(self.recorder.target().organization.clone()),
        );
        let kind = match offer {
            Offer::Join => EventKind::InvitationSent {
                handshake: handshake.clone(),
                organization,
                expires_at,
            },
            Offer::TransferBilling => EventKind::TransferInvitationSent {
                handshake: handshake.clone(),
                organization,
                expires_at,
                transfer: listed.and_then(|h| h.transfer.clone()),
            },
        };
        let taken = Observation::once(NAME, "taken", &handshake, &record.account_id, kind);
        self.recorder.observe(taken).await?;
        Ok(())
    }

    async fn accept(
        &self,
        account: &AccountId,
        client: &dyn AccountOrganizations,
        handshake: HandshakeId,
        offer: Offer,
    ) -> Result<AcceptorOutcome, AcceptorError> {
        let target = self.recorder.target();
        let kind = EventKind::InvitationAccepted {
            handshake: handshake.clone(),
            organization: Some(target.organization.clone()),
        };
        let accepted = Observation::once(NAME, "accepted", &handshake, account, kind);
        match self
            .accepts
            .call(retry::attempts(NAME), || client.accept(&handshake))
            .await
        {
            Ok(_) => {
                info!(handshake_id = %handshake, "accepted the verified invitation");
                self.recorder.observe(accepted).await?;
                Ok(AcceptorOutcome::Accepted { handshake })
            }
            Err(error) if error.transient => {
                Err(FailedCall::new("AcceptHandshake", Some(account), error).into())
            }
            Err(error) if accepted_before(&error) => {
                if offer == Offer::TransferBilling {
                    // Accepted before: the recorder asks the target's transfers for the proof.
                    self.recorder.observe(accepted).await?;
                    return Ok(AcceptorOutcome::Accepted { handshake });
                }
                let membership = self
                    .call(account, "DescribeOrganization", || client.membership())
                    .await?;
                let in_target = membership.is_some_and(|m| {
                    m.organization == target.organization
                        && m.management_account == target.management_account
                });
                if in_target {
                    self.recorder.observe(accepted).await?;
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
        let failed = Observation::sighting(NAME, "accept-failed", account, kind);
        self.recorder.observe(failed).await?;
        Ok(AcceptorOutcome::Blocked {
            reason: error.to_string(),
        })
    }

    async fn call<T, F, Fut>(
        &self,
        account: &AccountId,
        name: &'static str,
        call: F,
    ) -> Result<T, AcceptorError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, OrganizationsError>>,
    {
        retry::transient(retry::attempts(NAME), call)
            .await
            .map_err(|error| FailedCall::new(name, Some(account), error).into())
    }
}

/// AWS says the handshake is no longer open (`HandshakeAlreadyInStateException`; the
/// emulator: `InvalidHandshakeTransitionException`): accepted before, perhaps.
fn accepted_before(error: &OrganizationsError) -> bool {
    matches!(
        classify(&error.failure),
        FailureClass::AlreadyInState | FailureClass::Blocker(BlockerCode::HandshakeNotOpen)
    )
}
