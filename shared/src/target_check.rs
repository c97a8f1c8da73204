//! The configured target against what the hub's own credentials see: the acceptor accepts
//! nothing, and `onboardctl doctor` says what to fix, while they disagree.

use crate::domain::Target;
use crate::ports::Membership;

/// `Ok` when the hub's own account is in the configured target organization and that
/// organization's management account is the configured one; else what disagrees.
pub fn verify_target(target: &Target, own: Option<&Membership>) -> Result<(), String> {
    let Some(own) = own else {
        return Err(format!(
            "the hub's account is in no organization, but TARGET_ORGANIZATION_ID is {}: deploy the hub in the target organization's management account",
            target.organization
        ));
    };
    if own.organization != target.organization {
        return Err(format!(
            "TARGET_ORGANIZATION_ID is {} but the hub's account is in organization {}: set it to {} or deploy the hub in {}",
            target.organization, own.organization, own.organization, target.organization
        ));
    }
    if own.management_account != target.management_account {
        return Err(format!(
            "TARGET_MANAGEMENT_ACCOUNT_ID is {} but organization {}'s management account is {}: set it to {}",
            target.management_account, own.organization, own.management_account, own.management_account
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, OrganizationId};

    fn target() -> Target {
        Target {
            organization: OrganizationId::parse("o-exampleorgid").unwrap(),
            management_account: AccountId::parse("111111111111").unwrap(),
        }
    }

    #[test]
    fn a_wrong_organization_a_wrong_management_account_or_none_is_named() {
        let same = Membership {
            organization: target().organization,
            management_account: target().management_account,
        };
        assert_eq!(verify_target(&target(), Some(&same)), Ok(()));
        let other_org = Membership {
            organization: OrganizationId::parse("o-otherorg123").unwrap(),
            ..same.clone()
        };
        let error = verify_target(&target(), Some(&other_org)).unwrap_err();
        assert!(
            error.contains("o-otherorg123") && error.contains("o-exampleorgid"),
            "{error}"
        );
        let other_management = Membership {
            management_account: AccountId::parse("999999999999").unwrap(),
            ..same
        };
        let error = verify_target(&target(), Some(&other_management)).unwrap_err();
        assert!(error.contains("999999999999"), "{error}");
        assert!(verify_target(&target(), None)
            .unwrap_err()
            .contains("no organization"));
    }
}
