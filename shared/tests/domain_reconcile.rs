//! The reconciler's corrections (`domain::reconcile`): what the real state makes of each
//! record, chained through the transitions, each correction once.

use chrono::{DateTime, Duration, TimeZone, Utc};
use onboarding::domain::*;

fn t(hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap() + Duration::hours(hour)
}
fn acct(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}
fn hs(s: &str) -> HandshakeId {
    HandshakeId::parse(s).unwrap()
}
fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: acct("111111111111"),
    }
}

const MEMBER: &str = "333333333333";
const MGMT: &str = "222222222222";
const SOLO: &str = "555555555555";
const H1: &str = "h-examplehandshakeid111";
const H2: &str = "h-examplehandshakeid222";

fn record(account: &str, role: Role) -> OnboardingRecord {
    OnboardingRecord::enroll(
        acct(account),
        EnrollmentName::parse("acme").unwrap(),
        TransferMode::Standalone,
        role,
        1,
        t(0),
    )
}

fn handshake(id: &str, state: &str, account: &str, expires_at: DateTime<Utc>) -> ObservedHandshake {
    ObservedHandshake {
        id: hs(id),
        arn: None,
        action: "INVITE".into(),
        state: state.into(),
        parties: vec![
            HandshakeParty::organization("o-exampleorgid"),
            HandshakeParty::account(account),
        ],
        expires_at: Some(expires_at),
        requested_at: Some(expires_at - Duration::days(15)),
        transfer: None,
    }
}

/// The corrections at `now`, with the default deadlines.
fn corrected(
    record: &OnboardingRecord,
    state: &RealState<'_>,
    now: DateTime<Utc>,
) -> Vec<DomainEvent> {
    corrections(record, state, &target(), Deadlines::default(), now)
}

/// Applies the corrections, as the tracker would.
fn applied(
    record: &OnboardingRecord,
    events: &[DomainEvent],
    now: DateTime<Utc>,
) -> OnboardingRecord {
    events
        .iter()
        .fold(record.clone(), |r, e| apply(&r, e, &target(), now).record)
}

fn kinds(events: &[DomainEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

#[test]
fn a_member_of_the_target_that_we_never_invited_is_left_alone() {
    // One of the target's own accounts, enrolled: the target lists it, no invitation of
    // ours is current or accepted.
    let member = record(MEMBER, Role::Member);
    let state = RealState {
        in_target: true,
        ..RealState::default()
    };
    assert!(corrected(&member, &state, t(1)).is_empty());
    let reason = unclaimed_membership(&member, &state).expect("reported");
    assert!(
        reason.contains(MEMBER) && reason.contains("no invitation"),
        "{reason}"
    );
    // Awaiting its invitation, with an accepted invitation sent before it was enrolled
    // (how the target brought in one of its own accounts): still not ours.
    let mut solo = record(SOLO, Role::Standalone);
    solo.created_at = t(20) + Duration::days(1);
    let before = handshake(H1, "ACCEPTED", SOLO, t(30));
    let state = RealState {
        in_target: true,
        handshakes: vec![&before],
        ..RealState::default()
    };
    assert!(corrected(&solo, &state, t(21)).is_empty());
    assert!(unclaimed_membership(&solo, &state).is_some());
}

#[test]
fn a_member_of_the_target_we_invited_is_joined() {
    let member = invited(MEMBER, H1, t(100));
    let state = RealState {
        in_target: true,
        ..RealState::default()
    };
    assert_eq!(unclaimed_membership(&member, &state), None);
    let events = corrected(&member, &state, t(1));
    assert_eq!(kinds(&events), ["membership_confirmed"]);
    assert_eq!(events[0].id, format!("reconciler:member:{MEMBER}"));
    let after = applied(&member, &events, t(1));
    assert_eq!(after.phase, Phase::Joined);
    assert_eq!(after.handshake_id(), Some(&hs(H1)), "what brought it in");
    assert_eq!(after.history.last().unwrap().source, "reconciler");
    assert!(
        corrected(&after, &state, t(2)).is_empty(),
        "joined is terminal"
    );
}

#[test]
fn an_account_that_accepted_our_invitation_while_its_event_was_lost_takes_it_and_joins() {
    let solo = record(SOLO, Role::Standalone);
    // Sent at t(1), after the enrollment at t(0), and accepted.
    let accepted = handshake(H1, "ACCEPTED", SOLO, t(1) + Duration::days(15));
    let state = RealState {
        in_target: true,
        handshakes: vec![&accepted],
        ..RealState::default()
    };
    let events = corrected(&solo, &state, t(2));
    assert_eq!(kinds(&events), ["invitation_sent", "membership_confirmed"]);
    let after = applied(&solo, &events, t(2));
    assert_eq!(after.phase, Phase::Joined);
    assert_eq!(after.handshake_id(), Some(&hs(H1)));
}

#[test]
fn a_member_outside_any_organization_left_and_takes_the_open_invitation_in_the_same_pass() {
    let member = record(MEMBER, Role::Member);
    assert!(needs_account_read(&member));
    let open = handshake(H1, "OPEN", MEMBER, t(100));
    let state = RealState {
        in_target: false,
        handshakes: vec![&open],
        old_organization: Some(OldOrganization::None),
    };
    let events = corrected(&member, &state, t(1));
    assert_eq!(kinds(&events), ["left_organization", "invitation_sent"]);
    let after = applied(&member, &events, t(1));
    assert_eq!(after.phase, Phase::Invited);
    assert_eq!(after.handshake_id(), Some(&hs(H1)));
    assert!(!after.in_old_organization);
    assert!(
        !needs_account_read(&after),
        "nothing left to ask the account"
    );
    assert!(
        corrected(&after, &state, t(2)).is_empty(),
        "a second pass corrects nothing"
    );
}

#[test]
fn a_member_still_in_its_organization_stays_leaving_and_its_record_learns_the_organization() {
    let member = record(MEMBER, Role::Member);
    let state = RealState {
        old_organization: Some(OldOrganization::Member {
            organization: OrganizationId::parse("o-oldorg0001").unwrap(),
            other_members: None,
        }),
        ..RealState::default()
    };
    let events = corrected(&member, &state, t(1));
    assert_eq!(kinds(&events), ["source_organization_observed"]);
    let after = applied(&member, &events, t(1));
    assert_eq!(after.phase, Phase::LeavingOrganization);
    assert_eq!(
        after.source_organization.as_ref().map(|o| o.as_str()),
        Some("o-oldorg0001")
    );
    assert!(corrected(&after, &state, t(2)).is_empty(), "learnt once");
}

#[test]
fn a_management_account_outside_any_organization_had_it_deleted() {
    let management = record(MGMT, Role::Management);
    let state = RealState {
        old_organization: Some(OldOrganization::None),
        ..RealState::default()
    };
    let events = corrected(&management, &state, t(1));
    assert_eq!(kinds(&events), ["organization_deleted"]);
    assert_eq!(
        applied(&management, &events, t(1)).phase,
        Phase::AwaitingInvitation
    );
}

#[test]
fn an_empty_old_organization_unblocks_its_management_account_and_a_non_empty_one_does_not() {
    let mut management = record(MGMT, Role::Management);
    management.source_organization = Some(OrganizationId::parse("o-oldorg0001").unwrap());
    assert!(management.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    let empty = RealState {
        old_organization: Some(OldOrganization::Member {
            organization: OrganizationId::parse("o-oldorg0001").unwrap(),
            other_members: Some(0),
        }),
        ..RealState::default()
    };
    let events = corrected(&management, &empty, t(1));
    assert_eq!(kinds(&events), ["members_remaining"]);
    let after = applied(&management, &events, t(1));
    assert!(!after.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    assert_eq!(
        after.phase,
        Phase::DeletingOrganization,
        "it still has to delete it"
    );

    let not_empty = RealState {
        old_organization: Some(OldOrganization::Member {
            organization: OrganizationId::parse("o-oldorg0001").unwrap(),
            other_members: Some(2),
        }),
        ..RealState::default()
    };
    assert!(corrected(&management, &not_empty, t(1)).is_empty());
}

fn invited(account: &str, handshake: &str, expires_at: DateTime<Utc>) -> OnboardingRecord {
    let solo = record(account, Role::Standalone);
    let sent = DomainEvent::observed(
        "inviter:sent",
        acct(account),
        EventKind::InvitationSent {
            handshake: hs(handshake),
            organization: Some(target().organization),
            expires_at: Some(expires_at),
        },
    );
    apply(&solo, &sent, &target(), t(0)).record
}

#[test]
fn a_declined_current_invitation_is_closed_and_another_open_one_taken() {
    let record = invited(SOLO, H1, t(360));
    let declined = handshake(H1, "DECLINED", SOLO, t(360));
    let newer = handshake(H2, "OPEN", SOLO, t(370));
    let state = RealState {
        handshakes: vec![&declined, &newer],
        ..RealState::default()
    };
    let events = corrected(&record, &state, t(1));
    assert_eq!(kinds(&events), ["invitation_closed", "invitation_sent"]);
    let after = applied(&record, &events, t(1));
    assert_eq!(after.handshake_id(), Some(&hs(H2)));
    assert!(after.settled_handshakes.contains(&hs(H1)));
}

#[test]
fn an_invitation_past_its_expiry_is_closed_even_when_no_longer_listed() {
    let record = invited(SOLO, H1, t(10));
    let events = corrected(&record, &RealState::default(), t(11));
    assert_eq!(kinds(&events), ["invitation_closed"]);
    assert_eq!(
        applied(&record, &events, t(11)).phase,
        Phase::AwaitingInvitation
    );
}

#[test]
fn an_invitation_closing_within_48_hours_is_announced_once() {
    let record = invited(SOLO, H1, t(40));
    let open = handshake(H1, "OPEN", SOLO, t(40));
    let state = RealState {
        handshakes: vec![&open],
        ..RealState::default()
    };
    assert!(
        corrected(&record, &state, t(-10)).is_empty(),
        "50 h left: not yet"
    );
    let events = corrected(&record, &state, t(1));
    assert_eq!(kinds(&events), ["invitation_expiring"]);
    let transition = apply(&record, &events[0], &target(), t(1));
    assert!(matches!(
        transition.notifications[..],
        [Notification::InvitationExpiring { .. }]
    ));
    assert!(
        corrected(&transition.record, &state, t(2)).is_empty(),
        "once per invitation"
    );
}

#[test]
fn a_stall_is_announced_once_per_phase_and_again_after_progress_stalls() {
    let mut member = record(MEMBER, Role::Member);
    member.source_organization = Some(OrganizationId::parse("o-oldorg0001").unwrap());
    let state = RealState {
        old_organization: Some(OldOrganization::Member {
            organization: OrganizationId::parse("o-oldorg0001").unwrap(),
            other_members: None,
        }),
        ..RealState::default()
    };
    assert!(
        corrected(&member, &state, t(23)).is_empty(),
        "23 h: not stalled yet"
    );
    let events = corrected(&member, &state, t(24));
    assert_eq!(kinds(&events), ["stalled"]);
    let transition = apply(&member, &events[0], &target(), t(24));
    assert_eq!(
        transition.notifications,
        [Notification::Stalled { since: t(0) }]
    );
    let stalled = transition.record;
    assert!(
        corrected(&stalled, &state, t(48)).is_empty(),
        "announced once"
    );

    // Progress, then a new stall in the next phase.
    let left = DomainEvent::observed(
        "left",
        acct(MEMBER),
        EventKind::LeftOrganization { removed: false },
    );
    let moved = apply(&stalled, &left, &target(), t(50)).record;
    let later = corrected(&moved, &RealState::default(), t(75));
    assert_eq!(kinds(&later), ["stalled"]);
}

#[test]
fn a_stall_observed_on_a_record_that_moved_on_meanwhile_announces_nothing() {
    let member = record(MEMBER, Role::Member);
    let stale = DomainEvent::observed(
        "reconciler:stalled:x",
        acct(MEMBER),
        EventKind::Stalled { since: t(-5) },
    );
    assert!(!apply(&member, &stale, &target(), t(30)).changed);
}
