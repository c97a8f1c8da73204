//! What a command needs from its environment: the AWS configuration (loaded once) and the
//! product's variables, each read only by the commands that use it, with a clear message
//! naming a missing one.

use anyhow::{Context as _, Result};
use aws_config::SdkConfig;
use onboarding::adapters::dynamo::DynamoRecordStore;
use onboarding::config::{Config, EVENT_BUS_NAME, TABLE_NAME};
use onboarding::wiring::{self, AwsTracker, Wiring};

pub struct Context {
    pub aws: SdkConfig,
}

impl Context {
    pub async fn load() -> Self {
        Self {
            aws: aws_config::load_from_env().await,
        }
    }

    /// Where requests go, for error messages.
    pub fn endpoint(&self) -> String {
        self.aws
            .endpoint_url()
            .map_or_else(|| "AWS".to_owned(), |url| url.to_owned())
    }

    pub fn table_name(&self) -> Result<String> {
        variable(TABLE_NAME)
    }

    pub fn bus_name(&self) -> Result<String> {
        variable(EVENT_BUS_NAME)
    }

    pub fn store(&self) -> Result<DynamoRecordStore> {
        Ok(wiring::record_store(&self.aws, &self.table_name()?))
    }

    /// The functions' composition root, on the product's variables.
    pub fn wiring(&self) -> Result<Wiring> {
        Ok(Wiring::new(&self.aws, &Config::from_env()?))
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
}

fn variable(name: &str) -> Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .with_context(|| format!("environment variable {name} is not set"))
}
