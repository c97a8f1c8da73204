//! `doctor --permissions`: every grant of the permission manifest (`onboarding::permissions`)
//! simulated with `iam:SimulatePrincipalPolicy` against the deployed role of each function,
//! and with `--account` against the spoke role in that account, rendered with the
//! deployment's names ([`super::render`]). One FAIL line per missing permission, with the
//! statement to add; one ok line per principal whose role allows everything.
//!
//! The Lambda runtime's grants (the function's own log group and dead-letter queue) are
//! not checked: the stack's outputs do not name those resources.

use std::collections::BTreeSet;

use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};
use onboarding::adapters::organizations::{SessionScope, StsCredentials};
use onboarding::config::SpokeAccess;
use onboarding::domain::AccountId;
use onboarding::permissions::{operations, Principal};

use super::render::{merge, render, Check, Rendered, Resource, Values};
use super::Report;
use crate::aws_error;

const WHAT: &str = "permissions";
/// The manifest's service of the grants Lambda uses the execution role for.
const RUNTIME: &str = "Lambda runtime";

/// The role being checked, as the lines name it.
pub struct Subject {
    pub principal: Principal,
    /// `inviter (InviterRole)`, `spoke in 222222222222 (SpokeRole)`.
    pub label: String,
    /// `inviter`, `spoke in 222222222222`.
    pub name: String,
    pub role_arn: String,
}

impl Subject {
    pub fn function(principal: Principal, role_arn: &str) -> Self {
        Self {
            principal,
            label: format!("{} ({})", principal.name(), principal.role().1),
            name: principal.name().to_owned(),
            role_arn: role_arn.to_owned(),
        }
    }

    pub fn spoke(account: &AccountId, role_arn: &str) -> Self {
        Self {
            principal: Principal::Spoke,
            label: format!("spoke in {account} ({})", Principal::Spoke.role().1),
            name: format!("spoke in {account}"),
            role_arn: role_arn.to_owned(),
        }
    }
}

/// What the doctor simulates for one principal.
#[derive(Debug, Default)]
pub struct Plan {
    pub checks: Vec<Check>,
    /// Grants that could not be rendered: the action and the placeholder without a value.
    pub unrendered: Vec<(&'static str, String)>,
}

/// The checks of every grant of `principal` but the Lambda runtime's.
pub fn plan(principal: Principal, values: &Values) -> Plan {
    let mut plan = Plan::default();
    let mut checks = Vec::new();
    for operation in operations(principal) {
        if operation.service == RUNTIME {
            continue;
        }
        for grant in operation.grants {
            match render(grant, values) {
                Ok(Rendered::Checks(rendered)) => checks.extend(rendered),
                Ok(Rendered::NotNeeded(_)) => {}
                Err(placeholder) => plan.unrendered.push((grant.action, placeholder)),
            }
        }
    }
    plan.checks = merge(checks);
    plan
}

/// The one line saying which grants are not checked, and why.
pub fn runtime_note() -> String {
    let actions: BTreeSet<&str> = Principal::ALL
        .into_iter()
        .flat_map(operations)
        .filter(|op| op.service == RUNTIME)
        .flat_map(|op| op.grants.iter().map(|g| g.action))
        .collect();
    format!(
        "the Lambda runtime's grants ({}) are not checked: the stack's outputs name no function's log group or dead-letter queue",
        actions.into_iter().collect::<Vec<_>>().join(", ")
    )
}

/// The statement that grants `action` on `resources`.
pub fn statement(action: &str, resources: &[String]) -> String {
    let resource = match resources {
        [one] => serde_json::to_string(one),
        many => serde_json::to_string(many),
    }
    .expect("strings serialize");
    format!(
        r#"{{"Effect":"Allow","Action":{},"Resource":{resource}}}"#,
        serde_json::to_string(action).expect("a string serializes")
    )
}

/// The FAIL line of a permission the role lacks: the resources refused, and the statement
/// that allows such calls (on the resources' patterns).
pub fn missing(subject: &Subject, check: &Check, refused: &[Resource]) -> String {
    let mut patterns: Vec<String> = Vec::new();
    for resource in refused {
        if !patterns.contains(&resource.pattern) {
            patterns.push(resource.pattern.clone());
        }
    }
    format!(
        "{} may not {} on {}{}: add {}",
        subject.label,
        check.action,
        arns(refused),
        with_context(check),
        statement(check.action, &patterns)
    )
}

/// The FAIL line of a permission an explicit Deny takes away.
pub fn denied(subject: &Subject, check: &Check, refused: &[Resource]) -> String {
    format!(
        "{} is denied {} on {}{} by an explicit Deny: remove or narrow it (in the role's policies, its permission boundary or an SCP)",
        subject.label,
        check.action,
        arns(refused),
        with_context(check)
    )
}

fn arns(resources: &[Resource]) -> String {
    let arns: Vec<&str> = resources.iter().map(|r| r.arn.as_str()).collect();
    arns.join(", ")
}

fn with_context(check: &Check) -> String {
    if check.context.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = check
        .context
        .iter()
        .map(|c| format!("{}={}", c.key, c.values.join(",")))
        .collect();
    format!(" with {}", pairs.join(" and "))
}

/// A failed simulation call.
pub struct SimulationFailed {
    pub reason: String,
    pub access_denied: bool,
}

/// Simulates every check of `subject`'s plan and reports one line per missing permission,
/// or one ok line. Stops at the first call that fails.
pub async fn verify(
    iam: &aws_sdk_iam::Client,
    subject: &Subject,
    values: &Values,
    report: &mut Report,
) -> Result<(), SimulationFailed> {
    let plan = plan(subject.principal, values);
    let mut lines = Vec::new();
    for check in &plan.checks {
        let (implicit, explicit) = simulate(iam, &subject.role_arn, check).await?;
        if !implicit.is_empty() {
            lines.push(missing(subject, check, &implicit));
        }
        if !explicit.is_empty() {
            lines.push(denied(subject, check, &explicit));
        }
    }
    for (action, placeholder) in &plan.unrendered {
        lines.push(format!(
            "{}: {action} not checked: {placeholder} has no value: {}",
            subject.label,
            fix_for(placeholder)
        ));
    }
    if lines.is_empty() {
        let actions: BTreeSet<&str> = plan.checks.iter().map(|c| c.action).collect();
        report.line(
            WHAT,
            Ok(format!(
                "{}: {} actions allowed",
                subject.name,
                actions.len()
            )),
        );
    }
    for line in lines {
        report.line(WHAT, Err(line));
    }
    Ok(())
}

fn fix_for(placeholder: &str) -> &'static str {
    if placeholder.contains("SpokeRoleName") {
        "set SPOKE_ROLE_NAME, or run with --stack NAME"
    } else if placeholder.contains("no sample") {
        "the manifest (shared/src/permissions) needs a sample for it"
    } else {
        "run with --stack NAME (the hub stack)"
    }
}

/// The resources `check` is refused on: (implicitly, by an explicit Deny).
async fn simulate(
    iam: &aws_sdk_iam::Client,
    role_arn: &str,
    check: &Check,
) -> Result<(Vec<Resource>, Vec<Resource>), SimulationFailed> {
    let entries: Vec<ContextEntry> = check
        .context
        .iter()
        .map(|c| {
            ContextEntry::builder()
                .context_key_name(&c.key)
                .set_context_key_values(Some(c.values.clone()))
                .context_key_type(if c.list {
                    ContextKeyTypeEnum::StringList
                } else {
                    ContextKeyTypeEnum::String
                })
                .build()
        })
        .collect();
    let (mut implicit, mut explicit) = (Vec::new(), Vec::new());
    let mut marker: Option<String> = None;
    loop {
        let output = iam
            .simulate_principal_policy()
            .policy_source_arn(role_arn)
            .action_names(check.action)
            .set_resource_arns(Some(
                check.resources.iter().map(|r| r.arn.clone()).collect(),
            ))
            .set_context_entries((!entries.is_empty()).then(|| entries.clone()))
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| SimulationFailed {
                reason: aws_error::one_line(&e),
                access_denied: aws_error::is_access_denied(&e),
            })?;
        for result in output.evaluation_results() {
            let arn = result.eval_resource_name().unwrap_or("*");
            let resource = check
                .resources
                .iter()
                .find(|r| r.arn == arn)
                .cloned()
                .unwrap_or_else(|| Resource {
                    arn: arn.to_owned(),
                    pattern: arn.to_owned(),
                });
            match result.eval_decision() {
                PolicyEvaluationDecisionType::Allowed => {}
                PolicyEvaluationDecisionType::ExplicitDeny => explicit.push(resource),
                _ => implicit.push(resource),
            }
        }
        match output.marker() {
            Some(next) if output.is_truncated() => marker = Some(next.to_owned()),
            _ => return Ok((implicit, explicit)),
        }
    }
}

/// The line of a spoke role that may not simulate its own policies: what to add to it.
pub fn cannot_simulate(subject: &Subject, account: &AccountId, reason: &str) -> String {
    format!(
        "{} may not call iam:SimulatePrincipalPolicy on its own role, which the doctor needs ({reason}): add {} to the spoke role (infra/spoke.yaml) and update the spoke stack in {account}",
        subject.label,
        statement(
            "iam:SimulatePrincipalPolicy",
            std::slice::from_ref(&subject.role_arn)
        )
    )
}

/// The spoke role in `account`, assumed as the functions do, simulated on its own ARN.
pub async fn spoke(
    aws: &aws_config::SdkConfig,
    access: &SpokeAccess,
    account: &AccountId,
    partition: &str,
    values: impl FnOnce(&str) -> Result<Values, String>,
    report: &mut Report,
) {
    let role_arn = format!("arn:{partition}:iam::{account}:role/{}", access.role_name);
    let subject = Subject::spoke(account, &role_arn);
    // The role as deployed, not one function's session: it is what is simulated.
    let credentials = StsCredentials::new(
        aws,
        &access.role_name,
        &access.external_id,
        SessionScope::WholeRole,
    );
    let session = match credentials.session_config(account).await {
        Ok(session) => session,
        Err(e) => {
            report.line(
                WHAT,
                Err(format!(
                    "{}: not checked: cannot assume {} ({e}) (see spoke role)",
                    subject.name, access.role_name
                )),
            );
            return;
        }
    };
    let values = match values(&role_arn) {
        Ok(values) => values,
        Err(reason) => return report.line(WHAT, Err(format!("{}: {reason}", subject.name))),
    };
    let iam = aws_sdk_iam::Client::new(&session);
    if let Err(failed) = verify(&iam, &subject, &values, report).await {
        let line = if failed.access_denied {
            cannot_simulate(&subject, account, &failed.reason)
        } else {
            format!(
                "{}: SimulatePrincipalPolicy on {role_arn} failed ({})",
                subject.label, failed.reason
            )
        };
        report.line(WHAT, Err(line));
    }
}

#[cfg(test)]
mod tests {
    use super::super::render::{Deployment, Values};
    use super::*;
    use onboarding::domain::FunctionName;

    const ROLE: &str = "arn:aws:iam::123456789012:role/hub-InviterRole-1";

    fn values(access_role_name: Option<&str>) -> Values {
        let deployment = Deployment {
            table: "hub-RecordTable-1".into(),
            bus: "org-onboarding".into(),
            target_organization: "o-exampleorgid".into(),
            target_management_account: "123456789012".into(),
            spoke_role_name: Some("OrgOnboardingSpoke".into()),
            access_role_name: access_role_name.map(str::to_owned),
        };
        Values::for_role(ROLE, "us-east-1", &deployment).unwrap()
    }

    fn resource(arn: &str, pattern: &str) -> Resource {
        Resource {
            arn: arn.into(),
            pattern: pattern.into(),
        }
    }

    #[test]
    fn the_statement_names_the_pattern_of_the_refused_resources() {
        let subject = Subject::function(Principal::Function(FunctionName::Placer), ROLE);
        let refused = [
            resource(
                "arn:aws:organizations::1:account/o-x/222222222222",
                "arn:aws:organizations::1:account/o-x/*",
            ),
            resource(
                "arn:aws:organizations::1:ou/o-x/ou-ab12-cd34ef56",
                "arn:aws:organizations::1:ou/o-x/*",
            ),
        ];
        let check = Check {
            action: "organizations:MoveAccount",
            resources: refused.to_vec(),
            context: vec![],
        };
        assert_eq!(
            missing(&subject, &check, &refused),
            r#"placer (PlacerRole) may not organizations:MoveAccount on arn:aws:organizations::1:account/o-x/222222222222, arn:aws:organizations::1:ou/o-x/ou-ab12-cd34ef56: add {"Effect":"Allow","Action":"organizations:MoveAccount","Resource":["arn:aws:organizations::1:account/o-x/*","arn:aws:organizations::1:ou/o-x/*"]}"#
        );
    }

    #[test]
    fn a_missing_permission_is_one_line_with_the_statement_to_add() {
        let subject = Subject::function(Principal::Function(FunctionName::Inviter), ROLE);
        let tag = Check {
            action: "organizations:TagResource",
            resources: vec![resource("*", "*")],
            context: vec![],
        };
        assert_eq!(
            missing(&subject, &tag, &tag.resources),
            r#"inviter (InviterRole) may not organizations:TagResource on *: add {"Effect":"Allow","Action":"organizations:TagResource","Resource":"*"}"#
        );
    }

    #[test]
    fn several_resources_make_one_statement_and_the_context_is_said() {
        let subject = Subject::function(Principal::Function(FunctionName::Tracker), ROLE);
        let check = Check {
            action: "dynamodb:Query",
            resources: vec![
                resource("arn:t", "arn:t"),
                resource("arn:t/index/by_phase", "arn:t/index/by_phase"),
            ],
            context: vec![super::super::render::ContextValue {
                key: "events:source".into(),
                values: vec!["org-onboarding".into()],
                list: false,
            }],
        };
        assert_eq!(
            missing(&subject, &check, &check.resources),
            r#"tracker (TrackerRole) may not dynamodb:Query on arn:t, arn:t/index/by_phase with events:source=org-onboarding: add {"Effect":"Allow","Action":"dynamodb:Query","Resource":["arn:t","arn:t/index/by_phase"]}"#
        );
    }

    #[test]
    fn the_plan_leaves_out_the_runtime_and_what_the_deployment_does_not_use() {
        let placer = plan(Principal::Function(FunctionName::Placer), &values(None));
        assert!(placer.unrendered.is_empty(), "{:?}", placer.unrendered);
        let actions: Vec<&str> = placer.checks.iter().map(|c| c.action).collect();
        assert!(!actions.contains(&"logs:PutLogEvents"), "{actions:?}");
        assert!(
            !actions.contains(&"sts:AssumeRole"),
            "no access role: {actions:?}"
        );
        assert!(
            actions.contains(&"organizations:MoveAccount"),
            "{actions:?}"
        );
        let verifying = plan(
            Principal::Function(FunctionName::Placer),
            &values(Some("OrganizationAccountAccessRole")),
        );
        assert!(verifying
            .checks
            .iter()
            .any(|c| c.action == "sts:AssumeRole"));
    }

    #[test]
    fn every_function_and_the_spoke_render_completely() {
        for principal in Principal::ALL {
            let plan = plan(principal, &values(Some("OrganizationAccountAccessRole")));
            assert!(
                plan.unrendered.is_empty(),
                "{principal:?}: {:?}",
                plan.unrendered
            );
            assert!(!plan.checks.is_empty(), "{principal:?}");
        }
    }

    #[test]
    fn the_inviter_checks_tag_resource_with_its_tag_keys() {
        let inviter = plan(Principal::Function(FunctionName::Inviter), &values(None));
        let tag = inviter
            .checks
            .iter()
            .find(|c| c.action == "organizations:TagResource")
            .expect("TagResource is checked");
        assert_eq!(tag.context[0].key, "aws:TagKeys");
    }

    #[test]
    fn a_spoke_that_may_not_simulate_is_told_the_statement_its_role_needs() {
        let account = AccountId::parse("222222222222").unwrap();
        let subject = Subject::spoke(
            &account,
            "arn:aws:iam::222222222222:role/OrgOnboardingSpoke",
        );
        assert_eq!(
            cannot_simulate(&subject, &account, "AccessDenied: not authorized"),
            r#"spoke in 222222222222 (SpokeRole) may not call iam:SimulatePrincipalPolicy on its own role, which the doctor needs (AccessDenied: not authorized): add {"Effect":"Allow","Action":"iam:SimulatePrincipalPolicy","Resource":"arn:aws:iam::222222222222:role/OrgOnboardingSpoke"} to the spoke role (infra/spoke.yaml) and update the spoke stack in 222222222222"#
        );
    }

    #[test]
    fn the_runtime_note_names_the_grants_it_leaves_out() {
        let note = runtime_note();
        assert!(note.contains("logs:CreateLogStream"), "{note}");
        assert!(note.contains("sqs:SendMessage"), "{note}");
    }
}
