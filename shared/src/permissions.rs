//! The permission manifest: every AWS operation the product calls, what AWS authorizes
//! it by (the IAM action, the resource ARN it acts on, the condition keys the call sets),
//! and the permissions the API reference says it implies beyond its own action.
//!
//! One place, beside the operations: `make test` checks every function's role in
//! `template.yaml` and the spoke's role in `infra/spoke.yaml` against it with AWS's own
//! authorization data (`infra/iam/`), evaluates every call the end-to-end tests record
//! against the role of the function that made it, and `onboardctl doctor --permissions`
//! simulates it against a deployed stack's roles.
//!
//! Placeholders in resources and context values (rendered by the checker, or by
//! `onboardctl doctor --permissions` (its `commands/doctor/render.rs`)): `${AWS::Partition}`, `${AWS::Region}`,
//! `${AWS::AccountId}` (the account of the principal), a template parameter
//! (`${TargetOrganizationId}`), a resource's name by logical id (`${RecordTable}`),
//! `${request.PATH}` (a field of the call's request, `[*]` for every element;
//! `${request.F|/index/%}`: `/index/` and the field when present, else nothing;
//! `${request.F|parent}`: a root's or an OU's id as the rest of its ARN) and
//! `${response.PATH}`. `samples` gives request fields their values where no call was
//! recorded (the template check and the doctor).

use serde::Serialize;

use crate::domain::FunctionName;

/// Who makes a call: a function's execution role in the hub, or the spoke role a hub
/// function assumes in a customer account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    Function(FunctionName),
    /// `infra/spoke.yaml`'s SpokeRole, assumed by the acceptor, the reconciler and the
    /// preflight, each with its own session policy ([`session`]).
    Spoke,
}

impl From<FunctionName> for Principal {
    fn from(function: FunctionName) -> Self {
        Principal::Function(function)
    }
}

impl Principal {
    /// Every function's role, then the spoke's.
    pub const ALL: [Principal; FunctionName::ALL.len() + 1] = {
        let mut all = [Principal::Spoke; FunctionName::ALL.len() + 1];
        let mut i = 0;
        while i < FunctionName::ALL.len() {
            all[i] = Principal::Function(FunctionName::ALL[i]);
            i += 1;
        }
        all
    };

    /// The principal's name in the manifest: the function's, or `spoke`.
    pub fn name(self) -> &'static str {
        match self {
            Principal::Function(function) => function.as_str(),
            Principal::Spoke => "spoke",
        }
    }

    pub fn from_name(name: &str) -> Option<Principal> {
        Principal::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The template (`hub`: template.yaml, `spoke`: infra/spoke.yaml) and the role's
    /// logical id in it.
    pub fn role(self) -> (&'static str, &'static str) {
        match self {
            Principal::Function(function) => ("hub", role_of(function)),
            Principal::Spoke => ("spoke", "SpokeRole"),
        }
    }

    /// The stack output naming the deployed role (`onboardctl doctor --stack`); the
    /// spoke's is in each customer account's stack.
    pub fn role_output(self) -> Option<&'static str> {
        match self {
            Principal::Function(function) => Some(role_output_of(function)),
            Principal::Spoke => None,
        }
    }
}

/// As the manifest names it (`tracker`, …, `spoke`).
impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A function's execution role: its logical id in template.yaml.
fn role_of(function: FunctionName) -> &'static str {
    match function {
        FunctionName::Tracker => "TrackerRole",
        FunctionName::Acceptor => "AcceptorRole",
        FunctionName::Inviter => "InviterRole",
        FunctionName::Reconciler => "ReconcilerRole",
        FunctionName::Placer => "PlacerRole",
        FunctionName::Preflight => "PreflightRole",
    }
}

/// The hub stack's output naming a function's deployed role.
fn role_output_of(function: FunctionName) -> &'static str {
    match function {
        FunctionName::Tracker => "TrackerRoleArn",
        FunctionName::Acceptor => "AcceptorRoleArn",
        FunctionName::Inviter => "InviterRoleArn",
        FunctionName::Reconciler => "ReconcilerRoleArn",
        FunctionName::Placer => "PlacerRoleArn",
        FunctionName::Preflight => "PreflightRoleArn",
    }
}

/// One permission AWS checks for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub action: &'static str,
    /// Every resource AWS authorizes the action on (MoveAccount: the account, its source
    /// and its destination parent).
    pub resources: &'static [&'static str],
    /// Condition keys the call sets, with their values.
    #[serde(serialize_with = "as_map")]
    pub context: &'static [(&'static str, &'static str)],
    /// For a recorded call: the grant applies only when this request path exists (the
    /// item actions of TransactWriteItems). The template check always applies it.
    pub when: Option<&'static str>,
    /// A permission AWS requires beyond the call's own action, and which action implies it.
    pub implied_by: Option<&'static str>,
    /// Values of request fields where no call was recorded; each is checked.
    #[serde(serialize_with = "as_multimap")]
    pub samples: &'static [(&'static str, &'static str)],
    /// Where AWS says so.
    pub source: &'static str,
}

/// An SDK operation and the permissions it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// The service as the Rust SDK names it (`Metadata::service`).
    pub service: &'static str,
    /// The operation as the SDK names it (`Metadata::name`).
    pub operation: &'static str,
    pub grants: &'static [Grant],
}

fn as_map<S: serde::Serializer>(
    pairs: &&'static [(&'static str, &'static str)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(pairs.iter().copied())
}

fn as_multimap<S: serde::Serializer>(
    pairs: &&'static [(&'static str, &'static str)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = std::collections::BTreeMap::<&str, Vec<&str>>::new();
    for (key, value) in pairs.iter() {
        map.entry(key).or_default().push(value);
    }
    serializer.collect_map(map)
}

const fn grant(action: &'static str, resources: &'static [&'static str]) -> Grant {
    Grant {
        action,
        resources,
        context: &[],
        when: None,
        implied_by: None,
        samples: &[],
        source: "",
    }
}

const SAR: &str = "Service Authorization Reference";

mod catalog;
pub mod session;
pub use catalog::*;

/// What every function's role is used for: Lambda runs it (logs, dead-letter queue), it
/// records through the table's items and transactions, and it publishes notifications.
const EVERY_FUNCTION: [&Operation; 9] = [
    &LAMBDA_LOGS,
    &LAMBDA_DEAD_LETTER,
    &BATCH_GET_ITEM,
    &GET_ITEM,
    &PUT_ITEM,
    &UPDATE_ITEM,
    &DELETE_ITEM,
    &TRANSACT_WRITE_ITEMS,
    &PUT_EVENTS,
];

/// The operations each principal calls: for a function, [`EVERY_FUNCTION`]'s and what its
/// handler and the adapters it is built with (`wiring`) call besides.
pub fn operations(principal: Principal) -> Vec<&'static Operation> {
    let function = match principal {
        Principal::Function(function) => function,
        // The spoke role is no function's execution role: only what hub sessions call.
        Principal::Spoke => return spoke_role_operations(),
    };
    let own: &[&Operation] = match function {
        FunctionName::Tracker => &[
            &QUERY_ANY_INDEX,
            &DESCRIBE_TARGET_ACCOUNT,
            &LIST_INBOUND_TRANSFERS,
            &LIST_OUTBOUND_TRANSFERS,
        ],
        FunctionName::Acceptor => &[
            &QUERY_ANY_INDEX,
            &ASSUME_SPOKE_ROLE,
            &DESCRIBE_OWN_ORGANIZATION,
            &DESCRIBE_TARGET_ACCOUNT,
            &LIST_INBOUND_TRANSFERS,
            &LIST_OUTBOUND_TRANSFERS,
        ],
        FunctionName::Inviter => &[
            &QUERY_ANY_INDEX,
            &DESCRIBE_OWN_ORGANIZATION,
            &INVITE_ACCOUNT,
            &LIST_TARGET_HANDSHAKES,
            &LIST_TARGET_ACCOUNTS,
            &INVITE_TO_TRANSFER_BILLING,
            &LIST_INBOUND_TRANSFERS,
            &LIST_OUTBOUND_TRANSFERS,
        ],
        FunctionName::Reconciler => &[
            &QUERY_RECONCILER_INDEXES,
            &SCAN_TABLE,
            &ASSUME_SPOKE_ROLE,
            &LIST_TARGET_ACCOUNTS,
            &LIST_TARGET_HANDSHAKES,
            &DESCRIBE_TARGET_ACCOUNT,
        ],
        FunctionName::Placer => &[
            &QUERY_PLACER_INDEXES,
            &LIST_ROOTS,
            &LIST_PARENTS,
            &LIST_OUS_FOR_PARENT,
            &MOVE_ACCOUNT,
            &LIST_ACCOUNT_TAGS,
            &TAG_ACCOUNT,
            &DESCRIBE_TARGET_ACCOUNT,
            &ASSUME_ACCESS_ROLE,
        ],
        FunctionName::Preflight => &[&QUERY_PREFLIGHT_INDEXES, &ASSUME_SPOKE_ROLE],
    };
    EVERY_FUNCTION.iter().chain(own).copied().collect()
}

/// What `function`'s session calls through the spoke role in a customer account (none for
/// a function that never assumes it). Each session is held to its own list by a session
/// policy built from it ([`session`]): only the acceptor's may accept, decline or leave.
pub fn spoke_operations(function: FunctionName) -> &'static [&'static Operation] {
    match function {
        FunctionName::Acceptor => &[
            &LIST_OWN_HANDSHAKES,
            &ACCEPT_HANDSHAKE,
            &DECLINE_HANDSHAKE,
            // The check of the account's organization after a refused acceptance.
            &DESCRIBE_CUSTOMER_ORGANIZATION,
        ],
        // Whether the account is still in its old organization, and whether that one has
        // members left (ListAccounts, in a management account).
        FunctionName::Reconciler => &[&DESCRIBE_CUSTOMER_ORGANIZATION, &LIST_CUSTOMER_ACCOUNTS],
        FunctionName::Preflight => &[
            &GET_CONTACT_INFORMATION,
            &GET_ACCOUNT_INFORMATION,
            &DESCRIBE_CUSTOMER_ORGANIZATION,
            &LIST_OWN_HANDSHAKES,
            &LIST_DELEGATED_ADMINISTRATORS,
            &LIST_ROLES,
            &LIST_BUCKETS,
            &GET_BUCKET_POLICY,
            &GET_BUCKET_LOCATION,
            &LIST_KEYS,
            &GET_KEY_POLICY,
            &LIST_TOPICS,
            &GET_TOPIC_ATTRIBUTES,
            &LIST_QUEUES,
            &GET_QUEUE_ATTRIBUTES,
            &LIST_FUNCTIONS,
            &GET_FUNCTION_POLICY,
        ],
        FunctionName::Tracker | FunctionName::Inviter | FunctionName::Placer => &[],
    }
}

/// What the spoke role must allow: every session's operations, each once.
fn spoke_role_operations() -> Vec<&'static Operation> {
    let mut all: Vec<&'static Operation> = Vec::new();
    for function in FunctionName::ALL {
        for &op in spoke_operations(function) {
            if !all.contains(&op) {
                all.push(op);
            }
        }
    }
    all
}

/// What `${request.F|parent}` renders: a parent's id in `organization` (a root's `r-…` or
/// an OU's `ou-…`) as the rest of its Organizations ARN, `root/o-…/r-…` or `ou/o-…/ou-…`
/// (Service Authorization Reference, AWS Organizations resource types).
pub fn parent_arn_tail(organization: &str, parent_id: &str) -> String {
    let kind = if parent_id.starts_with("ou-") {
        "ou"
    } else {
        "root"
    };
    format!("{kind}/{organization}/{parent_id}")
}

/// The operation `principal` calls as `service`/`operation`, if the manifest has it.
pub fn find(principal: Principal, service: &str, operation: &str) -> Option<&'static Operation> {
    operations(principal)
        .into_iter()
        .find(|op| op.service == service && op.operation == operation)
}

/// The manifest as `infra/iam/check.mjs` reads it. The spoke's operations are listed per
/// session (`function`: the function whose session calls it), and the spoke principal
/// carries each session's policy (`sessions`), so the checker evaluates a session's calls
/// against the role and its session policy together, as AWS does.
pub fn manifest_json() -> serde_json::Value {
    let principals: serde_json::Map<String, serde_json::Value> = Principal::ALL
        .iter()
        .map(|p| {
            let (template, role) = p.role();
            let mut principal = serde_json::json!({ "template": template, "role": role });
            if *p == Principal::Spoke {
                principal["sessions"] = FunctionName::ALL
                    .into_iter()
                    .filter_map(|f| Some((f.as_str().to_owned(), session::document(f)?)))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            (p.name().to_owned(), principal)
        })
        .collect();
    let entry = |principal: Principal, function: &str, op: &Operation| {
        let mut value = serde_json::to_value(op).expect("the manifest serializes");
        value["principal"] = principal.name().into();
        value["function"] = function.into();
        value
    };
    let mut operations = Vec::new();
    for principal in Principal::ALL {
        match principal {
            Principal::Function(function) => operations.extend(
                self::operations(principal)
                    .into_iter()
                    .map(|op| entry(principal, function.as_str(), op)),
            ),
            Principal::Spoke => operations.extend(FunctionName::ALL.into_iter().flat_map(|f| {
                spoke_operations(f)
                    .iter()
                    .map(move |op| entry(principal, f.as_str(), op))
            })),
        }
    }
    serde_json::json!({ "principals": principals, "operations": operations })
}

/// How many operations and distinct actions the manifest names (the closing note's size).
pub fn size() -> (usize, usize) {
    let mut operations = std::collections::BTreeSet::new();
    let mut actions = std::collections::BTreeSet::new();
    for principal in Principal::ALL {
        for op in self::operations(principal) {
            operations.insert((op.service, op.operation));
            actions.extend(op.grants.iter().map(|g| g.action));
        }
    }
    (operations.len(), actions.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grant_names_its_source_and_a_resource() {
        for principal in Principal::ALL {
            for op in operations(principal) {
                for grant in op.grants {
                    assert!(
                        !grant.source.is_empty(),
                        "{} {}: no source",
                        op.operation,
                        grant.action
                    );
                    assert!(
                        !grant.resources.is_empty(),
                        "{} {}: no resource",
                        op.operation,
                        grant.action
                    );
                    assert!(
                        grant.action.contains(':'),
                        "{}: action without service",
                        grant.action
                    );
                }
            }
        }
    }

    #[test]
    fn a_function_has_spoke_operations_exactly_when_it_assumes_the_spoke_role() {
        for function in FunctionName::ALL {
            let assumes = operations(function.into()).contains(&&ASSUME_SPOKE_ROLE);
            assert_eq!(
                assumes,
                !spoke_operations(function).is_empty(),
                "{function}: assumes the spoke role {assumes}, spoke operations {}",
                spoke_operations(function).len()
            );
        }
    }

    #[test]
    fn the_spoke_writes_are_the_acceptors_alone() {
        let writes = [
            "organizations:AcceptHandshake",
            "organizations:DeclineHandshake",
            "organizations:LeaveOrganization",
        ];
        let actions = |function: FunctionName| -> Vec<&str> {
            spoke_operations(function)
                .iter()
                .flat_map(|op| op.grants.iter().map(|g| g.action))
                .collect()
        };
        for write in writes {
            assert!(actions(FunctionName::Acceptor).contains(&write), "{write}");
            for function in [FunctionName::Reconciler, FunctionName::Preflight] {
                assert!(!actions(function).contains(&write), "{function}: {write}");
            }
        }
    }

    #[test]
    fn the_manifest_lists_each_spoke_operation_under_the_session_that_calls_it() {
        let json = manifest_json();
        let sessions = json["principals"]["spoke"]["sessions"].as_object().unwrap();
        let mut names: Vec<&str> = sessions.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["acceptor", "preflight", "reconciler"]);
        let spoke_ops: Vec<(&str, &str)> = json["operations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|op| op["principal"] == "spoke")
            .map(|op| {
                (
                    op["function"].as_str().unwrap(),
                    op["operation"].as_str().unwrap(),
                )
            })
            .collect();
        assert!(spoke_ops.contains(&("acceptor", "AcceptHandshake")));
        assert!(spoke_ops.contains(&("reconciler", "DescribeOrganization")));
        assert!(!spoke_ops.contains(&("reconciler", "AcceptHandshake")));
        assert!(!spoke_ops.contains(&("preflight", "DeclineHandshake")));
    }

    #[test]
    fn a_parent_is_a_root_or_an_ou_of_the_organization() {
        assert_eq!(
            parent_arn_tail("o-a1b2c3d4e5", "r-ab12"),
            "root/o-a1b2c3d4e5/r-ab12"
        );
        assert_eq!(
            parent_arn_tail("o-a1b2c3d4e5", "ou-ab12-cd34ef56"),
            "ou/o-a1b2c3d4e5/ou-ab12-cd34ef56"
        );
    }

    #[test]
    fn an_invitation_with_tags_needs_tag_resource() {
        let invite = find(
            Principal::Function(FunctionName::Inviter),
            "Organizations",
            "InviteAccountToOrganization",
        )
        .expect("the inviter invites");
        let implied: Vec<_> = invite
            .grants
            .iter()
            .filter(|g| g.implied_by.is_some())
            .collect();
        assert_eq!(implied.len(), 1);
        assert_eq!(implied[0].action, "organizations:TagResource");
    }

    #[test]
    fn the_manifest_lists_each_principal_once_with_its_operations() {
        let json = manifest_json();
        assert_eq!(
            json["principals"].as_object().unwrap().len(),
            Principal::ALL.len()
        );
        assert_eq!(json["principals"]["spoke"]["role"], "SpokeRole");
        let first = &json["operations"][0];
        assert_eq!(first["principal"], "tracker");
        assert!(first["grants"][0]["context"].is_object());
        let (operations, actions) = size();
        assert!(
            operations > 30 && actions > 30,
            "{operations} operations, {actions} actions"
        );
    }
}
