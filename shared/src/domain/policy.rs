//! The verification policy: may this invitation be accepted?
//!
//! Only a handshake *as returned by the Organizations API* in the invited account is
//! judged here; a CloudTrail event only ever says "look now". An invitation passes when:
//! action `INVITE`, state `OPEN`, not expired at `now`, an `ORGANIZATION` party that is the
//! target organization, an `ACCOUNT` party that is the invited account, and an ARN
//! (`arn:aws:organizations::<management account>:handshake/<org>/invite/<id>`) naming the
//! target's management account and organization. Every refusal has a stable reason code.
//!
//! A billing transfer ([`Offer::TransferBilling`], groundwork for the `billing` mode) is
//! judged exactly as strictly, with action `TRANSFER_RESPONSIBILITY`: the target's own
//! organization and management account invite the customer's management account.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::handshake::ObservedHandshake;
use super::handshake::{HandshakeAction, HandshakeState, PartyKind};
use super::ids::{handshake_arn_parts, AccountId, HandshakeId, OrganizationId};
use super::record::Target;

/// Why an invitation is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Refusal {
    NotAnInvitation { action: String },
    NotOpen { state: String },
    Expired { expired_at: Option<DateTime<Utc>> },
    WrongOrganization { found: Vec<String> },
    WrongManagementAccount { found: String },
    AccountNotAParty,
    UnverifiableArn { arn: Option<String> },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAnInvitation { .. } => "NOT_AN_INVITATION",
            Refusal::NotOpen { .. } => "NOT_OPEN",
            Refusal::Expired { .. } => "EXPIRED",
            Refusal::WrongOrganization { .. } => "WRONG_ORGANIZATION",
            Refusal::WrongManagementAccount { .. } => "WRONG_MANAGEMENT_ACCOUNT",
            Refusal::AccountNotAParty => "ACCOUNT_NOT_A_PARTY",
            Refusal::UnverifiableArn { .. } => "UNVERIFIABLE_ARN",
        }
    }

    /// A refusal that means "someone else invited this account" (worth reporting), as
    /// opposed to an old, closed or expired handshake.
    pub fn is_unexpected(&self) -> bool {
        matches!(
            self,
            Refusal::WrongOrganization { .. }
                | Refusal::WrongManagementAccount { .. }
                | Refusal::AccountNotAParty
                | Refusal::UnverifiableArn { .. }
        )
    }

    pub fn describe(&self) -> String {
        match self {
            Refusal::NotAnInvitation { action } => {
                format!("{}: action is {action}, not the one expected", self.code())
            }
            Refusal::NotOpen { state } => format!("{}: state is {state}", self.code()),
            Refusal::Expired { expired_at } => {
                format!("{}: expired at {expired_at:?}", self.code())
            }
            Refusal::WrongOrganization { found } => {
                format!("{}: from {}", self.code(), found.join(", "))
            }
            Refusal::WrongManagementAccount { found } => {
                format!("{}: management account {found}", self.code())
            }
            Refusal::AccountNotAParty => {
                format!("{}: the invited account is not a party", self.code())
            }
            Refusal::UnverifiableArn { arn } => format!("{}: {arn:?}", self.code()),
        }
    }
}

/// What a handshake offers, by its action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Offer {
    #[default]
    /// `INVITE`: join the organization.
    Join,
    /// `TRANSFER_RESPONSIBILITY`: let the organization take over the invited
    /// organization's bill (InviteOrganizationToTransferResponsibility, type `BILLING`).
    TransferBilling,
}

impl Offer {
    /// The handshake action of this offer.
    pub fn action(self) -> HandshakeAction {
        match self {
            Offer::Join => HandshakeAction::Invite,
            Offer::TransferBilling => HandshakeAction::TransferResponsibility,
        }
    }
}

/// Judges one handshake for `invited`: an invitation to join the target.
pub fn verify(
    handshake: &ObservedHandshake,
    invited: &AccountId,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    verify_offer(Offer::Join, handshake, invited, target, now)
}

/// Judges one handshake for `invited` as `offer`: its action, then the same checks for
/// every offer (open, not expired, from the target organization and its management
/// account, naming the invited account).
pub fn verify_offer(
    offer: Offer,
    handshake: &ObservedHandshake,
    invited: &AccountId,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if handshake.action != offer.action() {
        return Err(Refusal::NotAnInvitation {
            action: handshake.action.to_string(),
        });
    }
    if handshake.state != HandshakeState::Open {
        return Err(Refusal::NotOpen {
            state: handshake.state.to_string(),
        });
    }
    match handshake.expires_at {
        Some(at) if at > now => {}
        other => return Err(Refusal::Expired { expired_at: other }),
    }
    let organizations: Vec<String> = handshake
        .party_ids(&PartyKind::Organization)
        .map(str::to_owned)
        .collect();
    if !organizations
        .iter()
        .any(|id| id == target.organization.as_str())
    {
        return Err(Refusal::WrongOrganization {
            found: organizations,
        });
    }
    if !handshake.names_account(invited) {
        return Err(Refusal::AccountNotAParty);
    }
    let Some((management, organization)) = handshake.arn.as_deref().and_then(handshake_arn_parts)
    else {
        return Err(Refusal::UnverifiableArn {
            arn: handshake.arn.clone(),
        });
    };
    if organization != target.organization.as_str() {
        return Err(Refusal::WrongOrganization {
            found: vec![organization.to_owned()],
        });
    }
    if management != target.management_account.as_str() {
        return Err(Refusal::WrongManagementAccount {
            found: management.to_owned(),
        });
    }
    Ok(())
}

/// What to do with an account's handshakes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// The invitation to accept, if one passes (the latest-expiring, if several do).
    pub accept: Option<HandshakeId>,
    /// Open invitations that failed the policy for a reason worth reporting.
    pub unexpected: Vec<(HandshakeId, Option<OrganizationId>, Refusal)>,
}

/// Judges every handshake of `invited` as an invitation to join.
pub fn judge(
    handshakes: &[ObservedHandshake],
    invited: &AccountId,
    target: &Target,
    now: DateTime<Utc>,
) -> Verdict {
    judge_offer(Offer::Join, handshakes, invited, target, now)
}

/// Judges every handshake of `invited` as `offer`: the open handshakes of that action that
/// fail for a reason worth reporting are the unexpected ones.
pub fn judge_offer(
    offer: Offer,
    handshakes: &[ObservedHandshake],
    invited: &AccountId,
    target: &Target,
    now: DateTime<Utc>,
) -> Verdict {
    let mut verdict = Verdict::default();
    let mut best: Option<&ObservedHandshake> = None;
    for handshake in handshakes {
        match verify_offer(offer, handshake, invited, target, now) {
            Ok(()) => {
                if best.is_none_or(|b| handshake.expires_at > b.expires_at) {
                    best = Some(handshake);
                }
            }
            Err(refusal) if handshake.is_open_offer(offer) && refusal.is_unexpected() => {
                verdict.unexpected.push((
                    handshake.id.clone(),
                    handshake.inviting_organization(),
                    refusal,
                ));
            }
            Err(_) => {}
        }
    }
    verdict.accept = best.map(|h| h.id.clone());
    verdict
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::handshake::HandshakeParty;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }
    fn target() -> Target {
        Target {
            organization: OrganizationId::parse("o-exampleorgid").unwrap(),
            management_account: AccountId::parse("111111111111").unwrap(),
        }
    }
    fn invited() -> AccountId {
        AccountId::parse("555555555555").unwrap()
    }
    fn valid() -> ObservedHandshake {
        ObservedHandshake {
            id: HandshakeId::parse("h-examplehandshakeid111").unwrap(),
            arn: Some("arn:aws:organizations::111111111111:handshake/o-exampleorgid/invite/h-examplehandshakeid111".into()),
            action: "INVITE".into(),
            state: "OPEN".into(),
            parties: vec![HandshakeParty::organization("o-exampleorgid"), HandshakeParty::account("555555555555")],
            expires_at: Some(now() + Duration::days(14)),
            requested_at: None,
            transfer: None,
        }
    }
    fn refusal(h: ObservedHandshake) -> &'static str {
        verify(&h, &invited(), &target(), now()).unwrap_err().code()
    }

    fn transfer() -> ObservedHandshake {
        ObservedHandshake {
            action: "TRANSFER_RESPONSIBILITY".into(),
            arn: Some("arn:aws:organizations::111111111111:handshake/o-exampleorgid/transfer/h-examplehandshakeid111".into()),
            ..valid()
        }
    }

    #[test]
    fn a_billing_transfer_is_judged_as_strictly_as_an_invitation() {
        let check =
            |h: &ObservedHandshake, offer| verify_offer(offer, h, &invited(), &target(), now());
        assert_eq!(check(&transfer(), Offer::TransferBilling), Ok(()));
        assert_eq!(
            check(&transfer(), Offer::Join).unwrap_err().code(),
            "NOT_AN_INVITATION",
            "a transfer is never taken for an invitation to join"
        );
        assert_eq!(
            check(&valid(), Offer::TransferBilling).unwrap_err().code(),
            "NOT_AN_INVITATION"
        );
        let foreign = ObservedHandshake {
            parties: vec![
                HandshakeParty::organization("o-otherorgid1"),
                HandshakeParty::account("555555555555"),
            ],
            ..transfer()
        };
        assert_eq!(
            check(&foreign, Offer::TransferBilling).unwrap_err().code(),
            "WRONG_ORGANIZATION"
        );
        let other_management = ObservedHandshake {
            arn: Some("arn:aws:organizations::999999999999:handshake/o-exampleorgid/transfer/h-examplehandshakeid111".into()),
            ..transfer()
        };
        assert_eq!(
            check(&other_management, Offer::TransferBilling)
                .unwrap_err()
                .code(),
            "WRONG_MANAGEMENT_ACCOUNT"
        );
        let expired = ObservedHandshake {
            expires_at: Some(now()),
            ..transfer()
        };
        assert_eq!(
            check(&expired, Offer::TransferBilling).unwrap_err().code(),
            "EXPIRED"
        );
        let accepted = ObservedHandshake {
            state: "ACCEPTED".into(),
            ..transfer()
        };
        assert_eq!(
            check(&accepted, Offer::TransferBilling).unwrap_err().code(),
            "NOT_OPEN"
        );
    }

    #[test]
    fn the_valid_invitation_is_accepted() {
        assert_eq!(verify(&valid(), &invited(), &target(), now()), Ok(()));
        // lowercase action and state, as CloudTrail writes them, are the same invitation
        let lower = ObservedHandshake {
            action: "invite".into(),
            state: "open".into(),
            ..valid()
        };
        assert_eq!(verify(&lower, &invited(), &target(), now()), Ok(()));
    }

    #[test]
    fn wrong_organization_is_refused() {
        let mut h = valid();
        h.parties[0].id = "o-foreignorg01".into();
        h.arn = Some("arn:aws:organizations::666666666666:handshake/o-foreignorg01/invite/h-examplehandshakeid111".into());
        assert_eq!(refusal(h), "WRONG_ORGANIZATION");
    }

    #[test]
    fn right_organization_id_with_a_wrong_management_account_is_refused() {
        let mut h = valid();
        h.arn = Some("arn:aws:organizations::666666666666:handshake/o-exampleorgid/invite/h-examplehandshakeid111".into());
        assert_eq!(refusal(h), "WRONG_MANAGEMENT_ACCOUNT");
    }

    #[test]
    fn party_and_arn_must_agree_on_the_organization() {
        let mut h = valid();
        h.arn = Some("arn:aws:organizations::111111111111:handshake/o-foreignorg01/invite/h-examplehandshakeid111".into());
        assert_eq!(refusal(h), "WRONG_ORGANIZATION");
    }

    #[test]
    fn every_state_but_open_is_refused() {
        for state in ["REQUESTED", "ACCEPTED", "DECLINED", "CANCELED", "EXPIRED"] {
            assert_eq!(
                refusal(ObservedHandshake {
                    state: state.into(),
                    ..valid()
                }),
                "NOT_OPEN",
                "{state}"
            );
        }
    }

    #[test]
    fn expired_or_undated_is_refused() {
        assert_eq!(
            refusal(ObservedHandshake {
                expires_at: Some(now()),
                requested_at: None,
                ..valid()
            }),
            "EXPIRED"
        );
        assert_eq!(
            refusal(ObservedHandshake {
                expires_at: Some(now() - Duration::hours(1)),
                requested_at: None,
                ..valid()
            }),
            "EXPIRED"
        );
        assert_eq!(
            refusal(ObservedHandshake {
                expires_at: None,
                requested_at: None,
                ..valid()
            }),
            "EXPIRED"
        );
    }

    #[test]
    fn actions_other_than_invite_are_refused() {
        for action in [
            "ENABLE_ALL_FEATURES",
            "APPROVE_ALL_FEATURES",
            "ADD_ORGANIZATIONS_SERVICE_LINKED_ROLE",
        ] {
            assert_eq!(
                refusal(ObservedHandshake {
                    action: action.into(),
                    ..valid()
                }),
                "NOT_AN_INVITATION"
            );
        }
    }

    #[test]
    fn an_invitation_for_another_account_is_refused() {
        let mut h = valid();
        h.parties[1].id = "444444444444".into();
        assert_eq!(refusal(h), "ACCOUNT_NOT_A_PARTY");
    }

    #[test]
    fn a_missing_or_foreign_arn_is_refused() {
        assert_eq!(
            refusal(ObservedHandshake {
                arn: None,
                ..valid()
            }),
            "UNVERIFIABLE_ARN"
        );
        assert_eq!(
            refusal(ObservedHandshake {
                arn: Some("arn:aws:iam::111111111111:role/x".into()),
                ..valid()
            }),
            "UNVERIFIABLE_ARN"
        );
    }

    #[test]
    fn judge_accepts_the_valid_one_and_reports_only_open_foreign_invitations() {
        let mut foreign = valid();
        foreign.id = HandshakeId::parse("h-foreignhandshake001").unwrap();
        foreign.parties[0].id = "o-foreignorg01".into();
        foreign.arn = Some("arn:aws:organizations::666666666666:handshake/o-foreignorg01/invite/h-foreignhandshake001".into());
        let mut old = valid();
        old.id = HandshakeId::parse("h-oldhandshake0001").unwrap();
        old.state = "EXPIRED".into();
        let verdict = judge(&[foreign, old, valid()], &invited(), &target(), now());
        assert_eq!(verdict.accept, Some(valid().id));
        assert_eq!(verdict.unexpected.len(), 1);
        assert_eq!(verdict.unexpected[0].0.as_str(), "h-foreignhandshake001");
        assert_eq!(
            verdict.unexpected[0].1.as_ref().unwrap().as_str(),
            "o-foreignorg01"
        );
    }
}
