//! Sweeping many accounts in one invocation: a bounded number at a time, each account on
//! its own (one account's failure is logged and counted, never stops the others), each
//! within its own deadline (a throttled account cannot eat the others' time), within a
//! time budget that ends the sweep cleanly before the Lambda timeout.
//!
//! Records are streamed page by page ([`candidates`]): memory holds a page per source, not
//! the sweep's every record; a stored item that cannot be read is skipped, logged with its
//! key and counted ([`metrics::UNREADABLE_RECORD`]), never stopping the sweep.
//!
//! A resumable sweep ([`resumable`]) goes in account order from just after the cursor its
//! last run left, round to the beginning, and moves the cursor as accounts finish: to the
//! last account before which every account finished (accounts run concurrently, so the
//! cursor trails the newest finished account by at most `concurrency`). It is saved at
//! most every [`SweepLimits::save_every`] and at the end, so a run killed mid-way (its
//! Lambda timed out, it ran out of memory) resumes where it got to, losing at most that
//! long of work: one small write every two seconds is nothing next to the accounts' own
//! calls and commits, where a write per account would double the writes of a sweep whose
//! accounts mostly need nothing.

mod candidates;
#[cfg(test)]
mod tests;

use std::fmt::Display;
use std::future::{ready, Future};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

pub use candidates::{in_order, listed, Candidate};

use crate::domain::{AccountId, FunctionName, OnboardingRecord};
use crate::error_class::{Classified, ErrorClass};
use crate::metrics;
use crate::ports::{RecordReader, StoreError, SweepCursors, SweepSource};

/// How a sweep may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepLimits {
    /// Accounts worked on at once.
    pub concurrency: usize,
    /// No account is started once this much time has passed.
    pub budget: Duration,
    /// The longest one account may take (its calls, their retries, its turns in the
    /// pacers it shares with the others); past it, or past [`END_GRACE`] after the budget,
    /// the account is reported as timed out and a later run tries it again.
    pub per_account: Duration,
    /// How often, at most, a resumable sweep saves how far it got.
    pub save_every: Duration,
}

impl Default for SweepLimits {
    /// Eight at a time, for 14 minutes, two minutes an account (eight accounts waiting
    /// their turn at a throttled pacer's slowest, one call in 8 s, wait about a minute).
    /// The cursor is saved every 2 seconds.
    fn default() -> Self {
        Self {
            concurrency: 8,
            budget: Duration::from_secs(14 * 60),
            per_account: Duration::from_secs(120),
            save_every: Duration::from_secs(2),
        }
    }
}

/// How long after its budget a sweep's last accounts may still run: a sweep ends by then
/// (885 s with the template's 840 s budget, inside the functions' 900 s timeout).
pub const END_GRACE: Duration = Duration::from_secs(45);

/// What a sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport<T> {
    pub done: Vec<(AccountId, T)>,
    /// Accounts whose work failed or timed out, with the failure's class and message.
    pub failed: Vec<(AccountId, ErrorClass, String)>,
    /// The budget ran out before every account was reached: the next run continues after
    /// the last account this one finished.
    pub out_of_time: bool,
    /// The keys of stored records that could not be read: skipped, logged and counted.
    pub unreadable: Vec<String>,
}

impl<T> Default for SweepReport<T> {
    fn default() -> Self {
        Self {
            done: Vec::new(),
            failed: Vec::new(),
            out_of_time: false,
            unreadable: Vec::new(),
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
}

/// Sweeps the records of `sources` that are `wanted`, as [`sweep`] does, in account order
/// from just after the cursor the last run of `function`'s sweep left in `store` (keyed
/// by its name), moving that cursor as accounts finish.
pub async fn resumable<S, T, E, W, F, Fut>(
    store: &S,
    function: FunctionName,
    limits: SweepLimits,
    sources: &[SweepSource],
    wanted: W,
    work: F,
) -> Result<SweepReport<T>, StoreError>
where
    S: RecordReader + SweepCursors,
    W: Fn(&OnboardingRecord) -> bool,
    F: Fn(OnboardingRecord) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Classified + Display,
{
    let name = function.as_str();
    let cursor = store.sweep_cursor(name).await?;
    let records = only(in_order(store, sources, cursor), wanted);
    let keeper = Keeper { store, name };
    run(limits, function, records, Some(keeper), work).await
}

/// The candidates whose records are `wanted` (and every unreadable one, to report).
pub fn only<W: Fn(&OnboardingRecord) -> bool>(
    records: impl Stream<Item = Result<Candidate, StoreError>>,
    wanted: W,
) -> impl Stream<Item = Result<Candidate, StoreError>> {
    records.filter(move |candidate| {
        ready(match candidate {
            Ok(Candidate::Record(record)) => wanted(record.as_ref()),
            _ => true,
        })
    })
}

/// Runs `work` for every record `records` yields, within `limits`, with no cursor.
pub async fn sweep<T, E, F, Fut>(
    limits: SweepLimits,
    function: FunctionName,
    records: impl Stream<Item = Result<Candidate, StoreError>>,
    work: F,
) -> Result<SweepReport<T>, StoreError>
where
    F: Fn(OnboardingRecord) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Classified + Display,
{
    run(limits, function, records, None, work).await
}

/// Keeps a sweep's cursor.
struct Keeper<'a> {
    store: &'a dyn SweepCursors,
    name: &'static str,
}

/// How one candidate ended.
enum Ended<T, E> {
    /// The account, its deadline, and its work's result if it finished by then.
    Worked(
        AccountId,
        Duration,
        Result<Result<T, E>, tokio::time::error::Elapsed>,
    ),
    Unreadable(String),
    ReadFailed(StoreError),
}

async fn run<T, E, F, Fut>(
    limits: SweepLimits,
    function: FunctionName,
    records: impl Stream<Item = Result<Candidate, StoreError>>,
    keeper: Option<Keeper<'_>>,
    work: F,
) -> Result<SweepReport<T>, StoreError>
where
    F: Fn(OnboardingRecord) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Classified + Display,
{
    let started = Instant::now();
    let out_of_time = AtomicBool::new(false);
    let (work, out_of_time_ref) = (&work, &out_of_time);
    // Closures with annotated arguments: the futures must be `Send` inside `async_trait`
    // functions, which needs them general over lifetimes.
    let within_budget = |_: &(usize, Result<Candidate, StoreError>)| {
        let within = started.elapsed() < limits.budget;
        if !within {
            out_of_time_ref.store(true, Ordering::Relaxed);
        }
        ready(within)
    };
    let start = |(seq, candidate): (usize, Result<Candidate, StoreError>)| async move {
        let ended = match candidate {
            Ok(Candidate::Record(record)) => {
                let account = record.account_id.clone();
                let left = (limits.budget + END_GRACE).saturating_sub(started.elapsed());
                let deadline = limits.per_account.min(left);
                let result = tokio::time::timeout(deadline, work(*record)).await;
                Ended::Worked(account, deadline, result)
            }
            Ok(Candidate::Unreadable(key)) => Ended::Unreadable(key),
            Err(error) => Ended::ReadFailed(error),
        };
        (seq, ended)
    };
    let mut ended = std::pin::pin!(records
        .enumerate()
        .take_while(within_budget)
        .map(start)
        .buffer_unordered(limits.concurrency.max(1)));
    let mut report = SweepReport::default();
    let mut watermark = Watermark::default();
    let mut read_error = None;
    let mut saved_at = Instant::now();
    while let Some((seq, end)) = ended.next().await {
        let account = match end {
            Ended::Worked(account, deadline, result) => {
                report.record(function, deadline, account.clone(), result);
                Some(account)
            }
            Ended::Unreadable(key) => {
                tracing::warn!(
                    key,
                    function = function.as_str(),
                    "skipping a record that cannot be read"
                );
                metrics::count(metrics::UNREADABLE_RECORD, function);
                report.unreadable.push(key);
                None
            }
            Ended::ReadFailed(error) => {
                read_error = Some(error);
                None
            }
        };
        watermark.finish(seq, account);
        if let Some(keeper) = &keeper {
            if watermark.moved && saved_at.elapsed() >= limits.save_every {
                // A failed save is retried at the next one; the last is the sweep's.
                match keeper.save(watermark.last.as_ref()).await {
                    Ok(()) => watermark.moved = false,
                    Err(error) => tracing::warn!(%error, "cannot save the sweep's cursor yet"),
                }
                saved_at = Instant::now();
            }
        }
    }
    report.done.sort_by(|a, b| a.0.cmp(&b.0));
    report.failed.sort_by(|a, b| a.0.cmp(&b.0));
    report.out_of_time = out_of_time.load(Ordering::Relaxed);
    if report.out_of_time {
        tracing::info!(
            after = ?watermark.last,
            "sweep budget used up; the next run continues"
        );
    }
    let reached_every_account = !report.out_of_time && read_error.is_none();
    if let Some(keeper) = &keeper {
        if reached_every_account {
            keeper.save(None).await?;
        } else if watermark.moved {
            keeper.save(watermark.last.as_ref()).await?;
        }
    }
    match read_error {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

impl Keeper<'_> {
    async fn save(&self, after: Option<&AccountId>) -> Result<(), StoreError> {
        self.store.save_sweep_cursor(self.name, after).await
    }
}

impl<T> SweepReport<T> {
    /// Files one account's result.
    fn record<E: Classified + Display>(
        &mut self,
        function: FunctionName,
        deadline: Duration,
        account: AccountId,
        result: Result<Result<T, E>, tokio::time::error::Elapsed>,
    ) {
        match result {
            Ok(Ok(outcome)) => self.done.push((account, outcome)),
            Ok(Err(error)) => {
                tracing::warn!(account_id = %account, class = error.class().as_str(), %error, "failed for this account; the sweep goes on");
                self.failed
                    .push((account, error.class(), error.to_string()));
            }
            Err(_) => {
                let seconds = deadline.as_secs_f64();
                tracing::warn!(account_id = %account, seconds, "the account's work did not finish in time; a later run tries it again");
                metrics::count(metrics::ACCOUNT_TIMED_OUT, function);
                let message =
                    format!("did not finish within {seconds} s; a later run tries it again");
                self.failed.push((account, ErrorClass::Transient, message));
            }
        }
    }
}

/// How far a sweep got: the last account before which every account started has finished
/// (`seq` numbers the candidates in the order they were started).
#[derive(Debug, Default)]
struct Watermark {
    next: usize,
    finished: std::collections::BTreeMap<usize, Option<AccountId>>,
    last: Option<AccountId>,
    /// `last` changed since it was saved.
    moved: bool,
}

impl Watermark {
    fn finish(&mut self, seq: usize, account: Option<AccountId>) {
        self.finished.insert(seq, account);
        while let Some(account) = self.finished.remove(&self.next) {
            if let Some(account) = account {
                self.last = Some(account);
                self.moved = true;
            }
            self.next += 1;
        }
    }
}
