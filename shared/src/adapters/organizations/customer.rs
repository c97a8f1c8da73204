//! The customer side: [`AccountOrganizations`], calls made *as* one customer account
//! (ListHandshakesForAccount, AcceptHandshake, DeclineHandshake, DescribeOrganization,
//! ListAccounts), and the two reads either side makes with its own client.

use async_trait::async_trait;
use aws_sdk_organizations::Client;

use super::errors::{logged, malformed, map_sdk_error};
use super::handshakes::{observe_listed, returned_handshake};
use crate::domain::error_code::same_code;
use crate::domain::{AccountId, HandshakeId, ObservedHandshake, OrganizationId};
use crate::ports::{AccountOrganizations, Membership, OrganizationsError};

/// [`AccountOrganizations`] on an Organizations client whose credentials are those of the
/// customer account (see [`super::StsCredentials`]).
#[derive(Debug, Clone)]
pub struct SdkAccountOrganizations {
    client: Client,
    /// The account the client acts as, when known: only for log fields.
    account: Option<AccountId>,
}

impl SdkAccountOrganizations {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            account: None,
        }
    }

    /// The same, naming the account it acts as in its logs.
    pub fn for_account(client: Client, account: AccountId) -> Self {
        Self {
            client,
            account: Some(account),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn account(&self) -> Option<&AccountId> {
        self.account.as_ref()
    }

    fn account_field(&self) -> &str {
        self.account.as_ref().map_or("", AccountId::as_str)
    }
}

#[async_trait]
impl AccountOrganizations for SdkAccountOrganizations {
    #[tracing::instrument(skip(self), fields(account_id = %self.account_field()))]
    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, OrganizationsError> {
        let mut pages = self
            .client
            .list_handshakes_for_account()
            .into_paginator()
            .send();
        let mut handshakes = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| logged("ListHandshakesForAccount", map_sdk_error(e)))?;
            observe_listed(page.handshakes(), &mut handshakes);
        }
        tracing::debug!(count = handshakes.len(), "listed the account's handshakes");
        Ok(handshakes)
    }

    #[tracing::instrument(skip(self), fields(account_id = %self.account_field(), handshake_id = %handshake))]
    async fn accept(
        &self,
        handshake: &HandshakeId,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        let output = self
            .client
            .accept_handshake()
            .handshake_id(handshake.as_str())
            .send()
            .await
            .map_err(|e| logged("AcceptHandshake", map_sdk_error(e)))?;
        tracing::info!("accepted the handshake");
        returned_handshake(output.handshake(), "AcceptHandshake")
    }

    #[tracing::instrument(skip(self), fields(account_id = %self.account_field(), handshake_id = %handshake))]
    async fn decline(&self, handshake: &HandshakeId) -> Result<(), OrganizationsError> {
        self.client
            .decline_handshake()
            .handshake_id(handshake.as_str())
            .send()
            .await
            .map_err(|e| logged("DeclineHandshake", map_sdk_error(e)))?;
        tracing::info!("declined the handshake");
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(account_id = %self.account_field()))]
    async fn membership(&self) -> Result<Option<Membership>, OrganizationsError> {
        describe_organization(&self.client).await
    }

    #[tracing::instrument(skip(self), fields(account_id = %self.account_field()))]
    async fn other_members(&self) -> Result<u32, OrganizationsError> {
        let accounts = list_accounts(&self.client).await?;
        let others = accounts
            .iter()
            .filter(|a| Some(*a) != self.account.as_ref())
            .count();
        Ok(u32::try_from(others).unwrap_or(u32::MAX))
    }
}

/// ListAccounts with `client`'s credentials, all pages (20 accounts a page).
pub(super) async fn list_accounts(client: &Client) -> Result<Vec<AccountId>, OrganizationsError> {
    let mut pages = client.list_accounts().into_paginator().send();
    let mut accounts = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| logged("ListAccounts", map_sdk_error(e)))?;
        for account in page.accounts() {
            let id = account
                .id()
                .ok_or_else(|| malformed("ListAccounts returned an account without an id"))?;
            accounts.push(AccountId::parse(id).map_err(|e| malformed(e.to_string()))?);
        }
    }
    tracing::debug!(count = accounts.len(), "listed the organization's accounts");
    Ok(accounts)
}

/// DescribeOrganization with `client`'s credentials: `None` when the account is in no
/// organization.
pub(super) async fn describe_organization(
    client: &Client,
) -> Result<Option<Membership>, OrganizationsError> {
    let output = match client.describe_organization().send().await {
        Ok(output) => output,
        Err(err) => {
            let err = map_sdk_error(err);
            if same_code(&err.failure.code, "AWSOrganizationsNotInUseException") {
                return Ok(None);
            }
            return Err(logged("DescribeOrganization", err));
        }
    };
    let organization = output
        .organization()
        .ok_or_else(|| malformed("DescribeOrganization returned no organization"))?;
    let id = organization
        .id()
        .ok_or_else(|| malformed("DescribeOrganization returned no organization id"))?;
    let management = organization
        .master_account_id()
        .ok_or_else(|| malformed("DescribeOrganization returned no management account"))?;
    Ok(Some(Membership {
        organization: OrganizationId::parse(id).map_err(|e| malformed(e.to_string()))?,
        management_account: AccountId::parse(management).map_err(|e| malformed(e.to_string()))?,
    }))
}
