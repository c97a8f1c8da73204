//! The contract of `onboardctl` (issue 7, point 1), checked by running the built binary
//! against the emulator the way an operator would: environment variables in, exit
//! status, one-line errors and JSON out.
//!
//! The binary is built by `cargo build -p onboardctl --message-format=json` (once per
//! test process; a no-op when `cargo nextest run --workspace` already built it) and found
//! from cargo's own artifact message, so it works whatever `CARGO_TARGET_DIR` is.
//! Each test runs it with a cleared environment: only the variables it sets, a fresh
//! table and bus, and the target organization of the CloudTrail fixtures
//! (`o-exampleorgid`, management `111111111111`), so the fixtures replay unchanged. The
//! operator's keys are an admin's of `111111111111`, which manages an organization of the
//! emulator (the emulator chooses its id, so it is not the fixtures'): `enroll` reads its
//! accounts to refuse enrolling any of them.

use std::collections::HashMap;
use std::path::PathBuf;

use onboarding::domain::Phase;
use onboarding::fixtures::json as fixture;
use onboarding_e2e::accounts::{unique_account_id, AwsAccount, SpokeRole, SPOKE_ROLE_NAME};
use onboarding_e2e::cli::{operator_environment, Run};
use onboarding_e2e::Emulator;
use serde_json::Value;

/// The fixtures' accounts (see `fixtures/cloudtrail/README.md`).
const MANAGEMENT: &str = "222222222222";
const MEMBER: &str = "333333333333";
const MEMBER_2: &str = "444444444444";
const STANDALONE: &str = "555555555555";
const FIXTURE_HANDSHAKE: &str = "h-examplehandshakeid111";
/// The fixtures' target management account: the operator's (the hub's) account.
const TARGET_MANAGEMENT: &str = "111111111111";

/// An operator's environment: the emulator's endpoint, an admin's keys, the product's
/// variables.
struct Operator {
    env: HashMap<&'static str, String>,
    home: PathBuf,
    /// The account the operator's keys belong to (the hub, for the spoke roles).
    account_id: String,
    /// The organization that account manages on the emulator.
    organization: String,
}

impl Operator {
    /// A fresh account on the shared emulator, with the product's variables set for a
    /// table and a bus of its own (not created: run `init`).
    async fn new() -> Operator {
        let emulator = Emulator::shared().await.expect("emulator");
        let admin = AwsAccount::create(emulator, TARGET_MANAGEMENT)
            .await
            .expect("account");
        // Once per emulator: a test process may run several tests on it.
        let _ = admin.create_organization().await;
        let organization = admin
            .organizations()
            .describe_organization()
            .send()
            .await
            .expect("DescribeOrganization")
            .organization()
            .and_then(|o| o.id())
            .expect("an organization id")
            .to_owned();
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let (mut env, home) = operator_environment(emulator, &admin, suffix).await;
        env.extend([
            ("TABLE_NAME", format!("cli-{suffix}")),
            ("EVENT_BUS_NAME", format!("cli-bus-{suffix}")),
            ("TARGET_ORGANIZATION_ID", "o-exampleorgid".to_string()),
            ("TARGET_MANAGEMENT_ACCOUNT_ID", "111111111111".to_string()),
        ]);
        Operator {
            env,
            home,
            account_id: admin.account_id().to_owned(),
            organization,
        }
    }

    /// The spoke variables set, and a customer management account on the emulator with
    /// its own organization and the spoke role trusting the operator's account (as
    /// infra/spoke.yaml does): the preflight can reach it. It has no contact information
    /// (the emulator has none until PutContactInformation).
    async fn with_reachable_management_account(self) -> (Operator, AwsAccount) {
        let emulator = Emulator::shared().await.expect("emulator");
        let customer = AwsAccount::create_unique(emulator).await.expect("account");
        customer.create_organization().await.expect("organization");
        let external_id = format!("cli-external-{}", self.account_id);
        customer
            .create_spoke_role(&SpokeRole::new(&self.account_id, &external_id))
            .await
            .expect("spoke role");
        let operator = self
            .with("SPOKE_ROLE_NAME", SPOKE_ROLE_NAME)
            .with("SPOKE_EXTERNAL_ID", external_id);
        (operator, customer)
    }

    /// Runs `onboardctl args…` with exactly this environment (and `HOME` pointing to an
    /// empty directory, so no profile file of the machine is read).
    fn run(&self, args: &[&str]) -> Run {
        Run::of(args, &self.home, &self.env)
    }

    /// Runs and requires exit status 0.
    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "onboardctl {args:?}: {run:#?}");
        run
    }

    fn without(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.insert(name, value.into());
        self
    }

    /// `init`, then the fixtures' customer enrolled in standalone mode.
    fn enrolled(self) -> Self {
        self.ok(&["init"]);
        self.ok(&[
            "enroll",
            "acme",
            "--mode",
            "standalone",
            "--management",
            MANAGEMENT,
            "--member",
            MEMBER,
            "--member",
            MEMBER_2,
            "--standalone",
            STANDALONE,
        ]);
        self
    }
}

/// A scratch directory for event files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "onboardctl-{name}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The path of fixture `name`, as a command-line argument.
fn fixture_path(name: &str) -> String {
    onboarding::fixtures::path(name).display().to_string()
}

fn assert_one_line_naming(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "{run:#?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {run:#?}");
    assert!(lines[0].contains(needle), "{needle:?} not named: {run:#?}");
    assert!(!run.stderr.contains("backtrace"), "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

/// The record fields every consumer of the JSON relies on.
fn assert_record_contract(record: &Value) {
    let account = record["account_id"].as_str().expect("account_id string");
    assert!(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    assert!(record["enrollment"].is_string(), "{record:#}");
    assert!(
        ["management", "member", "standalone"].contains(&record["role"].as_str().unwrap_or("")),
        "{record:#}"
    );
    let phase = record["phase"].as_str().expect("phase string");
    assert!(
        Phase::ALL.iter().any(|p| p.as_str() == phase),
        "unknown phase {phase}"
    );
    assert!(
        record["handshake_id"].is_null() || record["handshake_id"].is_string(),
        "{record:#}"
    );
    for blocker in record["blockers"].as_array().expect("blockers array") {
        for field in ["code", "message", "remediation"] {
            assert!(
                blocker[field].as_str().is_some_and(|s| !s.is_empty()),
                "blocker without {field}: {blocker:#}"
            );
        }
    }
    assert!(
        record["version"].as_u64().is_some_and(|v| v >= 1),
        "{record:#}"
    );
}

#[test]
fn a_missing_table_name_is_one_line_naming_it_with_exit_status_2() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).without("TABLE_NAME");
    for args in [&["status"][..], &["init"], &["show", STANDALONE]] {
        let run = operator.run(args);
        assert_one_line_naming(&run, "TABLE_NAME");
    }
}

#[test]
fn a_missing_target_variable_is_named_by_replay() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime
        .block_on(Operator::new())
        .without("TARGET_ORGANIZATION_ID");
    let run = operator.run(&["replay", &fixture_path("leave-organization.json")]);
    assert_one_line_naming(&run, "TARGET_ORGANIZATION_ID");
}

#[test]
fn an_unreachable_endpoint_is_named_with_exit_status_2() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let operator = runtime
        .block_on(Operator::new())
        .with("AWS_ENDPOINT_URL", &endpoint);
    for args in [&["status"][..], &["init"], &["show", STANDALONE]] {
        let run = operator.run(args);
        assert_one_line_naming(&run, &endpoint);
    }
}

#[test]
fn an_unknown_or_malformed_account_exits_2_naming_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).enrolled();
    let run = operator.run(&["show", "999999999999"]);
    assert_one_line_naming(&run, "999999999999");
    assert!(run.stderr.contains("not enrolled"), "{run:#?}");
    let run = operator.run(&["show", "12345"]);
    assert_one_line_naming(&run, "12345");
    let run = operator.run(&["invoke", "inviter", "--account", "999999999999"]);
    assert_one_line_naming(&run, "999999999999");
}

#[test]
fn init_is_idempotent() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new());
    let table = operator.env["TABLE_NAME"].clone();
    let bus = operator.env["EVENT_BUS_NAME"].clone();
    let first = operator.ok(&["init"]);
    assert!(
        first.stdout.contains(&format!("table {table}: ready")),
        "{first:#?}"
    );
    assert!(
        first.stdout.contains(&format!("event bus {bus}: created")),
        "{first:#?}"
    );
    let second = operator.ok(&["init"]);
    assert!(
        second.stdout.contains(&format!("table {table}: ready")),
        "{second:#?}"
    );
    assert!(
        second.stdout.contains(&format!("event bus {bus}: ready")),
        "{second:#?}"
    );
    // The table works after the second init.
    operator.ok(&["enroll", "solo", "--standalone", STANDALONE]);
}

#[test]
fn enroll_is_idempotent() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).enrolled();
    let versions = || {
        let status = operator.ok(&["status", "--json"]).json();
        let records = status
            .as_array()
            .expect("status --json is an array")
            .clone();
        records
            .iter()
            .map(|r| (r["account_id"].to_string(), r["version"].clone()))
            .collect::<Vec<_>>()
    };
    let before = versions();
    let again = operator.ok(&[
        "enroll",
        "acme",
        "--mode",
        "standalone",
        "--management",
        MANAGEMENT,
        "--member",
        MEMBER,
        "--member",
        MEMBER_2,
        "--standalone",
        STANDALONE,
    ]);
    assert_eq!(
        again.stdout.matches("already enrolled").count(),
        4,
        "{again:#?}"
    );
    assert!(again
        .stdout
        .contains("enrollment acme (standalone mode): 4 accounts"));
    assert_eq!(versions(), before, "nothing changed");

    // The same accounts from a CSV file: still enrolled once.
    let dir = scratch("csv");
    let csv = dir.join("accounts.csv");
    std::fs::write(
        &csv,
        format!("account_id,role\n{MANAGEMENT},management\n{MEMBER},member\n\n{STANDALONE},standalone\n"),
    )
    .unwrap();
    let from_file = operator.ok(&[
        "enroll",
        "acme",
        "--mode",
        "standalone",
        "--file",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(from_file.stdout.matches("already enrolled").count(), 3);
    assert_eq!(versions(), before, "nothing changed");
}

#[test]
fn a_billing_enrollment_is_one_management_account_with_its_transfer_start() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new());
    operator.ok(&["init"]);
    let with_members = operator.run(&[
        "enroll",
        "acme-bill",
        "--mode",
        "billing",
        "--management",
        MANAGEMENT,
        "--member",
        MEMBER,
    ]);
    assert_eq!(with_members.code, 2, "{with_members:#?}");
    assert_one_line_naming(
        &with_members,
        "billing enrollment is one management account",
    );
    let enroll_from = |day: &str| {
        operator.run(&[
            "enroll",
            "acme-bill",
            "--mode",
            "billing",
            "--management",
            MANAGEMENT,
            "--transfer-start",
            day,
        ])
    };
    let bad_day = enroll_from("next month");
    assert_eq!(bad_day.code, 2, "{bad_day:#?}");

    let enrolled = enroll_from("2027-02-01");
    assert_eq!(enrolled.code, 0, "{enrolled:#?}");
    assert!(
        enrolled.stdout.contains("AwaitingTransfer"),
        "{enrolled:#?}"
    );
    assert!(enrolled
        .stdout
        .contains("enrollment acme-bill (billing mode): 1 account"));
    let record = operator.ok(&["show", MANAGEMENT, "--json"]).json();
    assert_eq!(record["transfer_mode"], "billing");
    assert_eq!(record["phase"], "AwaitingTransfer");
    assert_eq!(record["billing"]["start"], "2027-02-01T00:00:00Z");
    let shown = operator.ok(&["show", MANAGEMENT]);
    assert!(
        shown.stdout.contains("billing transfer of organization")
            && shown.stdout.contains("asked to start: 2027-02-01"),
        "{shown:#?}"
    );
}

#[test]
fn status_json_is_an_array_of_records_with_the_contract_fields() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).enrolled();
    let records = operator.ok(&["status", "--json"]).json();
    let records = records.as_array().expect("a JSON array");
    assert_eq!(records.len(), 4);
    for record in records {
        assert_record_contract(record);
        assert_eq!(record["enrollment"], "acme");
        assert_eq!(record["version"], 1);
        assert!(record["handshake_id"].is_null());
    }
    let by_account: HashMap<&str, &Value> = records
        .iter()
        .map(|r| (r["account_id"].as_str().unwrap(), r))
        .collect();
    assert_eq!(by_account[MANAGEMENT]["role"], "management");
    assert_eq!(by_account[MANAGEMENT]["phase"], "DeletingOrganization");
    assert_eq!(
        by_account[MANAGEMENT]["blockers"][0]["code"],
        "ORGANIZATION_NOT_EMPTY"
    );
    assert_eq!(by_account[MEMBER]["role"], "member");
    assert_eq!(by_account[MEMBER]["phase"], "LeavingOrganization");
    assert_eq!(by_account[STANDALONE]["role"], "standalone");
    assert_eq!(by_account[STANDALONE]["phase"], "AwaitingInvitation");

    // --enrollment filters; an unknown enrollment is an empty array.
    let acme = operator
        .ok(&["status", "--enrollment", "acme", "--json"])
        .json();
    assert_eq!(acme.as_array().unwrap().len(), 4);
    let other = operator
        .ok(&["status", "--enrollment", "globex", "--json"])
        .json();
    assert_eq!(other, Value::Array(Vec::new()));

    // The table for people: every account, blockers with remediation, progress.
    let table = operator.ok(&["status"]).stdout;
    for account in [MANAGEMENT, MEMBER, MEMBER_2, STANDALONE] {
        assert!(table.contains(account), "{table}");
    }
    assert!(table.contains("ORGANIZATION_NOT_EMPTY"), "{table}");
    assert!(table.contains("Fix: "), "{table}");
    assert!(table.contains("acme: 0 of 4 joined"), "{table}");
}

#[test]
fn show_json_has_the_contract_fields_and_the_history() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).enrolled();
    operator.ok(&[
        "replay",
        &fixture_path("invite-account-to-organization.json"),
    ]);
    let record = operator.ok(&["show", STANDALONE, "--json"]).json();
    assert_record_contract(&record);
    assert_eq!(record["account_id"], STANDALONE);
    assert_eq!(record["role"], "standalone");
    assert_eq!(record["phase"], "Invited");
    assert_eq!(record["handshake_id"], FIXTURE_HANDSHAKE);
    assert_eq!(record["version"], 2);
    let history = record["history"].as_array().expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["phase"], "Invited");

    let text = operator.ok(&["show", STANDALONE]).stdout;
    assert!(text.contains(FIXTURE_HANDSHAKE), "{text}");
    assert!(text.contains("history:"), "{text}");
}

#[test]
fn replay_applies_reports_duplicates_and_exits_0_when_all_are_good() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).enrolled();
    // A directory read in name order: the member leaves, then the standalone account is
    // invited and accepts, and the target organization records it joining.
    let dir = scratch("replay-good");
    let leave = fixture("leave-organization.json");
    std::fs::write(dir.join("1-leave.json"), leave.to_string()).unwrap();
    let invite = fixture("invite-account-to-organization.json");
    let accept = fixture("accept-handshake.json");
    let joined = fixture("service-event-account-joined-organization.json");
    // JSON Lines with all three.
    std::fs::write(
        dir.join("2-invite-accept-join.jsonl"),
        format!("{invite}\n{accept}\n{joined}\n"),
    )
    .unwrap();
    let run = operator.ok(&["replay", dir.to_str().unwrap()]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{run:#?}");
    assert!(
        lines[0].starts_with("applied") && lines[0].contains(MEMBER),
        "{run:#?}"
    );
    assert!(
        lines[1].starts_with("applied") && lines[1].contains("Invited"),
        "{run:#?}"
    );
    // An acceptance is no proof of joining: the emulator's target organization does not
    // list the fixture's account, so the record stays where it is.
    assert!(
        lines[2].starts_with("ignored") && lines[2].contains("changes nothing"),
        "{run:#?}"
    );
    assert!(
        lines[3].starts_with("applied") && lines[3].contains("Joined"),
        "{run:#?}"
    );
    assert_eq!(lines[4], "3 applied, 0 duplicate, 1 ignored, 0 rejected");

    // The same events again (as a JSON array): duplicates, still exit 0.
    let array = dir.join("again.json");
    std::fs::write(&array, serde_json::json!([invite, joined]).to_string()).unwrap();
    let run = operator.ok(&["replay", array.to_str().unwrap()]);
    assert!(
        run.stdout
            .contains("0 applied, 2 duplicate, 0 ignored, 0 rejected"),
        "{run:#?}"
    );
    let standalone = operator.ok(&["show", STANDALONE, "--json"]).json();
    assert_eq!(standalone["phase"], "Joined");
}

#[test]
fn replay_exits_1_when_an_event_is_rejected_and_still_applies_the_others() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).enrolled();
    let dir = scratch("replay-rejected");
    let mut broken = fixture("remove-account-from-organization.json");
    broken["detail"]["requestParameters"]["accountId"] = "not-an-account".into();
    let invite = fixture("invite-account-to-organization.json");
    std::fs::write(
        dir.join("events.jsonl"),
        format!("{broken}\n{{this is not JSON\n{invite}\n"),
    )
    .unwrap();
    let run = operator.run(&["replay", dir.join("events.jsonl").to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{run:#?}");
    assert!(lines[0].starts_with("rejected"), "{run:#?}");
    assert!(
        lines[1].starts_with("rejected") && lines[1].contains("not JSON"),
        "{run:#?}"
    );
    assert!(lines[2].starts_with("applied"), "{run:#?}");
    assert_eq!(lines[3], "1 applied, 0 duplicate, 0 ignored, 2 rejected");
    let standalone = operator.ok(&["show", STANDALONE, "--json"]).json();
    assert_eq!(standalone["phase"], "Invited");

    // An event about an account nobody enrolled is ignored, not rejected.
    let mut stranger = fixture("leave-organization.json");
    for pointer in [
        "/account",
        "/detail/recipientAccountId",
        "/detail/userIdentity/accountId",
    ] {
        *stranger.pointer_mut(pointer).unwrap() = "888888888888".into();
    }
    stranger["detail"]["eventID"] = "cli-contract-stranger".into();
    let file = dir.join("stranger.json");
    std::fs::write(&file, stranger.to_string()).unwrap();
    let run = operator.ok(&["replay", file.to_str().unwrap()]);
    assert!(
        run.stdout
            .contains("0 applied, 0 duplicate, 1 ignored, 0 rejected"),
        "{run:#?}"
    );
}

/// `replay` applies the tracker's own rules (issue 28, item 1): every event kind whose body
/// disagrees with its envelope about who recorded it is rejected (exit 1) and changes
/// nothing; what it applies is marked replayed in the account's history.
#[test]
fn replay_rejects_bodies_that_disagree_with_their_envelope_and_marks_what_it_applied() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).enrolled();
    let dir = scratch("replay-envelope");
    let mut forged = Vec::new();
    for name in onboarding::fixtures::names() {
        let event = fixture(&name);
        if onboarding::cloudtrail::parse_event(&event).is_err() {
            continue;
        }
        // The envelope says another account recorded it; the body still says who it says.
        let mut envelope = event.clone();
        envelope["account"] = "777777777777".into();
        forged.push(envelope.to_string());
        let name_of = event["detail"]["eventName"].as_str().unwrap();
        if onboarding::cloudtrail::trail_event(name_of)
            .unwrap()
            .is_about_its_recorder()
        {
            let mut caller = event;
            caller["detail"]["userIdentity"]["accountId"] = "777777777777".into();
            forged.push(caller.to_string());
        }
    }
    let file = dir.join("forged.jsonl");
    std::fs::write(&file, forged.join("\n")).unwrap();
    let versions = || {
        let status = operator.ok(&["status", "--json"]).json();
        let records = status
            .as_array()
            .expect("status --json is an array")
            .clone();
        records
            .iter()
            .map(|r| (r["account_id"].to_string(), r["version"].clone()))
            .collect::<Vec<_>>()
    };
    let before = versions();
    let run = operator.run(&["replay", file.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), forged.len() + 1, "{run:#?}");
    for line in &lines[..forged.len()] {
        assert!(
            line.starts_with("rejected")
                && line.contains("777777777777")
                && line.contains("is not the account that recorded the event"),
            "{line}"
        );
    }
    assert_eq!(
        lines[forged.len()],
        format!(
            "0 applied, 0 duplicate, 0 ignored, {} rejected",
            forged.len()
        )
    );
    assert_eq!(versions(), before, "nothing changed");

    // The genuine event is applied, and marked replayed.
    operator.ok(&[
        "replay",
        &fixture_path("invite-account-to-organization.json"),
    ]);
    let record = operator.ok(&["show", STANDALONE, "--json"]).json();
    assert_eq!(record["phase"], "Invited");
    assert_eq!(record["history"][0]["replayed"], true, "{record:#}");
    let text = operator.ok(&["show", STANDALONE]).stdout;
    assert!(text.contains("replayed"), "{text}");
}

#[test]
fn doctor_names_what_to_fix_one_line_each_and_exits_1_on_a_failure() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new());
    // Before `init`: no table, no bus.
    let run = operator.run(&["doctor"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("FAIL  table:") && run.stdout.contains("onboardctl init"),
        "{run:#?}"
    );
    operator.ok(&["init"]);
    // The operator's account manages another organization than TARGET_ORGANIZATION_ID
    // names: the start-up check the acceptor makes fails the same way.
    let run = operator.run(&["doctor"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{run:#?}");
    assert!(lines[0].starts_with("ok    configuration"), "{run:#?}");
    assert!(
        lines[1].starts_with("FAIL  target organization")
            && lines[1].contains("TARGET_ORGANIZATION_ID is o-exampleorgid")
            && lines[1].contains(&operator.organization),
        "{run:#?}"
    );
    assert!(
        lines[2].starts_with("ok    table") && lines[3].starts_with("ok    event bus"),
        "{run:#?}"
    );
    // The operator's account has no CloudTrail trail: one line saying how to create one.
    assert!(
        lines[4].starts_with("FAIL  trail") && lines[4].contains("create-trail"),
        "{run:#?}"
    );
}

#[test]
fn a_spreadsheet_csv_with_a_byte_order_mark_and_crlf_enrolls() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new());
    operator.ok(&["init"]);
    let dir = scratch("bom");
    let csv = dir.join("accounts.csv");
    let text = format!(
        "\u{feff}account_id,role\r\n{MANAGEMENT},management\r\n\"{MEMBER}\",member\r\n{STANDALONE},standalone\r\n"
    );
    std::fs::write(&csv, text).unwrap();
    let run = operator.ok(&["enroll", "acme", "--file", csv.to_str().unwrap()]);
    assert_eq!(run.stdout.matches("  enrolled").count(), 3, "{run:#?}");
    assert!(
        run.stdout
            .contains("enrollment acme (direct mode): 3 accounts"),
        "{run:#?}"
    );
    let solo = operator.ok(&["enroll", "solo", "--standalone", "666666666666"]);
    assert!(solo.stdout.contains(": 1 account\n"), "{solo:#?}");
}

#[test]
fn a_csv_naming_the_targets_management_account_and_a_member_is_refused_whole() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new());
    let target_member = runtime.block_on(async {
        let emulator = Emulator::shared().await.expect("emulator");
        let id = unique_account_id();
        AwsAccount::create_member_of(emulator, &id, &operator.organization)
            .await
            .expect("a member of the target");
        id
    });
    operator.ok(&["init"]);
    let dir = scratch("target-accounts");
    let csv = dir.join("accounts.csv");
    let text = format!(
        "account_id,role\n{STANDALONE},standalone\n{TARGET_MANAGEMENT},standalone\n{target_member},standalone\n"
    );
    std::fs::write(&csv, text).unwrap();
    let run = operator.run(&["enroll", "acme", "--file", csv.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_one_line_naming(&run, "not ours to move");
    for named in [
        format!("{TARGET_MANAGEMENT} (the target's management account)"),
        format!("{target_member} (a member of the target organization)"),
        "nothing was enrolled".to_owned(),
    ] {
        assert!(run.stderr.contains(&named), "{named}: {run:#?}");
    }
    assert!(!run.stderr.contains(STANDALONE), "{run:#?}");
    let records = operator.ok(&["status", "--json"]).json();
    assert_eq!(
        records,
        serde_json::json!([]),
        "nothing of the file enrolled"
    );
}

#[test]
fn status_summarises_per_enrollment_and_phase_then_filters() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).enrolled();
    let table = operator.ok(&["status"]).stdout;
    let summary = table.lines().take(2).collect::<Vec<_>>().join("\n");
    assert!(
        summary.starts_with("ENROLLMENT  ACCOUNTS  LeavingOrganization"),
        "{table}"
    );
    assert!(summary.contains("acme"), "{table}");
    // No escape sequence when stdout is not a terminal.
    assert!(!table.contains('\u{1b}'), "{table}");

    let blocked = operator.ok(&["status", "--blocked"]).stdout;
    assert!(blocked.contains(MANAGEMENT), "{blocked}");
    assert!(!blocked.contains(STANDALONE), "{blocked}");
    let invited = operator
        .ok(&["status", "--phase", "LeavingOrganization", "--json"])
        .json();
    let ids: Vec<&str> = invited
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{invited:#}");
    assert!(ids.contains(&MEMBER) && ids.contains(&MEMBER_2));
    // The JSON is written a record per line.
    let lines = operator.ok(&["status", "--json"]).stdout;
    assert_eq!(lines.lines().count(), 4 + 2, "{lines}");
    let bad = operator.run(&["status", "--phase", "Lost"]);
    assert_eq!(bad.code, 2, "{bad:#?}");
}

#[test]
fn report_writes_html_csv_and_markdown_of_the_table() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let operator = runtime.block_on(Operator::new()).enrolled();
    let dir = scratch("report");
    let page = dir.join("report.html");
    let run = operator.ok(&["report", "-o", page.to_str().unwrap()]);
    assert!(run.stderr.contains("(4 accounts)"), "{run:#?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for account in [MANAGEMENT, MEMBER, MEMBER_2, STANDALONE] {
        assert!(html.contains(account), "{account}");
    }
    assert!(html.contains("ORGANIZATION_NOT_EMPTY"));
    assert!(!html.contains("http://") && !html.contains("https://"));

    let csv = operator
        .ok(&["report", "--format", "csv", "--enrollment", "acme"])
        .stdout;
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    let markdown = operator.ok(&["report", "--format", "md"]).stdout;
    assert!(markdown.contains("## acme"), "{markdown}");
    assert_eq!(operator.run(&["report", "--format", "pdf"]).code, 2);
}

/// The keys every `preflight --json` line has, whatever the account's outcome.
fn assert_preflight_contract(line: &Value) {
    let account = line["account_id"].as_str().expect("account_id string");
    assert!(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    for blocker in line["blockers"].as_array().expect("blockers array") {
        for field in ["code", "message", "remediation", "detail"] {
            assert!(
                blocker[field].is_string(),
                "blocker without {field}: {line:#}"
            );
        }
    }
    for check in line["checks"].as_array().expect("checks array") {
        assert!(
            check["item"].is_string() && check["why"].is_string(),
            "{line:#}"
        );
    }
    for policy in line["policies"].as_array().expect("policies array") {
        for field in ["resource", "condition_key", "value"] {
            assert!(
                policy[field].is_string(),
                "policy without {field}: {line:#}"
            );
        }
    }
    assert!(line["invitations"].is_array(), "{line:#}");
}

/// JSON Lines: one parseable object per line, nothing else.
fn json_lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}\n{run:#?}"))
        })
        .collect()
}

#[test]
fn preflight_json_is_one_report_per_account_and_status_marks_predicted_blockers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (operator, customer) = runtime.block_on(async {
        Operator::new()
            .await
            .with_reachable_management_account()
            .await
    });
    let management = customer.account_id();
    // No spoke role there: the preflight cannot reach it.
    let unreachable = unique_account_id();
    operator.ok(&["init"]);
    operator.ok(&[
        "enroll",
        "acme",
        "--mode",
        "standalone",
        "--management",
        management,
        "--standalone",
        &unreachable,
    ]);

    let run = operator.ok(&["preflight", "--json"]);
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 2, "one object per account: {run:#?}");
    for line in &lines {
        assert_preflight_contract(line);
    }
    let of = |id: &str| {
        lines
            .iter()
            .find(|l| l["account_id"] == id)
            .unwrap_or_else(|| panic!("no line for {id}: {run:#?}"))
    };
    let reached = of(management);
    let codes: Vec<&str> = reached["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"CONTACT_INFO_MISSING"),
        "an account without contact information: {reached:#}"
    );
    assert!(reached.get("unreachable").is_none(), "{reached:#}");
    assert!(
        reached["organization"]
            .as_str()
            .is_some_and(|o| o.starts_with("o-")),
        "{reached:#}"
    );
    let missed = of(&unreachable);
    assert!(
        missed["unreachable"]["code"].is_string() && missed["unreachable"]["message"].is_string(),
        "{missed:#}"
    );
    assert_eq!(missed["blockers"], Value::Array(Vec::new()), "{missed:#}");

    // The records keep the prediction, marked apart from refusals AWS returned.
    let status = operator.ok(&["status"]).stdout;
    assert!(
        status.contains("CONTACT_INFO_MISSING (predicted)"),
        "{status}"
    );
    assert!(
        status.contains(&format!("{management} CONTACT_INFO_MISSING (predicted): ")),
        "the remediation under Blocked: is marked too: {status}"
    );
    let record = operator.ok(&["show", management, "--json"]).json();
    let predicted = record["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["code"] == "CONTACT_INFO_MISSING")
        .expect("the predicted blocker on the record");
    assert_eq!(predicted["step"], "preflight", "{record:#}");
    assert!(record["preflight"]["at"].is_string(), "{record:#}");
    let shown = operator.ok(&["show", management]).stdout;
    assert!(shown.contains("preflight at "), "{shown}");

    // For a person: the account, its blockers with what to do, the checks, a summary.
    let text = operator.ok(&["preflight", "acme"]).stdout;
    assert!(
        text.contains(&format!("{management}  management")),
        "{text}"
    );
    assert!(text.contains("CONTACT_INFO_MISSING"), "{text}");
    assert!(text.contains("Fix: "), "{text}");
    assert!(text.contains("payment_method"), "{text}");
    assert!(
        text.contains("the spoke role could not be assumed"),
        "{text}"
    );
    assert!(
        text.contains("2 accounts checked: 1 with predicted blockers, 1 unreachable"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");

    // One account; an account nobody enrolled is named.
    let one = operator.ok(&["preflight", "--account", management, "--json"]);
    assert_eq!(json_lines(&one).len(), 1, "{one:#?}");
    let run = operator.run(&["preflight", "--account", "999999999999"]);
    assert_one_line_naming(&run, "999999999999");
    assert!(run.stderr.contains("not enrolled"), "{run:#?}");
    let run = operator.run(&["preflight", "globex"]);
    assert_one_line_naming(&run, "globex");
}
