//! The inviter: from the target organization, make sure every account awaiting its
//! invitation has one. Idempotent: an open invitation already sent to the account is
//! adopted (ListHandshakesForOrganization) before anything is sent, and
//! `DuplicateHandshakeException` adopts too. A refusal is recorded through the
//! [`ObservationRecorder`]: `ALREADY_IN_AN_ORGANIZATION` is the fallback of a direct-mode
//! member (or a blocker), and the rest of the batch goes on.
//!
//! In billing mode ([`billing`]) the inviter sends the target's invitation to transfer the
//! customer's bill instead, and follows each transfer through the target's own lists of
//! transfers: its acceptance (the proof of `Transferred`), its closing, its end.
//!
//! Quotas are planned, not hit: each run reads the organization's handshakes once, and the
//! first time an account needs an invitation slot plans how many fit the daily quota and
//! the account limit ([`crate::domain::quota`]), sends that many (paced within
//! Organizations' rate), and shows every other account awaiting one why it waits: the
//! stable reason only, so an account that keeps waiting is written once. The organization's
//! accounts are counted (ListAccounts, every page: 500 calls for 10,000 accounts) only then,
//! and not when the day's quota alone leaves no slot: a run with nothing to invite, or a
//! triggered run for an account already invited, does not list them. What a run changed
//! that a person should know (accounts that began waiting) is e-mailed as one digest per
//! enrollment at the end of the run ([`ObservationRecorder::publish_digests`]).
//!
//! Nothing is sent until the configured target is verified ([`TargetGate`], once per
//! process): an inviter with a wrong target would spend the daily quota on invitations the
//! acceptor then finds foreign.

mod billing;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;
use tracing::{info, warn};

use crate::domain::billing::ObservedTransfer;
use crate::domain::{
    classify, plan_invitations, wanted_tags, AccountId, EventKind, FailureClass, FunctionName,
    HandshakeId, InvitationLimits, Observation, ObservedHandshake, Offer, OnboardingRecord,
    Operation, Phase, Waiting, WaitingReason,
};
use crate::pace::{Pacer, INVITE_PER_SECOND};
use crate::ports::{
    BillingTransfers, Notifier, OrganizationsError, SweepCursors, SweepSource, TargetDirectory,
    TargetOrganization,
};
use crate::recorder::{ObservationRecorder, ObserverError, RecorderStore};
use crate::retry;
use crate::sweep::{resumable, SweepLimits, SweepReport};
use crate::target_check::TargetGate;
use crate::trigger::dispatch;

/// The inviter's observations and calls are its own.
const NAME: FunctionName = FunctionName::Inviter;

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
    /// No invitation slot is left in this run: the record shows why; `reason` says it
    /// with the counts and when the next slot opens.
    Waiting {
        reason: String,
    },
    /// Billing mode: the target's organization lists the transfer as accepted.
    Transferred {
        transfer: String,
    },
    /// Billing mode: the accepted transfer was ended (reported on the record).
    TransferEnded {
        transfer: String,
    },
    /// Nothing to do in this phase.
    Skipped {
        phase: Phase,
    },
    NotEnrolled,
    /// The configured target is not verified: nothing was sent.
    TargetUnverified {
        reason: String,
    },
}

/// The inviter's and the placer's failures are the same.
pub type InviterError = ObserverError;

pub struct Inviter<S, N, T> {
    recorder: ObservationRecorder<S, N>,
    organization: T,
    target: TargetGate,
    limits: InvitationLimits,
    sweep_limits: SweepLimits,
    invites: Pacer,
}

/// One run's view of the organization: its handshakes, and the invitation slots left.
struct Run {
    handshakes: Vec<ObservedHandshake>,
    /// Planned the first time an account needs a slot.
    slots: tokio::sync::OnceCell<Slots>,
    /// The billing transfers the target is a party of, read once a run, when a billing
    /// record needs them.
    transfers: tokio::sync::OnceCell<Vec<ObservedTransfer>>,
}

/// The invitation slots left in a run, and why an account waits when none is.
struct Slots {
    left: AtomicU32,
    waiting: Waiting,
}

impl Slots {
    /// Takes a slot, or says why there is none.
    fn take(&self) -> Result<(), &Waiting> {
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .map(drop)
            .map_err(|_| &self.waiting)
    }
}

impl<S: RecorderStore + SweepCursors, N: Notifier, T: TargetOrganization + BillingTransfers>
    Inviter<S, N, T>
{
    /// `directory` is the hub's own view of its organization (the target check).
    pub fn new(
        recorder: impl Into<ObservationRecorder<S, N>>,
        organization: T,
        directory: Arc<dyn TargetDirectory>,
    ) -> Self {
        let recorder = recorder.into();
        let target = TargetGate::new(directory, recorder.target().clone(), NAME);
        Self {
            recorder,
            organization,
            target,
            limits: InvitationLimits::default(),
            sweep_limits: SweepLimits::default(),
            invites: Pacer::per_second(INVITE_PER_SECOND),
        }
    }

    /// The target organization's invitation quota and account limit.
    pub fn with_limits(mut self, limits: InvitationLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn with_sweep_limits(mut self, limits: SweepLimits) -> Self {
        self.sweep_limits = limits;
        self
    }

    pub async fn handle_json(
        &self,
        event: &Value,
    ) -> Result<SweepReport<InviterOutcome>, InviterError> {
        dispatch(
            event,
            |account| async move { self.process(&account, false).await },
            || self.sweep(),
        )
        .await
    }

    /// Every account awaiting an invitation, and every invited one whose invitation may
    /// have closed, within the sweep's limits, resuming after the last sweep's stop; in
    /// billing mode every transferred one too (its transfer may have ended).
    pub async fn sweep(&self) -> Result<SweepReport<InviterOutcome>, InviterError> {
        if self.target.verified().await.is_err() {
            return Ok(SweepReport::default());
        }
        let store = self.recorder.store();
        let sources: Vec<SweepSource> = Phase::OFFER_PHASES
            .into_iter()
            .chain([Phase::Transferred])
            .map(SweepSource::Phase)
            .collect();
        let run = self.plan_run().await?;
        let run = &run;
        let report = resumable(
            store,
            NAME,
            self.sweep_limits,
            &sources,
            |_| true,
            |record| async move { self.process_record(record, run, false).await },
        )
        .await;
        self.recorder.publish_digests(NAME).await?;
        Ok(report?)
    }

    /// One account. `force` invites whatever the phase (for `onboardctl invoke --account`).
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    pub async fn process(
        &self,
        account: &AccountId,
        force: bool,
    ) -> Result<InviterOutcome, InviterError> {
        if let Err(reason) = self.target.verified().await {
            return Ok(InviterOutcome::TargetUnverified { reason });
        }
        let Some(record) = self.recorder.store().load(account).await? else {
            return Ok(InviterOutcome::NotEnrolled);
        };
        let run = self.plan_run().await?;
        let outcome = self.process_record(record, &run, force).await;
        self.recorder.publish_digests(NAME).await?;
        outcome
    }

    /// Reads the organization's handshakes once; the slots are planned when needed.
    async fn plan_run(&self) -> Result<Run, InviterError> {
        Ok(Run {
            handshakes: self.list_handshakes().await?,
            slots: tokio::sync::OnceCell::new(),
            transfers: tokio::sync::OnceCell::new(),
        })
    }

    /// Takes one of the run's invitation slots (planning them the first time), or says
    /// why there is none.
    async fn take_slot<'r>(&self, run: &'r Run) -> Result<Result<(), &'r Waiting>, InviterError> {
        let slots = run
            .slots
            .get_or_try_init(|| self.plan_slots(&run.handshakes))
            .await?;
        Ok(slots.take())
    }

    /// Plans the slots. A plan with no account in the organization has the most slots: when
    /// the day's quota leaves none even so, the count cannot change it (the reason is the
    /// quota's) and the organization's accounts are not listed.
    async fn plan_slots(&self, handshakes: &[ObservedHandshake]) -> Result<Slots, InviterError> {
        let now = Utc::now();
        let most = plan_invitations(self.limits, handshakes, 0, now);
        let plan = if most.slots == 0 && most.waiting.reason == WaitingReason::DailyQuota {
            most
        } else {
            let accounts =
                retry::transient(retry::attempts(NAME), || self.organization.account_count())
                    .await?;
            plan_invitations(self.limits, handshakes, accounts, now)
        };
        info!(slots = plan.slots, "invitation slots planned");
        Ok(Slots {
            left: AtomicU32::new(plan.slots),
            waiting: plan.waiting,
        })
    }

    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, InviterError> {
        Ok(retry::transient(retry::attempts(NAME), || {
            self.organization.list_handshakes()
        })
        .await?)
    }

    async fn process_record(
        &self,
        mut record: OnboardingRecord,
        run: &Run,
        force: bool,
    ) -> Result<InviterOutcome, InviterError> {
        // The journey says which invitation the account awaits.
        match record.journey().offer() {
            Offer::TransferBilling => return self.process_billing(record, run, force).await,
            Offer::Join => {}
        }
        let handshakes = &run.handshakes;
        let account = record.account_id.clone();
        if record.phase == Phase::Invited {
            let Some(closed) = self.close_current_if_gone(&record, handshakes).await? else {
                return Ok(InviterOutcome::Skipped {
                    phase: record.phase,
                });
            };
            record = closed;
        }
        let may_force = force && !record.phase.is_terminal();
        if record.phase != Phase::AwaitingInvitation && !may_force {
            return Ok(InviterOutcome::Skipped {
                phase: record.phase,
            });
        }
        if let Some(open) = open_invitation_for(&record, handshakes, Utc::now()) {
            return self.adopt(&account, open).await;
        }
        if let Err(waiting) = self.take_slot(run).await? {
            return self.wait(&account, waiting).await;
        }
        let notes = format!("org-onboarding: enrollment {}", record.enrollment);
        // AWS tags the account with these when it accepts; the placer adds what is missing.
        let tags = wanted_tags(&record);
        let send = || self.organization.invite(&account, &notes, &tags);
        let adopt_fresh = || async {
            let handshakes = self.list_handshakes().await?;
            match open_invitation_for(&record, &handshakes, Utc::now()) {
                Some(open) => self.adopt(&account, open).await.map(Some),
                None => Ok(None),
            }
        };
        self.send_invitation(&account, &TO_JOIN, send, adopt_fresh)
            .await
    }

    /// Sends one invitation (either kind), paced: recorded once sent; a duplicate (sent
    /// meanwhile, or by a person) is adopted from a fresh list (`adopt_fresh`), else
    /// refused; throttled past the retries, it is left to the next run without failing
    /// the batch; any other refusal is the account's failure of the invitation's call.
    pub(super) async fn send_invitation<Send, Sending, Adopt, Adopting>(
        &self,
        account: &AccountId,
        invitation: &Invitation,
        send: Send,
        adopt_fresh: Adopt,
    ) -> Result<InviterOutcome, InviterError>
    where
        Send: FnMut() -> Sending,
        Sending: std::future::Future<Output = Result<ObservedHandshake, OrganizationsError>>,
        Adopt: FnOnce() -> Adopting,
        Adopting: std::future::Future<Output = Result<Option<InviterOutcome>, InviterError>>,
    {
        match self.invites.call(retry::attempts(NAME), send).await {
            Ok(handshake) => {
                info!(handshake_id = %handshake.id, what = invitation.sent, "invited");
                let kind = (invitation.event)(&handshake);
                let id = handshake.id;
                let sent = Observation::once(NAME, invitation.sent, &id, account, kind);
                self.recorder.observe(sent).await?;
                Ok(InviterOutcome::Invited { handshake: id })
            }
            Err(error) if is_duplicate(&error) => match adopt_fresh().await? {
                Some(adopted) => Ok(adopted),
                None => {
                    self.refused_call(account, invitation.operation, error)
                        .await
                }
            },
            Err(error) if error.transient => {
                warn!(%error, what = invitation.sent, "deferring the invitation to the next run");
                Ok(InviterOutcome::Refused {
                    reason: error.to_string(),
                })
            }
            Err(error) => {
                self.refused_call(account, invitation.operation, error)
                    .await
            }
        }
    }

    async fn adopt(
        &self,
        account: &AccountId,
        open: &ObservedHandshake,
    ) -> Result<InviterOutcome, InviterError> {
        info!(handshake_id = %open.id, "adopting the open invitation");
        let adopted = Observation::once(NAME, "adopted", &open.id, account, sent(open));
        self.recorder.observe(adopted).await?;
        Ok(InviterOutcome::Adopted {
            handshake: open.id.clone(),
        })
    }

    /// No slot for the account in this run: the record says why (its stable reason: seen
    /// again, it changes nothing); the counts and times are for the log and the outcome.
    async fn wait(
        &self,
        account: &AccountId,
        waiting: &Waiting,
    ) -> Result<InviterOutcome, InviterError> {
        let kind = EventKind::InvitationDeferred {
            reason: waiting.reason,
        };
        let waiting_now = Observation::sighting(NAME, "waiting", account, kind);
        self.recorder.observe(waiting_now).await?;
        Ok(InviterOutcome::Waiting {
            reason: waiting.detail.clone(),
        })
    }

    /// AWS refused `operation` for the account: recorded as its failure.
    async fn refused_call(
        &self,
        account: &AccountId,
        operation: Operation,
        error: OrganizationsError,
    ) -> Result<InviterOutcome, InviterError> {
        warn!(%error, operation = operation.name(), "AWS refused the invitation");
        let kind = EventKind::CallFailed {
            operation,
            failure: error.failure.clone(),
            handshake: None,
        };
        let failed = Observation::sighting(NAME, "failed", account, kind);
        self.recorder.observe(failed).await?;
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
        let closed = self
            .recorder
            .close_current_if_gone(NAME, record, handshakes, Utc::now())
            .await?;
        if closed.is_none() {
            return Ok(None);
        }
        Ok(self.recorder.store().load(&record.account_id).await?)
    }

    async fn observe(&self, observation: Observation) -> Result<(), InviterError> {
        self.recorder.observe(observation).await?;
        Ok(())
    }
}

/// One kind of invitation the inviter sends: its observation's name once sent, the call
/// a refusal is recorded against, and the event it records.
pub(super) struct Invitation {
    sent: &'static str,
    operation: Operation,
    event: fn(&ObservedHandshake) -> EventKind,
}

/// An invitation to join the target organization.
const TO_JOIN: Invitation = Invitation {
    sent: "invited",
    operation: Operation::InviteAccountToOrganization,
    event: sent,
};

/// Billing mode: the invitation to transfer the customer's bill.
const TO_TRANSFER: Invitation = Invitation {
    sent: "transfer-invited",
    operation: Operation::InviteOrganizationToTransferResponsibility,
    event: billing::transfer_sent,
};

/// An identical open invitation exists (`DuplicateHandshakeException`): adopt it.
fn is_duplicate(error: &OrganizationsError) -> bool {
    classify(&error.failure) == FailureClass::DuplicateInvitation
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
            && h.names_account(&record.account_id)
            && !record.settled_handshakes.contains(&h.id)
    })
}
