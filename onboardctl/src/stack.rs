//! The hub stack (`--stack NAME`): its outputs and parameters stand for the variables the
//! functions get from it (template.yaml), so nobody copies names by hand. The external id
//! is NoEcho: it still comes from `SPOKE_EXTERNAL_ID`.
//!
//! Also the region's stacks that name a record table, so `init` never creates a second
//! table beside a deployed one.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use aws_config::SdkConfig;
use onboarding::config::{
    ACCESS_ROLE_NAME, DECLINE_UNEXPECTED_INVITATIONS, EVENT_BUS_NAME, INVITATION_QUOTA_PER_DAY,
    ORGANIZATION_ACCOUNT_LIMIT, PREFLIGHT_EVERY_HOURS, PREFLIGHT_REGIONS, SPOKE_ROLE_NAME,
    STALL_AFTER_HOURS, TABLE_NAME, TARGET_MANAGEMENT_ACCOUNT_ID, TARGET_ORGANIZATION_ID,
};
use onboarding::permissions::Principal;

use crate::aws_error;

pub const TABLE_OUTPUT: &str = "RecordTableName";
pub const BUS_OUTPUT: &str = "HubEventBusArn";

/// The functions' variables the stack's parameters set (template.yaml, `Variables:`).
const PARAMETERS: &[(&str, &str)] = &[
    (TARGET_ORGANIZATION_ID, "TargetOrganizationId"),
    (TARGET_MANAGEMENT_ACCOUNT_ID, "TargetManagementAccountId"),
    (SPOKE_ROLE_NAME, "SpokeRoleName"),
    (
        DECLINE_UNEXPECTED_INVITATIONS,
        "DeclineUnexpectedInvitations",
    ),
    (INVITATION_QUOTA_PER_DAY, "InvitationQuotaPerDay"),
    (ORGANIZATION_ACCOUNT_LIMIT, "OrganizationAccountLimit"),
    (STALL_AFTER_HOURS, "StallAfterHours"),
    (ACCESS_ROLE_NAME, "AccessRoleName"),
    (PREFLIGHT_REGIONS, "PreflightRegions"),
    (PREFLIGHT_EVERY_HOURS, "PreflightEveryHours"),
];

/// What the hub needs a stack to have.
const REQUIRED_OUTPUTS: [&str; 2] = [TABLE_OUTPUT, BUS_OUTPUT];
const REQUIRED_PARAMETERS: [&str; 2] = ["TargetOrganizationId", "TargetManagementAccountId"];

/// A deployed hub stack, as DescribeStacks shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubStack {
    pub name: String,
    outputs: BTreeMap<String, String>,
    parameters: BTreeMap<String, String>,
}

impl HubStack {
    /// The stack from its outputs and parameters; an error names what a hub stack must
    /// have and this one lacks.
    pub fn new(
        name: &str,
        outputs: BTreeMap<String, String>,
        parameters: BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let missing_output = REQUIRED_OUTPUTS.iter().find(|o| !outputs.contains_key(**o));
        let missing_parameter = REQUIRED_PARAMETERS
            .iter()
            .find(|p| !parameters.contains_key(**p));
        match (missing_output, missing_parameter) {
            (Some(what), _) => Err(format!("stack {name} has no output {what}")),
            (None, Some(what)) => Err(format!("stack {name} has no parameter {what}")),
            (None, None) => Ok(Self {
                name: name.to_owned(),
                outputs,
                parameters,
            }),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.outputs[TABLE_OUTPUT]
    }

    /// The bus's name: the last segment of its ARN (`…:event-bus/NAME`).
    pub fn bus_name(&self) -> &str {
        let arn = &self.outputs[BUS_OUTPUT];
        arn.rsplit('/').next().unwrap_or(arn)
    }

    /// The deployed role of a function (`TrackerRoleArn`, …).
    pub fn role_arn(&self, principal: Principal) -> Option<&str> {
        principal
            .role_output()
            .and_then(|output| self.outputs.get(output))
            .map(String::as_str)
    }

    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    /// The value the stack gives a function's variable, if it gives one.
    pub fn variable(&self, name: &str) -> Option<String> {
        match name {
            TABLE_NAME => Some(self.table_name().to_owned()),
            EVENT_BUS_NAME => Some(self.bus_name().to_owned()),
            _ => PARAMETERS
                .iter()
                .find(|(variable, _)| *variable == name)
                .and_then(|(_, parameter)| self.parameter(parameter))
                .map(str::to_owned),
        }
    }
}

/// Reads stack `name`; an error is one line naming the fix.
pub async fn read(aws: &SdkConfig, name: &str) -> Result<HubStack> {
    let client = aws_sdk_cloudformation::Client::new(aws);
    let region = aws.region().map_or("(no region)", |r| r.as_ref());
    let output = client
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "reading stack {name} in {region}: {}: check --stack (the hub stack's name) and AWS_REGION",
                aws_error::one_line(&e)
            )
        })?;
    let stack = output.stacks().first().ok_or_else(|| {
        anyhow!("stack {name} not found in {region}: check --stack and AWS_REGION")
    })?;
    let (outputs, parameters) = outputs_and_parameters(stack);
    HubStack::new(name, outputs, parameters).map_err(|e| {
        anyhow!("{e}: is it the hub stack (template.yaml)? Update it, or check --stack")
    })
}

/// Why the region's stacks could not be listed.
#[derive(Debug)]
pub struct Unlisted {
    /// `DescribeStacks: code: message`.
    pub reason: String,
    /// No answer came: every later call will fail the same way.
    pub unreachable: bool,
}

/// Every stack of the region that names a record table, as (stack, table), all pages.
pub async fn named_tables(aws: &SdkConfig) -> Result<Vec<(String, String)>, Unlisted> {
    let client = aws_sdk_cloudformation::Client::new(aws);
    let mut named = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .describe_stacks()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Unlisted {
                reason: format!("DescribeStacks: {}", aws_error::one_line(&e)),
                unreachable: aws_error::is_unreachable(&e),
            })?;
        for stack in page.stacks() {
            let deleted = stack
                .stack_status()
                .is_some_and(|s| s.as_str() == "DELETE_COMPLETE");
            let (outputs, _) = outputs_and_parameters(stack);
            if let (false, Some(table)) = (deleted, outputs.get(TABLE_OUTPUT)) {
                named.push((
                    stack.stack_name().unwrap_or("(unnamed)").to_owned(),
                    table.clone(),
                ));
            }
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(named),
        }
    }
}

/// Why `table` must not be created: a stack names another table and none names this one.
pub fn refusal(named: &[(String, String)], table: &str) -> Option<String> {
    if named.iter().any(|(_, t)| t == table) {
        return None;
    }
    named.first().map(|(stack, other)| {
        format!(
            "stack {stack} names table {other}: run with --stack {stack} (or TABLE_NAME={other})"
        )
    })
}

type Pairs = BTreeMap<String, String>;

fn outputs_and_parameters(stack: &aws_sdk_cloudformation::types::Stack) -> (Pairs, Pairs) {
    let outputs = stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect();
    let parameters = stack
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_owned(),
                p.parameter_value().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    (outputs, parameters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onboarding::domain::FunctionName;

    fn pairs(items: &[(&str, &str)]) -> Pairs {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn hub() -> HubStack {
        HubStack::new(
            "org-onboarding",
            pairs(&[
                (TABLE_OUTPUT, "org-onboarding-RecordTable-1AB2"),
                (
                    BUS_OUTPUT,
                    "arn:aws:events:us-east-1:111111111111:event-bus/org-onboarding",
                ),
                (
                    "InviterRoleArn",
                    "arn:aws:iam::111111111111:role/org-onboarding-InviterRole-9Z",
                ),
            ]),
            pairs(&[
                ("TargetOrganizationId", "o-exampleorgid"),
                ("TargetManagementAccountId", "111111111111"),
                ("SpokeRoleName", "OrgOnboardingSpoke"),
                ("SpokeExternalId", "****"),
                ("AccessRoleName", ""),
            ]),
        )
        .unwrap()
    }

    #[test]
    fn the_stack_stands_for_the_functions_variables() {
        let stack = hub();
        assert_eq!(
            stack.variable(TABLE_NAME).as_deref(),
            Some("org-onboarding-RecordTable-1AB2")
        );
        assert_eq!(
            stack.variable(EVENT_BUS_NAME).as_deref(),
            Some("org-onboarding")
        );
        assert_eq!(
            stack.variable(TARGET_ORGANIZATION_ID).as_deref(),
            Some("o-exampleorgid")
        );
        assert_eq!(
            stack.variable(SPOKE_ROLE_NAME).as_deref(),
            Some("OrgOnboardingSpoke")
        );
        // An empty parameter is a value (the placer verifies no access).
        assert_eq!(stack.variable(ACCESS_ROLE_NAME).as_deref(), Some(""));
        // The NoEcho external id is never taken from the stack.
        assert_eq!(stack.variable("SPOKE_EXTERNAL_ID"), None);
        assert_eq!(stack.variable(INVITATION_QUOTA_PER_DAY), None);
    }

    #[test]
    fn a_function_role_comes_from_its_output() {
        let stack = hub();
        assert_eq!(
            stack.role_arn(Principal::Function(FunctionName::Inviter)),
            Some("arn:aws:iam::111111111111:role/org-onboarding-InviterRole-9Z")
        );
        assert_eq!(
            stack.role_arn(Principal::Function(FunctionName::Tracker)),
            None
        );
        assert_eq!(stack.role_arn(Principal::Spoke), None);
    }

    #[test]
    fn a_stack_without_the_hub_outputs_is_named_with_what_it_lacks() {
        let error = HubStack::new(
            "other",
            pairs(&[(BUS_OUTPUT, "arn:aws:events:us-east-1:1:event-bus/b")]),
            pairs(&[]),
        )
        .unwrap_err();
        assert_eq!(error, "stack other has no output RecordTableName");
    }

    #[test]
    fn init_refuses_a_table_when_a_stack_names_another() {
        let named = vec![("hub".to_owned(), "hub-RecordTable-1".to_owned())];
        assert_eq!(
            refusal(&named, "onboarding").as_deref(),
            Some("stack hub names table hub-RecordTable-1: run with --stack hub (or TABLE_NAME=hub-RecordTable-1)")
        );
        assert_eq!(refusal(&named, "hub-RecordTable-1"), None);
        assert_eq!(refusal(&[], "onboarding"), None);
    }
}
