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
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};

use super::organizations::{StsCredentials, ORGANIZATIONS_REGION};
use super::sdk_error::{self, SdkFailure};
use crate::domain::error_code::same_code;
use crate::domain::preflight::{
    AccountFacts, Contact, PhoneVerification, PolicyDocument, Read, SeenOrganization,
    UnreadPolicies,
};
use crate::domain::{AccountId, AwsFailure};
use crate::ports::{AccountInspector, Credentials, OrganizationsError};

/// Policies read at once in one account (GetBucketPolicy, GetKeyPolicy, …).
const READS_AT_ONCE: usize = 8;

/// The preflight's reads, through the spoke role.
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
    let output = client.get_account_information().send().await.map_err(|e| {
        eprintln!("DEBUG {e:?}");
        sdk_error::read(&e)
    })?;
    Ok(output
        .account_created_date()
        .and_then(|at| DateTime::from_timestamp(at.secs(), at.subsec_nanos())))
}

/// The policy documents read so far, and what could not be read.
#[derive(Default)]
struct PolicyReads {
    read: Vec<PolicyDocument>,
    unread: Vec<UnreadPolicies>,
    /// The session's interceptors, for the clients built per region.
    interceptors: Vec<SharedInterceptor>,
}

/// One resource's policy: its document, none, or why it could not be read.
type PolicyOf = (String, Result<Option<String>, SdkFailure>);

impl PolicyReads {
    fn refused(&mut self, what: String, failure: &SdkFailure) {
        tracing::info!(%what, code = %failure.code, "a policy read was refused");
        self.unread.push(UnreadPolicies {
            what,
            failure: aws_failure(failure),
        });
    }

    /// Keeps every document of `results`; the first failure among them (with how many
    /// failed) is one unread entry for `what`.
    fn keep(&mut self, what: String, results: Vec<PolicyOf>) {
        let total = results.len();
        let mut failures = Vec::new();
        for (resource, result) in results {
            match result {
                Ok(Some(document)) => self.read.push(PolicyDocument { resource, document }),
                Ok(None) => {}
                Err(failure) => failures.push(failure),
            }
        }
        if let Some(first) = failures.first() {
            let failure = SdkFailure {
                message: format!(
                    "{} of {total} could not be read; the first: {}",
                    failures.len(),
                    first.message
                ),
                ..first.clone()
            };
            self.refused(what, &failure);
        }
    }

    /// Every role's trust policy (ListRoles returns them, URL-encoded).
    async fn roles(&mut self, iam: &aws_sdk_iam::Client) {
        let mut roles = iam.list_roles().into_paginator().items().send();
        while let Some(role) = roles.next().await {
            match role {
                Ok(role) => {
                    if let Some(document) = role.assume_role_policy_document() {
                        self.read.push(PolicyDocument {
                            resource: role.arn().to_owned(),
                            document: url_decoded(document),
                        });
                    }
                }
                Err(error) => {
                    return self.refused("IAM role trust policies".into(), &sdk_error::read(&error))
                }
            }
        }
    }

    /// Every bucket's policy, read in the bucket's region.
    async fn buckets(&mut self, config: &SdkConfig) {
        let interceptors = &self.interceptors;
        let s3 = session_client!(aws_sdk_s3, config, interceptors);
        let mut buckets = Vec::new();
        let mut token = None;
        loop {
            match s3.list_buckets().set_continuation_token(token).send().await {
                Ok(page) => {
                    buckets.extend(page.buckets().iter().filter_map(|b| {
                        let name = b.name()?.to_owned();
                        Some((name, b.bucket_region().map(str::to_owned)))
                    }));
                    token = page.continuation_token().map(str::to_owned);
                    if token.is_none() {
                        break;
                    }
                }
                Err(error) => {
                    return self.refused("S3 bucket policies".into(), &sdk_error::read(&error))
                }
            }
        }
        let results = read_each(buckets, |(name, region)| async move {
            let regional = match &region {
                Some(region) => {
                    session_client!(aws_sdk_s3, &in_region(config, region), interceptors)
                }
                None => session_client!(aws_sdk_s3, config, interceptors),
            };
            let read = regional.get_bucket_policy().bucket(&name).send().await;
            let policy = match read {
                Ok(output) => Ok(output.policy().map(str::to_owned)),
                Err(error) => absent_when(sdk_error::read(&error), "NoSuchBucketPolicy"),
            };
            (format!("arn:aws:s3:::{name}"), policy)
        })
        .await;
        self.keep("S3 bucket policies".into(), results);
    }

    /// Every KMS key's `default` policy in the region.
    async fn keys(&mut self, kms: &aws_sdk_kms::Client, region: &str) {
        let what = format!("KMS key policies ({region})");
        let mut listed = kms.list_keys().into_paginator().items().send();
        let mut keys = Vec::new();
        while let Some(key) = listed.next().await {
            match key {
                Ok(key) => keys.extend(key.key_arn().or(key.key_id()).map(str::to_owned)),
                Err(error) => return self.refused(what, &sdk_error::read(&error)),
            }
        }
        let results = read_each(keys, |key| async move {
            let read = kms
                .get_key_policy()
                .key_id(&key)
                .policy_name("default")
                .send()
                .await;
            let policy = match read {
                Ok(output) => Ok(output.policy().map(str::to_owned)),
                Err(error) => absent_when(sdk_error::read(&error), "NotFoundException"),
            };
            (key, policy)
        })
        .await;
        self.keep(what, results);
    }

    /// Every SNS topic's `Policy` attribute in the region.
    async fn topics(&mut self, sns: &aws_sdk_sns::Client, region: &str) {
        let what = format!("SNS topic policies ({region})");
        let mut listed = sns.list_topics().into_paginator().items().send();
        let mut topics = Vec::new();
        while let Some(topic) = listed.next().await {
            match topic {
                Ok(topic) => topics.extend(topic.topic_arn().map(str::to_owned)),
                Err(error) => return self.refused(what, &sdk_error::read(&error)),
            }
        }
        let results = read_each(topics, |topic| async move {
            let read = sns.get_topic_attributes().topic_arn(&topic).send().await;
            let policy = match read {
                Ok(output) => Ok(output.attributes().and_then(|a| a.get("Policy")).cloned()),
                Err(error) => absent_when(sdk_error::read(&error), "NotFound"),
            };
            (topic, policy)
        })
        .await;
        self.keep(what, results);
    }

    /// Every SQS queue's `Policy` attribute in the region.
    async fn queues(&mut self, sqs: &aws_sdk_sqs::Client, region: &str) {
        use aws_sdk_sqs::types::QueueAttributeName;
        let what = format!("SQS queue policies ({region})");
        let mut pages = sqs.list_queues().into_paginator().send();
        let mut queues = Vec::new();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => queues.extend(page.queue_urls().iter().cloned()),
                Err(error) => return self.refused(what, &sdk_error::read(&error)),
            }
        }
        let results = read_each(queues, |url| async move {
            let read = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::Policy)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await;
            match read {
                Ok(output) => {
                    let attributes = output.attributes();
                    let arn = attributes
                        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
                        .cloned()
                        .unwrap_or_else(|| url.clone());
                    let policy = attributes
                        .and_then(|a| a.get(&QueueAttributeName::Policy))
                        .cloned();
                    (arn, Ok(policy))
                }
                Err(error) => (
                    url.clone(),
                    absent_when(
                        sdk_error::read(&error),
                        "AWS.SimpleQueueService.NonExistentQueue",
                    ),
                ),
            }
        })
        .await;
        self.keep(what, results);
    }

    /// Every Lambda function's resource policy in the region.
    async fn functions(&mut self, lambda: &aws_sdk_lambda::Client, region: &str) {
        let what = format!("Lambda function policies ({region})");
        let mut listed = lambda.list_functions().into_paginator().items().send();
        let mut functions = Vec::new();
        while let Some(function) = listed.next().await {
            match function {
                Ok(function) => functions.extend(function.function_arn().map(str::to_owned)),
                Err(error) => return self.refused(what, &sdk_error::read(&error)),
            }
        }
        let results = read_each(functions, |function| async move {
            let read = lambda.get_policy().function_name(&function).send().await;
            let policy = match read {
                Ok(output) => Ok(output.policy().map(str::to_owned)),
                Err(error) => absent_when(sdk_error::read(&error), "ResourceNotFoundException"),
            };
            (function, policy)
        })
        .await;
        self.keep(what, results);
    }
}

/// `read` of every item, [`READS_AT_ONCE`] at a time.
async fn read_each<T, F, Fut>(items: Vec<T>, read: F) -> Vec<PolicyOf>
where
    F: FnMut(T) -> Fut,
    Fut: std::future::Future<Output = PolicyOf>,
{
    stream::iter(items)
        .map(read)
        .buffer_unordered(READS_AT_ONCE)
        .collect()
        .await
}

/// A failure of `code` means the resource has no policy.
fn absent_when(failure: SdkFailure, code: &str) -> Result<Option<String>, SdkFailure> {
    if same_code(&failure.code, code) {
        Ok(None)
    } else {
        Err(failure)
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); a document that is already JSON
/// (as some emulators return it) is kept as it is.
fn url_decoded(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_owned();
    }
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    //! What the emulator cannot show (tests/README.md, differences): an old account, a
    //! pending phone verification, Lambda function policies, refused and partly refused
    //! policy reads. The SDK's own clients, on scripted responses.
    use aws_sdk_account::operation::get_account_information::GetAccountInformationOutput;
    use aws_sdk_account::operation::get_contact_information::GetContactInformationOutput;
    use aws_sdk_account::types::{ContactInformation, PhoneNumberVerificationStatus};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn http_error(status: u16, code: &str) -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(format!(
                r#"{{"__type":"{code}","message":"scripted {code}"}}"#
            )),
        )
    }

    #[tokio::test]
    async fn contact_phone_status_and_creation_date_are_read() {
        let pending = mock!(aws_sdk_account::Client::get_contact_information).then_output(|| {
            GetContactInformationOutput::builder()
                .contact_information(
                    ContactInformation::builder()
                        .full_name("Pat")
                        .address_line1("1 Street")
                        .city("Town")
                        .country_code("US")
                        .postal_code("1")
                        .phone_number("+1 555")
                        .build()
                        .unwrap(),
                )
                .verification_status(PhoneNumberVerificationStatus::Pending)
                .build()
        });
        let none = mock!(aws_sdk_account::Client::get_contact_information)
            .then_http_response(|| http_error(404, "ResourceNotFoundException"));
        let old = mock!(aws_sdk_account::Client::get_account_information).then_output(|| {
            GetAccountInformationOutput::builder()
                .account_created_date(aws_smithy_types::DateTime::from_secs(1_262_304_000))
                .build()
        });
        let client = mock_client!(
            aws_sdk_account,
            RuleMode::Sequential,
            [&pending, &none, &old]
        );
        assert_eq!(
            contact(&client).await.unwrap(),
            Contact::Present {
                phone: PhoneVerification::Pending
            }
        );
        assert_eq!(contact(&client).await.unwrap(), Contact::Missing);
        let created = created_at(&client).await.unwrap().unwrap();
        assert_eq!(created.to_rfc3339(), "2010-01-01T00:00:00+00:00");
    }

    #[tokio::test]
    async fn function_policies_are_read_and_a_function_without_one_is_skipped() {
        use aws_sdk_lambda::operation::get_policy::GetPolicyOutput;
        use aws_sdk_lambda::operation::list_functions::ListFunctionsOutput;
        use aws_sdk_lambda::types::FunctionConfiguration;
        let listed = mock!(aws_sdk_lambda::Client::list_functions).then_output(|| {
            ListFunctionsOutput::builder()
                .functions(
                    FunctionConfiguration::builder()
                        .function_arn("arn:aws:lambda:eu-west-1:555555555555:function:a")
                        .build(),
                )
                .functions(
                    FunctionConfiguration::builder()
                        .function_arn("arn:aws:lambda:eu-west-1:555555555555:function:b")
                        .build(),
                )
                .build()
        });
        let with_policy = mock!(aws_sdk_lambda::Client::get_policy)
            .match_requests(|r| r.function_name().is_some_and(|f| f.ends_with(":a")))
            .then_output(|| {
                GetPolicyOutput::builder()
                    .policy(r#"{"Statement":[]}"#)
                    .build()
            });
        let without = mock!(aws_sdk_lambda::Client::get_policy)
            .match_requests(|r| r.function_name().is_some_and(|f| f.ends_with(":b")))
            .then_http_response(|| http_error(404, "ResourceNotFoundException"));
        let client = mock_client!(
            aws_sdk_lambda,
            RuleMode::MatchAny,
            [&listed, &with_policy, &without]
        );
        let mut reads = PolicyReads::default();
        reads.functions(&client, "eu-west-1").await;
        assert_eq!(
            reads.read,
            [PolicyDocument {
                resource: "arn:aws:lambda:eu-west-1:555555555555:function:a".into(),
                document: r#"{"Statement":[]}"#.into()
            }]
        );
        assert!(reads.unread.is_empty(), "{:?}", reads.unread);
    }

    #[tokio::test]
    async fn a_refused_listing_and_partly_refused_reads_are_unread_not_errors() {
        use aws_sdk_kms::operation::get_key_policy::GetKeyPolicyOutput;
        use aws_sdk_kms::operation::list_keys::ListKeysOutput;
        use aws_sdk_kms::types::KeyListEntry;
        let roles = mock!(aws_sdk_iam::Client::list_roles)
            .then_http_response(|| {
                aws_smithy_runtime_api::http::Response::new(
                    StatusCode::try_from(403).unwrap(),
                    SdkBody::from("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform iam:ListRoles</Message></Error></ErrorResponse>"),
                )
            });
        let iam = mock_client!(aws_sdk_iam, [&roles]);
        let keys = mock!(aws_sdk_kms::Client::list_keys).then_output(|| {
            ListKeysOutput::builder()
                .keys(
                    KeyListEntry::builder()
                        .key_arn("arn:aws:kms:eu-west-1:5:key/1")
                        .build(),
                )
                .keys(
                    KeyListEntry::builder()
                        .key_arn("arn:aws:kms:eu-west-1:5:key/2")
                        .build(),
                )
                .build()
        });
        let readable = mock!(aws_sdk_kms::Client::get_key_policy)
            .match_requests(|r| r.key_id().is_some_and(|k| k.ends_with("/1")))
            .then_output(|| GetKeyPolicyOutput::builder().policy("{}").build());
        let refused = mock!(aws_sdk_kms::Client::get_key_policy)
            .match_requests(|r| r.key_id().is_some_and(|k| k.ends_with("/2")))
            .then_http_response(|| http_error(400, "AccessDeniedException"));
        let kms = mock_client!(
            aws_sdk_kms,
            RuleMode::MatchAny,
            [&keys, &readable, &refused]
        );
        let mut reads = PolicyReads::default();
        reads.roles(&iam).await;
        reads.keys(&kms, "eu-west-1").await;
        assert_eq!(reads.read.len(), 1);
        let unread: Vec<(&str, &str)> = reads
            .unread
            .iter()
            .map(|u| (u.what.as_str(), u.failure.code.as_str()))
            .collect();
        assert_eq!(
            unread,
            [
                ("IAM role trust policies", "AccessDenied"),
                ("KMS key policies (eu-west-1)", "AccessDeniedException")
            ]
        );
        assert!(reads.unread[1]
            .failure
            .message
            .starts_with("1 of 2 could not be read"));
    }

    #[test]
    fn trust_policies_are_url_decoded_unless_already_json() {
        let encoded = "%7B%22Statement%22%3A%5B%5D%7D";
        assert_eq!(url_decoded(encoded), r#"{"Statement":[]}"#);
        assert_eq!(url_decoded(r#"{"a":"%41"}"#), r#"{"a":"%41"}"#);
    }
}
