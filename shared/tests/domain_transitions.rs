//! Given/when/then tests of the transition rules, in both transfer modes.

use chrono::{DateTime, TimeZone, Utc};
use onboarding::domain::*;

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap() + chrono::Duration::minutes(minute.into())
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

fn given(role: Role, mode: TransferMode) -> OnboardingRecord {
    let account = match role {
        Role::Management => MGMT,
        Role::Member => MEMBER,
        Role::Standalone => SOLO,
    };
    OnboardingRecord::enroll(
        acct(account),
        EnrollmentName::parse("acme").unwrap(),
        mode,
        role,
        2,
        t(0),
    )
}

struct Scenario {
    record: OnboardingRecord,
    last: Option<Transition>,
    n: u32,
}

impl Scenario {
    fn new(record: OnboardingRecord) -> Self {
        Self {
            record,
            last: None,
            n: 0,
        }
    }
    fn when(mut self, kind: EventKind) -> Self {
        self.n += 1;
        let event = DomainEvent {
            id: format!("ev-{}", self.n),
            recorded_in: None,
            replayed: false,
            account: self.record.account_id.clone(),
            occurred_at: t(self.n),
            kind,
        };
        self.when_event(&event)
    }
    fn when_event(mut self, event: &DomainEvent) -> Self {
        let transition = apply(&self.record, event, &target(), t(self.n + 1));
        self.record = transition.record.clone();
        self.last = Some(transition);
        self
    }
    fn then_phase(self, phase: Phase) -> Self {
        assert_eq!(self.record.phase, phase);
        self
    }
    fn last(&self) -> &Transition {
        self.last.as_ref().unwrap()
    }
}

fn invited(h: &str) -> EventKind {
    EventKind::InvitationSent {
        handshake: hs(h),
        organization: Some(target().organization),
        expires_at: Some(t(59)),
    }
}
fn accepted(h: &str) -> EventKind {
    EventKind::InvitationAccepted {
        handshake: hs(h),
        organization: Some(target().organization),
    }
}
fn failed(operation: Operation, code: &str, reason: Option<&str>, message: &str) -> EventKind {
    EventKind::CallFailed {
        operation,
        failure: AwsFailure::new(code, reason, message),
        handshake: None,
    }
}
fn already_in_org(operation: Operation) -> EventKind {
    failed(
        operation,
        "HandshakeConstraintViolationException",
        Some("ALREADY_IN_AN_ORGANIZATION"),
        "already a member of an organization",
    )
}

// --- starting phases -------------------------------------------------------------------

#[test]
fn starting_phases_follow_role_and_mode() {
    assert_eq!(
        given(Role::Member, TransferMode::Direct).phase,
        Phase::AwaitingInvitation
    );
    assert_eq!(
        given(Role::Member, TransferMode::Standalone).phase,
        Phase::LeavingOrganization
    );
    assert_eq!(
        given(Role::Management, TransferMode::Direct).phase,
        Phase::DeletingOrganization
    );
    assert_eq!(
        given(Role::Management, TransferMode::Standalone).phase,
        Phase::DeletingOrganization
    );
    assert_eq!(
        given(Role::Standalone, TransferMode::Standalone).phase,
        Phase::AwaitingInvitation
    );
    assert!(given(Role::Management, TransferMode::Direct)
        .is_blocked_by(BlockerCode::OrganizationNotEmpty));
    assert!(!given(Role::Standalone, TransferMode::Direct).in_old_organization);
}

#[test]
fn enrollment_gives_every_account_its_record_and_rejects_duplicates() {
    let enrollment = Enrollment {
        name: EnrollmentName::parse("acme").unwrap(),
        transfer_mode: TransferMode::Standalone,
        management_account: Some(acct(MGMT)),
        members: vec![acct(MEMBER)],
        standalone_accounts: vec![acct(SOLO)],
        placement: Default::default(),
    };
    let records = enrollment.records(t(0)).unwrap();
    let phases: Vec<_> = records
        .iter()
        .map(|r| (r.account_id.as_str(), r.phase))
        .collect();
    assert_eq!(
        phases,
        [
            (MGMT, Phase::DeletingOrganization),
            (MEMBER, Phase::LeavingOrganization),
            (SOLO, Phase::AwaitingInvitation)
        ]
    );

    let duplicate = Enrollment {
        standalone_accounts: vec![acct(MEMBER)],
        ..enrollment.clone()
    };
    assert_eq!(
        duplicate.records(t(0)),
        Err(EnrollmentError::DuplicateAccount(acct(MEMBER)))
    );
    let orphan = Enrollment {
        management_account: None,
        ..enrollment
    };
    assert_eq!(
        orphan.records(t(0)),
        Err(EnrollmentError::MembersWithoutManagement)
    );
}

// --- standalone path -------------------------------------------------------------------

#[test]
fn standalone_member_leaves_is_invited_and_joins() {
    let s = Scenario::new(given(Role::Member, TransferMode::Standalone))
        .when(EventKind::LeftOrganization { removed: false })
        .then_phase(Phase::AwaitingInvitation);
    assert!(s.last().follow_ups.contains(&FollowUp::SendInvitation));
    assert!(s
        .last()
        .follow_ups
        .contains(&FollowUp::ReevaluateManagement));
    let s = s.when(invited(H1)).then_phase(Phase::Invited);
    assert_eq!(s.record.handshake_id(), Some(&hs(H1)));
    assert!(s
        .last()
        .follow_ups
        .contains(&FollowUp::AcceptInvitation { handshake: hs(H1) }));
    let s = s
        .when(accepted(H1))
        .when(EventKind::MembershipConfirmed)
        .then_phase(Phase::Joined);
    assert!(s
        .last()
        .notifications
        .contains(&Notification::AccountJoined));
    assert_eq!(s.record.version, 4);
}

#[test]
fn removal_by_the_management_account_counts_as_leaving() {
    Scenario::new(given(Role::Member, TransferMode::Standalone))
        .when(EventKind::LeftOrganization { removed: true })
        .then_phase(Phase::AwaitingInvitation);
}

#[test]
fn leave_failure_blocks_with_remediation_and_success_clears_it() {
    let s = Scenario::new(given(Role::Member, TransferMode::Standalone)).when(failed(
        Operation::LeaveOrganization,
        "ConstraintViolationException",
        None,
        "MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED: no payment instrument",
    ));
    let s = s.then_phase(Phase::LeavingOrganization);
    let blocker = &s.record.blockers[0];
    assert_eq!(blocker.code, BlockerCode::PaymentMethodMissing);
    assert!(blocker.remediation.contains("Payment preferences"));
    assert!(matches!(
        &s.last().notifications[..],
        [Notification::Blocked { .. }]
    ));

    let s = s.when(EventKind::LeftOrganization { removed: false });
    assert!(s.record.blockers.is_empty());
    assert!(s.last().notifications.contains(&Notification::Unblocked {
        cleared: vec![BlockerCode::PaymentMethodMissing]
    }));
}

#[test]
fn repeated_failure_does_not_duplicate_the_blocker_or_notify_again() {
    let leave_failed = failed(
        Operation::LeaveOrganization,
        "ConstraintViolationException",
        Some("WAIT_PERIOD_ACTIVE"),
        "",
    );
    let s = Scenario::new(given(Role::Member, TransferMode::Standalone))
        .when(leave_failed.clone())
        .when(leave_failed);
    assert_eq!(s.record.blockers.len(), 1);
    assert!(s.last().notifications.is_empty());
}

#[test]
fn a_late_failure_of_a_step_already_done_changes_nothing() {
    let s = Scenario::new(given(Role::Member, TransferMode::Standalone))
        .when(EventKind::LeftOrganization { removed: false })
        .when(failed(
            Operation::LeaveOrganization,
            "ConstraintViolationException",
            Some("WAIT_PERIOD_ACTIVE"),
            "",
        ));
    assert!(!s.last().changed);
    let s = Scenario::new(given(Role::Management, TransferMode::Standalone))
        .when(EventKind::OrganizationDeleted)
        .when(failed(
            Operation::LeaveOrganization,
            "MasterCannotLeaveOrganizationException",
            None,
            "",
        ))
        .when(failed(
            Operation::DeleteOrganization,
            "OrganizationNotEmptyException",
            None,
            "",
        ));
    assert!(s.record.blockers.is_empty());
}

#[test]
fn transient_failures_change_nothing() {
    let s = Scenario::new(given(Role::Member, TransferMode::Standalone)).when(failed(
        Operation::LeaveOrganization,
        "TooManyRequestsException",
        None,
        "slow down",
    ));
    assert!(!s.last().changed);
    assert_eq!(s.record.version, 1);
}

// --- management account ----------------------------------------------------------------

#[test]
fn management_account_stays_deleting_while_members_remain() {
    let s = Scenario::new(given(Role::Management, TransferMode::Standalone))
        .when(EventKind::MembersRemaining { count: 1 })
        .then_phase(Phase::DeletingOrganization);
    assert!(s.record.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    assert!(
        !s.last().changed,
        "a count above zero only confirms the blocker"
    );
    let s = s
        .when(EventKind::MembersRemaining { count: 0 })
        .then_phase(Phase::DeletingOrganization);
    assert!(!s.record.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    assert!(s.last().notifications.contains(&Notification::Unblocked {
        cleared: vec![BlockerCode::OrganizationNotEmpty]
    }));
    // A stale count arriving late cannot bring the blocker back.
    let s = s.when(EventKind::MembersRemaining { count: 2 });
    assert!(!s.record.is_blocked_by(BlockerCode::OrganizationNotEmpty));
}

#[test]
fn management_account_moves_on_once_its_organization_is_deleted() {
    let s = Scenario::new(given(Role::Management, TransferMode::Direct))
        .when(failed(
            Operation::DeleteOrganization,
            "OrganizationNotEmptyException",
            None,
            "still contains accounts",
        ))
        .then_phase(Phase::DeletingOrganization)
        .when(EventKind::OrganizationDeleted)
        .then_phase(Phase::AwaitingInvitation);
    assert!(s.record.blockers.is_empty());
    assert!(!s.record.in_old_organization);
    assert!(s
        .last()
        .follow_ups
        .contains(&FollowUp::OldOrganizationDeleted));
    assert!(s.last().follow_ups.contains(&FollowUp::SendInvitation));
}

#[test]
fn management_account_that_tries_to_leave_is_told_to_delete() {
    let s = Scenario::new(given(Role::Management, TransferMode::Standalone))
        .when(failed(
            Operation::LeaveOrganization,
            "MasterCannotLeaveOrganizationException",
            None,
            "can't",
        ))
        .then_phase(Phase::DeletingOrganization);
    assert!(s
        .record
        .is_blocked_by(BlockerCode::ManagementMustDeleteOrganization));
    // A leave event can never move a management account: only deletion does.
    Scenario::new(given(Role::Management, TransferMode::Standalone))
        .when(EventKind::LeftOrganization { removed: false })
        .then_phase(Phase::DeletingOrganization);
}

#[test]
fn invitation_to_a_management_account_still_deleting_does_not_move_it() {
    Scenario::new(given(Role::Management, TransferMode::Direct))
        .when(invited(H1))
        .then_phase(Phase::DeletingOrganization);
}

// --- direct path and fallback ----------------------------------------------------------

#[test]
fn direct_member_is_invited_and_joins_without_leaving() {
    let s = Scenario::new(given(Role::Member, TransferMode::Direct))
        .when(invited(H1))
        .then_phase(Phase::Invited)
        .when(accepted(H1))
        .when(EventKind::MembershipConfirmed)
        .then_phase(Phase::Joined);
    assert!(!s.record.in_old_organization);
    assert!(s
        .last()
        .follow_ups
        .contains(&FollowUp::ReevaluateManagement));
}

#[test]
fn direct_member_refused_at_invitation_falls_back_to_leaving_once_with_its_reason() {
    let s = Scenario::new(given(Role::Member, TransferMode::Direct))
        .when(already_in_org(Operation::InviteAccountToOrganization))
        .then_phase(Phase::LeavingOrganization);
    let fallback = s.record.fallback.clone().unwrap();
    assert!(fallback.reason.contains("standalone path"));
    assert!(
        matches!(&s.last().notifications[0], Notification::PhaseChanged { reason: Some(r), .. } if r.contains("direct transfer"))
    );
    assert!(s.record.is_blocked_by(BlockerCode::StillInOrganization));

    // It then follows the standalone path: leave, invited, joined.
    let s = s
        .when(EventKind::LeftOrganization { removed: false })
        .then_phase(Phase::AwaitingInvitation);
    assert!(s.record.blockers.is_empty());
    // Refused again: no second fallback, a blocker instead.
    let s = s
        .when(already_in_org(Operation::InviteAccountToOrganization))
        .then_phase(Phase::AwaitingInvitation);
    assert!(s.record.is_blocked_by(BlockerCode::StillInOrganization));
    s.when(invited(H2))
        .then_phase(Phase::Invited)
        .when(accepted(H2))
        .when(EventKind::MembershipConfirmed)
        .then_phase(Phase::Joined);
}

#[test]
fn direct_member_refused_at_acceptance_falls_back_too() {
    let s = Scenario::new(given(Role::Member, TransferMode::Direct))
        .when(invited(H1))
        .when(refused_acceptance(H1))
        .then_phase(Phase::LeavingOrganization);
    assert_eq!(s.record.handshake_id(), None);
}

fn refused_acceptance(handshake: &str) -> EventKind {
    let EventKind::CallFailed {
        operation, failure, ..
    } = already_in_org(Operation::AcceptHandshake)
    else {
        unreachable!()
    };
    EventKind::CallFailed {
        operation,
        failure,
        handshake: Some(hs(handshake)),
    }
}

#[test]
fn a_refused_acceptance_of_another_organization_s_invitation_never_falls_back() {
    // Awaiting ours, the member accepts a foreign invitation; AWS refuses it: the member is
    // still in its organization. Not our transfer: no fallback (the refusal is shown as a
    // blocker, as every refusal AWS returns is).
    let awaiting = Scenario::new(given(Role::Member, TransferMode::Direct))
        .when(refused_acceptance(H2))
        .then_phase(Phase::AwaitingInvitation);
    assert!(awaiting.record.fallback.is_none());
    // Invited by us, the same refusal about the foreign one changes nothing either.
    let invited = Scenario::new(given(Role::Member, TransferMode::Direct))
        .when(invited(H1))
        .when(refused_acceptance(H2))
        .then_phase(Phase::Invited);
    assert!(invited.record.fallback.is_none());
    assert_eq!(invited.record.handshake_id(), Some(&hs(H1)));
}

#[test]
fn standalone_mode_never_falls_back_it_blocks() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(already_in_org(Operation::InviteAccountToOrganization))
        .then_phase(Phase::AwaitingInvitation);
    assert!(s.record.fallback.is_none());
    assert!(s.record.is_blocked_by(BlockerCode::StillInOrganization));
}

// --- handshakes ------------------------------------------------------------------------

#[test]
fn closed_current_handshake_moves_invited_back_to_awaiting() {
    for closure in [Closure::Declined, Closure::Canceled, Closure::Expired] {
        let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
            .when(invited(H1))
            .when(EventKind::InvitationClosed {
                handshake: hs(H1),
                closure,
            })
            .then_phase(Phase::AwaitingInvitation);
        assert_eq!(s.record.handshake_id(), None);
        assert!(s.last().follow_ups.contains(&FollowUp::SendInvitation));
    }
}

#[test]
fn closing_another_handshake_never_changes_the_current_one() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(invited(H1))
        .when(EventKind::InvitationClosed {
            handshake: hs(H2),
            closure: Closure::Declined,
        })
        .then_phase(Phase::Invited);
    assert_eq!(s.record.handshake_id(), Some(&hs(H1)));
    // and a second invitation does not replace the current one either
    let s = s.when(invited(H2));
    assert_eq!(s.record.handshake_id(), Some(&hs(H1)));
}

#[test]
fn a_late_invitation_for_a_closed_handshake_changes_nothing() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(EventKind::InvitationClosed {
            handshake: hs(H1),
            closure: Closure::Canceled,
        })
        .when(invited(H1))
        .then_phase(Phase::AwaitingInvitation);
    assert_eq!(s.record.handshake_id(), None);
}

#[test]
fn foreign_invitation_is_reported_once_and_never_tracked() {
    let foreign = EventKind::InvitationSent {
        handshake: hs("h-foreignhandshake001"),
        organization: Some(OrganizationId::parse("o-foreignorg01").unwrap()),
        expires_at: None,
    };
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(foreign.clone())
        .then_phase(Phase::AwaitingInvitation);
    assert!(matches!(
        &s.last().notifications[..],
        [Notification::UnexpectedInvitation { .. }]
    ));
    assert_eq!(s.record.handshake_id(), None);
    let s = s.when(foreign);
    assert!(s.last().notifications.is_empty());
}

fn deferred(reason: WaitingReason) -> EventKind {
    EventKind::InvitationDeferred { reason }
}

#[test]
fn waiting_for_the_same_reason_again_changes_nothing() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(deferred(WaitingReason::InvitationSlot));
    assert!(s.last().changed);
    assert_eq!(
        s.record.blockers,
        vec![WaitingReason::InvitationSlot.blocker(t(2))]
    );
    assert!(matches!(
        s.last().notifications.as_slice(),
        [Notification::Blocked { .. }]
    ));
    let s = s.when(deferred(WaitingReason::InvitationSlot));
    assert!(
        !s.last().changed,
        "no write, no history entry, no notification"
    );
    assert_eq!((s.record.version, s.record.history.len()), (2, 1));
}

#[test]
fn another_waiting_reason_replaces_the_first_and_an_invitation_ends_the_wait() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(deferred(WaitingReason::InvitationSlot))
        .when(deferred(WaitingReason::DailyQuota));
    let codes: Vec<BlockerCode> = s.record.blockers.iter().map(|b| b.code).collect();
    assert_eq!(codes, vec![BlockerCode::InvitationQuotaReached]);
    let s = s.when(invited(H1)).then_phase(Phase::Invited);
    assert!(s.record.blockers.is_empty());
}

#[test]
fn a_wait_stored_with_counts_by_an_earlier_version_is_rewritten_once_keeping_its_since() {
    let mut record = given(Role::Standalone, TransferMode::Direct);
    let mut old = Blocker::new(BlockerCode::AccountLimitReached, Step::Invite, t(0));
    old.message = "waiting for room in the organization: 1 accounts and 9 pending invitations of its limit of 10".into();
    record.blockers = vec![old];
    let s = Scenario::new(record).when(deferred(WaitingReason::InvitationSlot));
    assert!(s.last().changed && s.last().notifications.is_empty());
    assert_eq!(
        s.record.blockers,
        vec![WaitingReason::InvitationSlot.blocker(t(0))]
    );
    let s = s.when(deferred(WaitingReason::InvitationSlot));
    assert!(!s.last().changed);
}

#[test]
fn a_refusal_of_the_invitation_by_aws_is_not_taken_for_a_wait() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct)).when(failed(
        Operation::InviteAccountToOrganization,
        "ConstraintViolationException",
        Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED"),
        "limit",
    ));
    let refusal = s.record.blockers[0].clone();
    assert_eq!(refusal.code, BlockerCode::AccountLimitReached);
    assert_eq!(WaitingReason::of_blocker(&refusal), None);
    let s = s.when(deferred(WaitingReason::InvitationSlot));
    assert!(!s.last().changed, "AWS's refusal already says it");
}

#[test]
fn refused_invitation_is_reported_once_per_handshake() {
    let refused = EventKind::InvitationRefused {
        handshake: hs("h-foreignhandshake001"),
        organization: None,
        reason: "WRONG_ORGANIZATION".into(),
    };
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct)).when(refused.clone());
    assert_eq!(s.last().notifications.len(), 1);
    let s = s.when(refused);
    assert!(!s.last().changed);
}

#[test]
fn a_refused_current_invitation_is_dropped_so_the_target_invites_again() {
    // A forged event names the target for a foreign handshake; the acceptor refuses it.
    let forged = "h-foreignhandshake001";
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(invited(forged))
        .then_phase(Phase::Invited)
        .when(EventKind::InvitationRefused {
            handshake: hs(forged),
            organization: Some(OrganizationId::parse("o-foreignorg01").unwrap()),
            reason: "WRONG_ORGANIZATION".into(),
        })
        .then_phase(Phase::AwaitingInvitation);
    assert_eq!(s.record.handshake_id(), None);
    assert!(s.record.settled_handshakes.contains(&hs(forged)));
    assert!(s.last().follow_ups.contains(&FollowUp::SendInvitation));
    assert!(s
        .last()
        .notifications
        .iter()
        .any(|n| matches!(n, Notification::UnexpectedInvitation { .. })));
    // The target's own invitation is then taken.
    s.when(invited("h-examplehandshakeid111"))
        .then_phase(Phase::Invited);
}

#[test]
fn join_recorded_by_the_target_management_account_is_authoritative() {
    Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(EventKind::JoinedOrganization {
            management_account: acct("111111111111"),
        })
        .then_phase(Phase::Joined);
    Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(EventKind::JoinedOrganization {
            management_account: acct("666666666666"),
        })
        .then_phase(Phase::AwaitingInvitation);
}

#[test]
fn accepting_a_foreign_invitation_is_reported_not_joined() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(EventKind::InvitationAccepted {
            handshake: hs("h-foreignhandshake001"),
            organization: Some(OrganizationId::parse("o-foreignorg01").unwrap()),
        })
        .then_phase(Phase::AwaitingInvitation);
    assert!(matches!(
        &s.last().notifications[..],
        [Notification::UnexpectedInvitation { .. }]
    ));
}

// --- idempotency and terminal phase ----------------------------------------------------

#[test]
fn an_event_already_applied_is_a_no_op() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct)).when(invited(H1));
    let event = DomainEvent {
        id: "ev-1".into(),
        recorded_in: None,
        replayed: false,
        account: acct(SOLO),
        occurred_at: t(1),
        kind: invited(H1),
    };
    let again = apply(&s.record, &event, &target(), t(30));
    assert!(!again.changed);
    assert_eq!(again.record, s.record);
}

#[test]
fn joined_is_terminal() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(EventKind::MembershipConfirmed)
        .when(EventKind::InvitationClosed {
            handshake: hs(H1),
            closure: Closure::Expired,
        })
        .then_phase(Phase::Joined)
        .when(failed(
            Operation::AcceptHandshake,
            "HandshakeConstraintViolationException",
            Some("PAYMENT_INSTRUMENT_REQUIRED"),
            "",
        ))
        .then_phase(Phase::Joined);
    assert!(!s.last().changed);
}

#[test]
fn events_for_another_account_are_ignored() {
    let record = given(Role::Standalone, TransferMode::Direct);
    let event = DomainEvent {
        id: "x".into(),
        recorded_in: None,
        replayed: false,
        account: acct(MEMBER),
        occurred_at: t(1),
        kind: accepted(H1),
    };
    assert!(!apply(&record, &event, &target(), t(2)).changed);
}

#[test]
fn spoke_role_failure_blocks_access_until_it_works() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct)).when(
        EventKind::AccessChecked {
            failure: Some(AwsFailure::new(
                "AccessDenied",
                None,
                "not authorized to perform sts:AssumeRole",
            )),
        },
    );
    assert!(s.record.is_blocked_by(BlockerCode::SpokeRoleUntrusted));
    let s = s.when(EventKind::AccessChecked { failure: None });
    assert!(s.record.blockers.is_empty());
}

#[test]
fn history_is_bounded() {
    let mut s = Scenario::new(given(Role::Standalone, TransferMode::Direct));
    for i in 0..120 {
        let h = format!("h-handshake{i:04}");
        s = s.when(EventKind::InvitationClosed {
            handshake: hs(&h),
            closure: Closure::Expired,
        });
    }
    assert_eq!(
        s.record.history.len(),
        onboarding::domain::record::HISTORY_LIMIT
    );
    assert_eq!(
        s.record.settled_handshakes.len(),
        onboarding::domain::record::HANDSHAKE_MEMORY
    );
}

// --- blockers in order -------------------------------------------------------------------

fn at(id: &str, minute: u32, kind: EventKind) -> DomainEvent {
    DomainEvent {
        id: id.into(),
        recorded_in: None,
        replayed: false,
        account: acct(MGMT),
        occurred_at: t(minute),
        kind,
    }
}

#[test]
fn a_refusal_from_before_the_success_that_cleared_its_blocker_never_brings_it_back() {
    let not_empty = || {
        failed(
            Operation::DeleteOrganization,
            "OrganizationNotEmptyException",
            None,
            "",
        )
    };
    let s = Scenario::new(given(Role::Management, TransferMode::Standalone));
    assert!(s.record.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    // Every member is gone at minute 10: the blocker clears.
    let s = s.when_event(&at("gone", 10, EventKind::MembersRemaining { count: 0 }));
    assert!(!s.record.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    // The refusal of a deletion tried at minute 4 arrives late: nothing comes back.
    let late = s.when_event(&at("late", 4, not_empty()));
    assert!(!late.last().changed);
    assert!(!late.record.is_blocked_by(BlockerCode::OrganizationNotEmpty));
    // A refusal after minute 10 (a member joined the organization again) does block.
    let again = late.when_event(&at("again", 12, not_empty()));
    assert!(again
        .record
        .is_blocked_by(BlockerCode::OrganizationNotEmpty));
}

#[test]
fn an_acceptance_alone_never_joins() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(invited(H1))
        .when(accepted(H1))
        .then_phase(Phase::Invited);
    assert!(!s.last().changed, "a prompt to confirm, no change");
    s.when(EventKind::MembershipConfirmed)
        .then_phase(Phase::Joined);
}

// --- placement, after joining ------------------------------------------------------------

fn asking_an_ou() -> OnboardingRecord {
    let mut record = given(Role::Standalone, TransferMode::Direct);
    record.ou = Some(OuRef::parse("Customers/Acme").unwrap());
    record
}

fn problem(code: BlockerCode) -> Problem {
    Problem {
        code,
        failure: AwsFailure::new("X", None, "why"),
    }
}

fn placed(ou: &str) -> EventKind {
    EventKind::AccountPlaced {
        placed_in: Some(ou.to_owned()),
        access_role: Some("OrganizationAccountAccessRole".to_owned()),
    }
}

#[test]
fn an_account_with_nothing_asked_still_awaits_the_placers_access_check() {
    let s = Scenario::new(given(Role::Standalone, TransferMode::Direct))
        .when(EventKind::MembershipConfirmed)
        .then_phase(Phase::Joined);
    assert!(s.record.placed.is_none(), "joined is not yet reachable");
    assert!(awaits_placement(&s.record));
    assert!(!s
        .last()
        .notifications
        .iter()
        .any(|n| matches!(n, Notification::AccountPlaced { .. })));
    let s = s.when(EventKind::AccountPlaced {
        placed_in: None,
        access_role: Some("OrgOnboardingAccess".into()),
    });
    assert_eq!(
        s.record.placed.as_ref().unwrap().access_role.as_deref(),
        Some("OrgOnboardingAccess")
    );
}

#[test]
fn an_account_asking_an_ou_is_placed_only_by_the_placer_and_only_once_joined() {
    let early = Scenario::new(asking_an_ou()).when(placed("ou-ab12-cdef3456"));
    assert!(!early.last().changed, "not joined: nothing to place");
    let s = Scenario::new(asking_an_ou())
        .when(EventKind::MembershipConfirmed)
        .then_phase(Phase::Joined);
    assert!(s.record.placed.is_none());
    assert!(s
        .last()
        .notifications
        .contains(&Notification::AccountJoined));
    let s = s.when(placed("ou-ab12-cdef3456"));
    let placed_record = s.record.placed.clone().unwrap();
    assert_eq!(placed_record.placed_in.as_deref(), Some("ou-ab12-cdef3456"));
    assert!(matches!(
        &s.last().notifications[..],
        [Notification::AccountPlaced { .. }]
    ));
    let s = s.when(placed("ou-other-00000000"));
    assert!(!s.last().changed, "placed once, never again");
}

#[test]
fn placement_blockers_are_exactly_the_last_problems_found_and_clear_when_placed() {
    let s = Scenario::new(asking_an_ou())
        .when(EventKind::MembershipConfirmed)
        .when(EventKind::PlacementBlocked {
            problems: vec![
                problem(BlockerCode::OuNotFound),
                problem(BlockerCode::AccessRoleMissing),
            ],
        });
    let codes: Vec<BlockerCode> = s.record.blockers.iter().map(|b| b.code).collect();
    assert_eq!(
        codes,
        [BlockerCode::OuNotFound, BlockerCode::AccessRoleMissing]
    );
    assert!(s.record.blockers.iter().all(|b| b.step == Step::Place));
    let s = s.when(EventKind::PlacementBlocked {
        problems: vec![problem(BlockerCode::AccessRoleMissing)],
    });
    assert_eq!(s.record.blockers.len(), 1);
    assert!(matches!(
        &s.last().notifications[..],
        [Notification::Unblocked { cleared }] if cleared == &[BlockerCode::OuNotFound]
    ));
    let s = s.when(EventKind::PlacementBlocked {
        problems: vec![problem(BlockerCode::AccessRoleMissing)],
    });
    assert!(!s.last().changed, "the same problems again change nothing");
    let s = s.when(placed("ou-ab12-cdef3456"));
    assert!(s.record.blockers.is_empty());
}

// --- preflight predictions ---------------------------------------------------------------

fn preflight(codes: &[BlockerCode], at_minute: u32) -> EventKind {
    EventKind::PreflightChecked {
        predicted: codes.iter().map(|code| problem(*code)).collect(),
        organization: Some(OrganizationId::parse("o-oldorg12345").unwrap()),
        summary: preflight::PreflightSummary {
            at: t(at_minute),
            policies: Vec::new(),
            policies_total: 0,
            checks: 3,
        },
    }
}

#[test]
fn predicted_blockers_are_exactly_the_last_preflights_and_are_never_announced_one_by_one() {
    let s = Scenario::new(given(Role::Member, TransferMode::Standalone)).when(preflight(
        &[BlockerCode::ContactInfoMissing, BlockerCode::AccountTooNew],
        1,
    ));
    assert!(s.record.blockers.iter().all(|b| b.is_predicted()));
    assert_eq!(s.record.blockers.len(), 2);
    assert!(
        s.last().notifications.is_empty(),
        "Preflight Completed counts them: {:?}",
        s.last().notifications
    );
    assert_eq!(
        s.record.source_organization.as_ref().map(|o| o.as_str()),
        Some("o-oldorg12345")
    );
    let s = s.when(preflight(&[BlockerCode::AccountTooNew], 2));
    let codes: Vec<BlockerCode> = s.record.blockers.iter().map(|b| b.code).collect();
    assert_eq!(
        codes,
        [BlockerCode::AccountTooNew],
        "no longer found: cleared"
    );
    assert_eq!(s.record.preflight.as_ref().unwrap().at, t(2));
}

#[test]
fn an_actual_refusal_replaces_its_prediction_and_leaving_clears_every_prediction() {
    let s = Scenario::new(given(Role::Member, TransferMode::Standalone))
        .when(preflight(
            &[BlockerCode::ContactInfoMissing, BlockerCode::AccountTooNew],
            1,
        ))
        .when(failed(
            Operation::LeaveOrganization,
            "ConstraintViolationException",
            Some("MASTER_ACCOUNT_MISSING_CONTACT_INFO"),
            "",
        ));
    let blockers: Vec<(BlockerCode, bool)> = s
        .record
        .blockers
        .iter()
        .map(|b| (b.code, b.is_predicted()))
        .collect();
    assert_eq!(
        blockers,
        [
            (BlockerCode::AccountTooNew, true),
            (BlockerCode::ContactInfoMissing, false)
        ]
    );
    let s = s.when(preflight(
        &[BlockerCode::ContactInfoMissing, BlockerCode::AccountTooNew],
        3,
    ));
    assert_eq!(
        s.record.blockers.len(),
        2,
        "no prediction beside the refusal"
    );
    let s = s
        .when(EventKind::LeftOrganization { removed: false })
        .then_phase(Phase::AwaitingInvitation);
    assert!(s.record.blockers.is_empty(), "{:?}", s.record.blockers);
    let s = s.when(preflight(&[BlockerCode::ContactInfoMissing], 5));
    assert!(
        s.record.blockers.is_empty(),
        "a preflight of an account out of its organization predicts nothing"
    );
}
