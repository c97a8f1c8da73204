//! AWS rules the emulator does not check, each held by a test (tests/README.md, "AWS
//! rules the emulator does not check", lists them with their sources). The emulator
//! accepts any template, enforces no IAM and knows no KMS key policy, so a template that
//! breaks one of these rules passes every end-to-end test and fails on first contact with
//! AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use onboarding_e2e::template::{load, parameter_values, record_table_indexes, IndexKey};
use serde_yaml::Value;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A stored schema of the record table (infra/upgrades/record-table/vN.json).
struct Schema {
    file: String,
    number: u32,
    indexes: BTreeMap<String, IndexKey>,
}

fn stored_schemas() -> Vec<Schema> {
    let dir = workspace().join("infra/upgrades/record-table");
    let mut schemas: Vec<Schema> = std::fs::read_dir(&dir)
        .expect("infra/upgrades/record-table")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let doc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let indexes = doc["global_secondary_indexes"]
                .as_object()
                .expect("global_secondary_indexes")
                .iter()
                .map(|(name, key)| {
                    let part = |k: &str| key[k].as_str().unwrap_or_default().to_owned();
                    (name.clone(), (part("hash"), part("range")))
                })
                .collect();
            Schema {
                file: format!(
                    "record-table/{}",
                    path.file_name().unwrap().to_string_lossy()
                ),
                number: doc["schema"].as_u64().expect("schema") as u32,
                indexes,
            }
        })
        .collect();
    schemas.sort_by_key(|s| s.number);
    schemas
}

/// Index creations and deletions between two index sets (a changed key is both).
fn index_changes(from: &BTreeMap<String, IndexKey>, to: &BTreeMap<String, IndexKey>) -> usize {
    let names: BTreeSet<&String> = from.keys().chain(to.keys()).collect();
    names
        .into_iter()
        .map(|name| match (from.get(name), to.get(name)) {
            (Some(a), Some(b)) if a == b => 0,
            (Some(_), Some(_)) => 2,
            _ => 1,
        })
        .sum()
}

/// "Cannot perform more than one GSI creation or deletion in a single update" (DynamoDB
/// Developer Guide, global secondary indexes: one index created or deleted per
/// UpdateTable; CloudFormation updates a table with one UpdateTable). The newest stored
/// schema is the template's; every older one reaches it one index at a time through the
/// template's `RecordTableSchema` steps, and DEPLOY.md names those steps.
#[test]
fn a_hub_upgrade_creates_or_deletes_one_table_index_per_update() {
    let template = load("template.yaml");
    let schemas = stored_schemas();
    let newest = schemas.last().expect("a stored schema");
    let (default, steps) = parameter_values(&template, "RecordTableSchema");
    assert_eq!(
        record_table_indexes(&template, &default),
        newest.indexes,
        "the template's record table is not {}: store its indexes as a new schema in infra/upgrades/record-table/",
        newest.file
    );
    assert_eq!(
        default,
        newest.number.to_string(),
        "RecordTableSchema defaults to the newest schema"
    );

    let deploy = std::fs::read_to_string(workspace().join("infra/DEPLOY.md")).unwrap();
    let upgrading = deploy
        .split("\n## ")
        .find(|section| section.starts_with("Upgrading the hub"))
        .expect("infra/DEPLOY.md has a section \"Upgrading the hub\"");
    let step_sets: Vec<(String, BTreeMap<String, IndexKey>)> = steps
        .iter()
        .map(|step| (step.clone(), record_table_indexes(&template, step)))
        .collect();
    for schema in &schemas[..schemas.len() - 1] {
        if index_changes(&schema.indexes, &newest.indexes) <= 1 {
            continue;
        }
        // A path of steps, each one index away from the one before.
        let mut at = schema.indexes.clone();
        let mut path = Vec::new();
        while at != newest.indexes {
            let next = step_sets
                .iter()
                .filter(|(step, _)| !path.contains(step))
                .find(|(_, indexes)| index_changes(&at, indexes) == 1)
                .unwrap_or_else(|| {
                    panic!(
                        "from {} no RecordTableSchema value is one index away from {:?}: add a step",
                        schema.file,
                        at.keys().collect::<Vec<_>>()
                    )
                });
            path.push(next.0.clone());
            at = next.1.clone();
        }
        assert!(
            upgrading.contains(&schema.file),
            "DEPLOY.md's upgrade section does not name {} (its steps: RecordTableSchema {})",
            schema.file,
            path.join(", then ")
        );
        for step in &path {
            assert!(
                upgrading.contains(&format!("RecordTableSchema={step}")),
                "DEPLOY.md's upgrade from {} does not name the step RecordTableSchema={step}",
                schema.file
            );
        }
    }
}

fn statements(document: &Value) -> Vec<&Value> {
    match &document["Statement"] {
        Value::Sequence(list) => list.iter().collect(),
        single => vec![single],
    }
}

fn services(principal: &Value) -> Vec<String> {
    match &principal["Service"] {
        Value::Sequence(list) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::String(one) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// "Adding the aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not supported
/// for EventBridge-to-encrypted topics" (SNS Developer Guide, "Encryption at rest", key
/// management). With either condition, every e-mail rule's delivery fails into the
/// notification dead-letter queue.
#[test]
fn eventbridge_may_use_the_notification_key_without_source_conditions() {
    let template = load("template.yaml");
    let policy = &template["Resources"]["NotificationKey"]["Properties"]["KeyPolicy"];
    let for_eventbridge: Vec<&Value> = statements(policy)
        .into_iter()
        .filter(|s| {
            services(&s["Principal"])
                .iter()
                .any(|p| p == "events.amazonaws.com")
        })
        .collect();
    assert_eq!(
        for_eventbridge.len(),
        1,
        "one statement lets EventBridge use the key"
    );
    let statement = for_eventbridge[0];
    let condition = serde_json::to_string(&statement["Condition"]).unwrap();
    for key in ["aws:SourceAccount", "aws:SourceArn"] {
        assert!(
            !condition.contains(key),
            "the key policy's EventBridge statement has {key}, which KMS does not support for EventBridge-to-encrypted topics: {condition}"
        );
    }
    let actions = serde_json::to_string(&statement["Action"]).unwrap();
    assert!(actions.contains("kms:GenerateDataKey") && actions.contains("kms:Decrypt"));
}

/// New accounts have a Lambda concurrency quota of 10, and Lambda refuses a reservation
/// that leaves fewer than 10 unreserved (Lambda Developer Guide, "Configuring reserved
/// concurrency"): with reservations on by default, a first deployment fails there.
#[test]
fn concurrency_is_reserved_only_when_asked() {
    let template = load("template.yaml");
    let (default, _) = parameter_values(&template, "ReserveConcurrency");
    assert_eq!(default, "false");
}

/// DEPLOY.md has the spoke deleted once the account joined; CloudFormation deletes the
/// stack's resources unless their DeletionPolicy says Retain (CloudFormation User Guide,
/// DeletionPolicy attribute), and the target still needs the access role then.
#[test]
fn the_access_role_outlives_the_spoke() {
    let spoke = load("infra/spoke.yaml");
    let role = &spoke["Resources"]["AccessRole"];
    assert_eq!(role["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(role["UpdateReplacePolicy"].as_str(), Some("Retain"));
}

/// An account between organizations (it left its old one, has not joined yet) has no
/// `aws:PrincipalOrgID` (IAM User Guide: the key is present only when the principal is a
/// member of an organization), so the hub bus's admission by organization refuses its
/// forwarded events. Every spoke forwards through a role of one name; the hub bus admits
/// that name in any account, for `aws.organizations` events only.
#[test]
fn accounts_between_organizations_are_admitted_by_their_forward_role() {
    let spoke = load("infra/spoke.yaml");
    let forward_role = spoke["Resources"]["ForwardRole"]["Properties"]["RoleName"]
        .as_str()
        .expect("the spoke's ForwardRole has a fixed RoleName");
    let rule_target = &spoke["Resources"]["ForwardRule"]["Properties"]["Targets"][0];
    assert!(
        serde_json::to_string(&rule_target["RoleArn"])
            .unwrap()
            .contains("ForwardRole"),
        "the forwarding rule puts events on the hub bus as ForwardRole"
    );

    let hub = load("template.yaml");
    let policy = &hub["Resources"]["HubEventBusForwardersPolicy"];
    assert_eq!(policy["Type"].as_str(), Some("AWS::Events::EventBusPolicy"));
    assert!(
        policy["Condition"].is_null(),
        "admitted whatever the parameters"
    );
    let statement = &policy["Properties"]["Statement"];
    assert_eq!(statement["Action"].as_str(), Some("events:PutEvents"));
    assert_eq!(
        statement["Condition"]["ForAllValues:StringEquals"]["events:source"].as_str(),
        Some("aws.organizations"),
        "forwarded AWS events only (every entry's source): never an org-onboarding event"
    );
    assert_eq!(
        statement["Condition"]["Null"]["events:source"].as_str(),
        Some("false"),
        "ForAllValues is true when the key is absent: the source must be there"
    );
    let principal_arn =
        serde_json::to_string(&statement["Condition"]["ArnLike"]["aws:PrincipalArn"]).unwrap();
    assert!(
        principal_arn.contains(&format!("iam::*:role/{forward_role}\"")),
        "the hub bus admits the spoke's {forward_role} in any account: {principal_arn}"
    );

    let deploy = std::fs::read_to_string(workspace().join("infra/DEPLOY.md")).unwrap();
    assert!(
        deploy.contains(forward_role),
        "DEPLOY.md's admission section names the forward role {forward_role}"
    );
}

/// "If the request includes tags, then the requester must have the
/// organizations:TagResource permission" (Organizations API Reference,
/// InviteAccountToOrganization), and every invitation carries the enrollment tag.
#[test]
fn the_inviter_may_tag_what_it_invites() {
    let hub = load("template.yaml");
    let policies = hub["Resources"]["InviterRole"]["Properties"]["Policies"]
        .as_sequence()
        .expect("InviterRole policies");
    let grants_tagging = policies.iter().any(|p| {
        statements(&p["PolicyDocument"]).iter().any(|s| {
            s["Effect"].as_str() == Some("Allow")
                && serde_json::to_string(&s["Action"])
                    .unwrap()
                    .contains("organizations:TagResource")
        })
    });
    assert!(grants_tagging, "InviterRole may organizations:TagResource");
}
