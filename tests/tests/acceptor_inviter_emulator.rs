//! The acceptor and inviter on the emulator, across accounts, as in AWS: the inviter acts
//! as the target organization's management account (the hub), the acceptor reaches each
//! customer account only through its spoke role (STS AssumeRole with the external id),
//! and the records live in the hub's DynamoDB table. Every Organizations call they make
//! is recorded as CloudTrail and reaches the tracker through the hub bus.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_sdk_organizations::types::{HandshakePartyType, HandshakeState};
use onboarding::acceptor::AcceptorOutcome;
use onboarding::domain::{BlockerCode, HandshakeId, Phase, TransferMode};
use onboarding::inviter::InviterOutcome;
use onboarding::notifications::{self as n, Detail as _, NotificationDetail};
use onboarding::tracker::Outcome;
use serde_json::Value;

use onboarding_e2e::accounts::{invite, unique_account_id, AwsAccount};
use onboarding_e2e::customers::CustomerOrganization;
use onboarding_e2e::hub::Hub;
use onboarding_e2e::recorder::recorded_organizations_client;
use onboarding_e2e::Emulator;

use common::*;

/// A standalone customer account reachable through its spoke role, enrolled alone.
async fn standalone_customer(emulator: &Emulator, hub: &Hub, enrollment: &str) -> AwsAccount {
    let customer = AwsAccount::create_unique(emulator).await.unwrap();
    hub.add_spoke(&customer).await.unwrap();
    hub.enroll(&standalone_enrollment(enrollment, customer.account_id()))
        .await
        .unwrap();
    customer
}

/// The target organization's handshakes with `account`: (id, state).
async fn handshakes_with(hub: &Hub, account: &str) -> Vec<(String, HandshakeState)> {
    hub.account
        .organizations()
        .list_handshakes_for_organization()
        .send()
        .await
        .unwrap()
        .handshakes()
        .iter()
        .filter(|h| {
            h.parties()
                .iter()
                .any(|p| p.id() == account && p.r#type() == &HandshakePartyType::Account)
        })
        .map(|h| (h.id().unwrap().to_owned(), h.state().unwrap().clone()))
        .collect()
}

/// The accounts of the target organization (ListAccounts as the hub).
async fn target_accounts(hub: &Hub) -> BTreeSet<String> {
    let ids = hub.account.organization_account_ids().await.unwrap();
    ids.into_iter().collect()
}

#[tokio::test]
async fn target_invites_a_standalone_account_and_the_acceptor_joins_it_through_the_spoke_role() {
    let (emulator, recorder, hub) = hub("acc-join").await;
    let queue = notifications(&hub).await;
    let customer = standalone_customer(emulator, &hub, "solo").await;
    hub.grant_access(&customer).await.unwrap();
    let id = acct(customer.account_id());

    let InviterOutcome::Invited { handshake } = hub.inviter().process(&id, false).await.unwrap()
    else {
        panic!("the inviter did not invite");
    };
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(record.phase, Phase::Invited);
    assert_eq!(record.handshake_id(), Some(&handshake));
    assert_eq!(
        handshakes_with(&hub, customer.account_id()).await,
        [(handshake.to_string(), HandshakeState::Open)]
    );

    assert_eq!(
        hub.acceptor().process(&id).await.unwrap(),
        AcceptorOutcome::Accepted {
            handshake: handshake.clone()
        }
    );
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(record.phase, Phase::Joined);
    assert!(!record.in_old_organization);
    assert!(
        target_accounts(&hub).await.contains(customer.account_id()),
        "the account is listed in the target organization"
    );
    // The customer's own view: it is in the target organization.
    let described = customer
        .organizations()
        .describe_organization()
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.organization().unwrap().id(),
        Some(hub.target.organization.as_str())
    );

    // The acceptance was made in the customer account by the spoke role's session.
    recorder.flush().await.unwrap();
    let accepts = recorder.events_named("AcceptHandshake");
    assert_eq!(accepts.len(), 1);
    let identity = &accepts[0]["detail"]["userIdentity"];
    assert_eq!(identity["type"], "AssumedRole");
    assert_eq!(identity["accountId"], customer.account_id());
    assert_eq!(
        identity["sessionContext"]["sessionIssuer"]["arn"],
        format!(
            "arn:aws:iam::{}:role/{}",
            customer.account_id(),
            hub.spoke.name
        )
    );
    assert!(identity["arn"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/org-onboarding-{}", customer.account_id())));

    let published = drain_all(&queue).await;
    let phases: Vec<Phase> = of_type(&published, n::PHASE_CHANGED)
        .iter()
        .map(|p| n::PhaseChanged::from_event(p).unwrap().new_phase)
        .collect();
    assert_eq!(phases, [Phase::Invited, Phase::Joined]);
    assert_eq!(of_type(&published, n::ACCOUNT_JOINED).len(), 1);
    assert!(
        of_type(&published, n::ENROLLMENT_COMPLETED).is_empty(),
        "joined is not onboarded: the placer checks the target's access first"
    );

    // The CloudTrail events of those calls reach the tracker later: no-ops. Account Joined
    // reaches the placer, which places the account (its one change).
    let version = record.version;
    let report = hub
        .dispatcher()
        .unwrap()
        .run_until_idle(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(report.total_failed(), 0, "{report:?}");
    assert!(
        report.succeeded.get("tracker").copied().unwrap_or(0) >= 2,
        "{report:?}"
    );
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert!(record.placed.is_some(), "{record:?}");
    assert_eq!(record.version, version + 1, "the placement alone");
    let published = drain_all(&queue).await;
    assert_eq!(of_type(&published, n::ENROLLMENT_COMPLETED).len(), 1);
    assert!(
        of_type(&published, n::PHASE_CHANGED).is_empty(),
        "nothing changed"
    );
}

#[tokio::test]
async fn rerunning_the_inviter_and_the_acceptor_changes_nothing() {
    let (emulator, _recorder, hub) = hub("acc-idem").await;
    let queue = notifications(&hub).await;
    let customer = standalone_customer(emulator, &hub, "solo").await;
    let id = acct(customer.account_id());

    // An open invitation sent before the inviter ran (by an operator) is adopted, not
    // duplicated.
    let sent = invite(&hub.account.organizations(), customer.account_id())
        .await
        .unwrap();
    assert_eq!(
        hub.inviter().process(&id, false).await.unwrap(),
        InviterOutcome::Adopted {
            handshake: HandshakeId::parse(&sent).unwrap()
        }
    );
    let invited = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(invited.phase, Phase::Invited);
    for _ in 0..2 {
        assert_eq!(
            hub.inviter().process(&id, false).await.unwrap(),
            InviterOutcome::Skipped {
                phase: Phase::Invited
            }
        );
        let swept = hub.inviter().sweep().await.unwrap();
        assert_eq!(
            swept.done,
            [(
                id.clone(),
                InviterOutcome::Skipped {
                    phase: Phase::Invited
                }
            )]
        );
    }
    assert_eq!(
        handshakes_with(&hub, customer.account_id()).await,
        [(sent.clone(), HandshakeState::Open)],
        "no new handshake"
    );
    assert_eq!(
        record_of(&hub.store(), customer.account_id()).await.version,
        invited.version
    );

    assert!(matches!(
        hub.acceptor().process(&id).await.unwrap(),
        AcceptorOutcome::Accepted { .. }
    ));
    let joined = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(joined.phase, Phase::Joined);
    let published = drain_all(&queue).await.len();
    for _ in 0..2 {
        assert_eq!(
            hub.acceptor().process(&id).await.unwrap(),
            AcceptorOutcome::AlreadyJoined
        );
        assert!(hub.acceptor().sweep().await.unwrap().done.is_empty());
        assert!(hub.inviter().sweep().await.unwrap().done.is_empty());
        assert_eq!(
            hub.inviter().process(&id, false).await.unwrap(),
            InviterOutcome::Skipped {
                phase: Phase::Joined
            }
        );
    }
    assert_eq!(
        record_of(&hub.store(), customer.account_id()).await.version,
        joined.version
    );
    assert_eq!(
        handshakes_with(&hub, customer.account_id()).await,
        [(sent, HandshakeState::Accepted)],
        "no new handshake"
    );
    assert!(published > 0);
    assert!(drain_all(&queue).await.is_empty(), "no new notification");
}

#[tokio::test]
async fn a_foreign_invitation_with_a_forged_event_naming_the_target_is_never_accepted() {
    let (emulator, recorder, hub) = hub("acc-foreign").await;
    let queue = notifications(&hub).await;
    let customer = standalone_customer(emulator, &hub, "solo").await;
    let id = acct(customer.account_id());

    // A foreign organization invites the enrolled account.
    let foreign = AwsAccount::create_unique(emulator).await.unwrap();
    let foreign_org = foreign.create_organization().await.unwrap();
    let foreign_handshake = invite(&foreign.organizations(), customer.account_id())
        .await
        .unwrap();

    // A forged CloudTrail event claims the target organization sent that handshake.
    let mut cast = Cast::new(&hub);
    cast.standalone = customer.account_id().to_owned();
    let forged = cast
        .rewrite(&fixture_text("invite-account-to-organization.json"))
        .replace("h-examplehandshakeid111", &foreign_handshake);
    let forged: Value = serde_json::from_str(&forged).unwrap();
    assert_eq!(
        forged["detail"]["responseElements"]["handshake"]["parties"][0]["id"],
        hub.target.organization.as_str(),
        "the payload names the target"
    );
    let outcome = hub.tracker().handle_json(&forged).await.unwrap();
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");

    // The acceptor looks for itself, through the spoke role, and refuses.
    for _ in 0..3 {
        let outcome = hub.acceptor().process(&id).await.unwrap();
        assert_eq!(outcome, AcceptorOutcome::NothingToAccept { reported: 1 });
    }
    let open = customer
        .organizations()
        .describe_handshake()
        .handshake_id(&foreign_handshake)
        .send()
        .await
        .unwrap();
    assert_eq!(
        open.handshake().unwrap().state(),
        Some(&HandshakeState::Open),
        "neither accepted nor declined"
    );
    let not_in_org = customer
        .organizations()
        .describe_organization()
        .send()
        .await
        .unwrap_err();
    assert_eq!(not_in_org.code(), Some("AWSOrganizationsNotInUseException"));
    recorder.flush().await.unwrap();
    assert!(recorder.events_named("AcceptHandshake").is_empty());
    assert!(recorder.events_named("DeclineHandshake").is_empty());

    let published = drain_all(&queue).await;
    let unexpected = of_type(&published, n::UNEXPECTED_INVITATION);
    assert_eq!(unexpected.len(), 1, "reported once: {published:?}");
    let detail = n::UnexpectedInvitation::from_event(unexpected[0]).unwrap();
    assert_eq!(detail.context.account_id.as_str(), customer.account_id());
    assert_eq!(detail.unexpected_handshake_id.as_str(), foreign_handshake);
    assert_eq!(
        detail.inviting_organization.as_ref().map(|o| o.as_str()),
        Some(foreign_org.as_str())
    );
    assert!(detail.reason.contains("WRONG_ORGANIZATION"), "{detail:?}");
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert!(record
        .settled_handshakes
        .iter()
        .any(|h| h.as_str() == foreign_handshake));
    // The forged event cannot stall the onboarding either: the refused handshake is no
    // longer the record's, so the target's own invitation is sent and accepted, and the
    // foreign one is still left alone.
    assert_eq!(record.phase, Phase::AwaitingInvitation, "{record:?}");
    assert_eq!(record.handshake_id(), None);
    let InviterOutcome::Invited { handshake } = hub.inviter().process(&id, false).await.unwrap()
    else {
        panic!("the target's invitation was not sent");
    };
    assert_eq!(
        hub.acceptor().process(&id).await.unwrap(),
        AcceptorOutcome::Accepted { handshake }
    );
    assert!(target_accounts(&hub).await.contains(customer.account_id()));
    let foreign_state = customer
        .organizations()
        .describe_handshake()
        .handshake_id(&foreign_handshake)
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign_state.handshake().unwrap().state(),
        Some(&HandshakeState::Open)
    );
    assert!(
        of_type(&drain_all(&queue).await, n::UNEXPECTED_INVITATION).is_empty(),
        "still reported only once"
    );
}

#[tokio::test]
async fn a_cancelled_invitation_leads_to_a_new_one_on_the_next_inviter_run() {
    let (emulator, _recorder, hub) = hub("acc-cancel").await;
    let customer = standalone_customer(emulator, &hub, "solo").await;
    let id = acct(customer.account_id());
    let InviterOutcome::Invited { handshake: first } =
        hub.inviter().process(&id, false).await.unwrap()
    else {
        panic!("not invited");
    };
    hub.account
        .organizations()
        .cancel_handshake()
        .handshake_id(first.as_str())
        .send()
        .await
        .unwrap();

    let swept = hub.inviter().sweep().await.unwrap();
    let [(swept_account, InviterOutcome::Invited { handshake: second })] = swept.done.as_slice()
    else {
        panic!("no new invitation: {swept:?}");
    };
    assert_eq!(swept_account, &id);
    assert_ne!(second, &first);
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(record.phase, Phase::Invited);
    assert_eq!(record.handshake_id(), Some(second));
    assert!(record.settled_handshakes.contains(&first));
    let mut states = handshakes_with(&hub, customer.account_id()).await;
    states.sort_by_key(|(h, _)| (h != first.as_str(), h.clone()));
    assert_eq!(
        states,
        [
            (first.to_string(), HandshakeState::Canceled),
            (second.to_string(), HandshakeState::Open)
        ]
    );
    assert_eq!(
        hub.acceptor().process(&id).await.unwrap(),
        AcceptorOutcome::Accepted {
            handshake: second.clone()
        }
    );
    assert_eq!(
        record_of(&hub.store(), customer.account_id()).await.phase,
        Phase::Joined
    );
}

#[tokio::test]
async fn a_declined_invitation_is_followed_by_a_new_one_through_the_event_loop() {
    let (emulator, recorder, hub) = hub("acc-decline").await;
    let customer = standalone_customer(emulator, &hub, "solo").await;
    let id = acct(customer.account_id());
    let InviterOutcome::Invited { handshake: first } =
        hub.inviter().process(&id, false).await.unwrap()
    else {
        panic!("not invited");
    };
    let record = decline_and_run_until_idle(&hub, &recorder, &customer, &first).await;
    assert_eq!(record.phase, Phase::Joined, "{record:?}");
    let second = record.handshake_id().cloned().unwrap();
    let mut states = handshakes_with(&hub, customer.account_id()).await;
    states.sort_by_key(|(h, _)| (h != first.as_str(), h.clone()));
    assert_eq!(
        states,
        [
            (first.to_string(), HandshakeState::Declined),
            (second.to_string(), HandshakeState::Accepted)
        ]
    );
    assert!(target_accounts(&hub).await.contains(customer.account_id()));
}

#[tokio::test]
async fn a_direct_mode_member_refused_by_the_emulator_falls_back_leaves_and_joins() {
    let (emulator, recorder, hub) = hub("acc-direct").await;
    let queue = notifications(&hub).await;
    let customer =
        CustomerOrganization::create(emulator, &hub, &unique_account_id(), &[unique_account_id()])
            .await
            .unwrap();
    let enrollment = customer
        .enrollment("direct", TransferMode::Direct, &[])
        .unwrap();
    hub.enroll(&enrollment).await.unwrap();
    let (management, member) = (&customer.management, &customer.members[0]);
    hub.grant_access(member).await.unwrap();
    let id = acct(member.account_id());
    assert_eq!(
        record_of(&hub.store(), member.account_id()).await.phase,
        Phase::AwaitingInvitation
    );

    // The emulator refuses to invite an account that is in an organization.
    let InviterOutcome::Refused { reason } = hub.inviter().process(&id, false).await.unwrap()
    else {
        panic!("the emulator accepted to invite a member of another organization");
    };
    println!("the emulator refuses the direct invitation with: {reason}");
    assert!(
        reason.contains("HandshakeConstraintViolationException"),
        "{reason}"
    );
    assert!(reason.contains("ALREADY_IN_AN_ORGANIZATION"), "{reason}");
    let record = record_of(&hub.store(), member.account_id()).await;
    assert_eq!(record.phase, Phase::LeavingOrganization);
    assert_eq!(blocker_codes(&record), ["STILL_IN_ORGANIZATION"]);
    let fallback = record.fallback.expect("the fallback is recorded");
    assert!(fallback
        .reason
        .contains("falling back to the standalone path"));
    assert!(fallback
        .reason
        .contains("HandshakeConstraintViolationException"));
    assert!(handshakes_with(&hub, member.account_id()).await.is_empty());

    // The member leaves (the customer's own call, recorded as CloudTrail); from here the
    // event loop runs the real tracker, inviter and acceptor on what reaches their queues.
    recorded_organizations_client(member, &recorder)
        .leave_organization()
        .send()
        .await
        .unwrap();
    let report = hub
        .dispatcher()
        .unwrap()
        .run_until_idle(Duration::from_secs(90))
        .await
        .unwrap();
    println!("dispatched: {report:?}");
    assert_eq!(report.total_failed(), 0, "{report:?}");
    for function in ["tracker", "inviter", "acceptor"] {
        assert!(
            report.succeeded.get(function).copied().unwrap_or(0) > 0,
            "{function} never ran: {report:?}"
        );
    }

    let record = record_of(&hub.store(), member.account_id()).await;
    assert_eq!(record.phase, Phase::Joined, "{record:?}");
    assert!(record.blockers.is_empty());
    assert!(record.fallback.is_some(), "the fallback stays visible");
    assert!(target_accounts(&hub).await.contains(member.account_id()));
    // Its old organization's management account is no longer blocked by it.
    let management_record = record_of(&hub.store(), management.account_id()).await;
    assert_eq!(management_record.phase, Phase::DeletingOrganization);
    assert!(
        management_record.blockers.is_empty(),
        "{management_record:?}"
    );

    let published = drain_all(&queue).await;
    let phases: Vec<&str> = of_type(&published, n::PHASE_CHANGED)
        .iter()
        .map(|p| n::PhaseChanged::from_event(p).unwrap())
        .filter(|d| d.context.account_id.as_str() == member.account_id())
        .map(|d| d.new_phase.as_str())
        .collect();
    assert_eq!(
        phases,
        [
            "LeavingOrganization",
            "AwaitingInvitation",
            "Invited",
            "Joined"
        ]
    );
    assert_eq!(of_type(&published, n::ACCOUNT_JOINED).len(), 1);
    assert!(of_type(&published, n::UNBLOCKED)
        .iter()
        .filter_map(|p| NotificationDetail::from_event(p).ok())
        .any(|d| d
            .account_id()
            .is_some_and(|a| a.as_str() == management.account_id())));
}

#[tokio::test]
async fn a_customer_account_without_the_spoke_role_is_blocked_until_the_role_is_deployed() {
    let (emulator, _recorder, hub) = hub("acc-denied").await;
    let queue = notifications(&hub).await;
    // Enrolled, invited, but the spoke role is not deployed.
    let customer = AwsAccount::create_unique(emulator).await.unwrap();
    hub.enroll(&standalone_enrollment("solo", customer.account_id()))
        .await
        .unwrap();
    let id = acct(customer.account_id());
    assert!(matches!(
        hub.inviter().process(&id, false).await.unwrap(),
        InviterOutcome::Invited { .. }
    ));

    let outcome = hub.acceptor().process(&id).await.unwrap();
    assert!(
        matches!(&outcome, AcceptorOutcome::Blocked { reason } if reason.contains("spoke role")),
        "{outcome:?}"
    );
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(record.phase, Phase::Invited);
    assert_eq!(blocker_codes(&record), ["SPOKE_ROLE_UNTRUSTED"]);
    let blocker = &record.blockers[0];
    println!(
        "AssumeRole without the spoke role: {:?} {:?}",
        blocker.raw_code, blocker.raw_message
    );
    assert_eq!(blocker.raw_code.as_deref(), Some("AccessDenied"));
    // Asking again changes nothing.
    let version = record.version;
    hub.acceptor().process(&id).await.unwrap();
    assert_eq!(
        record_of(&hub.store(), customer.account_id()).await.version,
        version
    );
    let published = drain_all(&queue).await;
    let blocked = of_type(&published, n::BLOCKED);
    assert_eq!(blocked.len(), 1, "{published:?}");
    assert_eq!(
        n::Blocked::from_event(blocked[0]).unwrap().new_blockers[0].code,
        BlockerCode::SpokeRoleUntrusted
    );

    // The customer deploys the spoke role: the blocker clears and the account joins.
    hub.add_spoke(&customer).await.unwrap();
    assert!(matches!(
        hub.acceptor().process(&id).await.unwrap(),
        AcceptorOutcome::Accepted { .. }
    ));
    let record = record_of(&hub.store(), customer.account_id()).await;
    assert_eq!(record.phase, Phase::Joined);
    assert!(record.blockers.is_empty());
    assert_eq!(of_type(&drain_all(&queue).await, n::UNBLOCKED).len(), 1);
}
