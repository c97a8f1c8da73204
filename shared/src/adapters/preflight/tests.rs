//! What the emulator cannot show (tests/README.md, differences): an old account, a
//! pending phone verification, Lambda function policies, refused and partly refused
//! policy reads. The SDK's own clients, on scripted responses.

use aws_sdk_account::operation::get_account_information::GetAccountInformationOutput;
use aws_sdk_account::operation::get_contact_information::GetContactInformationOutput;
use aws_sdk_account::types::{ContactInformation, PhoneNumberVerificationStatus};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::policies::{url_decoded, PolicyReads};
use super::*;
use crate::domain::preflight::PolicyDocument;

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
