//! The reconciler on the emulator, with real API calls and an event loop that delivers no
//! CloudTrail event at all: every change below happens in AWS behind the product's back
//! (each account acting with its own credentials, the hub inviting with a client nobody
//! records), so only the reconciler's reading of the real state can bring the records
//! back. Then the inviter's and acceptor's sweeps finish the move.

mod common;

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use onboarding::domain::{
    EnrollmentName, HandshakeId, OnboardingRecord, Phase, Role, TransferMode,
};
use onboarding::inviter::InviterOutcome;
use onboarding::notifications::{self as n, Detail as _};
use onboarding::ports::{OutboxScope, OutboxStore, RecordCreator};
use onboarding::reconciler::ReconcilerOutcome;

use onboarding_e2e::accounts::{invite, unique_account_id, AwsAccount};
use onboarding_e2e::counter::CallCounter;
use onboarding_e2e::customers::{enrollment, CustomerOrganization};
use onboarding_e2e::hub::Hub;
use onboarding_e2e::Emulator;

use common::*;

/// A standalone account with its spoke role (not enrolled).
async fn standalone(emulator: &Emulator, hub: &Hub) -> AwsAccount {
    let account = AwsAccount::create_unique(emulator).await.unwrap();
    hub.add_spoke(&account).await.unwrap();
    account
}

fn phases(records: &[OnboardingRecord]) -> BTreeMap<String, Phase> {
    records
        .iter()
        .map(|r| (r.account_id.to_string(), r.phase))
        .collect()
}

#[tokio::test]
async fn one_pass_without_any_event_brings_every_record_to_the_real_state_and_the_sweeps_finish() {
    let (emulator, _recorder, hub) = hub("rec-pass").await;
    let members = [unique_account_id(), unique_account_id()];
    let acme = CustomerOrganization::create(emulator, &hub, &unique_account_id(), &members)
        .await
        .unwrap();
    let [left, removed] = [&acme.members[0], &acme.members[1]];
    let (accepted, open, declined) = (
        standalone(emulator, &hub).await,
        standalone(emulator, &hub).await,
        standalone(emulator, &hub).await,
    );
    let accounts = {
        let mut ids = acme.account_ids();
        ids.extend([&accepted, &open, &declined].map(|a| a.account_id().to_owned()));
        ids
    };
    let plan = acme
        .enrollment(
            "acme",
            TransferMode::Standalone,
            &[&accepted, &open, &declined],
        )
        .unwrap();
    hub.enroll(&plan).await.unwrap();
    // The declined account's record holds the invitation it later declines.
    let InviterOutcome::Invited { handshake } = hub
        .inviter()
        .process(&acct(declined.account_id()), false)
        .await
        .unwrap()
    else {
        panic!("the inviter did not invite");
    };

    let still_open =
        behind_the_products_back(&hub, &acme, [&accepted, &open, &declined], &handshake).await;

    let before = phases(&hub.records_of(&accounts).await.unwrap());
    assert!(before.values().all(|p| *p != Phase::Joined), "{before:?}");

    let queue = notifications(&hub).await;
    let pass = hub.reconciler().pass().await.unwrap();
    assert!(
        pass.accounts.failed.is_empty(),
        "{:?}",
        pass.accounts.failed
    );
    let records = hub.records_of(&accounts).await.unwrap();
    let expected: BTreeMap<String, Phase> = [
        (acme.management.account_id(), Phase::AwaitingInvitation),
        (left.account_id(), Phase::AwaitingInvitation),
        (removed.account_id(), Phase::AwaitingInvitation),
        (accepted.account_id(), Phase::Joined),
        (open.account_id(), Phase::Invited),
        (declined.account_id(), Phase::AwaitingInvitation),
    ]
    .into_iter()
    .map(|(a, p)| (a.to_owned(), p))
    .collect();
    assert_eq!(phases(&records), expected);
    let by_id = |id: &str| {
        records
            .iter()
            .find(|r| r.account_id.as_str() == id)
            .unwrap()
    };
    assert_eq!(
        by_id(open.account_id()).handshake_id().map(|h| h.as_str()),
        Some(still_open.as_str()),
        "the open invitation is the record's now"
    );
    assert!(by_id(declined.account_id())
        .settled_handshakes
        .contains(&handshake));
    for record in &records {
        assert!(!record.in_old_organization, "{}", record.account_id);
        let last = record.history.last().unwrap();
        assert_eq!(last.source, "reconciler", "{}: {last:?}", record.account_id);
    }
    let management = by_id(acme.management.account_id());
    assert!(management.blockers.is_empty(), "{:?}", management.blockers);
    let published = drain_all(&queue).await;
    let joined = published
        .iter()
        .filter(|p| p["detail-type"] == n::ACCOUNT_JOINED)
        .count();
    assert_eq!(joined, 1, "the accepted account's join is announced");

    // A second pass reads the same state and changes nothing.
    a_second_pass_changes_nothing(&hub, &accounts, &records).await;

    // The sweeps finish the move: invitations for the four awaiting one, then acceptances.
    let invited = hub.inviter().sweep().await.unwrap();
    assert!(invited.failed.is_empty(), "{:?}", invited.failed);
    let accepted_all = hub.acceptor().sweep().await.unwrap();
    assert!(accepted_all.failed.is_empty(), "{:?}", accepted_all.failed);
    let end = phases(&hub.records_of(&accounts).await.unwrap());
    assert!(end.values().all(|p| *p == Phase::Joined), "{end:?}");
    let target = hub.account.organization_account_ids().await.unwrap();
    for account in &accounts {
        assert!(
            target.contains(account),
            "{account} is in the target organization"
        );
    }
}

#[tokio::test]
async fn a_member_of_the_target_that_we_never_invited_is_left_alone_by_a_pass() {
    // One of the target's own accounts, enrolled (before enroll refused it, or by a hand
    // on the table): the target lists it as a member, no invitation of ours brought it in.
    let (emulator, _recorder, hub) = hub("rec-not-ours").await;
    let own = unique_account_id();
    AwsAccount::create_member_of(emulator, &own, hub.target.organization.as_str())
        .await
        .unwrap();
    let plan = enrollment("mistake", TransferMode::Direct, None, &[], &[own.as_str()]).unwrap();
    hub.enroll(&plan).await.unwrap();
    let before = hub.record(&own).await.unwrap();

    let pass = hub.reconciler().pass().await.unwrap();
    let outcome = pass
        .accounts
        .done
        .iter()
        .find(|(account, _)| account.as_str() == own)
        .map(|(_, outcome)| outcome.clone());
    let Some(ReconcilerOutcome::NotOurs { reason }) = outcome else {
        panic!("{:?}", pass.accounts)
    };
    assert!(
        reason.contains(&own) && reason.contains("left alone"),
        "{reason}"
    );
    let after = hub.record(&own).await.unwrap();
    assert_eq!(after, before, "not written, not joined");
    // Nothing joined, so the placer has nothing to move or tag.
    assert!(hub.placer().sweep().await.unwrap().done.is_empty());
}

#[tokio::test]
async fn a_stalled_record_is_announced_once_with_its_blockers_not_every_pass() {
    let (emulator, _recorder, hub) = hub("rec-stall").await;
    let member = unique_account_id();
    let acme = CustomerOrganization::create(
        emulator,
        &hub,
        &unique_account_id(),
        std::slice::from_ref(&member),
    )
    .await
    .unwrap();
    // Enrolled 30 hours ago; the member never left.
    let plan = enrollment(
        "acme",
        TransferMode::Standalone,
        Some(acme.management.account_id()),
        &[member.as_str()],
        &[],
    )
    .unwrap();
    let records = plan.records(Utc::now() - Duration::hours(30)).unwrap();
    hub.store().create_many(&records).await.unwrap();

    let queue = notifications(&hub).await;
    let first = hub.reconciler().pass().await.unwrap();
    assert!(
        first.accounts.failed.is_empty(),
        "{:?}",
        first.accounts.failed
    );
    let published = drain_all(&queue).await;
    let stalled: Vec<n::Stalled> = published
        .iter()
        .filter_map(|p| n::Stalled::from_event(p).ok())
        .collect();
    assert_eq!(stalled.len(), 2, "both accounts: {published:?}");
    let management = stalled
        .iter()
        .find(|s| s.context.role == Role::Management)
        .unwrap();
    assert_eq!(
        management.context.blockers[0].code.to_string(),
        "ORGANIZATION_NOT_EMPTY",
        "the stall names what blocks it"
    );
    assert!(!management.context.blockers[0].remediation.is_empty());

    hub.reconciler().pass().await.unwrap();
    let again = drain_all(&queue).await;
    assert!(
        again.iter().all(|p| p["detail-type"] != n::STALLED),
        "announced once: {again:?}"
    );
}

#[tokio::test]
async fn notifications_left_pending_by_a_dead_publisher_are_published_once() {
    let (_emulator, _recorder, hub) = hub("rec-outbox").await;
    let queue = notifications(&hub).await;
    let enrollment = EnrollmentName::parse("acme").unwrap();
    let pending = n::enrollment_completed(&enrollment, 3, "lost-invocation");
    // Committed, never published: the invocation died between the write and PutEvents.
    assert!(hub
        .store()
        .commit_once(
            &OutboxScope::Enrollment(enrollment.clone()),
            "lost-invocation",
            &[pending]
        )
        .await
        .unwrap());
    let reconciler = hub.reconciler();
    let too_early = reconciler
        .publish_stale_outbox(Utc::now() - Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        too_early, 0,
        "younger than the cut-off: its publisher may still be at it"
    );
    let published = reconciler
        .publish_stale_outbox(Utc::now() + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(published, 1);
    let received = drain_all(&queue).await;
    let completed: Vec<_> = received
        .iter()
        .filter(|p| p["detail-type"] == n::ENROLLMENT_COMPLETED)
        .collect();
    assert_eq!(completed.len(), 1, "{received:?}");
    assert!(hub
        .store()
        .stale_outbox(Utc::now() + Duration::seconds(1))
        .await
        .unwrap()
        .is_empty());
}

/// What the records never hear of: one member leaves, the other is removed, the
/// organization is deleted; the target invites two accounts itself (no one records the
/// calls), one accepts; the third declines the invitation its record holds. Returns the
/// invitation left open.
async fn behind_the_products_back(
    hub: &Hub,
    acme: &CustomerOrganization,
    [accepted, open, declined]: [&AwsAccount; 3],
    handshake: &HandshakeId,
) -> String {
    let [left, removed] = [&acme.members[0], &acme.members[1]];
    let org = |a: &AwsAccount| a.organizations();
    org(left).leave_organization().send().await.unwrap();
    org(&acme.management)
        .remove_account_from_organization()
        .account_id(removed.account_id())
        .send()
        .await
        .unwrap();
    org(&acme.management)
        .delete_organization()
        .send()
        .await
        .unwrap();
    let unrecorded = hub.account.organizations();
    let to_accept = invite(&unrecorded, accepted.account_id()).await.unwrap();
    org(accepted)
        .accept_handshake()
        .handshake_id(&to_accept)
        .send()
        .await
        .unwrap();
    let still_open = invite(&unrecorded, open.account_id()).await.unwrap();
    org(declined)
        .decline_handshake()
        .handshake_id(handshake.as_str())
        .send()
        .await
        .unwrap();
    still_open
}

/// A pass over the state `records` already follow: the organization-wide reads once, no
/// call per record (none believes it is in its old organization), no record written.
async fn a_second_pass_changes_nothing(
    hub: &Hub,
    accounts: &[String],
    records: &[OnboardingRecord],
) {
    let versions: Vec<u64> = records.iter().map(|r| r.version).collect();
    let counter = CallCounter::default();
    let again = hub.counted_reconciler(&counter).pass().await.unwrap();
    assert_eq!(
        counter.counts(),
        counts(&[
            ("ListAccounts", 1),
            ("ListHandshakesForOrganization", 1),
            // The stale outbox, then the six phases that are not terminal (four of the
            // invitation paths, two of billing mode).
            ("Query", 7),
            // The sweep cursor, and the stored-data upgrade's progress (the first pass
            // found every item current: finished, one read).
            ("GetItem", 2),
            ("PutItem", 1),
        ]),
        "the sweep cursor is read and written once, the upgrade's progress read once"
    );
    assert!(
        again
            .accounts
            .done
            .iter()
            .all(|(_, o)| *o == ReconcilerOutcome::InStep),
        "{:?}",
        again.accounts.done
    );
    let after: Vec<u64> = hub
        .records_of(accounts)
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(after, versions);
}
