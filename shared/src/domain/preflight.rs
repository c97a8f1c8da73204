//! Preflight: what an account's settings and its organization predict about the move,
//! read before anyone leaves an organization. [`assess`] turns what the spoke role read in
//! one account ([`AccountFacts`]) into a [`PreflightReport`]:
//! - **predicted blockers**, the refusals AWS would return later (missing contact
//!   information, an unverified phone, an account under 7 days old, a delegated
//!   administrator, an enrollment that says management where the account is a member);
//! - **checks**, what no API answers (payment method, support plan, customer agreement),
//!   each with the console page to look at, never guessed;
//! - **policies** that trust the old organization by id or path and will stop matching
//!   after the move;
//! - the open **invitations** of other organizations (never accepted).
//!
//! A read the spoke role was refused is a check ("could not read …"), never a pass.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::blocker::{AwsFailure, BlockerCode};
use super::event::Problem;
use super::ids::{AccountId, HandshakeId, OrganizationId};
use super::org_trust::conditions_naming;
use super::phase::{Role, TransferMode};
use super::policy::ObservedHandshake;
use super::record::{OnboardingRecord, Target};

/// An account younger than this cannot leave its organization (`WAIT_PERIOD_ACTIVE`).
pub const MIN_ACCOUNT_AGE: Duration = Duration::days(7);

/// How many policies a record keeps from its last preflight (the full list is in the
/// report `onboardctl preflight` prints); the count is always kept.
pub const POLICY_MEMORY: usize = 50;

/// One read the spoke role made: what it returned, or why it could not.
pub type Read<T> = Result<T, AwsFailure>;

/// The phone verification status GetContactInformation returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneVerification {
    Verified,
    Pending,
    Unverified,
    /// Phone verification is not available for this account.
    NotSupported,
    /// The response carried no status.
    NotReported,
}

impl PhoneVerification {
    /// The status as AWS spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Verified => "VERIFIED",
            Self::Pending => "PENDING",
            Self::Unverified => "UNVERIFIED",
            Self::NotSupported => "NOT_SUPPORTED",
            Self::NotReported => "NOT_REPORTED",
        }
    }
}

/// The primary contact of the account (GetContactInformation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Missing,
    Present { phone: PhoneVerification },
}

/// The organization the account is in, as DescribeOrganization shows it from inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenOrganization {
    pub organization: OrganizationId,
    pub management_account: AccountId,
}

/// A resource policy document (or a role's trust policy), as the account returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// The resource's ARN.
    pub resource: String,
    pub document: String,
}

/// A kind of resource whose policies could not be listed or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadPolicies {
    /// e.g. `s3 bucket policies (us-east-1)`.
    pub what: String,
    pub failure: AwsFailure,
}

/// Everything the preflight read in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    pub contact: Read<Contact>,
    pub created_at: Read<Option<DateTime<Utc>>>,
    /// `None`: not in any organization.
    pub organization: Read<Option<SeenOrganization>>,
    /// Whether the old management account lists the account as a delegated administrator
    /// (ListDelegatedAdministrators); `None` when there is no management account to ask.
    pub delegated_administrator: Option<Read<bool>>,
    pub handshakes: Read<Vec<ObservedHandshake>>,
    pub policies: Vec<PolicyDocument>,
    pub unread_policies: Vec<UnreadPolicies>,
}

/// A blocker the preflight predicts: what AWS would refuse, before it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictedBlocker {
    pub code: BlockerCode,
    pub message: String,
    pub remediation: String,
    /// What the preflight saw (the date an age clears, the organization a mismatch is in).
    pub detail: String,
}

impl PredictedBlocker {
    fn new(code: BlockerCode, detail: impl Into<String>) -> Self {
        let (message, remediation) = code.explain();
        Self {
            code,
            message: message.to_owned(),
            remediation: remediation.to_owned(),
            detail: detail.into(),
        }
    }

    /// As the record keeps it (a blocker of [`super::Step::Preflight`]).
    pub fn problem(&self) -> Problem {
        Problem {
            code: self.code,
            failure: AwsFailure::new("Preflight", None, self.detail.clone()),
        }
    }
}

/// Something a person must look at because no API answers it (or the read was refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckItem {
    /// Stable key, e.g. `payment_method`.
    pub item: String,
    pub why: String,
    /// Where to look (a console page), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl CheckItem {
    fn new(item: &str, why: impl Into<String>, link: Option<&str>) -> Self {
        Self {
            item: item.to_owned(),
            why: why.into(),
            link: link.map(str::to_owned),
        }
    }
}

/// A policy condition naming the old organization: it stops matching after the move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustingPolicy {
    pub resource: String,
    pub condition_key: String,
    pub value: String,
}

/// An open invitation from an organization other than the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignInvitation {
    pub handshake_id: HandshakeId,
    pub organization: Option<OrganizationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What the preflight found in one account (`onboardctl preflight --json` prints this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflightReport {
    pub account_id: AccountId,
    pub blockers: Vec<PredictedBlocker>,
    pub checks: Vec<CheckItem>,
    pub policies: Vec<TrustingPolicy>,
    pub invitations: Vec<ForeignInvitation>,
    /// The organization the account is in, as it told.
    pub organization: Option<OrganizationId>,
}

/// What the record keeps of its last preflight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflightSummary {
    pub at: DateTime<Utc>,
    /// The first [`POLICY_MEMORY`] policies found.
    #[serde(default)]
    pub policies: Vec<TrustingPolicy>,
    pub policies_total: usize,
    #[serde(default)]
    pub checks: usize,
}

const PAYMENT_LINK: &str =
    "https://us-east-1.console.aws.amazon.com/billing/home#/paymentpreferences/paymentmethods";
const SUPPORT_LINK: &str = "https://console.aws.amazon.com/support/plans/home";
const AGREEMENT_LINK: &str = "https://console.aws.amazon.com/billing/home#/account";
const CONTACT_LINK: &str = "https://console.aws.amazon.com/billing/home#/account";

/// The preflight of one account: `facts` read through its spoke role, judged against what
/// its record says it is.
pub fn assess(
    record: &OnboardingRecord,
    facts: &AccountFacts,
    target: &Target,
    now: DateTime<Utc>,
) -> PreflightReport {
    let mut report = PreflightReport {
        account_id: record.account_id.clone(),
        blockers: Vec::new(),
        checks: Vec::new(),
        policies: Vec::new(),
        invitations: Vec::new(),
        organization: None,
    };
    let seen = match &facts.organization {
        Ok(seen) => seen
            .as_ref()
            .filter(|s| s.organization != target.organization),
        Err(failure) => {
            report
                .checks
                .push(unread("organization", "DescribeOrganization", failure));
            None
        }
    };
    report.organization = seen.map(|s| s.organization.clone());
    if let Some(mismatch) = mismatch(record, seen) {
        report.blockers.push(PredictedBlocker::new(
            BlockerCode::EnrollmentMismatch,
            mismatch,
        ));
    }
    let becomes_standalone = becomes_standalone(record);
    standalone_requirements(record, facts, now, becomes_standalone, &mut report);
    match &facts.delegated_administrator {
        Some(Ok(true)) => report.blockers.push(PredictedBlocker::new(
            BlockerCode::DelegatedAdministrator,
            format!(
                "ListDelegatedAdministrators in the old organization lists {}",
                record.account_id
            ),
        )),
        Some(Err(failure)) => report.checks.push(unread(
            "delegated_administrator",
            "ListDelegatedAdministrators (in the old management account)",
            failure,
        )),
        Some(Ok(false)) | None => {}
    }
    match &facts.handshakes {
        Ok(handshakes) => report.invitations = foreign_invitations(handshakes, target),
        Err(failure) => {
            report
                .checks
                .push(unread("invitations", "ListHandshakesForAccount", failure))
        }
    }
    if let Some(old) = &report.organization {
        report.policies = trusting_policies(&facts.policies, old);
    }
    for unread_kind in &facts.unread_policies {
        report.checks.push(CheckItem::new(
            "policies",
            format!(
                "{} could not be read ({}: {}); policies there that trust the old organization are not listed. Deploy the spoke with PreflightReads=true to read them.",
                unread_kind.what, unread_kind.failure.code, unread_kind.failure.message
            ),
            None,
        ));
    }
    report
}

/// Whether the account will stand alone at some point of its move (and must then meet
/// what AWS asks of a standalone account): a management account deleting its
/// organization, a member leaving in standalone mode or after falling back.
fn becomes_standalone(record: &OnboardingRecord) -> bool {
    match record.role {
        Role::Management => true,
        Role::Member => {
            record.transfer_mode == TransferMode::Standalone || record.fallback.is_some()
        }
        Role::Standalone => false,
    }
}

/// Contact, phone, age (read), then payment method, support plan and customer agreement
/// (no API): blockers for an account that will stand alone; for a direct-mode member they
/// matter only if AWS refuses the direct transfer, so they are checks.
fn standalone_requirements(
    record: &OnboardingRecord,
    facts: &AccountFacts,
    now: DateTime<Utc>,
    becomes_standalone: bool,
    report: &mut PreflightReport,
) {
    if record.role == Role::Standalone {
        return;
    }
    let mut found = Vec::new();
    match &facts.contact {
        Ok(Contact::Missing) => found.push(PredictedBlocker::new(
            BlockerCode::ContactInfoMissing,
            "GetContactInformation: the account has no primary contact",
        )),
        Ok(Contact::Present { phone }) => match phone {
            PhoneVerification::Verified => {}
            PhoneVerification::Pending | PhoneVerification::Unverified => {
                found.push(PredictedBlocker::new(
                    BlockerCode::PhoneNotVerified,
                    format!(
                        "GetContactInformation: phone verification status {}",
                        phone.as_str()
                    ),
                ))
            }
            PhoneVerification::NotSupported | PhoneVerification::NotReported => {
                report.checks.push(CheckItem::new(
                    "phone_verification",
                    "GetContactInformation does not say whether the phone number is verified; sign in to the account and check that its sign-up (phone verification) is complete.",
                    Some(CONTACT_LINK),
                ))
            }
        },
        Err(failure) => report
            .checks
            .push(unread("contact_information", "GetContactInformation", failure)),
    }
    match &facts.created_at {
        Ok(Some(created)) if now - *created < MIN_ACCOUNT_AGE => {
            let clears = *created + MIN_ACCOUNT_AGE;
            found.push(PredictedBlocker::new(
                BlockerCode::AccountTooNew,
                format!(
                    "created {}; it can leave from {}",
                    created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    clears.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ))
        }
        Ok(_) => {}
        Err(failure) => report
            .checks
            .push(unread("account_age", "GetAccountInformation", failure)),
    }
    if becomes_standalone {
        report.blockers.extend(found);
    } else {
        report.checks.extend(found.into_iter().map(|b| {
            CheckItem::new(
                "fallback_requirement",
                format!(
                    "{}: {} This matters only if AWS refuses the direct transfer and the account falls back to leaving its organization. ({})",
                    b.code, b.message, b.detail
                ),
                None,
            )
        }));
    }
    let when = if becomes_standalone {
        "before it stands alone"
    } else {
        "if it falls back to leaving its organization"
    };
    report.checks.push(CheckItem::new(
        "payment_method",
        format!("No API reads the payment method. A standalone account needs a valid one: check it in the account {when}."),
        Some(PAYMENT_LINK),
    ));
    report.checks.push(CheckItem::new(
        "customer_agreement",
        format!("No API reads whether the AWS Customer Agreement was accepted: sign in to the account {when} and complete its sign-up if asked."),
        Some(AGREEMENT_LINK),
    ));
    report.checks.push(CheckItem::new(
        "support_plan",
        "No API reads the support plan. A paid plan the old organization provides does not follow the account: check it and subscribe again in the target if needed.",
        Some(SUPPORT_LINK),
    ));
}

/// Whether the account is where its enrollment says: a management account must manage
/// its organization, a member must be in another account's (its enrolled management
/// account's), a standalone account must be in none. An account already outside its
/// organization, or in the target, is the reconciler's to correct, not a mismatch.
fn mismatch(record: &OnboardingRecord, seen: Option<&SeenOrganization>) -> Option<String> {
    let account = &record.account_id;
    let seen = seen?;
    let (organization, management) = (&seen.organization, &seen.management_account);
    match record.role {
        Role::Management if management != account => Some(format!(
            "enrolled as a management account, but it is a member of {organization}, whose management account is {management}"
        )),
        Role::Member if management == account => Some(format!(
            "enrolled as a member, but it is the management account of {organization}"
        )),
        Role::Member => match &record.old_management_account {
            Some(enrolled) if enrolled != management => Some(format!(
                "enrolled as a member of {enrolled}'s organization, but it is in {organization}, whose management account is {management}"
            )),
            _ => None,
        },
        Role::Standalone => Some(format!(
            "enrolled as a standalone account, but it is in {organization} (management account {management})"
        )),
        Role::Management => None,
    }
}

/// Open invitations of any organization but the target.
fn foreign_invitations(
    handshakes: &[ObservedHandshake],
    target: &Target,
) -> Vec<ForeignInvitation> {
    handshakes
        .iter()
        .filter(|h| h.is_invitation() && h.state.is_pending())
        .filter_map(|h| {
            let organization = h.inviting_organization();
            (organization.as_ref() != Some(&target.organization)).then(|| ForeignInvitation {
                handshake_id: h.id.clone(),
                organization,
                expires_at: h.expires_at,
            })
        })
        .collect()
}

/// Every condition of `policies` that names `organization` (a document that is not JSON
/// names nothing we can read, and is skipped).
pub fn trusting_policies(
    policies: &[PolicyDocument],
    organization: &OrganizationId,
) -> Vec<TrustingPolicy> {
    policies
        .iter()
        .filter_map(|p| {
            let document: Value = serde_json::from_str(&p.document).ok()?;
            Some((p, conditions_naming(&document, organization)))
        })
        .flat_map(|(p, conditions)| {
            conditions.into_iter().map(|c| TrustingPolicy {
                resource: p.resource.clone(),
                condition_key: c.condition_key,
                value: c.value,
            })
        })
        .collect()
}

fn unread(item: &str, call: &str, failure: &AwsFailure) -> CheckItem {
    CheckItem::new(
        item,
        format!(
            "{call} could not be read ({}: {}), so this was not checked.",
            failure.code, failure.message
        ),
        None,
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{EnrollmentName, Role, TransferMode};

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
}
