//! The SAM template deploys every function crate, with every environment variable its
//! `Config` reads: a function added or a variable read without updating template.yaml
//! fails here, not at deploy time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml::Value;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// binary name -> environment variable names, for every AWS::Serverless::Function.
fn functions_in_template() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    let template: Value = serde_yaml::from_str(&text).unwrap();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let mut functions = BTreeMap::new();
    for (_, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("BuildProperties.Binary")
            .to_owned();
        let variables = resource["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .map(|vars| {
                vars.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let runtime = resource["Properties"]["Runtime"]
            .as_str()
            .or(template["Globals"]["Function"]["Runtime"].as_str());
        assert_eq!(runtime, Some("provided.al2023"), "{binary}");
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{binary}"
        );
        functions.insert(binary, variables);
    }
    functions
}

fn function_crates() -> Vec<String> {
    let mut crates: Vec<String> = std::fs::read_dir(workspace().join("functions"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    crates
}

#[test]
fn every_function_crate_has_its_resource_in_the_template() {
    let template = functions_in_template();
    let crates = function_crates();
    assert!(!crates.is_empty());
    for name in &crates {
        assert!(
            template.contains_key(name),
            "functions/{name} has no AWS::Serverless::Function in template.yaml"
        );
    }
    for binary in template.keys() {
        assert!(
            crates.contains(binary),
            "template.yaml builds {binary}, which no crate under functions/ provides"
        );
    }
}

#[test]
fn every_variable_a_config_reads_is_set_in_the_template() {
    let template = functions_in_template();
    for name in function_crates() {
        let set = &template[&name];
        for variable in onboarding::config::variables(&name) {
            assert!(
                set.contains(*variable),
                "{name}: template.yaml does not set {variable}"
            );
        }
    }
}
