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

use anyhow::{Context, Result};
use onboarding::adapters::dynamo::create_table;
use onboarding_e2e::{AwsAccount, Emulator};
use serde_json::{json, Value};

/// The role `principal` as template.yaml deploys it in `account`, with the table
/// `table`: its policies, resolved by the IAM checker from the transformed template
/// (`make iac` writes target/iam/hub.json).
fn template_role_policies(principal: &str, account: &str, table: &str) -> Result<Vec<Value>> {
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
        .args(["infra/iam/check.mjs", "policies", "--principal", principal])
        .args([
            "--manifest",
            manifest.to_str().unwrap(),
            "--hub",
            &hub,
            "--spoke",
            &spoke,
        ])
        .args([
            "--hub-account",
            account,
            "--name",
            &format!("RecordTable={table}"),
        ])
        .args(["--param", "TargetOrganizationId=o-strictmode1"])
        .args(["--param", &format!("TargetManagementAccountId={account}")])
        .output()
        .context("node infra/iam/check.mjs policies (run infra/iam/install.sh first)")?;
    anyhow::ensure!(
        output.status.success(),
        "check.mjs policies: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let policies: Vec<Value> = serde_json::from_slice(&output.stdout)?;
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
