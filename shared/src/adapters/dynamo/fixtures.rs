//! The stored-item fixtures in `tests/fixtures/stored/<release>/items.json`: items as each
//! earlier release wrote them, in DynamoDB JSON (`{"S": …}`, `{"N": …}`, what
//! `aws dynamodb put-item --item` takes), read the same way by this crate's tests and the
//! end-to-end tests. Behind the `fixtures` feature; every reader panics naming the file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

/// One stored item.
pub type Item = HashMap<String, AttributeValue>;

/// The fixtures' directory (`tests/fixtures/stored/` of the repository).
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the shared crate is in the workspace")
        .join("tests/fixtures/stored")
}

/// Every release with fixtures, oldest first (directories named `<n>-<what it lacked>`).
pub fn releases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap_or_else(|e| panic!("stored fixtures {}: {e}", dir().display()))
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The items release `release` wrote, each account id of `accounts` (fixture id -> id)
/// replaced wherever it appears (keys, attributes, notifications).
pub fn items_with_accounts(release: &str, accounts: &BTreeMap<String, String>) -> Vec<Item> {
    let path = dir().join(release).join("items.json");
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (fixture, id) in accounts {
        text = text.replace(fixture.as_str(), id);
    }
    let items: Vec<Value> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    items
        .iter()
        .map(|item| item_from_json(item).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// The items release `release` wrote, as they are.
pub fn items(release: &str) -> Vec<Item> {
    items_with_accounts(release, &BTreeMap::new())
}

/// Every 12-digit account id the fixtures of `release` name in a key.
pub fn account_ids(release: &str) -> Vec<String> {
    let mut ids: Vec<String> = items(release)
        .iter()
        .filter_map(|item| match item.get("pk") {
            Some(AttributeValue::S(pk)) => pk.strip_prefix("ACCOUNT#").map(str::to_owned),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// An item in DynamoDB JSON.
pub fn item_from_json(value: &Value) -> Result<Item, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("an item is an object, not {value}"))?;
    object
        .iter()
        .map(|(name, value)| Ok((name.clone(), attribute(value)?)))
        .collect()
}

fn attribute(value: &Value) -> Result<AttributeValue, String> {
    let typed = value
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| format!("an attribute has one type, not {value}"))?;
    let (kind, inner) = typed.iter().next().expect("one entry");
    let text = || {
        inner
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{kind} takes a string, not {inner}"))
    };
    let list = || {
        inner
            .as_array()
            .ok_or_else(|| format!("{kind} takes a list, not {inner}"))
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(text()?),
        "N" => AttributeValue::N(text()?),
        "B" => AttributeValue::B(Blob::new(text()?.into_bytes())),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or("BOOL takes a boolean")?),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(list()?.iter().map(attribute).collect::<Result<_, _>>()?),
        "M" => AttributeValue::M(item_from_json(inner)?),
        "SS" | "NS" => {
            let values = list()?
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or("a set of strings"))
                .collect::<Result<Vec<_>, _>>()?;
            if kind == "SS" {
                AttributeValue::Ss(values)
            } else {
                AttributeValue::Ns(values)
            }
        }
        other => return Err(format!("unknown attribute type {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::super::codec::{outbox_from_item, record_from_item};
    use super::super::counts::parse;
    use super::super::keys::SCHEMA_ATTRIBUTE;
    use super::*;
    use crate::domain::{AccountId, EnrollmentName};

    fn text(item: &Item, name: &str) -> String {
        match item.get(name) {
            Some(AttributeValue::S(value)) => value.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn every_release_before_this_one_has_fixtures() {
        assert_eq!(
            releases(),
            [
                "1-before-counters",
                "2-before-to-place",
                "3-before-schema-version"
            ]
        );
    }

    #[test]
    fn every_item_an_earlier_release_wrote_decodes_with_todays_code() {
        for release in releases() {
            let items = items(&release);
            assert!(!items.is_empty(), "{release}");
            for item in items {
                let (pk, sk) = (text(&item, "pk"), text(&item, "sk"));
                let what = format!("{release}: {pk} / {sk}");
                assert!(
                    !item.contains_key(SCHEMA_ATTRIBUTE),
                    "{what}: no schema yet"
                );
                if sk == "RECORD" {
                    let record = record_from_item(item.clone()).expect(&what);
                    assert_eq!(format!("ACCOUNT#{}", record.account_id), pk, "{what}");
                } else if sk == "COUNTS" {
                    let name = pk.strip_prefix("ENROLLMENT#").expect(&what);
                    let counts = parse(&item, &EnrollmentName::parse(name).unwrap()).expect(&what);
                    assert!(counts.partial, "{what}: never a baseline");
                } else if pk.starts_with("OUTBOX#") {
                    let outbox = outbox_from_item(item.clone()).expect(&what);
                    assert!(!outbox.notifications.is_empty(), "{what}");
                } else if sk == "CURSOR" {
                    if let Some(after) = item.get("after") {
                        let AttributeValue::S(after) = after else {
                            panic!("{what}")
                        };
                        AccountId::parse(after).expect(&what);
                    }
                } else {
                    assert_eq!(sk, "EVENT", "{what}: a kind of item the fixtures know");
                }
            }
        }
    }

    #[test]
    fn account_ids_are_replaced_everywhere() {
        let accounts = BTreeMap::from([("100000000002".to_owned(), "222233334444".to_owned())]);
        let items = items_with_accounts("1-before-counters", &accounts);
        let outbox = items
            .iter()
            .find(|i| text(i, "pk").starts_with("OUTBOX#"))
            .unwrap();
        assert_eq!(text(outbox, "pk"), "OUTBOX#222233334444");
        let notification = format!("{:?}", outbox["notifications"]);
        assert!(notification.contains("222233334444") && !notification.contains("100000000002"));
        assert_eq!(
            account_ids("1-before-counters"),
            ["100000000001", "100000000002"]
        );
    }
}
