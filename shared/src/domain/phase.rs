//! Where an account stands: its phase, its role in the organization it is leaving, and the
//! transfer mode of its enrollment.

use std::fmt;

use serde::{Deserialize, Serialize};

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
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::LeavingOrganization,
        Phase::DeletingOrganization,
        Phase::AwaitingInvitation,
        Phase::Invited,
        Phase::Joined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::LeavingOrganization => "LeavingOrganization",
            Phase::DeletingOrganization => "DeletingOrganization",
            Phase::AwaitingInvitation => "AwaitingInvitation",
            Phase::Invited => "Invited",
            Phase::Joined => "Joined",
        }
    }

    /// Progress order: the first three phases are parallel starting points, so they share
    /// a rank; what matters is that nothing goes back from `Invited` or `Joined`.
    pub fn rank(self) -> u8 {
        match self {
            Phase::LeavingOrganization | Phase::DeletingOrganization => 0,
            Phase::AwaitingInvitation => 1,
            Phase::Invited => 2,
            Phase::Joined => 3,
        }
    }
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

/// How an enrollment's members move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferMode {
    /// Members accept the target's invitation while still in their old organization
    /// (allowed since December 2025); they never become standalone.
    #[default]
    Direct,
    /// The classic path: leave, (old organization deleted), accept as a standalone account.
    Standalone,
}

impl TransferMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferMode::Direct => "direct",
            TransferMode::Standalone => "standalone",
        }
    }
}

impl std::str::FromStr for TransferMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "direct" => Ok(TransferMode::Direct),
            "standalone" => Ok(TransferMode::Standalone),
            other => Err(format!(
                "unknown transfer mode {other:?} (expected direct or standalone)"
            )),
        }
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
