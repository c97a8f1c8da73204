//! What a command needs from its environment: the AWS configuration (loaded once), the hub
//! stack when `--stack` names one, and the product's variables, each read only by the
//! commands that use it, with a clear message naming a missing one. The stack's outputs and
//! parameters replace the variables they stand for.

use anyhow::{Context as _, Result};
use aws_config::SdkConfig;
use onboarding::adapters::dynamo::DynamoRecordStore;
use onboarding::config::{
    Config, ConfigError, EVENT_BUS_NAME, SPOKE_EXTERNAL_ID, SPOKE_ROLE_NAME, TABLE_NAME,
};
use onboarding::wiring::{self, AwsTracker, Wiring};

use crate::stack::{self, HubStack};

pub struct Context {
    pub aws: SdkConfig,
    pub stack: Option<HubStack>,
}

impl Context {
    /// The AWS configuration, and stack `stack` read from it.
    pub async fn load(stack: Option<&str>) -> Result<Self> {
        let aws = aws_config::load_from_env().await;
        let stack = match stack {
            Some(name) => Some(stack::read(&aws, name).await?),
            None => None,
        };
        Ok(Self { aws, stack })
    }

    /// Where requests go, for error messages.
    pub fn endpoint(&self) -> String {
        self.aws
            .endpoint_url()
            .map_or_else(|| "AWS".to_owned(), |url| url.to_owned())
    }

    /// A variable of the functions: the stack's value, else the environment's. The stack's
    /// spoke role counts only beside `SPOKE_EXTERNAL_ID`, which only the environment has.
    pub fn lookup(&self, name: &str) -> Option<String> {
        let paired = name != SPOKE_ROLE_NAME || environment(SPOKE_EXTERNAL_ID).is_some();
        self.stack
            .as_ref()
            .filter(|_| paired)
            .and_then(|s| s.variable(name))
            .or_else(|| std::env::var(name).ok())
    }

    /// The spoke role's name (the stack's, else `SPOKE_ROLE_NAME`), with or without an
    /// external id.
    pub fn spoke_role_name(&self) -> Option<String> {
        self.stack
            .as_ref()
            .and_then(|s| s.variable(SPOKE_ROLE_NAME))
            .or_else(|| environment(SPOKE_ROLE_NAME))
            .filter(|name| !name.trim().is_empty())
    }

    pub fn table_name(&self) -> Result<String> {
        self.variable(TABLE_NAME)
    }

    pub fn bus_name(&self) -> Result<String> {
        self.variable(EVENT_BUS_NAME)
    }

    /// The functions' configuration, on the stack and the environment.
    pub fn config(&self) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| self.lookup(name))
    }

    pub fn store(&self) -> Result<DynamoRecordStore> {
        Ok(wiring::record_store(&self.aws, &self.table_name()?))
    }

    /// The functions' composition root, on the product's variables.
    pub fn wiring(&self) -> Result<Wiring> {
        Ok(Wiring::new(&self.aws, &self.config()?))
    }

    pub fn tracker(&self) -> Result<AwsTracker> {
        Ok(self.wiring()?.tracker())
    }

    /// Adds where the request went to an AWS error, so "unreachable" names the endpoint.
    pub fn at<T, E: std::error::Error + Send + Sync + 'static>(
        &self,
        result: Result<T, E>,
        what: &str,
    ) -> Result<T> {
        result.with_context(|| format!("{what} at {}", self.endpoint()))
    }

    fn variable(&self, name: &str) -> Result<String> {
        self.lookup(name)
            .filter(|v| !v.trim().is_empty())
            .with_context(|| format!("environment variable {name} is not set"))
    }
}

/// A variable of the process environment (set and not blank).
pub fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
