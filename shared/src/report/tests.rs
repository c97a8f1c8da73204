//! The report formats on a fixture set of records: every account, phase and remediation
//! shows, markup from a record is escaped, the page loads nothing from the network, the
//! CSV reads back with the `csv` crate.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::{render, Format};
use crate::domain::{
    AccountId, AwsFailure, Blocker, BlockerCode, EnrollmentName, HistoryEntry, OnboardingRecord,
    Phase, Role, Step, TransferMode,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn record(
    id: &str,
    enrollment: &str,
    role: Role,
    phase: Phase,
    since_hours: i64,
) -> OnboardingRecord {
    let mut record = OnboardingRecord::enroll(
        AccountId::parse(id).unwrap(),
        EnrollmentName::parse(enrollment).unwrap(),
        TransferMode::Standalone,
        role,
        0,
        now() - Duration::hours(since_hours + 1),
    );
    record.phase = phase;
    record.blockers.clear();
    record.phase_since = now() - Duration::hours(since_hours);
    record.history.push(HistoryEntry {
        event_id: format!("event-{id}"),
        occurred_at: record.phase_since,
        applied_at: record.phase_since,
        summary: "left_organization".into(),
        phase,
        source: "cloudtrail".into(),
        replayed: false,
    });
    record
}

/// Five accounts in two enrollments: blocked (with markup in its message, as an AWS error
/// could carry), stalled (30 h in a phase), progressing, joined.
fn fixture() -> Vec<OnboardingRecord> {
    let mut blocked = record(
        "222222222201",
        "acme",
        Role::Member,
        Phase::LeavingOrganization,
        1,
    );
    let mut blocker = Blocker::new(BlockerCode::PaymentMethodMissing, Step::Leave, now());
    blocker.message = "<script>alert('x')</script> needs a card & more".into();
    blocked.blockers.push(blocker);
    vec![
        blocked,
        record(
            "222222222202",
            "acme",
            Role::Member,
            Phase::AwaitingInvitation,
            30,
        ),
        record("222222222203", "acme", Role::Member, Phase::Invited, 2),
        record("333333333333", "acme", Role::Standalone, Phase::Joined, 48),
        globex_management(),
    ]
}

/// A history summary with markup (summaries name AWS operations and error codes).
fn globex_management() -> OnboardingRecord {
    let mut record = record(
        "444444444444",
        "globex",
        Role::Management,
        Phase::DeletingOrganization,
        0,
    );
    record.history[0].summary = "call_failed: <b>DeleteOrganization</b>".into();
    record
}

#[test]
fn the_html_report_shows_every_account_phase_and_remediation() {
    let records = fixture();
    let page = render(Format::Html, &records, now()).unwrap();
    for record in &records {
        assert!(
            page.contains(record.account_id.as_str()),
            "{}",
            record.account_id
        );
        assert!(page.contains(record.phase.as_str()), "{}", record.phase);
    }
    let (_, remediation) = BlockerCode::PaymentMethodMissing.explain();
    assert!(page.contains(&super::html::escape(remediation)));
    assert!(page.contains("PAYMENT_METHOD_MISSING"));
    assert!(page.contains("stalled"), "30 h without progress is stalled");
    assert!(page.contains("1 of 4 accounts joined"));
}

#[test]
fn the_html_report_escapes_markup_from_records() {
    let page = render(Format::Html, &fixture(), now()).unwrap();
    assert!(
        !page.contains("<script"),
        "no script, and none from a record"
    );
    assert!(
        page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; needs a card &amp; more")
    );
    assert!(!page.contains("<b>DeleteOrganization"));
    assert!(page.contains("&lt;b&gt;DeleteOrganization&lt;/b&gt;"));
}

#[test]
fn the_html_report_loads_nothing_from_the_network() {
    let page = render(Format::Html, &fixture(), now()).unwrap();
    assert!(!page.contains("http://") && !page.contains("https://"));
    for tag in ["<link", "<img", "<iframe", "@import", "url("] {
        assert!(!page.contains(tag), "{tag}");
    }
}

#[test]
fn stalled_and_blocked_accounts_come_first_in_their_enrollment() {
    let page = render(Format::Html, &fixture(), now()).unwrap();
    let table = &page[page.find("<h3>Accounts</h3>").unwrap()..];
    let position = |id: &str| table.find(id).unwrap();
    assert!(position("222222222201") < position("222222222203"));
    assert!(position("222222222202") < position("222222222203"));
}

#[test]
fn the_csv_report_round_trips_through_the_csv_crate() {
    let records = fixture();
    let text = render(Format::Csv, &records, now()).unwrap();
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        super::csv::COLUMNS
    );
    let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), records.len());
    let blocked = rows.iter().find(|r| &r[0] == "222222222201").unwrap();
    assert_eq!(&blocked[4], "LeavingOrganization");
    assert_eq!(&blocked[9], "PAYMENT_METHOD_MISSING");
    assert!(blocked[10].contains("Payment preferences"));
    let stalled = rows.iter().find(|r| &r[0] == "222222222202").unwrap();
    assert_eq!(&stalled[8], "true");
}

#[test]
fn the_markdown_report_is_a_table_per_enrollment_with_cells_escaped() {
    let text = render(Format::Markdown, &fixture(), now()).unwrap();
    assert!(text.contains("## acme"));
    assert!(text.contains("| 222222222203 | member | Invited | 2h 0m | - |"));
    assert!(text.contains("&lt;script&gt;"));
    assert!(text.contains("**Fix:**"));
}

/// The fixture, with a blocker the preflight predicted on globex's management account (as
/// `PreflightChecked` leaves it: step `preflight`, what it saw as the raw message).
fn with_predicted() -> Vec<OnboardingRecord> {
    let mut records = fixture();
    let globex = records
        .iter_mut()
        .find(|r| r.account_id.as_str() == "444444444444")
        .unwrap();
    globex.blockers.push(Blocker::from_failure(
        BlockerCode::ContactInfoMissing,
        Step::Preflight,
        &AwsFailure::new(
            "Preflight",
            None,
            "GetContactInformation: the account has no primary contact",
        ),
        now(),
    ));
    records
}

#[test]
fn predicted_blockers_are_marked_apart_from_refusals_in_every_format() {
    let records = with_predicted();
    let views = super::view::by_enrollment(&records, now());
    let cell = |id: &str| {
        views
            .iter()
            .flat_map(|e| &e.accounts)
            .find(|a| a.record.account_id.as_str() == id)
            .unwrap()
            .blocker_codes()
    };
    assert_eq!(cell("444444444444"), "CONTACT_INFO_MISSING (predicted)");
    assert_eq!(cell("222222222201"), "PAYMENT_METHOD_MISSING");
    assert_eq!(cell("222222222203"), "-");

    let lines = super::view::remediation_lines(&records, &Default::default());
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with("  222222222201 PAYMENT_METHOD_MISSING: ")
            && !lines[0].contains("predicted"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("  444444444444 CONTACT_INFO_MISSING (predicted): ")
            && lines[1].contains(" Fix: ")
            && lines[1].ends_with(
                "(preflight saw: GetContactInformation: the account has no primary contact)"
            ),
        "{lines:#?}"
    );

    let page = render(Format::Html, &records, now()).unwrap();
    assert!(
        page.contains("<td>CONTACT_INFO_MISSING (predicted)</td>"),
        "{page}"
    );
    assert!(page.contains("<span class=\"tag predicted\">CONTACT_INFO_MISSING</span>"));
    assert!(page.contains("<span class=\"tag blocked\">PAYMENT_METHOD_MISSING</span>"));
    assert!(!page.contains("PAYMENT_METHOD_MISSING (predicted)"));

    let text = render(Format::Markdown, &records, now()).unwrap();
    assert!(
        text.contains("| 444444444444 | management | DeletingOrganization | 0s | CONTACT_INFO_MISSING (predicted) |"),
        "{text}"
    );
    assert!(
        text.contains("- **444444444444** `CONTACT_INFO_MISSING` (predicted): "),
        "{text}"
    );
    assert!(
        text.contains("- **222222222201** `PAYMENT_METHOD_MISSING`: "),
        "{text}"
    );

    // CSV keeps the stable codes in `blockers` (for filters) and marks the remediation.
    let csv = render(Format::Csv, &records, now()).unwrap();
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let globex = rows.iter().find(|r| &r[0] == "444444444444").unwrap();
    assert_eq!(&globex[9], "CONTACT_INFO_MISSING");
    assert!(
        globex[10].starts_with("CONTACT_INFO_MISSING (predicted): "),
        "{globex:?}"
    );
}

#[test]
fn a_billing_enrollment_reads_in_its_own_words_and_phases() {
    let mut record = OnboardingRecord::enroll(
        AccountId::parse("555555555555").unwrap(),
        EnrollmentName::parse("initech").unwrap(),
        TransferMode::billing(),
        Role::Management,
        0,
        now(),
    );
    record.phase = Phase::Transferred;
    record.placed = Some(crate::domain::Placed {
        placed_in: None,
        access_role: None,
        at: now(),
    });
    assert_eq!(
        super::progress(std::slice::from_ref(&record)),
        ["initech: 1 of 1 billing transferred"]
    );
    let page = render(Format::Html, &[record], now()).unwrap();
    assert!(
        page.contains("1 of 1 account billing transferred"),
        "{page}"
    );
    assert!(!page.contains("leaving its organization"), "{page}");
    assert!(page.contains("awaiting the billing transfer invitation"));
}
