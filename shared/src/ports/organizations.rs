//! AWS Organizations, as the acceptor and inviter need it: acting as a customer account
//! (through the spoke role) and as the target organization (the hub's own credentials).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{AccountId, AwsFailure, HandshakeId, ObservedHandshake, OrganizationId};

/// A failed Organizations call: what AWS said, and whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {}", failure.code, failure.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(), failure.message)]
pub struct OrganizationsError {
    pub failure: AwsFailure,
    /// Throttling, concurrent modification, service or network errors.
    pub transient: bool,
}

impl OrganizationsError {
    pub fn code(&self) -> &str {
        &self.failure.code
    }

    /// AWS throttled the call (rather than failing it).
    pub fn is_throttling(&self) -> bool {
        crate::domain::blocker::is_throttling_code(self.code())
    }
}

/// The organization an account belongs to, as DescribeOrganization in that account says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub organization: OrganizationId,
    pub management_account: AccountId,
}

/// Organizations calls made as one customer account.
#[async_trait]
pub trait AccountOrganizations: Send + Sync {
    /// ListHandshakesForAccount, all pages.
    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, OrganizationsError>;
    async fn accept(
        &self,
        handshake: &HandshakeId,
    ) -> Result<ObservedHandshake, OrganizationsError>;
    async fn decline(&self, handshake: &HandshakeId) -> Result<(), OrganizationsError>;
    /// `None` when the account is in no organization (AWSOrganizationsNotInUseException).
    async fn membership(&self) -> Result<Option<Membership>, OrganizationsError>;
    /// How many other accounts the organization this account manages has (ListAccounts,
    /// all pages): only a management account may ask.
    async fn other_members(&self) -> Result<u32, OrganizationsError>;
}

/// Getting a client that acts as a customer account.
#[async_trait]
pub trait Credentials: Send + Sync {
    /// Fails with the AWS error when the spoke role cannot be assumed (not deployed, or not
    /// trusting the hub with this external id).
    async fn organizations_for(
        &self,
        account: &AccountId,
    ) -> Result<Arc<dyn AccountOrganizations>, OrganizationsError>;
}

/// Organizations calls made as the target organization's management account.
#[async_trait]
pub trait TargetOrganization: Send + Sync {
    /// ListHandshakesForOrganization, all pages.
    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, OrganizationsError>;
    /// InviteAccountToOrganization with target type ACCOUNT; AWS applies `tags` to the
    /// account when it accepts.
    async fn invite(
        &self,
        account: &AccountId,
        notes: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<ObservedHandshake, OrganizationsError>;
    /// The organization's accounts (ListAccounts, all pages).
    async fn member_accounts(&self) -> Result<Vec<AccountId>, OrganizationsError>;
    /// How many accounts the organization has.
    async fn account_count(&self) -> Result<u32, OrganizationsError> {
        let accounts = self.member_accounts().await?;
        Ok(u32::try_from(accounts.len()).unwrap_or(u32::MAX))
    }
}

/// What the hub's own credentials see of the organization it runs in: the proof that an
/// account joined, and the check that the configured target is that organization.
#[async_trait]
pub trait TargetDirectory: Send + Sync {
    /// Whether the account is a member of the target organization (DescribeAccount in its
    /// management account: `AccountNotFoundException` means no).
    async fn is_member(&self, account: &AccountId) -> Result<bool, OrganizationsError>;
    /// The organization of the hub's own account (DescribeOrganization), `None` when it
    /// is in none.
    async fn own_organization(&self) -> Result<Option<Membership>, OrganizationsError>;
    /// The billing transfer the target's organization lists that proves `record`'s
    /// (billing mode's proof, [`crate::domain::billing::proves_transfer`]), if any.
    async fn transfer_proving(
        &self,
        record: &crate::domain::OnboardingRecord,
    ) -> Result<Option<crate::domain::billing::ObservedTransfer>, OrganizationsError>;
}

#[async_trait]
impl<T: Credentials + ?Sized> Credentials for Arc<T> {
    async fn organizations_for(
        &self,
        account: &AccountId,
    ) -> Result<Arc<dyn AccountOrganizations>, OrganizationsError> {
        (**self).organizations_for(account).await
    }
}

#[async_trait]
impl<T: TargetOrganization + ?Sized> TargetOrganization for Arc<T> {
    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, OrganizationsError> {
        (**self).list_handshakes().await
    }
    async fn invite(
        &self,
        account: &AccountId,
        notes: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        (**self).invite(account, notes, tags).await
    }
    async fn member_accounts(&self) -> Result<Vec<AccountId>, OrganizationsError> {
        (**self).member_accounts().await
    }
}

/// Billing transfers the target's management account sends (billing mode), with the hub's
/// own credentials.
#[async_trait]
pub trait BillingTransfers: Send + Sync {
    /// InviteOrganizationToTransferResponsibility of type `BILLING` to the management
    /// account `account`, taking effect at `starts_at`, named `name`: the handshake.
    async fn invite_to_transfer(
        &self,
        account: &AccountId,
        starts_at: chrono::DateTime<chrono::Utc>,
        name: &str,
    ) -> Result<ObservedHandshake, OrganizationsError>;

    /// Every billing transfer the target's management account is a party of, all pages of
    /// ListInboundResponsibilityTransfers (the AWS documentation's list for the account
    /// that takes a bill over) and ListOutboundResponsibilityTransfers (the emulator's),
    /// each transfer once.
    async fn transfers(
        &self,
    ) -> Result<Vec<crate::domain::billing::ObservedTransfer>, OrganizationsError>;
}

#[async_trait]
impl<T: BillingTransfers + ?Sized> BillingTransfers for Arc<T> {
    async fn invite_to_transfer(
        &self,
        account: &AccountId,
        starts_at: chrono::DateTime<chrono::Utc>,
        name: &str,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        (**self).invite_to_transfer(account, starts_at, name).await
    }
    async fn transfers(
        &self,
    ) -> Result<Vec<crate::domain::billing::ObservedTransfer>, OrganizationsError> {
        (**self).transfers().await
    }
}
