//! The composition root: every function's handler is built here, from the AWS
//! configuration and the product's [`Config`], and nowhere else. The Lambda binaries
//! (through [`crate::serve`]), `onboardctl` and the test harness all build through
//! [`Wiring`], so the handler modules see ports only.
//!
//! A new function: its handler module behind the ports, a type alias and a [`Function`]
//! impl here, a crate under `functions/` whose `main` calls `serve`, and its resource in
//! `template.yaml` (the template contract test fails until it is there).

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use serde_json::Value;

use crate::acceptor::Acceptor;
use crate::adapters::dynamo::DynamoRecordStore;
use crate::adapters::eventbridge::EventBridgeNotifier;
use crate::adapters::lazy::Lazy;
use crate::adapters::organizations::{
    ClientHook, SdkTargetOrganization, SessionInterceptors, SessionScope, StsCredentials,
};
use crate::adapters::placement::StsTargetAccess;
use crate::config::{Config, ConfigError};
use crate::domain::FunctionName;
use crate::error_class::{Classified, FunctionError};
use crate::inviter::Inviter;
use crate::placer::Placer;
use crate::reconciler::Reconciler;
use crate::recorder::ObservationRecorder;
use crate::tracker::Tracker;

pub type AwsTracker = Tracker<DynamoRecordStore, EventBridgeNotifier>;
pub type AwsAcceptor = Acceptor<DynamoRecordStore, EventBridgeNotifier, StsCredentials>;
pub type AwsInviter = Inviter<DynamoRecordStore, EventBridgeNotifier, SdkTargetOrganization>;
pub type AwsPlacer =
    Placer<DynamoRecordStore, EventBridgeNotifier, SdkTargetOrganization, StsTargetAccess>;
pub type AwsReconciler =
    Reconciler<DynamoRecordStore, EventBridgeNotifier, SdkTargetOrganization, StsCredentials>;
#[cfg(feature = "preflight")]
pub type AwsPreflight = crate::preflight::Preflight<
    DynamoRecordStore,
    EventBridgeNotifier,
    crate::adapters::preflight::SdkAccountInspector,
>;

/// What every handler is built from. Clients are built on demand; each shares the
/// configuration's HTTP client and credentials cache.
#[derive(Clone)]
pub struct Wiring {
    aws: SdkConfig,
    config: Config,
    spoke_client_hook: Option<ClientHook>,
    spoke_interceptors: Option<SessionInterceptors>,
    organizations: Option<aws_sdk_organizations::Client>,
    /// Added to every client built with the function's own credentials (the harness logs
    /// each function's calls for the IAM check this way).
    interceptors: Vec<SharedInterceptor>,
}

/// A client of `$sdk` from the wiring's configuration, with its interceptors.
macro_rules! client {
    ($wiring:expr, $sdk:ident) => {{
        let mut builder = $sdk::config::Builder::from(&$wiring.aws);
        for interceptor in &$wiring.interceptors {
            builder.push_interceptor(interceptor.clone());
        }
        $sdk::Client::from_conf(builder.build())
    }};
}

impl Wiring {
    pub fn new(aws: &SdkConfig, config: &Config) -> Self {
        Self {
            aws: aws.clone(),
            config: config.clone(),
            spoke_client_hook: None,
            spoke_interceptors: None,
            organizations: None,
            interceptors: Vec::new(),
        }
    }

    /// Adds `interceptor` to every client built with the function's own credentials.
    pub fn with_interceptor(mut self, interceptor: SharedInterceptor) -> Self {
        self.interceptors.push(interceptor);
        self
    }

    /// Passes every spoke client's configuration through `hook` (the test harness records
    /// CloudTrail in the customer account this way).
    pub fn with_spoke_client_hook(mut self, hook: ClientHook) -> Self {
        self.spoke_client_hook = Some(hook);
        self
    }

    /// Adds interceptors to every client of a spoke session (other services than
    /// Organizations, which [`Wiring::with_spoke_client_hook`] reaches).
    pub fn with_spoke_interceptors(mut self, interceptors: SessionInterceptors) -> Self {
        self.spoke_interceptors = Some(interceptors);
        self
    }

    /// The hub's own Organizations client, instead of one built from the configuration.
    pub fn with_organizations_client(mut self, client: aws_sdk_organizations::Client) -> Self {
        self.organizations = Some(client);
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.aws
    }

    pub fn store(&self) -> DynamoRecordStore {
        DynamoRecordStore::new(client!(self, aws_sdk_dynamodb), &self.config.table_name)
    }

    pub fn notifier(&self) -> EventBridgeNotifier {
        EventBridgeNotifier::new(
            client!(self, aws_sdk_eventbridge),
            &self.config.event_bus_name,
        )
    }

    /// What every function records through; it confirms acceptances with the target
    /// organization's member list.
    pub fn recorder(&self) -> ObservationRecorder<DynamoRecordStore, EventBridgeNotifier> {
        ObservationRecorder::new(self.store(), self.notifier(), self.config.target.clone())
            .with_target_directory(self.target_directory())
    }

    /// The tracker confirms acceptances with the target organization's member list.
    pub fn tracker(&self) -> AwsTracker {
        Tracker::new(self.store(), self.notifier(), self.config.target.clone())
            .with_target_directory(self.target_directory())
    }

    /// The target organization's member list, its client built on the first question:
    /// most events never ask one, so a cold start does not pay for it.
    fn target_directory(&self) -> Arc<Lazy<SdkTargetOrganization>> {
        let wiring = self.clone();
        Arc::new(Lazy::new(move || wiring.target_organization()))
    }

    /// The target organization, with the function's own credentials (it runs in the
    /// target management account).
    pub fn target_organization(&self) -> SdkTargetOrganization {
        let client = self
            .organizations
            .clone()
            .unwrap_or_else(|| client!(self, aws_sdk_organizations));
        SdkTargetOrganization::new(client)
    }

    /// Customer accounts are reached through the spoke role only, each function's session
    /// held to its own operations by its session policy.
    fn spoke_credentials(&self, function: FunctionName) -> Result<StsCredentials, ConfigError> {
        let spoke = self.config.require_spoke()?;
        let mut credentials = StsCredentials::with_sts_client(
            client!(self, aws_sdk_sts),
            &self.aws,
            &spoke.role_name,
            &spoke.external_id,
            SessionScope::Function(function),
        );
        if let Some(hook) = &self.spoke_client_hook {
            credentials = credentials.with_client_hook(hook.clone());
        }
        if let Some(interceptors) = &self.spoke_interceptors {
            credentials = credentials.with_session_interceptors(interceptors.clone());
        }
        Ok(credentials)
    }

    /// The acceptor acts in customer accounts, after checking the target once.
    pub fn acceptor(&self) -> Result<AwsAcceptor, ConfigError> {
        Ok(Acceptor::new(
            self.recorder(),
            self.spoke_credentials(FunctionName::Acceptor)?,
            Arc::new(self.target_organization()),
            self.config.decline_unexpected_invitations,
        )
        .with_sweep_limits(self.config.sweep_limits))
    }

    /// The inviter acts as the target organization with the function's own credentials,
    /// after checking the target once.
    pub fn inviter(&self) -> AwsInviter {
        Inviter::new(
            self.recorder(),
            self.target_organization(),
            Arc::new(self.target_organization()),
        )
        .with_limits(self.config.invitation_limits)
        .with_sweep_limits(self.config.sweep_limits)
    }

    /// The reconciler reads the target organization with the function's own credentials
    /// and customer accounts through the spoke role.
    pub fn reconciler(&self) -> Result<AwsReconciler, ConfigError> {
        Ok(Reconciler::new(
            self.recorder(),
            self.target_organization(),
            self.spoke_credentials(FunctionName::Reconciler)?,
        )
        .with_deadlines(self.config.deadlines)
        .with_sweep_limits(self.config.sweep_limits))
    }

    /// The placer arranges the target organization and assumes the access role with the
    /// function's own credentials (the target management account's).
    pub fn placer(&self) -> AwsPlacer {
        Placer::new(
            self.recorder(),
            self.target_organization(),
            StsTargetAccess::new(client!(self, aws_sdk_sts)),
        )
        .with_access_role(self.config.access_role_name.clone())
        .with_sweep_limits(self.config.sweep_limits)
    }
}

#[cfg(feature = "preflight")]
impl Wiring {
    /// The preflight reads customer accounts through the spoke role only.
    pub fn preflight(&self) -> Result<AwsPreflight, ConfigError> {
        let inspector = crate::adapters::preflight::SdkAccountInspector::new(
            Arc::new(self.spoke_credentials(FunctionName::Preflight)?),
            self.config.preflight_regions.clone(),
        );
        Ok(crate::preflight::Preflight::new(self.recorder(), inspector)
            .with_interval(self.config.preflight_every)
            .with_sweep_limits(self.config.sweep_limits))
    }
}

#[cfg(feature = "preflight")]
#[async_trait]
impl Function for AwsPreflight {
    const NAME: FunctionName = FunctionName::Preflight;
    fn build(wiring: &Wiring) -> Result<Self, ConfigError> {
        wiring.preflight()
    }
    async fn invoke(&self, event: &Value) -> Result<(), FunctionError> {
        outcome(self.handle_json(event).await)
    }
}

/// The record store on `table` (for what needs only the table, such as `onboardctl status`).
pub fn record_store(aws: &SdkConfig, table: &str) -> DynamoRecordStore {
    DynamoRecordStore::new(aws_sdk_dynamodb::Client::new(aws), table)
}

/// A function as its runtime runs it: built once from the wiring, then invoked with each
/// event. `Err` carries the failure's class (Lambda retries, then the dead-letter queue).
#[async_trait]
pub trait Function: Send + Sync + Sized + 'static {
    /// The function (its crate and binary are `functions/<NAME>`).
    const NAME: FunctionName;
    fn build(wiring: &Wiring) -> Result<Self, ConfigError>;
    async fn invoke(&self, event: &Value) -> Result<(), FunctionError>;
}

#[async_trait]
impl Function for AwsTracker {
    const NAME: FunctionName = FunctionName::Tracker;
    fn build(wiring: &Wiring) -> Result<Self, ConfigError> {
        Ok(wiring.tracker())
    }
    async fn invoke(&self, event: &Value) -> Result<(), FunctionError> {
        outcome(self.handle_json(event).await)
    }
}

#[async_trait]
impl Function for AwsAcceptor {
    const NAME: FunctionName = FunctionName::Acceptor;
    fn build(wiring: &Wiring) -> Result<Self, ConfigError> {
        wiring.acceptor()
    }
    async fn invoke(&self, event: &Value) -> Result<(), FunctionError> {
        outcome(self.handle_json(event).await)
    }
}

#[async_trait]
impl Function for AwsInviter {
    const NAME: FunctionName = FunctionName::Inviter;
    fn build(wiring: &Wiring) -> Result<Self, ConfigError> {
        Ok(wiring.inviter())
    }
    async fn invoke(&self, event: &Value) -> Result<(), FunctionError> {
        outcome(self.handle_json(event).await)
    }
}

#[async_trait]
impl Function for AwsReconciler {
    const NAME: FunctionName = FunctionName::Reconciler;
    fn build(wiring: &Wiring) -> Result<Self, ConfigError> {
        wiring.reconciler()
    }
    async fn invoke(&self, event: &Value) -> Result<(), FunctionError> {
        outcome(self.handle_json(event).await)
    }
}

#[async_trait]
impl Function for AwsPlacer {
    const NAME: FunctionName = FunctionName::Placer;
    fn build(wiring: &Wiring) -> Result<Self, ConfigError> {
        Ok(wiring.placer())
    }
    async fn invoke(&self, event: &Value) -> Result<(), FunctionError> {
        outcome(self.handle_json(event).await)
    }
}

/// A handler's result as a function returns it: the outcome is logged by the handler, an
/// error keeps its class.
fn outcome<T, E: Classified>(result: Result<T, E>) -> Result<(), FunctionError> {
    result.map(drop).map_err(|e| FunctionError::new(&e))
}
