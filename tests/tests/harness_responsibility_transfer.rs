//! The emulator's responsibility-transfer API family (issue 19's groundwork), read as the
//! product will read it: the target's management account invites a customer's management
//! account to transfer its billing (InviteOrganizationToTransferResponsibility, type
//! `BILLING`); the customer sees a `TRANSFER_RESPONSIBILITY` handshake through
//! ListHandshakesForAccount, which the domain's policy passes only as a billing transfer
//! from the target; accepting it makes the transfer `ACCEPTED`, and a transfer another
//! organization sends is refused by the same policy.

mod common;

use aws_sdk_organizations::types::{
    HandshakeParty, HandshakePartyType, ResponsibilityTransferType,
};
use onboarding::adapters::organizations::observe;
use onboarding::domain::{verify_offer, AccountId, Offer, Target};

use onboarding_e2e::accounts::AwsAccount;

use common::*;

async fn invite_to_transfer(inviter: &AwsAccount, customer: &AwsAccount) -> String {
    let sent = inviter
        .organizations()
        .invite_organization_to_transfer_responsibility()
        .r#type(ResponsibilityTransferType::Billing)
        .target(
            HandshakeParty::builder()
                .id(customer.account_id())
                .r#type(HandshakePartyType::Account)
                .build()
                .unwrap(),
        )
        .source_name("acme billing")
        .start_timestamp(aws_smithy_types::DateTime::from_secs(
            chrono::Utc::now().timestamp() + 3600,
        ))
        .send()
        .await
        .unwrap();
    sent.handshake().and_then(|h| h.id()).unwrap().to_owned()
}

#[tokio::test]
async fn a_billing_transfer_from_the_target_passes_the_policy_and_one_from_elsewhere_does_not() {
    let (emulator, _recorder, hub) = hub("transfer").await;
    let customer = AwsAccount::create_unique(emulator).await.unwrap();
    customer.create_organization().await.unwrap();
    let stranger = AwsAccount::create_unique(emulator).await.unwrap();
    stranger.create_organization().await.unwrap();

    let ours = invite_to_transfer(&hub.account, &customer).await;
    let theirs = invite_to_transfer(&stranger, &customer).await;
    let listed = customer
        .organizations()
        .list_handshakes_for_account()
        .send()
        .await
        .unwrap();
    let observed: Vec<_> = listed
        .handshakes()
        .iter()
        .map(|h| observe(h).unwrap())
        .collect();
    let invited = AccountId::parse(customer.account_id()).unwrap();
    let target: &Target = &hub.target;
    let now = chrono::Utc::now();
    let judged = |id: &str| {
        let handshake = observed.iter().find(|h| h.id.as_str() == id).unwrap();
        println!("{handshake:?}");
        verify_offer(Offer::TransferBilling, handshake, &invited, target, now)
    };
    assert_eq!(judged(&ours), Ok(()), "the target's transfer passes");
    assert_eq!(
        judged(&theirs).unwrap_err().code(),
        "WRONG_ORGANIZATION",
        "another organization's transfer is refused"
    );
    let ours_observed = observed.iter().find(|h| h.id.as_str() == ours).unwrap();
    assert_eq!(
        verify_offer(Offer::Join, ours_observed, &invited, target, now)
            .unwrap_err()
            .code(),
        "NOT_AN_INVITATION",
        "a transfer is never taken for an invitation to join"
    );

    customer
        .organizations()
        .accept_handshake()
        .handshake_id(&ours)
        .send()
        .await
        .unwrap();
    let outbound = hub
        .account
        .organizations()
        .list_outbound_responsibility_transfers()
        .r#type(ResponsibilityTransferType::Billing)
        .send()
        .await
        .unwrap();
    let statuses: Vec<String> = outbound
        .responsibility_transfers()
        .iter()
        .filter_map(|t| t.status().map(|s| s.as_str().to_owned()))
        .collect();
    assert_eq!(statuses, ["ACCEPTED"], "{outbound:?}");
}
