//! The preflight's predictions, checks and policies, one account at a time.

use chrono::TimeZone;

use super::*;
use crate::domain::{AccountId, EnrollmentName, HandshakeId, Role, TransferMode};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
}

fn target() -> Target {
    Target {
        organization: OrganizationId::parse("o-target1234").unwrap(),
        management_account: AccountId::parse("999999999999").unwrap(),
    }
}

fn record(role: Role, mode: TransferMode) -> OnboardingRecord {
    let mut record = OnboardingRecord::enroll(
        AccountId::parse("111111111111").unwrap(),
        EnrollmentName::parse("acme").unwrap(),
        mode,
        role,
        0,
        now(),
    );
    if role == Role::Member {
        record.old_management_account = Some(AccountId::parse("222222222222").unwrap());
    }
    record
}

fn old_organization(management: &str) -> Option<SeenOrganization> {
    Some(SeenOrganization {
        organization: OrganizationId::parse("o-old1234567").unwrap(),
        management_account: AccountId::parse(management).unwrap(),
    })
}

fn facts() -> AccountFacts {
    AccountFacts {
        contact: Ok(Contact::Present {
            phone: PhoneVerification::Verified,
        }),
        created_at: Ok(Some(now() - Duration::days(400))),
        organization: Ok(old_organization("222222222222")),
        delegated_administrator: Some(Ok(false)),
        handshakes: Ok(Vec::new()),
        policies: Vec::new(),
        unread_policies: Vec::new(),
    }
}

fn codes(report: &PreflightReport) -> Vec<BlockerCode> {
    report.blockers.iter().map(|b| b.code).collect()
}

#[test]
fn an_account_with_everything_set_has_no_blocker_and_only_the_no_api_checks() {
    let report = assess(
        &record(Role::Member, TransferMode::Standalone),
        &facts(),
        &target(),
        now(),
    );
    assert!(report.blockers.is_empty(), "{report:?}");
    let items: Vec<&str> = report.checks.iter().map(|c| c.item.as_str()).collect();
    assert_eq!(
        items,
        ["payment_method", "customer_agreement", "support_plan"]
    );
    assert!(report.checks.iter().all(|c| c.link.is_some()));
    assert_eq!(report.organization.unwrap().as_str(), "o-old1234567");
}

#[test]
fn missing_contact_unverified_phone_and_a_young_account_are_predicted() {
    let mut facts = facts();
    facts.contact = Ok(Contact::Missing);
    facts.created_at = Ok(Some(now() - Duration::days(2)));
    let report = assess(
        &record(Role::Management, TransferMode::Direct),
        &AccountFacts {
            organization: Ok(old_organization("111111111111")),
            ..facts.clone()
        },
        &target(),
        now(),
    );
    assert_eq!(
        codes(&report),
        [BlockerCode::ContactInfoMissing, BlockerCode::AccountTooNew]
    );
    assert!(
        report.blockers[1].detail.contains("2026-12-07T12:00:00Z"),
        "{:?}",
        report.blockers[1]
    );

    facts.contact = Ok(Contact::Present {
        phone: PhoneVerification::Unverified,
    });
    facts.created_at = Ok(Some(now() - Duration::days(30)));
    let report = assess(
        &record(Role::Member, TransferMode::Standalone),
        &facts,
        &target(),
        now(),
    );
    assert_eq!(codes(&report), [BlockerCode::PhoneNotVerified]);
    assert!(report.blockers[0].detail.ends_with("status UNVERIFIED"));
}

#[test]
fn a_direct_member_gets_standalone_requirements_as_fallback_checks() {
    let mut facts = facts();
    facts.contact = Ok(Contact::Missing);
    let report = assess(
        &record(Role::Member, TransferMode::Direct),
        &facts,
        &target(),
        now(),
    );
    assert!(report.blockers.is_empty());
    assert!(report
        .checks
        .iter()
        .any(|c| c.item == "fallback_requirement" && c.why.contains("CONTACT_INFO_MISSING")));
}

#[test]
fn roles_that_do_not_match_the_organization_are_an_enrollment_mismatch() {
    // Enrolled as management, but a member of another account's organization.
    let report = assess(
        &record(Role::Management, TransferMode::Direct),
        &facts(),
        &target(),
        now(),
    );
    assert_eq!(codes(&report), [BlockerCode::EnrollmentMismatch]);
    assert!(report.blockers[0].detail.contains("222222222222"));
    // Enrolled as member, but it manages the organization.
    let facts_management = AccountFacts {
        organization: Ok(old_organization("111111111111")),
        ..facts()
    };
    let report = assess(
        &record(Role::Member, TransferMode::Direct),
        &facts_management,
        &target(),
        now(),
    );
    assert_eq!(codes(&report), [BlockerCode::EnrollmentMismatch]);
    // Enrolled as standalone, but in an organization.
    let report = assess(
        &record(Role::Standalone, TransferMode::Direct),
        &facts(),
        &target(),
        now(),
    );
    assert_eq!(codes(&report), [BlockerCode::EnrollmentMismatch]);
    // Already out of it, or in the target: the reconciler's, not a mismatch.
    let out = AccountFacts {
        organization: Ok(None),
        ..facts()
    };
    assert!(assess(
        &record(Role::Member, TransferMode::Direct),
        &out,
        &target(),
        now()
    )
    .blockers
    .is_empty());
}

#[test]
fn a_delegated_administrator_and_refused_reads_are_reported() {
    let mut facts = facts();
    facts.delegated_administrator = Some(Ok(true));
    facts.contact = Err(AwsFailure::new("AccessDeniedException", None, "no"));
    facts.unread_policies.push(UnreadPolicies {
        what: "kms key policies (us-east-1)".into(),
        failure: AwsFailure::new("AccessDeniedException", None, "denied"),
    });
    let report = assess(
        &record(Role::Member, TransferMode::Standalone),
        &facts,
        &target(),
        now(),
    );
    assert_eq!(codes(&report), [BlockerCode::DelegatedAdministrator]);
    assert!(report
        .checks
        .iter()
        .any(|c| c.item == "contact_information" && c.why.contains("AccessDeniedException")));
    assert!(report
        .checks
        .iter()
        .any(|c| c.item == "policies" && c.why.contains("kms key policies")));
}

#[test]
fn policies_naming_the_old_organization_are_listed_and_others_are_not() {
    let mut facts = facts();
    let trust = |org: &str| {
        serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}}}]})
        .to_string()
    };
    facts.policies = vec![
        PolicyDocument {
            resource: "arn:aws:s3:::logs".into(),
            document: trust("o-old1234567"),
        },
        PolicyDocument {
            resource: "arn:aws:s3:::other".into(),
            document: trust("o-another123"),
        },
        PolicyDocument {
            resource: "arn:aws:s3:::broken".into(),
            document: "not json".into(),
        },
    ];
    let report = assess(
        &record(Role::Member, TransferMode::Direct),
        &facts,
        &target(),
        now(),
    );
    assert_eq!(
        report.policies,
        [TrustingPolicy {
            resource: "arn:aws:s3:::logs".into(),
            condition_key: "aws:PrincipalOrgID".into(),
            value: "o-old1234567".into()
        }]
    );
}

#[test]
fn only_open_invitations_of_other_organizations_are_listed() {
    let handshake = |id: &str, org: &str, state: &str| ObservedHandshake {
        id: HandshakeId::parse(id).unwrap(),
        arn: None,
        action: "INVITE".into(),
        state: state.into(),
        parties: vec![crate::domain::HandshakeParty::organization(org)],
        expires_at: None,
        requested_at: None,
        transfer: None,
    };
    let mut facts = facts();
    facts.handshakes = Ok(vec![
        handshake("h-aaaaaaaaaa", "o-target1234", "OPEN"),
        handshake("h-bbbbbbbbbb", "o-another123", "OPEN"),
        handshake("h-cccccccccc", "o-another123", "DECLINED"),
    ]);
    let report = assess(
        &record(Role::Member, TransferMode::Direct),
        &facts,
        &target(),
        now(),
    );
    assert_eq!(report.invitations.len(), 1);
    assert_eq!(report.invitations[0].handshake_id.as_str(), "h-bbbbbbbbbb");
}
