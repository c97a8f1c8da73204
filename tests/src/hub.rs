//! The product's hub, wired on the emulator as in AWS: the table, the hub bus with its
//! rules (the [`EventLoop`]), and the tracker, acceptor and inviter handlers with real SDK
//! clients acting as the target organization's management account. The acceptor reaches
//! customer accounts only through the spoke role (STS AssumeRole with the external id),
//! and every Organizations client it or the inviter uses records CloudTrail events, so the
//! product's own calls feed the tracker exactly as in AWS.

use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use onboarding::adapters::dynamo::{create_table, DynamoRecordStore};
use onboarding::adapters::eventbridge::EventBridgeNotifier;
use onboarding::adapters::organizations::{
    ClientHook, SdkTargetOrganization, SessionScope, SpokeSession, StsCredentials,
};
use onboarding::adapters::placement::StsTargetAccess;
use onboarding::config::{Config, SpokeAccess, DEFAULT_ACCESS_ROLE_NAME};
use onboarding::domain::{
    AccountId, Deadlines, Enrollment, FunctionName, InvitationLimits, OnboardingRecord,
    OrganizationId, Target,
};
use onboarding::placer::Placer;
use onboarding::ports::{RecordCreator, RecordReader, RecordStore};
use onboarding::reconciler::Reconciler;
use onboarding::sweep::SweepLimits;
use onboarding::tracker::Tracker;
use onboarding::wiring::{
    AwsAcceptor, AwsInviter, AwsPlacer, AwsPreflight, AwsReconciler, AwsTracker, Function, Wiring,
};

use crate::accounts::{AwsAccount, CallerIdentity, IdentityKind, SpokeRole};
use crate::call_log;
use crate::counter::CallCounter;
use crate::emulator::Emulator;
use crate::event_loop::{Dispatcher, EventLoop, HUB_BUS_NAME};
use crate::recorder::{
    recorded_organizations_client, recorded_organizations_client_with, Recorder,
};

/// A short unique prefix for a test's table, rules and queues: `name-` and 8 hex digits.
pub fn unique_prefix(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// The external id the local spoke roles require (in AWS: a deploy-time secret).
pub const EXTERNAL_ID: &str = "org-onboarding-local-external-id";

/// The target organization's management account running the hub.
#[derive(Clone)]
pub struct Hub {
    pub account: AwsAccount,
    pub target: Target,
    pub table: String,
    pub event_loop: EventLoop,
    pub recorder: Recorder,
    pub spoke: SpokeRole,
    pub decline_unexpected: bool,
    /// The emulator enforces neither limit; a hub is set as an organization whose limits
    /// AWS raised, unless a test wants them low.
    pub invitation_limits: InvitationLimits,
}

impl Hub {
    /// A new hub in a new account: its organization (the target), the table, the bus and
    /// the rules with their queues. `prefix` names the table, rules and queues.
    pub async fn create(emulator: &Emulator, recorder: &Recorder, prefix: &str) -> Result<Hub> {
        let account = AwsAccount::create_unique(emulator).await?;
        Self::create_in(account, recorder, prefix).await
    }

    /// A hub in the given account.
    pub async fn create_in(account: AwsAccount, recorder: &Recorder, prefix: &str) -> Result<Hub> {
        let organization = OrganizationId::parse(account.create_organization().await?)?;
        let target = Target {
            organization,
            management_account: AccountId::parse(account.account_id())?,
        };
        let table = format!("{prefix}-onboarding");
        create_table(&aws_sdk_dynamodb::Client::new(account.config()), &table)
            .await
            .context("creating the onboarding table")?;
        let event_loop = EventLoop::install(&account, recorder, prefix).await?;
        let spoke = SpokeRole::new(account.account_id(), EXTERNAL_ID);
        Ok(Hub {
            account,
            target,
            table,
            event_loop,
            recorder: recorder.clone(),
            spoke,
            decline_unexpected: false,
            invitation_limits: InvitationLimits {
                per_day: 1000,
                account_limit: 1000,
            },
        })
    }

    /// Makes `customer` reachable: the spoke role (trusting the hub, with the external id)
    /// and the forwarding of its Organizations events to the hub bus.
    pub async fn add_spoke(&self, customer: &AwsAccount) -> Result<()> {
        customer.create_spoke_role(&self.spoke).await?;
        self.event_loop.add_spoke(customer).await
    }

    /// Creates the target's access role in `account` (`DEFAULT_ACCESS_ROLE_NAME`), as the
    /// spoke does with `CreateAccessRole` "true": what the placer's access check assumes.
    pub async fn grant_access(&self, account: &AwsAccount) -> Result<()> {
        account
            .create_access_role(
                onboarding::config::DEFAULT_ACCESS_ROLE_NAME,
                self.account.account_id(),
            )
            .await
    }

    /// Puts `item` into the hub's table as given, past the product's encoding: items an
    /// earlier release wrote, or ones no release could read.
    pub async fn put_raw_item(
        &self,
        item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    ) -> Result<()> {
        aws_sdk_dynamodb::Client::new(self.account.config())
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .context("PutItem of a raw item")?;
        Ok(())
    }

    /// The hub's configuration, as the template sets it for the functions.
    pub fn config(&self) -> Config {
        Config {
            table_name: self.table.clone(),
            event_bus_name: HUB_BUS_NAME.to_owned(),
            target: self.target.clone(),
            spoke: Some(SpokeAccess {
                role_name: self.spoke.name.clone(),
                external_id: EXTERNAL_ID.to_owned(),
            }),
            decline_unexpected_invitations: self.decline_unexpected,
            invitation_limits: self.invitation_limits,
            sweep_limits: SweepLimits::default(),
            deadlines: Deadlines::default(),
            access_role_name: Some(DEFAULT_ACCESS_ROLE_NAME.to_owned()),
            preflight_regions: Vec::new(),
            preflight_every: chrono::Duration::hours(24),
        }
    }

    /// The product's composition root on the emulator: every Organizations client the
    /// functions use (the hub's own, and those assumed in customer accounts through the
    /// spoke role) records CloudTrail events and injects the recorder's faults.
    pub fn wiring(&self) -> Wiring {
        let recorder = self.recorder.clone();
        let hook: ClientHook = Arc::new(move |session: &SpokeSession, builder| {
            builder.interceptor(recorder.interceptor(&session_identity(session)))
        });
        Wiring::new(self.account.config(), &self.config())
            .with_spoke_client_hook(hook)
            .with_organizations_client(recorded_organizations_client(&self.account, &self.recorder))
    }

    /// The wiring of one function: as [`Hub::wiring`], and every call it makes, with its
    /// own role or the spoke role, is logged for the IAM check ([`crate::call_log`]).
    pub fn wiring_for(&self, function: FunctionName) -> Wiring {
        let calls = call_log::FunctionCalls {
            function,
            hub_account: self.account.account_id().to_owned(),
            stack: serde_json::json!({
                "params": {
                    "TargetOrganizationId": self.target.organization.as_str(),
                    "TargetManagementAccountId": self.target.management_account.as_str(),
                    "SpokeRoleName": self.spoke.name,
                    "AccessRoleName": DEFAULT_ACCESS_ROLE_NAME,
                    "HubEventBusName": HUB_BUS_NAME,
                },
                "names": { "RecordTable": self.table },
            }),
        };
        let recorder = self.recorder.clone();
        let spoke_calls = calls.clone();
        let hook: ClientHook = Arc::new(move |session: &SpokeSession, builder| {
            builder
                .interceptor(recorder.interceptor(&session_identity(session)))
                .interceptor(spoke_calls.spoke(session.account.as_str()))
        });
        let organizations =
            recorded_organizations_client_with(&self.account, &self.recorder, Some(calls.hub()));
        Wiring::new(self.account.config(), &self.config())
            .with_spoke_client_hook(hook)
            .with_organizations_client(organizations)
            .with_interceptor(calls.hub())
            .with_spoke_interceptors(Arc::new(move |account: &AccountId| {
                vec![calls.spoke(account.as_str())]
            }))
    }

    pub fn store(&self) -> DynamoRecordStore {
        self.wiring().store()
    }

    pub fn tracker(&self) -> AwsTracker {
        self.wiring_for(AwsTracker::NAME).tracker()
    }

    /// The tracker with every client it uses (DynamoDB, EventBridge, Organizations)
    /// counting its calls on `counter`.
    pub fn counted_tracker(&self, counter: &CallCounter) -> AwsTracker {
        let config = self.account.config();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(config)
                .interceptor(counter.clone())
                .build(),
        );
        let events = aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(config)
                .interceptor(counter.clone())
                .build(),
        );
        let organizations = aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(config)
                .interceptor(counter.clone())
                .build(),
        );
        Tracker::new(
            DynamoRecordStore::new(dynamodb, &self.table),
            EventBridgeNotifier::new(events, HUB_BUS_NAME),
            self.target.clone(),
        )
        .with_target_directory(Arc::new(SdkTargetOrganization::new(organizations)))
    }

    /// The reconciler with the hub's clients (DynamoDB, EventBridge, Organizations)
    /// counting their calls on `counter`; customer accounts through the spoke role.
    pub fn counted_reconciler(&self, counter: &CallCounter) -> AwsReconciler {
        let organizations = aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(self.account.config())
                .interceptor(counter.clone())
                .build(),
        );
        Reconciler::new(
            self.counted_tracker(counter),
            SdkTargetOrganization::new(organizations),
            StsCredentials::new(
                self.account.config(),
                &self.spoke.name,
                EXTERNAL_ID,
                SessionScope::Function(FunctionName::Reconciler),
            ),
        )
    }

    /// The placer with the hub's clients (DynamoDB, EventBridge, Organizations, STS)
    /// counting their calls on `counter`.
    pub fn counted_placer(&self, counter: &CallCounter) -> AwsPlacer {
        let config = self.account.config();
        let organizations = aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(config)
                .interceptor(counter.clone())
                .build(),
        );
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(config)
                .interceptor(counter.clone())
                .build(),
        );
        Placer::new(
            self.counted_tracker(counter),
            SdkTargetOrganization::new(organizations),
            StsTargetAccess::new(sts),
        )
    }

    pub fn acceptor(&self) -> AwsAcceptor {
        self.wiring_for(AwsAcceptor::NAME)
            .acceptor()
            .expect("the hub's configuration names the spoke role")
    }

    pub fn inviter(&self) -> AwsInviter {
        self.wiring_for(AwsInviter::NAME).inviter()
    }

    pub fn placer(&self) -> AwsPlacer {
        self.wiring_for(AwsPlacer::NAME).placer()
    }

    pub fn preflight(&self) -> AwsPreflight {
        self.wiring_for(AwsPreflight::NAME)
            .preflight()
            .expect("the hub's configuration names the spoke role")
    }

    pub fn reconciler(&self) -> AwsReconciler {
        self.wiring_for(AwsReconciler::NAME)
            .reconciler()
            .expect("the hub's configuration names the spoke role")
    }

    /// Enrolls every account of `enrollment`.
    pub async fn enroll(&self, enrollment: &Enrollment) -> Result<()> {
        let records = enrollment.records(chrono::Utc::now())?;
        self.store().create_many(&records).await?;
        Ok(())
    }

    /// The record of `account`; an error when it has none.
    pub async fn record(&self, account: &str) -> Result<OnboardingRecord> {
        record_of(&self.store(), account).await
    }

    /// The records of `accounts`, in that order (an account without one is left out).
    pub async fn records_of(&self, accounts: &[String]) -> Result<Vec<OnboardingRecord>> {
        let position =
            |r: &OnboardingRecord| accounts.iter().position(|a| a == r.account_id.as_str());
        let mut records: Vec<OnboardingRecord> = self
            .store()
            .list_all()
            .await?
            .into_iter()
            .filter(|r| position(r).is_some())
            .collect();
        records.sort_by_key(position);
        Ok(records)
    }

    /// A dispatcher running the real handlers for the functions' queues (tracker,
    /// acceptor, inviter, placer), as Lambda would: a handler's `Err` leaves the message
    /// for a retry.
    pub fn dispatcher(&self) -> Result<Dispatcher> {
        self.event_loop
            .dispatcher()
            .function::<AwsTracker>(&self.wiring_for(AwsTracker::NAME))?
            .function::<AwsAcceptor>(&self.wiring_for(AwsAcceptor::NAME))?
            .function::<AwsInviter>(&self.wiring_for(AwsInviter::NAME))?
            .function::<AwsPlacer>(&self.wiring_for(AwsPlacer::NAME))
    }
}

/// The record of `account` in `store`; an error when it has none.
pub async fn record_of(store: &impl RecordStore, account: &str) -> Result<OnboardingRecord> {
    store
        .load(&AccountId::parse(account)?)
        .await?
        .ok_or_else(|| anyhow!("no record for {account}"))
}

/// What CloudTrail records as the caller of a spoke client: the assumed-role session.
fn session_identity(session: &SpokeSession) -> CallerIdentity {
    let role_id = session
        .assumed_role_id
        .as_deref()
        .and_then(|id| id.split(':').next())
        .unwrap_or("AROALOCAL")
        .to_owned();
    CallerIdentity {
        account_id: session.account.to_string(),
        arn: session.assumed_role_arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                session.account, session.role_name, session.session_name
            )
        }),
        principal_id: format!("{role_id}:{}", session.session_name),
        access_key_id: session.access_key_id.clone(),
        kind: IdentityKind::AssumedRole {
            role_name: session.role_name.clone(),
            role_arn: session.role_arn.clone(),
            role_id,
            session_name: session.session_name.clone(),
            creation_date: session.created_at.to_rfc3339(),
        },
    }
}
