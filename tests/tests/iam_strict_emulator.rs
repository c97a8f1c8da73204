//! The emulator's own IAM enforcement (`fakecloud --iam strict`) with a role of the
//! template: what it holds, and what only the offline evaluator (`infra/iam/`) holds.
//!
//! fakecloud 0.51.0's strict mode evaluates identity policies (Allow and Deny, action and
//! resource wildcards) for the services it wires (DynamoDB, STS, S3, KMS, SNS, SQS,
//! Lambda among ours), and evaluates no condition, no resource policy, and nothing for
//! Organizations and EventBridge (its `--iam` help and `iam_enforceable`). So it catches
//! a table action or resource missing from a role, and misses everything the product's
//! Organizations and EventBridge calls need: tests/README.md, "AWS rules the emulator
//! does not check", says what covers those.
//!
//! Session policies: fakecloud evaluates an AssumeRole's inline `Policy` with the role's
//! policies (its `collect_session_policies` and `parse_session_policies`), for the services
//! it enforces. So the spoke sessions' policies are held here on SQS (a read only the
//! preflight's session needs), and, since fakecloud enforces nothing for Organizations, the
//! spoke's writes (accept, decline, leave) by the offline evaluator (`check.mjs simulate`,
//! iam-simulate with the session policy), as AWS's rule says: a session's permissions are
//! the intersection of the role's policies and the session policy (IAM User Guide, "Policy
//! evaluation logic", session policies).

use anyhow::{Context, Result};
use onboarding::adapters::dynamo::create_table;
use onboarding::adapters::organizations::{SessionScope, StsCredentials};
use onboarding::domain::{AccountId, FunctionName};
use onboarding_e2e::hub::EXTERNAL_ID;
use onboarding_e2e::{AwsAccount, Emulator};
use serde_json::{json, Value};

/// `node infra/iam/check.mjs <command> --manifest M --hub H --spoke S <args>` on the
/// permission manifest and the templates as `make iac` resolved them (target/iam/): its
/// standard output.
fn iam_checker(command: &str, args: &[&str]) -> Result<Vec<u8>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let hub = format!("{root}/target/iam/hub.json");
    let spoke = format!("{root}/target/iam/spoke.json");
    anyhow::ensure!(
        std::path::Path::new(&hub).exists() && std::path::Path::new(&spoke).exists(),
        "{hub} or {spoke} is missing: run `make iac` (infra/iac-check.sh) first"
    );
    let manifest = std::env::temp_dir().join(format!("iam-manifest-{}.json", std::process::id()));
    std::fs::write(
        &manifest,
        onboarding::permissions::manifest_json().to_string(),
    )?;
    let output = std::process::Command::new("node")
        .current_dir(root)
        .args(["infra/iam/check.mjs", command])
        .args(["--manifest", manifest.to_str().unwrap()])
        .args(["--hub", &hub, "--spoke", &spoke])
        .args(args)
        .output()
        .context("node infra/iam/check.mjs (run infra/iam/install.sh first)")?;
    anyhow::ensure!(
        output.status.success(),
        "check.mjs {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(output.stdout)
}

/// The role `principal` as template.yaml (or infra/spoke.yaml) deploys it in `account`,
/// with the table `table`: its policies, resolved by the IAM checker.
fn template_role_policies(principal: &str, account: &str, table: &str) -> Result<Vec<Value>> {
    let names = format!("RecordTable={table}");
    let management = format!("TargetManagementAccountId={account}");
    let stdout = iam_checker(
        "policies",
        &[
            "--principal",
            principal,
            "--hub-account",
            account,
            "--spoke-account",
            account,
            "--name",
            &names,
            "--param",
            "TargetOrganizationId=o-strictmode1",
            "--param",
            &management,
        ],
    )?;
    let policies: Vec<Value> = serde_json::from_slice(&stdout)?;
    Ok(policies
        .into_iter()
        .map(|p| p["document"].clone())
        .collect())
}

fn code_of<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(error: &E) -> String {
    error.code().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn strict_mode_holds_the_tracker_role_to_its_table_and_checks_no_organizations_call(
) -> Result<()> {
    // This test process is its own (nextest): the variable reaches only its emulator.
    std::env::set_var("FAKECLOUD_IAM", "strict");
    let emulator = Emulator::start()?;
    let hub = AwsAccount::create_unique(&emulator).await?;
    let dynamodb = aws_sdk_dynamodb::Client::new(hub.config());
    let table = "strict-records";
    create_table(&dynamodb, table).await?;
    create_table(&dynamodb, "strict-other").await?;

    // The tracker's role, as template.yaml deploys it, assumed by the hub's admin.
    let iam = hub.iam();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", hub.account_id())},
        "Action": "sts:AssumeRole"}]});
    let role = iam
        .create_role()
        .role_name("TrackerRole")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await?;
    for (index, document) in template_role_policies("tracker", hub.account_id(), table)?
        .iter()
        .enumerate()
    {
        iam.put_role_policy()
            .role_name("TrackerRole")
            .policy_name(format!("tracker-{index}"))
            .policy_document(document.to_string())
            .send()
            .await?;
    }
    let arn = role.role().map(|r| r.arn().to_owned()).unwrap_or_default();
    let tracker = hub.assume_role(&arn, None, "strict").await?;
    let as_tracker = aws_sdk_dynamodb::Client::new(tracker.config());
    let key = |table: &str| {
        as_tracker
            .get_item()
            .table_name(table)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("y".into()))
    };

    // Held: the role's table, and no other.
    key(table)
        .send()
        .await
        .context("GetItem on the role's table")?;
    let refused = key("strict-other")
        .send()
        .await
        .expect_err("another table is refused");
    assert!(
        code_of(&refused).contains("AccessDenied"),
        "refused as AWS would: {refused:?}"
    );
    let refused = as_tracker
        .delete_table()
        .table_name(table)
        .send()
        .await
        .expect_err("an action the role does not grant is refused");
    assert!(code_of(&refused).contains("AccessDenied"), "{refused:?}");

    // Not held: Organizations is not enforced (the tracker role has no
    // DescribeOrganization), nor is EventBridge (a source the role's condition refuses).
    let organizations = aws_sdk_organizations::Client::new(tracker.config());
    let seen = organizations.describe_organization().send().await;
    assert!(
        !matches!(&seen, Err(e) if aws_sdk_organizations::error::ProvideErrorMetadata::code(e).is_some_and(|c| c.contains("AccessDenied"))),
        "fakecloud now enforces Organizations: update tests/README.md and this test ({seen:?})"
    );
    let events = aws_sdk_eventbridge::Client::new(tracker.config());
    let put = events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source("not-org-onboarding")
                .detail_type("x")
                .detail("{}")
                .build(),
        )
        .send()
        .await;
    assert!(
        put.is_ok(),
        "fakecloud now enforces EventBridge: update tests/README.md and this test ({put:?})"
    );
    emulator.stop();
    Ok(())
}

const TARGET_MANAGEMENT: &str = "111111111111";

/// The spoke role as infra/spoke.yaml deploys it (every opt-in on: direct transfer, billing
/// transfer, preflight reads), with `function`'s session policy, evaluated by the IAM
/// checker on each (action, resource): the verdicts, in order.
fn spoke_session_verdicts(
    function: FunctionName,
    requests: &[(&str, String)],
) -> Result<Vec<String>> {
    let management = format!("TargetManagementAccountId={TARGET_MANAGEMENT}");
    let mut args = vec![
        "--principal",
        "spoke",
        "--session",
        function.as_str(),
        "--param",
        "TargetOrganizationId=o-strictmode1",
        "--param",
        &management,
    ];
    let requests: Vec<String> = requests.iter().map(|(a, r)| format!("{a}={r}")).collect();
    for request in &requests {
        args.extend(["--request", request]);
    }
    let verdicts: Vec<Value> = serde_json::from_slice(&iam_checker("simulate", &args)?)?;
    Ok(verdicts
        .iter()
        .map(|v| v["result"].as_str().unwrap_or("?").to_owned())
        .collect())
}

#[test]
fn the_preflight_and_reconciler_sessions_are_refused_accept_decline_and_leave() -> Result<()> {
    let writes = [
        (
            "organizations:AcceptHandshake",
            format!("arn:aws:organizations::{TARGET_MANAGEMENT}:handshake/o-strictmode1/invite/h-strict0001"),
        ),
        (
            "organizations:DeclineHandshake",
            "arn:aws:organizations::333333333333:handshake/o-someoneelse/invite/h-strict0002".to_owned(),
        ),
        ("organizations:LeaveOrganization", "*".to_owned()),
    ];
    // The spoke's writes are reachable from the acceptor's session: the role allows them.
    assert_eq!(
        spoke_session_verdicts(FunctionName::Acceptor, &writes)?,
        ["Allowed", "Allowed", "Allowed"]
    );
    for function in [FunctionName::Preflight, FunctionName::Reconciler] {
        assert_eq!(
            spoke_session_verdicts(function, &writes)?,
            ["ImplicitlyDenied", "ImplicitlyDenied", "ImplicitlyDenied"],
            "{function}'s session"
        );
    }
    Ok(())
}

#[tokio::test]
async fn strict_mode_holds_each_spoke_session_to_its_session_policy() -> Result<()> {
    // This test process is its own (nextest): the variable reaches only its emulator.
    std::env::set_var("FAKECLOUD_IAM", "strict");
    let emulator = Emulator::start()?;
    // One account is the hub and the customer: across accounts the emulator also wants an
    // identity policy for sts:AssumeRole on the hub's side, which is not what this holds.
    let hub = AwsAccount::create_unique(&emulator).await?;
    let customer = &hub;

    // The spoke role in the customer account as infra/spoke.yaml deploys it (preflight
    // reads on), trusting the hub with the external id.
    let spoke = onboarding_e2e::accounts::SpokeRole::new(hub.account_id(), EXTERNAL_ID);
    let iam = customer.iam();
    iam.create_role()
        .role_name(&spoke.name)
        .assume_role_policy_document(spoke.trust_policy().to_string())
        .send()
        .await?;
    for (index, document) in template_role_policies("spoke", customer.account_id(), "unused")?
        .iter()
        .enumerate()
    {
        iam.put_role_policy()
            .role_name(&spoke.name)
            .policy_name(format!("spoke-{index}"))
            .policy_document(document.to_string())
            .send()
            .await?;
    }

    let account = AccountId::parse(customer.account_id())?;
    let list_queues = |scope: SessionScope| {
        let credentials = StsCredentials::new(hub.config(), &spoke.name, EXTERNAL_ID, scope);
        let account = account.clone();
        async move {
            let session = credentials.session_config(&account).await?;
            let listed = aws_sdk_sqs::Client::new(&session)
                .list_queues()
                .send()
                .await;
            anyhow::Ok(listed.map(drop).map_err(|e| {
                aws_sdk_sqs::error::ProvideErrorMetadata::code(&e)
                    .unwrap_or_default()
                    .to_owned()
            }))
        }
    };
    // The role allows sqs:ListQueues (a preflight read); only the preflight's session may.
    assert_eq!(list_queues(SessionScope::WholeRole).await?, Ok(()));
    assert_eq!(
        list_queues(SessionScope::Function(FunctionName::Preflight)).await?,
        Ok(())
    );
    for function in [FunctionName::Reconciler, FunctionName::Acceptor] {
        let refused = list_queues(SessionScope::Function(function)).await?;
        assert!(
            matches!(&refused, Err(code) if code.contains("AccessDenied")),
            "{function}'s session: {refused:?}"
        );
    }
    emulator.stop();
    Ok(())
}
