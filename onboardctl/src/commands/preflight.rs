//! `onboardctl preflight [ENROLLMENT] [--account ID] [--json]`: the preflight's handler
//! run in this process (as `invoke` runs the others), and its reports printed. Before
//! anyone leaves an organization it says, per account, what AWS will refuse (predicted
//! blockers), what no API answers (checks by hand, with where to look), which policies
//! trust the old organization and will stop working after the move, and which other
//! organizations have invited the account. The handler records the predicted blockers on
//! the records (`status` and `show` mark them `(predicted)`) and publishes
//! `Preflight Completed`; this command only prints.
//!
//! `--json` prints one JSON object per account and line (JSON Lines): the serialized
//! [`PreflightReport`], or for an account the spoke role could not reach the same keys
//! with empty arrays and `unreachable: {code, message}`. Nothing else goes to stdout then;
//! accounts the run could not finish are named on stderr.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{bail, Result};
use onboarding::domain::{AccountId, AwsFailure, EnrollmentName, PreflightReport, Role};
use onboarding::preflight::PreflightOutcome;
use onboarding::report::view::plural;
use onboarding::sweep::SweepReport;
use serde_json::{json, Value};

use super::{for_each_record, known_record};
use crate::context::Context;
use crate::terminal::{err, out, Terminal};

#[derive(clap::Args)]
pub struct Args {
    /// Only this enrollment's accounts (default: every account still to move).
    enrollment: Option<String>,
    /// Only this account.
    #[arg(long, conflicts_with = "enrollment")]
    account: Option<String>,
    /// One JSON object per account and line (JSON Lines), nothing else on stdout.
    #[arg(long)]
    json: bool,
}

pub async fn run(cx: &Context, args: Args) -> Result<ExitCode> {
    let scope = match (args.account, args.enrollment) {
        (Some(account), _) => Scope::Account(account),
        (None, Some(enrollment)) => Scope::Enrollment(enrollment),
        (None, None) => Scope::All,
    };
    preflight(cx, scope, args.json).await
}

/// What to check: one account, one enrollment, or every account still to move.
enum Scope {
    Account(String),
    Enrollment(String),
    All,
}

async fn preflight(cx: &Context, scope: Scope, json: bool) -> Result<ExitCode> {
    let preflight = cx.wiring()?.preflight()?;
    let terminal = Terminal::detect();
    let running = "running the preflight";
    // The roles, for the human report (a report names the account only).
    let mut roles: HashMap<AccountId, Role> = HashMap::new();
    let report = match scope {
        Scope::Account(id) => {
            let record = known_record(cx, &id).await?;
            let id = record.account_id.clone();
            roles.insert(id.clone(), record.role);
            let outcome = cx.at(preflight.check_account(&id).await, running)?;
            SweepReport::of_one(id, outcome)
        }
        Scope::Enrollment(name) => {
            let name = EnrollmentName::parse(&name)?;
            for_each_record(cx, Some(&name), |r| {
                roles.insert(r.account_id, r.role);
                Ok(())
            })
            .await?;
            if roles.is_empty() {
                bail!("enrollment {name} has no enrolled account (see onboardctl status)");
            }
            let spinner = terminal.spinner(&format!("preflight of {name}"));
            let report = preflight.check_enrollment(&name).await;
            spinner.finish_and_clear();
            cx.at(report, running)?
        }
        Scope::All => {
            if !json {
                for_each_record(cx, None, |r| {
                    roles.insert(r.account_id, r.role);
                    Ok(())
                })
                .await?;
            }
            let spinner = terminal.spinner("preflight");
            let report = preflight.check_all().await;
            spinner.finish_and_clear();
            cx.at(report, running)?
        }
    };
    let mut done: Vec<&(AccountId, PreflightOutcome)> = report.done.iter().collect();
    done.sort_by(|a, b| a.0.cmp(&b.0));
    if json {
        print_json(&done, &report)?;
    } else {
        print_human(&done, &report, &roles, terminal);
    }
    Ok(ExitCode::SUCCESS)
}

/// One object per account and line; the run's failures on stderr.
fn print_json(
    done: &[&(AccountId, PreflightOutcome)],
    report: &SweepReport<PreflightOutcome>,
) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (account, outcome) in done {
        match json_of(account, outcome)? {
            Some(line) => {
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n")?;
            }
            None => err!("onboardctl: {account}: {}", not_checked(outcome)),
        }
    }
    out.flush()?;
    for line in unfinished(report) {
        err!("onboardctl: {line}");
    }
    Ok(())
}

/// The JSON line of one account: its report, or the same keys empty and why it could
/// not be reached; `None` when nothing was checked (not applicable, not enrolled).
pub fn json_of(account: &AccountId, outcome: &PreflightOutcome) -> Result<Option<Value>> {
    Ok(match outcome {
        PreflightOutcome::Checked(report) => Some(serde_json::to_value(report.as_ref())?),
        PreflightOutcome::Unreachable { failure } => Some(unreachable_json(account, failure)),
        PreflightOutcome::NotApplicable { .. } | PreflightOutcome::NotEnrolled => None,
    })
}

fn unreachable_json(account: &AccountId, failure: &AwsFailure) -> Value {
    json!({
        "account_id": account,
        "blockers": [],
        "checks": [],
        "policies": [],
        "invitations": [],
        "organization": null,
        "unreachable": {"code": failure.code, "message": failure.message},
    })
}

/// Why an account has no report.
fn not_checked(outcome: &PreflightOutcome) -> String {
    match outcome {
        PreflightOutcome::NotApplicable { phase } => {
            format!("nothing to predict: it is {phase} and no longer in its old organization")
        }
        PreflightOutcome::NotEnrolled => {
            "not enrolled (enroll it with onboardctl enroll)".to_owned()
        }
        PreflightOutcome::Checked(_) | PreflightOutcome::Unreachable { .. } => String::new(),
    }
}

/// The accounts the run failed on or left for later, one line each.
fn unfinished(report: &SweepReport<PreflightOutcome>) -> Vec<String> {
    let mut lines: Vec<String> = report
        .failed
        .iter()
        .map(|(account, class, error)| {
            format!(
                "{account}: not checked, the preflight failed ({}): {error}",
                class.as_str()
            )
        })
        .collect();
    lines.extend(
        report
            .unreadable
            .iter()
            .map(|key| format!("{key}: not checked, the stored record cannot be read")),
    );
    if report.out_of_time {
        lines.push("accounts not checked: the run's time budget ran out (run it again)".into());
    }
    lines
}

fn print_human(
    done: &[&(AccountId, PreflightOutcome)],
    report: &SweepReport<PreflightOutcome>,
    roles: &HashMap<AccountId, Role>,
    terminal: Terminal,
) {
    let mut totals = Totals::default();
    for (account, outcome) in done {
        let role = roles.get(account).map_or("", |r| r.as_str());
        crate::terminal::print_text(&account_section(account, role, outcome, terminal));
        totals.add(outcome);
    }
    if done.is_empty() && unfinished(report).is_empty() {
        out!(
            "no account to check: a preflight checks accounts still in their old organization, and standalone accounts not joined yet"
        );
        return;
    }
    out!("{}", totals.line());
    let unfinished = unfinished(report);
    if !unfinished.is_empty() {
        out!();
        for line in unfinished {
            out!("{}", terminal.red(&line));
        }
    }
}

/// What one account's preflight found, for a person: a heading, then each section that
/// has something, then a blank line.
pub fn account_section(
    account: &AccountId,
    role: &str,
    outcome: &PreflightOutcome,
    terminal: Terminal,
) -> String {
    let mut out = Vec::new();
    match outcome {
        PreflightOutcome::Checked(report) => {
            let place = report
                .organization
                .as_ref()
                .map_or("in no organization".to_owned(), |o| format!("in {o}"));
            out.push(terminal.bold(&heading(account, role, &place)));
            report_lines(report, terminal, &mut out);
        }
        PreflightOutcome::Unreachable { failure } => {
            out.push(terminal.bold(&heading(account, role, "")));
            out.push(format!(
                "  {} the spoke role could not be assumed, so nothing was checked: {}{}",
                terminal.red("UNREACHABLE:"),
                failure.code,
                if failure.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", failure.message)
                }
            ));
            out.push(format!(
                "    Fix: deploy the spoke (infra/spoke.yaml) in {account} with HubPreflightRoleArn set to the hub's PreflightRoleArn output, or check SPOKE_ROLE_NAME and SPOKE_EXTERNAL_ID; `onboardctl doctor --account {account}` tests the spoke role. The record is left as it is."
            ));
        }
        PreflightOutcome::NotApplicable { .. } | PreflightOutcome::NotEnrolled => {
            out.push(terminal.bold(&heading(account, role, "")));
            out.push(format!("  {}", not_checked(outcome)));
        }
    }
    out.push(String::new());
    out.iter().map(|line| format!("{line}\n")).collect()
}

fn heading(account: &AccountId, role: &str, place: &str) -> String {
    [account.as_str(), role, place]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("  ")
}

fn report_lines(report: &PreflightReport, terminal: Terminal, out: &mut Vec<String>) {
    if report.blockers.is_empty() {
        out.push(format!(
            "  {}",
            terminal.green("No predicted blocker: nothing found that AWS would refuse.")
        ));
    } else {
        out.push(format!(
            "  {} (AWS will refuse the move until they are fixed):",
            terminal.red("Predicted blockers")
        ));
        for blocker in &report.blockers {
            out.push(format!(
                "    {}  {}",
                terminal.red(&blocker.code.to_string()),
                blocker.detail
            ));
            out.push(format!("      {}", blocker.message));
            out.push(format!("      Fix: {}", blocker.remediation));
        }
    }
    if !report.checks.is_empty() {
        out.push(format!(
            "  {} (no API answers these):",
            terminal.yellow("Check by hand")
        ));
        for check in &report.checks {
            out.push(format!("    {}: {}", check.item, check.why));
            if let Some(link) = &check.link {
                out.push(format!("      {link}"));
            }
        }
    }
    if !report.policies.is_empty() {
        let organization = report
            .organization
            .as_ref()
            .map_or("the old organization".to_owned(), ToString::to_string);
        out.push(format!(
            "  {} (will stop working after the move):",
            terminal.yellow(&format!("Policies that trust {organization}"))
        ));
        for policy in &report.policies {
            out.push(format!(
                "    {}  {} = {}",
                policy.resource, policy.condition_key, policy.value
            ));
        }
    }
    if !report.invitations.is_empty() {
        out.push(format!(
            "  {} (never accepted; decline them or let them expire):",
            terminal.yellow("Open invitations from other organizations")
        ));
        for invitation in &report.invitations {
            let from = invitation
                .organization
                .as_ref()
                .map_or("an unknown organization".to_owned(), ToString::to_string);
            let expires = invitation.expires_at.map_or(String::new(), |at| {
                format!(", expires {}", at.format("%Y-%m-%d %H:%M UTC"))
            });
            out.push(format!(
                "    {} from {from}{expires}",
                invitation.handshake_id
            ));
        }
    }
}

/// The summary line's counts.
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    checked: usize,
    blocked: usize,
    policies: usize,
    checks: usize,
    unreachable: usize,
}

impl Totals {
    fn add(&mut self, outcome: &PreflightOutcome) {
        match outcome {
            PreflightOutcome::Checked(report) => {
                self.checked += 1;
                self.blocked += usize::from(!report.blockers.is_empty());
                self.policies += report.policies.len();
                self.checks += report.checks.len();
            }
            PreflightOutcome::Unreachable { .. } => {
                self.checked += 1;
                self.unreachable += 1;
            }
            PreflightOutcome::NotApplicable { .. } | PreflightOutcome::NotEnrolled => {}
        }
    }

    fn line(&self) -> String {
        format!(
            "{} checked: {} with predicted blockers, {} unreachable; {} trusting the old organization, {} to do by hand",
            plural(self.checked, "account", "accounts"),
            self.blocked,
            self.unreachable,
            plural(self.policies, "policy", "policies"),
            plural(self.checks, "check", "checks"),
        )
    }
}

#[cfg(test)]
mod tests {
    use onboarding::domain::preflight::{CheckItem, PredictedBlocker, TrustingPolicy};
    use onboarding::domain::{BlockerCode, OrganizationId};

    use super::*;

    fn account() -> AccountId {
        AccountId::parse("222222222222").unwrap()
    }

    fn report() -> PreflightReport {
        let (message, remediation) = BlockerCode::ContactInfoMissing.explain();
        PreflightReport {
            account_id: account(),
            blockers: vec![PredictedBlocker {
                code: BlockerCode::ContactInfoMissing,
                message: message.to_owned(),
                remediation: remediation.to_owned(),
                detail: "GetContactInformation: the account has no primary contact".into(),
            }],
            checks: vec![CheckItem {
                item: "payment_method".into(),
                why: "No API reads the payment method.".into(),
                link: Some("https://console.aws.amazon.com/billing/home".into()),
            }],
            policies: vec![TrustingPolicy {
                resource: "arn:aws:s3:::logs".into(),
                condition_key: "aws:PrincipalOrgID".into(),
                value: "o-old1234567".into(),
            }],
            invitations: Vec::new(),
            organization: Some(OrganizationId::parse("o-old1234567").unwrap()),
        }
    }

    fn plain() -> Terminal {
        Terminal::plain()
    }

    #[test]
    fn a_report_shows_blockers_checks_and_policies_for_a_person() {
        let outcome = PreflightOutcome::Checked(Box::new(report()));
        let text = account_section(&account(), "management", &outcome, plain());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "222222222222  management  in o-old1234567");
        assert!(text.contains("Predicted blockers (AWS will refuse the move"));
        assert!(text.contains(
            "    CONTACT_INFO_MISSING  GetContactInformation: the account has no primary contact"
        ));
        assert!(text.contains("      Fix: "));
        assert!(text.contains("    payment_method: No API reads the payment method."));
        assert!(text.contains("      https://console.aws.amazon.com/billing/home"));
        assert!(text.contains(
            "Policies that trust o-old1234567 (will stop working after the move):\n    arn:aws:s3:::logs  aws:PrincipalOrgID = o-old1234567\n"
        ));
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn the_json_line_is_the_report_and_an_unreachable_account_has_the_same_keys() {
        let checked = json_of(&account(), &PreflightOutcome::Checked(Box::new(report())))
            .unwrap()
            .unwrap();
        assert_eq!(checked, serde_json::to_value(report()).unwrap());
        for key in ["account_id", "blockers", "checks", "policies"] {
            assert!(checked.get(key).is_some(), "{key}");
        }
        let failure = AwsFailure::new("AccessDenied", None, "not authorized");
        let unreachable = json_of(&account(), &PreflightOutcome::Unreachable { failure })
            .unwrap()
            .unwrap();
        assert_eq!(unreachable["account_id"], "222222222222");
        assert_eq!(unreachable["blockers"], json!([]));
        assert_eq!(unreachable["policies"], json!([]));
        assert_eq!(
            unreachable["unreachable"],
            json!({"code": "AccessDenied", "message": "not authorized"})
        );
        let text = account_section(
            &account(),
            "member",
            &PreflightOutcome::Unreachable {
                failure: AwsFailure::new("AccessDenied", None, "not authorized"),
            },
            plain(),
        );
        assert!(
            text.contains("the spoke role could not be assumed"),
            "{text}"
        );
    }

    #[test]
    fn the_summary_counts_accounts_blockers_policies_checks_and_unreachable_ones() {
        let mut totals = Totals::default();
        totals.add(&PreflightOutcome::Checked(Box::new(report())));
        totals.add(&PreflightOutcome::Unreachable {
            failure: AwsFailure::new("AccessDenied", None, ""),
        });
        assert_eq!(
            totals.line(),
            "2 accounts checked: 1 with predicted blockers, 1 unreachable; 1 policy trusting the old organization, 1 check to do by hand"
        );
    }
}
