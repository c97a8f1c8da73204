//! End to end on the emulator: the demo's scenario (`onboarding_e2e::scenario`) with
//! assertions, as played by `make demo`, and its failure variants (a tracker failure
//! retried by the event loop; every event delivered twice).
//!
//! Each test plays the whole customer side with real API calls (recorded as CloudTrail
//! events) while the real handlers run on the function queues; see the scenario module.

use std::collections::HashMap;

use onboarding::domain::{BlockerCode, Phase, Role};
use onboarding::notifications::{
    self as n, Detail as _, NotificationDetail, ACCOUNT_JOINED, BLOCKED, ENROLLMENT_COMPLETED,
    PHASE_CHANGED, UNEXPECTED_INVITATION,
};
use onboarding_e2e::scenario::{self, Options, Report, Variant};
use onboarding_e2e::Emulator;

async fn play(options: Options) -> Report {
    let emulator = Emulator::shared().await.expect("emulator");
    scenario::run(emulator, &options)
        .await
        .unwrap_or_else(|e| panic!("scenario failed: {e:#}"))
}

fn count_for(report: &Report, detail_type: &str, account: &str) -> usize {
    report
        .notifications_of(detail_type)
        .into_iter()
        .filter(|n| {
            NotificationDetail::from_event(n)
                .is_ok_and(|d| d.account_id().is_some_and(|a| a.as_str() == account))
        })
        .count()
}

/// What every run must end with, whatever the event loop did on the way.
fn assert_everyone_joined_and_nothing_was_lost(report: &Report) {
    assert_eq!(report.records.len(), 5, "{}", report.final_table);
    for record in &report.records {
        assert_eq!(record.phase, Phase::Joined, "{}", report.final_table);
        assert!(record.blockers.is_empty(), "{}", report.final_table);
        assert!(!record.in_old_organization);
        assert!(record.handshake_id().is_some(), "joined by an invitation");
    }
    let roles: Vec<Role> = report.records.iter().map(|r| r.role).collect();
    assert_eq!(
        roles,
        [
            Role::Management,
            Role::Member,
            Role::Member,
            Role::Member,
            Role::Standalone
        ]
    );

    // AWS's own view: every enrolled account is a member of the target organization.
    for account in &report.enrolled {
        assert!(
            report.target_accounts.contains(account),
            "{account} not in ListAccounts of the target: {:?}",
            report.target_accounts
        );
    }

    // The foreign invitation: reported once, never accepted (still OPEN), not declined
    // (declining is off by default).
    assert_eq!(report.foreign_handshake_state, "OPEN");
    let unexpected = report.notifications_of(UNEXPECTED_INVITATION);
    assert_eq!(unexpected.len(), 1, "{unexpected:#?}");
    let detail = n::UnexpectedInvitation::from_event(unexpected[0]).unwrap();
    assert_eq!(
        detail.context.account_id.as_str(),
        report.standalone_account
    );
    assert_eq!(
        detail.unexpected_handshake_id.as_str(),
        report.foreign_handshake
    );
    assert_eq!(
        detail.inviting_organization.as_ref().map(|o| o.as_str()),
        Some(report.foreign_organization.as_str())
    );
    let standalone = report
        .records
        .iter()
        .find(|r| r.account_id.as_str() == report.standalone_account)
        .expect("standalone record");
    assert_ne!(
        standalone.handshake_id().map(|h| h.as_str()),
        Some(report.foreign_handshake.as_str()),
        "joined through the target's invitation, not the foreign one"
    );

    // Notifications: each account joined once, the enrollment completed once.
    for account in &report.enrolled {
        assert_eq!(
            count_for(report, ACCOUNT_JOINED, account),
            1,
            "Account Joined for {account}"
        );
    }
    let completed: Vec<_> = report
        .notifications_of(ENROLLMENT_COMPLETED)
        .into_iter()
        .map(|n| n::EnrollmentCompleted::from_event(n).unwrap())
        .filter(|d| d.enrollment.as_str() == "acme")
        .collect();
    assert_eq!(completed.len(), 1, "{completed:#?}");
    assert_eq!(completed[0].accounts, 5);

    // Member 1 was blocked for its payment method, told so, and unblocked by its retry.
    let member1 = report.records[1].account_id.as_str();
    let blocked: Vec<_> = report
        .notifications_of(BLOCKED)
        .into_iter()
        .map(|n| n::Blocked::from_event(n).unwrap())
        .filter(|d| d.context.account_id.as_str() == member1)
        .collect();
    assert_eq!(blocked.len(), 1, "{blocked:#?}");
    assert_eq!(
        blocked[0].new_blockers[0].code,
        BlockerCode::PaymentMethodMissing
    );
    assert!(blocked[0].new_blockers[0]
        .remediation
        .contains("Payment preferences"));

    // Member 3 was removed by its management account, member 2 left.
    let reason_of = |account: &str| {
        report
            .notifications_of(PHASE_CHANGED)
            .into_iter()
            .map(|n| n::PhaseChanged::from_event(n).unwrap())
            .find(|d| {
                d.context.account_id.as_str() == account
                    && d.old_phase == Phase::LeavingOrganization
            })
            .map(|d| d.reason.unwrap_or_default())
    };
    assert_eq!(
        reason_of(report.records[3].account_id.as_str()).as_deref(),
        Some("removed from its organization")
    );
    assert_eq!(
        reason_of(report.records[2].account_id.as_str()).as_deref(),
        Some("left its organization")
    );

    // Nothing was dead-lettered.
    let expected: HashMap<String, usize> = ["tracker", "acceptor", "inviter"]
        .into_iter()
        .map(|f| (f.to_string(), 0))
        .collect();
    assert_eq!(report.dead_lettered, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_scenario_onboards_every_account_and_reports_the_foreign_invitation() {
    let report = play(Options {
        direct_act: true,
        ..Options::test(Variant::Normal)
    })
    .await;
    assert_everyone_joined_and_nothing_was_lost(&report);
    assert_eq!(report.dispatch.total_failed(), 0, "{:?}", report.dispatch);

    // Act 3: the billing customer's management account transferred its bill, and stays
    // out of the target organization.
    let [billing] = report.billing_records.as_slice() else {
        panic!("act 3's record: {}", report.final_table);
    };
    assert_eq!(billing.phase, Phase::Transferred, "{}", report.final_table);
    assert!(billing.billing().is_some_and(|b| b.transfer.is_some()));
    assert!(!report
        .target_accounts
        .contains(&billing.account_id.to_string()));
    assert_eq!(
        report
            .notifications_of(onboarding::notifications::BILLING_TRANSFERRED)
            .len(),
        1
    );

    // Act 2: the direct-mode member was refused by the emulator, fell back, and joined.
    assert_eq!(report.direct_records.len(), 2, "{}", report.final_table);
    for record in &report.direct_records {
        assert_eq!(record.phase, Phase::Joined, "{}", report.final_table);
        assert!(
            report
                .target_accounts
                .contains(&record.account_id.to_string()),
            "{} not in the target organization",
            record.account_id
        );
    }
    let member = report
        .direct_records
        .iter()
        .find(|r| r.role == Role::Member)
        .expect("direct-mode member");
    let fallback = member.fallback.as_ref().expect("the member fell back");
    assert!(
        fallback.reason.contains("InviteAccountToOrganization"),
        "{fallback:?}"
    );
    eprintln!(
        "scenario took {:.1}s\n{}",
        report.elapsed.as_secs_f64(),
        report.final_table
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracker_failure_is_retried_by_the_event_loop_and_nothing_is_lost() {
    let report = play(Options::test(Variant::TrackerFailsFirstDelivery)).await;
    let failed = report.dispatch.failed.get("tracker").copied().unwrap_or(0);
    assert!(
        failed >= 10,
        "the tracker should have failed on every first delivery: {:?}",
        report.dispatch
    );
    assert_everyone_joined_and_nothing_was_lost(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_delivered_twice_change_nothing_the_second_time() {
    let report = play(Options::test(Variant::EventsDeliveredTwice)).await;
    assert_eq!(
        report.redeliveries_applied, 0,
        "a second delivery changed a record"
    );
    assert!(
        report
            .dispatch
            .succeeded
            .get("tracker")
            .copied()
            .unwrap_or(0)
            >= 10
    );
    assert_everyone_joined_and_nothing_was_lost(&report);
}
