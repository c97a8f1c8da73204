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
mod tests;
