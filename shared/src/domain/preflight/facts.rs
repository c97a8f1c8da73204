//! What the preflight reads in one account through its spoke role: each read is what it
//! returned or why it could not ([`Read`]).

use crate::domain::blocker::AwsFailure;
use crate::domain::ids::{AccountId, OrganizationId};
use crate::domain::policy::ObservedHandshake;
use chrono::{DateTime, Utc};

/// One read the spoke role made: what it returned, or why it could not.
pub type Read<T> = Result<T, AwsFailure>;

/// The phone verification status GetContactInformation returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneVerification {
    Verified,
    Pending,
    Unverified,
    /// Phone verification is not available for this account.
    NotSupported,
    /// The response carried no status.
    NotReported,
}

impl PhoneVerification {
    /// The status as AWS spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Verified => "VERIFIED",
            Self::Pending => "PENDING",
            Self::Unverified => "UNVERIFIED",
            Self::NotSupported => "NOT_SUPPORTED",
            Self::NotReported => "NOT_REPORTED",
        }
    }
}

/// The primary contact of the account (GetContactInformation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Missing,
    Present { phone: PhoneVerification },
}

/// The organization the account is in, as DescribeOrganization shows it from inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenOrganization {
    pub organization: OrganizationId,
    pub management_account: AccountId,
}

/// A resource policy document (or a role's trust policy), as the account returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// The resource's ARN.
    pub resource: String,
    pub document: String,
}

/// A kind of resource whose policies could not be listed or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadPolicies {
    /// e.g. `s3 bucket policies (us-east-1)`.
    pub what: String,
    pub failure: AwsFailure,
}

/// Everything the preflight read in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    pub contact: Read<Contact>,
    pub created_at: Read<Option<DateTime<Utc>>>,
    /// `None`: not in any organization.
    pub organization: Read<Option<SeenOrganization>>,
    /// Whether the old management account lists the account as a delegated administrator
    /// (ListDelegatedAdministrators); `None` when there is no management account to ask.
    pub delegated_administrator: Option<Read<bool>>,
    pub handshakes: Read<Vec<ObservedHandshake>>,
    pub policies: Vec<PolicyDocument>,
    pub unread_policies: Vec<UnreadPolicies>,
}
