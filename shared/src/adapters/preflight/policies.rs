//! The policy reads of the preflight: every resource policy that may trust the old
//! organization (role trust policies, bucket, key, topic, queue and function policies),
//! [`READS_AT_ONCE`] at a time. A refused or failed read is kept as unread, not an error:
//! policies are advice, and a later run reads them again.

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use futures_util::stream::{self, StreamExt};

use super::{aws_failure, in_region};
use crate::adapters::sdk_error::{self, SdkFailure};
use crate::domain::error_code::same_code;
use crate::domain::preflight::{PolicyDocument, UnreadPolicies};

/// Policies read at once in one account (GetBucketPolicy, GetKeyPolicy, …).
const READS_AT_ONCE: usize = 8;

/// The policy documents read so far, and what could not be read.
#[derive(Default)]
pub(super) struct PolicyReads {
    pub(super) read: Vec<PolicyDocument>,
    pub(super) unread: Vec<UnreadPolicies>,
    /// The session's interceptors, for the clients built per region.
    pub(super) interceptors: Vec<SharedInterceptor>,
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
    pub(super) async fn roles(&mut self, iam: &aws_sdk_iam::Client) {
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
    pub(super) async fn buckets(&mut self, config: &SdkConfig) {
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
    pub(super) async fn keys(&mut self, kms: &aws_sdk_kms::Client, region: &str) {
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
    pub(super) async fn topics(&mut self, sns: &aws_sdk_sns::Client, region: &str) {
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
    pub(super) async fn queues(&mut self, sqs: &aws_sdk_sqs::Client, region: &str) {
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
    pub(super) async fn functions(&mut self, lambda: &aws_sdk_lambda::Client, region: &str) {
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
pub(super) fn url_decoded(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_owned();
    }
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}
