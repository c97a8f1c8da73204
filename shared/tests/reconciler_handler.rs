//! The reconciler's handler on aws-smithy-mocks Organizations clients and the in-memory
//! store: throttled reads (the target's ListAccounts, an account's DescribeOrganization)
//! are retried within the pass, and the corrections they lead to are applied.

use std::sync::Arc;

use aws_sdk_organizations::config::retry::RetryConfig;
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationError;
use aws_sdk_organizations::operation::list_accounts::{ListAccountsError, ListAccountsOutput};
use aws_sdk_organizations::operation::list_handshakes_for_organization::ListHandshakesForOrganizationOutput;
use aws_sdk_organizations::types::error::{
    AwsOrganizationsNotInUseException, TooManyRequestsException,
};
use aws_sdk_organizations::types::Account;
use aws_sdk_organizations::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use chrono::Utc;

use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
use onboarding::adapters::organizations::{AmbientCredentials, SdkTargetOrganization};
use onboarding::domain::{
    AccountId, CurrentHandshake, EnrollmentName, HandshakeId, OnboardingRecord, OrganizationId,
    Phase, Role, Target, TransferMode,
};
use onboarding::ports::RecordCreator;
use onboarding::reconciler::{Reconciler, ReconcilerOutcome};
use onboarding::tracker::Tracker;

const TARGET_ORG: &str = "o-exampleorgid";
const TARGET_MANAGEMENT: &str = "111111111111";
const JOINED: &str = "555555555555";
const LEFT: &str = "333333333333";

fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

fn throttled() -> TooManyRequestsException {
    TooManyRequestsException::builder()
        .message("Rate exceeded")
        .build()
}

#[tokio::test]
async fn throttled_reads_are_retried_and_what_they_show_is_corrected() {
    let list_accounts = mock!(Client::list_accounts)
        .sequence()
        .error(|| ListAccountsError::TooManyRequestsException(throttled()))
        .times(2)
        .output(|| {
            ListAccountsOutput::builder()
                .accounts(Account::builder().id(TARGET_MANAGEMENT).build())
                .accounts(Account::builder().id(JOINED).build())
                .build()
        })
        .build();
    let handshakes = mock!(Client::list_handshakes_for_organization)
        .then_output(|| ListHandshakesForOrganizationOutput::builder().build());
    let describe = mock!(Client::describe_organization)
        .sequence()
        .error(|| DescribeOrganizationError::TooManyRequestsException(throttled()))
        .error(|| {
            DescribeOrganizationError::AwsOrganizationsNotInUseException(
                AwsOrganizationsNotInUseException::builder()
                    .message("not in an organization")
                    .build(),
            )
        })
        .build();
    let client = mock_client!(
        aws_sdk_organizations,
        RuleMode::MatchAny,
        &[&list_accounts, &handshakes, &describe],
        |c| c.retry_config(RetryConfig::disabled())
    );

    let store = Arc::new(InMemoryRecordStore::new());
    // A member enrolled without its management account, and a standalone account.
    let name = EnrollmentName::parse("acme").unwrap();
    let enroll = |id: &str, role| {
        OnboardingRecord::enroll(
            account(id),
            name.clone(),
            TransferMode::Standalone,
            role,
            0,
            Utc::now(),
        )
    };
    // The standalone account holds our invitation (the join's event was lost): the target
    // listing it is ours to confirm.
    let mut invited = enroll(JOINED, Role::Standalone);
    invited.phase = Phase::Invited;
    invited.handshake = Some(CurrentHandshake {
        id: HandshakeId::parse("h-examplehandshakeid111").unwrap(),
        expires_at: None,
    });
    store
        .create_many(&[enroll(LEFT, Role::Member), invited])
        .await
        .unwrap();
    let target = Target {
        organization: OrganizationId::parse(TARGET_ORG).unwrap(),
        management_account: account(TARGET_MANAGEMENT),
    };
    let tracker = Tracker::new(store.clone(), Arc::new(InMemoryNotifier::new()), target);
    let reconciler = Reconciler::new(
        tracker,
        SdkTargetOrganization::new(client.clone()),
        AmbientCredentials(client),
    );

    let pass = reconciler.pass().await.unwrap();
    assert!(
        pass.accounts.failed.is_empty(),
        "{:?}",
        pass.accounts.failed
    );
    assert_eq!(
        list_accounts.num_calls(),
        3,
        "two throttled, then the answer"
    );
    assert_eq!(describe.num_calls(), 2, "one throttled, then the answer");
    let outcomes: Vec<(String, ReconcilerOutcome)> = pass
        .accounts
        .done
        .into_iter()
        .map(|(a, o)| (a.to_string(), o))
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                LEFT.to_owned(),
                ReconcilerOutcome::Corrected {
                    corrections: vec!["left_organization"],
                    phase: Phase::AwaitingInvitation,
                }
            ),
            (
                JOINED.to_owned(),
                ReconcilerOutcome::Corrected {
                    corrections: vec!["membership_confirmed"],
                    phase: Phase::Joined,
                }
            ),
        ]
    );
}
