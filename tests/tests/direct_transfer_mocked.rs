//! The direct transfer's success path, which the emulator cannot produce: since December
//! 2025 AWS lets a member of another organization be invited and accept while it is still
//! in its old organization; fakecloud still refuses the invitation
//! (`ALREADY_IN_AN_ORGANIZATION`, see tests/README.md). Here the real inviter and
//! acceptor run on the real SDK adapters (`SdkTargetOrganization`, `StsCredentials` with
//! its spoke clients) whose HTTP is answered by aws-smithy-mocks as AWS answers under the
//! new rule, and the real tracker keeps the records in the in-memory store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_organizations::config::retry::RetryConfig;
use aws_sdk_organizations::config::{Credentials as StaticCredentials, Region};
use aws_sdk_organizations::operation::accept_handshake::AcceptHandshakeOutput;
use aws_sdk_organizations::operation::describe_account::DescribeAccountOutput;
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
use aws_sdk_organizations::operation::invite_account_to_organization::InviteAccountToOrganizationOutput;
use aws_sdk_organizations::operation::list_accounts::ListAccountsOutput;
use aws_sdk_organizations::operation::list_handshakes_for_account::ListHandshakesForAccountOutput;
use aws_sdk_organizations::operation::list_handshakes_for_organization::ListHandshakesForOrganizationOutput;
use aws_sdk_organizations::types::{
    ActionType, Handshake, HandshakeParty, HandshakePartyType, HandshakeState,
};
use aws_sdk_organizations::Client;
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_sdk_sts::types::{AssumedRoleUser, Credentials as StsCredentialsOutput};
use aws_smithy_mocks::{
    create_mock_http_client, mock, mock_client, MockResponseInterceptor, Rule, RuleMode,
};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use chrono::Utc;

use onboarding::acceptor::{Acceptor, AcceptorOutcome};
use onboarding::adapters::memory::{InMemoryNotifier, InMemoryRecordStore};
use onboarding::adapters::organizations::{
    ClientHook, SdkTargetOrganization, SessionScope, StsCredentials,
};
use onboarding::domain::{
    AccountId, BlockerCode, Enrollment, EnrollmentName, FunctionName, HandshakeId, OrganizationId,
    Phase, Target, TransferMode,
};
use onboarding::inviter::{Inviter, InviterOutcome};
use onboarding::notifications::{self as n, NotificationDetail};
use onboarding::ports::{RecordCreator, RecordReader};
use onboarding::tracker::Tracker;

const TARGET_ORG: &str = "o-exampleorgid";
const TARGET_MANAGEMENT: &str = "111111111111";
const CUSTOMER_MANAGEMENT: &str = "222222222222";
const MEMBERS: [&str; 2] = ["333333333333", "444444444444"];
const ROLE: &str = "OnboardingSpokeRole";
const EXTERNAL_ID: &str = "ext-direct";

fn acct(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

/// The target's invitation of `account`, as AWS returns it.
fn handshake_id(account: &str) -> String {
    format!("h-direct{account}")
}

fn handshake(account: &str, state: HandshakeState) -> Handshake {
    let id = handshake_id(account);
    Handshake::builder()
        .id(&id)
        .arn(format!(
            "arn:aws:organizations::{TARGET_MANAGEMENT}:handshake/{TARGET_ORG}/invite/{id}"
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
                .id(account)
                .build()
                .unwrap(),
        )
        .expiration_timestamp(aws_smithy_types::DateTime::from_secs(
            Utc::now().timestamp() + 15 * 86_400,
        ))
        .build()
}

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, rule| i.with_rule(rule),
    )
}

fn test_credentials() -> StaticCredentials {
    StaticCredentials::new("AKIDTEST", "test-secret", None, None, "test")
}

fn base_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(
            aws_sdk_organizations::config::SharedCredentialsProvider::new(test_credentials()),
        )
        .retry_config(RetryConfig::disabled())
        .build()
}

/// An Organizations client of the target management account, answered by `rules`.
fn target_client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_organizations, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// What AWS answers in one member account (through its spoke role): its handshakes list
/// the target's open invitation, and accepting it succeeds although the account is still
/// a member of its old organization.
struct MemberRules {
    list: Rule,
    accept: Rule,
}

fn member_rules(account: &'static str) -> MemberRules {
    MemberRules {
        list: mock!(Client::list_handshakes_for_account).then_output(move || {
            ListHandshakesForAccountOutput::builder()
                .handshakes(handshake(account, HandshakeState::Open))
                .build()
        }),
        accept: mock!(Client::accept_handshake)
            .match_requests(move |req| req.handshake_id() == Some(handshake_id(account).as_str()))
            .then_output(move || {
                AcceptHandshakeOutput::builder()
                    .handshake(handshake(account, HandshakeState::Accepted))
                    .build()
            }),
    }
}

#[tokio::test]
async fn a_direct_mode_member_is_invited_and_accepts_while_still_in_its_old_organization() {
    let target = Target {
        organization: OrganizationId::parse(TARGET_ORG).unwrap(),
        management_account: acct(TARGET_MANAGEMENT),
    };
    let store = Arc::new(InMemoryRecordStore::new());
    let notifier = Arc::new(InMemoryNotifier::new());
    // Asked after each acceptance, the target organization lists the member (DescribeAccount
    // with the hub's credentials): the proof of joining.
    let describe = mock!(Client::describe_account).then_compute_output(|req| {
        DescribeAccountOutput::builder()
            .account(
                aws_sdk_organizations::types::Account::builder()
                    .id(req.account_id().unwrap())
                    .build(),
            )
            .build()
    });
    // The hub's own organization is the target (the acceptor's start-up check).
    let own = mock!(Client::describe_organization).then_output(|| {
        DescribeOrganizationOutput::builder()
            .organization(
                aws_sdk_organizations::types::Organization::builder()
                    .id(TARGET_ORG)
                    .master_account_id(TARGET_MANAGEMENT)
                    .build(),
            )
            .build()
    });
    let directory = Arc::new(SdkTargetOrganization::new(target_client(&[
        &describe, &own,
    ])));
    let tracker = || {
        Tracker::new(store.clone(), notifier.clone(), target.clone())
            .with_target_directory(directory.clone())
    };
    let enrollment = Enrollment {
        name: EnrollmentName::parse("direct").unwrap(),
        transfer_mode: TransferMode::Direct,
        management_account: Some(acct(CUSTOMER_MANAGEMENT)),
        members: MEMBERS.iter().map(|m| acct(m)).collect(),
        standalone_accounts: Vec::new(),
        placement: Default::default(),
    };
    for record in enrollment.records(Utc::now()).unwrap() {
        store.create(&record).await.unwrap();
    }

    // The target organization: no open invitation yet; InviteAccountToOrganization of a
    // member of another organization succeeds (the December 2025 rule).
    let list_target = mock!(Client::list_handshakes_for_organization)
        .then_output(|| ListHandshakesForOrganizationOutput::builder().build());
    let invite = mock!(Client::invite_account_to_organization).then_compute_output(|req| {
        let target = req.target().unwrap();
        assert_eq!(target.r#type(), &HandshakePartyType::Account);
        let account: &'static str = MEMBERS.into_iter().find(|m| *m == target.id()).unwrap();
        InviteAccountToOrganizationOutput::builder()
            .handshake(handshake(account, HandshakeState::Open))
            .build()
    });
    // The organization has only its management account so far (ListAccounts).
    let accounts = mock!(Client::list_accounts).then_output(|| {
        ListAccountsOutput::builder()
            .accounts(
                aws_sdk_organizations::types::Account::builder()
                    .id(TARGET_MANAGEMENT)
                    .build(),
            )
            .build()
    });
    let inviter = Inviter::new(
        tracker(),
        SdkTargetOrganization::new(target_client(&[&list_target, &invite, &accounts])),
        directory.clone(),
    );

    // The acceptor assumes the spoke role in each member (STS mocked), and each spoke
    // client is answered by that member's rules.
    let assume = mock!(aws_sdk_sts::Client::assume_role).then_compute_output(|req| {
        let arn = req.role_arn().unwrap();
        assert_eq!(req.external_id(), Some(EXTERNAL_ID));
        let account = &arn["arn:aws:iam::".len().."arn:aws:iam::".len() + 12];
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
    });
    let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&assume], |c| c
        .retry_config(RetryConfig::disabled()));
    let members: HashMap<&str, MemberRules> =
        MEMBERS.iter().map(|m| (*m, member_rules(m))).collect();
    let spoke_mocks: HashMap<String, SharedInterceptor> = members
        .iter()
        .map(|(account, rules)| {
            (
                (*account).to_owned(),
                SharedInterceptor::new(interceptor(&[&rules.list, &rules.accept])),
            )
        })
        .collect();
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let seen = sessions.clone();
    let hook: ClientHook = Arc::new(move |session, builder| {
        seen.lock().unwrap().push(session.account.to_string());
        let mut builder = builder.http_client(create_mock_http_client());
        builder.push_interceptor(spoke_mocks[session.account.as_str()].clone());
        builder
    });
    let credentials = StsCredentials::with_sts_client(
        sts,
        &base_config(),
        ROLE,
        EXTERNAL_ID,
        SessionScope::Function(FunctionName::Acceptor),
    )
    .with_client_hook(hook);
    let acceptor = Acceptor::new(tracker(), credentials, directory.clone(), false);

    for (i, member) in MEMBERS.iter().enumerate() {
        let id = acct(member);
        let expected = HandshakeId::parse(handshake_id(member)).unwrap();
        assert_eq!(
            inviter.process(&id, false).await.unwrap(),
            InviterOutcome::Invited {
                handshake: expected.clone()
            }
        );
        let record = store.load(&id).await.unwrap().unwrap();
        assert_eq!(record.phase, Phase::Invited);
        assert!(record.in_old_organization, "invited while still a member");
        assert!(record.fallback.is_none());

        assert_eq!(
            acceptor.process(&id).await.unwrap(),
            AcceptorOutcome::Accepted {
                handshake: expected.clone()
            }
        );
        let record = store.load(&id).await.unwrap().unwrap();
        assert_eq!(record.phase, Phase::Joined);
        assert_eq!(record.handshake_id(), Some(&expected));
        assert!(!record.in_old_organization);
        assert!(record.fallback.is_none(), "never fell back");
        assert_eq!(members[member].accept.num_calls(), 1);

        // The old organization's management account waits for the last member.
        let management = store
            .load(&acct(CUSTOMER_MANAGEMENT))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(management.phase, Phase::DeletingOrganization);
        assert_eq!(
            management.is_blocked_by(BlockerCode::OrganizationNotEmpty),
            i + 1 < MEMBERS.len(),
            "after {} member(s) joined: {:?}",
            i + 1,
            management.blockers
        );
    }
    assert_eq!(invite.num_calls(), 2);
    assert_eq!(assume.num_calls(), 2);
    assert_eq!(*sessions.lock().unwrap(), MEMBERS);

    let published = notifier.published();
    let of = |detail_type: &str, account: &str| {
        published
            .iter()
            .filter(|p| p.detail_type == detail_type)
            .filter_map(|p| NotificationDetail::try_from(p).ok())
            .filter(|d| d.account_id().is_some_and(|a| a.as_str() == account))
            .count()
    };
    for member in MEMBERS {
        assert_eq!(of(n::PHASE_CHANGED, member), 2, "Invited, Joined");
        assert_eq!(of(n::ACCOUNT_JOINED, member), 1);
        assert_eq!(of(n::BLOCKED, member), 0);
    }
    assert_eq!(of(n::UNBLOCKED, CUSTOMER_MANAGEMENT), 1);
    assert!(
        !published
            .iter()
            .any(|p| p.detail_type == n::ENROLLMENT_COMPLETED),
        "the management account has yet to delete its organization and join"
    );
}
