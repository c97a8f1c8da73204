//! What the preflight found in one account (its report), and what a record keeps of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::blocker::{AwsFailure, BlockerCode};
use crate::domain::event::Problem;
use crate::domain::ids::{AccountId, HandshakeId, OrganizationId};

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
    pub(super) fn new(code: BlockerCode, detail: impl Into<String>) -> Self {
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
    pub(super) fn new(item: &str, why: impl Into<String>, link: Option<&str>) -> Self {
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
