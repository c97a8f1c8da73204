//! `onboardctl doctor` and `init` in a deployment like a real one, run as the built binary
//! against the emulator: a hub stack (CloudFormation) whose outputs and parameters replace
//! the variables (`--stack`), the roles' permissions simulated against the permission
//! manifest (`--permissions`, IAM SimulatePrincipalPolicy), the CloudTrail trail AWS
//! Organizations' events need, and every failure on one line naming its fix.
//!
//! Each test has its own emulator account (the operator's, the hub's), its own stack,
//! table, bus and roles. The binary is built once per test process
//! (`onboarding_e2e::cli`).

use std::collections::HashMap;
use std::path::PathBuf;

use aws_sdk_cloudformation::types::Parameter;
use onboarding_e2e::accounts::{AwsAccount, SpokeRole, SPOKE_ROLE_NAME};
use onboarding_e2e::cli::{operator_environment, Run};
use onboarding_e2e::Emulator;
use serde_json::{json, Value};

const TARGET_ORGANIZATION: &str = "o-exampleorgid";
const TARGET_MANAGEMENT: &str = "111111111111";

/// An operator in a fresh emulator account (the hub's), with the emulator's endpoint and
/// an admin's keys, and no product variable yet.
struct Operator {
    admin: AwsAccount,
    env: HashMap<&'static str, String>,
    home: PathBuf,
    suffix: String,
}

impl Operator {
    async fn new() -> Operator {
        let emulator = Emulator::shared().await.expect("emulator");
        let admin = AwsAccount::create_unique(emulator).await.expect("account");
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let (env, home) = operator_environment(emulator, &admin, &format!("doctor-{suffix}")).await;
        Operator {
            admin,
            env,
            home,
            suffix,
        }
    }

    /// The product's variables for a table and a bus of this operator's own (not created).
    fn with_variables(self) -> Self {
        let (table, bus) = (self.name("cli"), self.name("cli-bus"));
        self.with("TABLE_NAME", table)
            .with("EVENT_BUS_NAME", bus)
            .with("TARGET_ORGANIZATION_ID", TARGET_ORGANIZATION)
            .with("TARGET_MANAGEMENT_ACCOUNT_ID", TARGET_MANAGEMENT)
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.insert(name, value.into());
        self
    }

    /// `prefix-<this operator's suffix>`.
    fn name(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.suffix)
    }

    fn account_id(&self) -> &str {
        self.admin.account_id()
    }

    fn table_arn(&self, table: &str) -> String {
        format!(
            "arn:aws:dynamodb:us-east-1:{}:table/{table}",
            self.account_id()
        )
    }

    fn bus_arn(&self, bus: &str) -> String {
        format!(
            "arn:aws:events:us-east-1:{}:event-bus/{bus}",
            self.account_id()
        )
    }

    /// Runs `onboardctl args…` with exactly this environment.
    fn run(&self, args: &[&str]) -> Run {
        Run::of(args, &self.home, &self.env)
    }

    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "onboardctl {args:?}: {run:#?}");
        run
    }

    /// A hub stack in the operator's account: the outputs and parameters template.yaml's
    /// stack has (the resources themselves are not the stack's here: `init` creates the
    /// table and the bus, the tests the roles). Returns the stack's name.
    async fn create_stack(&self, table: &str, bus: &str, roles: &[(String, String)]) -> String {
        let name = self.name("hub");
        let mut outputs = json!({
            "RecordTableName": { "Value": table },
            "HubEventBusArn": { "Value": self.bus_arn(bus) },
        });
        for (output, arn) in roles {
            outputs[output.as_str()] = json!({ "Value": arn });
        }
        let template = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": {
                "TargetOrganizationId": { "Type": "String" },
                "TargetManagementAccountId": { "Type": "String" },
                "SpokeRoleName": { "Type": "String" },
                "AccessRoleName": { "Type": "String" },
            },
            "Resources": { "Handle": { "Type": "AWS::CloudFormation::WaitConditionHandle" } },
            "Outputs": outputs,
        });
        let parameter = |key: &str, value: &str| {
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build()
        };
        aws_sdk_cloudformation::Client::new(self.admin.config())
            .create_stack()
            .stack_name(&name)
            .template_body(template.to_string())
            .parameters(parameter("TargetOrganizationId", TARGET_ORGANIZATION))
            .parameters(parameter("TargetManagementAccountId", TARGET_MANAGEMENT))
            .parameters(parameter("SpokeRoleName", SPOKE_ROLE_NAME))
            .parameters(parameter("AccessRoleName", ""))
            .send()
            .await
            .expect("CreateStack");
        name
    }

    /// A role a Lambda function could use, with `policy` inline; returns its ARN.
    async fn create_role(&self, name: &str, policy: Value) -> String {
        let iam = self.admin.iam();
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": "lambda.amazonaws.com" },
                "Action": "sts:AssumeRole"
            }]
        });
        let role = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("CreateRole");
        iam.put_role_policy()
            .role_name(name)
            .policy_name("function")
            .policy_document(policy.to_string())
            .send()
            .await
            .expect("PutRolePolicy");
        role.role().expect("a role").arn().to_owned()
    }

    /// What template.yaml's TrackerRole allows (the runtime's grants aside), with the
    /// notifications' source as a condition.
    fn tracker_policy(&self, table: &str, bus: &str, source: &str) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [
                self.record_items(table),
                self.record_queries(table),
                self.notifications(bus, source),
                {
                    "Effect": "Allow",
                    "Action": "organizations:DescribeAccount",
                    "Resource": format!("arn:aws:organizations::{TARGET_MANAGEMENT}:account/{TARGET_ORGANIZATION}/*")
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "organizations:ListInboundResponsibilityTransfers",
                        "organizations:ListOutboundResponsibilityTransfers"
                    ],
                    "Resource": "*"
                }
            ]
        })
    }

    /// The inviter's, without organizations:TagResource (which an invitation with tags
    /// needs); the invitation itself only with the product's tag keys.
    fn inviter_policy_without_tag_resource(&self, table: &str, bus: &str) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [
                self.record_items(table),
                self.record_queries(table),
                self.notifications(bus, "org-onboarding"),
                {
                    "Effect": "Allow",
                    "Action": "organizations:InviteAccountToOrganization",
                    "Resource": "*",
                    "Condition": {
                        "ForAllValues:StringLike": { "aws:TagKeys": ["org-onboarding:*", "cost-center"] }
                    }
                },
                {
                    "Effect": "Allow",
                    "Action": "organizations:InviteOrganizationToTransferResponsibility",
                    "Resource": "*",
                    "Condition": { "StringEquals": { "organizations:TransferType": "BILLING" } }
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "organizations:DescribeOrganization",
                        "organizations:ListHandshakesForOrganization",
                        "organizations:ListAccounts",
                        "organizations:ListInboundResponsibilityTransfers",
                        "organizations:ListOutboundResponsibilityTransfers"
                    ],
                    "Resource": "*"
                }
            ]
        })
    }

    fn record_items(&self, table: &str) -> Value {
        json!({
            "Effect": "Allow",
            "Action": [
                "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem",
                "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"
            ],
            "Resource": self.table_arn(table)
        })
    }

    fn record_queries(&self, table: &str) -> Value {
        let arn = self.table_arn(table);
        json!({
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": [arn.clone(), format!("{arn}/index/*")]
        })
    }

    fn notifications(&self, bus: &str, source: &str) -> Value {
        json!({
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": self.bus_arn(bus),
            // As template.yaml writes it: one source per entry, every one ours.
            "Condition": { "ForAllValues:StringEquals": { "events:source": source } }
        })
    }
}

/// A role that may do anything (the functions the test does not look at closely).
fn everything() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": "*", "Resource": "*" }]
    })
}

/// An operator with the product's variables, and a customer account of its own.
async fn operator_and_customer() -> (Operator, AwsAccount) {
    let emulator = Emulator::shared().await.expect("emulator");
    let customer = AwsAccount::create_unique(emulator).await.expect("customer");
    (Operator::new().await.with_variables(), customer)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn doctor_with_a_stack_reads_its_table_from_the_stack() {
    let runtime = runtime();
    let operator = runtime.block_on(Operator::new());
    let (table, bus) = (operator.name("hub-RecordTable"), operator.name("hub-bus"));
    let stack = runtime.block_on(operator.create_stack(&table, &bus, &[]));
    // No TABLE_NAME, EVENT_BUS_NAME or TARGET_* anywhere: the stack gives them.
    let init = operator.ok(&["init", "--stack", &stack]);
    assert!(
        init.stdout.contains(&format!("table {table}: created")),
        "{init:#?}"
    );
    let again = operator.ok(&["init", "--stack", &stack]);
    assert!(
        again
            .stdout
            .contains(&format!("table {table}: ready (the stack's)")),
        "{again:#?}"
    );
    let run = operator.run(&["doctor", "--stack", &stack]);
    let configuration = run.line("ok    configuration:");
    assert!(
        configuration.contains(TARGET_ORGANIZATION) && configuration.contains(&stack),
        "{run:#?}"
    );
    assert_eq!(
        run.line("ok    table:"),
        format!("ok    table: {table} is ACTIVE")
    );
    assert_eq!(
        run.line("ok    event bus:"),
        format!("ok    event bus: {bus} exists")
    );
    // A TABLE_NAME that says otherwise is named beside the stack's table.
    let run = operator
        .with("TABLE_NAME", "someone-elses")
        .run(&["doctor", "--stack", &stack]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.line("FAIL  table:"),
        format!("FAIL  table: TABLE_NAME is someone-elses but stack {stack} names table {table}: unset TABLE_NAME or set it to {table}")
    );
}

#[test]
fn init_refuses_to_create_a_second_table_when_a_stack_names_another() {
    let runtime = runtime();
    let operator = runtime.block_on(Operator::new()).with_variables();
    let stack_table = operator.name("hub-RecordTable");
    let stack =
        runtime.block_on(operator.create_stack(&stack_table, &operator.name("hub-bus"), &[]));
    let run = operator.run(&["init"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(
        run.stderr.trim_end(),
        format!("onboardctl: stack {stack} names table {stack_table}: run with --stack {stack} (or TABLE_NAME={stack_table})")
    );
    let table = operator.env["TABLE_NAME"].clone();
    let described = runtime.block_on(
        aws_sdk_dynamodb::Client::new(operator.admin.config())
            .describe_table()
            .table_name(&table)
            .send(),
    );
    assert!(described.is_err(), "init created {table}");
    // The doctor says the same of the table it would use.
    let run = operator.run(&["doctor"]);
    assert!(
        run.line("FAIL  table:").contains(&format!(
            "TABLE_NAME is {table} but stack {stack} names table {stack_table}"
        )),
        "{run:#?}"
    );
}

#[test]
fn a_failing_table_check_is_one_line_with_its_code_and_fix() {
    let runtime = runtime();
    let operator = runtime.block_on(Operator::new()).with_variables();
    // Before `init`: no table, no bus.
    let run = operator.run(&["doctor"]);
    assert_eq!(run.code, 1, "{run:#?}");
    for line in [run.line("FAIL  table:"), run.line("FAIL  event bus:")] {
        assert!(line.contains("ResourceNotFoundException: "), "{line}");
        assert!(line.contains("onboardctl init"), "{line}");
    }
    for debris in ["request_id", "headers", "RequestId", "ServiceError", "raw:"] {
        assert!(!run.stdout.contains(debris), "{debris}: {run:#?}");
    }
    assert!(
        run.stdout.lines().all(|l| ["ok    ", "FAIL  ", "note  "]
            .iter()
            .any(|p| l.starts_with(p))),
        "every check on one line: {run:#?}"
    );
}

#[test]
fn a_short_external_id_is_named_as_such() {
    let runtime = runtime();
    let operator = runtime
        .block_on(Operator::new())
        .with_variables()
        .with("SPOKE_ROLE_NAME", SPOKE_ROLE_NAME)
        .with("SPOKE_EXTERNAL_ID", "x");
    operator.ok(&["init"]);
    let run = operator.run(&["doctor", "--account", "222222222222"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let configuration = run.line("FAIL  configuration:");
    assert!(
        configuration.contains("SPOKE_EXTERNAL_ID is 1 character long")
            && configuration.contains("16 to 1224"),
        "{run:#?}"
    );
    let spoke = run.line("FAIL  spoke role:");
    assert!(spoke.contains("fix SPOKE_EXTERNAL_ID first"), "{run:#?}");
    assert!(!spoke.contains("deploy infra/spoke.yaml"), "{run:#?}");
}

#[test]
fn permissions_name_the_one_missing_action_with_the_statement_to_add() {
    let runtime = runtime();
    let operator = runtime.block_on(Operator::new());
    let (table, bus) = (operator.name("hub-RecordTable"), operator.name("hub-bus"));
    let mut roles = Vec::new();
    let tracker = runtime.block_on(operator.create_role(
        &operator.name("TrackerRole"),
        operator.tracker_policy(&table, &bus, "org-onboarding"),
    ));
    roles.push(("TrackerRoleArn".to_owned(), tracker));
    let inviter = runtime.block_on(operator.create_role(
        &operator.name("InviterRole"),
        operator.inviter_policy_without_tag_resource(&table, &bus),
    ));
    roles.push(("InviterRoleArn".to_owned(), inviter));
    for function in ["Acceptor", "Reconciler", "Placer", "Preflight"] {
        let role = format!("{function}Role");
        let arn = runtime.block_on(operator.create_role(&operator.name(&role), everything()));
        roles.push((format!("{function}RoleArn"), arn));
    }
    let stack = runtime.block_on(operator.create_stack(&table, &bus, &roles));
    operator.ok(&["init", "--stack", &stack]);
    let run = operator.run(&["doctor", "--stack", &stack, "--permissions"]);
    println!("{}", run.stdout);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.lines("FAIL  permissions:"),
        vec![
            r#"FAIL  permissions: inviter (InviterRole) may not organizations:TagResource on * with aws:TagKeys=org-onboarding:enrollment: add {"Effect":"Allow","Action":"organizations:TagResource","Resource":"*"}"#
        ],
        "{run:#?}"
    );
    let tracker = run.line("ok    permissions: tracker:");
    assert!(tracker.ends_with(" actions allowed"), "{run:#?}");
    for function in ["acceptor", "reconciler", "placer", "preflight"] {
        run.line(&format!("ok    permissions: {function}:"));
    }
    assert!(
        run.line("note  permissions:").contains("logs:PutLogEvents"),
        "{run:#?}"
    );
}

#[test]
fn a_condition_the_call_does_not_meet_is_a_missing_permission() {
    let runtime = runtime();
    let operator = runtime.block_on(Operator::new()).with_variables();
    let (table, bus) = (
        operator.env["TABLE_NAME"].clone(),
        operator.env["EVENT_BUS_NAME"].clone(),
    );
    let tracker = runtime.block_on(operator.create_role(
        &operator.name("TrackerRole"),
        operator.tracker_policy(&table, &bus, "someone-else"),
    ));
    let run = operator.run(&[
        "doctor",
        "--permissions",
        "--role",
        &format!("tracker={tracker}"),
    ]);
    let bus_arn = operator.bus_arn(&bus);
    assert_eq!(
        run.lines("FAIL  permissions:"),
        vec![format!(
            r#"FAIL  permissions: tracker (TrackerRole) may not events:PutEvents on {bus_arn} with events:source=org-onboarding: add {{"Effect":"Allow","Action":"events:PutEvents","Resource":"{bus_arn}"}}"#
        )],
        "{run:#?}"
    );
    assert!(
        run.line("note  permissions: not checked:")
            .contains("acceptor, inviter, reconciler, placer, preflight"),
        "{run:#?}"
    );
}

#[test]
fn the_spoke_role_is_simulated_in_its_own_account() {
    let runtime = runtime();
    let (operator, customer) = runtime.block_on(operator_and_customer());
    let external_id = format!("cli-external-{}", operator.account_id());
    runtime
        .block_on(customer.create_spoke_role(&SpokeRole::new(operator.account_id(), &external_id)))
        .expect("spoke role");
    let operator = operator
        .with("SPOKE_ROLE_NAME", SPOKE_ROLE_NAME)
        .with("SPOKE_EXTERNAL_ID", external_id);
    let tracker =
        runtime.block_on(operator.create_role(&operator.name("TrackerRole"), everything()));
    let run = operator.run(&[
        "doctor",
        "--permissions",
        "--role",
        &format!("tracker={tracker}"),
        "--account",
        customer.account_id(),
    ]);
    println!("{}", run.stdout);
    run.line("ok    spoke role:");
    let spoke = run.lines(&format!(
        "FAIL  permissions: spoke in {} (SpokeRole) may not ",
        customer.account_id()
    ));
    // The harness's spoke role has only the Organizations calls: the preflight's reads
    // are missing, each with its statement.
    assert!(
        spoke
            .iter()
            .any(|l| l.contains("may not account:GetContactInformation on arn:aws:account::")),
        "{run:#?}"
    );
    assert!(
        !spoke
            .iter()
            .any(|l| l.contains("organizations:AcceptHandshake")),
        "{run:#?}"
    );
}

/// In AWS the spoke role trusts only the hub functions' roles, so an operator's session is
/// refused: the line says so, and how to check the spoke from the hub instead.
#[test]
fn a_spoke_that_refuses_the_operator_says_how_to_check_it_from_the_hub() {
    let runtime = runtime();
    let (operator, customer) = runtime.block_on(operator_and_customer());
    // The spoke of a real deployment: it trusts the hub's acceptor role, not its admin.
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:role/AcceptorRole", operator.account_id())},
        "Action": "sts:AssumeRole"}]});
    runtime
        .block_on(
            customer
                .iam()
                .create_role()
                .role_name(SPOKE_ROLE_NAME)
                .assume_role_policy_document(trust.to_string())
                .send(),
        )
        .expect("spoke role");
    let external_id = format!("cli-external-{}", operator.account_id());
    let operator = operator
        .with("SPOKE_ROLE_NAME", SPOKE_ROLE_NAME)
        .with("SPOKE_EXTERNAL_ID", external_id);
    let run = operator.run(&["doctor", "--account", customer.account_id()]);
    let line = run.line("FAIL  spoke role:");
    assert!(
        line.contains("trusts only the hub's functions") && line.contains("preflight"),
        "{run:#?}"
    );
}

#[test]
fn the_trail_check_passes_with_a_logging_trail_and_says_how_to_create_one_without() {
    let runtime = runtime();
    let operator = runtime.block_on(Operator::new()).with_variables();
    operator.ok(&["init"]);
    let run = operator.run(&["doctor"]);
    let fail = run.line("FAIL  trail:");
    assert!(fail.contains("(the account has no trail)"), "{run:#?}");
    assert!(
        fail.contains("aws cloudtrail create-trail --name org-onboarding --s3-bucket-name BUCKET --is-multi-region-trail"),
        "{run:#?}"
    );
    let cloudtrail = aws_sdk_cloudtrail::Client::new(operator.admin.config());
    let trail = operator.name("trail");
    runtime.block_on(async {
        cloudtrail
            .create_trail()
            .name(&trail)
            .s3_bucket_name(operator.name("trail-bucket"))
            .send()
            .await
            .expect("CreateTrail");
    });
    let run = operator.run(&["doctor"]);
    assert!(
        run.line("FAIL  trail:")
            .contains(&format!("trail {trail} is not logging")),
        "{run:#?}"
    );
    runtime.block_on(async {
        cloudtrail
            .start_logging()
            .name(&trail)
            .send()
            .await
            .expect("StartLogging");
    });
    let run = operator.run(&["doctor"]);
    assert_eq!(
        run.line("ok    trail:"),
        format!("ok    trail: {trail} is logging management events (All) and covers us-east-1 (home region us-east-1)")
    );
}
