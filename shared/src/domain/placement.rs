//! Where an account lands once it joined: the organizational unit its enrollment names,
//! the tags it carries, and the proof that the target can reach it. Joining is not the end
//! of onboarding for the target's operators: an invited account arrives in the root,
//! untagged, without a role they can use.
//!
//! An enrollment that names no OU and no tag still goes through the placer: its accounts
//! are neither moved nor tagged, but placed only once the target can reach them (the
//! access check). Only accounts that joined through this onboarding are moved and tagged
//! ([`joined_through_onboarding`]). A billing transfer moves no account: it is placed as
//! it is transferred.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::phase::{Phase, Role};
use super::record::OnboardingRecord;

/// The tag naming the enrollment an account came with.
pub const ENROLLMENT_TAG: &str = "org-onboarding:enrollment";
/// The tag naming the organization an account left (`none` for a standalone account).
pub const SOURCE_ORGANIZATION_TAG: &str = "org-onboarding:source-organization";
/// Tags per account. AWS: "Each resource can have up to 50 tags" (Resource Groups Tagging
/// API, TagResources: https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_TagResources.html),
/// and Organizations' TagResource fails as a whole when a request would exceed the maximum
/// number of tags for a resource
/// (https://docs.aws.amazon.com/organizations/latest/APIReference/API_TagResource.html).
/// Keys have 1 to 128 characters, values 0 to 256
/// (https://docs.aws.amazon.com/organizations/latest/APIReference/API_Tag.html): [`parse_tag`].
pub const MAX_TAGS: usize = 50;

/// An organizational unit of the target, as an enrollment names it (stored as it is
/// written: `ou-…` or a path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum OuRef {
    /// `ou-…`: one unit, wherever it is.
    Id(String),
    /// `Customers/Acme`: unit names from the root down.
    Path(Vec<String>),
}

/// Why an OU or a tag given at enrollment cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("invalid OU {0:?}: give an OU id (ou-…) or a path of unit names under the root, such as Customers/Acme")]
    Ou(String),
    #[error("invalid tag {0:?}: {1}")]
    Tag(String, &'static str),
    #[error("{0} tags: an account carries at most {MAX_TAGS}, the product's own two included")]
    TooManyTags(usize),
}

impl OuRef {
    pub fn parse(text: &str) -> Result<Self, PlacementError> {
        let text = text.trim();
        let is_id = text.starts_with("ou-")
            && text.len() > 3
            && text[3..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if is_id {
            return Ok(OuRef::Id(text.to_owned()));
        }
        let names: Vec<String> = text
            .trim_matches('/')
            .split('/')
            .map(|n| n.trim().to_owned())
            .collect();
        // Organizations: OU names are 1 to 128 characters.
        if names
            .iter()
            .any(|n| n.is_empty() || n.chars().count() > 128)
        {
            return Err(PlacementError::Ou(text.to_owned()));
        }
        Ok(OuRef::Path(names))
    }
}

impl From<OuRef> for String {
    fn from(ou: OuRef) -> String {
        ou.to_string()
    }
}

impl TryFrom<String> for OuRef {
    type Error = PlacementError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        OuRef::parse(&text)
    }
}

impl std::fmt::Display for OuRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OuRef::Id(id) => f.write_str(id),
            OuRef::Path(names) => f.write_str(&names.join("/")),
        }
    }
}

/// Reads `KEY=VALUE` as a tag an enrollment asks for, with Organizations' limits (key 1 to
/// 128 characters, value up to 256, no `aws:` prefix, which AWS reserves).
pub fn parse_tag(text: &str) -> Result<(String, String), PlacementError> {
    let invalid = |why| PlacementError::Tag(text.to_owned(), why);
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| invalid("expected KEY=VALUE"))?;
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() || key.chars().count() > 128 {
        return Err(invalid("the key must have 1 to 128 characters"));
    }
    if value.chars().count() > 256 {
        return Err(invalid("the value may have at most 256 characters"));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(invalid("keys starting with aws: are reserved by AWS"));
    }
    if key.starts_with("org-onboarding:") {
        return Err(invalid(
            "keys starting with org-onboarding: are the product's own",
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Checks that the tags fit an account beside the product's own two.
pub fn check_tag_count(tags: &BTreeMap<String, String>) -> Result<(), PlacementError> {
    let total = tags.len() + 2;
    if total > MAX_TAGS {
        return Err(PlacementError::TooManyTags(total));
    }
    Ok(())
}

/// The proof that onboarding ended: where the account is, and how the target reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    /// The OU (or root) id the account was found in or moved to; `None` when no OU was
    /// asked, or for a billing transfer.
    pub placed_in: Option<String>,
    /// The role the target assumed in the account; `None` when access was not verified.
    pub access_role: Option<String>,
    pub at: DateTime<Utc>,
}

/// Whether the enrollment asked for an OU or tags: only then does the placer move or tag.
pub fn asks_ou_or_tags(record: &OnboardingRecord) -> bool {
    record.ou.is_some() || !record.tags.is_empty()
}

/// Whether the joined account came in through this onboarding: the record names the
/// handshake that brought it in, an invitation of the target it took while awaiting one
/// (a record that joined without it was already a member, or was brought in by someone
/// else). Only such an account is moved and tagged.
pub fn joined_through_onboarding(record: &OnboardingRecord) -> bool {
    record.phase == record.journey().offer_phases().arrived && record.handshake.is_some()
}

/// A joined account the placer still has to place. Once placed, a record is left alone:
/// an account a person moves or retags afterwards stays where that person put it.
pub fn awaits_placement(record: &OnboardingRecord) -> bool {
    record.phase == Phase::Joined && record.placed.is_none()
}

/// Every tag the account should carry: the enrollment's, then the product's own two. The
/// source organization is `none` for an account that was standalone, and left out while it
/// is not known (given at enrollment, or read by the reconciler while the account is in it).
pub fn wanted_tags(record: &OnboardingRecord) -> BTreeMap<String, String> {
    let mut tags = record.tags.clone();
    tags.insert(ENROLLMENT_TAG.to_owned(), record.enrollment.to_string());
    let source = match (&record.source_organization, record.role) {
        (Some(organization), _) => Some(organization.to_string()),
        (None, Role::Standalone) => Some("none".to_owned()),
        (None, _) => None,
    };
    if let Some(source) = source {
        tags.insert(SOURCE_ORGANIZATION_TAG.to_owned(), source);
    }
    tags
}

/// The wanted tags the account lacks or carries with another value.
pub fn missing_tags(
    wanted: &BTreeMap<String, String>,
    present: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    wanted
        .iter()
        .filter(|(key, value)| present.get(*key) != Some(*value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ou_is_an_id_or_a_path_of_names() {
        assert_eq!(
            OuRef::parse("ou-ab12-cdef3456").unwrap(),
            OuRef::Id("ou-ab12-cdef3456".into())
        );
        assert_eq!(
            OuRef::parse("/Customers/Acme/").unwrap(),
            OuRef::Path(vec!["Customers".into(), "Acme".into()])
        );
        assert_eq!(
            OuRef::parse("Customers/Acme").unwrap().to_string(),
            "Customers/Acme"
        );
        assert!(OuRef::parse("Customers//Acme").is_err());
        assert!(OuRef::parse("").is_err());
    }

    #[test]
    fn tags_follow_the_organizations_limits() {
        assert_eq!(
            parse_tag("cost-center = 42").unwrap(),
            ("cost-center".into(), "42".into())
        );
        assert_eq!(
            parse_tag("empty=").unwrap(),
            ("empty".into(), String::new())
        );
        for bad in ["novalue", "=v", "aws:x=1", "org-onboarding:enrollment=x"] {
            assert!(parse_tag(bad).is_err(), "{bad}");
        }
        let many: BTreeMap<String, String> =
            (0..49).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(check_tag_count(&many).is_err());
    }

    #[test]
    fn only_the_tags_missing_or_different_are_applied() {
        let wanted = BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())]);
        let present = BTreeMap::from([("a".into(), "1".into()), ("b".into(), "9".into())]);
        assert_eq!(
            missing_tags(&wanted, &present),
            BTreeMap::from([("b".into(), "2".into())])
        );
        assert!(missing_tags(&wanted, &wanted).is_empty());
    }
}
