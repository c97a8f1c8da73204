//! [`AccountInspector`] on the AWS SDK, through each account's spoke session
//! ([`StsCredentials`]): the reads of the preflight, and only reads.
//!
//! | what | API | region |
//! |---|---|---|
//! | contact, phone verification | account:GetContactInformation | us-east-1 (global) |
//! | creation date | account:GetAccountInformation | us-east-1 (global) |
//! | organization, open invitations | organizations:DescribeOrganization, ListHandshakesForAccount | us-east-1 |
//! | delegated administrators | organizations:ListDelegatedAdministrators (old management account) | us-east-1 |
//! | role trust policies | iam:ListRoles | global |
//! | bucket policies | s3:ListBuckets, GetBucketPolicy | each bucket's region |
//! | key, topic, queue, function policies | kms:ListKeys + GetKeyPolicy, sns:ListTopics + GetTopicAttributes, sqs:ListQueues + GetQueueAttributes, lambda:ListFunctions + GetPolicy | each configured region |
//!
//! A read the account refuses becomes part of the facts (the report lists it as a check);
//! so does any failure of a policy read, transient or not, because policies are advice
//! and a later run reads them again. Only a transient failure of the reads that predict
//! blockers (contact, age, organization, invitations) fails the account's preflight, to
//! be retried, since reporting "not checked" for a throttle would be wrong.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_organizations::config::Region;
use chrono::{DateTime, Utc};

use self::policies::PolicyReads;
use super::organizations::{StsCredentials, ORGANIZATIONS_REGION};
use super::sdk_error::{self, SdkFailure};
use crate::domain::error_code::same_code;
use crate::domain::preflight::{AccountFacts, Contact, PhoneVerification, Read, SeenOrganization};
use crate::domain::{AccountId, AwsFailure};
use crate::ports::{AccountInspector, Credentials, OrganizationsError};

/// A client of `$sdk` on a spoke session's configuration, with the session's interceptors
/// (the test harness logs each call for the IAM check).
macro_rules! session_client {
    ($sdk:ident, $config:expr, $interceptors:expr) => {{
        let mut builder = $sdk::config::Builder::from($config);
        for interceptor in $interceptors.iter() {
            builder.push_interceptor(interceptor.clone());
        }
        $sdk::Client::from_conf(builder.build())
    }};
}

// After the macro, which they use.
mod policies;
#[cfg(test)]
mod tests;

/// The preflight's reads, through the spoke role.
pub struct SdkAccountInspector {
    credentials: Arc<StsCredentials>,
    /// Where KMS, SNS, SQS and Lambda policies are read; empty: the base configuration's
    /// region.
    regions: Vec<String>,
}

impl SdkAccountInspector {
    pub fn new(credentials: Arc<StsCredentials>, regions: Vec<String>) -> Self {
        Self {
            credentials,
            regions,
        }
    }

    fn regions_of(&self, config: &SdkConfig) -> Vec<String> {
        if self.regions.is_empty() {
            let own = config.region().map_or(ORGANIZATIONS_REGION, |r| r.as_ref());
            vec![own.to_owned()]
        } else {
            self.regions.clone()
        }
    }
}

#[async_trait]
impl AccountInspector for SdkAccountInspector {
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    async fn inspect(&self, account: &AccountId) -> Result<AccountFacts, OrganizationsError> {
        let config = self.credentials.session_config(account).await?;
        let organizations = self.credentials.organizations_for(account).await?;
        let interceptors = self.credentials.session_interceptors(account);
        let global = in_region(&config, ORGANIZATIONS_REGION);
        let account_client = session_client!(aws_sdk_account, &global, &interceptors);
        let contact = blocking_read(contact(&account_client).await)?;
        let created_at = blocking_read(created_at(&account_client).await)?;
        let organization = match organizations.membership().await {
            Ok(membership) => Ok(membership.map(|m| SeenOrganization {
                organization: m.organization,
                management_account: m.management_account,
            })),
            Err(error) if error.transient => return Err(error),
            Err(error) => Err(error.failure),
        };
        let handshakes = match organizations.list_handshakes().await {
            Ok(handshakes) => Ok(handshakes),
            Err(error) if error.transient => return Err(error),
            Err(error) => Err(error.failure),
        };
        let mut policies = PolicyReads {
            interceptors: interceptors.clone(),
            ..PolicyReads::default()
        };
        policies
            .roles(&session_client!(aws_sdk_iam, &global, &interceptors))
            .await;
        policies.buckets(&config).await;
        for region in self.regions_of(&config) {
            let regional = in_region(&config, &region);
            policies
                .keys(
                    &session_client!(aws_sdk_kms, &regional, &interceptors),
                    &region,
                )
                .await;
            policies
                .topics(
                    &session_client!(aws_sdk_sns, &regional, &interceptors),
                    &region,
                )
                .await;
            policies
                .queues(
                    &session_client!(aws_sdk_sqs, &regional, &interceptors),
                    &region,
                )
                .await;
            policies
                .functions(
                    &session_client!(aws_sdk_lambda, &regional, &interceptors),
                    &region,
                )
                .await;
        }
        tracing::info!(
            policies = policies.read.len(),
            unread = policies.unread.len(),
            "read the account's settings and policies"
        );
        Ok(AccountFacts {
            contact,
            created_at,
            organization,
            delegated_administrator: None,
            handshakes,
            policies: policies.read,
            unread_policies: policies.unread,
        })
    }

    #[tracing::instrument(skip(self), fields(account_id = %management))]
    async fn delegated_administrators(
        &self,
        management: &AccountId,
    ) -> Result<Read<Vec<AccountId>>, OrganizationsError> {
        let config = self.credentials.session_config(management).await?;
        let client = session_client!(
            aws_sdk_organizations,
            &in_region(&config, ORGANIZATIONS_REGION),
            &self.credentials.session_interceptors(management)
        );
        let mut pages = client
            .list_delegated_administrators()
            .into_paginator()
            .send();
        let mut administrators = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(error) => return blocking_read(Err(sdk_error::read(&error))),
            };
            administrators.extend(
                page.delegated_administrators()
                    .iter()
                    .filter_map(|a| a.id())
                    .filter_map(|id| AccountId::parse(id).ok()),
            );
        }
        Ok(Ok(administrators))
    }
}

fn in_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .to_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

/// A read that predicts a blocker: refused is a fact, transient is an error (retried).
fn blocking_read<T>(result: Result<T, SdkFailure>) -> Result<Read<T>, OrganizationsError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(failure) if failure.transient => Err(OrganizationsError {
            failure: aws_failure(&failure),
            transient: true,
        }),
        Err(failure) => Ok(Err(aws_failure(&failure))),
    }
}

fn aws_failure(failure: &SdkFailure) -> AwsFailure {
    AwsFailure::new(failure.code.clone(), None, failure.message.clone())
}

/// GetContactInformation: no contact is `Missing` (AWS answers ResourceNotFoundException).
async fn contact(client: &aws_sdk_account::Client) -> Result<Contact, SdkFailure> {
    use aws_sdk_account::types::PhoneNumberVerificationStatus as Status;
    match client.get_contact_information().send().await {
        Ok(output) if output.contact_information().is_none() => Ok(Contact::Missing),
        Ok(output) => Ok(Contact::Present {
            phone: match output.verification_status() {
                Some(Status::Verified) => PhoneVerification::Verified,
                Some(Status::Pending) => PhoneVerification::Pending,
                Some(Status::Unverified) => PhoneVerification::Unverified,
                Some(Status::NotSupported) => PhoneVerification::NotSupported,
                _ => PhoneVerification::NotReported,
            },
        }),
        Err(error) => {
            let failure = sdk_error::read(&error);
            if same_code(&failure.code, "ResourceNotFoundException") {
                Ok(Contact::Missing)
            } else {
                Err(failure)
            }
        }
    }
}

/// GetAccountInformation's creation date.
async fn created_at(client: &aws_sdk_account::Client) -> Result<Option<DateTime<Utc>>, SdkFailure> {
    let output = client
        .get_account_information()
        .send()
        .await
        .map_err(|e| {
            let failure = sdk_error::read(&e);
            // The classified failure only: the SDK's error carries the raw response.
            tracing::warn!(code = %failure.code, transient = failure.transient, "cannot read the account's information");
            failure
        })?;
    Ok(output
        .account_created_date()
        .and_then(|at| DateTime::from_timestamp(at.secs(), at.subsec_nanos())))
}
