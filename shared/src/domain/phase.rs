//! Where an account stands: its phase, its role in the organization it is leaving, and the
//! transfer mode of its enrollment.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::billing::BillingTerms;
use super::journey::{self, Journey};
use super::policy::Offer;

/// The onboarding phase. Phases only move forward, with two exceptions handled in
/// [`crate::domain::transition`]: the direct-to-standalone fallback and a closed handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// Standalone path: a member must leave (or be removed from) its old organization.
    LeavingOrganization,
    /// The old organization's management account waits for its members to go, then deletes it.
    DeletingOrganization,
    /// Ready to be invited by the target organization (standalone, or a direct-mode member).
    AwaitingInvitation,
    /// An open invitation from the target organization is the record's current handshake.
    Invited,
    /// In the target organization. Terminal.
    Joined,
    /// Billing mode: the customer's management account waits for the target's invitation
    /// to transfer its bill (its organization stays as it is).
    AwaitingTransfer,
    /// Billing mode: an open transfer invitation from the target is the record's current
    /// handshake.
    TransferInvited,
    /// Billing mode: the target's organization lists the transfer as accepted: it pays
    /// the customer organization's bill from the transfer's start. Terminal.
    Transferred,
}

impl Phase {
    pub const ALL: [Phase; 8] = [
        Phase::LeavingOrganization,
        Phase::DeletingOrganization,
        Phase::AwaitingInvitation,
        Phase::Invited,
        Phase::Joined,
        Phase::AwaitingTransfer,
        Phase::TransferInvited,
        Phase::Transferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::LeavingOrganization => "LeavingOrganization",
            Phase::DeletingOrganization => "DeletingOrganization",
            Phase::AwaitingInvitation => "AwaitingInvitation",
            Phase::Invited => "Invited",
            Phase::Joined => "Joined",
            Phase::AwaitingTransfer => "AwaitingTransfer",
            Phase::TransferInvited => "TransferInvited",
            Phase::Transferred => "Transferred",
        }
    }

    /// The phase in words, for people (reports, timelines).
    pub fn label(self) -> &'static str {
        match self {
            Phase::LeavingOrganization => "leaving its organization",
            Phase::DeletingOrganization => "deleting its organization",
            Phase::AwaitingInvitation => "awaiting the invitation",
            Phase::Invited => "invited",
            Phase::Joined => "joined",
            Phase::AwaitingTransfer => "awaiting the billing transfer invitation",
            Phase::TransferInvited => "invited to transfer its bill",
            Phase::Transferred => "billing transferred",
        }
    }

    /// Progress order: the first three phases are parallel starting points, so they share
    /// a rank; what matters is that nothing goes back from `Invited` or `Joined`. The
    /// billing phases rank as the invitation phases they mirror.
    pub fn rank(self) -> u8 {
        match self {
            Phase::LeavingOrganization | Phase::DeletingOrganization => 0,
            Phase::AwaitingInvitation | Phase::AwaitingTransfer => 1,
            Phase::Invited | Phase::TransferInvited => 2,
            Phase::Joined | Phase::Transferred => 3,
        }
    }

    /// Where onboarding's moves end: joined, or (billing mode) transferred.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Joined | Phase::Transferred)
    }

    /// Waiting for the target's invitation (to join, or to transfer the bill).
    pub fn awaits_offer(self) -> bool {
        matches!(self, Phase::AwaitingInvitation | Phase::AwaitingTransfer)
    }

    /// The target's invitation (to join, or to transfer the bill) is open.
    pub fn is_offered(self) -> bool {
        matches!(self, Phase::Invited | Phase::TransferInvited)
    }

    /// The phases whose records may have an invitation to send, adopt or accept.
    pub const OFFER_PHASES: [Phase; 4] = [
        Phase::Invited,
        Phase::AwaitingInvitation,
        Phase::TransferInvited,
        Phase::AwaitingTransfer,
    ];
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for Phase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown phase {s:?}"))
    }
}

/// How an enrollment's members move, with what the mode needs of its own (billing terms
/// live only in the billing mode). Its journey ([`TransferMode::journey`]) holds what the
/// mode changes in the rules and words.
///
/// On the wire it is its label (`"direct"`, `"standalone"`, `"billing"`): a record keeps
/// its billing terms in a separate `billing` attribute (see `record::stored`), a
/// notification carries the label alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum TransferMode {
    /// Members accept the target's invitation while still in their old organization
    /// (allowed since December 2025); they never become standalone.
    #[default]
    Direct,
    /// The classic path: leave, (old organization deleted), accept as a standalone account.
    Standalone,
    /// The customer keeps its organization and the target takes over its bill: its
    /// management account accepts a billing transfer (no member moves).
    /// (Boxed: the terms are rare and large; every other mode stays small.)
    Billing(Box<BillingTerms>),
}

impl TransferMode {
    /// Billing mode with terms not yet known (the default start, no transfer yet).
    pub fn billing() -> Self {
        TransferMode::Billing(Box::default())
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            TransferMode::Direct => "direct",
            TransferMode::Standalone => "standalone",
            TransferMode::Billing(_) => "billing",
        }
    }

    /// The journey of this mode: chosen here, once; the rules ask it, never the mode.
    pub fn journey(&self) -> &'static dyn Journey {
        match self {
            TransferMode::Direct => &journey::DIRECT,
            TransferMode::Standalone => &journey::STANDALONE,
            TransferMode::Billing(_) => &journey::BILLING,
        }
    }

    /// The billing terms, in billing mode.
    pub fn billing_terms(&self) -> Option<&BillingTerms> {
        match self {
            TransferMode::Billing(terms) => Some(terms),
            TransferMode::Direct | TransferMode::Standalone => None,
        }
    }

    pub fn billing_terms_mut(&mut self) -> Option<&mut BillingTerms> {
        match self {
            TransferMode::Billing(terms) => Some(terms),
            TransferMode::Direct | TransferMode::Standalone => None,
        }
    }

    /// What the target's invitation offers in this mode.
    pub fn offer(&self) -> Offer {
        self.journey().offer()
    }
}

impl fmt::Display for TransferMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for TransferMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "direct" => Ok(TransferMode::Direct),
            "standalone" => Ok(TransferMode::Standalone),
            "billing" => Ok(TransferMode::billing()),
            other => Err(format!(
                "unknown transfer mode {other:?} (expected direct, standalone or billing)"
            )),
        }
    }
}

impl Serialize for TransferMode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TransferMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let label = String::deserialize(deserializer)?;
        label.parse().map_err(serde::de::Error::custom)
    }
}

/// The account's role in the organization it is leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Management,
    Member,
    Standalone,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Management => "management",
            Role::Member => "member",
            Role::Standalone => "standalone",
        }
    }
}
