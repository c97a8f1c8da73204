//! Properties over arbitrary interleavings of a valid history with duplicates and
//! reorderings: phase never moves backwards except by the two documented exceptions,
//! applying an event twice equals applying it once, the version grows only on change.

use chrono::{DateTime, TimeZone, Utc};
use onboarding::domain::*;
use proptest::prelude::*;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}
fn hs(s: &str) -> HandshakeId {
    HandshakeId::parse(s).unwrap()
}
fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-exampleorgid").unwrap(),
        management_account: AccountId::parse("111111111111").unwrap(),
    }
}

/// Every kind of event a record can meet, valid and not, for two handshakes.
fn kinds() -> Vec<EventKind> {
    let org = Some(target().organization);
    let failed = |operation, code: &str, reason: Option<&str>| EventKind::CallFailed {
        operation,
        failure: AwsFailure::new(code, reason, "m"),
        handshake: None,
    };
    let mut kinds = vec![
        failed(
            Operation::LeaveOrganization,
            "ConstraintViolationException",
            Some("MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED"),
        ),
        failed(
            Operation::InviteAccountToOrganization,
            "HandshakeConstraintViolationException",
            Some("ALREADY_IN_AN_ORGANIZATION"),
        ),
        failed(
            Operation::AcceptHandshake,
            "HandshakeConstraintViolationException",
            Some("ALREADY_IN_AN_ORGANIZATION"),
        ),
        failed(
            Operation::DeleteOrganization,
            "OrganizationNotEmptyException",
            None,
        ),
        failed(
            Operation::LeaveOrganization,
            "TooManyRequestsException",
            None,
        ),
        EventKind::LeftOrganization { removed: false },
        EventKind::LeftOrganization { removed: true },
        EventKind::OrganizationDeleted,
        EventKind::MembersRemaining { count: 0 },
        EventKind::MembersRemaining { count: 2 },
        EventKind::JoinedOrganization {
            management_account: target().management_account,
        },
        EventKind::InvitationRefused {
            handshake: hs("h-foreignhandshake001"),
            organization: None,
            reason: "r".into(),
        },
    ];
    for h in ["h-examplehandshakeid111", "h-examplehandshakeid222"] {
        kinds.push(EventKind::InvitationSent {
            handshake: hs(h),
            organization: org.clone(),
            expires_at: None,
        });
        kinds.push(EventKind::InvitationAccepted {
            handshake: hs(h),
            organization: org.clone(),
        });
        for closure in [Closure::Declined, Closure::Canceled, Closure::Expired] {
            kinds.push(EventKind::InvitationClosed {
                handshake: hs(h),
                closure,
            });
        }
    }
    // The proof of joining: the target organization lists the account.
    kinds.push(EventKind::MembershipConfirmed);
    kinds
}

fn start() -> impl Strategy<Value = OnboardingRecord> {
    (
        prop_oneof![
            Just(Role::Management),
            Just(Role::Member),
            Just(Role::Standalone)
        ],
        prop_oneof![Just(TransferMode::Direct), Just(TransferMode::Standalone)],
    )
        .prop_map(|(role, mode)| {
            OnboardingRecord::enroll(
                AccountId::parse("333333333333").unwrap(),
                EnrollmentName::parse("acme").unwrap(),
                mode,
                role,
                2,
                t(0),
            )
        })
}

/// A delivery order: indexes into the event pool, with repeats (duplicates) and any order.
fn deliveries() -> impl Strategy<Value = Vec<usize>> {
    let n = kinds().len();
    prop::collection::vec(0..n, 1..40)
}

fn event(index: usize) -> DomainEvent {
    DomainEvent {
        id: format!("event-{index}"),
        recorded_in: None,
        replayed: false,
        account: AccountId::parse("333333333333").unwrap(),
        occurred_at: t(index as i64),
        kind: kinds()[index].clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn phase_never_moves_backwards_except_by_the_documented_rules(record in start(), order in deliveries()) {
        let mut record = record;
        for (step, index) in order.into_iter().enumerate() {
            let event = event(index);
            let next = apply(&record, &event, &target(), t(1000 + step as i64)).record;
            if next.phase.rank() < record.phase.rank() || (next.phase == Phase::LeavingOrganization && record.phase != Phase::LeavingOrganization) {
                let closed_current = matches!(
                    &event.kind,
                    EventKind::InvitationClosed { handshake, .. } | EventKind::InvitationRefused { handshake, .. }
                        if Some(handshake) == record.handshake_id()
                ) && record.phase == Phase::Invited && next.phase == Phase::AwaitingInvitation;
                let fell_back = record.fallback.is_none() && next.fallback.is_some()
                    && next.phase == Phase::LeavingOrganization;
                prop_assert!(closed_current || fell_back, "{:?} -> {:?} on {:?}", record.phase, next.phase, event.kind);
            }
            if record.phase == Phase::Joined {
                prop_assert_eq!(next.phase, Phase::Joined);
            }
            record = next;
        }
    }

    #[test]
    fn applying_an_event_twice_equals_applying_it_once(record in start(), order in deliveries(), last in 0usize..22) {
        let mut record = record;
        for (step, index) in order.into_iter().enumerate() {
            record = apply(&record, &event(index), &target(), t(step as i64)).record;
        }
        let event = event(last % kinds().len());
        let once = apply(&record, &event, &target(), t(5000));
        let twice = apply(&once.record, &event, &target(), t(6000));
        prop_assert!(!twice.changed);
        prop_assert!(twice.notifications.is_empty());
        prop_assert_eq!(twice.record, once.record);
    }

    #[test]
    fn version_grows_only_when_something_changed(record in start(), order in deliveries()) {
        let mut record = record;
        for (step, index) in order.into_iter().enumerate() {
            let transition = apply(&record, &event(index), &target(), t(step as i64));
            if transition.changed {
                prop_assert_eq!(transition.record.version, record.version + 1);
                prop_assert_ne!(&transition.record, &record);
            } else {
                prop_assert_eq!(&transition.record, &record);
                prop_assert!(transition.notifications.is_empty());
            }
            record = transition.record;
        }
    }

    #[test]
    fn reordered_duplicated_valid_history_still_ends_joined(order in Just(vec![0usize, 5, 12, 13, 22]).prop_shuffle(), dupes in prop::collection::vec(0usize..5, 0..6)) {
        // A standalone-mode member: leave failed, left, invited, accepted, its membership
        // confirmed, in any order, with duplicates.
        let pool = kinds();
        let history = [0usize, 5, 12, 13, 22];
        prop_assert_eq!(&pool[22], &EventKind::MembershipConfirmed);
        let mut record = OnboardingRecord::enroll(
            AccountId::parse("333333333333").unwrap(), EnrollmentName::parse("acme").unwrap(),
            TransferMode::Standalone, Role::Member, 0, t(0));
        let deliveries: Vec<usize> = order.into_iter().chain(dupes.into_iter().map(|i| history[i])).collect();
        for (step, index) in deliveries.into_iter().enumerate() {
            prop_assert!(index < pool.len());
            record = apply(&record, &event(index), &target(), t(step as i64)).record;
        }
        prop_assert_eq!(record.phase, Phase::Joined);
    }
}
