//! Configuration, read once at start from environment variables. A missing or malformed
//! value fails fast with a message naming the variable. `onboardctl` reads the same names.

use std::time::Duration;

use crate::domain::{AccountId, Deadlines, FunctionName, InvitationLimits, OrganizationId, Target};
use crate::sweep::SweepLimits;

pub const TABLE_NAME: &str = "TABLE_NAME";
pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
pub const TARGET_ORGANIZATION_ID: &str = "TARGET_ORGANIZATION_ID";
pub const TARGET_MANAGEMENT_ACCOUNT_ID: &str = "TARGET_MANAGEMENT_ACCOUNT_ID";
pub const SPOKE_ROLE_NAME: &str = "SPOKE_ROLE_NAME";
pub const SPOKE_EXTERNAL_ID: &str = "SPOKE_EXTERNAL_ID";
pub const DECLINE_UNEXPECTED_INVITATIONS: &str = "DECLINE_UNEXPECTED_INVITATIONS";
/// The target organization's daily invitation quota (AWS default 20).
pub const INVITATION_QUOTA_PER_DAY: &str = "INVITATION_QUOTA_PER_DAY";
/// The target organization's account limit (AWS default 10).
pub const ORGANIZATION_ACCOUNT_LIMIT: &str = "ORGANIZATION_ACCOUNT_LIMIT";
/// Accounts a sweep works on at once (default 8).
pub const SWEEP_CONCURRENCY: &str = "SWEEP_CONCURRENCY";
/// Seconds after which a sweep starts no more accounts (default 840, for a 900 s timeout).
pub const SWEEP_BUDGET_SECONDS: &str = "SWEEP_BUDGET_SECONDS";
/// Hours without progress after which the reconciler announces a stall (default 24).
pub const STALL_AFTER_HOURS: &str = "STALL_AFTER_HOURS";
/// The role the placer assumes in a joined account to prove the target can reach it
/// (default `OrganizationAccountAccessRole`; empty: access is not verified).
pub const ACCESS_ROLE_NAME: &str = "ACCESS_ROLE_NAME";
/// The role an invited account gets for the target (the Organizations user guide's name).
pub const DEFAULT_ACCESS_ROLE_NAME: &str = "OrganizationAccountAccessRole";
/// The regions whose resource policies (KMS, SNS, SQS, Lambda) the preflight reads,
/// comma-separated; default: the function's own region. IAM and S3 are read once.
pub const PREFLIGHT_REGIONS: &str = "PREFLIGHT_REGIONS";
/// How old an account's last preflight may get before the preflight's sweep checks it
/// again (hours, default 24); an account never checked is checked on the next run.
pub const PREFLIGHT_EVERY_HOURS: &str = "PREFLIGHT_EVERY_HOURS";
const DEFAULT_PREFLIGHT_EVERY_HOURS: u32 = 24;

/// The variables each function reads (the template test checks they are all set there).
pub fn variables(function: FunctionName) -> &'static [&'static str] {
    const TRACKER: &[&str] = &[
        TABLE_NAME,
        EVENT_BUS_NAME,
        TARGET_ORGANIZATION_ID,
        TARGET_MANAGEMENT_ACCOUNT_ID,
    ];
    const ACCEPTOR: &[&str] = &[
        TABLE_NAME,
        EVENT_BUS_NAME,
        TARGET_ORGANIZATION_ID,
        TARGET_MANAGEMENT_ACCOUNT_ID,
        SPOKE_ROLE_NAME,
        SPOKE_EXTERNAL_ID,
        DECLINE_UNEXPECTED_INVITATIONS,
        SWEEP_CONCURRENCY,
        SWEEP_BUDGET_SECONDS,
    ];
    const INVITER: &[&str] = &[
        TABLE_NAME,
        EVENT_BUS_NAME,
        TARGET_ORGANIZATION_ID,
        TARGET_MANAGEMENT_ACCOUNT_ID,
        INVITATION_QUOTA_PER_DAY,
        ORGANIZATION_ACCOUNT_LIMIT,
        SWEEP_CONCURRENCY,
        SWEEP_BUDGET_SECONDS,
    ];
    const RECONCILER: &[&str] = &[
        TABLE_NAME,
        EVENT_BUS_NAME,
        TARGET_ORGANIZATION_ID,
        TARGET_MANAGEMENT_ACCOUNT_ID,
        SPOKE_ROLE_NAME,
        SPOKE_EXTERNAL_ID,
        STALL_AFTER_HOURS,
        SWEEP_CONCURRENCY,
        SWEEP_BUDGET_SECONDS,
    ];
    const PLACER: &[&str] = &[
        TABLE_NAME,
        EVENT_BUS_NAME,
        TARGET_ORGANIZATION_ID,
        TARGET_MANAGEMENT_ACCOUNT_ID,
        ACCESS_ROLE_NAME,
        SWEEP_CONCURRENCY,
        SWEEP_BUDGET_SECONDS,
    ];
    const PREFLIGHT: &[&str] = &[
        TABLE_NAME,
        EVENT_BUS_NAME,
        TARGET_ORGANIZATION_ID,
        TARGET_MANAGEMENT_ACCOUNT_ID,
        SPOKE_ROLE_NAME,
        SPOKE_EXTERNAL_ID,
        PREFLIGHT_REGIONS,
        PREFLIGHT_EVERY_HOURS,
        SWEEP_CONCURRENCY,
        SWEEP_BUDGET_SECONDS,
    ];
    match function {
        FunctionName::Tracker => TRACKER,
        FunctionName::Acceptor => ACCEPTOR,
        FunctionName::Preflight => PREFLIGHT,
        FunctionName::Placer => PLACER,
        FunctionName::Inviter => INVITER,
        FunctionName::Reconciler => RECONCILER,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// How the hub reaches customer accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpokeAccess {
    pub role_name: String,
    pub external_id: String,
}

// External ids are secrets of a sort: keep them out of Debug output and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub table_name: String,
    pub event_bus_name: String,
    pub target: Target,
    pub spoke: Option<SpokeAccess>,
    pub decline_unexpected_invitations: bool,
    pub invitation_limits: InvitationLimits,
    pub sweep_limits: SweepLimits,
    /// When the reconciler calls a record stalled and an invitation expiring.
    pub deadlines: Deadlines,
    /// The role the placer assumes in a joined account; `None`: access is not verified.
    pub access_role_name: Option<String>,
    /// The regions the preflight reads resource policies in; empty: the function's own.
    pub preflight_regions: Vec<String>,
    /// How often the preflight's sweep checks an account again.
    pub preflight_every: chrono::Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("event_bus_name", &self.event_bus_name)
            .field("target", &self.target)
            .field(
                "spoke_role_name",
                &self.spoke.as_ref().map(|s| &s.role_name),
            )
            .field(
                "decline_unexpected_invitations",
                &self.decline_unexpected_invitations,
            )
            .field("invitation_limits", &self.invitation_limits)
            .field("sweep_limits", &self.sweep_limits)
            .field("deadlines", &self.deadlines)
            .field("access_role_name", &self.access_role_name)
            .field("preflight_regions", &self.preflight_regions)
            .field("preflight_every", &self.preflight_every)
            .finish()
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let organization =
            OrganizationId::parse(required(TARGET_ORGANIZATION_ID)?).map_err(|e| {
                ConfigError::Invalid {
                    name: TARGET_ORGANIZATION_ID,
                    reason: e.to_string(),
                }
            })?;
        let management_account = AccountId::parse(required(TARGET_MANAGEMENT_ACCOUNT_ID)?)
            .map_err(|e| ConfigError::Invalid {
                name: TARGET_MANAGEMENT_ACCOUNT_ID,
                reason: e.to_string(),
            })?;
        let spoke = match (lookup(SPOKE_ROLE_NAME), lookup(SPOKE_EXTERNAL_ID)) {
            (Some(role_name), Some(external_id)) if !role_name.is_empty() => Some(SpokeAccess {
                role_name,
                external_id,
            }),
            (Some(_), None) => return Err(ConfigError::Missing(SPOKE_EXTERNAL_ID)),
            _ => None,
        };
        let decline_unexpected_invitations = match lookup(DECLINE_UNEXPECTED_INVITATIONS).as_deref()
        {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: DECLINE_UNEXPECTED_INVITATIONS,
                    reason: format!("{other:?}: expected true or false"),
                })
            }
        };
        let number = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
                    name,
                    reason: format!("{value:?}: expected a whole number"),
                }),
            }
        };
        let defaults = (InvitationLimits::default(), SweepLimits::default());
        let invitation_limits = InvitationLimits {
            per_day: number(INVITATION_QUOTA_PER_DAY, defaults.0.per_day)?,
            account_limit: number(ORGANIZATION_ACCOUNT_LIMIT, defaults.0.account_limit)?,
        };
        let sweep_limits = SweepLimits {
            concurrency: number(SWEEP_CONCURRENCY, defaults.1.concurrency as u32)?.max(1) as usize,
            budget: Duration::from_secs(
                number(SWEEP_BUDGET_SECONDS, defaults.1.budget.as_secs() as u32)?.into(),
            ),
            ..defaults.1
        };
        let default_stall = Deadlines::default().stall_after.num_hours() as u32;
        let deadlines = Deadlines {
            stall_after: chrono::Duration::hours(number(STALL_AFTER_HOURS, default_stall)?.into()),
            ..Deadlines::default()
        };
        let access_role_name = match lookup(ACCESS_ROLE_NAME) {
            None => Some(DEFAULT_ACCESS_ROLE_NAME.to_owned()),
            Some(name) if name.trim().is_empty() => None,
            Some(name) => Some(name.trim().to_owned()),
        };
        let preflight_regions = lookup(PREFLIGHT_REGIONS)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
        let preflight_every = chrono::Duration::hours(
            number(PREFLIGHT_EVERY_HOURS, DEFAULT_PREFLIGHT_EVERY_HOURS)?.into(),
        );
        Ok(Self {
            access_role_name,
            preflight_regions,
            preflight_every,
            invitation_limits,
            sweep_limits,
            deadlines,
            table_name: required(TABLE_NAME)?,
            event_bus_name: required(EVENT_BUS_NAME)?,
            target: Target {
                organization,
                management_account,
            },
            spoke,
            decline_unexpected_invitations,
        })
    }

    /// The spoke access, required by the functions that act in customer accounts.
    pub fn require_spoke(&self) -> Result<&SpokeAccess, ConfigError> {
        self.spoke
            .as_ref()
            .ok_or(ConfigError::Missing(SPOKE_ROLE_NAME))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        (TABLE_NAME, "onboarding"),
        (EVENT_BUS_NAME, "org-onboarding"),
        (TARGET_ORGANIZATION_ID, "o-exampleorgid"),
        (TARGET_MANAGEMENT_ACCOUNT_ID, "111111111111"),
    ];

    #[test]
    fn reads_a_complete_configuration() {
        let config = Config::from_lookup(lookup(BASE)).unwrap();
        assert_eq!(config.target.organization.as_str(), "o-exampleorgid");
        assert!(config.spoke.is_none());
        assert!(!config.decline_unexpected_invitations);
    }

    #[test]
    fn a_missing_variable_is_named() {
        for (name, _) in BASE {
            let without: Vec<_> = BASE.iter().copied().filter(|(n, _)| n != name).collect();
            let err = Config::from_lookup(lookup(&without)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("environment variable {name} is not set")
            );
        }
    }

    #[test]
    fn a_malformed_variable_is_named_with_the_reason() {
        let mut pairs = BASE.to_vec();
        pairs[2] = (TARGET_ORGANIZATION_ID, "org-1");
        let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert!(
            err.to_string()
                .contains("TARGET_ORGANIZATION_ID is invalid"),
            "{err}"
        );
    }

    #[test]
    fn limits_default_to_aws_and_a_bad_number_is_named() {
        let config = Config::from_lookup(lookup(BASE)).unwrap();
        assert_eq!(config.invitation_limits, InvitationLimits::default());
        assert_eq!(config.sweep_limits, SweepLimits::default());
        let mut pairs = BASE.to_vec();
        pairs.push((ORGANIZATION_ACCOUNT_LIMIT, "12000"));
        pairs.push((SWEEP_BUDGET_SECONDS, "60"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.invitation_limits.account_limit, 12000);
        assert_eq!(config.sweep_limits.budget, Duration::from_secs(60));
        pairs.push((INVITATION_QUOTA_PER_DAY, "lots"));
        let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert!(
            err.to_string()
                .contains("INVITATION_QUOTA_PER_DAY is invalid"),
            "{err}"
        );
    }

    #[test]
    fn access_is_verified_with_the_user_guides_role_unless_the_name_is_empty() {
        let config = Config::from_lookup(lookup(BASE)).unwrap();
        assert_eq!(
            config.access_role_name.as_deref(),
            Some("OrganizationAccountAccessRole")
        );
        let mut pairs = BASE.to_vec();
        pairs.push((ACCESS_ROLE_NAME, ""));
        assert_eq!(
            Config::from_lookup(lookup(&pairs))
                .unwrap()
                .access_role_name,
            None
        );
    }

    #[test]
    fn preflight_regions_are_a_comma_list_and_default_to_none() {
        let config = Config::from_lookup(lookup(BASE)).unwrap();
        assert!(config.preflight_regions.is_empty());
        assert_eq!(config.preflight_every, chrono::Duration::hours(24));
        let mut pairs = BASE.to_vec();
        pairs.push((PREFLIGHT_REGIONS, " eu-west-1, us-east-1 ,"));
        pairs.push((PREFLIGHT_EVERY_HOURS, "6"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.preflight_regions, ["eu-west-1", "us-east-1"]);
        assert_eq!(config.preflight_every, chrono::Duration::hours(6));
    }

    #[test]
    fn the_external_id_never_appears_in_debug_output() {
        let mut pairs = BASE.to_vec();
        pairs.push((SPOKE_ROLE_NAME, "OrgOnboardingSpoke"));
        pairs.push((SPOKE_EXTERNAL_ID, "s3cr3t-external-id"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert!(!format!("{config:?}").contains("s3cr3t"));
        assert_eq!(
            config.require_spoke().unwrap().role_name,
            "OrgOnboardingSpoke"
        );
    }
}
