//! The emulator's responsibility-transfer API family (issue 19's groundwork), through the
//! product's adapter and policy: the target's management account invites a customer's
//! management account to transfer its billing (InviteOrganizationToTransferResponsibility,
//! type `BILLING`, [`BillingTransfers`]); the customer sees a `TRANSFER_RESPONSIBILITY` handshake through
//! ListHandshakesForAccount, which the domain's policy passes only as a billing transfer
//! from the target; accepting it makes the transfer `ACCEPTED`, and a transfer another
//! organization sends is refused by the same policy.

mod common;

use aws_sdk_organizations::types::ResponsibilityTransferType;
use onboarding::adapters::organizations::{observe, SdkTargetOrganization};
use onboarding::domain::billing::{first_day_of_next_month, TransferStatus};
use onboarding::domain::{verify_offer, AccountId, HandshakeAction, Offer, Target};
use onboarding::ports::BillingTransfers;

use onboarding_e2e::accounts::AwsAccount;

use common::*;

/// The product's adapter, acting as `inviter`'s management account: the handshake id.
async fn invite_to_transfer(inviter: &AwsAccount, customer: &AwsAccount) -> String {
    let invited = AccountId::parse(customer.account_id()).unwrap();
    SdkTargetOrganization::new(inviter.organizations())
        .invite_to_transfer(
            &invited,
            first_day_of_next_month(chrono::Utc::now()),
            "billing",
        )
        .await
        .unwrap()
        .id
        .to_string()
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

#[tokio::test]
async fn the_target_adapter_invites_lists_and_sees_a_duplicate_and_the_acceptance() {
    let (emulator, _recorder, hub) = hub("transfer-adapter").await;
    let customer = AwsAccount::create_unique(emulator).await.unwrap();
    customer.create_organization().await.unwrap();
    let invited = AccountId::parse(customer.account_id()).unwrap();
    let target = SdkTargetOrganization::new(hub.account.organizations());
    let starts_at = first_day_of_next_month(chrono::Utc::now());

    let handshake = target
        .invite_to_transfer(&invited, starts_at, "acme billing")
        .await
        .unwrap();
    assert_eq!(handshake.action, HandshakeAction::TransferResponsibility);
    let listed = target.transfers().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].status, TransferStatus::Requested);
    assert!(listed[0].names(&invited));
    assert_eq!(listed[0].handshake.as_ref(), Some(&handshake.id));
    assert_eq!(listed[0].starts_at, Some(starts_at));

    let again = target
        .invite_to_transfer(&invited, starts_at, "acme billing")
        .await
        .unwrap_err();
    assert_eq!(
        again.code(),
        "DuplicateHandshakeException",
        "one open transfer per account: the open one is to be adopted"
    );

    customer
        .organizations()
        .accept_handshake()
        .handshake_id(handshake.id.as_str())
        .send()
        .await
        .unwrap();
    let listed = target.transfers().await.unwrap();
    assert_eq!(listed[0].status, TransferStatus::Accepted, "{listed:?}");
}
