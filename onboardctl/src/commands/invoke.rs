//! `onboardctl invoke FUNCTION [--account ID]`: a function's handler run in this process
//! with the real clients, for one enrolled account or as the function's own sweep (the
//! reconciler's pass), one line per account it reached, then what it could not do.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use onboarding::domain::{AccountId, FunctionName};
use onboarding::reconciler::{Pass, ReconcilerOutcome};
use onboarding::report::view::plural;
use onboarding::sweep::SweepReport;

use super::{known, replay};
use crate::context::Context;
use crate::terminal::{out, Terminal};

#[derive(Subcommand)]
pub enum Function {
    /// Apply one event file through the tracker.
    Tracker {
        #[arg(long)]
        event: PathBuf,
    },
    /// Run the acceptor's sweep, or for one account whatever its phase.
    Acceptor {
        #[arg(long)]
        account: Option<String>,
    },
    /// Run the inviter's sweep, or for one account whatever its phase.
    Inviter {
        #[arg(long)]
        account: Option<String>,
    },
    /// Run the placer's sweep (every joined account not yet placed), or for one account:
    /// move it into its OU, apply missing tags, verify the access role.
    Placer {
        #[arg(long)]
        account: Option<String>,
    },
    /// Run one reconciler pass (every record not joined, against the real state), or for
    /// one account; one line per corrected account.
    Reconciler {
        #[arg(long)]
        account: Option<String>,
    },
}

pub async fn run(cx: &Context, function: Function) -> Result<ExitCode> {
    match function {
        Function::Tracker { event } => replay::replay(cx, &[event]).await,
        Function::Acceptor { account: id } => {
            let acceptor = &cx.wiring()?.acceptor()?;
            let report = one_or_sweep(
                cx,
                id,
                FunctionName::Acceptor,
                |id| async move { acceptor.process(&id).await },
                || acceptor.sweep(),
            );
            print_sweep(&report.await?);
            Ok(ExitCode::SUCCESS)
        }
        Function::Inviter { account: id } => {
            let inviter = &cx.wiring()?.inviter();
            let report = one_or_sweep(
                cx,
                id,
                FunctionName::Inviter,
                |id| async move { inviter.process(&id, true).await },
                || inviter.sweep(),
            );
            print_sweep(&report.await?);
            Ok(ExitCode::SUCCESS)
        }
        Function::Placer { account: id } => {
            let placer = &cx.wiring()?.placer();
            let report = one_or_sweep(
                cx,
                id,
                FunctionName::Placer,
                |id| async move { placer.place(&id).await },
                || placer.sweep(),
            );
            print_sweep(&report.await?);
            Ok(ExitCode::SUCCESS)
        }
        Function::Reconciler { account: id } => {
            let reconciler = cx.wiring()?.reconciler()?;
            let pass = match id {
                Some(id) => {
                    let id = known(cx, &id).await?;
                    let outcome =
                        cx.at(reconciler.reconcile(&id).await, "running the reconciler")?;
                    Pass {
                        accounts: SweepReport::of_one(id, outcome),
                        republished: 0,
                    }
                }
                None => {
                    let spinner = Terminal::detect().spinner("reconciler pass");
                    let pass = reconciler.pass().await;
                    spinner.finish_and_clear();
                    cx.at(pass, "running the reconciler")?
                }
            };
            print_pass(&pass);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What `invoke FUNCTION [--account ID]` runs: `one` for an enrolled account, else the
/// function's sweep behind a spinner.
async fn one_or_sweep<T, E, One, All>(
    cx: &Context,
    id: Option<String>,
    function: FunctionName,
    one: impl FnOnce(AccountId) -> One,
    all: impl FnOnce() -> All,
) -> Result<SweepReport<T>>
where
    E: std::error::Error + Send + Sync + 'static,
    One: std::future::Future<Output = Result<T, E>>,
    All: std::future::Future<Output = Result<SweepReport<T>, E>>,
{
    let running = format!("running the {function}");
    match id {
        Some(id) => {
            let id = known(cx, &id).await?;
            let outcome = cx.at(one(id.clone()).await, &running)?;
            Ok(SweepReport::of_one(id, outcome))
        }
        None => {
            let spinner = Terminal::detect().spinner(&format!("{function} sweep"));
            let outcomes = all().await;
            spinner.finish_and_clear();
            cx.at(outcomes, &running)
        }
    }
}

/// One line per account the pass corrected or could not reach, then the totals.
fn print_pass(pass: &Pass) {
    let report = &pass.accounts;
    for (account, outcome) in &report.done {
        match outcome {
            ReconcilerOutcome::Corrected { corrections, phase } => {
                out!(
                    "{account}  corrected to {phase}: {}",
                    corrections.join(", ")
                )
            }
            ReconcilerOutcome::Unreachable { reason } => {
                out!("{account}  unreachable: {reason}")
            }
            ReconcilerOutcome::NotOurs { reason } => out!("{account}  not ours: {reason}"),
            ReconcilerOutcome::InStep | ReconcilerOutcome::NotEnrolled => {}
        }
    }
    let corrected = report
        .done
        .iter()
        .filter(|(_, o)| matches!(o, ReconcilerOutcome::Corrected { .. }))
        .count();
    print_sweep(&SweepReport::<()> {
        done: Vec::new(),
        failed: report.failed.clone(),
        out_of_time: report.out_of_time,
        unreadable: report.unreadable.clone(),
    });
    out!(
        "{} checked, {corrected} corrected, {} published",
        plural(report.done.len() + report.failed.len(), "record", "records"),
        plural(
            pass.republished,
            "pending notification",
            "pending notifications"
        ),
    );
}

/// One line per account a sweep reached, then what it could not do.
fn print_sweep<T: std::fmt::Debug>(report: &SweepReport<T>) {
    for (account, outcome) in &report.done {
        out!("{account}  {outcome:?}");
    }
    for (account, class, error) in &report.failed {
        out!("{account}  failed ({}): {error}", class.as_str());
    }
    for key in &report.unreadable {
        out!("{key}  skipped: the stored record cannot be read");
    }
    if report.out_of_time {
        out!("the sweep's time budget ran out: the next run continues where it stopped");
    }
}
