//! The placer's ports on the AWS SDK for Rust, with the hub's own credentials:
//! [`OrganizationTree`] on the target's Organizations client (ListRoots,
//! ListOrganizationalUnitsForParent, ListParents, MoveAccount, ListTagsForResource,
//! TagResource), and [`TargetAccess`] by STS AssumeRole of the access role in a joined
//! account. Errors are read as every Organizations adapter reads them
//! ([`super::organizations::map_sdk_error`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_organizations::operation::list_organizational_units_for_parent::ListOrganizationalUnitsForParentError;
use aws_sdk_organizations::operation::list_parents::ListParentsError;
use aws_sdk_organizations::operation::list_roots::ListRootsError;
use aws_sdk_organizations::operation::list_tags_for_resource::ListTagsForResourceError;
use aws_sdk_organizations::operation::move_account::MoveAccountError;
use aws_sdk_organizations::operation::tag_resource::TagResourceError;
use aws_sdk_organizations::types::Tag;

use super::organizations::{
    logged, malformed, map_sdk_error, operation_error, role_arn, session_name, OperationError,
    SdkTargetOrganization,
};
use crate::domain::AccountId;
use crate::ports::{OrganizationTree, OrganizationalUnit, OrganizationsError, TargetAccess};

operation_error!(ListRootsError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(ListOrganizationalUnitsForParentError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ParentNotFoundException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(ListParentsError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        ChildNotFoundException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(MoveAccountError {
    plain: [
        AccessDeniedException,
        AccountNotFoundException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        DestinationParentNotFoundException,
        DuplicateAccountException,
        InvalidInputException,
        ServiceException,
        SourceParentNotFoundException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(ListTagsForResourceError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ServiceException,
        TargetNotFoundException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(TagResourceError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        InvalidInputException,
        ServiceException,
        TargetNotFoundException,
        TooManyRequestsException,
    ],
    with_reason: [ConstraintViolationException],
});

/// Tags as the SDK takes them (an invitation's, or TagResource's).
pub fn sdk_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, OrganizationsError> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| malformed(e.to_string()))
        })
        .collect()
}

#[async_trait]
impl OrganizationTree for SdkTargetOrganization {
    async fn root_id(&self) -> Result<String, OrganizationsError> {
        let output = self
            .client()
            .list_roots()
            .send()
            .await
            .map_err(|e| logged("ListRoots", map_sdk_error(e)))?;
        output
            .roots()
            .first()
            .and_then(|root| root.id())
            .map(str::to_owned)
            .ok_or_else(|| malformed("ListRoots returned no root"))
    }

    async fn child_units(
        &self,
        parent: &str,
    ) -> Result<Vec<OrganizationalUnit>, OrganizationsError> {
        let mut pages = self
            .client()
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .into_paginator()
            .send();
        let mut units = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| logged("ListOrganizationalUnitsForParent", map_sdk_error(e)))?;
            units.extend(page.organizational_units().iter().filter_map(|unit| {
                Some(OrganizationalUnit {
                    id: unit.id()?.to_owned(),
                    name: unit.name()?.to_owned(),
                })
            }));
        }
        Ok(units)
    }

    async fn parent_of(&self, account: &AccountId) -> Result<String, OrganizationsError> {
        let output = self
            .client()
            .list_parents()
            .child_id(account.as_str())
            .send()
            .await
            .map_err(|e| logged("ListParents", map_sdk_error(e)))?;
        output
            .parents()
            .first()
            .and_then(|parent| parent.id())
            .map(str::to_owned)
            .ok_or_else(|| malformed(format!("ListParents named no parent of {account}")))
    }

    async fn move_account(
        &self,
        account: &AccountId,
        from: &str,
        to: &str,
    ) -> Result<(), OrganizationsError> {
        self.client()
            .move_account()
            .account_id(account.as_str())
            .source_parent_id(from)
            .destination_parent_id(to)
            .send()
            .await
            .map_err(|e| logged("MoveAccount", map_sdk_error(e)))?;
        tracing::info!(account_id = %account, from, to, "moved the account");
        Ok(())
    }

    async fn tags_of(
        &self,
        account: &AccountId,
    ) -> Result<BTreeMap<String, String>, OrganizationsError> {
        let mut pages = self
            .client()
            .list_tags_for_resource()
            .resource_id(account.as_str())
            .into_paginator()
            .send();
        let mut tags = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| logged("ListTagsForResource", map_sdk_error(e)))?;
            tags.extend(
                page.tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned())),
            );
        }
        Ok(tags)
    }

    async fn tag(
        &self,
        account: &AccountId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), OrganizationsError> {
        self.client()
            .tag_resource()
            .resource_id(account.as_str())
            .set_tags(Some(sdk_tags(tags)?))
            .send()
            .await
            .map_err(|e| logged("TagResource", map_sdk_error(e)))?;
        tracing::info!(account_id = %account, count = tags.len(), "tagged the account");
        Ok(())
    }
}

/// [`TargetAccess`] by AssumeRole with the hub's own credentials (the target management
/// account's, where the placer runs).
#[derive(Debug, Clone)]
pub struct StsTargetAccess {
    sts: aws_sdk_sts::Client,
}

impl StsTargetAccess {
    pub fn new(sts: aws_sdk_sts::Client) -> Self {
        Self { sts }
    }
}

#[async_trait]
impl TargetAccess for StsTargetAccess {
    async fn verify(&self, account: &AccountId, role_name: &str) -> Result<(), OrganizationsError> {
        let role_arn = role_arn(account, role_name);
        self.sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(session_name(account))
            .duration_seconds(900)
            .send()
            .await
            .map_err(|e| {
                let err = map_sdk_error(e);
                tracing::info!(role_arn = %role_arn, code = %err.failure.code, "the target cannot assume the access role");
                err
            })?;
        Ok(())
    }
}
