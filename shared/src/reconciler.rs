//! The reconciler: records follow the real state even when events are lost, late or
//! refused. Every pass reads what the Organizations API says and feeds the differences
//! through the [`ObservationRecorder`] ([`crate::domain::reconcile`]: deterministic event
//! ids, so a correction applies once, and `reconciler` as the source in the history).
//!
//! One pass, for every record not `Joined`:
//! - once per pass, with the hub's credentials: the target organization's accounts
//!   (ListAccounts: a member is `Joined`) and handshakes (ListHandshakesForOrganization:
//!   an open invitation is taken, a declined, cancelled or expired one closed);
//! - per account, only where the record may still be wrong (it believes the account is in
//!   its old organization): DescribeOrganization through the spoke role, and for a
//!   management account still in its organization, ListAccounts there;
//! - stalls and expiring invitations are announced once each;
//! - outbox items left pending past their lease (their publisher died) are published;
//! - items an earlier release wrote are brought up to date, a bounded step per pass
//!   resumed by the next ([`crate::upgrade`]).
//!
//! Records are swept as the acceptor and inviter sweep ([`crate::sweep`]): bounded
//! concurrency, each account on its own, a time budget with a resume cursor.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use serde_json::Value;
use tracing::{info, warn};

use crate::domain::{
    corrections, needs_account_read, unclaimed_membership, AccountId, Deadlines, FunctionName,
    ObservedHandshake, OldOrganization, OnboardingRecord, Phase, RealState, Role,
};
use crate::ports::{
    Credentials, Notifier, OrganizationsError, StoredDataUpgrade, SweepCursors, SweepSource,
    TargetOrganization, OUTBOX_LEASE,
};
use crate::recorder::{FailedCall, ObservationRecorder, ObserverError, Outcome, RecorderStore};
use crate::retry;
use crate::sweep::{resumable, SweepLimits, SweepReport};
use crate::trigger::dispatch;

/// What the reconciler did for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconcilerOutcome {
    /// The record was corrected: the corrections applied (their event kinds) and the
    /// phase they left it in.
    Corrected {
        corrections: Vec<&'static str>,
        phase: Phase,
    },
    /// The record already says what the API says.
    InStep,
    /// The account could not be asked (its spoke role): the record shows the blocker.
    Unreachable {
        reason: String,
    },
    /// The target lists the account as a member, but no invitation of ours brought it in
    /// (one of the target's own accounts, enrolled): left alone, never joined.
    NotOurs {
        reason: String,
    },
    NotEnrolled,
}

/// One pass: what it did per account, and the pending notifications it published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    pub accounts: SweepReport<ReconcilerOutcome>,
    pub republished: usize,
}

/// The reconciler fails as every observing function does.
pub type ReconcilerError = ObserverError;

/// The reconciler's observations and calls are its own.
const NAME: FunctionName = FunctionName::Reconciler;

pub struct Reconciler<S, N, T, C> {
    recorder: ObservationRecorder<S, N>,
    organization: T,
    credentials: C,
    deadlines: Deadlines,
    limits: SweepLimits,
}

/// The target organization as one pass read it.
struct TargetView {
    members: HashSet<AccountId>,
    /// The target's handshakes, by the account they invite.
    handshakes: HashMap<AccountId, Vec<ObservedHandshake>>,
}

impl TargetView {
    fn state_of(&self, account: &AccountId) -> RealState<'_> {
        RealState {
            in_target: self.members.contains(account),
            handshakes: self
                .handshakes
                .get(account)
                .map(|list| list.iter().collect())
                .unwrap_or_default(),
            old_organization: None,
        }
    }
}

impl<S, N, T, C> Reconciler<S, N, T, C>
where
    S: RecorderStore + SweepCursors + StoredDataUpgrade,
    N: Notifier,
    T: TargetOrganization,
    C: Credentials,
{
    pub fn new(
        recorder: impl Into<ObservationRecorder<S, N>>,
        organization: T,
        credentials: C,
    ) -> Self {
        Self {
            recorder: recorder.into(),
            organization,
            credentials,
            deadlines: Deadlines::default(),
            limits: SweepLimits::default(),
        }
    }

    pub fn with_deadlines(mut self, deadlines: Deadlines) -> Self {
        self.deadlines = deadlines;
        self
    }

    pub fn with_sweep_limits(mut self, limits: SweepLimits) -> Self {
        self.limits = limits;
        self
    }

    /// A schedule runs a pass; a notification about one account reconciles that account.
    pub async fn handle_json(&self, event: &Value) -> Result<Pass, ReconcilerError> {
        let mut republished = 0;
        let accounts = dispatch(
            event,
            |account| async move { self.reconcile(&account).await },
            || async {
                let pass = self.pass().await?;
                republished = pass.republished;
                Ok(pass.accounts)
            },
        )
        .await?;
        Ok(Pass {
            accounts,
            republished,
        })
    }

    /// One full pass over every record not `Joined`, within the sweep's limits.
    pub async fn pass(&self) -> Result<Pass, ReconcilerError> {
        // First, so an outbox item release 1 left pending is listed by this pass; a failed
        // step changes nothing the pass needs, and the next pass resumes it.
        if let Err(error) =
            crate::upgrade::step(&self.recorder, crate::upgrade::PER_PASS, false).await
        {
            warn!(%error, "stored-data upgrade step failed; the next pass resumes it");
        }
        let republished = self.publish_stale_outbox(Utc::now() - OUTBOX_LEASE).await?;
        let store = self.recorder.store();
        let not_joined: Vec<SweepSource> = Phase::ALL
            .into_iter()
            .filter(|p| !p.is_terminal())
            .map(SweepSource::Phase)
            .collect();
        let view = self.read_target().await?;
        let view = &view;
        let report = resumable(
            store,
            NAME,
            self.limits,
            &not_joined,
            |_| true,
            |record| async move { self.correct(&record, view).await },
        )
        .await?;
        let corrected = report
            .done
            .iter()
            .filter(|(_, o)| matches!(o, ReconcilerOutcome::Corrected { .. }))
            .count();
        info!(
            records = report.done.len() + report.failed.len(),
            corrected, republished, "reconciler pass done"
        );
        Ok(Pass {
            accounts: report,
            republished,
        })
    }

    /// One account (for `onboardctl invoke reconciler --account`).
    pub async fn reconcile(
        &self,
        account: &AccountId,
    ) -> Result<ReconcilerOutcome, ReconcilerError> {
        let Some(record) = self.recorder.store().load(account).await? else {
            return Ok(ReconcilerOutcome::NotEnrolled);
        };
        if record.phase.is_terminal() {
            return Ok(ReconcilerOutcome::InStep);
        }
        let view = self.read_target().await?;
        self.correct(&record, &view).await
    }

    /// The organization-wide reads, once per pass.
    async fn read_target(&self) -> Result<TargetView, ReconcilerError> {
        let members = self
            .call("ListAccounts", || self.organization.member_accounts())
            .await?;
        let listed = self
            .call("ListHandshakesForOrganization", || {
                self.organization.list_handshakes()
            })
            .await?;
        let mut handshakes: HashMap<AccountId, Vec<ObservedHandshake>> = HashMap::new();
        for handshake in listed {
            if !handshake.is_invitation() {
                continue;
            }
            let invited = handshake.party_accounts().collect::<Vec<_>>();
            for account in invited {
                handshakes
                    .entry(account)
                    .or_default()
                    .push(handshake.clone());
            }
        }
        Ok(TargetView {
            members: members.into_iter().collect(),
            handshakes,
        })
    }

    /// Reads what only the account can say (where needed) and applies the corrections.
    async fn correct(
        &self,
        record: &OnboardingRecord,
        view: &TargetView,
    ) -> Result<ReconcilerOutcome, ReconcilerError> {
        let mut state = view.state_of(&record.account_id);
        if let Some(reason) = unclaimed_membership(record, &state) {
            warn!(account_id = %record.account_id, %reason, "a member of the target that this onboarding did not invite; left alone");
            return Ok(ReconcilerOutcome::NotOurs { reason });
        }
        if !state.in_target && needs_account_read(record) {
            match self.old_organization(record).await? {
                Ok(old) => state.old_organization = Some(old),
                Err(reason) => return Ok(ReconcilerOutcome::Unreachable { reason }),
            }
        }
        let events = corrections(
            record,
            &state,
            self.recorder.target(),
            self.deadlines,
            Utc::now(),
        );
        if events.is_empty() {
            return Ok(ReconcilerOutcome::InStep);
        }
        let mut phase = record.phase;
        let mut applied = Vec::new();
        for event in &events {
            if let Outcome::Applied { phase: now_in, .. } = self.recorder.record(event).await? {
                phase = now_in;
                applied.push(event.kind.name());
            }
        }
        if applied.is_empty() {
            return Ok(ReconcilerOutcome::InStep);
        }
        info!(account_id = %record.account_id, corrections = ?applied, %phase, "record corrected");
        Ok(ReconcilerOutcome::Corrected {
            corrections: applied,
            phase,
        })
    }

    /// Where the account stands in its old organization, through the spoke role; `Err`
    /// with the reason when the role cannot be used (recorded as the account's blocker).
    async fn old_organization(
        &self,
        record: &OnboardingRecord,
    ) -> Result<Result<OldOrganization, String>, ReconcilerError> {
        let account = &record.account_id;
        let client = match self.credentials.organizations_for(account).await {
            Ok(client) => client,
            Err(error) if error.transient => {
                return Err(FailedCall::new("AssumeRole", None, error).into())
            }
            Err(error) => {
                warn!(account_id = %account, %error, "cannot reach the account through the spoke role");
                let reason = format!("spoke role refused: {error}");
                self.recorder
                    .access_denied(NAME, account, error.failure)
                    .await?;
                return Ok(Err(reason));
            }
        };
        let membership = self
            .call("DescribeOrganization", || client.membership())
            .await;
        if membership.is_ok() {
            // The role works (again): what blocked access to the account no longer does.
            self.recorder.access_works(NAME, record).await?;
        }
        let membership = match membership {
            Ok(membership) => membership,
            Err(ObserverError::Call(FailedCall {
                call: Some(call),
                error,
                ..
            })) if !error.transient => {
                let reason = format!("{call} refused: {error}");
                self.recorder
                    .call_refused(NAME, account, call, error.failure)
                    .await?;
                return Ok(Err(reason));
            }
            Err(other) => return Err(other),
        };
        let Some(membership) = membership else {
            return Ok(Ok(OldOrganization::None));
        };
        let manages_it =
            record.role == Role::Management && membership.management_account == *account;
        let other_members = if manages_it {
            Some(self.call("ListAccounts", || client.other_members()).await?)
        } else {
            None
        };
        Ok(Ok(OldOrganization::Member {
            organization: membership.organization,
            other_members,
        }))
    }

    /// Publishes the outbox items committed before `before` and never cleared (a pass
    /// takes those older than their lease: their publisher died); how many it published.
    pub async fn publish_stale_outbox(
        &self,
        before: chrono::DateTime<Utc>,
    ) -> Result<usize, ReconcilerError> {
        let stale = self.recorder.store().stale_outbox(before).await?;
        let mut published = 0;
        for item in &stale {
            match self.recorder.publish_pending(item).await {
                Ok(true) => published += 1,
                Ok(false) => {}
                Err(error) => {
                    warn!(event_id = %item.event_id, %error, "could not publish pending notifications; the next pass retries");
                }
            }
        }
        if published > 0 {
            info!(published, "published notifications left pending");
        }
        Ok(published)
    }

    async fn call<V, F, Fut>(&self, name: &'static str, call: F) -> Result<V, ReconcilerError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<V, OrganizationsError>>,
    {
        retry::transient(retry::attempts(NAME), call)
            .await
            .map_err(|error| FailedCall::new(name, None, error).into())
    }
}
