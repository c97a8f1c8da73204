//! The preflight on the emulator, through the real spoke role (STS AssumeRole with the
//! external id) and real SDK clients in the customer accounts: Account Management,
//! Organizations, IAM, S3, KMS, SNS and SQS. Predicted blockers land on the records as
//! predicted, clear when a later run no longer finds them, and each run publishes one
//! `Preflight Completed` per enrollment.
//!
//! The emulator answers GetAccountInformation with `AccountCreatedDate` as epoch seconds,
//! where AWS and the SDK's model use an ISO 8601 string, so the SDK cannot read it: the
//! account's age is a check item here ("could not be read"), never a guess
//! (tests/README.md, differences). The domain's unit tests and the adapter's mocked tests
//! cover a young and an old account.

mod common;

use std::collections::BTreeMap;

use onboarding::domain::preflight::{PreflightReport, TrustingPolicy};
use onboarding::domain::{AccountId, BlockerCode, Enrollment, EnrollmentName, Step, TransferMode};
use onboarding::notifications::{Detail as _, PreflightCompleted};
use onboarding::preflight::PreflightOutcome;
use onboarding::sweep::SweepReport;

use onboarding_e2e::accounts::{invite, unique_account_id, AwsAccount};
use onboarding_e2e::customers::CustomerOrganization;
use onboarding_e2e::hub::Hub;

use common::*;

/// The report of `account` in `report`.
fn report_of<'a>(report: &'a SweepReport<PreflightOutcome>, account: &str) -> &'a PreflightReport {
    let outcome = report
        .done
        .iter()
        .find(|(id, _)| id.as_str() == account)
        .map(|(_, outcome)| outcome)
        .unwrap_or_else(|| panic!("{account} was not checked: {report:?}"));
    match outcome {
        PreflightOutcome::Checked(report) => report,
        other => panic!("{account}: {other:?}"),
    }
}

/// The preflight of one account, now: its report.
async fn checked(hub: &Hub, account: &AwsAccount) -> PreflightReport {
    match hub
        .preflight()
        .check_account(&acct(account.account_id()))
        .await
        .unwrap()
    {
        PreflightOutcome::Checked(report) => *report,
        other => panic!("{}: {other:?}", account.account_id()),
    }
}

fn predicted(report: &PreflightReport) -> Vec<BlockerCode> {
    report.blockers.iter().map(|b| b.code).collect()
}

/// The `Preflight Completed` notifications published.
fn completed(published: &[serde_json::Value]) -> Vec<PreflightCompleted> {
    published
        .iter()
        .filter_map(|event| PreflightCompleted::from_event(event).ok())
        .collect()
}

async fn customer_organization(hub: &Hub, members: usize) -> CustomerOrganization {
    let emulator = onboarding_e2e::Emulator::shared().await.unwrap();
    let members: Vec<String> = (0..members).map(|_| unique_account_id()).collect();
    CustomerOrganization::create(emulator, hub, &unique_account_id(), &members)
        .await
        .unwrap()
}

#[tokio::test]
async fn missing_contact_information_is_predicted_and_clears_once_it_is_set() {
    let (_emulator, _recorder, hub) = hub("preflight-contact").await;
    let queue = notifications(&hub).await;
    let customer = customer_organization(&hub, 1).await;
    let (management, member) = (&customer.management, &customer.members[0]);
    member.put_contact_information(true).await.unwrap();
    let enrollment = customer
        .enrollment("acme", TransferMode::Standalone, &[])
        .unwrap();
    hub.enroll(&enrollment).await.unwrap();

    let report = hub
        .preflight()
        .check_enrollment(&enrollment.name)
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    let of_management = report_of(&report, management.account_id());
    assert_eq!(
        predicted(of_management),
        [BlockerCode::ContactInfoMissing],
        "{of_management:?}"
    );
    let of_member = report_of(&report, member.account_id());
    assert!(
        of_member.blockers.is_empty(),
        "everything set: {of_member:?}"
    );
    let items: Vec<&str> = of_member.checks.iter().map(|c| c.item.as_str()).collect();
    assert_eq!(
        items,
        [
            "account_age",
            "payment_method",
            "customer_agreement",
            "support_plan"
        ],
        "the emulator's creation date is unreadable: a check, not a pass"
    );
    assert!(of_member.checks[0].why.contains("could not be read"));
    assert_eq!(
        of_member.organization.as_ref().map(|o| o.as_str()),
        Some(customer.organization.as_str())
    );

    let record = record_of(&hub.store(), management.account_id()).await;
    let on_record: Vec<(BlockerCode, Step)> =
        record.blockers.iter().map(|b| (b.code, b.step)).collect();
    assert!(
        on_record.contains(&(BlockerCode::ContactInfoMissing, Step::Preflight)),
        "predicted, distinct from refusals: {on_record:?}"
    );
    assert_eq!(
        record.source_organization.as_ref().map(|o| o.as_str()),
        Some(customer.organization.as_str()),
        "the organization it is in, learned on the way"
    );
    let published = drain_all(&queue).await;
    let announced = completed(&published);
    assert_eq!(announced.len(), 1, "one per enrollment and run");
    assert_eq!(announced[0].enrollment.as_str(), "acme");
    assert_eq!(announced[0].accounts, 2);
    assert_eq!(announced[0].accounts_blocked, 1);
    assert_eq!(
        announced[0].blockers,
        BTreeMap::from([(BlockerCode::ContactInfoMissing, 1)])
    );
    assert!(
        published
            .iter()
            .all(|e| e["detail-type"] != onboarding::notifications::BLOCKED),
        "predictions are counted in Preflight Completed, not sent one by one"
    );

    management.put_contact_information(true).await.unwrap();
    let again = checked(&hub, management).await;
    assert!(again.blockers.is_empty(), "{again:?}");
    let record = record_of(&hub.store(), management.account_id()).await;
    assert!(
        !record.is_blocked_by(BlockerCode::ContactInfoMissing),
        "a later preflight that no longer finds it clears it: {:?}",
        record.blockers
    );
}

/// The ARNs of what [`resources_naming`] created.
struct Created {
    role: String,
    bucket: String,
    key: String,
    topic: String,
}

/// In `member`: a role, a bucket and a key trusting `old` by `aws:PrincipalOrgID`, a queue
/// trusting it by path, and a topic naming another organization.
async fn resources_naming(member: &AwsAccount, old: &str) -> Created {
    let statement = |action: &str, key: &str, value: &str| {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": action,
                "Condition": {"StringEquals": {key: value}}
            }]
        })
        .to_string()
    };
    let role = member
        .iam()
        .create_role()
        .role_name("shared-reader")
        .assume_role_policy_document(statement("sts:AssumeRole", "aws:PrincipalOrgID", old))
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_owned();
    let bucket = format!("logs-{}", member.account_id());
    let s3 = member.s3();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(statement("s3:GetObject", "aws:PrincipalOrgID", old))
        .send()
        .await
        .unwrap();
    member
        .sqs()
        .create_queue()
        .queue_name("orders")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            statement(
                "sqs:SendMessage",
                "aws:PrincipalOrgPaths",
                &format!("{old}/*"),
            ),
        )
        .send()
        .await
        .unwrap();
    let topic = member
        .sns()
        .create_topic()
        .name("alerts")
        .attributes(
            "Policy",
            statement("sns:Publish", "aws:PrincipalOrgID", "o-another1234"),
        )
        .send()
        .await
        .unwrap();
    let key = member
        .kms()
        .create_key()
        .policy(statement("kms:Decrypt", "aws:PrincipalOrgID", old))
        .send()
        .await
        .unwrap();
    let key_arn = key.key_metadata().and_then(|k| k.arn()).unwrap().to_owned();
    Created {
        role: role_arn,
        bucket: format!("arn:aws:s3:::{bucket}"),
        key: key_arn,
        topic: topic.topic_arn().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn policies_that_trust_the_old_organization_are_listed_and_another_organizations_are_not() {
    let (_emulator, _recorder, hub) = hub("preflight-policies").await;
    let customer = customer_organization(&hub, 1).await;
    let member = &customer.members[0];
    let old = customer.organization.clone();
    let created = resources_naming(member, &old).await;
    hub.enroll(
        &customer
            .enrollment("globex", TransferMode::Direct, &[])
            .unwrap(),
    )
    .await
    .unwrap();

    let report = checked(&hub, member).await;
    let found: Vec<&TrustingPolicy> = report.policies.iter().collect();
    let resources: Vec<&str> = found.iter().map(|p| p.resource.as_str()).collect();
    println!("policies found: {found:#?}");
    assert!(
        found.contains(&&TrustingPolicy {
            resource: created.role.clone(),
            condition_key: "aws:PrincipalOrgID".into(),
            value: old.clone(),
        }),
        "the role's trust policy: {found:?}"
    );
    assert!(
        found.contains(&&TrustingPolicy {
            resource: created.bucket.clone(),
            condition_key: "aws:PrincipalOrgID".into(),
            value: old.clone(),
        }),
        "the bucket policy: {found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.condition_key == "aws:PrincipalOrgPaths" && p.value == format!("{old}/*")),
        "the queue policy, by path: {found:?}"
    );
    assert!(
        resources.contains(&created.key.as_str()),
        "the key policy: {found:?}"
    );
    assert!(
        !resources.contains(&created.topic.as_str()),
        "a policy naming another organization is not reported: {found:?}"
    );
    assert!(
        report.checks.iter().all(|c| c.item != "policies"),
        "every kind was read: {:?}",
        report.checks
    );
    let record = record_of(&hub.store(), member.account_id()).await;
    let summary = record
        .preflight
        .expect("the record keeps the last preflight");
    assert_eq!(summary.policies_total, report.policies.len());
    assert_eq!(summary.policies, report.policies);
}

#[tokio::test]
async fn a_member_enrolled_as_a_management_account_is_an_enrollment_mismatch() {
    let (_emulator, _recorder, hub) = hub("preflight-mismatch").await;
    let customer = customer_organization(&hub, 1).await;
    let member = &customer.members[0];
    let wrong = Enrollment {
        name: EnrollmentName::parse("initech").unwrap(),
        transfer_mode: TransferMode::Direct,
        management_account: Some(AccountId::parse(member.account_id()).unwrap()),
        members: Vec::new(),
        standalone_accounts: Vec::new(),
        placement: Default::default(),
    };
    hub.enroll(&wrong).await.unwrap();
    let report = hub.preflight().check_enrollment(&wrong.name).await.unwrap();
    let found = report_of(&report, member.account_id());
    assert_eq!(
        found.blockers[0].code,
        BlockerCode::EnrollmentMismatch,
        "{found:?}"
    );
    assert!(
        found.blockers[0]
            .detail
            .contains(customer.management.account_id()),
        "names the real management account: {:?}",
        found.blockers[0]
    );
}

#[tokio::test]
async fn a_delegated_administrator_is_predicted_and_another_organizations_invitation_listed() {
    let (emulator, _recorder, hub) = hub("preflight-delegated").await;
    let customer = customer_organization(&hub, 1).await;
    let member = &customer.members[0];
    let organizations = customer.management.organizations();
    organizations
        .enable_aws_service_access()
        .service_principal("securityhub.amazonaws.com")
        .send()
        .await
        .unwrap();
    organizations
        .register_delegated_administrator()
        .account_id(member.account_id())
        .service_principal("securityhub.amazonaws.com")
        .send()
        .await
        .unwrap();
    let stranger = AwsAccount::create_unique(emulator).await.unwrap();
    let stranger_organization = stranger.create_organization().await.unwrap();
    // The emulator refuses to invite an account that is in an organization (AWS allows
    // it since the direct transfer): the other organization invites a standalone one.
    let standalone = AwsAccount::create_unique(emulator).await.unwrap();
    hub.add_spoke(&standalone).await.unwrap();
    let handshake = invite(&stranger.organizations(), standalone.account_id())
        .await
        .unwrap();
    hub.enroll(
        &customer
            .enrollment("hooli", TransferMode::Standalone, &[&standalone])
            .unwrap(),
    )
    .await
    .unwrap();

    let report = checked(&hub, member).await;
    assert!(
        predicted(&report).contains(&BlockerCode::DelegatedAdministrator),
        "{report:?}"
    );
    let report = checked(&hub, &standalone).await;
    assert!(report.blockers.is_empty(), "{report:?}");
    assert_eq!(report.invitations.len(), 1, "{:?}", report.invitations);
    assert_eq!(report.invitations[0].handshake_id.as_str(), handshake);
    assert_eq!(
        report.invitations[0]
            .organization
            .as_ref()
            .map(|o| o.as_str()),
        Some(stranger_organization.as_str())
    );
    let record = record_of(&hub.store(), standalone.account_id()).await;
    assert_eq!(record.handshake_id(), None, "never taken, never accepted");
}
