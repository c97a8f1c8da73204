//! What each fuzz target drives, through the library's public API only: the input is
//! whatever a customer, a spreadsheet or a policy author can put in front of the product,
//! and no input may panic. `make fuzz` runs each target for `FUZZ_SECONDS` from a corpus
//! seeded with the CloudTrail fixtures and `seeds/`. A crash found here becomes a unit
//! test, with the crashing input, in the normal test suite.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{TimeZone, Utc};
use onboarding::cloudtrail::{parse_event, parse_event_str};
use onboarding::domain::preflight::{trusting_policies, PolicyDocument};
use onboarding::domain::{
    apply, conditions_naming, may_change, AccountId, DomainEvent, Enrollment, EnrollmentName,
    OnboardingRecord, OrganizationId, Target, TransferMode,
};
use serde_json::Value;

/// onboardctl's `enroll --file` reader, compiled in as it is (onboardctl is a binary).
#[path = "../../onboardctl/src/accounts_file.rs"]
#[allow(dead_code)]
mod accounts_file;

/// The fixtures' target organization (tests/fixtures/cloudtrail/README.md).
fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-exampleorgid").expect("organization id"),
        management_account: AccountId::parse("111111111111").expect("account id"),
    }
}

fn account(id: &str) -> AccountId {
    AccountId::parse(id).expect("account id")
}

/// The fixtures' customer enrolled in each mode, plus `extra` (an account an event names)
/// as a standalone account: every record an event could be about.
fn records(extra: &[AccountId]) -> Vec<OnboardingRecord> {
    let now = Utc.timestamp_opt(1_790_000_000, 0).unwrap();
    let known = [
        "222222222222",
        "333333333333",
        "444444444444",
        "555555555555",
    ];
    let mut all = Vec::new();
    for mode in [
        TransferMode::Direct,
        TransferMode::Standalone,
        TransferMode::billing(),
    ] {
        let billing = matches!(mode, TransferMode::Billing(_));
        let extra: Vec<AccountId> = extra
            .iter()
            .filter(|a| !known.contains(&a.as_str()) && !billing)
            .cloned()
            .collect();
        let enrollment = Enrollment {
            name: EnrollmentName::parse(mode.as_str()).expect("enrollment name"),
            transfer_mode: mode,
            management_account: Some(account("222222222222")),
            members: if billing {
                vec![]
            } else {
                vec![account("333333333333"), account("444444444444")]
            },
            standalone_accounts: if billing {
                vec![]
            } else {
                let mut standalone = vec![account("555555555555")];
                standalone.extend(extra);
                standalone
            },
            placement: Default::default(),
        };
        all.extend(enrollment.records(now).expect("the enrollment is valid"));
    }
    all
}

/// The CloudTrail event path as the tracker takes it: parse (one event, or a JSON array of
/// events applied in order), turn the end of a transfer to the customer, then the origin
/// rules and the transition on every record the event is about, carrying each record
/// forward; every record must survive the store's round trip.
pub fn cloudtrail_event(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let events: Vec<Value> = match serde_json::from_str(text) {
        Ok(Value::Array(items)) => items,
        Ok(value) => vec![value],
        Err(_) => {
            // Never panics on text that is not JSON either.
            assert!(parse_event_str(text).is_err());
            return;
        }
    };
    let target = target();
    let parsed: Vec<DomainEvent> = events
        .iter()
        .filter_map(|event| parse_event(event).ok())
        .map(|event| event.about_customer(&target.management_account))
        .collect();
    if parsed.is_empty() {
        return;
    }
    let extra: Vec<AccountId> = parsed.iter().map(|e| e.account.clone()).collect();
    let mut by_account: BTreeMap<(String, AccountId), OnboardingRecord> = records(&extra)
        .into_iter()
        .map(|r| ((r.enrollment.to_string(), r.account_id.clone()), r))
        .collect();
    let now = Utc.timestamp_opt(1_790_000_500, 0).unwrap();
    for event in &parsed {
        for ((_, account), record) in by_account.iter_mut() {
            if *account != event.account || may_change(event, record, &target).is_err() {
                continue;
            }
            let transition = apply(record, event, &target, now);
            let _ = onboarding::notifications::render(
                &transition.record,
                &transition.notifications,
                &event.id,
            );
            *record = transition.record;
        }
    }
    for record in by_account.values() {
        let stored = serde_json::to_string(record).expect("a record serializes");
        let read: OnboardingRecord = serde_json::from_str(&stored).expect("a record reads back");
        assert_eq!(&read, record, "a record survives the store's round trip");
    }
}

/// `onboardctl enroll --file`: any bytes give an enrollment or an error, never a panic.
pub fn accounts_csv(data: &[u8]) {
    let mut enrollment = Enrollment {
        name: EnrollmentName::parse("fuzz").expect("enrollment name"),
        transfer_mode: TransferMode::Standalone,
        management_account: None,
        members: Vec::new(),
        standalone_accounts: Vec::new(),
        placement: Default::default(),
    };
    if accounts_file::read_bytes_into(data, Path::new("accounts.csv"), &mut enrollment).is_ok() {
        // What enroll does next with what was read.
        let _ = enrollment.records(Utc.timestamp_opt(1_790_000_000, 0).unwrap());
    }
}

/// The preflight's policy reader: a policy document (as text, as the preflight reads it)
/// and an organization id taken from the input's first line when it is one.
pub fn org_trust_policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, rest) = text.split_once('\n').unwrap_or(("", text));
    let organization = OrganizationId::parse(first.trim())
        .unwrap_or_else(|_| OrganizationId::parse("o-oldorg0001").expect("organization id"));
    let documents = [PolicyDocument {
        resource: "arn:aws:s3:::fuzz".to_owned(),
        document: rest.to_owned(),
    }];
    let found = trusting_policies(&documents, &organization);
    if let Ok(policy) = serde_json::from_str::<Value>(rest) {
        assert_eq!(conditions_naming(&policy, &organization).len(), found.len());
    }
}
