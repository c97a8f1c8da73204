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
use serde_json::Value;

use super::blocker::{AwsFailure, BlockerCode};
use super::ids::OrganizationId;
use super::org_trust::conditions_naming;
use super::phase::Role;
use super::policy::ObservedHandshake;
use super::record::{OnboardingRecord, Target};

mod facts;
mod report;
#[cfg(test)]
mod tests;

pub use facts::*;
pub use report::*;

/// An account younger than this cannot leave its organization (`WAIT_PERIOD_ACTIVE`).
pub const MIN_ACCOUNT_AGE: Duration = Duration::days(7);

/// How many policies a record keeps from its last preflight (the full list is in the
/// report `onboardctl preflight` prints); the count is always kept.
pub const POLICY_MEMORY: usize = 50;

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
        Role::Member => record
            .journey()
            .member_stands_alone(record.fallback.is_some()),
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
