//! The CloudTrail fixtures in `tests/fixtures/cloudtrail/`, read the same way by every
//! test and bench of both crates.
//!
//! Behind the `fixtures` feature: only tests, benches and the harness enable it, never the
//! Lambda functions. Every reader panics naming the fixture, which is what a test wants.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::domain::origin::Speaker;

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

/// Where an event may come from, relative to the account it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Recorded in the account itself.
    TheAccount,
    /// Recorded in the target organization's management account.
    Target,
    /// Recorded in the account's enrolled old management account.
    OldManagement,
    /// Recorded in another customer's account.
    AnotherCustomer,
}

impl Origin {
    pub const ALL: [Origin; 4] = [
        Origin::TheAccount,
        Origin::Target,
        Origin::OldManagement,
        Origin::AnotherCustomer,
    ];

    /// The origin a speaker of the origin rules is (another customer never speaks).
    fn of(speaker: Speaker) -> Self {
        match speaker {
            Speaker::TheAccount => Origin::TheAccount,
            Speaker::TargetManagement => Origin::Target,
            Speaker::OldManagement => Origin::OldManagement,
        }
    }
}

/// The specification the trust-boundary tests hold the tracker to: from which origins an
/// event of this CloudTrail `eventName` (success or failure) may change a record, as the
/// domain's origin rules say ([`crate::domain::origin::TrailEvent::speakers`]). Anything
/// else is ignored.
pub fn allowed_origins(event_name: &str) -> Vec<Origin> {
    let event = crate::cloudtrail::trail_event(event_name)
        .unwrap_or_else(|| panic!("no origin rule for {event_name}"));
    event.speakers().iter().map(|s| Origin::of(*s)).collect()
}

/// The transfer mode of the record a fixture's event is about: billing for a billing
/// transfer's calls and handshakes, standalone for the rest.
pub fn transfer_mode_of(event: &Value) -> crate::domain::TransferMode {
    let detail = &event["detail"];
    let name = detail["eventName"].as_str().unwrap_or_default();
    let action = detail["responseElements"]["handshake"]["action"]
        .as_str()
        .unwrap_or_default();
    let billing = [
        "InviteOrganizationToTransferResponsibility",
        "TerminateResponsibilityTransfer",
    ]
    .contains(&name)
        || action.eq_ignore_ascii_case("TRANSFER_RESPONSIBILITY");
    if billing {
        crate::domain::TransferMode::billing()
    } else {
        crate::domain::TransferMode::Standalone
    }
}

/// The enrollment the fixtures' accounts make up, in `mode`: `acme`, old management account
/// 222222222222 with members 333333333333 and 444444444444 and standalone 555555555555; in
/// billing mode, the management account alone (a billing transfer moves no member).
pub fn enrollment(mode: crate::domain::TransferMode) -> crate::domain::Enrollment {
    use crate::domain::{AccountId, EnrollmentName};
    let accounts = |ids: &[&str]| -> Vec<AccountId> {
        ids.iter()
            .map(|id| AccountId::parse(*id).unwrap())
            .collect()
    };
    let billing = matches!(mode, crate::domain::TransferMode::Billing(_));
    let (members, standalone) = if billing {
        (Vec::new(), Vec::new())
    } else {
        (
            accounts(&["333333333333", "444444444444"]),
            accounts(&["555555555555"]),
        )
    };
    crate::domain::Enrollment {
        name: EnrollmentName::parse("acme").unwrap(),
        transfer_mode: mode,
        management_account: accounts(&["222222222222"]).pop(),
        members,
        standalone_accounts: standalone,
        placement: Default::default(),
    }
}
