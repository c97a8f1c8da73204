//! Reading the templates as CloudFormation would deploy them, for the contract tests:
//! the record table's indexes under a given `RecordTableSchema` (its `!If` entries
//! resolved).

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

/// A template of the workspace (`template.yaml`, `infra/spoke.yaml`), tags kept.
pub fn load(file: &str) -> Value {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// An index's key: (hash attribute, range attribute).
pub type IndexKey = (String, String);

/// The record table's global secondary indexes when deployed with `RecordTableSchema`
/// = `schema`: an entry `!If [HasPlacementIndex, index, !Ref AWS::NoValue]` is there only
/// when its condition holds (the template's conditions on that parameter are
/// `!Equals [!Ref RecordTableSchema, "N"]`).
pub fn record_table_indexes(template: &Value, schema: &str) -> BTreeMap<String, IndexKey> {
    let entries = template["Resources"]["RecordTable"]["Properties"]["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("GlobalSecondaryIndexes");
    entries
        .iter()
        .filter_map(|entry| match entry {
            Value::Tagged(tagged) if tagged.tag == "If" => {
                let operands = tagged.value.as_sequence().expect("!If operands");
                let condition = operands[0].as_str().expect("!If condition name");
                holds(template, condition, schema).then(|| operands[1].clone())
            }
            index => Some(index.clone()),
        })
        .map(|index| {
            let key = |kind: &str| {
                index["KeySchema"]
                    .as_sequence()
                    .expect("KeySchema")
                    .iter()
                    .find(|k| k["KeyType"].as_str() == Some(kind))
                    .and_then(|k| k["AttributeName"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                index["IndexName"].as_str().expect("IndexName").to_owned(),
                (key("HASH"), key("RANGE")),
            )
        })
        .collect()
}

/// Whether `condition` (an `!Equals [!Ref RecordTableSchema, "N"]`) holds for `schema`.
fn holds(template: &Value, condition: &str, schema: &str) -> bool {
    let Value::Tagged(equals) = &template["Conditions"][condition] else {
        panic!("condition {condition}: expected !Equals [!Ref RecordTableSchema, \"N\"]");
    };
    let operands = equals.value.as_sequence().expect("!Equals operands");
    let Value::Tagged(reference) = &operands[0] else {
        panic!("condition {condition}: expected !Ref RecordTableSchema first");
    };
    assert_eq!(reference.value.as_str(), Some("RecordTableSchema"));
    operands[1].as_str() == Some(schema)
}

/// The parameter's default and its allowed values.
pub fn parameter_values(template: &Value, name: &str) -> (String, Vec<String>) {
    let parameter = &template["Parameters"][name];
    let default = parameter["Default"].as_str().unwrap_or_default().to_owned();
    let allowed = parameter["AllowedValues"]
        .as_sequence()
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (default, allowed)
}

/// The lines between `# begin generated NAME` and `# end generated NAME` (markers at any
/// indentation), for each occurrence of the block in `text`.
pub fn generated_blocks(text: &str, name: &str) -> Vec<String> {
    let (begin, end) = markers(name);
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.split_inclusive('\n') {
        match line.trim() {
            l if l == begin => current = Some(String::new()),
            l if l == end => blocks.extend(current.take()),
            _ => {
                if let Some(block) = current.as_mut() {
                    block.push_str(line);
                }
            }
        }
    }
    blocks
}

/// `text` with every block named `name` replaced by `generated`.
pub fn replace_generated_blocks(text: &str, name: &str, generated: &str) -> String {
    let (begin, end) = markers(name);
    let mut out = String::new();
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        match line.trim() {
            l if l == begin => {
                out.push_str(line);
                out.push_str(generated);
                inside = true;
            }
            l if l == end => {
                out.push_str(line);
                inside = false;
            }
            _ if inside => {}
            _ => out.push_str(line),
        }
    }
    out
}

fn markers(name: &str) -> (String, String) {
    (
        format!("# begin generated {name}"),
        format!("# end generated {name}"),
    )
}
