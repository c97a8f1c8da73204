//! `onboardctl doctor`: is this deployment able to work? Each check prints one line, and a
//! failed one says what to fix: the configuration (with `--stack`, the hub stack's), the
//! target organization against the hub's own account (the acceptor's start-up check), the
//! table (and that it is the stack's), the event bus, the CloudTrail trail AWS
//! Organizations' events need, (with `--account`) one customer account's spoke role, and
//! (with `--permissions`) every role's permissions against the manifest.

mod permissions;
mod render;
mod trail;

use crate::terminal::out;
use std::process::ExitCode;

use anyhow::{bail, Result};
use onboarding::adapters::organizations::ORGANIZATIONS_REGION;
use onboarding::config::{Config, SPOKE_ROLE_NAME, TABLE_NAME};
use onboarding::domain::error_code::same_code;
use onboarding::domain::AccountId;
use onboarding::permissions::Principal;
use onboarding::ports::{Credentials, TargetDirectory};
use onboarding::target_check::verify_target;

use self::permissions::Subject;
use self::render::{partition_and_account, Deployment, Values};
use crate::aws_error;
use crate::context::{environment, Context};
use crate::stack::{self, HubStack};

/// One check's verdict: `Ok(what is fine)` or `Err(what to fix)`.
pub type Verdict = Result<String, String>;

// What `doctor` was asked to check beyond the deployment itself.
#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    account: Option<String>,
    /// Simulate every function's role (the stack's, or --role) against the permission
    /// manifest, and with --account the spoke role there.
    #[arg(long)]
    permissions: bool,
    /// A function's role, FUNCTION=ARN (repeatable): instead of the stack's, or without
    /// a stack.
    #[arg(long = "role", value_name = "FUNCTION=ARN", value_parser = parse_role, requires = "permissions")]
    roles: Vec<(Principal, String)>,
}

fn parse_role(value: &str) -> Result<(Principal, String), String> {
    let functions: Vec<&str> = Principal::ALL
        .iter()
        .filter(|p| p.role_output().is_some())
        .map(|p| p.name())
        .collect();
    let (name, arn) = value
        .split_once('=')
        .ok_or_else(|| format!("{value:?} is not FUNCTION=ARN"))?;
    let principal = Principal::from_name(name)
        .filter(|p| p.role_output().is_some())
        .ok_or_else(|| format!("unknown function {name:?} ({})", functions.join(", ")))?;
    if !arn.starts_with("arn:") || !arn.contains(":role/") {
        return Err(format!(
            "{arn:?} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        ));
    }
    Ok((principal, arn.to_owned()))
}

/// The lines as they are found, and whether one failed.
#[derive(Default)]
pub struct Report {
    failed: usize,
}

impl Report {
    pub fn line(&mut self, what: &str, verdict: Verdict) {
        match verdict {
            Ok(fine) => out!("ok    {what}: {fine}"),
            Err(fix) => {
                self.failed += 1;
                out!("FAIL  {what}: {fix}");
            }
        }
    }

    /// What was not checked, and why; not a failure.
    pub fn note(&mut self, what: &str, text: &str) {
        out!("note  {what}: {text}");
    }

    fn exit_code(&self) -> ExitCode {
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

pub async fn run(cx: &Context, options: &Args) -> Result<ExitCode> {
    if options.permissions && cx.stack.is_none() && options.roles.is_empty() {
        bail!("--permissions needs --stack NAME (the hub stack) or --role FUNCTION=ARN");
    }
    let mut report = Report::default();
    let config = match cx.config() {
        Ok(config) => config,
        Err(error) => {
            let fix = "set it as the functions have it, or run with --stack NAME (the hub stack)";
            report.line("configuration", Err(format!("{error}: {fix}")));
            return Ok(report.exit_code());
        }
    };
    let external_id = config
        .spoke
        .as_ref()
        .and_then(|s| external_id_problem(&s.external_id));
    report.line("configuration", configuration(cx, &config, &external_id));
    let wiring = cx.wiring()?;
    let target_verdict = target(&wiring.target_organization(), &config).await;
    report.line("target organization", target_verdict);
    report.line("table", table(cx, &config.table_name).await);
    report.line("event bus", bus(cx, &config.event_bus_name).await);
    report.line("trail", trail::check(&cx.aws).await);
    if let Some(account) = &options.account {
        let verdict = match &external_id {
            Some(_) => Err("not tried: fix SPOKE_EXTERNAL_ID first (see configuration)".into()),
            None => spoke(&wiring, &config, account).await,
        };
        report.line("spoke role", verdict);
    }
    if options.permissions {
        check_permissions(cx, &config, options, external_id.is_none(), &mut report).await;
    }
    Ok(report.exit_code())
}

fn configuration(cx: &Context, config: &Config, external_id: &Option<String>) -> Verdict {
    if let Some(problem) = external_id {
        return Err(problem.clone());
    }
    let from = cx
        .stack
        .as_ref()
        .map_or_else(String::new, |s| format!(", from stack {}", s.name));
    Ok(format!(
        "target {} ({}){from}",
        config.target.organization, config.target.management_account
    ))
}

/// What is wrong with an external id the spoke template would refuse (infra/spoke.yaml,
/// parameter ExternalId: 16 to 1224 of `[\w+=,.@:/-]`).
pub fn external_id_problem(id: &str) -> Option<String> {
    let fix = "set it to the hub stack's SpokeExternalId";
    let length = id.chars().count();
    if !(16..=1224).contains(&length) {
        let unit = if length == 1 {
            "character"
        } else {
            "characters"
        };
        return Some(format!(
            "SPOKE_EXTERNAL_ID is {length} {unit} long, too short or too long for the spoke template, which requires 16 to 1224 (infra/spoke.yaml, parameter ExternalId): {fix}"
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c);
    id.chars().find(|c| !allowed(*c)).map(|c| {
        format!(
            "SPOKE_EXTERNAL_ID has {c:?}, which the spoke template does not allow (infra/spoke.yaml, parameter ExternalId: letters, digits and _+=,.@:/-): {fix}"
        )
    })
}

async fn target(directory: &dyn TargetDirectory, config: &Config) -> Verdict {
    let own = directory
        .own_organization()
        .await
        .map_err(|e| format!("DescribeOrganization with the hub's credentials failed ({e}): run in the target management account with organizations:DescribeOrganization"))?;
    verify_target(&config.target, own.as_ref())?;
    Ok("the hub's account is the target organization's management account".into())
}

/// How to get a missing table or bus.
fn create_fix(cx: &Context, variable: &str) -> String {
    match &cx.stack {
        Some(stack) => format!(
            "create it with `onboardctl init --stack {}`, or check the stack",
            stack.name
        ),
        None => format!(
            "create it with `onboardctl init`, or run with --stack NAME (the hub stack), or check {variable}"
        ),
    }
}

async fn table(cx: &Context, name: &str) -> Verdict {
    if let Some(problem) = not_the_stacks_table(cx, name).await {
        return Err(problem);
    }
    let client = aws_sdk_dynamodb::Client::new(&cx.aws);
    match client.describe_table().table_name(name).send().await {
        Ok(output) => Ok(format!(
            "{name} is {}",
            output
                .table()
                .and_then(|t| t.table_status())
                .map_or("present", |s| s.as_str())
        )),
        Err(error) => Err(format!(
            "DescribeTable {name}: {}: {}",
            aws_error::one_line(&error),
            create_fix(cx, TABLE_NAME)
        )),
    }
}

/// The table the doctor would use is not the one a stack names: with `--stack`,
/// `TABLE_NAME` names another; without, a stack of the region names another and none this.
async fn not_the_stacks_table(cx: &Context, name: &str) -> Option<String> {
    match &cx.stack {
        Some(stack) => environment(TABLE_NAME)
            .filter(|set| set != stack.table_name())
            .map(|set| mismatch(stack, &set)),
        // A region whose stacks cannot be listed is not this check's to judge.
        None => stack::named_tables(&cx.aws)
            .await
            .ok()
            .and_then(|named| stack::refusal(&named, name))
            .map(|refusal| format!("{TABLE_NAME} is {name} but {refusal}")),
    }
}

fn mismatch(stack: &HubStack, set: &str) -> String {
    let table = stack.table_name();
    format!(
        "{TABLE_NAME} is {set} but stack {} names table {table}: unset {TABLE_NAME} or set it to {table}",
        stack.name
    )
}

async fn bus(cx: &Context, name: &str) -> Verdict {
    let client = aws_sdk_eventbridge::Client::new(&cx.aws);
    match client.describe_event_bus().name(name).send().await {
        Ok(_) => Ok(format!("{name} exists")),
        Err(error) => Err(format!(
            "DescribeEventBus {name}: {}: {}",
            aws_error::one_line(&error),
            create_fix(cx, onboarding::config::EVENT_BUS_NAME)
        )),
    }
}

async fn spoke(wiring: &onboarding::wiring::Wiring, config: &Config, account: &str) -> Verdict {
    let account = AccountId::parse(account).map_err(|e| e.to_string())?;
    let spoke = config.spoke.as_ref().ok_or_else(|| {
        format!(
            "{SPOKE_ROLE_NAME} is not set: set it and SPOKE_EXTERNAL_ID as the acceptor has them"
        )
    })?;
    // Reached as the reconciler reaches it (its session policy: DescribeOrganization).
    let credentials = onboarding::adapters::organizations::StsCredentials::new(
        wiring.sdk_config(),
        &spoke.role_name,
        &spoke.external_id,
        onboarding::adapters::organizations::SessionScope::Function(
            onboarding::domain::FunctionName::Reconciler,
        ),
    );
    let organizations = credentials.organizations_for(&account).await.map_err(|e| {
        if same_code(e.code(), "AccessDeniedException") {
            // AWS answers the same for a role that is missing and for one that does not
            // trust the caller, and the spoke trusts only the hub functions' roles.
            format!("AssumeRole {} in {account} refused ({e}): either the spoke is not deployed there (deploy infra/spoke.yaml with the hub's external id and roles), or it is and trusts only the hub's functions, not this session: check it from the hub by invoking the preflight function for the account's enrollment, then onboardctl show {account} (infra/DEPLOY.md, section 7)", spoke.role_name)
        } else {
            format!("cannot assume {} in {account} ({e}): deploy infra/spoke.yaml there with the hub's external id and its acceptor and reconciler roles", spoke.role_name)
        }
    })?;
    let membership = organizations.membership().await.map_err(|e| {
        format!("DescribeOrganization in {account} failed ({e}): update the spoke stack")
    })?;
    Ok(match membership {
        Some(m) => format!(
            "{account} reachable; it is in organization {}",
            m.organization
        ),
        None => format!("{account} reachable; it is in no organization"),
    })
}

/// A function's role ARN, or why the stack gives none.
type Role = Result<String, String>;

/// The function roles to check: `--role`'s, else the stack's; an error names a role the
/// stack does not output. Without a stack, the functions without `--role` are left out.
fn function_roles(
    stack: Option<&HubStack>,
    given: &[(Principal, String)],
) -> (Vec<(Principal, Role)>, Vec<Principal>) {
    let (mut roles, mut left_out) = (Vec::new(), Vec::new());
    for principal in Principal::ALL
        .into_iter()
        .filter(|p| *p != Principal::Spoke)
    {
        let flag = given
            .iter()
            .find(|(p, _)| *p == principal)
            .map(|(_, arn)| arn);
        match (flag, stack) {
            (Some(arn), _) => roles.push((principal, Ok(arn.clone()))),
            (None, Some(stack)) => {
                let role = stack.role_arn(principal).map(str::to_owned).ok_or_else(|| {
                    let output = principal.role_output().unwrap_or_default();
                    format!(
                        "{}: stack {} has no output {output}: update the stack (template.yaml), or pass --role {}=ARN",
                        principal.name(),
                        stack.name,
                        principal.name()
                    )
                });
                roles.push((principal, role));
            }
            (None, None) => left_out.push(principal),
        }
    }
    (roles, left_out)
}

const PERMISSIONS: &str = "permissions";

/// `--permissions`: the function roles, then with `--account` the spoke role there.
async fn check_permissions(
    cx: &Context,
    config: &Config,
    options: &Args,
    external_id_ok: bool,
    report: &mut Report,
) {
    let region = cx.aws.region().map_or(ORGANIZATIONS_REGION, |r| r.as_ref());
    let deployment = Deployment {
        table: config.table_name.clone(),
        bus: config.event_bus_name.clone(),
        target_organization: config.target.organization.to_string(),
        target_management_account: config.target.management_account.to_string(),
        spoke_role_name: cx.spoke_role_name(),
        access_role_name: config.access_role_name.clone(),
    };
    let values = |arn: &str| Values::for_role(arn, region, &deployment);
    let partition = function_permissions(cx, options, values, report).await;
    let Some(account) = &options.account else {
        return;
    };
    let spoke_line = |text: &str| -> Verdict { Err(format!("spoke in {account}: {text}")) };
    let account = match AccountId::parse(account) {
        Ok(account) => account,
        Err(e) => return report.line(PERMISSIONS, spoke_line(&e.to_string())),
    };
    let access = match (&config.spoke, external_id_ok) {
        (_, false) => {
            let text = "not checked: fix SPOKE_EXTERNAL_ID first (see configuration)";
            return report.line(PERMISSIONS, spoke_line(text));
        }
        (None, true) => {
            let text =
                "not checked: set SPOKE_ROLE_NAME and SPOKE_EXTERNAL_ID as the acceptor has them";
            return report.line(PERMISSIONS, spoke_line(text));
        }
        (Some(access), true) => access,
    };
    permissions::spoke(&cx.aws, access, &account, &partition, values, report).await;
}

/// Every function role's lines; returns the partition of the roles (`aws` when none says).
async fn function_permissions(
    cx: &Context,
    options: &Args,
    values: impl Fn(&str) -> Result<Values, String>,
    report: &mut Report,
) -> String {
    let (roles, left_out) = function_roles(cx.stack.as_ref(), &options.roles);
    if !roles.is_empty() {
        report.note(PERMISSIONS, &permissions::runtime_note());
    }
    if !left_out.is_empty() {
        let names: Vec<&str> = left_out.iter().map(|p| p.name()).collect();
        let text = format!(
            "not checked: {} (no --role for them, and no --stack)",
            names.join(", ")
        );
        report.note(PERMISSIONS, &text);
    }
    let iam = aws_sdk_iam::Client::new(&cx.aws);
    let mut partition = "aws".to_owned();
    for (principal, role) in roles {
        let arn = match role {
            Ok(arn) => arn,
            Err(missing) => {
                report.line(PERMISSIONS, Err(missing));
                continue;
            }
        };
        let subject = Subject::function(principal, &arn);
        let values = match values(&arn) {
            Ok(values) => values,
            Err(reason) => {
                report.line(PERMISSIONS, Err(format!("{}: {reason}", subject.label)));
                continue;
            }
        };
        if let Ok((p, _)) = partition_and_account(&arn) {
            partition = p.to_owned();
        }
        if let Err(failed) = permissions::verify(&iam, &subject, &values, report).await {
            let fix = if failed.access_denied {
                "allow iam:SimulatePrincipalPolicy on the hub's roles to whoever runs the doctor"
            } else {
                "check the role's ARN (the stack's output, or --role)"
            };
            let line = format!(
                "{}: SimulatePrincipalPolicy on {arn} failed ({}): {fix}",
                subject.label, failed.reason
            );
            report.line(PERMISSIONS, Err(line));
        }
    }
    partition
}

#[cfg(test)]
mod tests {
    use onboarding::domain::FunctionName;
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_one_character_external_id_is_named_too_short() {
        let problem = external_id_problem("x").unwrap();
        assert!(
            problem.starts_with("SPOKE_EXTERNAL_ID is 1 character long"),
            "{problem}"
        );
        assert!(problem.contains("16 to 1224"), "{problem}");
        assert!(problem.contains("infra/spoke.yaml"), "{problem}");
    }

    #[test]
    fn an_external_id_the_spoke_template_accepts_is_fine() {
        assert_eq!(external_id_problem("cli-external-123456789012"), None);
        assert!(external_id_problem(&"a".repeat(1225)).is_some());
        assert!(external_id_problem("sixteen chars ok")
            .unwrap()
            .contains("' '"));
    }

    fn stack() -> HubStack {
        let pairs = |items: &[(&str, &str)]| -> BTreeMap<String, String> {
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        HubStack::new(
            "hub",
            pairs(&[
                ("RecordTableName", "hub-RecordTable-1"),
                (
                    "HubEventBusArn",
                    "arn:aws:events:us-east-1:123456789012:event-bus/org-onboarding",
                ),
                (
                    "TrackerRoleArn",
                    "arn:aws:iam::123456789012:role/hub-TrackerRole-1",
                ),
            ]),
            pairs(&[
                ("TargetOrganizationId", "o-exampleorgid"),
                ("TargetManagementAccountId", "123456789012"),
            ]),
        )
        .unwrap()
    }

    #[test]
    fn a_role_flag_wins_over_the_stack_and_a_missing_output_is_named() {
        let flag = (
            Principal::Function(FunctionName::Inviter),
            "arn:aws:iam::123456789012:role/x".to_owned(),
        );
        let (roles, left_out) = function_roles(Some(&stack()), &[flag]);
        assert!(left_out.is_empty());
        assert_eq!(roles.len(), 6);
        assert_eq!(
            roles[0],
            (
                Principal::Function(FunctionName::Tracker),
                Ok("arn:aws:iam::123456789012:role/hub-TrackerRole-1".into())
            )
        );
        assert_eq!(
            roles[2],
            (
                Principal::Function(FunctionName::Inviter),
                Ok("arn:aws:iam::123456789012:role/x".into())
            )
        );
        let acceptor = roles[1].1.as_ref().unwrap_err();
        assert!(acceptor.contains("no output AcceptorRoleArn"), "{acceptor}");
        assert!(acceptor.contains("--role acceptor=ARN"), "{acceptor}");
    }

    #[test]
    fn without_a_stack_only_the_given_roles_are_checked() {
        let flag = (
            Principal::Function(FunctionName::Placer),
            "arn:aws:iam::123456789012:role/p".to_owned(),
        );
        let (roles, left_out) = function_roles(None, &[flag]);
        assert_eq!(roles.len(), 1);
        assert_eq!(left_out.len(), 5);
        assert!(!left_out.contains(&Principal::Spoke));
    }

    #[test]
    fn a_table_other_than_the_stacks_names_both() {
        assert_eq!(
            mismatch(&stack(), "onboarding"),
            "TABLE_NAME is onboarding but stack hub names table hub-RecordTable-1: unset TABLE_NAME or set it to hub-RecordTable-1"
        );
    }
}
