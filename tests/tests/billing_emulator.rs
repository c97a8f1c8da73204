//! Billing mode on the emulator (issue 19): a customer keeps its organization and the
//! target takes over its bill. The inviter sends the target's transfer invitation, the
//! acceptor accepts it in the customer's management account through the spoke role, and
//! `Transferred` comes only from the target's own list of transfers; another
//! organization's transfer (even behind a forged CloudTrail event naming the target) is
//! reported, never accepted; a declined invitation is followed by a new one; an ended
//! transfer is reported.

mod common;

use aws_sdk_organizations::types::HandshakeState;
use chrono::Utc;
use onboarding::acceptor::AcceptorOutcome;
use onboarding::domain::billing::{default_start, first_day_of_next_month, BillingTerms};
use onboarding::domain::{BlockerCode, Phase, TransferMode};
use onboarding::inviter::InviterOutcome;
use onboarding::notifications::{self as n, Detail as _};
use onboarding::ports::BillingTransfers;
use serde_json::{json, Value};

use onboarding_e2e::accounts::AwsAccount;
use onboarding_e2e::customers::{enrollment, CustomerOrganization};
use onboarding_e2e::hub::Hub;
use onboarding_e2e::recorder::recorded_organizations_client;
use onboarding_e2e::Emulator;

use common::*;

/// A customer organization (a management account and one member, both reachable), its
/// management account enrolled alone in billing mode.
async fn billing_customer(emulator: &Emulator, hub: &Hub, name: &str) -> CustomerOrganization {
    let customer = CustomerOrganization::create(
        emulator,
        hub,
        &onboarding_e2e::accounts::unique_account_id(),
        &[onboarding_e2e::accounts::unique_account_id()],
    )
    .await
    .unwrap();
    let billing = enrollment(
        name,
        TransferMode::billing(),
        Some(customer.management.account_id()),
        &[],
        &[],
    )
    .unwrap();
    hub.enroll(&billing).await.unwrap();
    customer
}

/// The state of `handshake` as the customer's management account sees it.
async fn state_of(account: &AwsAccount, handshake: &str) -> HandshakeState {
    account
        .organizations()
        .describe_handshake()
        .handshake_id(handshake)
        .send()
        .await
        .unwrap()
        .handshake()
        .unwrap()
        .state()
        .unwrap()
        .clone()
}

/// The inviter's sweep over the one enrolled account: what it did.
async fn sweep_once(hub: &Hub) -> InviterOutcome {
    let swept = hub.inviter().sweep().await.unwrap();
    let [(_, outcome)] = swept.done.as_slice() else {
        panic!("one account expected: {swept:?}");
    };
    outcome.clone()
}

#[tokio::test]
async fn the_customer_keeps_its_organization_and_the_target_takes_over_its_bill() {
    let (emulator, recorder, hub) = hub("bill-ok").await;
    let queue = notifications(&hub).await;
    let customer = billing_customer(emulator, &hub, "acme-billing").await;
    let management = acct(customer.management.account_id());

    let record = record_of(&hub.store(), management.as_str()).await;
    assert_eq!(record.phase, Phase::AwaitingTransfer);
    assert_eq!(
        record.billing(),
        Some(&BillingTerms::default()),
        "nothing offered yet"
    );

    let InviterOutcome::Invited { handshake } =
        hub.inviter().process(&management, false).await.unwrap()
    else {
        panic!("the inviter did not send the transfer invitation");
    };
    let record = record_of(&hub.store(), management.as_str()).await;
    assert_eq!(record.phase, Phase::TransferInvited);
    assert_eq!(record.handshake_id(), Some(&handshake));
    // The handshake AWS returns names its transfer (a RESPONSIBILITY_TRANSFER resource):
    // the record keeps it, and only that transfer's acceptance proves the record's.
    let offered = record.billing().and_then(|b| b.offered.clone());
    assert!(
        offered.as_deref().is_some_and(|id| id.starts_with("rt-")),
        "{record:?}"
    );
    assert_eq!(
        hub.inviter().process(&management, false).await.unwrap(),
        InviterOutcome::Skipped {
            phase: Phase::TransferInvited
        },
        "a second run sends nothing"
    );

    assert_eq!(
        hub.acceptor().process(&management).await.unwrap(),
        AcceptorOutcome::Accepted {
            handshake: handshake.clone()
        }
    );
    let record = record_of(&hub.store(), management.as_str()).await;
    assert_eq!(record.phase, Phase::Transferred, "{record:?}");
    let terms = record.billing().cloned().unwrap();
    let transfer = terms.transfer.clone().expect("the accepted transfer");
    assert_eq!(
        Some(&transfer),
        offered.as_ref(),
        "the record's own transfer"
    );
    assert_eq!(
        terms.starts_at.map(|at| at.date_naive()),
        Some(default_start(Utc::now()).date_naive()),
        "the bill changes hands on the first day of next month"
    );
    assert!(record.placed.is_some(), "onboarding ended");
    // The organization stays as it was: the member is still in it.
    let member = &customer.members[0];
    let members_org = member
        .organizations()
        .describe_organization()
        .send()
        .await
        .unwrap();
    assert_eq!(
        members_org.organization().and_then(|o| o.id()),
        Some(customer.organization.as_str())
    );
    assert!(!hub
        .account
        .organization_account_ids()
        .await
        .unwrap()
        .contains(&customer.management.account_id().to_owned()));

    let published = drain_all(&queue).await;
    let transferred = of_type(&published, n::BILLING_TRANSFERRED);
    assert_eq!(transferred.len(), 1, "{published:#?}");
    let detail = n::BillingTransferred::from_event(transferred[0]).unwrap();
    assert_eq!(detail.transfer_id, transfer);
    assert!(of_type(&published, n::ENROLLMENT_COMPLETED).len() == 1);
    assert!(of_type(&published, n::ACCOUNT_JOINED).is_empty());

    // The target ends the transfer: its CloudTrail event reaches the tracker, and the
    // record reports it (the inviter's sweep sees the same end and adds nothing).
    recorded_organizations_client(&hub.account, &recorder)
        .terminate_responsibility_transfer()
        .id(&transfer)
        .send()
        .await
        .unwrap();
    recorder.flush().await.unwrap();
    let ended = recorder.events_named("TerminateResponsibilityTransfer");
    assert_eq!(ended.len(), 1);
    hub.tracker().handle_json(&ended[0]).await.unwrap();
    let record = record_of(&hub.store(), management.as_str()).await;
    assert_eq!(record.phase, Phase::Transferred);
    assert!(
        record.is_blocked_by(BlockerCode::TransferTerminated),
        "{record:?}"
    );
    assert!(record.billing().cloned().unwrap().ended_at.is_some());
    let version = record_of(&hub.store(), management.as_str()).await.version;
    hub.inviter().sweep().await.unwrap();
    assert_eq!(
        record_of(&hub.store(), management.as_str()).await.version,
        version
    );
}

#[tokio::test]
async fn the_inviter_alone_proves_a_transfer_and_reports_its_end() {
    let (emulator, _recorder, hub) = hub("bill-sweep").await;
    let customer = billing_customer(emulator, &hub, "acme-billing").await;
    let management = acct(customer.management.account_id());
    hub.inviter().sweep().await.unwrap();
    let handshake = record_of(&hub.store(), management.as_str())
        .await
        .handshake_id()
        .cloned()
        .unwrap();
    // A person accepts it in the console; no event reaches the hub.
    customer
        .management
        .organizations()
        .accept_handshake()
        .handshake_id(handshake.as_str())
        .send()
        .await
        .unwrap();
    let swept = sweep_once(&hub).await;
    assert!(
        matches!(swept, InviterOutcome::Transferred { .. }),
        "{swept:?}"
    );
    let transfer = record_of(&hub.store(), management.as_str())
        .await
        .billing()
        .cloned()
        .unwrap()
        .transfer
        .unwrap();
    // The customer ends it; the target's lists show it, and the next sweep reports it.
    customer
        .management
        .organizations()
        .terminate_responsibility_transfer()
        .id(&transfer)
        .send()
        .await
        .unwrap();
    let swept = sweep_once(&hub).await;
    assert!(
        matches!(swept, InviterOutcome::TransferEnded { .. }),
        "{swept:?}"
    );
    let record = record_of(&hub.store(), management.as_str()).await;
    assert!(record.is_blocked_by(BlockerCode::TransferTerminated));
}

/// A CloudTrail event of InviteOrganizationToTransferResponsibility as the target's
/// management account would record it, naming the target's organization, but carrying
/// `handshake` (another organization's): what someone able to put events on the hub bus
/// could forge.
fn forged_transfer_invitation(hub: &Hub, invited: &str, handshake: &str) -> Value {
    let target = hub.target.management_account.as_str();
    let organization = hub.target.organization.as_str();
    json!({
        "version": "0", "id": format!("forged-{handshake}"),
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.organizations",
        "account": target, "time": "2026-12-02T10:00:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "accountId": target},
            "eventTime": "2026-12-02T10:00:00Z",
            "eventSource": "organizations.amazonaws.com",
            "eventName": "InviteOrganizationToTransferResponsibility",
            "requestParameters": {"type": "BILLING", "target": {"id": invited, "type": "ACCOUNT"},
                "sourceName": "billing", "startTimestamp": "Jan 1, 2027 12:00:00 AM"},
            "responseElements": {"handshake": {
                "id": handshake,
                "arn": format!("arn:aws:organizations::{target}:handshake/{organization}/transfer/{handshake}"),
                "parties": [{"id": organization, "type": "ORGANIZATION"}, {"id": invited, "type": "ACCOUNT"}],
                "state": "OPEN", "action": "TRANSFER_RESPONSIBILITY",
                "requestedTimestamp": "Dec 2, 2026 10:00:00 AM",
                "expirationTimestamp": "Dec 17, 2026 10:00:00 AM"}},
            "eventID": format!("forged-{handshake}"),
            "recipientAccountId": target
        }
    })
}

#[tokio::test]
async fn another_organizations_transfer_is_reported_and_never_accepted_even_behind_a_forged_event()
{
    let (emulator, recorder, hub) = hub("bill-foreign").await;
    let queue = notifications(&hub).await;
    let customer = billing_customer(emulator, &hub, "acme-billing").await;
    let management = acct(customer.management.account_id());
    let stranger = AwsAccount::create_unique(emulator).await.unwrap();
    let stranger_org = stranger.create_organization().await.unwrap();
    let foreign =
        onboarding::adapters::organizations::SdkTargetOrganization::new(stranger.organizations())
            .invite_to_transfer(&management, first_day_of_next_month(Utc::now()), "takeover")
            .await
            .unwrap()
            .id;

    let forged = forged_transfer_invitation(&hub, management.as_str(), foreign.as_str());
    let outcome = hub.tracker().handle_json(&forged).await.unwrap();
    assert!(
        matches!(outcome, onboarding::tracker::Outcome::Applied { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        record_of(&hub.store(), management.as_str()).await.phase,
        Phase::TransferInvited,
        "the forged event made the foreign handshake the record's"
    );
    for _ in 0..2 {
        assert_eq!(
            hub.acceptor().process(&management).await.unwrap(),
            AcceptorOutcome::NothingToAccept { reported: 1 }
        );
    }
    assert_eq!(
        state_of(&customer.management, foreign.as_str()).await,
        HandshakeState::Open,
        "neither accepted nor declined"
    );
    recorder.flush().await.unwrap();
    assert!(recorder.events_named("AcceptHandshake").is_empty());
    let record = record_of(&hub.store(), management.as_str()).await;
    assert_eq!(record.phase, Phase::AwaitingTransfer, "{record:?}");
    assert!(record.settled_handshakes.contains(&foreign));
    let published = drain_all(&queue).await;
    let unexpected = of_type(&published, n::UNEXPECTED_INVITATION);
    assert_eq!(unexpected.len(), 1, "reported once: {published:#?}");
    let detail = n::UnexpectedInvitation::from_event(unexpected[0]).unwrap();
    assert_eq!(
        detail.inviting_organization.as_ref().map(|o| o.as_str()),
        Some(stranger_org.as_str())
    );
    assert!(detail.reason.contains("WRONG_ORGANIZATION"), "{detail:?}");

    // The target's own transfer still goes through; the foreign one is left alone.
    let InviterOutcome::Invited { handshake } =
        hub.inviter().process(&management, false).await.unwrap()
    else {
        panic!("the target's transfer invitation was not sent");
    };
    assert_eq!(
        hub.acceptor().process(&management).await.unwrap(),
        AcceptorOutcome::Accepted { handshake }
    );
    assert_eq!(
        record_of(&hub.store(), management.as_str()).await.phase,
        Phase::Transferred
    );
    assert_eq!(
        state_of(&customer.management, foreign.as_str()).await,
        HandshakeState::Open
    );
}

#[tokio::test]
async fn a_declined_transfer_invitation_is_followed_by_a_new_one_through_the_event_loop() {
    let (emulator, recorder, hub) = hub("bill-decline").await;
    let customer = billing_customer(emulator, &hub, "acme-billing").await;
    let management = acct(customer.management.account_id());
    let InviterOutcome::Invited { handshake: first } =
        hub.inviter().process(&management, false).await.unwrap()
    else {
        panic!("not invited");
    };
    let record = decline_and_run_until_idle(&hub, &recorder, &customer.management, &first).await;
    assert_eq!(record.phase, Phase::Transferred, "{record:?}");
    assert_eq!(
        state_of(&customer.management, first.as_str()).await,
        HandshakeState::Declined
    );
    let transfers = onboarding::adapters::organizations::SdkTargetOrganization::new(
        hub.account.organizations(),
    )
    .transfers()
    .await
    .unwrap();
    let mut statuses: Vec<String> = transfers
        .iter()
        .filter(|t| t.names(&management))
        .map(|t| format!("{:?}", t.status))
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["Accepted", "Declined"]);
}
