//! The rendering of manifest grants for a deployment: samples, placeholders, patterns.

use super::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/hub-InviterRole-1";

/// A grant as the manifest writes them (the catalog's own change under other hands).
const fn grant(
    action: &'static str,
    resources: &'static [&'static str],
    context: &'static [(&'static str, &'static str)],
    samples: &'static [(&'static str, &'static str)],
) -> Grant {
    Grant {
        action,
        resources,
        context,
        when: None,
        implied_by: None,
        samples,
        source: "test",
    }
}

const QUERY: Grant = grant(
    "dynamodb:Query",
    &["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TableName}${request.IndexName|/index/%}"],
    &[],
    &[
        ("request.TableName", "${RecordTable}"),
        ("request.IndexName", ""),
        ("request.IndexName", "by_phase"),
        ("request.IndexName", "by_enrollment"),
    ],
);
const PUT_EVENTS: Grant = grant(
    "events:PutEvents",
    &["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${request.Entries[*].EventBusName}"],
    &[("events:source", "${request.Entries[*].Source}")],
    &[
        ("request.Entries[*].EventBusName", "${HubEventBus}"),
        ("request.Entries[*].Source", "org-onboarding"),
    ],
);
const TRANSACT_PUT: Grant = grant(
    "dynamodb:PutItem",
    &["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TransactItems[*].Put.TableName}"],
    &[],
    &[("request.TableName", "${RecordTable}")],
);
const TAG: Grant = grant(
    "organizations:TagResource",
    &["*"],
    &[("aws:TagKeys", "${request.Tags[*].Key}")],
    &[("request.Tags[*].Key", "org-onboarding:enrollment")],
);
const ACCEPT: Grant = grant(
    "organizations:AcceptHandshake",
    &["${response.Handshake.Arn}"],
    &[],
    &[
        ("response.Handshake.Arn", "arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:handshake/${TargetOrganizationId}/invite/h-1"),
        ("response.Handshake.Arn", "arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:handshake/${TargetOrganizationId}/transfer_responsibility/h-1"),
    ],
);
const ASSUME_SPOKE: Grant = grant(
    "sts:AssumeRole",
    &["${request.RoleArn}"],
    &[],
    &[(
        "request.RoleArn",
        "arn:${AWS::Partition}:iam::222222222222:role/${SpokeRoleName}",
    )],
);
const ASSUME_ACCESS: Grant = grant(
    "sts:AssumeRole",
    &["${request.RoleArn}"],
    &[("aws:ResourceOrgID", "${TargetOrganizationId}")],
    &[(
        "request.RoleArn",
        "arn:${AWS::Partition}:iam::222222222222:role/${AccessRoleName}",
    )],
);
const LOGS: Grant = grant(
    "logs:PutLogEvents",
    &["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${own:LogGroup}:*"],
    &[],
    &[],
);
const UNSAMPLED: Grant = grant(
    "s3:GetBucketPolicy",
    &["arn:${AWS::Partition}:s3:::${request.Bucket}"],
    &[],
    &[],
);

fn deployment() -> Deployment {
    Deployment {
        table: "hub-RecordTable-1".into(),
        bus: "org-onboarding".into(),
        target_organization: "o-exampleorgid".into(),
        target_management_account: "123456789012".into(),
        spoke_role_name: Some("OrgOnboardingSpoke".into()),
        access_role_name: Some("OrganizationAccountAccessRole".into()),
    }
}

fn values() -> Values {
    Values::for_role(ROLE, "us-east-1", &deployment()).unwrap()
}

fn arns(check: &Check) -> Vec<&str> {
    check.resources.iter().map(|r| r.arn.as_str()).collect()
}

fn patterns(check: &Check) -> Vec<&str> {
    check.resources.iter().map(|r| r.pattern.as_str()).collect()
}

fn same(arn: &str) -> Resource {
    Resource {
        arn: arn.into(),
        pattern: arn.into(),
    }
}

fn checks(grant: &Grant, values: &Values) -> Vec<Check> {
    match render(grant, values).unwrap() {
        Rendered::Checks(checks) => checks,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_index_sample_is_a_resource_of_one_query_check() {
    let merged = merge(checks(&QUERY, &values()));
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/hub-RecordTable-1";
    assert_eq!(
        merged,
        vec![Check {
            action: "dynamodb:Query",
            resources: vec![
                same(table),
                Resource {
                    arn: format!("{table}/index/by_phase"),
                    pattern: format!("{table}/index/*"),
                },
                Resource {
                    arn: format!("{table}/index/by_enrollment"),
                    pattern: format!("{table}/index/*"),
                },
            ],
            context: vec![],
        }],
        "an empty sample is no index; an index name is any index in the statement"
    );
}

#[test]
fn put_events_is_checked_on_the_bus_with_its_source() {
    assert_eq!(
        checks(&PUT_EVENTS, &values()),
        vec![Check {
            action: "events:PutEvents",
            resources: vec![same(
                "arn:aws:events:us-east-1:123456789012:event-bus/org-onboarding"
            )],
            context: vec![ContextValue {
                key: "events:source".into(),
                values: vec!["org-onboarding".into()],
                list: true,
            }],
        }]
    );
}

#[test]
fn a_transaction_item_takes_the_sample_of_the_table_name() {
    assert_eq!(
        arns(&checks(&TRANSACT_PUT, &values())[0]),
        vec!["arn:aws:dynamodb:us-east-1:123456789012:table/hub-RecordTable-1"]
    );
}

#[test]
fn tag_keys_are_a_list_valued_condition_key() {
    let rendered = checks(&TAG, &values());
    assert_eq!(rendered[0].resources, vec![same("*")]);
    assert_eq!(
        rendered[0].context,
        vec![ContextValue {
            key: "aws:TagKeys".into(),
            values: vec!["org-onboarding:enrollment".into()],
            list: true,
        }]
    );
}

#[test]
fn each_sample_of_a_response_field_is_checked() {
    let rendered = checks(&ACCEPT, &values());
    assert_eq!(rendered.len(), 2);
    assert_eq!(
        rendered[0].resources,
        vec![Resource {
            arn: "arn:aws:organizations::123456789012:handshake/o-exampleorgid/invite/h-1".into(),
            pattern: "arn:aws:organizations::123456789012:handshake/o-exampleorgid/invite/*".into(),
        }]
    );
    assert!(rendered[1].resources[0]
        .arn
        .contains("/transfer_responsibility/"));
}

#[test]
fn a_sample_is_rendered_with_the_deployment() {
    let assume = &checks(&ASSUME_SPOKE, &values())[0];
    assert_eq!(
        arns(assume),
        vec!["arn:aws:iam::222222222222:role/OrgOnboardingSpoke"]
    );
    assert_eq!(
        patterns(assume),
        vec!["arn:aws:iam::*:role/OrgOnboardingSpoke"],
        "the example account is any account"
    );
}

#[test]
fn an_access_role_left_empty_needs_no_grant() {
    let deployment = Deployment {
        access_role_name: None,
        ..deployment()
    };
    let values = Values::for_role(ROLE, "us-east-1", &deployment).unwrap();
    assert_eq!(
        render(&ASSUME_ACCESS, &values),
        Ok(Rendered::NotNeeded("AccessRoleName".into()))
    );
    let verified = checks(&ASSUME_ACCESS, &self::values());
    assert_eq!(verified[0].context[0].values, vec!["o-exampleorgid"]);
}

#[test]
fn an_unknown_placeholder_is_named() {
    let deployment = Deployment {
        spoke_role_name: None,
        ..deployment()
    };
    let values = Values::for_role(ROLE, "us-east-1", &deployment).unwrap();
    assert_eq!(
        render(&ASSUME_SPOKE, &values),
        Err("${SpokeRoleName}".into())
    );
    assert_eq!(render(&LOGS, &values), Err("${own:LogGroup}".into()));
    assert_eq!(
        render(&UNSAMPLED, &values),
        Err("${request.Bucket} (the manifest has no sample)".into())
    );
}

#[test]
fn a_parent_renders_as_a_root_or_an_ou_of_the_target() {
    let grant = onboarding::permissions::MOVE_ACCOUNT.grants[0];
    let rendered: Vec<Vec<String>> = checks(&grant, &values())
        .iter()
        .map(|c| arns(c).into_iter().map(str::to_owned).collect())
        .collect();
    let all: Vec<&String> = rendered.iter().flatten().collect();
    assert!(all
        .iter()
        .any(|a| a.as_str() == "arn:aws:organizations::123456789012:root/o-exampleorgid/r-ab12"));
    assert!(all
        .iter()
        .any(|a| a.as_str()
            == "arn:aws:organizations::123456789012:ou/o-exampleorgid/ou-ab12-cd34ef56"));
    assert!(all.iter().all(|a| !a.contains("parent")), "{all:?}");
}

#[test]
fn an_example_id_is_any_id_in_the_statement() {
    const DESCRIBE: Grant = grant(
        "organizations:DescribeAccount",
        &["arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:account/${TargetOrganizationId}/${request.AccountId}"],
        &[],
        &[("request.AccountId", "222222222222")],
    );
    assert_eq!(
        checks(&DESCRIBE, &values())[0].resources,
        vec![Resource {
            arn: "arn:aws:organizations::123456789012:account/o-exampleorgid/222222222222".into(),
            pattern: "arn:aws:organizations::123456789012:account/o-exampleorgid/*".into(),
        }]
    );
    const TOPIC: Grant = grant(
        "sns:GetTopicAttributes",
        &["${request.TopicArn}"],
        &[],
        &[(
            "request.TopicArn",
            "arn:${AWS::Partition}:sns:us-east-1:${AWS::AccountId}:example",
        )],
    );
    assert_eq!(
        patterns(&checks(&TOPIC, &values())[0]),
        vec!["arn:aws:sns:us-east-1:123456789012:*"]
    );
}

#[test]
fn the_account_and_partition_come_from_the_role() {
    assert_eq!(
        partition_and_account("arn:aws-us-gov:iam::123456789012:role/path/x"),
        Ok(("aws-us-gov", "123456789012"))
    );
    assert!(partition_and_account("InviterRole").is_err());
    assert!(partition_and_account("arn:aws:iam::123456789012:user/x").is_err());
}
