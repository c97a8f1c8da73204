//! The target side: [`TargetOrganization`] and [`TargetDirectory`], calls made as the
//! target organization's management account (ListHandshakesForOrganization,
//! InviteAccountToOrganization, ListAccounts, DescribeAccount, DescribeOrganization).

use async_trait::async_trait;
use aws_sdk_organizations::Client;

use super::customer::{describe_organization, list_accounts};
use super::errors::{logged, map_sdk_error};
use super::handshakes::{account_party, observe_listed, returned_handshake};
use crate::domain::billing::{proves_transfer, ObservedTransfer};
use crate::domain::{AccountId, ObservedHandshake, OnboardingRecord};
use crate::ports::{
    BillingTransfers, Membership, OrganizationsError, TargetDirectory, TargetOrganization,
};

/// [`TargetOrganization`] on an Organizations client with the target management account's
/// credentials (the hub's own, when it runs in that account).
#[derive(Debug, Clone)]
pub struct SdkTargetOrganization {
    client: Client,
}

impl SdkTargetOrganization {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl TargetOrganization for SdkTargetOrganization {
    #[tracing::instrument(skip(self))]
    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, OrganizationsError> {
        let mut pages = self
            .client
            .list_handshakes_for_organization()
            .into_paginator()
            .send();
        let mut handshakes = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| logged("ListHandshakesForOrganization", map_sdk_error(e)))?;
            observe_listed(page.handshakes(), &mut handshakes);
        }
        tracing::debug!(
            count = handshakes.len(),
            "listed the organization's handshakes"
        );
        Ok(handshakes)
    }

    #[tracing::instrument(skip(self, notes, tags), fields(account_id = %account))]
    async fn invite(
        &self,
        account: &AccountId,
        notes: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        let target = account_party(account)?;
        let mut request = self.client.invite_account_to_organization().target(target);
        if !notes.is_empty() {
            request = request.notes(notes);
        }
        for tag in crate::adapters::placement::sdk_tags(tags)? {
            request = request.tags(tag);
        }
        let output = request
            .send()
            .await
            .map_err(|e| logged("InviteAccountToOrganization", map_sdk_error(e)))?;
        let handshake = returned_handshake(output.handshake(), "InviteAccountToOrganization")?;
        tracing::info!(handshake_id = %handshake.id, "invited the account");
        Ok(handshake)
    }

    #[tracing::instrument(skip(self))]
    async fn member_accounts(&self) -> Result<Vec<AccountId>, OrganizationsError> {
        list_accounts(&self.client).await
    }
}

#[async_trait]
impl TargetDirectory for SdkTargetOrganization {
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    async fn is_member(&self, account: &AccountId) -> Result<bool, OrganizationsError> {
        match self
            .client
            .describe_account()
            .account_id(account.as_str())
            .send()
            .await
        {
            Ok(output) => Ok(output
                .account()
                .and_then(|a| a.id())
                .is_some_and(|id| id == account.as_str())),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_account_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(logged("DescribeAccount", map_sdk_error(err))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn own_organization(&self) -> Result<Option<Membership>, OrganizationsError> {
        describe_organization(&self.client).await
    }

    #[tracing::instrument(skip_all, fields(account_id = %record.account_id))]
    async fn transfer_proving(
        &self,
        record: &OnboardingRecord,
    ) -> Result<Option<ObservedTransfer>, OrganizationsError> {
        Ok(self
            .transfers()
            .await?
            .into_iter()
            .find(|t| proves_transfer(record, t)))
    }
}
