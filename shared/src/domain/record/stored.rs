//! The record as it is stored and published: the attributes earlier versions wrote, which
//! every version keeps reading. In memory the billing terms live in the billing mode and the
//! current handshake is one `Option`; stored, the mode is its label with the terms in a
//! `billing` attribute beside it, and the handshake is two attributes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ClearedBlocker, CurrentHandshake, Fallback, HistoryEntry, OnboardingRecord};
use crate::domain::billing::BillingTerms;
use crate::domain::blocker::Blocker;
use crate::domain::ids::{AccountId, EnrollmentName, HandshakeId, OrganizationId};
use crate::domain::phase::{Phase, Role, TransferMode};
use crate::domain::placement::{OuRef, Placed};
use crate::domain::preflight::PreflightSummary;

/// The stored attributes, in the order earlier versions wrote them.
#[derive(Serialize, Deserialize)]
pub struct StoredRecord {
    account_id: AccountId,
    enrollment: EnrollmentName,
    /// The mode's label; in billing mode its terms are in `billing`.
    transfer_mode: TransferMode,
    role: Role,
    phase: Phase,
    /// Still in the organization it is leaving (members until they leave or move,
    /// the management account until it deletes its organization).
    in_old_organization: bool,
    handshake_id: Option<HandshakeId>,
    handshake_expires_at: Option<DateTime<Utc>>,
    blockers: Vec<Blocker>,
    /// Set once a direct-mode account fell back to the standalone path.
    #[serde(default)]
    fallback: Option<Fallback>,
    /// Handshakes that were closed or refused: a late event about one changes nothing.
    #[serde(default)]
    settled_handshakes: Vec<HandshakeId>,
    /// The management account of the organization a member leaves: the one other account
    /// whose events (removing it) may change this record.
    #[serde(default)]
    old_management_account: Option<AccountId>,
    /// When each blocker was last cleared by a success: a refusal that happened before
    /// never brings it back (events arrive out of order).
    #[serde(default)]
    cleared_blockers: Vec<ClearedBlocker>,
    /// The target OU the account is to be placed in (`None`: where it lands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ou: Option<OuRef>,
    /// The tags the enrollment asks for (the product adds its own two).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    /// The organization the account leaves, once known (given at enrollment, or read by
    /// the reconciler while the account is still in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_organization: Option<OrganizationId>,
    /// Set once the account is in its OU, tagged and reachable: onboarding ended.
    #[serde(default)]
    placed: Option<Placed>,
    /// What the last preflight found beyond its predicted blockers (which are among
    /// `blockers`, of step `preflight`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    preflight: Option<PreflightSummary>,
    /// Billing mode: the transfer asked for, and the one accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    billing: Option<BillingTerms>,
    version: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    phase_since: DateTime<Utc>,
    #[serde(default)]
    history: Vec<HistoryEntry>,
    /// How many history entries were dropped between the first and the latest ones.
    #[serde(default, skip_serializing_if = "is_zero")]
    history_trimmed: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

impl From<StoredRecord> for OnboardingRecord {
    fn from(stored: StoredRecord) -> Self {
        let mut transfer_mode = stored.transfer_mode;
        // A billing record written without terms has the default ones.
        if let (Some(terms), Some(billing)) = (transfer_mode.billing_terms_mut(), stored.billing) {
            *terms = billing;
        }
        Self {
            account_id: stored.account_id,
            enrollment: stored.enrollment,
            transfer_mode,
            role: stored.role,
            phase: stored.phase,
            in_old_organization: stored.in_old_organization,
            handshake: stored.handshake_id.map(|id| CurrentHandshake {
                id,
                expires_at: stored.handshake_expires_at,
            }),
            blockers: stored.blockers,
            fallback: stored.fallback,
            settled_handshakes: stored.settled_handshakes,
            old_management_account: stored.old_management_account,
            cleared_blockers: stored.cleared_blockers,
            ou: stored.ou,
            tags: stored.tags,
            source_organization: stored.source_organization,
            placed: stored.placed,
            preflight: stored.preflight,
            version: stored.version,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            phase_since: stored.phase_since,
            history: stored.history,
            history_trimmed: stored.history_trimmed,
        }
    }
}

impl From<OnboardingRecord> for StoredRecord {
    fn from(record: OnboardingRecord) -> Self {
        let billing = record.transfer_mode.billing_terms().cloned();
        let (handshake_id, handshake_expires_at) = match record.handshake {
            Some(current) => (Some(current.id), current.expires_at),
            None => (None, None),
        };
        Self {
            account_id: record.account_id,
            enrollment: record.enrollment,
            transfer_mode: record.transfer_mode,
            role: record.role,
            phase: record.phase,
            in_old_organization: record.in_old_organization,
            handshake_id,
            handshake_expires_at,
            blockers: record.blockers,
            fallback: record.fallback,
            settled_handshakes: record.settled_handshakes,
            old_management_account: record.old_management_account,
            cleared_blockers: record.cleared_blockers,
            ou: record.ou,
            tags: record.tags,
            source_organization: record.source_organization,
            placed: record.placed,
            preflight: record.preflight,
            billing,
            version: record.version,
            created_at: record.created_at,
            updated_at: record.updated_at,
            phase_since: record.phase_since,
            history: record.history,
            history_trimmed: record.history_trimmed,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 0, 0, 0).unwrap()
    }

    /// A billing record as earlier versions wrote it: the mode's label, its terms beside it,
    /// the handshake as two attributes.
    fn billing_as_written() -> serde_json::Value {
        json!({
            "account_id": "111111111111",
            "enrollment": "initech",
            "transfer_mode": "billing",
            "role": "management",
            "phase": "TransferInvited",
            "in_old_organization": true,
            "handshake_id": "h-0123456789",
            "handshake_expires_at": "2026-12-20T00:00:00Z",
            "blockers": [],
            "fallback": null,
            "settled_handshakes": [],
            "old_management_account": null,
            "cleared_blockers": [],
            "placed": null,
            "billing": {"start": "2027-01-01T00:00:00Z"},
            "version": 3,
            "created_at": "2026-12-01T00:00:00Z",
            "updated_at": "2026-12-02T00:00:00Z",
            "phase_since": "2026-12-02T00:00:00Z",
            "history": []
        })
    }

    #[test]
    fn a_stored_billing_record_reads_its_terms_into_the_mode_and_writes_them_back_as_they_were() {
        let record: OnboardingRecord = serde_json::from_value(billing_as_written()).unwrap();
        let terms = BillingTerms {
            start: Some(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()),
            ..BillingTerms::default()
        };
        assert_eq!(record.transfer_mode, TransferMode::Billing(Box::new(terms)));
        assert_eq!(
            record.handshake,
            Some(CurrentHandshake {
                id: HandshakeId::parse("h-0123456789").unwrap(),
                expires_at: Some(at(20)),
            })
        );
        assert_eq!(serde_json::to_value(&record).unwrap(), billing_as_written());
    }

    #[test]
    fn a_record_of_another_mode_has_no_billing_attribute_and_both_handshake_attributes() {
        let mut written = billing_as_written();
        written["transfer_mode"] = json!("direct");
        written["phase"] = json!("AwaitingInvitation");
        written["handshake_id"] = json!(null);
        written["handshake_expires_at"] = json!(null);
        written.as_object_mut().unwrap().remove("billing");
        let record: OnboardingRecord = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(record.transfer_mode, TransferMode::Direct);
        assert_eq!(record.handshake, None);
        assert_eq!(serde_json::to_value(&record).unwrap(), written);
    }

    #[test]
    fn a_billing_record_written_without_terms_reads_with_the_default_ones() {
        let mut written = billing_as_written();
        written.as_object_mut().unwrap().remove("billing");
        let record: OnboardingRecord = serde_json::from_value(written).unwrap();
        assert_eq!(record.billing(), Some(&BillingTerms::default()));
    }

    #[test]
    fn a_record_survives_the_dynamo_codec_unchanged() {
        let record: OnboardingRecord = serde_json::from_value(billing_as_written()).unwrap();
        let item: serde_dynamo::Item = serde_dynamo::to_item(&record).unwrap();
        assert!(item.contains_key("billing") && item.contains_key("handshake_expires_at"));
        let back: OnboardingRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back, record);
    }
}
