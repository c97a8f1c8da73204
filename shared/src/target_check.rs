//! The configured target against what the hub's own credentials see: while they disagree
//! nothing acts for the target (the acceptor accepts and declines nothing, the inviter
//! invites nothing), and `onboardctl doctor` says what to fix.
//!
//! [`TargetGate`] asks once per process (the cold start), before the first account is
//! touched, not only once a handshake passes verification: with a typo in
//! `TARGET_MANAGEMENT_ACCOUNT_ID` every real invitation looks foreign, and a hub that
//! declines unexpected invitations would decline its own while the inviter re-sent them.

use std::sync::Arc;

use tokio::sync::Mutex;
use tracing::error;

use crate::domain::{FunctionName, Target};
use crate::metrics;
use crate::ports::{Membership, TargetDirectory};

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

/// The configured target, verified once per process with the hub's own credentials
/// (DescribeOrganization) before a function acts for it.
pub struct TargetGate {
    directory: Arc<dyn TargetDirectory>,
    target: Target,
    function: FunctionName,
    /// `Some(Ok)` once the target matched, `Some(Err)` once it did not (the configuration
    /// cannot change within a process); `None` until it could be asked.
    verdict: Mutex<Option<Result<(), String>>>,
}

impl TargetGate {
    pub fn new(
        directory: Arc<dyn TargetDirectory>,
        target: Target,
        function: FunctionName,
    ) -> Self {
        Self {
            directory,
            target,
            function,
            verdict: Mutex::new(None),
        }
    }

    /// `Ok` once the configured target is the hub's own organization; else why not. Every
    /// refusal is logged as an error and counted as `TargetMismatch` (the template alarms
    /// on it), so a wrong target is noticed at the first invocation, not at the first
    /// invitation that passes verification. A question that could not be answered is asked
    /// again at the next call.
    pub async fn verified(&self) -> Result<(), String> {
        let verdict = self.verdict().await;
        if let Err(reason) = &verdict {
            error!(function = self.function.as_str(), %reason, "the configured target is not verified; nothing is accepted, declined or invited");
            metrics::count(metrics::TARGET_MISMATCH, self.function);
        }
        verdict
    }

    async fn verdict(&self) -> Result<(), String> {
        let mut known = self.verdict.lock().await;
        if let Some(verdict) = known.as_ref() {
            return verdict.clone();
        }
        match self.directory.own_organization().await {
            Ok(own) => {
                let verdict = verify_target(&self.target, own.as_ref());
                *known = Some(verdict.clone());
                verdict
            }
            Err(error) => Err(format!(
                "cannot read the hub's own organization (DescribeOrganization): {error}"
            )),
        }
    }
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
