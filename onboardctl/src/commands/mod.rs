//! The commands, one module each: its arguments (`Args`, parsed by clap in `main.rs`) and
//! its `run`, which prints for a person (or JSON with `--json`) and returns the exit code.
//! An `Args` has no doc comment of its own: clap would take it for the command's help,
//! which the `Command` enum in `main.rs` gives.
//!
//! Here is what several commands share: an account id from the command line, an enrolled
//! account's record, every record page by page.

pub mod doctor;
pub mod enroll;
pub mod init;
pub mod invoke;
pub mod migrate;
pub mod preflight;
pub mod replay;
pub mod report;
pub mod show;
pub mod status;

use anyhow::{bail, Result};
use onboarding::domain::{AccountId, EnrollmentName, OnboardingRecord};
use onboarding::ports::RecordReader;

use crate::context::Context;
use crate::terminal::err;

/// An account id as typed (surrounding blanks ignored).
fn account(value: &str) -> Result<AccountId> {
    Ok(AccountId::parse(value.trim())?)
}

/// An enrolled account id, or an error naming the unknown one.
async fn known(cx: &Context, id: &str) -> Result<AccountId> {
    Ok(known_record(cx, id).await?.account_id)
}

/// The record of an enrolled account, or an error naming the unknown one.
async fn known_record(cx: &Context, id: &str) -> Result<OnboardingRecord> {
    let id = account(id)?;
    match cx.at(cx.store()?.load(&id).await, "reading the table")? {
        Some(record) => Ok(record),
        None => bail!("account {id} is not enrolled (enroll it with onboardctl enroll)"),
    }
}

/// Calls `each` on every record of `enrollment` (or of all), page by page.
pub async fn for_each_record(
    cx: &Context,
    enrollment: Option<&EnrollmentName>,
    mut each: impl FnMut(OnboardingRecord) -> Result<()>,
) -> Result<()> {
    let store = cx.store()?;
    let mut cursor: Option<String> = None;
    loop {
        let page = cx.at(
            store.list_page(enrollment, cursor.as_deref()).await,
            "reading the table",
        )?;
        for record in page.records {
            each(record)?;
        }
        for unreadable in page.unreadable {
            err!(
                "warning: {} skipped, the stored record cannot be read: {}",
                unreadable.key,
                unreadable.error
            );
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}
