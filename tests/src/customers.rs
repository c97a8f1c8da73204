//! Customer organizations and enrollments, as the demo and the emulator tests set them up:
//! a management account with its organization and members, each reachable by the hub
//! (spoke role and event forwarding), and the enrollment naming them.
//!
//! Why here: the scenario's two acts and the acceptor tests all need "an organization
//! with members, enrolled in a mode"; one copy keeps them creating it the same way.

use anyhow::Result;
use onboarding::domain::{AccountId, Enrollment, EnrollmentName, TransferMode};

use crate::accounts::AwsAccount;
use crate::emulator::Emulator;
use crate::hub::Hub;

/// A customer organization on the emulator, every account reachable from the hub.
pub struct CustomerOrganization {
    pub management: AwsAccount,
    pub organization: String,
    pub members: Vec<AwsAccount>,
}

impl CustomerOrganization {
    /// Creates the management account `management_id`, its organization and a member per
    /// id of `member_ids`, and makes each of them reachable from `hub`.
    pub async fn create(
        emulator: &Emulator,
        hub: &Hub,
        management_id: &str,
        member_ids: &[String],
    ) -> Result<CustomerOrganization> {
        let management = AwsAccount::create(emulator, management_id).await?;
        let organization = management.create_organization().await?;
        let mut members = Vec::new();
        for id in member_ids {
            members.push(AwsAccount::create_member_of(emulator, id, &organization).await?);
        }
        for account in [&management].into_iter().chain(&members) {
            hub.add_spoke(account).await?;
        }
        Ok(CustomerOrganization {
            management,
            organization,
            members,
        })
    }

    /// The management account's and the members' ids, in that order.
    pub fn account_ids(&self) -> Vec<String> {
        [&self.management]
            .into_iter()
            .chain(&self.members)
            .map(|a| a.account_id().to_string())
            .collect()
    }

    /// The enrollment of this organization in `mode`, with `standalone` accounts beside it.
    pub fn enrollment(
        &self,
        name: &str,
        mode: TransferMode,
        standalone: &[&AwsAccount],
    ) -> Result<Enrollment> {
        let members: Vec<&str> = self.members.iter().map(|m| m.account_id()).collect();
        let standalone: Vec<&str> = standalone.iter().map(|a| a.account_id()).collect();
        enrollment(
            name,
            mode,
            Some(self.management.account_id()),
            &members,
            &standalone,
        )
    }
}

/// An enrollment of the given account ids.
pub fn enrollment(
    name: &str,
    mode: TransferMode,
    management: Option<&str>,
    members: &[&str],
    standalone: &[&str],
) -> Result<Enrollment> {
    let ids = |ids: &[&str]| {
        ids.iter()
            .map(|id| AccountId::parse(*id))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Enrollment {
        name: EnrollmentName::parse(name)?,
        transfer_mode: mode,
        management_account: management.map(AccountId::parse).transpose()?,
        members: ids(members)?,
        standalone_accounts: ids(standalone)?,
        placement: Default::default(),
    })
}

/// A one-account enrollment of a standalone account.
pub fn standalone_enrollment(name: &str, account: &str) -> Result<Enrollment> {
    enrollment(name, TransferMode::Standalone, None, &[], &[account])
}
