//! A grant of the permission manifest rendered for one deployed role: the action, the
//! resource ARNs and the condition keys AWS would check, with the deployment's names in
//! place of the placeholders (documented in `shared/src/permissions.rs`). Pure: the doctor
//! simulates what this returns.
//!
//! `${request.X}` and `${response.X}` take every value the grant's `samples` give the
//! field (an empty sample: the field is absent), one check per combination; a field with
//! no sample of its own takes the sample of the field of the same name
//! (`TransactItems[*].Put.TableName` that of `TableName`). Each resource also has the
//! pattern a statement that allows the calls names: a sample that is an example id
//! (`222222222222`) becomes `*`, and so do an example ARN's literal account ids and literal
//! last segment; the deployment's names stay as they are.

use std::collections::BTreeMap;

use onboarding::permissions::{parent_arn_tail, Grant};

/// The deployment's names the placeholders stand for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub table: String,
    pub bus: String,
    pub target_organization: String,
    pub target_management_account: String,
    pub spoke_role_name: Option<String>,
    /// `None`: the placer verifies no access and assumes no role.
    pub access_role_name: Option<String>,
}

/// What each placeholder stands for in one principal's account: a value, or `None` when
/// the deployment leaves it empty on purpose (a grant that needs it is not needed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<String, Option<String>>);

impl Values {
    /// For the role `role_arn` (its partition and account) in `region`.
    pub fn for_role(role_arn: &str, region: &str, deployment: &Deployment) -> Result<Self, String> {
        let (partition, account) = partition_and_account(role_arn)?;
        let values = Self::default()
            .with("AWS::Partition", Some(partition))
            .with("AWS::Region", Some(region))
            .with("AWS::AccountId", Some(account))
            .with("RecordTable", Some(&deployment.table))
            .with("HubEventBus", Some(&deployment.bus))
            .with(
                "TargetOrganizationId",
                Some(&deployment.target_organization),
            )
            .with(
                "TargetManagementAccountId",
                Some(&deployment.target_management_account),
            )
            .with("AccessRoleName", deployment.access_role_name.as_deref());
        Ok(match &deployment.spoke_role_name {
            Some(name) => values.with("SpokeRoleName", Some(name)),
            None => values,
        })
    }

    pub fn with(mut self, name: &str, value: Option<&str>) -> Self {
        self.0.insert(name.to_owned(), value.map(str::to_owned));
        self
    }
}

/// The partition and account of an IAM ARN (`arn:aws:iam::111111111111:role/name`).
pub fn partition_and_account(arn: &str) -> Result<(&str, &str), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts[..] {
        ["arn", partition, "iam", "", account, resource]
            if account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.starts_with("role/") =>
        {
            Ok((partition, account))
        }
        _ => Err(format!(
            "{arn} is not a role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)"
        )),
    }
}

/// The manifest's condition keys that are multivalued: `aws:TagKeys` (ArrayOfString), and
/// `events:source`, one value per entry of a PutEvents call (template.yaml's conditions on
/// it are ForAllValues); every other is a single string.
const LIST_KEYS: &[&str] = &["aws:TagKeys", "events:source"];

/// A condition key and the values the call sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContextValue {
    pub key: String,
    pub values: Vec<String>,
    /// A multivalued key (IAM's ArrayOfString, [`LIST_KEYS`]).
    pub list: bool,
}

/// A resource a call acts on, and how a statement that allows such calls names it: an
/// example id of a sample becomes `*` (`account/o-…/*`), the deployment's names stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub arn: String,
    pub pattern: String,
}

/// One action on its resources with its condition keys: one simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub action: &'static str,
    pub resources: Vec<Resource>,
    pub context: Vec<ContextValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    Checks(Vec<Check>),
    /// The deployment leaves this placeholder empty: the grant is not needed.
    NotNeeded(String),
}

/// Why rendering stopped.
enum Stop {
    Unknown(String),
    NotNeeded(String),
}

/// The checks of `grant` for the principal `values` describe; an error names the
/// placeholder nothing gives a value.
pub fn render(grant: &Grant, values: &Values) -> Result<Rendered, String> {
    match checks(grant, values) {
        Ok(checks) => Ok(Rendered::Checks(checks)),
        Err(Stop::NotNeeded(name)) => Ok(Rendered::NotNeeded(name)),
        Err(Stop::Unknown(name)) => Err(name),
    }
}

/// Checks of one action and context made one: every resource in one simulation.
pub fn merge(checks: Vec<Check>) -> Vec<Check> {
    let mut merged: Vec<Check> = Vec::new();
    for check in checks {
        match merged
            .iter_mut()
            .find(|m| m.action == check.action && m.context == check.context)
        {
            Some(into) => {
                for resource in check.resources {
                    if !into.resources.iter().any(|r| r.arn == resource.arn) {
                        into.resources.push(resource);
                    }
                }
            }
            None => merged.push(check),
        }
    }
    merged
}

/// A field's value in one combination (`None`: the field is absent).
type Fields = BTreeMap<String, Option<Resource>>;

fn checks(grant: &Grant, values: &Values) -> Result<Vec<Check>, Stop> {
    let mut checks = Vec::new();
    for fields in combinations(grant, values)? {
        let resources = grant
            .resources
            .iter()
            .map(|r| fill(r, values, &fields))
            .collect::<Result<Vec<_>, _>>()?;
        let context = grant
            .context
            .iter()
            .map(|(key, value)| {
                Ok(ContextValue {
                    key: (*key).to_owned(),
                    values: vec![fill(value, values, &fields)?.arn],
                    list: LIST_KEYS.contains(key),
                })
            })
            .collect::<Result<Vec<_>, Stop>>()?;
        let check = Check {
            action: grant.action,
            resources,
            context,
        };
        if !checks.contains(&check) {
            checks.push(check);
        }
    }
    Ok(checks)
}

/// Every combination of the sample values of the fields the grant refers to.
fn combinations(grant: &Grant, values: &Values) -> Result<Vec<Fields>, Stop> {
    let texts = grant
        .resources
        .iter()
        .chain(grant.context.iter().map(|(_, v)| v));
    let mut keys: Vec<&str> = Vec::new();
    for text in texts {
        for piece in pieces(text) {
            if let Some((key, _)) = field_of(&piece) {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
    }
    let mut out = vec![Fields::new()];
    for key in keys {
        let samples = samples_of(grant, key);
        if samples.is_empty() {
            return Err(Stop::Unknown(format!(
                "${{{key}}} (the manifest has no sample)"
            )));
        }
        let mut rendered = Vec::new();
        for text in samples {
            rendered.push(match text {
                "" => None,
                text => Some(sample(text, values)?),
            });
        }
        out = out
            .into_iter()
            .flat_map(|fields| {
                rendered.iter().map(move |value| {
                    let mut fields = fields.clone();
                    fields.insert(key.to_owned(), value.clone());
                    fields
                })
            })
            .collect();
    }
    Ok(out)
}

/// A sample's value, and its pattern: `*` for a plain example (an account id); in an
/// example ARN, its literal account ids and its literal last segment made `*`.
fn sample(text: &str, values: &Values) -> Result<Resource, Stop> {
    let arn = fill(text, values, &Fields::new())?.arn;
    let parts = pieces(text);
    if !parts.iter().any(|p| matches!(p, Piece::Placeholder(_))) {
        return Ok(Resource {
            arn,
            pattern: "*".into(),
        });
    }
    let mut pattern = String::new();
    for (i, piece) in parts.iter().enumerate() {
        match piece {
            Piece::Placeholder(inner) => {
                pattern.push_str(&value_of(inner, values, &Fields::new())?.arn)
            }
            Piece::Text(text) => {
                let general = without_account_ids(text);
                match general.rfind(['/', ':']) {
                    Some(at) if i + 1 == parts.len() => {
                        pattern.push_str(&general[..=at]);
                        pattern.push('*');
                    }
                    _ => pattern.push_str(&general),
                }
            }
        }
    }
    Ok(Resource { arn, pattern })
}

/// `text` with every run of exactly 12 digits (an account id) made `*`.
fn without_account_ids(text: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        out.push_str(if digits.len() == 12 { "*" } else { &digits });
        digits.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// The samples of `key`, else those of the field of the same name.
fn samples_of<'g>(grant: &'g Grant, key: &str) -> Vec<&'g str> {
    let own: Vec<&str> = grant
        .samples
        .iter()
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .collect();
    if !own.is_empty() {
        return own;
    }
    let (kind, name) = (kind_of(key), last_name(key));
    grant
        .samples
        .iter()
        .filter(|(k, _)| kind_of(k) == kind && last_name(k) == name)
        .map(|(_, v)| *v)
        .collect()
}

fn kind_of(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
}

fn last_name(key: &str) -> &str {
    let last = key.rsplit('.').next().unwrap_or(key);
    last.split('[').next().unwrap_or(last)
}

/// `text` with every placeholder replaced, as the ARN of the call and as its pattern.
fn fill(text: &str, values: &Values, fields: &Fields) -> Result<Resource, Stop> {
    let mut out = Resource {
        arn: String::new(),
        pattern: String::new(),
    };
    for piece in pieces(text) {
        let part = match piece {
            Piece::Text(text) => Resource {
                arn: text.to_owned(),
                pattern: text.to_owned(),
            },
            Piece::Placeholder(inner) => value_of(inner, values, fields)?,
        };
        out.arn.push_str(&part.arn);
        out.pattern.push_str(&part.pattern);
    }
    Ok(out)
}

fn value_of(inner: &str, values: &Values, fields: &Fields) -> Result<Resource, Stop> {
    if let Some((key, format)) = field_of(&Piece::Placeholder(inner)) {
        let value = fields
            .get(key)
            .ok_or_else(|| Stop::Unknown(format!("${{{inner}}}")))?;
        let organization = values
            .0
            .get("TargetOrganizationId")
            .cloned()
            .flatten()
            .unwrap_or_default();
        let shaped = |v: &str| match format {
            Some("parent") => parent_arn_tail(&organization, v),
            Some(f) => f.replace('%', v),
            None => v.to_owned(),
        };
        return Ok(match value {
            Some(v) => Resource {
                arn: shaped(&v.arn),
                pattern: shaped(&v.pattern),
            },
            None => Resource {
                arn: String::new(),
                pattern: String::new(),
            },
        });
    }
    match values.0.get(inner) {
        Some(Some(value)) => Ok(Resource {
            arn: value.clone(),
            pattern: value.clone(),
        }),
        Some(None) => Err(Stop::NotNeeded(inner.to_owned())),
        None => Err(Stop::Unknown(format!("${{{inner}}}"))),
    }
}

/// A manifest string cut into literal text and the insides of its `${…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        if start > 0 {
            found.push(Piece::Text(&rest[..start]));
        }
        found.push(Piece::Placeholder(&rest[start + 2..start + len]));
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        found.push(Piece::Text(rest));
    }
    found
}

/// A request or response field: its key (`request.PATH`) and its format (`|/index/%`).
fn field_of<'a>(piece: &Piece<'a>) -> Option<(&'a str, Option<&'a str>)> {
    let Piece::Placeholder(inner) = *piece else {
        return None;
    };
    if !(inner.starts_with("request.") || inner.starts_with("response.")) {
        return None;
    }
    Some(match inner.split_once('|') {
        Some((key, format)) => (key, Some(format)),
        None => (inner, None),
    })
}

#[cfg(test)]
mod tests {
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
                arn: "arn:aws:organizations::123456789012:handshake/o-exampleorgid/invite/h-1"
                    .into(),
                pattern: "arn:aws:organizations::123456789012:handshake/o-exampleorgid/invite/*"
                    .into(),
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
        assert!(all.iter().any(
            |a| a.as_str() == "arn:aws:organizations::123456789012:root/o-exampleorgid/r-ab12"
        ));
        assert!(all.iter().any(|a| a.as_str()
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
                arn: "arn:aws:organizations::123456789012:account/o-exampleorgid/222222222222"
                    .into(),
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
}
