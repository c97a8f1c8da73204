//! The preflight: before an account leaves its organization, what will block it and what
//! will break. For each account still in its old organization (and each standalone
//! account not joined yet), through its spoke role ([`AccountInspector`]), the facts
//! [`crate::domain::preflight::assess`] judges: predicted blockers, items no API answers,
//! policies that trust the old organization, other organizations' open invitations.
//!
//! Each account's result is an observed `PreflightChecked` event: the record's predicted
//! blockers become exactly those found (a later run that no longer finds one clears it),
//! and leaving the organization clears them all. Each run then publishes one
//! `Preflight Completed` per enrollment it checked, with counts.
//!
//! Runs: the schedule's sweep checks every account never checked and those checked longer
//! ago than `PREFLIGHT_EVERY_HOURS`; `{"enrollment": NAME}` checks one enrollment now;
//! `onboardctl preflight` does either by hand and prints the reports.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde_json::Value;
use tracing::{info, warn};

use crate::domain::observation::timestamp_nanos;
use crate::domain::preflight::{Read, POLICY_MEMORY};
use crate::domain::{
    assess, AccountId, AwsFailure, EnrollmentName, EventKind, FunctionName, Observation,
    ObservationKey, OnboardingRecord, Phase, PreflightReport, PreflightSummary, Role,
};
use crate::notifications::{NotificationDetail, PreflightCompleted};
use crate::ports::{
    AccountInspector, Notifier, OrganizationsError, StoreError, SweepCursors, SweepSource,
};
use crate::recorder::{ObservationRecorder, ObserverError, RecorderStore};
use crate::retry;
use crate::sweep::{in_order, listed, only, resumable, sweep, Candidate, SweepLimits, SweepReport};
use crate::trigger::dispatch;

/// The preflight's observations and calls are its own.
const NAME: FunctionName = FunctionName::Preflight;

/// The phases an account can be checked in (a joined account has nothing to predict).
const BEFORE_JOINING: [Phase; 4] = [
    Phase::LeavingOrganization,
    Phase::DeletingOrganization,
    Phase::AwaitingInvitation,
    Phase::Invited,
];

pub type PreflightError = ObserverError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreflightOutcome {
    /// Checked: what was found (also on the record).
    Checked(Box<PreflightReport>),
    /// The spoke role could not be assumed: the record's access blocker says why.
    Unreachable {
        failure: AwsFailure,
    },
    /// Out of its old organization, or joined: nothing to predict.
    NotApplicable {
        phase: Phase,
    },
    NotEnrolled,
}

pub struct Preflight<S, N, I> {
    recorder: ObservationRecorder<S, N>,
    inspector: I,
    /// How old a preflight may get before the sweep checks the account again.
    every: chrono::Duration,
    sweep_limits: SweepLimits,
}

/// The delegated administrators each old management account listed, read once per run.
#[derive(Default)]
struct Administrators(Mutex<HashMap<AccountId, Read<Vec<AccountId>>>>);

impl<S, N, I> Preflight<S, N, I>
where
    S: RecorderStore + SweepCursors,
    N: Notifier,
    I: AccountInspector,
{
    pub fn new(recorder: impl Into<ObservationRecorder<S, N>>, inspector: I) -> Self {
        Self {
            recorder: recorder.into(),
            inspector,
            every: chrono::Duration::hours(24),
            sweep_limits: SweepLimits::default(),
        }
    }

    pub fn with_interval(mut self, every: chrono::Duration) -> Self {
        self.every = every;
        self
    }

    pub fn with_sweep_limits(mut self, limits: SweepLimits) -> Self {
        self.sweep_limits = limits;
        self
    }

    /// A schedule sweeps, `{"enrollment": NAME}` checks that enrollment, a notification
    /// about one account checks that account.
    pub async fn handle_json(
        &self,
        event: &Value,
    ) -> Result<SweepReport<PreflightOutcome>, PreflightError> {
        if let Some(name) = event.get("enrollment").and_then(Value::as_str) {
            return match EnrollmentName::parse(name) {
                Ok(enrollment) => self.check_enrollment(&enrollment).await,
                Err(error) => {
                    warn!(%error, "skipping a preflight request for an invalid enrollment");
                    Ok(SweepReport::default())
                }
            };
        }
        dispatch(
            event,
            |account| async move { self.check_account(&account).await },
            || self.sweep(),
        )
        .await
    }

    /// Every account due a check (never checked, or longer ago than the interval), within
    /// the sweep's limits, resuming after the last sweep's stop.
    pub async fn sweep(&self) -> Result<SweepReport<PreflightOutcome>, PreflightError> {
        let now = Utc::now();
        let administrators = &Administrators::default();
        let report = resumable(
            self.recorder.store(),
            NAME,
            self.sweep_limits,
            &BEFORE_JOINING.map(SweepSource::Phase),
            |record| applies(record) && self.is_due(record, now),
            |record| self.checked(record, administrators),
        )
        .await?;
        self.announce_all(report).await
    }

    /// Every account a preflight applies to, now, due or not (`onboardctl preflight`).
    pub async fn check_all(&self) -> Result<SweepReport<PreflightOutcome>, PreflightError> {
        let sources = BEFORE_JOINING.map(SweepSource::Phase);
        let records = only(in_order(self.recorder.store(), &sources, None), applies);
        self.run(records).await
    }

    /// Every account of `enrollment` a preflight applies to, now.
    pub async fn check_enrollment(
        &self,
        enrollment: &EnrollmentName,
    ) -> Result<SweepReport<PreflightOutcome>, PreflightError> {
        let records = self
            .recorder
            .store()
            .list_by_enrollment(enrollment)
            .await?
            .into_iter()
            .filter(applies)
            .collect();
        self.run(listed(records)).await
    }

    /// One account, now (a notification about it, `onboardctl preflight --account`).
    pub async fn check_account(
        &self,
        account: &AccountId,
    ) -> Result<PreflightOutcome, PreflightError> {
        let Some(record) = self.recorder.store().load(account).await? else {
            return Ok(PreflightOutcome::NotEnrolled);
        };
        let enrollment = record.enrollment.clone();
        let outcome = self.check(record, &Administrators::default()).await?;
        let checked = [(account.clone(), outcome.clone())];
        self.announce(&enrollment, &checked).await?;
        Ok(outcome)
    }

    fn is_due(&self, record: &OnboardingRecord, now: DateTime<Utc>) -> bool {
        record
            .preflight
            .as_ref()
            .is_none_or(|last| now - last.at >= self.every)
    }

    /// Checks `records` at once (within the sweep's limits, with no cursor), then
    /// announces each enrollment's results.
    async fn run(
        &self,
        records: impl Stream<Item = Result<Candidate, StoreError>>,
    ) -> Result<SweepReport<PreflightOutcome>, PreflightError> {
        let administrators = &Administrators::default();
        let report = sweep(self.sweep_limits, NAME, records, |record| {
            self.checked(record, administrators)
        })
        .await?;
        self.announce_all(report).await
    }

    /// Checks one record of a sweep: its outcome, and the enrollment it is announced in.
    async fn checked(
        &self,
        record: OnboardingRecord,
        administrators: &Administrators,
    ) -> Result<(EnrollmentName, PreflightOutcome), PreflightError> {
        let enrollment = record.enrollment.clone();
        Ok((enrollment, self.check(record, administrators).await?))
    }

    /// Announces each enrollment's results of a sweep; its report, by account.
    async fn announce_all(
        &self,
        report: SweepReport<(EnrollmentName, PreflightOutcome)>,
    ) -> Result<SweepReport<PreflightOutcome>, PreflightError> {
        let SweepReport {
            done,
            failed,
            out_of_time,
            unreadable,
        } = report;
        let mut by_enrollment: BTreeMap<EnrollmentName, Vec<(AccountId, PreflightOutcome)>> =
            BTreeMap::new();
        let mut outcomes = Vec::with_capacity(done.len());
        for (account, (enrollment, outcome)) in done {
            by_enrollment
                .entry(enrollment)
                .or_default()
                .push((account.clone(), outcome.clone()));
            outcomes.push((account, outcome));
        }
        for (enrollment, checked) in &by_enrollment {
            self.announce(enrollment, checked).await?;
        }
        Ok(SweepReport {
            done: outcomes,
            failed,
            out_of_time,
            unreadable,
        })
    }

    #[tracing::instrument(skip_all, fields(account_id = %record.account_id))]
    async fn check(
        &self,
        record: OnboardingRecord,
        administrators: &Administrators,
    ) -> Result<PreflightOutcome, PreflightError> {
        if !applies(&record) {
            return Ok(PreflightOutcome::NotApplicable {
                phase: record.phase,
            });
        }
        let account = &record.account_id;
        let mut facts =
            match retry::transient(retry::attempts(NAME), || self.inspector.inspect(account)).await
            {
                Ok(facts) => facts,
                Err(error) if error.transient => return Err(error.into()),
                Err(error) => return self.unreachable(account, error),
            };
        if record.role == Role::Member {
            if let Some(management) = &record.old_management_account {
                let listed = self.administrators_of(management, administrators).await?;
                facts.delegated_administrator = Some(listed.map(|ids| ids.contains(account)));
            }
        }
        let now = Utc::now();
        let report = assess(&record, &facts, self.recorder.target(), now);
        let summary = PreflightSummary {
            at: now,
            policies: report
                .policies
                .iter()
                .take(POLICY_MEMORY)
                .cloned()
                .collect(),
            policies_total: report.policies.len(),
            checks: report.checks.len(),
        };
        let kind = EventKind::PreflightChecked {
            predicted: report.blockers.iter().map(|b| b.problem()).collect(),
            organization: report.organization.clone(),
            summary,
        };
        let checked = Observation {
            by: NAME,
            key: ObservationKey::Sighting { what: None },
            account: account.clone(),
            kind,
        };
        self.recorder.record(&checked.into_event(now)).await?;
        info!(
            blockers = report.blockers.len(),
            policies = report.policies.len(),
            checks = report.checks.len(),
            "preflight checked"
        );
        Ok(PreflightOutcome::Checked(Box::new(report)))
    }

    /// The spoke role refused the preflight's role. Nothing is recorded: the acceptor and
    /// the reconciler reach the account with roles of their own (a spoke deployed before
    /// the preflight trusts only them), so an access blocker here would be wrong for them;
    /// the run's report and `Preflight Completed` count the account as unreachable.
    fn unreachable(
        &self,
        account: &AccountId,
        error: OrganizationsError,
    ) -> Result<PreflightOutcome, PreflightError> {
        warn!(account_id = %account, code = %error.failure.code, "cannot reach the account for its preflight");
        Ok(PreflightOutcome::Unreachable {
            failure: error.failure,
        })
    }

    /// The old organization's delegated administrators, read once per run and management
    /// account; a management account that cannot be reached is a read not made.
    async fn administrators_of(
        &self,
        management: &AccountId,
        administrators: &Administrators,
    ) -> Result<Read<Vec<AccountId>>, PreflightError> {
        let known = administrators
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(management)
            .cloned();
        if let Some(known) = known {
            return Ok(known);
        }
        let listed = match retry::transient(retry::attempts(NAME), || {
            self.inspector.delegated_administrators(management)
        })
        .await
        {
            Ok(listed) => listed,
            Err(error) if error.transient => return Err(error.into()),
            Err(error) => Err(error.failure),
        };
        administrators
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(management.clone(), listed.clone());
        Ok(listed)
    }

    /// `Preflight Completed` for what this run checked of `enrollment`.
    async fn announce(
        &self,
        enrollment: &EnrollmentName,
        checked: &[(AccountId, PreflightOutcome)],
    ) -> Result<(), PreflightError> {
        let Some(detail) = completed(enrollment, checked) else {
            return Ok(());
        };
        let marker = detail.notification_id.clone();
        let notification = NotificationDetail::PreflightCompleted(detail).to_outgoing();
        self.recorder
            .announce_once(enrollment, &marker, notification)
            .await?;
        Ok(())
    }
}

/// Whether a preflight can still predict anything for the account: it is in its old
/// organization, or standalone and not joined yet; never a billing transfer's (no account
/// leaves its organization).
pub fn applies(record: &OnboardingRecord) -> bool {
    record.phase != Phase::Joined
        && record.journey().moves_account()
        && (record.in_old_organization || record.role == Role::Standalone)
}

/// The counts of one run over one enrollment; `None` when it checked nothing there.
fn completed(
    enrollment: &EnrollmentName,
    checked: &[(AccountId, PreflightOutcome)],
) -> Option<PreflightCompleted> {
    let mut detail = PreflightCompleted {
        notification_id: format!(
            "preflight-completed#{enrollment}#{}",
            timestamp_nanos(Utc::now())
        ),
        enrollment: enrollment.clone(),
        accounts: 0,
        accounts_blocked: 0,
        blockers: BTreeMap::new(),
        policies: 0,
        accounts_with_policies: 0,
        checks: 0,
        unreachable: 0,
    };
    for (_, outcome) in checked {
        match outcome {
            PreflightOutcome::Checked(report) => {
                detail.accounts += 1;
                detail.accounts_blocked += usize::from(!report.blockers.is_empty());
                for blocker in &report.blockers {
                    *detail.blockers.entry(blocker.code).or_default() += 1;
                }
                detail.policies += report.policies.len();
                detail.accounts_with_policies += usize::from(!report.policies.is_empty());
                detail.checks += report.checks.len();
            }
            PreflightOutcome::Unreachable { .. } => {
                detail.accounts += 1;
                detail.unreachable += 1;
            }
            PreflightOutcome::NotApplicable { .. } | PreflightOutcome::NotEnrolled => {}
        }
    }
    (detail.accounts > 0).then_some(detail)
}
