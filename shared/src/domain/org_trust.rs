//! Resource and trust policies that trust an organization by its id or its paths: after an
//! account leaves that organization, a statement conditioned on `aws:PrincipalOrgID` (and
//! the five keys like it) naming it stops matching, silently. This reads a policy document
//! and lists such conditions; which documents to read (IAM trust policies, bucket, key,
//! topic, queue and function policies) is the caller's.
//!
//! Condition keys are case-insensitive in IAM; operators may carry a set qualifier
//! (`ForAnyValue:StringLike`) and an `IfExists` suffix; values are one string or a list;
//! `Statement` is one object or a list. A path value (`o-abc/r-ab12/ou-…`) names the
//! organization when its first segment is the organization id (a wildcard there, as in
//! `o-*`, names every organization, this one included).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::OrganizationId;

/// The condition keys that name an organization.
pub const ORGANIZATION_KEYS: [&str; 6] = [
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:ResourceOrgID",
    "aws:ResourceOrgPaths",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
];

/// One condition of a policy that names the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationCondition {
    /// The key as the policy spells it, e.g. `aws:PrincipalOrgID`.
    pub condition_key: String,
    /// The value naming the organization, e.g. `o-abc123` or `o-abc123/r-ab12/*`.
    pub value: String,
}

/// Every condition of `policy` (a parsed policy document) whose key names organizations and
/// whose value matches `organization`.
pub fn conditions_naming(
    policy: &Value,
    organization: &OrganizationId,
) -> Vec<OrganizationCondition> {
    let statements = match policy.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    };
    let mut found = Vec::new();
    for condition in statements
        .into_iter()
        .filter_map(|s| s.get("Condition").and_then(Value::as_object))
    {
        for keys in condition.values().filter_map(Value::as_object) {
            for (key, values) in keys {
                if !is_organization_key(key) {
                    continue;
                }
                let is_path = key.to_ascii_lowercase().ends_with("orgpaths");
                found.extend(
                    strings(values)
                        .filter(|value| names(value, organization, is_path))
                        .map(|value| OrganizationCondition {
                            condition_key: key.clone(),
                            value: value.to_owned(),
                        }),
                );
            }
        }
    }
    found
}

fn is_organization_key(key: &str) -> bool {
    ORGANIZATION_KEYS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
}

fn strings(values: &Value) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match values {
        Value::String(value) => vec![value.as_str()],
        Value::Array(values) => values.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

/// An id value names the organization when it is its id or a pattern matching it; a path
/// value when its first segment does.
fn names(value: &str, organization: &OrganizationId, is_path: bool) -> bool {
    let id = if is_path {
        value.split('/').next().unwrap_or_default()
    } else {
        value
    };
    matches_pattern(id, organization.as_str())
}

/// IAM's `StringLike` wildcards: `*` any run of characters, `?` one character. A value
/// without them is compared exactly (`StringEquals`); both operators meet here.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t) = (0, 0);
    let (mut star, mut resume) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            resume = t;
            p += 1;
        } else if let Some(at) = star {
            p = at + 1;
            resume += 1;
            t = resume;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn old() -> OrganizationId {
        OrganizationId::parse("o-oldorg0001").unwrap()
    }

    #[test]
    fn a_statement_trusting_the_organization_by_id_is_found_in_any_spelling() {
        let policy = json!({"Statement": {
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Condition": {"StringEquals": {"AWS:PrincipalOrgId": "o-oldorg0001"}}}});
        assert_eq!(
            conditions_naming(&policy, &old()),
            [OrganizationCondition {
                condition_key: "AWS:PrincipalOrgId".into(),
                value: "o-oldorg0001".into()
            }]
        );
    }

    #[test]
    fn paths_lists_qualifiers_and_wildcards_are_read() {
        let policy = json!({"Statement": [
            {"Condition": {"ForAnyValue:StringLike": {
                "aws:PrincipalOrgPaths": ["o-oldorg0001/r-ab12/ou-ab12-11111111/*", "o-other00001/*"]}}},
            {"Condition": {"StringEqualsIfExists": {"aws:SourceOrgID": ["o-other00001", "o-old*"]}}},
            {"Condition": {"StringEquals": {"aws:SourceAccount": "o-oldorg0001"}}}
        ]});
        let found = conditions_naming(&policy, &old());
        let values: Vec<&str> = found.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(values, ["o-oldorg0001/r-ab12/ou-ab12-11111111/*", "o-old*"]);
    }

    #[test]
    fn a_policy_naming_another_organization_or_none_reports_nothing() {
        let other = json!({"Statement": [{"Condition": {"StringEquals": {
            "aws:ResourceOrgID": "o-other00001"}}}]});
        assert!(conditions_naming(&other, &old()).is_empty());
        assert!(conditions_naming(&json!({"Statement": [{"Effect": "Allow"}]}), &old()).is_empty());
        assert!(conditions_naming(&json!("not a policy"), &old()).is_empty());
    }

    #[test]
    fn wildcards_match_as_iam_string_like_does() {
        assert!(matches_pattern("o-*", "o-oldorg0001"));
        assert!(matches_pattern("o-oldorg000?", "o-oldorg0001"));
        assert!(!matches_pattern("o-oldorg000", "o-oldorg0001"));
        assert!(!matches_pattern("o-x*", "o-oldorg0001"));
    }
}
