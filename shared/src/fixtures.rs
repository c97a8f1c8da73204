//! The CloudTrail fixtures in `tests/fixtures/cloudtrail/`, read the same way by every
//! test and bench of both crates.
//!
//! Behind the `fixtures` feature: only tests, benches and the harness enable it, never the
//! Lambda functions. Every reader panics naming the fixture, which is what a test wants.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The fixtures' directory (`tests/fixtures/cloudtrail/` of the repository).
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the shared crate is in the workspace")
        .join("tests/fixtures/cloudtrail")
}

/// The path of fixture `name` (a file name such as `leave-organization.json`).
pub fn path(name: &str) -> PathBuf {
    dir().join(name)
}

/// Every fixture's file name (`*.json`), sorted.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap_or_else(|e| panic!("fixtures {}: {e}", dir().display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// The text of fixture `name`.
pub fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Fixture `name` as JSON.
pub fn json(name: &str) -> Value {
    serde_json::from_str(&text(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}
