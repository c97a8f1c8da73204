//! The tracker handler with its real adapters on the emulator: the DynamoDB record store
//! (records, event markers, outbox in one table) and the EventBridge notifier on the hub
//! bus, with a queue behind the bus reading what was published. Every CloudTrail fixture,
//! redeliveries, concurrent copies, concurrent different events, a PutEvents failure after
//! the write, and the number of calls one event costs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use onboarding::adapters::dynamo::DynamoRecordStore;
use onboarding::adapters::eventbridge::EventBridgeNotifier;
use onboarding::domain::{
    AccountId, DomainEvent, Enrollment, EnrollmentName, EventKind, OnboardingRecord, Phase, Role,
    TransferMode,
};
use onboarding::invocation;
use onboarding::notifications::{self as n, Detail as _, NotificationDetail};
use onboarding::ports::{
    CountReader, OutboxItem, OutboxScope, OutboxStore, RecordCreator, RecordReader,
};
use onboarding::tracker::{Outcome, Tracker};
use onboarding::wiring::AwsTracker;
use serde_json::{json, Value};

use onboarding_e2e::counter::CallCounter;
use onboarding_e2e::event_loop::HUB_BUS_NAME;
use onboarding_e2e::faults::{Fault, Faults};
use onboarding_e2e::hub::Hub;

use common::*;

/// The accounts of an enrollment, by their role in the fixtures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    /// 222222222222, the customer organization's management account.
    Management,
    /// 333333333333.
    MemberA,
    /// 444444444444.
    MemberB,
    /// 555555555555.
    Standalone,
}

impl Who {
    fn id(self, cast: &Cast) -> &str {
        match self {
            Who::Management => &cast.customer_management,
            Who::MemberA => &cast.member_a,
            Who::MemberB => &cast.member_b,
            Who::Standalone => &cast.standalone,
        }
    }
}

/// The outbox of one account's record.
fn account_scope(account: &str) -> OutboxScope {
    OutboxScope::Account(AccountId::parse(account).unwrap())
}

/// One fixture through the tracker: the events applied before it, and what must follow.
/// What the tracker must answer for a case's event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Applied,
    /// Valid, and changes nothing.
    Unchanged,
    /// Recorded in an account that cannot speak for the record (trust boundaries).
    Ignored,
}

struct Case {
    file: &'static str,
    mode: TransferMode,
    before: &'static [&'static str],
    expect: Expect,
    about: Who,
    phase: Phase,
    blockers: &'static [&'static str],
    version: u64,
    handshake: Option<&'static str>,
    fallback: bool,
    /// (account, detail-type, new_phase for phase changes)
    notifications: &'static [(Who, &'static str, Option<&'static str>)],
    /// Other records of the enrollment: (account, phase, blockers).
    others: &'static [(Who, Phase, &'static [&'static str])],
}

const INVITE: &str = "invite-account-to-organization.json";
const LEAVE: &str = "leave-organization.json";
const REMOVE: &str = "remove-account-from-organization.json";
const HANDSHAKE: &str = "h-examplehandshakeid111";
const TRANSFER_INVITE: &str = "invite-organization-to-transfer-responsibility.json";
const TRANSFER_HANDSHAKE: &str = "h-exampletransferid222";
const NOT_EMPTY: &str = "ORGANIZATION_NOT_EMPTY";

/// A member's failed leave (or removal): blocked, still leaving.
const fn leave_blocked(file: &'static str, who: Who, blocker: &'static [&'static str]) -> Case {
    Case {
        file,
        mode: TransferMode::Standalone,
        before: &[],
        expect: Expect::Applied,
        about: who,
        phase: Phase::LeavingOrganization,
        blockers: blocker,
        version: 2,
        handshake: None,
        fallback: false,
        notifications: match who {
            Who::MemberA => &[(Who::MemberA, n::BLOCKED, None)],
            _ => &[(Who::MemberB, n::BLOCKED, None)],
        },
        others: &[],
    }
}

/// A failed acceptance of the standalone account's current invitation.
const fn accept_blocked(file: &'static str, blocker: &'static [&'static str]) -> Case {
    Case {
        file,
        mode: TransferMode::Standalone,
        before: &[INVITE],
        expect: Expect::Applied,
        about: Who::Standalone,
        phase: Phase::Invited,
        blockers: blocker,
        version: 3,
        handshake: Some(HANDSHAKE),
        fallback: false,
        notifications: &[(Who::Standalone, n::BLOCKED, None)],
        others: &[],
    }
}

/// Its invitation closed: awaiting a new one.
const fn invitation_closed(file: &'static str) -> Case {
    Case {
        file,
        mode: TransferMode::Standalone,
        before: &[INVITE],
        expect: Expect::Applied,
        about: Who::Standalone,
        phase: Phase::AwaitingInvitation,
        blockers: &[],
        version: 3,
        handshake: None,
        fallback: false,
        notifications: &[(
            Who::Standalone,
            n::PHASE_CHANGED,
            Some("AwaitingInvitation"),
        )],
        others: &[],
    }
}

/// The standalone account joined the target organization.
const fn joined(file: &'static str) -> Case {
    Case {
        file,
        mode: TransferMode::Standalone,
        before: &[INVITE],
        expect: Expect::Applied,
        about: Who::Standalone,
        phase: Phase::Joined,
        blockers: &[],
        version: 3,
        handshake: Some(HANDSHAKE),
        fallback: false,
        notifications: &[
            (Who::Standalone, n::PHASE_CHANGED, Some("Joined")),
            // No OU or tag asked, yet placed only by the placer: its access check.
            (Who::Standalone, n::ACCOUNT_JOINED, None),
        ],
        others: &[],
    }
}

/// A direct-mode member refused accepting a handshake the record never held (h-…222, not
/// its invitation): the refusal is shown, but the member is not sent down the standalone
/// path, which is for our own invitation alone.
const fn refused_acceptance_of_a_handshake_not_ours(file: &'static str) -> Case {
    Case {
        file,
        mode: TransferMode::Direct,
        before: &[],
        expect: Expect::Applied,
        about: Who::MemberA,
        phase: Phase::AwaitingInvitation,
        blockers: &["STILL_IN_ORGANIZATION"],
        version: 2,
        handshake: None,
        fallback: false,
        notifications: &[(Who::MemberA, n::BLOCKED, None)],
        others: &[(Who::Management, Phase::DeletingOrganization, &[NOT_EMPTY])],
    }
}

/// A direct-mode member refused because it is still in its organization: the fallback.
const fn direct_refused(file: &'static str) -> Case {
    Case {
        file,
        mode: TransferMode::Direct,
        before: &[],
        expect: Expect::Applied,
        about: Who::MemberA,
        phase: Phase::LeavingOrganization,
        blockers: &["STILL_IN_ORGANIZATION"],
        version: 2,
        handshake: None,
        fallback: true,
        notifications: &[
            (Who::MemberA, n::PHASE_CHANGED, Some("LeavingOrganization")),
            (Who::MemberA, n::BLOCKED, None),
        ],
        others: &[(Who::Management, Phase::DeletingOrganization, &[NOT_EMPTY])],
    }
}

/// Billing mode: the customer's management account, enrolled alone, whose transfer
/// invitation (`before`) closes: it awaits a new one.
fn transfer_closed(file: &'static str) -> Case {
    Case {
        file,
        mode: TransferMode::billing(),
        before: &[TRANSFER_INVITE],
        expect: Expect::Applied,
        about: Who::Management,
        phase: Phase::AwaitingTransfer,
        blockers: &[],
        version: 3,
        handshake: None,
        fallback: false,
        notifications: &[(Who::Management, n::PHASE_CHANGED, Some("AwaitingTransfer"))],
        others: &[],
    }
}

/// The enrollment a case runs in: the fixtures' customer, its management account alone in
/// billing mode.
fn case_enrollment(cast: &Cast, name: &str, mode: TransferMode) -> Enrollment {
    if matches!(mode, TransferMode::Billing(_)) {
        onboarding_e2e::customers::enrollment(name, mode, Some(&cast.customer_management), &[], &[])
            .unwrap()
    } else {
        cast.enrollment(name, mode)
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            file: INVITE,
            mode: TransferMode::Standalone,
            before: &[],
            expect: Expect::Applied,
            about: Who::Standalone,
            phase: Phase::Invited,
            blockers: &[],
            version: 2,
            handshake: Some(HANDSHAKE),
            fallback: false,
            notifications: &[(Who::Standalone, n::PHASE_CHANGED, Some("Invited"))],
            others: &[],
        },
        Case {
            // Recorded in the foreign organization's management account, which cannot speak
            // for the record: ignored (the acceptor reports the invitation, seen through
            // the API in the account).
            file: "invite-account-to-organization-foreign.json",
            mode: TransferMode::Standalone,
            before: &[],
            expect: Expect::Ignored,
            about: Who::Standalone,
            phase: Phase::AwaitingInvitation,
            blockers: &[],
            version: 1,
            handshake: None,
            fallback: false,
            notifications: &[],
            others: &[],
        },
        direct_refused("invite-account-to-organization-already-in-organization.json"),
        Case {
            file: "invite-account-to-organization-rate-limit.json",
            mode: TransferMode::Standalone,
            before: &[],
            expect: Expect::Applied,
            about: Who::Standalone,
            phase: Phase::AwaitingInvitation,
            blockers: &["INVITATION_QUOTA_REACHED"],
            version: 2,
            handshake: None,
            fallback: false,
            notifications: &[(Who::Standalone, n::BLOCKED, None)],
            others: &[],
        },
        Case {
            // A duplicate invitation is adopted by the inviter: nothing to record.
            file: "invite-account-to-organization-duplicate.json",
            mode: TransferMode::Standalone,
            before: &[],
            expect: Expect::Unchanged,
            about: Who::Standalone,
            phase: Phase::AwaitingInvitation,
            blockers: &[],
            version: 1,
            handshake: None,
            fallback: false,
            notifications: &[],
            others: &[],
        },
        Case {
            // An acceptance is a prompt to confirm, never proof: the emulator's target
            // organization does not list the fixture's account, so the record stays Invited.
            file: "accept-handshake.json",
            mode: TransferMode::Standalone,
            before: &[INVITE],
            expect: Expect::Unchanged,
            about: Who::Standalone,
            phase: Phase::Invited,
            blockers: &[],
            version: 2,
            handshake: Some(HANDSHAKE),
            fallback: false,
            notifications: &[],
            others: &[],
        },
        accept_blocked(
            "accept-handshake-payment-instrument-required.json",
            &["PAYMENT_METHOD_MISSING"],
        ),
        accept_blocked(
            "accept-handshake-different-seller.json",
            &["DIFFERENT_SELLER_OF_RECORD"],
        ),
        refused_acceptance_of_a_handshake_not_ours("accept-handshake-already-in-organization.json"),
        invitation_closed("decline-handshake.json"),
        invitation_closed("cancel-handshake.json"),
        Case {
            file: LEAVE,
            mode: TransferMode::Standalone,
            before: &[],
            expect: Expect::Applied,
            about: Who::MemberA,
            phase: Phase::AwaitingInvitation,
            blockers: &[],
            version: 2,
            handshake: None,
            fallback: false,
            notifications: &[(Who::MemberA, n::PHASE_CHANGED, Some("AwaitingInvitation"))],
            // Member B is still in the old organization.
            others: &[
                (Who::Management, Phase::DeletingOrganization, &[NOT_EMPTY]),
                (Who::MemberB, Phase::LeavingOrganization, &[]),
            ],
        },
        leave_blocked(
            "leave-organization-payment-instrument-required.json",
            Who::MemberA,
            &["PAYMENT_METHOD_MISSING"],
        ),
        leave_blocked(
            "leave-organization-missing-contact-info.json",
            Who::MemberA,
            &["CONTACT_INFO_MISSING"],
        ),
        leave_blocked(
            "leave-organization-denied-by-scp.json",
            Who::MemberA,
            &["SERVICE_CONTROL_POLICY_DENIES"],
        ),
        leave_blocked(
            "leave-organization-access-denied.json",
            Who::MemberA,
            &["ACCESS_DENIED"],
        ),
        leave_blocked(
            "leave-organization-without-eula.json",
            Who::MemberA,
            &["CUSTOMER_AGREEMENT_NOT_ACCEPTED"],
        ),
        leave_blocked(
            "leave-organization-without-phone-verification.json",
            Who::MemberA,
            &["PHONE_NOT_VERIFIED"],
        ),
        leave_blocked(
            "leave-organization-wait-period.json",
            Who::MemberA,
            &["ACCOUNT_TOO_NEW"],
        ),
        Case {
            file: "leave-organization-management-account.json",
            mode: TransferMode::Standalone,
            before: &[],
            expect: Expect::Applied,
            about: Who::Management,
            phase: Phase::DeletingOrganization,
            blockers: &["MANAGEMENT_MUST_DELETE_ORGANIZATION", NOT_EMPTY],
            version: 2,
            handshake: None,
            fallback: false,
            notifications: &[(Who::Management, n::BLOCKED, None)],
            others: &[],
        },
        Case {
            // The last enrolled member goes: the management account is unblocked.
            file: REMOVE,
            mode: TransferMode::Standalone,
            before: &[LEAVE],
            expect: Expect::Applied,
            about: Who::MemberB,
            phase: Phase::AwaitingInvitation,
            blockers: &[],
            version: 2,
            handshake: None,
            fallback: false,
            notifications: &[
                (Who::MemberB, n::PHASE_CHANGED, Some("AwaitingInvitation")),
                (Who::Management, n::UNBLOCKED, None),
            ],
            others: &[(Who::Management, Phase::DeletingOrganization, &[])],
        },
        leave_blocked(
            "remove-account-from-organization-payment-instrument-required.json",
            Who::MemberB,
            &["PAYMENT_METHOD_MISSING"],
        ),
        Case {
            // The old organization is gone: the members still recorded in it left too.
            file: "delete-organization.json",
            mode: TransferMode::Standalone,
            before: &[],
            expect: Expect::Applied,
            about: Who::Management,
            phase: Phase::AwaitingInvitation,
            blockers: &[],
            version: 2,
            handshake: None,
            fallback: false,
            notifications: &[
                (
                    Who::Management,
                    n::PHASE_CHANGED,
                    Some("AwaitingInvitation"),
                ),
                (Who::Management, n::UNBLOCKED, None),
                (Who::MemberA, n::PHASE_CHANGED, Some("AwaitingInvitation")),
                (Who::MemberB, n::PHASE_CHANGED, Some("AwaitingInvitation")),
            ],
            others: &[
                (Who::MemberA, Phase::AwaitingInvitation, &[]),
                (Who::MemberB, Phase::AwaitingInvitation, &[]),
            ],
        },
        Case {
            // A deletion refused before the enrolled members left (the fixture's time is in
            // the past) arrives late: it never brings back the blocker their departure
            // cleared.
            file: "delete-organization-not-empty.json",
            mode: TransferMode::Standalone,
            before: &[LEAVE, REMOVE],
            expect: Expect::Unchanged,
            about: Who::Management,
            phase: Phase::DeletingOrganization,
            blockers: &[],
            version: 2,
            handshake: None,
            fallback: false,
            notifications: &[],
            others: &[],
        },
        joined("service-event-account-joined-organization.json"),
        Case {
            file: "service-event-account-departed-organization.json",
            mode: TransferMode::Standalone,
            before: &[],
            expect: Expect::Applied,
            about: Who::MemberB,
            phase: Phase::AwaitingInvitation,
            blockers: &[],
            version: 2,
            handshake: None,
            fallback: false,
            notifications: &[(Who::MemberB, n::PHASE_CHANGED, Some("AwaitingInvitation"))],
            others: &[(Who::Management, Phase::DeletingOrganization, &[NOT_EMPTY])],
        },
        // Billing mode: the customer's management account, enrolled alone.
        Case {
            file: TRANSFER_INVITE,
            mode: TransferMode::billing(),
            before: &[],
            expect: Expect::Applied,
            about: Who::Management,
            phase: Phase::TransferInvited,
            blockers: &[],
            version: 2,
            handshake: Some(TRANSFER_HANDSHAKE),
            fallback: false,
            notifications: &[(Who::Management, n::PHASE_CHANGED, Some("TransferInvited"))],
            others: &[],
        },
        Case {
            file: "invite-organization-to-transfer-responsibility-unused-prepayment-balance.json",
            mode: TransferMode::billing(),
            before: &[],
            expect: Expect::Applied,
            about: Who::Management,
            phase: Phase::AwaitingTransfer,
            blockers: &["UNUSED_PREPAYMENT_BALANCE"],
            version: 2,
            handshake: None,
            fallback: false,
            notifications: &[(Who::Management, n::BLOCKED, None)],
            others: &[],
        },
        Case {
            // Names the target organization but was recorded in a customer's member
            // account, which cannot speak for the target's invitation: ignored.
            file: "invite-organization-to-transfer-responsibility-forged.json",
            mode: TransferMode::billing(),
            before: &[],
            expect: Expect::Ignored,
            about: Who::Management,
            phase: Phase::AwaitingTransfer,
            blockers: &[],
            version: 1,
            handshake: None,
            fallback: false,
            notifications: &[],
            others: &[],
        },
        Case {
            // A prompt to confirm through the target's list of transfers, which does not
            // list the fixture's transfer: the record stays invited.
            file: "accept-handshake-transfer-responsibility.json",
            mode: TransferMode::billing(),
            before: &[TRANSFER_INVITE],
            expect: Expect::Unchanged,
            about: Who::Management,
            phase: Phase::TransferInvited,
            blockers: &[],
            version: 2,
            handshake: Some(TRANSFER_HANDSHAKE),
            fallback: false,
            notifications: &[],
            others: &[],
        },
        transfer_closed("decline-handshake-transfer-responsibility.json"),
        // Ended before it was accepted (by either party): a new invitation follows.
        transfer_closed("terminate-responsibility-transfer.json"),
        transfer_closed("terminate-responsibility-transfer-by-customer.json"),
    ]
}

/// Runs one case in its own enrollment; returns what differs from the expectation, and
/// the case's event id (its notifications' `cloudtrail_event_id` starts with it).
async fn run_case(hub: &Hub, index: usize, case: &Case) -> (Cast, String, Vec<String>) {
    let tracker = hub.tracker();
    let cast = Cast::new(hub);
    hub.enroll(&case_enrollment(
        &cast,
        &format!("fixture-{index}"),
        case.mode.clone(),
    ))
    .await
    .unwrap();
    let mut problems = Vec::new();
    for (i, before) in case.before.iter().enumerate() {
        let event = cast.event(before, &format!("c{index}-before{i}"));
        let outcome = tracker.handle_json(&event).await.unwrap();
        if !matches!(outcome, Outcome::Applied { .. }) {
            problems.push(format!("setup event {before}: {outcome:?}"));
        }
    }
    let event = cast.event(case.file, &format!("c{index}"));
    let event_id = event["detail"]["eventID"].as_str().unwrap().to_owned();
    let outcome = tracker.handle_json(&event).await.unwrap();
    let about = case.about.id(&cast);
    let expected_outcome = match case.expect {
        Expect::Applied => Outcome::Applied {
            account: acct(about),
            phase: case.phase,
        },
        Expect::Unchanged => Outcome::Unchanged {
            account: acct(about),
        },
        Expect::Ignored => Outcome::Ignored {
            reason: match &outcome {
                Outcome::Ignored { reason } if reason.contains("cannot change the record") => {
                    reason.clone()
                }
                _ => "an origin the record cannot be changed by".into(),
            },
        },
    };
    if outcome != expected_outcome {
        problems.push(format!(
            "outcome {outcome:?}, expected {expected_outcome:?}"
        ));
    }
    let store = hub.store();
    let record = record_of(&store, about).await;
    let mut expected_blockers: Vec<String> =
        case.blockers.iter().map(|b| (*b).to_owned()).collect();
    expected_blockers.sort();
    let actual = (
        record.phase,
        blocker_codes(&record),
        record.version,
        record.handshake_id().map(|h| h.to_string()),
        record.fallback.is_some(),
    );
    let expected = (
        case.phase,
        expected_blockers,
        case.version,
        case.handshake.map(str::to_owned),
        case.fallback,
    );
    if actual != expected {
        problems.push(format!(
            "record (phase, blockers, version, handshake, fallback) {actual:?}, expected {expected:?}"
        ));
    }
    if case.expect == Expect::Applied && !record.has_applied(&event_id) {
        problems.push("the event is not in the record's history".into());
    }
    for (who, phase, blockers) in case.others {
        let other = record_of(&store, who.id(&cast)).await;
        let mut expected: Vec<String> = blockers.iter().map(|b| (*b).to_owned()).collect();
        expected.sort();
        if (other.phase, blocker_codes(&other)) != (*phase, expected.clone()) {
            problems.push(format!(
                "{who:?}: ({}, {:?}), expected ({phase}, {expected:?})",
                other.phase,
                blocker_codes(&other)
            ));
        }
    }
    if !left_to_publish(&store, about).await.is_empty() {
        problems.push("the outbox holds notifications nobody is publishing".into());
    }
    (cast, event_id, problems)
}

/// What of `account`'s outbox another invocation could take and publish: an item the
/// tracker published and left to expire is held by the invocation that published it.
async fn left_to_publish(store: &DynamoRecordStore, account: &str) -> Vec<OutboxItem> {
    let items = store.pending_outbox(&account_scope(account)).await.unwrap();
    items
        .into_iter()
        .filter(|item| item.claimable_by("another invocation", chrono::Utc::now()))
        .collect()
}

#[tokio::test]
async fn every_fixture_drives_the_tracker_on_dynamodb_and_eventbridge() {
    let (_, _, hub) = hub("trk-fixtures").await;
    let queue = notifications(&hub).await;
    let cases = cases();
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.file).collect();
    let on_disk = fixture_names();
    assert_eq!(
        covered,
        on_disk.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        "every fixture has a case here"
    );

    let mut runs = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        runs.push(run_case(&hub, index, case).await);
    }
    // Everything the cases published, read once (delivery is synchronous with PutEvents).
    let mut published = Vec::new();
    loop {
        let batch = drain(&queue).await;
        if batch.is_empty() {
            break;
        }
        published.extend(batch);
    }

    let mut failures = Vec::new();
    for ((case, (cast, event_id, mut problems)), index) in cases.iter().zip(runs).zip(0..) {
        let by_id: BTreeMap<&str, Who> =
            [Who::Management, Who::MemberA, Who::MemberB, Who::Standalone]
                .into_iter()
                .map(|w| (w.id(&cast), w))
                .collect();
        let mine: Vec<&Value> = published
            .iter()
            .filter(|p| {
                p["detail"]["cloudtrail_event_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(&event_id))
            })
            .collect();
        let mut actual: Vec<(Who, String, Option<String>)> = mine
            .iter()
            .map(|p| {
                let who = p["detail"]["account_id"]
                    .as_str()
                    .and_then(|a| by_id.get(a).copied())
                    .unwrap_or_else(|| panic!("notification for an unknown account: {p}"));
                (
                    who,
                    p["detail-type"].as_str().unwrap().to_owned(),
                    p["detail"]["new_phase"].as_str().map(str::to_owned),
                )
            })
            .collect();
        actual.sort();
        let mut expected: Vec<(Who, String, Option<String>)> = case
            .notifications
            .iter()
            .map(|(w, t, p)| (*w, (*t).to_owned(), p.map(str::to_owned)))
            .collect();
        expected.sort();
        if actual != expected {
            problems.push(format!("notifications {actual:?}, expected {expected:?}"));
        }
        for p in &mine {
            if let Err(e) = NotificationDetail::from_event(p) {
                problems.push(format!("notification breaks the contract ({e}): {p}"));
            }
            let detail = &p["detail"];
            if p["source"] != "org-onboarding"
                || detail["enrollment"] != json!(format!("fixture-{index}"))
                || detail["notification_id"].as_str().is_none()
            {
                problems.push(format!("notification without its context: {p}"));
            }
            if p["detail-type"] == n::UNEXPECTED_INVITATION
                && detail["inviting_organization"] != "o-foreignorg01"
            {
                problems.push(format!(
                    "unexpected invitation without its organization: {p}"
                ));
            }
            if p["detail-type"] == n::BLOCKED
                && detail["new_blockers"]
                    .as_array()
                    .is_none_or(|b| b.is_empty() || b.iter().any(|b| b["remediation"] == ""))
            {
                problems.push(format!("blocked without blockers and remediation: {p}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{}:\n    {}", case.file, problems.join("\n    ")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A hub with the fixtures' enrollment (standalone mode), its cast and a notification queue.
async fn enrolled(name: &str) -> (Hub, Cast, onboarding_e2e::event_loop::TestQueue) {
    let (_, _, hub) = hub(name).await;
    let queue = notifications(&hub).await;
    let cast = Cast::new(&hub);
    hub.enroll(&cast.enrollment("acme", TransferMode::Standalone))
        .await
        .unwrap();
    (hub, cast, queue)
}

#[tokio::test]
async fn the_same_event_delivered_twice_is_one_transition_and_one_notification_set() {
    let (hub, cast, queue) = enrolled("trk-twice").await;
    let tracker = hub.tracker();
    let event = cast.event(LEAVE, "twice");
    let first = tracker.handle_json(&event).await.unwrap();
    assert_eq!(
        first,
        Outcome::Applied {
            account: acct(&cast.member_a),
            phase: Phase::AwaitingInvitation
        }
    );
    let second = tracker.handle_json(&event).await.unwrap();
    assert_eq!(
        second,
        Outcome::Duplicate {
            account: acct(&cast.member_a)
        }
    );
    let record = record_of(&hub.store(), &cast.member_a).await;
    assert_eq!(record.version, 2);
    assert_eq!(record.history.len(), 1);
    let published = drain(&queue).await;
    assert_eq!(
        summary(&published),
        [(n::PHASE_CHANGED.to_owned(), cast.member_a.clone())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_copies_apply_once_and_publish_one_notification_set() {
    let (hub, cast, queue) = enrolled("trk-eight").await;
    let tracker = Arc::new(hub.tracker());
    let event = cast.event(INVITE, "eight");
    let copies: Vec<_> = (0..8)
        .map(|_| {
            let (tracker, event) = (tracker.clone(), event.clone());
            tokio::spawn(async move { tracker.handle_json(&event).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for copy in copies {
        outcomes.push(copy.await.unwrap());
    }
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Applied { .. }))
        .count();
    assert_eq!(applied, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Applied { .. } | Outcome::Duplicate { .. })),
        "{outcomes:?}"
    );
    let record = record_of(&hub.store(), &cast.standalone).await;
    assert_eq!((record.phase, record.version), (Phase::Invited, 2));
    let published = drain(&queue).await;
    let ids: BTreeSet<&str> = published
        .iter()
        .map(|p| p["detail"]["notification_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one notification set: {published:?}");
    assert_eq!(
        summary(&published),
        [(n::PHASE_CHANGED.to_owned(), cast.standalone.clone())],
        "and published once"
    );
    assert!(left_to_publish(&hub.store(), &cast.standalone)
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enrollment_counters_stay_exact_under_sixteen_concurrent_events() {
    let (_, _, hub) = hub("trk-counters").await;
    let tracker = Arc::new(hub.tracker());
    let members: Vec<AccountId> = (0..16)
        .map(|_| acct(&onboarding_e2e::accounts::unique_account_id()))
        .collect();
    let enrollment = Enrollment {
        name: EnrollmentName::parse("wide").unwrap(),
        transfer_mode: TransferMode::Standalone,
        management_account: Some(acct(&onboarding_e2e::accounts::unique_account_id())),
        members: members.clone(),
        standalone_accounts: Vec::new(),
        placement: Default::default(),
    };
    hub.enroll(&enrollment).await.unwrap();
    // Sixteen members of one enrollment leave at once: each event moves its own record
    // and the one counters item of their enrollment.
    let invocations: Vec<_> = members
        .iter()
        .map(|member| {
            let tracker = tracker.clone();
            let event = DomainEvent::observed(
                format!("leave-{member}"),
                member.clone(),
                EventKind::LeftOrganization { removed: false },
            );
            tokio::spawn(async move {
                let mut failures = 0;
                while let Err(error) = tracker.record(&event).await {
                    failures += 1;
                    assert!(failures < 5, "{error}");
                }
            })
        })
        .collect();
    for invocation in invocations {
        invocation.await.unwrap();
    }
    let counts = hub.store().load_counts(&enrollment.name).await.unwrap();
    assert_eq!(counts.accounts(), 17);
    assert_eq!(counts.members_in_old_organization(), 0);
    assert_eq!(counts.in_phase(Phase::LeavingOrganization), 0);
    assert_eq!(counts.in_phase(Phase::AwaitingInvitation), 16);
    assert_eq!(counts.in_phase(Phase::DeletingOrganization), 1);
    // Whichever leave came last saw no member left: the management account is unblocked.
    let management = enrollment.management_account.unwrap();
    let record = hub.store().load(&management).await.unwrap().unwrap();
    assert!(record.blockers.is_empty(), "{:?}", record.blockers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_different_events_for_one_account_lose_no_update() {
    let (hub, cast, queue) = enrolled("trk-sixteen").await;
    let tracker = Arc::new(hub.tracker());
    // Sixteen different handshakes of the standalone account declined at once: each is a
    // real change (the record remembers every settled handshake), so each needs its own
    // version, and optimistic locking must serialise them without losing one.
    let handshakes: Vec<String> = (0..16)
        .map(|i| format!("h-concurrentdecline{i:04}"))
        .collect();
    let invocations: Vec<_> = handshakes
        .iter()
        .enumerate()
        .map(|(i, handshake)| {
            let tracker = tracker.clone();
            let text = cast
                .rewrite(&fixture_text("decline-handshake.json"))
                .replace(HANDSHAKE, handshake);
            let mut event: Value = serde_json::from_str(&text).unwrap();
            event["detail"]["eventID"] = json!(format!("sixteen-{i}"));
            tokio::spawn(async move {
                // Lambda retries an invocation that failed (e.g. conflicts exhausted).
                let mut failures = 0;
                loop {
                    match tracker.handle_json(&event).await {
                        Ok(outcome) => return (outcome, failures),
                        Err(error) => {
                            failures += 1;
                            assert!(failures < 5, "{error}");
                        }
                    }
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for invocation in invocations {
        outcomes.push(invocation.await.unwrap());
    }
    assert!(
        outcomes
            .iter()
            .all(|(o, _)| matches!(o, Outcome::Applied { .. })),
        "{outcomes:?}"
    );
    let retried: usize = outcomes.iter().map(|(_, f)| f).sum();
    println!("invocations retried after exhausting conflicts: {retried}");
    let record = record_of(&hub.store(), &cast.standalone).await;
    assert_eq!(record.version, 17);
    let settled: BTreeSet<String> = record
        .settled_handshakes
        .iter()
        .map(|h| h.to_string())
        .collect();
    assert_eq!(settled, handshakes.iter().cloned().collect());
    assert_eq!(record.history.len(), 16);
    assert_eq!(record.phase, Phase::AwaitingInvitation);
    // Closing handshakes that are not the current one notifies nobody.
    assert!(drain(&queue).await.is_empty());
}

#[tokio::test]
async fn a_put_events_failure_after_the_write_is_delivered_on_retry_exactly_once() {
    let (hub, cast, queue) = enrolled("trk-outbox").await;
    let faults = Faults::new();
    let counter = CallCounter::default();
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(hub.account.config())
            .interceptor(counter.clone())
            .interceptor(faults.interceptor(hub.account.account_id()))
            .build(),
    );
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(hub.account.config())
            .interceptor(counter.clone())
            .build(),
    );
    let tracker = Tracker::new(
        DynamoRecordStore::new(dynamodb, &hub.table),
        EventBridgeNotifier::new(events, HUB_BUS_NAME),
        hub.target.clone(),
    );
    // Every attempt the SDK makes (3, with its standard retry) fails with a 500.
    faults.fail_always(
        "PutEvents",
        None,
        Fault::new(500, "InternalException", "Internal service error"),
    );
    let event = cast.event(INVITE, "outbox");
    let error = tracker.handle_json(&event).await.unwrap_err();
    assert!(error.to_string().contains("InternalException"), "{error}");
    assert_eq!(faults.fired("PutEvents"), 3);
    // The write, three PutEvents attempts, and the outbox claim given up.
    assert_eq!(
        counter.counts(),
        counts(&[
            ("BatchGetItem", 1),
            ("TransactWriteItems", 1),
            ("PutEvents", 3),
            ("UpdateItem", 1)
        ])
    );
    let record = record_of(&hub.store(), &cast.standalone).await;
    assert_eq!(
        (record.phase, record.version),
        (Phase::Invited, 2),
        "the write is kept"
    );
    assert_eq!(
        hub.store()
            .pending_outbox(&account_scope(&cast.standalone))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(drain(&queue).await.is_empty(), "nothing was published");

    // Lambda's retry of the same event: a duplicate now, and the outbox goes out.
    faults.clear();
    counter.reset();
    assert_eq!(
        tracker.handle_json(&event).await.unwrap(),
        Outcome::Duplicate {
            account: acct(&cast.standalone)
        }
    );
    // The read of the record with its outbox item, its claim, the publish and the clean-up
    // (a failure's path: the item is deleted, not left to expire).
    assert_eq!(
        counter.counts(),
        counts(&[
            ("BatchGetItem", 1),
            ("UpdateItem", 1),
            ("PutEvents", 1),
            ("DeleteItem", 1)
        ])
    );
    let published = drain(&queue).await;
    assert_eq!(
        summary(&published),
        [(n::PHASE_CHANGED.to_owned(), cast.standalone.clone())]
    );
    let changed = n::PhaseChanged::from_event(&published[0]).unwrap();
    assert_eq!(changed.new_phase, Phase::Invited);
    assert_eq!(
        changed.context.cloudtrail_event_id,
        event["detail"]["eventID"]
    );
    assert!(hub
        .store()
        .pending_outbox(&account_scope(&cast.standalone))
        .await
        .unwrap()
        .is_empty());
    // A third delivery publishes nothing more.
    tracker.handle_json(&event).await.unwrap();
    assert!(drain(&queue).await.is_empty());
    assert_eq!(record_of(&hub.store(), &cast.standalone).await.version, 2);
}

fn counted_tracker(hub: &Hub, counter: &CallCounter) -> AwsTracker {
    hub.counted_tracker(counter)
}

#[tokio::test]
async fn one_tracker_event_costs_one_read_one_transaction_one_put_events() {
    let (hub, cast, _queue) = enrolled("trk-calls").await;
    let counter = CallCounter::default();
    let tracker = counted_tracker(&hub, &counter);
    let floor = counts(&[
        ("BatchGetItem", 1),
        ("TransactWriteItems", 1),
        ("PutEvents", 1),
    ]);
    let one_read = counts(&[("BatchGetItem", 1)]);

    // An event about one account that changes its phase: the record and the event's own
    // outbox item in one read, the transaction, the publish; the published item is left
    // to expire, not deleted.
    let invite = cast.event(INVITE, "calls");
    tracker.handle_json(&invite).await.unwrap();
    let per_event = counter.counts();
    println!("calls for one applied event: {per_event:?}");
    assert_eq!(per_event, floor);

    // Its redelivery: the one read says it was applied and its outbox item is held by the
    // invocation that published it.
    counter.reset();
    tracker.handle_json(&invite).await.unwrap();
    let duplicate = counter.counts();
    println!("calls for a redelivered event: {duplicate:?}");
    assert_eq!(duplicate, one_read);

    // A member leaving while another remains: the same three. The management account's
    // re-evaluation is ruled out by the transaction itself (its counters condition).
    counter.reset();
    let leave = cast.event(LEAVE, "calls");
    tracker.handle_json(&leave).await.unwrap();
    let member_leaving = counter.counts();
    println!("calls for a member leaving: {member_leaving:?}");
    assert_eq!(member_leaving, floor);
    counter.reset();
    tracker.handle_json(&leave).await.unwrap();
    assert_eq!(counter.counts(), one_read, "its redelivery");

    // An event that changes nothing: the read, no write.
    counter.reset();
    let outcome = tracker
        .handle_json(&cast.event("invite-account-to-organization-duplicate.json", "calls"))
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Unchanged { .. }), "{outcome:?}");
    assert_eq!(counter.counts(), one_read);

    // The enrollment grows by 500 members: a member leaving costs exactly the same.
    let more: Vec<OnboardingRecord> = (0..500)
        .map(|_| {
            OnboardingRecord::enroll(
                acct(&onboarding_e2e::accounts::unique_account_id()),
                EnrollmentName::parse("acme").unwrap(),
                TransferMode::Standalone,
                Role::Member,
                0,
                chrono::Utc::now(),
            )
        })
        .collect();
    hub.store().create_many(&more).await.unwrap();
    counter.reset();
    let remove = cast.event(REMOVE, "calls");
    tracker.handle_json(&remove).await.unwrap();
    assert_eq!(
        counter.counts(),
        floor,
        "the cost of an event does not grow with its enrollment"
    );
    counter.reset();
    tracker.handle_json(&remove).await.unwrap();
    assert_eq!(counter.counts(), one_read, "nor its redelivery's");
    let counted = hub
        .store()
        .load_counts(&EnrollmentName::parse("acme").unwrap())
        .await
        .unwrap();
    assert_eq!(counted.accounts(), 504);
    assert_eq!(counted.members_in_old_organization(), 500);
}

/// The follow-ups cost reads only where they have work: the last member's leave (the
/// management account's organization is now empty) and, after it, the deletion.
#[tokio::test]
async fn only_the_last_members_leave_pays_for_the_management_accounts_re_evaluation() {
    let (hub, cast, queue) = enrolled("trk-last").await;
    let counter = CallCounter::default();
    let tracker = counted_tracker(&hub, &counter);
    tracker
        .handle_json(&cast.event(LEAVE, "last"))
        .await
        .unwrap();
    counter.reset();
    tracker
        .handle_json(&cast.event(REMOVE, "last"))
        .await
        .unwrap();
    let last = counter.counts();
    println!("calls for the last member leaving: {last:?}");
    // The guarded transaction, cancelled by the counters' condition, then the commit; the
    // counters and the management record (one read with its derived event's outbox key);
    // its blocker's clearing committed and published (left to expire); the member's outbox
    // item, which said a follow-up was due, deleted once it is done.
    assert_eq!(
        last,
        counts(&[
            ("BatchGetItem", 2),
            ("TransactWriteItems", 3),
            ("PutEvents", 2),
            ("GetItem", 1),
            ("DeleteItem", 1),
        ])
    );
    let management = record_of(&hub.store(), &cast.customer_management).await;
    assert!(
        !management
            .blockers
            .iter()
            .any(|b| b.code.to_string() == NOT_EMPTY),
        "{:?}",
        management.blockers
    );
    drain(&queue).await;

    counter.reset();
    tracker
        .handle_json(&cast.event("delete-organization.json", "last"))
        .await
        .unwrap();
    let deleted = counter.counts();
    println!("calls for the emptied organization's deletion: {deleted:?}");
    assert_eq!(
        deleted,
        counts(&[
            ("BatchGetItem", 1),
            ("TransactWriteItems", 1),
            ("PutEvents", 1),
        ]),
        "no member is counted in it: nothing to look for"
    );
    assert_eq!(
        record_of(&hub.store(), &cast.customer_management)
            .await
            .phase,
        Phase::AwaitingInvitation
    );
}

/// An invocation that died between its commit and its publish left its outbox item
/// claimed: Lambda's retry, under the same request id, publishes it; another copy of the
/// event, under its own, leaves it alone (without a write).
#[tokio::test]
async fn a_crashed_publisher_is_published_by_its_own_retry_and_never_by_another_copy() {
    let (hub, cast, queue) = enrolled("trk-crash").await;
    let faults = Faults::new();
    let counter = CallCounter::default();
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(hub.account.config())
            .interceptor(faults.interceptor(hub.account.account_id()))
            .build(),
    );
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(hub.account.config())
            .interceptor(counter.clone())
            .interceptor(faults.interceptor(hub.account.account_id()))
            .build(),
    );
    let tracker = Tracker::new(
        DynamoRecordStore::new(dynamodb, &hub.table),
        EventBridgeNotifier::new(events, HUB_BUS_NAME),
        hub.target.clone(),
    );
    // As if the process died after its commit: nothing is published, the claim stays.
    let fault = Fault::new(500, "InternalException", "Internal service error");
    faults.fail_always("PutEvents", None, fault.clone());
    faults.fail_always("UpdateItem", None, fault);
    let event = cast.event(INVITE, "crash");
    let attempt = invocation::scope("request-1".into(), tracker.handle_json(&event)).await;
    assert!(attempt.is_err());
    faults.clear();
    assert!(drain(&queue).await.is_empty());

    counter.reset();
    let copy = invocation::scope("request-2".into(), tracker.handle_json(&event)).await;
    assert!(matches!(copy, Ok(Outcome::Duplicate { .. })), "{copy:?}");
    assert_eq!(counter.counts(), counts(&[("BatchGetItem", 1)]));
    assert!(drain(&queue).await.is_empty(), "held by the first attempt");

    let retry = invocation::scope("request-1".into(), tracker.handle_json(&event)).await;
    assert!(matches!(retry, Ok(Outcome::Duplicate { .. })), "{retry:?}");
    assert_eq!(
        summary(&drain(&queue).await),
        [(n::PHASE_CHANGED.to_owned(), cast.standalone.clone())]
    );
    assert!(hub
        .store()
        .outbox_item(
            &account_scope(&cast.standalone),
            event["detail"]["eventID"].as_str().unwrap()
        )
        .await
        .unwrap()
        .is_none());
    invocation::scope("request-1".into(), tracker.handle_json(&event))
        .await
        .unwrap();
    assert!(drain(&queue).await.is_empty(), "published once");
}

#[tokio::test]
async fn an_event_for_an_account_that_is_not_enrolled_is_skipped_without_a_write() {
    let (hub, cast, queue) = enrolled("trk-notenrolled").await;
    let counter = CallCounter::default();
    let tracker = counted_tracker(&hub, &counter);
    let stranger = onboarding_e2e::accounts::unique_account_id();
    let text = fixture_text(INVITE).replace("555555555555", &stranger);
    let event: Value = serde_json::from_str(&cast.rewrite(&text)).unwrap();
    assert_eq!(
        tracker.handle_json(&event).await.unwrap(),
        Outcome::NotEnrolled {
            account: acct(&stranger)
        }
    );
    assert_eq!(counter.counts(), counts(&[("BatchGetItem", 1)]));
    assert!(drain(&queue).await.is_empty());
    // And a DynamoDB error is never silent: a table that does not exist fails the call.
    let missing = Tracker::new(
        DynamoRecordStore::new(
            aws_sdk_dynamodb::Client::new(hub.account.config()),
            "no-such-table",
        ),
        EventBridgeNotifier::new(hub.account.eventbridge(), HUB_BUS_NAME),
        hub.target.clone(),
    );
    let error = missing.handle_json(&cast.event(INVITE, "missing")).await;
    assert!(error.is_err(), "{error:?}");
}

/// Trust boundaries on the emulator's DynamoDB: every fixture recorded in each origin (the
/// account, the target management account, its old management account, another
/// customer's account) is applied or ignored as `fixtures::allowed_origins` says, and an
/// ignored event leaves the record as it was.
#[tokio::test]
async fn every_event_changes_only_the_records_its_origin_can_speak_for() {
    use onboarding::fixtures::{allowed_origins, Origin};
    let (_, _, hub) = hub("trk-origins").await;
    let tracker = hub.tracker();
    let mut checked = 0;
    for (index, name) in fixture_names().iter().enumerate() {
        for origin in Origin::ALL {
            let cast = Cast::new(&hub);
            let event = cast.event(name, &format!("o{index}-{origin:?}"));
            // As the tracker reads it: the end of a billing transfer is about the
            // customer, whichever party recorded it.
            let about = onboarding::cloudtrail::parse_event(&event)
                .unwrap()
                .about_customer(&hub.target.management_account)
                .account;
            let member = [&cast.member_a, &cast.member_b].contains(&&about.to_string());
            let origin_id = match origin {
                Origin::TheAccount => about.to_string(),
                Origin::Target if about.as_str() != cast.target_management => {
                    cast.target_management.clone()
                }
                Origin::OldManagement if member => cast.customer_management.clone(),
                Origin::AnotherCustomer => onboarding_e2e::accounts::unique_account_id(),
                _ => continue,
            };
            hub.enroll(&case_enrollment(
                &cast,
                "acme",
                onboarding::fixtures::transfer_mode_of(&event),
            ))
            .await
            .unwrap();
            let mut event = event;
            event["account"] = json!(origin_id);
            event["detail"]["recipientAccountId"] = json!(origin_id);
            let before = hub.store().load(&about).await.unwrap();
            let outcome = tracker.handle_json(&event).await.unwrap();
            // Ignored by the origin rules, or rejected when the body's caller (a call an
            // account makes about itself) disagrees with the envelope: never applied.
            let ignored = matches!(&outcome, Outcome::Ignored { reason } if reason.contains("cannot change the record"))
                || matches!(&outcome, Outcome::Rejected { reason } if reason.contains("is not the account that recorded the event"));
            let allowed =
                allowed_origins(event["detail"]["eventName"].as_str().unwrap()).contains(&origin);
            assert_eq!(
                ignored, !allowed,
                "{name} recorded in {origin:?}: {outcome:?}"
            );
            if ignored {
                assert_eq!(hub.store().load(&about).await.unwrap(), before, "{name}");
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked} cases");
}

/// Who recorded an event is the EventBridge envelope's account (issue 28, item 1): every
/// fixture, its envelope naming another account than its body's `recipientAccountId` (and,
/// for a call an account makes about itself, its body naming another caller), is rejected,
/// counted once, and leaves the record on the emulator's DynamoDB as it was.
#[tokio::test]
async fn an_event_whose_body_disagrees_with_its_envelope_is_rejected_counted_and_changes_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (_, _, hub) = hub("trk-envelope").await;
    let counted = Arc::new(AtomicUsize::new(0));
    let sink = counted.clone();
    let tracker = hub.tracker().counting_with(Arc::new(move |metric| {
        assert_eq!(metric, onboarding::metrics::ORIGIN_MISMATCH);
        sink.fetch_add(1, Ordering::SeqCst);
    }));
    let mut rejected = 0;
    for (index, name) in fixture_names().iter().enumerate() {
        let cast = Cast::new(&hub);
        let event = cast.event(name, &format!("env{index}"));
        let Ok(parsed) = onboarding::cloudtrail::parse_event(&event) else {
            continue;
        };
        let about = parsed
            .about_customer(&hub.target.management_account)
            .account;
        let mode = onboarding::fixtures::transfer_mode_of(&event);
        hub.enroll(&case_enrollment(&cast, "acme", mode))
            .await
            .unwrap();
        let before = hub.store().load(&about).await.unwrap();
        let mut forged = vec![("recipientAccountId", event.clone())];
        forged[0].1["account"] = json!(onboarding_e2e::accounts::unique_account_id());
        let event_name = event["detail"]["eventName"].as_str().unwrap();
        let trail = onboarding::cloudtrail::trail_event(event_name).unwrap();
        if trail.is_about_its_recorder() {
            let mut caller = event.clone();
            caller["detail"]["userIdentity"]["accountId"] =
                json!(onboarding_e2e::accounts::unique_account_id());
            forged.push(("userIdentity.accountId", caller));
        }
        for (field, forged) in forged {
            let outcome = tracker.handle_json(&forged).await.unwrap();
            assert!(
                matches!(&outcome, Outcome::Rejected { reason } if reason.contains(field) && reason.contains("is not the account that recorded the event")),
                "{name} with a disagreeing {field}: {outcome:?}"
            );
            rejected += 1;
        }
        assert_eq!(hub.store().load(&about).await.unwrap(), before, "{name}");
    }
    assert!(rejected > 35, "{rejected} cases");
    assert_eq!(
        counted.load(Ordering::SeqCst),
        rejected,
        "each counted once"
    );
}
