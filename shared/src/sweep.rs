//! Sweeping many accounts in one invocation: a bounded number at a time, each account on
//! its own (one account's failure is logged and counted, never stops the others), within
//! a time budget that ends the sweep cleanly before the Lambda timeout. Accounts not
//! reached are left for the next run, which starts after the last account this one
//! reached (a cursor the caller keeps), so a large sweep covers every account in turn.

use std::fmt::Display;
use std::future::{ready, Future};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use std::collections::HashMap;

use crate::domain::{AccountId, FunctionName, OnboardingRecord, Phase};
use crate::error_class::{Classified, ErrorClass};
use crate::ports::{RecordReader, StoreError, SweepCursors};

/// How a sweep may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepLimits {
    /// Accounts worked on at once.
    pub concurrency: usize,
    /// No account is started once this much time has passed.
    pub budget: Duration,
}

impl Default for SweepLimits {
    /// Eight at a time, for 14 minutes: the functions' timeout is 15 minutes.
    fn default() -> Self {
        Self {
            concurrency: 8,
            budget: Duration::from_secs(14 * 60),
        }
    }
}

/// What a sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport<T> {
    pub done: Vec<(AccountId, T)>,
    /// Accounts whose work failed, with the failure's class and message.
    pub failed: Vec<(AccountId, ErrorClass, String)>,
    /// Accounts not started for lack of time: the next run begins with them.
    pub deferred: Vec<AccountId>,
}

impl<T> Default for SweepReport<T> {
    fn default() -> Self {
        Self {
            done: Vec::new(),
            failed: Vec::new(),
            deferred: Vec::new(),
        }
    }
}

impl<T> SweepReport<T> {
    /// The report of work on one account.
    pub fn of_one(account: AccountId, outcome: T) -> Self {
        Self {
            done: vec![(account, outcome)],
            ..Self::default()
        }
    }

    /// Where the next run starts: after the last account started, or from the beginning
    /// when every account was reached.
    pub fn next_cursor(&self, order: &[AccountId]) -> Option<AccountId> {
        let first_deferred = self.deferred.first()?;
        let position = order.iter().position(|a| a == first_deferred)?;
        position.checked_sub(1).map(|i| order[i].clone())
    }
}

/// `accounts` in sweep order: those after `cursor` first, then from the beginning.
pub fn resume_after(mut accounts: Vec<AccountId>, cursor: Option<&AccountId>) -> Vec<AccountId> {
    accounts.sort();
    accounts.dedup();
    if let Some(cursor) = cursor {
        let start = accounts.partition_point(|a| a <= cursor);
        accounts.rotate_left(start);
    }
    accounts
}

/// The records in `phases`, by account: what a sweep works through.
pub async fn records_in<S: RecordReader>(
    store: &S,
    phases: &[Phase],
) -> Result<HashMap<AccountId, OnboardingRecord>, StoreError> {
    let mut records = HashMap::new();
    for phase in phases {
        let listed = store.list_by_phase(*phase).await?;
        records.extend(listed.into_iter().map(|r| (r.account_id.clone(), r)));
    }
    Ok(records)
}

/// Sweeps `accounts` as [`sweep`] does, resuming after the cursor the last run of
/// `function`'s sweep left in `store` (keyed by its name), and leaves it for the next run.
pub async fn resumable<S, T, E, F, Fut>(
    store: &S,
    function: FunctionName,
    limits: SweepLimits,
    accounts: Vec<AccountId>,
    work: F,
) -> Result<SweepReport<T>, StoreError>
where
    S: SweepCursors,
    F: Fn(AccountId) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Classified + Display,
{
    let name = function.as_str();
    let cursor = store.sweep_cursor(name).await?;
    let order = resume_after(accounts, cursor.as_ref());
    let report = sweep(limits, order.clone(), work).await;
    store
        .save_sweep_cursor(name, report.next_cursor(&order).as_ref())
        .await?;
    Ok(report)
}

/// Runs `work` for every account in order, within `limits`.
pub async fn sweep<T, E, F, Fut>(
    limits: SweepLimits,
    accounts: Vec<AccountId>,
    work: F,
) -> SweepReport<T>
where
    F: Fn(AccountId) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Classified + Display,
{
    let started = Instant::now();
    let work = &work;
    // Closures with annotated arguments: the futures must be `Send` inside `async_trait`
    // functions, which needs them general over lifetimes.
    let within_budget = |_: &AccountId| ready(started.elapsed() < limits.budget);
    let run = |account: AccountId| async move {
        let result = work(account.clone()).await;
        (account, result)
    };
    let mut results: Vec<(AccountId, Result<T, E>)> = futures_util::stream::iter(accounts.clone())
        .take_while(within_budget)
        .map(run)
        .buffer_unordered(limits.concurrency.max(1))
        .collect()
        .await;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut report = SweepReport::default();
    for (account, result) in results {
        match result {
            Ok(outcome) => report.done.push((account, outcome)),
            Err(error) => {
                tracing::warn!(account_id = %account, class = error.class().as_str(), %error, "failed for this account; the sweep goes on");
                report
                    .failed
                    .push((account, error.class(), error.to_string()));
            }
        }
    }
    let reached = report.done.len() + report.failed.len();
    report.deferred = accounts[reached..].to_vec();
    if !report.deferred.is_empty() {
        tracing::info!(
            deferred = report.deferred.len(),
            "sweep budget used up; the next run continues"
        );
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u64) -> Vec<AccountId> {
        (1..=n)
            .map(|i| AccountId::parse(format!("{:012}", 100_000_000_000 + i)).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn one_failing_account_does_not_stop_the_others() {
        let accounts = ids(20);
        let bad = accounts[7].clone();
        let report = sweep(SweepLimits::default(), accounts.clone(), |account| {
            let bad = bad.clone();
            async move {
                if account == bad {
                    Err(StoreError::Permanent("broken".into()))
                } else {
                    Ok(account.to_string())
                }
            }
        })
        .await;
        assert_eq!(report.done.len(), 19);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].1, ErrorClass::Permanent);
        assert!(report.deferred.is_empty());
        assert_eq!(report.next_cursor(&accounts), None);
    }

    #[tokio::test]
    async fn a_spent_budget_defers_the_rest_to_the_next_run_which_resumes_after_it() {
        let accounts = ids(10);
        let limits = SweepLimits {
            concurrency: 1,
            budget: Duration::from_millis(30),
        };
        let report = sweep(limits, accounts.clone(), |_| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, StoreError>(())
        })
        .await;
        assert_eq!(report.done.len(), 2, "started at 0 ms and 20 ms");
        assert_eq!(report.deferred, accounts[2..].to_vec());
        let cursor = report.next_cursor(&accounts);
        assert_eq!(cursor.as_ref(), Some(&accounts[1]));
        let next = resume_after(accounts.clone(), cursor.as_ref());
        assert_eq!(next[0], accounts[2]);
        assert_eq!(next.len(), 10, "every account, the deferred ones first");
    }
}
