//! What the preflight needs of a customer account, read through its spoke role: its own
//! settings, organization and resource policies ([`AccountFacts`]), and, in the old
//! organization's management account, who its delegated administrators are.

use async_trait::async_trait;

use super::OrganizationsError;
use crate::domain::preflight::{AccountFacts, Read};
use crate::domain::AccountId;

#[async_trait]
pub trait AccountInspector: Send + Sync {
    /// Everything the preflight reads in `account` (its `delegated_administrator` is left
    /// `None`: the handler asks the management account). A read the account refuses is
    /// kept in the facts; `Err` only when the account cannot be reached at all (the spoke
    /// role cannot be assumed) or AWS kept failing transiently.
    async fn inspect(&self, account: &AccountId) -> Result<AccountFacts, OrganizationsError>;

    /// The delegated administrators of the organization `management` manages
    /// (ListDelegatedAdministrators, all pages, in that account).
    async fn delegated_administrators(
        &self,
        management: &AccountId,
    ) -> Result<Read<Vec<AccountId>>, OrganizationsError>;
}

#[async_trait]
impl<T: AccountInspector + ?Sized> AccountInspector for std::sync::Arc<T> {
    async fn inspect(&self, account: &AccountId) -> Result<AccountFacts, OrganizationsError> {
        (**self).inspect(account).await
    }

    async fn delegated_administrators(
        &self,
        management: &AccountId,
    ) -> Result<Read<Vec<AccountId>>, OrganizationsError> {
        (**self).delegated_administrators(management).await
    }
}
