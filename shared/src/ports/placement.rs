//! What the placer needs of the target organization once an account joined: its tree of
//! organizational units, the account's parent and tags, and the proof that the target can
//! reach the account (assuming the access role in it). All with the hub's own credentials.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::OrganizationsError;
use crate::domain::AccountId;

/// An organizational unit under a parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationalUnit {
    pub id: String,
    pub name: String,
}

/// The target organization's tree and its accounts' tags.
#[async_trait]
pub trait OrganizationTree: Send + Sync {
    /// The root's id (ListRoots).
    async fn root_id(&self) -> Result<String, OrganizationsError>;
    /// The units directly under `parent` (ListOrganizationalUnitsForParent, all pages).
    async fn child_units(
        &self,
        parent: &str,
    ) -> Result<Vec<OrganizationalUnit>, OrganizationsError>;
    /// The root or OU the account is in (ListParents).
    async fn parent_of(&self, account: &AccountId) -> Result<String, OrganizationsError>;
    /// MoveAccount from `from` to `to`.
    async fn move_account(
        &self,
        account: &AccountId,
        from: &str,
        to: &str,
    ) -> Result<(), OrganizationsError>;
    /// The account's tags (ListTagsForResource, all pages).
    async fn tags_of(
        &self,
        account: &AccountId,
    ) -> Result<BTreeMap<String, String>, OrganizationsError>;
    /// TagResource: adds or overwrites `tags`, leaves the others.
    async fn tag(
        &self,
        account: &AccountId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), OrganizationsError>;
}

/// The target's access to a joined account.
#[async_trait]
pub trait TargetAccess: Send + Sync {
    /// Assumes `role_name` in the account with the hub's own credentials; `Ok` when the
    /// target management account can reach it (the session is not kept).
    async fn verify(&self, account: &AccountId, role_name: &str) -> Result<(), OrganizationsError>;
}
