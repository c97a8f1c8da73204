//! SDK handshakes as the domain sees them ([`ObservedHandshake`]), and the party an
//! invitation targets.

use aws_sdk_organizations::types::{
    Handshake, HandshakeParty, HandshakePartyType, HandshakeResourceType,
};

use super::errors::malformed;
use super::to_chrono;
use crate::domain::{
    AccountId, AwsFailure, HandshakeAction, HandshakeId, HandshakeParty as ObservedParty,
    HandshakeState, ObservedHandshake, PartyKind,
};
use crate::ports::OrganizationsError;

/// An SDK handshake as the domain sees it. The id must be a valid [`HandshakeId`]; an
/// invalid or missing id is a [`MALFORMED_RESPONSE`](super::MALFORMED_RESPONSE) error.
pub fn observe(handshake: &Handshake) -> Result<ObservedHandshake, OrganizationsError> {
    let raw_id = handshake
        .id()
        .ok_or_else(|| malformed("a handshake without an id"))?;
    let id = HandshakeId::parse(raw_id).map_err(|e| malformed(e.to_string()))?;
    Ok(ObservedHandshake {
        id,
        arn: handshake.arn().map(str::to_owned),
        action: HandshakeAction::parse(handshake.action().map_or("", |a| a.as_str())),
        state: HandshakeState::parse(handshake.state().map_or("", |s| s.as_str())),
        parties: handshake
            .parties()
            .iter()
            .map(|p| ObservedParty::new(PartyKind::parse(p.r#type().as_str()), p.id()))
            .collect(),
        expires_at: handshake.expiration_timestamp().and_then(to_chrono),
        requested_at: handshake.requested_timestamp().and_then(to_chrono),
        transfer: handshake
            .resources()
            .iter()
            .find(|r| r.r#type() == Some(&HandshakeResourceType::ResponsibilityTransfer))
            .and_then(|r| r.value())
            .map(str::to_owned),
    })
}

/// Maps a page of listed handshakes, skipping (with a warning) any whose id is invalid:
/// such a handshake can be neither verified nor accepted, and it must not hide the valid
/// ones of the same account.
pub(super) fn observe_listed(handshakes: &[Handshake], into: &mut Vec<ObservedHandshake>) {
    for handshake in handshakes {
        match observe(handshake) {
            Ok(observed) => into.push(observed),
            Err(err) => tracing::warn!(
                raw_handshake_id = ?handshake.id(),
                error = %err,
                "skipping a listed handshake that cannot be mapped"
            ),
        }
    }
}

pub(super) fn returned_handshake(
    handshake: Option<&Handshake>,
    operation: &str,
) -> Result<ObservedHandshake, OrganizationsError> {
    let handshake =
        handshake.ok_or_else(|| malformed(format!("{operation} returned no handshake")))?;
    observe(handshake)
}

/// The handshake party naming `account`, as the invitations' `Target`.
pub(super) fn account_party(account: &AccountId) -> Result<HandshakeParty, OrganizationsError> {
    HandshakeParty::builder()
        .r#type(HandshakePartyType::Account)
        .id(account.as_str())
        .build()
        .map_err(|e| OrganizationsError {
            failure: AwsFailure::new("ConstructionFailure", None, e.to_string()),
            transient: false,
        })
}
