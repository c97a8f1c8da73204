//! Billing transfers (groundwork for the `billing` mode): a customer keeps its
//! organization and the target takes over its bill. The target's management account
//! invites the customer's management account (InviteOrganizationToTransferResponsibility,
//! type `BILLING`); the transfer is a handshake of action `TRANSFER_RESPONSIBILITY`, judged
//! by [`super::policy::verify_offer`] exactly as strictly as an invitation to join.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{AccountId, HandshakeId};
use super::OnboardingRecord;

/// Where a responsibility transfer stands, as ListOutboundResponsibilityTransfers says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferStatus {
    /// Invited, not answered yet.
    Requested,
    Accepted,
    Declined,
    Expired,
    /// The inviter took it back, or ended it (TerminateResponsibilityTransfer).
    Withdrawn,
    Canceled,
    /// A status this version does not know, as AWS spelled it.
    Other(String),
}

impl TransferStatus {
    pub fn parse(status: &str) -> Self {
        match status.to_ascii_uppercase().as_str() {
            "REQUESTED" => Self::Requested,
            "ACCEPTED" => Self::Accepted,
            "DECLINED" => Self::Declined,
            "EXPIRED" => Self::Expired,
            "WITHDRAWN" => Self::Withdrawn,
            "CANCELED" | "CANCELLED" => Self::Canceled,
            _ => Self::Other(status.to_owned()),
        }
    }

    /// Declined, expired, withdrawn or canceled: a new invitation is needed.
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            Self::Declined | Self::Expired | Self::Withdrawn | Self::Canceled
        )
    }
}

/// One billing transfer the target's management account is a party of, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedTransfer {
    /// `rt-…`.
    pub id: String,
    pub status: TransferStatus,
    /// Its two management accounts (`Source` and `Target`; which is which is not relied
    /// on: the emulator and the AWS documentation disagree on the direction).
    pub management_accounts: Vec<AccountId>,
    /// The handshake that carries it while it is open.
    pub handshake: Option<HandshakeId>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl ObservedTransfer {
    /// Whether `account` is one of the transfer's management accounts.
    pub fn names(&self, account: &AccountId) -> bool {
        self.management_accounts.contains(account)
    }

    /// Accepted and not ended: the target pays the bill (from `starts_at`).
    pub fn is_in_force(&self) -> bool {
        self.status == TransferStatus::Accepted && self.ended_at.is_none()
    }
}

/// Whether `transfer` proves that `record`'s account transferred its bill: it is in force
/// and it is the transfer the record's invitation carried. Any other accepted transfer
/// naming the account (an earlier one, or one in the other direction) is not the record's.
/// A record written before records kept their transfer's id knows only its invitation:
/// there, the account's transfer in force proves it while the record holds one.
pub fn proves_transfer(record: &OnboardingRecord, transfer: &ObservedTransfer) -> bool {
    let ours = match record.billing().and_then(|terms| terms.offered.as_deref()) {
        Some(offered) => transfer.id == offered,
        None => record.handshake.is_some() && transfer.names(&record.account_id),
    };
    ours && transfer.is_in_force()
}

/// A billing-mode record's transfer: the start the operator asked for, and the transfer
/// once the target's organization lists it as accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BillingTerms {
    /// When the transfer is to take effect; `None`: the first day of the month after the
    /// invitation ([`first_day_of_next_month`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    /// The transfer the record's current invitation carries (`rt-…`), when its handshake
    /// named it: the only one whose acceptance proves the record's ([`proves_transfer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered: Option<String>,
    /// The accepted transfer (`rt-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<String>,
    /// When the accepted transfer takes effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// When an accepted transfer was ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
}

impl BillingTerms {
    /// The start to invite with, at `now`: the operator's, unless it is too near to be
    /// accepted in time ([`invitation_lead`]); then the default.
    pub fn start_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.start
            .filter(|start| *start >= now + invitation_lead())
            .unwrap_or_else(|| default_start(now))
    }
}

/// How long before its start a transfer invitation must be sent: AWS requires the
/// invitation to be accepted at least 24 hours before the transfer starts (AWS Billing
/// User Guide, billing transfers), and the acceptance needs time of its own (the
/// acceptor's next run, a spoke deployed late): 24 hours more.
pub fn invitation_lead() -> chrono::Duration {
    chrono::Duration::hours(48)
}

/// When an invited transfer takes effect unless the operator says otherwise: the first
/// day of a month, at midnight UTC (a bill changes hands on a month's boundary): the
/// next one that is at least [`invitation_lead`] away, so an invitation sent on a month's
/// last day starts on the first of the month after next.
pub fn default_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let next = first_day_of_next_month(now);
    if next >= now + invitation_lead() {
        next
    } else {
        first_day_of_next_month(next)
    }
}

/// The first day of the month after `now`, at midnight UTC.
pub fn first_day_of_next_month(now: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .expect("the first of a month at midnight UTC exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_starts_on_the_first_day_of_next_month_by_default() {
        let at = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        assert_eq!(
            first_day_of_next_month(at(2026, 12, 2, 15)),
            at(2027, 1, 1, 0)
        );
        assert_eq!(
            first_day_of_next_month(at(2027, 1, 31, 23)),
            at(2027, 2, 1, 0)
        );
        assert_eq!(
            first_day_of_next_month(at(2027, 2, 1, 0)),
            at(2027, 3, 1, 0)
        );
    }

    #[test]
    fn a_default_start_leaves_a_day_to_accept_and_a_day_aws_requires() {
        let at = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        assert_eq!(default_start(at(2026, 12, 2, 15)), at(2027, 1, 1, 0));
        // Sent on a month's last day (or the day before, late): the first of next month is
        // too near to be accepted 24 hours before it.
        assert_eq!(default_start(at(2026, 12, 31, 9)), at(2027, 2, 1, 0));
        assert_eq!(default_start(at(2026, 12, 30, 1)), at(2027, 2, 1, 0));
        assert_eq!(default_start(at(2026, 12, 29, 23)), at(2027, 1, 1, 0));
        let terms = BillingTerms {
            start: Some(at(2027, 1, 1, 0)),
            ..BillingTerms::default()
        };
        assert_eq!(terms.start_at(at(2026, 12, 31, 12)), at(2027, 2, 1, 0));
        assert_eq!(terms.start_at(at(2026, 12, 20, 12)), at(2027, 1, 1, 0));
    }

    #[test]
    fn statuses_read_as_aws_spells_them_and_closed_ones_need_a_new_invitation() {
        assert_eq!(TransferStatus::parse("ACCEPTED"), TransferStatus::Accepted);
        assert!(TransferStatus::parse("declined").is_closed());
        assert!(TransferStatus::parse("WITHDRAWN").is_closed());
        assert!(!TransferStatus::parse("REQUESTED").is_closed());
        assert_eq!(
            TransferStatus::parse("PAUSED"),
            TransferStatus::Other("PAUSED".into())
        );
    }
}
