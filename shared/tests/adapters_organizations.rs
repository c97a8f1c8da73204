//! The Organizations and STS adapters against aws-smithy-mocks clients: every
//! AcceptHandshake and InviteAccountToOrganization error path the acceptor and inviter
//! handle (as a modeled error and as the JSON AWS sends), pagination, handshake mapping,
//! and the spoke role (AssumeRole request, denial, client cache, client hook).

use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_organizations::config::retry::RetryConfig;
use aws_sdk_organizations::config::{Credentials as StaticCredentials, Region};
use aws_sdk_organizations::error::ErrorMetadata;
use aws_sdk_organizations::operation::accept_handshake::{
    AcceptHandshakeError, AcceptHandshakeOutput,
};
use aws_sdk_organizations::operation::describe_organization::{
    DescribeOrganizationError, DescribeOrganizationOutput,
};
use aws_sdk_organizations::operation::invite_account_to_organization::{
    InviteAccountToOrganizationError, InviteAccountToOrganizationOutput,
};
use aws_sdk_organizations::operation::list_handshakes_for_account::ListHandshakesForAccountOutput;
use aws_sdk_organizations::operation::list_handshakes_for_organization::ListHandshakesForOrganizationOutput;
use aws_sdk_organizations::types::error::{
    AccessDeniedException, AwsOrganizationsNotInUseException, ConcurrentModificationException,
    DuplicateHandshakeException, HandshakeAlreadyInStateException,
    HandshakeConstraintViolationException, HandshakeNotFoundException,
    InvalidHandshakeTransitionException, MasterCannotLeaveOrganizationException,
    TooManyRequestsException,
};
use aws_sdk_organizations::types::{
    ActionType, Handshake, HandshakeConstraintViolationExceptionReason as Reason, HandshakeParty,
    HandshakePartyType, HandshakeState, Organization,
};
use aws_sdk_organizations::Client;
use aws_sdk_sts::operation::assume_role::{AssumeRoleError, AssumeRoleOutput};
use aws_sdk_sts::types::{AssumedRoleUser, Credentials as StsCredentialsOutput};
use aws_smithy_mocks::{
    create_mock_http_client, mock, mock_client, MockResponseInterceptor, Rule, RuleMode,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{TimeZone, Utc};

use onboarding::adapters::organizations::{
    AmbientCredentials, ClientHook, SdkAccountOrganizations, SdkTargetOrganization, SessionScope,
    SpokeSession, StsCredentials, MALFORMED_RESPONSE,
};
use onboarding::domain::{
    classify, AccountId, BlockerCode, FailureClass, FunctionName, HandshakeAction, HandshakeId,
    HandshakeParty as ObservedParty, HandshakeState as ObservedState, OrganizationId,
};
use onboarding::permissions::session;
use onboarding::ports::{
    AccountOrganizations, Credentials, Membership, OrganizationsError, TargetOrganization,
};

const TARGET_ORG: &str = "o-exampleorgid";
const MANAGEMENT: &str = "111111111111";
const INVITED: &str = "555555555555";
const HANDSHAKE: &str = "h-examplehandshakeid111";
const ROLE: &str = "OrgOnboardingSpoke";
const EXTERNAL_ID: &str = "ext-7f3a";

// --- mocked clients ----------------------------------------------------------------------
// `mock_client!` with the SDK's own retries off: each test scripts every attempt.

fn mock_interceptor(mode: RuleMode, rules: &[&Rule]) -> MockResponseInterceptor {
    rules
        .iter()
        .fold(MockResponseInterceptor::new().rule_mode(mode), |i, rule| {
            i.with_rule(rule)
        })
}

fn test_credentials() -> StaticCredentials {
    StaticCredentials::new("AKIDTEST", "test-secret", None, None, "test")
}

fn organizations_client(mode: RuleMode, rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_organizations, mode, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

fn sts_client(mode: RuleMode, rules: &[&Rule]) -> aws_sdk_sts::Client {
    mock_client!(aws_sdk_sts, mode, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

fn handshake_id() -> HandshakeId {
    HandshakeId::parse(HANDSHAKE).unwrap()
}

fn expiry() -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(
        Utc.with_ymd_and_hms(2026, 12, 5, 9, 41, 16)
            .unwrap()
            .timestamp(),
    )
}

fn sdk_handshake(id: &str, state: HandshakeState) -> Handshake {
    Handshake::builder()
        .id(id)
        .arn(format!(
            "arn:aws:organizations::{MANAGEMENT}:handshake/{TARGET_ORG}/invite/{id}"
        ))
        .action(ActionType::InviteAccountToOrganization)
        .state(state)
        .parties(
            HandshakeParty::builder()
                .r#type(HandshakePartyType::Organization)
                .id(TARGET_ORG)
                .build()
                .unwrap(),
        )
        .parties(
            HandshakeParty::builder()
                .r#type(HandshakePartyType::Account)
                .id(INVITED)
                .build()
                .unwrap(),
        )
        .expiration_timestamp(expiry())
        .build()
}

/// An AWS JSON 1.1 error response, as Organizations sends it.
fn json_error(status: u16, code: &str, message: &str, reason: Option<&str>) -> HttpResponse {
    let mut body = serde_json::json!({ "__type": code, "Message": message });
    if let Some(reason) = reason {
        body["Reason"] = reason.into();
    }
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_string()),
    );
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.1");
    response
}

// --- error paths ---------------------------------------------------------------------------

/// One error path: the SDK error (built as the SDK's deserializer would model it), the same
/// error as AWS's JSON, and what the adapter and the domain must make of it.
struct Case<E> {
    modeled: fn() -> E,
    code: &'static str,
    reason: Option<&'static str>,
    transient: bool,
    class: FailureClass,
}

fn assert_case(
    name: &str,
    err: &OrganizationsError,
    code: &str,
    reason: Option<&str>,
    transient: bool,
    class: FailureClass,
) {
    assert_eq!(err.failure.code, code, "{name}: code");
    assert_eq!(err.failure.reason.as_deref(), reason, "{name}: reason");
    assert_eq!(err.transient, transient, "{name}: transient");
    assert!(!err.failure.message.is_empty(), "{name}: message kept");
    assert_eq!(classify(&err.failure), class, "{name}: class");
}

const MESSAGE: &str = "scripted failure";

fn accept_cases() -> Vec<Case<AcceptHandshakeError>> {
    fn hcve(reason: Reason) -> AcceptHandshakeError {
        AcceptHandshakeError::HandshakeConstraintViolationException(
            HandshakeConstraintViolationException::builder()
                .message(MESSAGE)
                .reason(reason)
                .build(),
        )
    }
    vec![
        Case {
            modeled: || hcve(Reason::AlreadyInAnOrganization),
            code: "HandshakeConstraintViolationException",
            reason: Some("ALREADY_IN_AN_ORGANIZATION"),
            transient: false,
            class: FailureClass::StillInOrganization,
        },
        Case {
            modeled: || hcve(Reason::PaymentInstrumentRequired),
            code: "HandshakeConstraintViolationException",
            reason: Some("PAYMENT_INSTRUMENT_REQUIRED"),
            transient: false,
            class: FailureClass::Blocker(BlockerCode::PaymentMethodMissing),
        },
        Case {
            modeled: || hcve(Reason::OrganizationFromDifferentSellerOfRecord),
            code: "HandshakeConstraintViolationException",
            reason: Some("ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD"),
            transient: false,
            class: FailureClass::Blocker(BlockerCode::DifferentSellerOfRecord),
        },
        Case {
            modeled: || {
                AcceptHandshakeError::HandshakeAlreadyInStateException(
                    HandshakeAlreadyInStateException::builder()
                        .message(MESSAGE)
                        .build(),
                )
            },
            code: "HandshakeAlreadyInStateException",
            reason: None,
            transient: false,
            class: FailureClass::AlreadyInState,
        },
        Case {
            modeled: || {
                AcceptHandshakeError::InvalidHandshakeTransitionException(
                    InvalidHandshakeTransitionException::builder()
                        .message(MESSAGE)
                        .build(),
                )
            },
            code: "InvalidHandshakeTransitionException",
            reason: None,
            transient: false,
            class: FailureClass::Blocker(BlockerCode::HandshakeNotOpen),
        },
        Case {
            modeled: || {
                AcceptHandshakeError::HandshakeNotFoundException(
                    HandshakeNotFoundException::builder()
                        .message(MESSAGE)
                        .build(),
                )
            },
            code: "HandshakeNotFoundException",
            reason: None,
            transient: false,
            class: FailureClass::Blocker(BlockerCode::HandshakeNotFound),
        },
        Case {
            modeled: || {
                AcceptHandshakeError::AccessDeniedException(
                    AccessDeniedException::builder().message(MESSAGE).build(),
                )
            },
            code: "AccessDeniedException",
            reason: None,
            transient: false,
            class: FailureClass::Blocker(BlockerCode::AccessDenied),
        },
        Case {
            modeled: || {
                AcceptHandshakeError::MasterCannotLeaveOrganizationException(
                    MasterCannotLeaveOrganizationException::builder()
                        .message(MESSAGE)
                        .build(),
                )
            },
            code: "MasterCannotLeaveOrganizationException",
            reason: None,
            transient: false,
            class: FailureClass::Blocker(BlockerCode::ManagementMustDeleteOrganization),
        },
        Case {
            modeled: || {
                AcceptHandshakeError::TooManyRequestsException(
                    TooManyRequestsException::builder().message(MESSAGE).build(),
                )
            },
            code: "TooManyRequestsException",
            reason: None,
            transient: true,
            class: FailureClass::Transient,
        },
    ]
}

fn invite_cases() -> Vec<Case<InviteAccountToOrganizationError>> {
    fn hcve(reason: Reason) -> InviteAccountToOrganizationError {
        InviteAccountToOrganizationError::HandshakeConstraintViolationException(
            HandshakeConstraintViolationException::builder()
                .message(MESSAGE)
                .reason(reason)
                .build(),
        )
    }
    vec![
        Case {
            modeled: || {
                InviteAccountToOrganizationError::DuplicateHandshakeException(
                    DuplicateHandshakeException::builder()
                        .message(MESSAGE)
                        .build(),
                )
            },
            code: "DuplicateHandshakeException",
            reason: None,
            transient: false,
            class: FailureClass::DuplicateInvitation,
        },
        Case {
            modeled: || hcve(Reason::AlreadyInAnOrganization),
            code: "HandshakeConstraintViolationException",
            reason: Some("ALREADY_IN_AN_ORGANIZATION"),
            transient: false,
            class: FailureClass::StillInOrganization,
        },
        Case {
            modeled: || hcve(Reason::HandshakeRateLimitExceeded),
            code: "HandshakeConstraintViolationException",
            reason: Some("HANDSHAKE_RATE_LIMIT_EXCEEDED"),
            transient: false,
            class: FailureClass::Blocker(BlockerCode::InvitationQuotaReached),
        },
        Case {
            modeled: || hcve(Reason::AccountNumberLimitExceeded),
            code: "HandshakeConstraintViolationException",
            reason: Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED"),
            transient: false,
            class: FailureClass::Blocker(BlockerCode::AccountLimitReached),
        },
        // Not in the operation's model: the SDK hands it over as an unhandled error whose
        // metadata carries the code.
        Case {
            modeled: || {
                InviteAccountToOrganizationError::generic(
                    ErrorMetadata::builder()
                        .code("AccountNotFoundException")
                        .message(MESSAGE)
                        .build(),
                )
            },
            code: "AccountNotFoundException",
            reason: None,
            transient: false,
            class: FailureClass::Blocker(BlockerCode::AccountNotFound),
        },
        Case {
            modeled: || {
                InviteAccountToOrganizationError::ConcurrentModificationException(
                    ConcurrentModificationException::builder()
                        .message(MESSAGE)
                        .build(),
                )
            },
            code: "ConcurrentModificationException",
            reason: None,
            transient: true,
            class: FailureClass::Transient,
        },
    ]
}

async fn accept_with(rule: Rule) -> OrganizationsError {
    let client = organizations_client(RuleMode::Sequential, &[&rule]);
    SdkAccountOrganizations::for_account(client, account(INVITED))
        .accept(&handshake_id())
        .await
        .unwrap_err()
}

async fn invite_with(rule: Rule) -> OrganizationsError {
    let client = organizations_client(RuleMode::Sequential, &[&rule]);
    SdkTargetOrganization::new(client)
        .invite(&account(INVITED), "enrollment acme", &Default::default())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn every_accept_handshake_error_maps_to_its_code_reason_and_class() {
    for case in accept_cases() {
        let modeled = case.modeled;
        let err = accept_with(mock!(Client::accept_handshake).then_error(modeled)).await;
        assert_case(
            &format!("modeled {}", case.code),
            &err,
            case.code,
            case.reason,
            case.transient,
            case.class,
        );
    }
}

#[tokio::test]
async fn every_accept_handshake_error_sent_as_aws_json_maps_the_same() {
    for case in accept_cases() {
        let (code, reason) = (case.code, case.reason);
        let rule = mock!(Client::accept_handshake)
            .then_http_response(move || json_error(400, code, MESSAGE, reason));
        let err = accept_with(rule).await;
        assert_case(
            &format!("wire {code} {reason:?}"),
            &err,
            code,
            reason,
            case.transient,
            case.class,
        );
        assert_eq!(err.failure.message, MESSAGE);
    }
}

#[tokio::test]
async fn every_invite_error_maps_to_its_code_reason_and_class() {
    for case in invite_cases() {
        let modeled = case.modeled;
        let err =
            invite_with(mock!(Client::invite_account_to_organization).then_error(modeled)).await;
        assert_case(
            &format!("modeled {}", case.code),
            &err,
            case.code,
            case.reason,
            case.transient,
            case.class,
        );
    }
}

#[tokio::test]
async fn every_invite_error_sent_as_aws_json_maps_the_same() {
    for case in invite_cases() {
        let (code, reason) = (case.code, case.reason);
        let rule = mock!(Client::invite_account_to_organization)
            .then_http_response(move || json_error(400, code, MESSAGE, reason));
        let err = invite_with(rule).await;
        assert_case(
            &format!("wire {code} {reason:?}"),
            &err,
            code,
            reason,
            case.transient,
            case.class,
        );
        assert_eq!(err.failure.message, MESSAGE);
    }
}

#[tokio::test]
async fn an_unmodeled_server_error_is_transient() {
    let rule = mock!(Client::accept_handshake).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(503).unwrap(),
            SdkBody::from("service unavailable"),
        )
    });
    let err = accept_with(rule).await;
    assert!(err.transient, "{err:?}");
}

#[tokio::test]
async fn a_throttled_list_is_transient() {
    let rule = mock!(Client::list_handshakes_for_account).then_error(|| {
        aws_sdk_organizations::operation::list_handshakes_for_account::ListHandshakesForAccountError::TooManyRequestsException(
            TooManyRequestsException::builder().message(MESSAGE).build(),
        )
    });
    let client = organizations_client(RuleMode::Sequential, &[&rule]);
    let err = SdkAccountOrganizations::new(client)
        .list_handshakes()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "TooManyRequestsException");
    assert!(err.transient);
}

// --- success paths -------------------------------------------------------------------------

#[tokio::test]
async fn a_handshake_is_mapped_field_by_field() {
    let rule = mock!(Client::accept_handshake)
        .match_requests(|req| req.handshake_id() == Some(HANDSHAKE))
        .then_output(|| {
            AcceptHandshakeOutput::builder()
                .handshake(sdk_handshake(HANDSHAKE, HandshakeState::Accepted))
                .build()
        });
    let client = organizations_client(RuleMode::Sequential, &[&rule]);
    let observed = SdkAccountOrganizations::new(client)
        .accept(&handshake_id())
        .await
        .unwrap();
    assert_eq!(observed.id, handshake_id());
    assert_eq!(
        observed.arn.as_deref(),
        Some("arn:aws:organizations::111111111111:handshake/o-exampleorgid/invite/h-examplehandshakeid111")
    );
    assert_eq!(observed.action, HandshakeAction::Invite);
    assert_eq!(observed.state, ObservedState::Accepted);
    assert_eq!(
        observed.parties,
        vec![
            ObservedParty::organization(TARGET_ORG),
            ObservedParty::account(INVITED),
        ]
    );
    assert_eq!(
        observed.expires_at,
        Some(Utc.with_ymd_and_hms(2026, 12, 5, 9, 41, 16).unwrap())
    );
    assert_eq!(
        observed.inviting_organization(),
        Some(OrganizationId::parse(TARGET_ORG).unwrap())
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_invalid_handshake_id_in_a_response_is_an_error_not_a_panic() {
    let rule = mock!(Client::accept_handshake).then_output(|| {
        AcceptHandshakeOutput::builder()
            .handshake(sdk_handshake("not-a-handshake", HandshakeState::Accepted))
            .build()
    });
    let err = accept_with_output(rule).await;
    assert_eq!(err.code(), MALFORMED_RESPONSE);
    assert!(!err.transient);
    assert!(err.failure.message.contains("not-a-handshake"), "{err}");

    let rule =
        mock!(Client::accept_handshake).then_output(|| AcceptHandshakeOutput::builder().build());
    assert_eq!(accept_with_output(rule).await.code(), MALFORMED_RESPONSE);
}

async fn accept_with_output(rule: Rule) -> OrganizationsError {
    let client = organizations_client(RuleMode::Sequential, &[&rule]);
    SdkAccountOrganizations::new(client)
        .accept(&handshake_id())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn list_handshakes_for_account_reads_every_page() {
    let first = mock!(Client::list_handshakes_for_account)
        .match_requests(|req| req.next_token().is_none())
        .then_output(|| {
            ListHandshakesForAccountOutput::builder()
                .handshakes(sdk_handshake("h-page1aaaaaaaa", HandshakeState::Open))
                .handshakes(sdk_handshake("h-page1bbbbbbbb", HandshakeState::Expired))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::list_handshakes_for_account)
        .match_requests(|req| req.next_token() == Some("page-2"))
        .then_output(|| {
            ListHandshakesForAccountOutput::builder()
                .handshakes(sdk_handshake("h-page2cccccccc", HandshakeState::Open))
                // an id this tool cannot use is skipped, not fatal to the others
                .handshakes(sdk_handshake("bogus id", HandshakeState::Open))
                .build()
        });
    let client = organizations_client(RuleMode::Sequential, &[&first, &second]);
    let handshakes = SdkAccountOrganizations::for_account(client, account(INVITED))
        .list_handshakes()
        .await
        .unwrap();
    let ids: Vec<&str> = handshakes.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(
        ids,
        ["h-page1aaaaaaaa", "h-page1bbbbbbbb", "h-page2cccccccc"]
    );
    assert_eq!(handshakes[1].state, ObservedState::Expired);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn list_handshakes_for_organization_reads_every_page() {
    let first = mock!(Client::list_handshakes_for_organization)
        .match_requests(|req| req.next_token().is_none())
        .then_output(|| {
            ListHandshakesForOrganizationOutput::builder()
                .handshakes(sdk_handshake("h-page1aaaaaaaa", HandshakeState::Open))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::list_handshakes_for_organization)
        .match_requests(|req| req.next_token() == Some("page-2"))
        .then_output(|| {
            ListHandshakesForOrganizationOutput::builder()
                .handshakes(sdk_handshake("h-page2cccccccc", HandshakeState::Canceled))
                .build()
        });
    let client = organizations_client(RuleMode::Sequential, &[&first, &second]);
    let handshakes = SdkTargetOrganization::new(client)
        .list_handshakes()
        .await
        .unwrap();
    let ids: Vec<(&str, &str)> = handshakes
        .iter()
        .map(|h| (h.id.as_str(), h.state.as_str()))
        .collect();
    assert_eq!(
        ids,
        [("h-page1aaaaaaaa", "OPEN"), ("h-page2cccccccc", "CANCELED")]
    );
}

#[tokio::test]
async fn invite_targets_the_account_with_the_notes() {
    let rule = mock!(Client::invite_account_to_organization)
        .match_requests(|req| {
            req.target()
                .is_some_and(|t| t.r#type() == &HandshakePartyType::Account && t.id() == INVITED)
                && req.notes() == Some("enrollment acme")
        })
        .then_output(|| {
            InviteAccountToOrganizationOutput::builder()
                .handshake(sdk_handshake(HANDSHAKE, HandshakeState::Open))
                .build()
        });
    let client = organizations_client(RuleMode::Sequential, &[&rule]);
    let handshake = SdkTargetOrganization::new(client)
        .invite(&account(INVITED), "enrollment acme", &Default::default())
        .await
        .unwrap();
    assert_eq!(handshake.id, handshake_id());
    assert!(handshake.is_open_invitation());
}

#[tokio::test]
async fn decline_sends_the_handshake_id() {
    let rule = mock!(Client::decline_handshake)
        .match_requests(|req| req.handshake_id() == Some(HANDSHAKE))
        .then_output(|| {
            aws_sdk_organizations::operation::decline_handshake::DeclineHandshakeOutput::builder()
                .build()
        });
    let client = organizations_client(RuleMode::Sequential, &[&rule]);
    SdkAccountOrganizations::new(client)
        .decline(&handshake_id())
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn membership_is_the_described_organization_or_none() {
    let member = mock!(Client::describe_organization).then_output(|| {
        DescribeOrganizationOutput::builder()
            .organization(
                Organization::builder()
                    .id(TARGET_ORG)
                    .master_account_id(MANAGEMENT)
                    .build(),
            )
            .build()
    });
    let standalone = mock!(Client::describe_organization).then_error(|| {
        DescribeOrganizationError::AwsOrganizationsNotInUseException(
            AwsOrganizationsNotInUseException::builder()
                .message("Your account is not a member of an organization.")
                .build(),
        )
    });
    let standalone_wire = mock!(Client::describe_organization).then_http_response(|| {
        json_error(
            400,
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
            None,
        )
    });
    let denied = mock!(Client::describe_organization).then_error(|| {
        DescribeOrganizationError::AccessDeniedException(
            AccessDeniedException::builder().message(MESSAGE).build(),
        )
    });
    let client = organizations_client(
        RuleMode::Sequential,
        &[&member, &standalone, &standalone_wire, &denied],
    );
    let organizations = SdkAccountOrganizations::new(client);
    assert_eq!(
        organizations.membership().await.unwrap(),
        Some(Membership {
            organization: OrganizationId::parse(TARGET_ORG).unwrap(),
            management_account: account(MANAGEMENT),
        })
    );
    assert_eq!(organizations.membership().await.unwrap(), None);
    assert_eq!(organizations.membership().await.unwrap(), None);
    assert_eq!(
        organizations.membership().await.unwrap_err().code(),
        "AccessDeniedException"
    );
}

// --- the spoke role ------------------------------------------------------------------------

fn assumed(account: &str) -> AssumeRoleOutput {
    AssumeRoleOutput::builder()
        .credentials(
            StsCredentialsOutput::builder()
                .access_key_id(format!("ASIASPOKE{account}"))
                .secret_access_key("spoke-secret")
                .session_token("spoke-token")
                .expiration(aws_smithy_types::DateTime::from_secs(
                    Utc::now().timestamp() + 900,
                ))
                .build()
                .unwrap(),
        )
        .assumed_role_user(
            AssumedRoleUser::builder()
                .assumed_role_id(format!("AROAEXAMPLE:org-onboarding-{account}"))
                .arn(format!(
                    "arn:aws:sts::{account}:assumed-role/{ROLE}/org-onboarding-{account}"
                ))
                .build()
                .unwrap(),
        )
        .build()
}

fn base_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url("http://127.0.0.1:4566")
        .credentials_provider(
            aws_sdk_organizations::config::SharedCredentialsProvider::new(test_credentials()),
        )
        .retry_config(RetryConfig::disabled())
        .build()
}

/// What the spoke client sent: (URI, authorization header).
#[derive(Debug, Clone, Default)]
struct Sent(Arc<Mutex<Vec<(String, String)>>>);

impl Intercept for Sent {
    fn name(&self) -> &'static str {
        "Sent"
    }
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        self.0.lock().unwrap().push((
            request.uri().to_owned(),
            request
                .headers()
                .get("authorization")
                .unwrap_or_default()
                .to_owned(),
        ));
        Ok(())
    }
}

/// A hook that answers the spoke clients' calls from `rules`, and records the sessions
/// it saw and what the clients sent.
fn mocking_hook(
    rules: &[&Rule],
    sessions: Arc<Mutex<Vec<SpokeSession>>>,
    sent: Sent,
) -> ClientHook {
    // One mock for every client the credentials build.
    let interceptor = SharedInterceptor::new(mock_interceptor(RuleMode::MatchAny, rules));
    Arc::new(move |session: &SpokeSession, builder| {
        sessions.lock().unwrap().push(session.clone());
        let mut builder = builder
            .http_client(create_mock_http_client())
            .interceptor(sent.clone());
        builder.push_interceptor(interceptor.clone());
        builder
    })
}

#[tokio::test]
async fn assume_role_names_the_spoke_role_external_id_and_session() {
    let assume = mock!(aws_sdk_sts::Client::assume_role)
        .match_requests(|req| {
            req.role_arn() == Some("arn:aws:iam::555555555555:role/OrgOnboardingSpoke")
                && req.external_id() == Some(EXTERNAL_ID)
                && req.role_session_name() == Some("org-onboarding-555555555555")
                && req.duration_seconds() == Some(900)
                && req.policy() == session::policy(FunctionName::Acceptor).as_deref()
        })
        .then_output(|| assumed(INVITED));
    let list = mock!(Client::list_handshakes_for_account).then_output(|| {
        ListHandshakesForAccountOutput::builder()
            .handshakes(sdk_handshake(HANDSHAKE, HandshakeState::Open))
            .build()
    });
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let sent = Sent::default();
    let credentials = StsCredentials::with_sts_client(
        sts_client(RuleMode::Sequential, &[&assume]),
        &base_config(),
        ROLE,
        EXTERNAL_ID,
        SessionScope::Function(FunctionName::Acceptor),
    )
    .with_client_hook(mocking_hook(&[&list], sessions.clone(), sent.clone()));

    let spoke = credentials
        .organizations_for(&account(INVITED))
        .await
        .unwrap();
    let handshakes = spoke.list_handshakes().await.unwrap();
    assert_eq!(handshakes.len(), 1);
    assert_eq!(assume.num_calls(), 1);

    // the hook saw the session
    let sessions = sessions.lock().unwrap().clone();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].account, account(INVITED));
    assert_eq!(
        sessions[0].role_arn,
        "arn:aws:iam::555555555555:role/OrgOnboardingSpoke"
    );
    assert_eq!(sessions[0].session_name, "org-onboarding-555555555555");
    assert_eq!(
        sessions[0].assumed_role_arn.as_deref(),
        Some(
            "arn:aws:sts::555555555555:assumed-role/OrgOnboardingSpoke/org-onboarding-555555555555"
        )
    );
    assert_eq!(sessions[0].access_key_id, "ASIASPOKE555555555555");
    assert!(sessions[0].expires_at.is_some());
    // neither the Debug of the session nor of the credentials shows a key or the external id
    let debug = format!("{:?} {credentials:?}", sessions[0]);
    assert!(
        !debug.contains("ASIASPOKE") && !debug.contains(EXTERNAL_ID),
        "{debug}"
    );

    // the spoke client signs with the assumed credentials, at the base endpoint, in us-east-1
    let sent = sent.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0.starts_with("http://127.0.0.1:4566"), "{sent:?}");
    assert!(
        sent[0].1.contains("Credential=ASIASPOKE555555555555/")
            && sent[0].1.contains("/us-east-1/organizations/"),
        "{sent:?}"
    );
}

/// The session policy is on the wire: the AssumeRole request of each function's session
/// carries that function's policy (built from the manifest), a person's check carries none.
#[tokio::test]
async fn each_functions_spoke_session_sends_its_own_session_policy() {
    let scopes = [
        SessionScope::Function(FunctionName::Acceptor),
        SessionScope::Function(FunctionName::Reconciler),
        SessionScope::Function(FunctionName::Preflight),
        SessionScope::WholeRole,
    ];
    for scope in scopes {
        let expected = match scope {
            SessionScope::Function(f) => Some(session::policy(f).unwrap()),
            SessionScope::WholeRole => None,
        };
        let policy_sent = Arc::new(Mutex::new(None));
        let seen = policy_sent.clone();
        let assume = mock!(aws_sdk_sts::Client::assume_role).then_compute_output(move |req| {
            *seen.lock().unwrap() = Some(req.policy().map(str::to_owned));
            assumed(INVITED)
        });
        let list = mock!(Client::list_handshakes_for_account)
            .then_output(|| ListHandshakesForAccountOutput::builder().build());
        let credentials = StsCredentials::with_sts_client(
            sts_client(RuleMode::MatchAny, &[&assume]),
            &base_config(),
            ROLE,
            EXTERNAL_ID,
            scope,
        )
        .with_client_hook(mocking_hook(&[&list], Arc::default(), Sent::default()));
        credentials
            .organizations_for(&account(INVITED))
            .await
            .unwrap();
        let sent = policy_sent.lock().unwrap().clone();
        assert_eq!(sent, Some(expected.clone()), "{scope:?}");
        if let Some(policy) = expected {
            let document: serde_json::Value = serde_json::from_str(&policy).unwrap();
            let actions = document["Statement"][0]["Action"].to_string();
            let accepts = actions.contains("organizations:AcceptHandshake");
            assert_eq!(
                accepts,
                scope == SessionScope::Function(FunctionName::Acceptor)
            );
        }
    }
}

#[tokio::test]
async fn spoke_clients_are_cached_per_account() {
    let assume = mock!(aws_sdk_sts::Client::assume_role).then_compute_output(|req| {
        let arn = req.role_arn().unwrap();
        assumed(&arn["arn:aws:iam::".len().."arn:aws:iam::".len() + 12])
    });
    let list = mock!(Client::list_handshakes_for_account)
        .then_output(|| ListHandshakesForAccountOutput::builder().build());
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let credentials = StsCredentials::with_sts_client(
        sts_client(RuleMode::MatchAny, &[&assume]),
        &base_config(),
        ROLE,
        EXTERNAL_ID,
        SessionScope::Function(FunctionName::Acceptor),
    )
    .with_client_hook(mocking_hook(&[&list], sessions.clone(), Sent::default()));

    for _ in 0..3 {
        credentials
            .organizations_for(&account(INVITED))
            .await
            .unwrap();
    }
    assert_eq!(assume.num_calls(), 1);
    credentials
        .organizations_for(&account("444444444444"))
        .await
        .unwrap()
        .list_handshakes()
        .await
        .unwrap();
    assert_eq!(assume.num_calls(), 2);
    let accounts: Vec<String> = sessions
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.account.to_string())
        .collect();
    assert_eq!(accounts, [INVITED, "444444444444"]);
}

#[tokio::test]
async fn assume_role_denied_is_a_permanent_access_denied() {
    let denied = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
        AssumeRoleError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User: arn:aws:sts::222222222222:assumed-role/hub/acceptor is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::555555555555:role/OrgOnboardingSpoke")
                .build(),
        )
    });
    let denied_wire = mock!(aws_sdk_sts::Client::assume_role).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: sts:AssumeRole</Message></Error><RequestId>r-1</RequestId></ErrorResponse>",
            ),
        )
    });
    let credentials = StsCredentials::with_sts_client(
        sts_client(RuleMode::Sequential, &[&denied, &denied_wire]),
        &base_config(),
        ROLE,
        EXTERNAL_ID,
        SessionScope::Function(FunctionName::Acceptor),
    );
    for _ in 0..2 {
        let err = match credentials.organizations_for(&account(INVITED)).await {
            Err(err) => err,
            Ok(_) => panic!("AssumeRole was denied"),
        };
        assert_eq!(err.code(), "AccessDenied");
        assert!(!err.transient);
        assert!(err.failure.message.contains("sts:AssumeRole"), "{err}");
    }
    // a failure is not cached as a client
    assert_eq!((denied.num_calls(), denied_wire.num_calls()), (1, 1));
}

#[tokio::test]
async fn assume_role_throttled_is_transient() {
    let throttled = mock!(aws_sdk_sts::Client::assume_role).then_error(|| {
        AssumeRoleError::generic(
            ErrorMetadata::builder()
                .code("Throttling")
                .message("Rate exceeded")
                .build(),
        )
    });
    let unavailable = mock!(aws_sdk_sts::Client::assume_role).then_http_response(|| {
        HttpResponse::new(StatusCode::try_from(503).unwrap(), SdkBody::from(""))
    });
    let credentials = StsCredentials::with_sts_client(
        sts_client(RuleMode::Sequential, &[&throttled, &unavailable]),
        &base_config(),
        ROLE,
        EXTERNAL_ID,
        SessionScope::Function(FunctionName::Acceptor),
    );
    for expected in ["Throttling", ""] {
        let err = match credentials.organizations_for(&account(INVITED)).await {
            Err(err) => err,
            Ok(_) => panic!("AssumeRole failed"),
        };
        assert!(err.transient, "{err:?}");
        if !expected.is_empty() {
            assert_eq!(err.code(), expected);
        }
    }
}

#[tokio::test]
async fn ambient_credentials_hand_out_the_same_client_for_any_account() {
    let list = mock!(Client::list_handshakes_for_account)
        .then_output(|| ListHandshakesForAccountOutput::builder().build());
    let credentials = AmbientCredentials(organizations_client(RuleMode::MatchAny, &[&list]));
    for id in [INVITED, "444444444444"] {
        credentials
            .organizations_for(&account(id))
            .await
            .unwrap()
            .list_handshakes()
            .await
            .unwrap();
    }
    assert_eq!(list.num_calls(), 2);
}
