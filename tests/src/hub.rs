//! The product's hub, wired on the emulator as in AWS: the table, the hub bus with its
//! rules (the [`EventLoop`]), and the tracker, acceptor and inviter handlers with real SDK
//! clients acting as the target organization's management account. The acceptor reaches
//! customer accounts only through the spoke role (STS AssumeRole with the external id),
//! and every Organizations client it or the inviter uses records CloudTrail events, so the
//! product's own calls feed the tracker exactly as in AWS.

use std::sync::Arc;

use anyhow::{Context, Result};
use onboarding::acceptor::Acceptor;
use onboarding::adapters::dynamo::{create_table, DynamoRecordStore};
use onboarding::adapters::eventbridge::EventBridgeNotifier;
use onboarding::adapters::organizations::{SdkTargetOrganization, SpokeSession, StsCredentials};
use onboarding::domain::{AccountId, Enrollment, OrganizationId, Target};
use onboarding::inviter::Inviter;
use onboarding::ports::RecordStore;
use onboarding::tracker::Tracker;

use crate::accounts::{AwsAccount, CallerIdentity, IdentityKind, SpokeRole};
use crate::emulator::Emulator;
use crate::event_loop::{Dispatcher, EventLoop, HUB_BUS_NAME};
use crate::recorder::{recorded_organizations_client, Recorder};

/// The external id the local spoke roles require (in AWS: a deploy-time secret).
pub const EXTERNAL_ID: &str = "org-onboarding-local-external-id";

pub type LocalTracker = Tracker<DynamoRecordStore, EventBridgeNotifier>;
pub type LocalAcceptor = Acceptor<DynamoRecordStore, EventBridgeNotifier, StsCredentials>;
pub type LocalInviter = Inviter<DynamoRecordStore, EventBridgeNotifier, SdkTargetOrganization>;

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
        })
    }

    /// Makes `customer` reachable: the spoke role (trusting the hub, with the external id)
    /// and the forwarding of its Organizations events to the hub bus.
    pub async fn add_spoke(&self, customer: &AwsAccount) -> Result<()> {
        customer.create_spoke_role(&self.spoke).await?;
        self.event_loop.add_spoke(customer).await
    }

    pub fn store(&self) -> DynamoRecordStore {
        DynamoRecordStore::new(
            aws_sdk_dynamodb::Client::new(self.account.config()),
            &self.table,
        )
    }

    pub fn tracker(&self) -> LocalTracker {
        let notifier = EventBridgeNotifier::new(
            aws_sdk_eventbridge::Client::new(self.account.config()),
            HUB_BUS_NAME,
        );
        Tracker::new(self.store(), notifier, self.target.clone())
    }

    /// The acceptor, assuming the spoke role in each customer account; the clients it
    /// gets record CloudTrail in that account (and inject the recorder's faults).
    pub fn acceptor(&self) -> LocalAcceptor {
        let recorder = self.recorder.clone();
        let hook: onboarding::adapters::organizations::ClientHook =
            Arc::new(move |session: &SpokeSession, builder| {
                builder.interceptor(recorder.interceptor(&session_identity(session)))
            });
        let credentials = StsCredentials::new(self.account.config(), &self.spoke.name, EXTERNAL_ID)
            .with_client_hook(hook);
        Acceptor::new(self.tracker(), credentials, self.decline_unexpected)
    }

    /// The inviter, with the hub's own (recorded) Organizations client.
    pub fn inviter(&self) -> LocalInviter {
        let organization = SdkTargetOrganization::new(recorded_organizations_client(
            &self.account,
            &self.recorder,
        ));
        Inviter::new(self.tracker(), organization)
    }

    /// Enrolls every account of `enrollment`.
    pub async fn enroll(&self, enrollment: &Enrollment) -> Result<()> {
        let store = self.store();
        for record in enrollment.records(chrono::Utc::now())? {
            store.create(&record).await?;
        }
        Ok(())
    }

    /// A dispatcher running the real handlers for the three functions' queues, as Lambda
    /// would: a handler's `Err` leaves the message for a retry.
    pub fn dispatcher(&self) -> Result<Dispatcher> {
        let tracker = Arc::new(self.tracker());
        let acceptor = Arc::new(self.acceptor());
        let inviter = Arc::new(self.inviter());
        self.event_loop
            .dispatcher()
            .on("tracker", move |event| {
                let tracker = tracker.clone();
                async move {
                    tracker
                        .handle_json(&event)
                        .await
                        .map(|_| ())
                        .map_err(anyhow::Error::from)
                }
            })?
            .on("acceptor", move |event| {
                let acceptor = acceptor.clone();
                async move {
                    acceptor
                        .handle_json(&event)
                        .await
                        .map(|_| ())
                        .map_err(anyhow::Error::from)
                }
            })?
            .on("inviter", move |event| {
                let inviter = inviter.clone();
                async move {
                    inviter
                        .handle_json(&event)
                        .await
                        .map(|_| ())
                        .map_err(anyhow::Error::from)
                }
            })
    }
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
