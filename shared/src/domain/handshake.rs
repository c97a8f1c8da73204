//! A handshake as the Organizations API returned it, typed: its action, its state and its
//! parties. Values AWS may add later are kept as they came (`Other`), never lost, and
//! serialized as AWS spells them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::Closure;
use super::ids::{handshake_arn_parts, AccountId, HandshakeId, OrganizationId};
use super::policy::Offer;

/// A handshake as the API returned it, without SDK types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedHandshake {
    pub id: HandshakeId,
    pub arn: Option<String>,
    pub action: HandshakeAction,
    pub state: HandshakeState,
    /// Serialized as (party type, party id) pairs, e.g. ("ORGANIZATION", "o-…").
    pub parties: Vec<HandshakeParty>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was sent (the invitation quota counts the last 24 hours).
    pub requested_at: Option<DateTime<Utc>>,
    /// The responsibility transfer (`rt-…`) a `TRANSFER_RESPONSIBILITY` handshake carries:
    /// its `RESPONSIBILITY_TRANSFER` resource, when the API shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<String>,
}

/// Implements the text conversions of an AWS enumeration with an `Other` fallback: read
/// case-insensitively (CloudTrail writes some in lower case), written as AWS spells them.
macro_rules! aws_enumeration {
    ($name:ident { $($variant:ident = $text:literal $(| $alias:literal)*),* $(,)? }) => {
        impl $name {
            /// Reads AWS's spelling, in any case.
            pub fn parse(text: &str) -> Self {
                $(
                    if text.eq_ignore_ascii_case($text) $(|| text.eq_ignore_ascii_case($alias))* {
                        return Self::$variant;
                    }
                )*
                Self::Other(text.to_owned())
            }

            /// AWS's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self::parse(text)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// What a handshake asks for (AWS's `ActionType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum HandshakeAction {
    /// `INVITE`: join the organization.
    Invite,
    /// `ENABLE_ALL_FEATURES`: the organization asks its members to enable all features.
    EnableAllFeatures,
    /// `APPROVE_ALL_FEATURES`: a member's approval of the above.
    ApproveAllFeatures,
    /// `TRANSFER_RESPONSIBILITY`: take over the invited organization's bill.
    TransferResponsibility,
    /// Any other action, as AWS spelled it.
    Other(String),
}

aws_enumeration!(HandshakeAction {
    Invite = "INVITE",
    EnableAllFeatures = "ENABLE_ALL_FEATURES",
    ApproveAllFeatures = "APPROVE_ALL_FEATURES",
    TransferResponsibility = "TRANSFER_RESPONSIBILITY",
});

/// Where a handshake stands (AWS's `HandshakeState`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum HandshakeState {
    Open,
    Requested,
    Accepted,
    Declined,
    /// `CANCELED` (also read from the British `CANCELLED`).
    Canceled,
    Expired,
    /// Any other state, as AWS spelled it.
    Other(String),
}

aws_enumeration!(HandshakeState {
    Open = "OPEN",
    Requested = "REQUESTED",
    Accepted = "ACCEPTED",
    Declined = "DECLINED",
    Canceled = "CANCELED" | "CANCELLED",
    Expired = "EXPIRED",
});

impl HandshakeState {
    /// Still waiting for an answer (open, or requested).
    pub fn is_pending(&self) -> bool {
        matches!(self, HandshakeState::Open | HandshakeState::Requested)
    }
}

/// What a party of a handshake is (AWS's `HandshakePartyType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PartyKind {
    Account,
    Organization,
    Email,
    /// Any other type, as AWS spelled it.
    Other(String),
}

aws_enumeration!(PartyKind {
    Account = "ACCOUNT",
    Organization = "ORGANIZATION",
    Email = "EMAIL",
});

/// One party of a handshake: its kind and its id (an account id, an organization id or an
/// e-mail address, as AWS wrote it: compared, never trusted to be valid).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "(String, String)", into = "(String, String)")]
pub struct HandshakeParty {
    pub kind: PartyKind,
    pub id: String,
}

impl HandshakeParty {
    pub fn new(kind: PartyKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    pub fn account(id: impl Into<String>) -> Self {
        Self::new(PartyKind::Account, id)
    }

    pub fn organization(id: impl Into<String>) -> Self {
        Self::new(PartyKind::Organization, id)
    }
}

impl From<(String, String)> for HandshakeParty {
    fn from((kind, id): (String, String)) -> Self {
        Self::new(PartyKind::parse(&kind), id)
    }
}

impl From<HandshakeParty> for (String, String) {
    fn from(party: HandshakeParty) -> Self {
        (party.kind.as_str().to_owned(), party.id)
    }
}

impl ObservedHandshake {
    /// The ids of the parties of `kind`.
    pub fn party_ids<'a>(&'a self, kind: &'a PartyKind) -> impl Iterator<Item = &'a str> + 'a {
        self.parties
            .iter()
            .filter(move |p| &p.kind == kind)
            .map(|p| p.id.as_str())
    }

    /// Whether `account` is an `ACCOUNT` party.
    pub fn names_account(&self, account: &AccountId) -> bool {
        self.party_ids(&PartyKind::Account)
            .any(|id| id == account.as_str())
    }

    /// The valid account ids among the `ACCOUNT` parties.
    pub fn party_accounts(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.party_ids(&PartyKind::Account)
            .filter_map(|id| AccountId::parse(id).ok())
    }

    /// The organization that sent the invitation, as far as the handshake says.
    pub fn inviting_organization(&self) -> Option<OrganizationId> {
        self.party_ids(&PartyKind::Organization)
            .find_map(|id| OrganizationId::parse(id).ok())
            .or_else(|| {
                self.arn
                    .as_deref()
                    .and_then(handshake_arn_parts)
                    .and_then(|(_, org)| OrganizationId::parse(org).ok())
            })
    }

    /// How the handshake ended, if it did: by its state, or by its expiry passing.
    pub fn closure(&self, now: DateTime<Utc>) -> Option<Closure> {
        match self.state {
            HandshakeState::Declined => Some(Closure::Declined),
            HandshakeState::Canceled => Some(Closure::Canceled),
            HandshakeState::Expired => Some(Closure::Expired),
            HandshakeState::Open | HandshakeState::Requested
                if self.expires_at.is_some_and(|at| at <= now) =>
            {
                Some(Closure::Expired)
            }
            _ => None,
        }
    }

    /// An invitation to join an organization, whatever its state.
    pub fn is_invitation(&self) -> bool {
        self.action == HandshakeAction::Invite
    }

    pub fn is_open_invitation(&self) -> bool {
        self.is_open_offer(Offer::Join)
    }

    /// An open handshake of `offer`'s action.
    pub fn is_open_offer(&self, offer: Offer) -> bool {
        self.action == offer.action() && self.state == HandshakeState::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_spellings_are_read_in_any_case_and_unknown_ones_kept() {
        assert_eq!(HandshakeAction::parse("invite"), HandshakeAction::Invite);
        assert_eq!(
            HandshakeAction::parse("TRANSFER_RESPONSIBILITY"),
            HandshakeAction::TransferResponsibility
        );
        let unknown = HandshakeAction::parse("ADD_ORGANIZATIONS_SERVICE_LINKED_ROLE");
        assert_eq!(unknown.as_str(), "ADD_ORGANIZATIONS_SERVICE_LINKED_ROLE");
        assert_eq!(HandshakeState::parse("open"), HandshakeState::Open);
        assert_eq!(HandshakeState::parse("CANCELLED"), HandshakeState::Canceled);
        assert_eq!(HandshakeState::parse("").as_str(), "");
        assert_eq!(PartyKind::parse("account"), PartyKind::Account);
    }

    #[test]
    fn serialized_as_before_the_types() {
        let handshake = ObservedHandshake {
            id: HandshakeId::parse("h-examplehandshakeid111").unwrap(),
            arn: None,
            action: HandshakeAction::Invite,
            state: HandshakeState::Other("PENDING_SOMETHING".into()),
            parties: vec![
                HandshakeParty::organization("o-exampleorgid"),
                HandshakeParty::account("555555555555"),
            ],
            expires_at: None,
            requested_at: None,
            transfer: None,
        };
        let json = serde_json::to_value(&handshake).unwrap();
        assert_eq!(json["action"], "INVITE");
        assert_eq!(json["state"], "PENDING_SOMETHING");
        assert_eq!(
            json["parties"],
            serde_json::json!([
                ["ORGANIZATION", "o-exampleorgid"],
                ["ACCOUNT", "555555555555"]
            ])
        );
        let back: ObservedHandshake = serde_json::from_value(json).unwrap();
        assert_eq!(back, handshake);
    }
}
