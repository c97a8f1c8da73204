//! `onboardctl enroll`: an enrollment from the command line and an accounts file, written
//! as one record per account (idempotent: an account enrolled before is said so, never
//! overwritten).
//!
//! The target's own accounts are not ours to move: before anything is written, the target
//! organization's accounts are read once (ListAccounts, every page, with the hub's
//! credentials, as the functions read them), and an enrollment naming any of them, or the
//! target's management account, is refused whole: nothing of it is enrolled, and the
//! error names each such account.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use chrono::Utc;
use onboarding::adapters::dynamo::ENROLL_BATCH;
use onboarding::domain::placement::check_tag_count;
use onboarding::domain::{
    parse_tag, AccountId, Enrollment, EnrollmentName, OnboardingRecord, OrganizationId, OuRef,
    Placement, Target, TransferMode,
};
use onboarding::ports::{CreateOutcome, RecordCreator, TargetOrganization};
use onboarding::report::view::plural;

use super::account;
use crate::accounts_file;
use crate::context::Context;
use crate::terminal::{out, say, Terminal};

#[derive(clap::Args)]
pub struct Args {
    /// The enrollment's name, e.g. acme-2026.
    name: String,
    /// direct (members accept while still in their organization, falling back to
    /// standalone), standalone (leave first), or billing (one management account keeps
    /// its organization, members included, and transfers its bill to the target).
    #[arg(long, value_parser = parse_mode, default_value = "direct")]
    mode: TransferMode,
    /// Billing mode: the day the target starts paying the bill (YYYY-MM-DD, UTC
    /// midnight); default: the first day of a month at least 48 hours after the
    /// invitation (AWS wants it accepted 24 hours before the start).
    #[arg(long, value_parser = parse_day)]
    transfer_start: Option<chrono::DateTime<chrono::Utc>>,
    /// The management account of the organization the accounts leave.
    #[arg(long)]
    management: Option<String>,
    /// A member account of that organization (repeatable).
    #[arg(long = "member")]
    members: Vec<String>,
    /// An account in no organization (repeatable).
    #[arg(long = "standalone")]
    standalone: Vec<String>,
    /// A CSV file of `account_id,role[,ou,tags]` lines (role: management, member or
    /// standalone; tags: `KEY=VALUE` separated by `;`).
    #[arg(long)]
    file: Option<PathBuf>,
    /// The target OU every account is placed in once it joined: an OU id (ou-…) or a path
    /// of unit names under the root, such as Customers/Acme.
    #[arg(long, value_parser = parse_ou)]
    ou: Option<OuRef>,
    /// A tag every account gets, KEY=VALUE (repeatable); the invitation carries it.
    #[arg(long = "tag", value_parser = parse_tag_arg)]
    tags: Vec<(String, String)>,
    /// The organization the accounts leave (o-…), for their
    /// org-onboarding:source-organization tag; without it, the reconciler reads it while
    /// the account is still there (standalone accounts get `none`).
    #[arg(long)]
    source_organization: Option<String>,
}

fn parse_mode(value: &str) -> Result<TransferMode, String> {
    value.parse()
}

fn parse_day(value: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|e| format!("{value:?} is not a day such as 2027-02-01: {e}"))
}

fn parse_ou(value: &str) -> Result<OuRef, String> {
    OuRef::parse(value).map_err(|e| e.to_string())
}

fn parse_tag_arg(value: &str) -> Result<(String, String), String> {
    parse_tag(value).map_err(|e| e.to_string())
}

pub async fn run(cx: &Context, args: Args) -> Result<ExitCode> {
    let accounts = |ids: &[String]| ids.iter().map(|a| account(a)).collect::<Result<Vec<_>>>();
    let mode = args.mode;
    let tags: BTreeMap<String, String> = args.tags.into_iter().collect();
    check_tag_count(&tags)?;
    let mut enrollment = Enrollment {
        name: EnrollmentName::parse(&args.name)?,
        transfer_mode: mode.clone(),
        management_account: args.management.as_deref().map(account).transpose()?,
        members: accounts(&args.members)?,
        standalone_accounts: accounts(&args.standalone)?,
        placement: Placement {
            transfer_start: args.transfer_start,
            ou: args.ou,
            tags,
            source_organization: args
                .source_organization
                .as_deref()
                .map(OrganizationId::parse)
                .transpose()?,
            per_account: BTreeMap::new(),
        },
    };
    if let Some(file) = &args.file {
        accounts_file::read_into(file, &mut enrollment)?;
    }
    let records = enrollment.records(Utc::now())?;
    check_tags_per_account(&records)?;
    refuse_the_targets_accounts(cx, &records).await?;
    let store = cx.store()?;
    let bar = Terminal::detect().bar(records.len() as u64, "enrolling");
    // Ten transactions' worth per call, so the bar moves on a file of thousands.
    for chunk in records.chunks(ENROLL_BATCH * 10) {
        let outcomes = cx.at(store.create_many(chunk).await, "writing the enrollment")?;
        for (record, outcome) in chunk.iter().zip(outcomes) {
            let said = match outcome {
                CreateOutcome::Created => "enrolled",
                CreateOutcome::AlreadyEnrolled => "already enrolled",
            };
            let line = format!(
                "{}  {:<10}  {:<20}  {said}",
                record.account_id,
                record.role.as_str(),
                record.phase
            );
            say(&bar, line);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    out!(
        "enrollment {} ({} mode): {}",
        enrollment.name,
        mode.as_str(),
        plural(records.len(), "account", "accounts")
    );
    Ok(ExitCode::SUCCESS)
}

/// Each account's tags (the enrollment's and its own, from the file) fit AWS's limit beside
/// the product's own two; the error names the first account that would carry too many.
fn check_tags_per_account(records: &[OnboardingRecord]) -> Result<()> {
    for record in records {
        if let Err(error) = check_tag_count(&record.tags) {
            bail!("account {}: {error}", record.account_id);
        }
    }
    Ok(())
}

/// Refuses the whole enrollment when it names an account of the target organization: its
/// accounts are read once (ListAccounts, every page), whatever the number of lines.
async fn refuse_the_targets_accounts(cx: &Context, records: &[OnboardingRecord]) -> Result<()> {
    let wiring = cx.wiring()?;
    let members = cx.at(
        wiring.target_organization().member_accounts().await,
        "reading the target organization's accounts (ListAccounts, with the hub's credentials: the target management account's) to refuse enrolling any of them",
    )?;
    let target = &wiring.config().target;
    let refused = the_targets_accounts(records.iter().map(|r| &r.account_id), target, &members);
    if refused.is_empty() {
        return Ok(());
    }
    let named = refused
        .iter()
        .map(|(account, why)| format!("{account} ({why})"))
        .collect::<Vec<_>>()
        .join(", ");
    bail!(
        "the enrollment names accounts already in the target organization {}, which are not ours to move: {named}; nothing was enrolled: remove them from the enrollment and run it again",
        target.organization
    )
}

/// The enrolled accounts that are the target's management account or among `members`
/// (its ListAccounts), each with why, in the enrollment's order.
fn the_targets_accounts<'a>(
    enrolled: impl Iterator<Item = &'a AccountId>,
    target: &Target,
    members: &[AccountId],
) -> Vec<(&'a AccountId, &'static str)> {
    let members: std::collections::HashSet<&AccountId> = members.iter().collect();
    enrolled
        .filter_map(|account| {
            if *account == target.management_account {
                Some((account, "the target's management account"))
            } else if members.contains(account) {
                Some((account, "a member of the target organization"))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }

    #[test]
    fn the_targets_management_account_and_members_are_named_each_with_why() {
        let target = Target {
            organization: OrganizationId::parse("o-exampleorgid").unwrap(),
            management_account: acct("111111111111"),
        };
        let enrolled = [
            acct("111111111111"),
            acct("222222222222"),
            acct("444444444444"),
        ];
        let members = [acct("111111111111"), acct("444444444444")];
        let refused = the_targets_accounts(enrolled.iter(), &target, &members);
        assert_eq!(
            refused,
            [
                (&enrolled[0], "the target's management account"),
                (&enrolled[2], "a member of the target organization"),
            ]
        );
        // The management account is refused even if ListAccounts missed it.
        let refused = the_targets_accounts(enrolled[..2].iter(), &target, &[]);
        assert_eq!(refused.len(), 1);
    }

    #[test]
    fn an_account_whose_own_tags_and_the_enrollment_s_exceed_the_limit_is_named() {
        let mut enrollment = Enrollment {
            name: EnrollmentName::parse("acme").unwrap(),
            transfer_mode: TransferMode::Standalone,
            management_account: None,
            members: Vec::new(),
            standalone_accounts: vec![acct("555555555555"), acct("666666666666")],
            placement: Placement::default(),
        };
        // 40 for everyone fit; 8 more of its own (48, plus the product's two: 50) fit too;
        // 9 more (51) do not.
        enrollment.placement.tags = (0..40).map(|i| (format!("k{i}"), "v".into())).collect();
        let own = |n: usize| onboarding::domain::AccountPlacement {
            ou: None,
            tags: (0..n).map(|i| (format!("own{i}"), "v".into())).collect(),
        };
        enrollment
            .placement
            .per_account
            .insert(acct("555555555555"), own(8));
        let records = enrollment.records(Utc::now()).unwrap();
        check_tags_per_account(&records).unwrap();
        enrollment
            .placement
            .per_account
            .insert(acct("666666666666"), own(9));
        let records = enrollment.records(Utc::now()).unwrap();
        let error = check_tags_per_account(&records).unwrap_err().to_string();
        assert!(
            error.starts_with("account 666666666666: 51 tags"),
            "{error}"
        );
    }
}
