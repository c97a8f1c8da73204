//! The onboarding scenario, end to end on the local emulator: the demo
//! (`cargo run -p onboarding-e2e --bin demo`, `make demo`) runs it with a narration, and
//! the end-to-end tests (`tests/e2e_scenario.rs`) run it with assertions, so the demo is
//! tested.
//!
//! What it plays:
//! * a target organization (the hub: table, bus, rules, queues, the real tracker, acceptor
//!   and inviter handlers) and a customer organization with a management account, three
//!   members and one standalone account, each with the spoke role and the forwarding of
//!   its Organizations events (see [`crate::hub`]);
//! * act 1, enrolled in **standalone** mode (fakecloud predates direct transfer): a
//!   foreign organization invites the standalone account (reported, never accepted);
//!   member 1's `LeaveOrganization` fails for a missing payment method (fault injection:
//!   the emulator has no billing data) and succeeds once "fixed"; member 2 leaves and
//!   its event is lost, so the reconciler's pass corrects its record;
//!   the management account tries `DeleteOrganization` too early (the emulator's own
//!   `OrganizationNotEmptyException`), removes member 3, then deletes its organization;
//! * act 2 (optional), a second customer in **direct** mode: the emulator refuses the
//!   direct invitation (`ALREADY_IN_AN_ORGANIZATION`), the member falls back to the
//!   standalone path, leaves, and joins;
//! * act 3 (with act 2), a third customer in **billing** mode: it keeps its organization
//!   and its member, and its management account accepts the target's invitation to
//!   transfer its bill (`Transferred` once the target's list shows the transfer accepted).
//!
//! Every customer call is a real API call through a recorded client, so its CloudTrail
//! event reaches the tracker through the hub bus and the function queues; a background
//! dispatcher runs the handlers (as Lambda would), and "schedules" run the inviter's and
//! the acceptor's sweeps every second (as the EventBridge schedules would).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use aws_sdk_organizations::error::ProvideErrorMetadata;
use chrono::Utc;
use onboarding::domain::{
    AccountId, BlockerCode, EnrollmentName, FunctionName, OnboardingRecord, OrganizationId, OuRef,
    Phase, Placement, TransferMode,
};
use onboarding::notifications::{self, NotificationDetail};
use onboarding::ports::RecordReader;
use onboarding::preflight::PreflightOutcome;
use onboarding::reconciler::ReconcilerOutcome;
use onboarding::report;
use onboarding::tracker::Outcome;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::accounts::{invite, unique_account_id, AwsAccount};
use crate::customers::{self, CustomerOrganization};
use crate::emulator::Emulator;
use crate::event_loop::{DispatchReport, Dispatcher, TestQueue};
use crate::faults::{Fault, Faults};
use crate::hub::{unique_prefix, Hub};
use crate::recorder::{recorded_organizations_client, Recorder};

/// The reason AWS gives when a leaving account has no payment method.
pub const PAYMENT_REASON: &str = "MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED";

/// How the event loop misbehaves (the failure variants of the end-to-end tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The handlers as deployed.
    Normal,
    /// The tracker fails (a transient error) on the first delivery of every event: the
    /// message becomes visible again after the queue's visibility timeout and is
    /// redelivered, as Lambda retries an invocation that returned an error.
    TrackerFailsFirstDelivery,
    /// Every event reaches the tracker twice (EventBridge and SQS are at-least-once): the
    /// second delivery must change nothing.
    EventsDeliveredTwice,
}

/// Account ids: readable ones for the demo (its own emulator), unique ones for tests
/// that share an emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ids {
    Readable,
    Unique,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub ids: Ids,
    pub variant: Variant,
    /// Play act 2 (direct mode and its fallback) and act 3 (billing mode).
    pub direct_act: bool,
    /// How long each wait for the functions may take before the scenario fails.
    pub step_timeout: Duration,
    /// A pause after each customer step, watching the functions work (the demo, so a
    /// person can follow the table; zero in tests).
    pub pace: Duration,
}

impl Options {
    /// The demo: readable ids, both acts.
    pub fn demo() -> Self {
        Options {
            ids: Ids::Readable,
            variant: Variant::Normal,
            direct_act: true,
            step_timeout: Duration::from_secs(40),
            pace: Duration::from_millis(600),
        }
    }

    /// A test run: unique ids, act 1 only, the given variant.
    pub fn test(variant: Variant) -> Self {
        Options {
            ids: Ids::Unique,
            variant,
            direct_act: false,
            step_timeout: Duration::from_secs(60),
            pace: Duration::ZERO,
        }
    }
}

/// What the scenario ended with, for assertions.
#[derive(Debug)]
pub struct Report {
    /// Every record of act 1's enrollment, in the cast's order.
    pub records: Vec<OnboardingRecord>,
    /// Act 2's records (empty when it was not played).
    pub direct_records: Vec<OnboardingRecord>,
    /// Act 3's record (empty when it was not played).
    pub billing_records: Vec<OnboardingRecord>,
    /// Every notification the product published on the hub bus, as received by a test
    /// queue behind a rule `{"source": ["org-onboarding"]}`.
    pub notifications: Vec<Value>,
    /// The account ids of act 1's enrollment.
    pub enrolled: Vec<String>,
    /// `ListAccounts` of the target organization at the end.
    pub target_accounts: Vec<String>,
    /// The foreign organization's invitation to the standalone account, and its state at
    /// the end (read by the foreign organization, `DescribeHandshake`).
    pub foreign_handshake: String,
    pub foreign_handshake_state: String,
    pub foreign_organization: String,
    pub standalone_account: String,
    /// What the background dispatcher ran.
    pub dispatch: DispatchReport,
    /// Second deliveries that changed a record (must be 0; [`Variant::EventsDeliveredTwice`]).
    pub redeliveries_applied: usize,
    /// Dead-lettered messages per function queue (must be 0).
    pub dead_lettered: HashMap<String, usize>,
    pub final_table: String,
    pub elapsed: Duration,
}

impl Report {
    /// The notifications of one detail-type.
    pub fn notifications_of(&self, detail_type: &str) -> Vec<&Value> {
        self.notifications
            .iter()
            .filter(|n| n["detail-type"] == detail_type)
            .collect()
    }
}

/// Runs the scenario on `emulator` and returns what it ended with. Fails when a step does
/// not happen within `options.step_timeout`.
pub async fn run(emulator: &Emulator, options: &Options) -> Result<Report> {
    let started = Instant::now();
    let mut screen = Screen::new(started);
    let id = |readable: &str| account_id(options.ids, readable);

    // The local AWS: a recorder (CloudTrail) that also injects faults.
    let faults = Faults::new();
    let recorder = Recorder::new(emulator).with_faults(&faults);
    let hub = create_hub(emulator, &recorder, options.ids, &id).await?;
    let notifications_queue = hub.event_loop.notifications_queue("notifications").await?;
    let customer = create_customer(emulator, &hub, &id).await?;
    introduce(&mut screen, &hub, &customer);
    create_target_units(&hub, &screen).await?;
    let order = enroll_in_standalone_mode(&hub, &customer, &mut screen).await?;
    preflight_before_the_move(&hub, &customer, &screen).await?;
    let foreign_handshake = foreign_invitation(&customer, &recorder, &screen).await?;
    let functions = Functions::start(&hub, &recorder, options.variant, &screen)?;

    let mut watcher = Watch {
        hub: &hub,
        queue: &notifications_queue,
        notifications: Vec::new(),
        timeout: options.step_timeout,
        pace: options.pace,
    };
    let stage = Stage {
        emulator,
        hub: &hub,
        recorder: &recorder,
        faults: &faults,
        customer: &customer,
    };
    let result = play(&stage, &mut screen, &mut watcher, options, &id).await;

    // Stop the functions whatever happened, then report.
    let (dispatch, redeliveries_applied) = functions.stop().await?;
    if let Err(error) = result {
        let records = watcher.records(&screen.order).await.unwrap_or_default();
        bail!(
            "{error:#}\nlast status:\n{}",
            report::status_table(&records, Utc::now())
        );
    }
    // Late notifications (e.g. the completion) still in the queue.
    watcher.drain(&mut screen).await?;

    let records = watcher.records(&order).await?;
    let (direct_records, billing_records) = later_acts_records(&hub).await?;
    let final_table = final_table(
        &records,
        &[direct_records.clone(), billing_records.clone()].concat(),
    );
    let target_accounts = verify_target_accounts(&hub, &order, &direct_records, &screen).await?;
    verify_placement(&hub, records.iter().chain(&direct_records), &screen).await?;
    let foreign_handshake_state =
        verify_foreign_handshake(&customer, &foreign_handshake, &screen).await?;
    let dead_lettered = dead_lettered(&hub).await?;
    Ok(Report {
        records,
        direct_records,
        billing_records,
        notifications: watcher.notifications,
        enrolled: order,
        target_accounts,
        foreign_handshake,
        foreign_handshake_state,
        foreign_organization: customer.foreign_organization,
        standalone_account: customer.standalone.account_id().to_string(),
        dispatch,
        redeliveries_applied,
        dead_lettered,
        final_table,
        elapsed: started.elapsed(),
    })
}

/// A readable account id for the demo (its own emulator), a unique one for tests.
fn account_id(ids: Ids, readable: &str) -> String {
    match ids {
        Ids::Readable => readable.to_string(),
        Ids::Unique => unique_account_id(),
    }
}

/// The hub: the target organization's management account.
async fn create_hub(
    emulator: &Emulator,
    recorder: &Recorder,
    ids: Ids,
    id: &dyn Fn(&str) -> String,
) -> Result<Hub> {
    let prefix = match ids {
        Ids::Readable => "demo".to_string(),
        Ids::Unique => unique_prefix("e2e"),
    };
    Hub::create_in(
        AwsAccount::create(emulator, &id("111111111111")).await?,
        recorder,
        &prefix,
    )
    .await
    .context("creating the hub")
}

/// Act 1's customer (an organization with three members, and a standalone account) and
/// the foreign organization that invites the standalone account.
struct Customer {
    management: AwsAccount,
    organization: String,
    members: Vec<AwsAccount>,
    standalone: AwsAccount,
    foreign: AwsAccount,
    foreign_organization: String,
}

impl Customer {
    /// The enrolled accounts' ids, in the cast's order.
    fn order(&self) -> Vec<String> {
        [&self.management]
            .into_iter()
            .chain(&self.members)
            .chain([&self.standalone])
            .map(|a| a.account_id().to_string())
            .collect()
    }
}

/// Creates the customer's accounts and organizations, with the spoke role in each enrolled
/// account.
async fn create_customer(
    emulator: &Emulator,
    hub: &Hub,
    id: &dyn Fn(&str) -> String,
) -> Result<Customer> {
    let member_ids: Vec<String> = (1..=3).map(|n| id(&format!("22222222220{n}"))).collect();
    let CustomerOrganization {
        management,
        organization,
        members,
    } = CustomerOrganization::create(emulator, hub, &id("222222222222"), &member_ids).await?;
    let standalone = AwsAccount::create(emulator, &id("333333333333")).await?;
    let foreign = AwsAccount::create(emulator, &id("999999999999")).await?;
    let foreign_organization = foreign.create_organization().await?;
    hub.add_spoke(&standalone).await?;
    let enrolled: Vec<&AwsAccount> = [&management]
        .into_iter()
        .chain(&members)
        .chain([&standalone])
        .collect();
    grant_target_access(hub, &enrolled).await?;
    Ok(Customer {
        management,
        organization,
        members,
        standalone,
        foreign,
        foreign_organization,
    })
}

/// Names the accounts on the screen and says who is who.
fn introduce(screen: &mut Screen, hub: &Hub, customer: &Customer) {
    let Customer {
        management,
        members,
        standalone,
        ..
    } = customer;
    screen.names = HashMap::from([
        (management.account_id().to_string(), "management".into()),
        (members[0].account_id().to_string(), "member 1".into()),
        (members[1].account_id().to_string(), "member 2".into()),
        (members[2].account_id().to_string(), "member 3".into()),
        (standalone.account_id().to_string(), "standalone".into()),
    ]);
    screen.say(&format!(
        "target organization {} (management account {}): the hub, with the tracker, \
         acceptor and inviter",
        hub.target.organization,
        hub.account.account_id()
    ));
    screen.say(&format!(
        "customer organization {}: management {}, members {}, {}, {}; \
         standalone account {}; spoke role and event forwarding in each",
        customer.organization,
        management.account_id(),
        members[0].account_id(),
        members[1].account_id(),
        members[2].account_id(),
        standalone.account_id()
    ));
}

/// Enrolls the customer as `acme` in standalone mode; returns the enrolled accounts.
async fn enroll_in_standalone_mode(
    hub: &Hub,
    customer: &Customer,
    screen: &mut Screen,
) -> Result<Vec<String>> {
    let members: Vec<&str> = customer.members.iter().map(|m| m.account_id()).collect();
    let mut enrollment = customers::enrollment(
        "acme",
        TransferMode::Standalone,
        Some(customer.management.account_id()),
        &members,
        &[customer.standalone.account_id()],
    )?;
    enrollment.placement = placement("Customers/Acme", "acme-42", &customer.organization)?;
    let order = customer.order();
    screen.order = order.clone();
    hub.enroll(&enrollment).await?;
    screen.act(
        "Act 1: enrollment acme in STANDALONE mode, to be placed in Customers/Acme with \
         the tag cost-center=acme-42. fakecloud 0.51.0 predates direct transfer (AWS, \
         December 2025), so members leave, the organization is deleted, then each account \
         accepts the invitation.",
    );
    Ok(order)
}

/// The preflight, before anyone leaves: every account has its contact information but
/// member 1, and a bucket of member 2 trusts the old organization by
/// `aws:PrincipalOrgID`. The first run predicts member 1's blocker and lists the bucket;
/// once its contact is filled in, a second run clears the prediction.
async fn preflight_before_the_move(hub: &Hub, customer: &Customer, screen: &Screen) -> Result<()> {
    let [member1, member2, member3] = &customer.members[..] else {
        bail!("the customer has three members");
    };
    for account in [&customer.management, member2, member3, &customer.standalone] {
        account.put_contact_information(true).await?;
    }
    let bucket = format!("acme-logs-{}", member2.account_id());
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": customer.organization}}}]
    });
    let s3 = member2.s3();
    s3.create_bucket().bucket(&bucket).send().await?;
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(policy.to_string())
        .send()
        .await?;
    let enrollment = EnrollmentName::parse("acme")?;
    let preflight = hub.preflight();
    let first = preflight.check_enrollment(&enrollment).await?;
    screen.say(&format!(
        "preflight of acme ({} accounts, through the spoke roles):",
        first.done.len()
    ));
    for (account, outcome) in &first.done {
        let PreflightOutcome::Checked(report) = outcome else {
            bail!("preflight of {account}: {outcome:?}");
        };
        for blocker in &report.blockers {
            screen.say(&format!(
                "  {}: {} (predicted): {}",
                screen.name(account.as_str()),
                blocker.code,
                blocker.detail
            ));
        }
        for policy in &report.policies {
            screen.say(&format!(
                "  {}: {} trusts the old organization by {} = {}: it will stop working after the move",
                screen.name(account.as_str()),
                policy.resource,
                policy.condition_key,
                policy.value
            ));
        }
    }
    let predicted: Vec<&AccountId> = first
        .done
        .iter()
        .filter(|(_, o)| matches!(o, PreflightOutcome::Checked(r) if !r.blockers.is_empty()))
        .map(|(account, _)| account)
        .collect();
    ensure!(
        predicted.len() == 1 && predicted[0].as_str() == member1.account_id(),
        "the preflight predicts a blocker for member 1 only: {predicted:?}"
    );
    screen.customer("member 1 fills in its contact information (PutContactInformation)");
    member1.put_contact_information(true).await?;
    let second = preflight.check_enrollment(&enrollment).await?;
    let still: usize = second
        .done
        .iter()
        .filter(|(_, o)| matches!(o, PreflightOutcome::Checked(r) if !r.blockers.is_empty()))
        .count();
    ensure!(
        still == 0,
        "the second preflight predicts nothing: {second:?}"
    );
    screen.say("preflight again: no blocker predicted; member 1's prediction is cleared");
    Ok(())
}

/// An enrollment's placement: the OU path, the cost-center tag, the organization it leaves.
fn placement(ou: &str, cost_center: &str, organization: &str) -> Result<Placement> {
    Ok(Placement {
        ou: Some(OuRef::parse(ou)?),
        tags: BTreeMap::from([("cost-center".to_owned(), cost_center.to_owned())]),
        source_organization: Some(OrganizationId::parse(organization)?),
        ..Placement::default()
    })
}

/// The target's OUs the enrollments name: Customers, and Acme and Globex under it.
async fn create_target_units(hub: &Hub, screen: &Screen) -> Result<()> {
    let root = hub.account.root_id().await?;
    let customers = hub
        .account
        .create_organizational_unit(&root, "Customers")
        .await?;
    for name in ["Acme", "Globex"] {
        hub.account
            .create_organizational_unit(&customers, name)
            .await?;
    }
    screen.say("target OUs Customers/Acme and Customers/Globex created");
    Ok(())
}

/// Each account gets the target's access role while still in its old organization, as
/// infra/spoke.yaml's `AccessRole` does.
async fn grant_target_access(hub: &Hub, accounts: &[&AwsAccount]) -> Result<()> {
    for account in accounts {
        hub.grant_access(account).await?;
    }
    Ok(())
}

/// The foreign organization invites the standalone account before the functions run, so
/// the acceptor meets both invitations. Returns the foreign handshake's id.
async fn foreign_invitation(
    customer: &Customer,
    recorder: &Recorder,
    screen: &Screen,
) -> Result<String> {
    let foreign_client = recorded_organizations_client(&customer.foreign, recorder);
    screen.customer(&format!(
        "a foreign organization {} invites the standalone account {}",
        customer.foreign_organization,
        customer.standalone.account_id()
    ));
    invite(&foreign_client, customer.standalone.account_id())
        .await
        .context("the foreign invitation")
}

/// The functions: the dispatcher (Lambda on the queues) and the schedules, in the
/// background until [`Functions::stop`].
struct Functions {
    stop: watch::Sender<bool>,
    dispatcher: JoinHandle<DispatchReport>,
    schedules: JoinHandle<()>,
    redeliveries_applied: Arc<Mutex<usize>>,
}

impl Functions {
    fn start(hub: &Hub, recorder: &Recorder, variant: Variant, screen: &Screen) -> Result<Self> {
        let (stop, stop_rx) = watch::channel(false);
        let redeliveries_applied = Arc::new(Mutex::new(0usize));
        let dispatcher = dispatcher(hub, variant, redeliveries_applied.clone())?;
        let dispatcher = spawn_dispatcher(dispatcher, recorder.clone(), stop_rx.clone());
        let schedules = spawn_schedules(hub, stop_rx);
        screen.say("functions running: dispatcher on the tracker, acceptor, inviter and placer queues; inviter, acceptor and placer sweeps every second");
        Ok(Functions {
            stop,
            dispatcher,
            schedules,
            redeliveries_applied,
        })
    }

    /// Stops the functions; returns what the dispatcher ran and how many second
    /// deliveries changed a record.
    async fn stop(self) -> Result<(DispatchReport, usize)> {
        let _ = self.stop.send(true);
        let dispatch = self
            .dispatcher
            .await
            .map_err(|e| anyhow!("dispatcher task: {e}"))?;
        self.schedules
            .await
            .map_err(|e| anyhow!("schedules task: {e}"))?;
        let redeliveries_applied = *self.redeliveries_applied.lock().expect("lock");
        Ok((dispatch, redeliveries_applied))
    }
}

/// What act 1's steps play on.
struct Stage<'a> {
    emulator: &'a Emulator,
    hub: &'a Hub,
    recorder: &'a Recorder,
    faults: &'a Faults,
    customer: &'a Customer,
}

/// Act 1, step by step, then act 2 when the options ask for it.
async fn play(
    stage: &Stage<'_>,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
    options: &Options,
    id: &dyn Fn(&str) -> String,
) -> Result<()> {
    standalone_account_joins(stage, screen, watcher).await?;
    member_1_leaves_once_its_payment_method_is_fixed(stage, screen, watcher).await?;
    member_2_leaves(stage, screen, watcher).await?;
    management_deletes_its_organization_too_early(stage, screen, watcher).await?;
    management_removes_member_3(stage, screen, watcher).await?;
    management_deletes_its_organization(stage, screen, watcher).await?;
    every_account_joins(screen, watcher).await?;
    if options.direct_act {
        direct_act(
            stage.emulator,
            stage.hub,
            stage.recorder,
            screen,
            watcher,
            id,
        )
        .await?;
        billing_act(stage.emulator, stage.hub, screen, watcher, id).await?;
    }
    Ok(())
}

async fn standalone_account_joins(
    stage: &Stage<'_>,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
) -> Result<()> {
    let standalone_id = stage.customer.standalone.account_id().to_string();
    watcher
        .until(
            screen,
            "the standalone account joins and the foreign invitation is reported",
            |records, notes| {
                phase_of(records, &standalone_id) == Some(Phase::Joined)
                    && notes
                        .iter()
                        .any(|n| n["detail-type"] == notifications::UNEXPECTED_INVITATION)
            },
        )
        .await
}

/// Member 1: no payment method (injected), then fixed.
async fn member_1_leaves_once_its_payment_method_is_fixed(
    stage: &Stage<'_>,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
) -> Result<()> {
    let member1 = &stage.customer.members[0];
    stage.faults.fail(
        "LeaveOrganization",
        Some(member1.account_id()),
        1,
        Fault::constraint_violation(PAYMENT_REASON),
    );
    let member1_client = recorded_organizations_client(member1, stage.recorder);
    screen.customer(&format!(
        "member 1 ({}) calls LeaveOrganization",
        member1.account_id()
    ));
    match member1_client.leave_organization().send().await {
        Ok(_) => bail!("member 1's first LeaveOrganization should have failed"),
        Err(error) => screen.aws(&format!(
            "refused: {} ({PAYMENT_REASON}) [injected: the emulator has no billing data]",
            error.code().unwrap_or("error")
        )),
    }
    let m1 = member1.account_id().to_string();
    watcher
        .until(
            screen,
            "member 1 blocked for its payment method",
            |records, _| blocked_by(records, &m1, BlockerCode::PaymentMethodMissing),
        )
        .await?;
    screen.customer("member 1's owner adds a payment method, and calls LeaveOrganization again");
    member1_client
        .leave_organization()
        .send()
        .await
        .context("member 1 leaves")?;
    screen.aws("OK: member 1 left");
    watcher.pause(screen).await
}

/// Member 2 leaves, and its CloudTrail event is lost (a call nobody records): only the
/// reconciler, reading the real state, moves its record on.
async fn member_2_leaves(
    stage: &Stage<'_>,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
) -> Result<()> {
    let member2 = &stage.customer.members[1];
    screen.customer(&format!(
        "member 2 ({}) calls LeaveOrganization, and its CloudTrail event is lost",
        member2.account_id()
    ));
    member2
        .organizations()
        .leave_organization()
        .send()
        .await
        .context("member 2 leaves")?;
    screen.aws("OK: member 2 left (no event reaches the hub)");
    watcher.pause(screen).await?;
    screen.say("the reconciler's scheduled pass reads the real state");
    let pass = stage
        .hub
        .reconciler()
        .pass()
        .await
        .context("the reconciler's pass")?;
    for (account, outcome) in &pass.accounts.done {
        if let ReconcilerOutcome::Corrected { corrections, phase } = outcome {
            screen.say(&format!(
                "reconciler: {} corrected to {phase} ({})",
                screen.name(account.as_str()),
                corrections.join(", ")
            ));
        }
    }
    let m2 = member2.account_id().to_string();
    watcher
        .until(
            screen,
            "member 2's record leaves LeavingOrganization",
            |records, _| phase_of(records, &m2).is_some_and(|p| p != Phase::LeavingOrganization),
        )
        .await
}

/// The emulator's own `OrganizationNotEmptyException`: member 3 is still in it.
async fn management_deletes_its_organization_too_early(
    stage: &Stage<'_>,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
) -> Result<()> {
    let management = &stage.customer.management;
    screen.customer(&format!(
        "the management account ({}) calls DeleteOrganization, too early",
        management.account_id()
    ));
    let management_client = recorded_organizations_client(management, stage.recorder);
    match management_client.delete_organization().send().await {
        Ok(_) => bail!("DeleteOrganization should fail while member 3 is in the organization"),
        Err(error) => {
            let code = error.code().unwrap_or("error").to_string();
            ensure!(
                code == "OrganizationNotEmptyException",
                "DeleteOrganization failed with {code}"
            );
            screen.aws(&format!(
                "refused by the emulator: {code} (member 3 is still in it)"
            ));
        }
    }
    watcher.pause(screen).await
}

async fn management_removes_member_3(
    stage: &Stage<'_>,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
) -> Result<()> {
    let member3 = &stage.customer.members[2];
    screen.customer(&format!(
        "the management account removes member 3 ({}): RemoveAccountFromOrganization",
        member3.account_id()
    ));
    recorded_organizations_client(&stage.customer.management, stage.recorder)
        .remove_account_from_organization()
        .account_id(member3.account_id())
        .send()
        .await
        .context("removing member 3")?;
    screen.aws("OK: member 3 removed");
    until_management_is_unblocked(screen, watcher, &stage.customer.management).await
}

/// Waits until the management account has no blocker left (its members are gone).
async fn until_management_is_unblocked(
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
    management: &AwsAccount,
) -> Result<()> {
    let management_id = management.account_id().to_string();
    watcher
        .until(
            screen,
            "the management account is no longer blocked",
            |records, _| record_of(records, &management_id).is_some_and(|r| r.blockers.is_empty()),
        )
        .await
}

async fn management_deletes_its_organization(
    stage: &Stage<'_>,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
) -> Result<()> {
    delete_organization(
        screen,
        stage.recorder,
        &stage.customer.management,
        &stage.customer.organization,
    )
    .await?;
    watcher.pause(screen).await
}

/// The management account deletes its (by now empty) organization.
async fn delete_organization(
    screen: &Screen,
    recorder: &Recorder,
    management: &AwsAccount,
    organization: &str,
) -> Result<()> {
    screen.customer("the management account calls DeleteOrganization");
    recorded_organizations_client(management, recorder)
        .delete_organization()
        .send()
        .await
        .with_context(|| format!("deleting the organization {organization}"))?;
    screen.aws(&format!("OK: organization {organization} deleted"));
    Ok(())
}

async fn every_account_joins(screen: &mut Screen, watcher: &mut Watch<'_>) -> Result<()> {
    watcher
        .until(
            screen,
            "every account joined, was placed, and the enrollment completed",
            |records, notes| {
                all_placed(records, 5)
                    && notes
                        .iter()
                        .any(|n| n["detail-type"] == notifications::ENROLLMENT_COMPLETED)
            },
        )
        .await
}

/// Act 2's records and act 3's: every record not of act 1's enrollment, by mode.
async fn later_acts_records(hub: &Hub) -> Result<(Vec<OnboardingRecord>, Vec<OnboardingRecord>)> {
    let all = hub.store().list_all().await?;
    Ok(all
        .into_iter()
        .filter(|r| r.enrollment.as_str() != "acme")
        .partition(|r| !matches!(r.transfer_mode, TransferMode::Billing(_))))
}

/// The status table and the progress of both acts, as the demo ends with.
fn final_table(records: &[OnboardingRecord], direct_records: &[OnboardingRecord]) -> String {
    let mut final_records = records.to_vec();
    final_records.extend(direct_records.iter().cloned());
    format!(
        "{}\n\n{}",
        report::status_table(&final_records, Utc::now()),
        report::progress(&final_records).join("\n")
    )
}

/// `ListAccounts` of the target organization, which must list every enrolled account.
async fn verify_target_accounts(
    hub: &Hub,
    enrolled: &[String],
    direct_records: &[OnboardingRecord],
    screen: &Screen,
) -> Result<Vec<String>> {
    let target_accounts = hub.account.organization_account_ids().await?;
    let missing: Vec<&String> = enrolled
        .iter()
        .filter(|a| !target_accounts.contains(a))
        .collect();
    ensure!(
        missing.is_empty(),
        "ListAccounts of the target organization lacks {missing:?}"
    );
    screen.say(&format!(
        "verified: ListAccounts of the target organization {} lists all {} enrolled accounts{}",
        hub.target.organization,
        enrolled.len() + direct_records.len(),
        if direct_records.is_empty() {
            ""
        } else {
            " of both acts"
        }
    ));
    Ok(target_accounts)
}

/// Where each account is, read from the target organization (ListParents and
/// ListTagsForResource): the OU its record says, with its enrollment's tags.
async fn verify_placement(
    hub: &Hub,
    records: impl Iterator<Item = &OnboardingRecord>,
    screen: &Screen,
) -> Result<()> {
    let mut placed = 0;
    for record in records {
        let account = record.account_id.as_str();
        let Some(ou) = record.placed.as_ref().and_then(|p| p.placed_in.clone()) else {
            bail!("{account} is not placed in an OU");
        };
        ensure!(
            hub.account.parent_of(account).await? == ou,
            "{account} is not in {ou}"
        );
        let tags = hub.account.account_tags(account).await?;
        ensure!(
            record.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
                && tags.contains_key("org-onboarding:enrollment"),
            "{account} lacks tags: {tags:?}"
        );
        screen.say(&format!(
            "placed: {} in {} ({ou}), tags {}",
            screen.name(account),
            record
                .ou
                .as_ref()
                .map_or("-".to_owned(), ToString::to_string),
            tags.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        placed += 1;
    }
    screen.say(&format!(
        "verified: ListParents and ListTagsForResource show all {placed} accounts in their OU with their tags"
    ));
    Ok(())
}

/// The foreign invitation's state, read by the foreign organization: never accepted.
async fn verify_foreign_handshake(
    customer: &Customer,
    foreign_handshake: &str,
    screen: &Screen,
) -> Result<String> {
    let state = customer
        .foreign
        .organizations()
        .describe_handshake()
        .handshake_id(foreign_handshake)
        .send()
        .await
        .context("DescribeHandshake of the foreign invitation")?
        .handshake()
        .and_then(|h| h.state())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    screen.say(&format!(
        "verified: the foreign invitation {foreign_handshake} is still {state}: reported, never accepted"
    ));
    Ok(state)
}

/// Dead-lettered messages per function queue.
async fn dead_lettered(hub: &Hub) -> Result<HashMap<String, usize>> {
    let mut dead_lettered = HashMap::new();
    for function in [
        FunctionName::Tracker,
        FunctionName::Acceptor,
        FunctionName::Inviter,
    ] {
        let dlq = hub.event_loop.dead_letter_queue(function.as_str())?;
        let attributes = hub
            .account
            .sqs()
            .get_queue_attributes()
            .queue_url(&dlq.url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .context("GetQueueAttributes of a dead-letter queue")?;
        let waiting = attributes
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        dead_lettered.insert(function.to_string(), waiting);
    }
    Ok(dead_lettered)
}

/// Act 2: a customer in direct mode. The emulator refuses the direct invitation with
/// `ALREADY_IN_AN_ORGANIZATION`; the member falls back to the standalone path, leaves,
/// and joins; the management account deletes its organization and joins.
async fn direct_act(
    emulator: &Emulator,
    hub: &Hub,
    recorder: &Recorder,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
    id: &dyn Fn(&str) -> String,
) -> Result<()> {
    let customer =
        CustomerOrganization::create(emulator, hub, &id("444444444444"), &[id("444444444401")])
            .await?;
    grant_target_access(hub, &[&customer.management, &customer.members[0]]).await?;
    enroll_in_direct_mode(hub, &customer, screen).await?;
    let member = &customer.members[0];
    direct_member_falls_back(screen, watcher, member).await?;
    direct_member_leaves(recorder, member, screen, watcher).await?;
    until_management_is_unblocked(screen, watcher, &customer.management).await?;
    delete_organization(
        screen,
        recorder,
        &customer.management,
        &customer.organization,
    )
    .await?;
    watcher
        .until(
            screen,
            "both accounts of globex joined and were placed",
            |records, _| all_placed(records, 2),
        )
        .await
}

/// Act 3: a customer that must keep its organization transfers only its bill. Its
/// management account alone is enrolled, in billing mode; the inviter's sweep sends the
/// target's transfer invitation, the acceptor's accepts it through the spoke role, and
/// the tracker asks the target's list of transfers for the proof.
async fn billing_act(
    emulator: &Emulator,
    hub: &Hub,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
    id: &dyn Fn(&str) -> String,
) -> Result<()> {
    let customer =
        CustomerOrganization::create(emulator, hub, &id("777777777777"), &[id("777777777701")])
            .await?;
    let management = customer.management.account_id().to_string();
    screen.names.insert(management.clone(), "management".into());
    screen.order = vec![management.clone()];
    screen.last = None;
    let enrollment = customers::enrollment(
        "initech",
        TransferMode::billing(),
        Some(&management),
        &[],
        &[],
    )?;
    hub.enroll(&enrollment).await?;
    screen.act(&format!(
        "Act 3: enrollment initech in BILLING mode (organization {}: management {}, member          {}). initech must keep its organization: only its bill moves. The target invites          its management account to transfer billing (from the first day of next month); the          acceptor accepts only the target's TRANSFER_RESPONSIBILITY handshake.",
        customer.organization,
        management,
        customer.members[0].account_id()
    ));
    watcher
        .until(
            screen,
            "initech's bill is transferred to the target",
            |records, _| {
                record_of(records, &management).is_some_and(|r| r.phase == Phase::Transferred)
            },
        )
        .await?;
    let member_organization = customer.members[0]
        .organizations()
        .describe_organization()
        .send()
        .await?
        .organization
        .and_then(|o| o.id);
    ensure!(
        member_organization.as_deref() == Some(customer.organization.as_str()),
        "initech's member left its organization: {member_organization:?}"
    );
    screen.say(&format!(
        "verified: initech's member is still in its organization {}, and the target's list of transfers shows initech's as ACCEPTED",
        customer.organization
    ));
    Ok(())
}

/// Enrolls act 2's customer as `globex` in direct mode; the screen follows its accounts.
async fn enroll_in_direct_mode(
    hub: &Hub,
    customer: &CustomerOrganization,
    screen: &mut Screen,
) -> Result<()> {
    let (management, member) = (&customer.management, &customer.members[0]);
    screen
        .names
        .insert(management.account_id().to_string(), "management".into());
    screen
        .names
        .insert(member.account_id().to_string(), "member".into());
    screen.order = customer.account_ids();
    screen.last = None;
    let mut enrollment = customer.enrollment("globex", TransferMode::Direct, &[])?;
    enrollment.placement = placement("Customers/Globex", "globex-7", &customer.organization)?;
    hub.enroll(&enrollment).await?;
    screen.act(&format!(
        "Act 2: enrollment globex in DIRECT mode (organization {}: management {}, \
         member {}). In AWS the member would accept while still in its organization; the \
         emulator refuses the invitation itself (ALREADY_IN_AN_ORGANIZATION), which is the \
         fallback path.",
        customer.organization,
        management.account_id(),
        member.account_id()
    ));
    Ok(())
}

async fn direct_member_falls_back(
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
    member: &AwsAccount,
) -> Result<()> {
    let member_id = member.account_id().to_string();
    watcher
        .until(
            screen,
            "the member falls back to the standalone path",
            |records, _| record_of(records, &member_id).is_some_and(|r| r.fallback.is_some()),
        )
        .await
}

async fn direct_member_leaves(
    recorder: &Recorder,
    member: &AwsAccount,
    screen: &mut Screen,
    watcher: &mut Watch<'_>,
) -> Result<()> {
    screen.customer(&format!(
        "the member ({}) follows the remediation: LeaveOrganization",
        member.account_id()
    ));
    recorded_organizations_client(member, recorder)
        .leave_organization()
        .send()
        .await
        .context("the direct-mode member leaves")?;
    screen.aws("OK: the member left");
    watcher.pause(screen).await
}

/// The dispatcher of the hub's handlers, misbehaving as `variant` says.
fn dispatcher(
    hub: &Hub,
    variant: Variant,
    redeliveries_applied: Arc<Mutex<usize>>,
) -> Result<Dispatcher> {
    if variant == Variant::Normal {
        return hub.dispatcher();
    }
    let tracker = Arc::new(hub.tracker());
    let acceptor = Arc::new(hub.acceptor());
    let inviter = Arc::new(hub.inviter());
    let placer = Arc::new(hub.placer());
    let failed_once: Arc<Mutex<HashSet<String>>> = Arc::default();
    hub.event_loop
        .dispatcher()
        .on(FunctionName::Tracker.as_str(), move |event: Value| {
            let tracker = tracker.clone();
            let failed_once = failed_once.clone();
            let redeliveries_applied = redeliveries_applied.clone();
            async move {
                let key = event["detail"]["eventID"]
                    .as_str()
                    .or_else(|| event["id"].as_str())
                    .unwrap_or_default()
                    .to_string();
                if variant == Variant::TrackerFailsFirstDelivery
                    && failed_once.lock().expect("lock").insert(key.clone())
                {
                    bail!("injected: the tracker failed on the first delivery of {key}");
                }
                tracker.handle_json(&event).await?;
                if variant == Variant::EventsDeliveredTwice {
                    if let Outcome::Applied { .. } = tracker.handle_json(&event).await? {
                        *redeliveries_applied.lock().expect("lock") += 1;
                    }
                }
                Ok(())
            }
        })?
        .on(FunctionName::Acceptor.as_str(), move |event| {
            let acceptor = acceptor.clone();
            async move {
                acceptor.handle_json(&event).await?;
                Ok(())
            }
        })?
        .on(FunctionName::Inviter.as_str(), move |event| {
            let inviter = inviter.clone();
            async move {
                inviter.handle_json(&event).await?;
                Ok(())
            }
        })?
        .on(FunctionName::Placer.as_str(), move |event| {
            let placer = placer.clone();
            async move {
                placer.handle_json(&event).await?;
                Ok(())
            }
        })
}

/// Lambda on the function queues: polls them continuously (no long poll, so a message on
/// one queue never waits for the others' poll), running the handlers.
fn spawn_dispatcher(
    dispatcher: Dispatcher,
    recorder: Recorder,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<DispatchReport> {
    tokio::spawn(async move {
        let mut report = DispatchReport::default();
        while !*stop.borrow() {
            if let Err(e) = recorder.flush().await {
                tracing::warn!(error = format!("{e:#}"), "recorder flush failed");
            }
            let pause = match dispatcher.poll_once(0, &mut report).await {
                Ok(0) => Duration::from_millis(50),
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "dispatcher poll failed");
                    Duration::from_millis(200)
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        report
    })
}

/// The EventBridge schedules: the inviter's, the acceptor's and the placer's sweeps every
/// second.
fn spawn_schedules(hub: &Hub, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let inviter = hub.inviter();
    let acceptor = hub.acceptor();
    let placer = hub.placer();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            if let Err(e) = inviter.sweep().await {
                tracing::warn!(error = %e, "inviter sweep failed");
            }
            if let Err(e) = acceptor.sweep().await {
                tracing::warn!(error = %e, "acceptor sweep failed");
            }
            if let Err(e) = placer.sweep().await {
                tracing::warn!(error = %e, "placer sweep failed");
            }
        }
    })
}

/// Watches the table and the notifications until a condition holds.
struct Watch<'a> {
    hub: &'a Hub,
    queue: &'a TestQueue,
    notifications: Vec<Value>,
    timeout: Duration,
    pace: Duration,
}

impl Watch<'_> {
    async fn records(&self, order: &[String]) -> Result<Vec<OnboardingRecord>> {
        self.hub.records_of(order).await
    }

    async fn drain(&mut self, screen: &mut Screen) -> Result<()> {
        for note in self.queue.receive(Duration::ZERO).await? {
            screen.notification(&note);
            self.notifications.push(note);
        }
        Ok(())
    }

    /// Watches for `self.pace` (the demo's pause after a customer step).
    async fn pause(&mut self, screen: &mut Screen) -> Result<()> {
        let until = Instant::now() + self.pace;
        self.until(screen, "the pause ends", |_, _| Instant::now() >= until)
            .await
    }

    async fn until(
        &mut self,
        screen: &mut Screen,
        what: &str,
        done: impl Fn(&[OnboardingRecord], &[Value]) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let records = self.records(&screen.order).await?;
            screen.table(&records);
            self.drain(screen).await?;
            if done(&records, &self.notifications) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("timed out after {:?} waiting until {what}", self.timeout);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

/// What the demo prints: a narration line per customer step, the status table whenever a
/// phase or a blocker changes, and the notifications a person would be sent.
struct Screen {
    started: Instant,
    names: HashMap<String, String>,
    order: Vec<String>,
    last: Option<String>,
}

impl Screen {
    fn new(started: Instant) -> Self {
        Screen {
            started,
            names: HashMap::new(),
            order: Vec::new(),
            last: None,
        }
    }

    fn stamp(&self) -> String {
        format!("[{:>5.1}s]", self.started.elapsed().as_secs_f64())
    }

    fn say(&self, line: &str) {
        println!("{} {line}", self.stamp());
    }

    fn act(&self, line: &str) {
        println!("\n{} === {line}", self.stamp());
    }

    fn customer(&self, line: &str) {
        println!("{} customer> {line}", self.stamp());
    }

    fn aws(&self, line: &str) {
        println!("{}      aws> {line}", self.stamp());
    }

    fn name(&self, account: &str) -> String {
        match self.names.get(account) {
            Some(name) => format!("{account} ({name})"),
            None => account.to_string(),
        }
    }

    fn notification(&self, note: &Value) {
        // Every notification gets one line, phase changes and unblocks included (concise:
        // the table shows the phases too); one that the contract cannot read is printed as
        // such, never dropped, so a new or drifted detail-type shows up in the demo.
        let line = match NotificationDetail::from_event(note) {
            Ok(NotificationDetail::PhaseChanged(d)) => format!(
                "Onboarding Phase Changed: {}: {} -> {}{}",
                self.name(d.context.account_id.as_str()),
                d.old_phase,
                d.new_phase,
                d.reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            Ok(NotificationDetail::Blocked(d)) => {
                let codes: Vec<String> =
                    d.new_blockers.iter().map(|b| b.code.to_string()).collect();
                format!(
                    "Onboarding Blocked: {}: {}",
                    self.name(d.context.account_id.as_str()),
                    codes.join(", ")
                )
            }
            Ok(NotificationDetail::Unblocked(d)) => {
                let codes: Vec<String> = d.cleared.iter().map(ToString::to_string).collect();
                format!(
                    "Onboarding Unblocked: {}: {} cleared",
                    self.name(d.context.account_id.as_str()),
                    codes.join(", ")
                )
            }
            Ok(NotificationDetail::UnexpectedInvitation(d)) => format!(
                "Unexpected Invitation: {} was invited by {} ({}); never accepted",
                self.name(d.context.account_id.as_str()),
                d.inviting_organization.as_ref().map_or("?", |o| o.as_str()),
                d.reason
            ),
            Ok(NotificationDetail::AccountJoined(d)) => format!(
                "Account Joined: {}",
                self.name(d.context.account_id.as_str())
            ),
            Ok(NotificationDetail::BillingTransferred(d)) => format!(
                "Billing Transferred: {} ({}, every member included): transfer {}, the target pays from {}",
                self.name(d.context.account_id.as_str()),
                d.organization
                    .as_ref()
                    .map_or("its organization".to_owned(), |o| format!("organization {o}")),
                d.transfer_id,
                d.starts_at.map_or("?".to_owned(), |at| at.format("%Y-%m-%d").to_string())
            ),
            Ok(NotificationDetail::EnrollmentCompleted(d)) => format!(
                "Enrollment Completed: {} (every account's move finished: {})",
                d.enrollment,
                onboarding::report::view::plural(d.accounts, "account", "accounts")
            ),
            Ok(NotificationDetail::PreflightCompleted(d)) => {
                let blockers: Vec<String> = d
                    .blockers
                    .iter()
                    .map(|(code, n)| format!("{code} x{n}"))
                    .collect();
                format!(
                    "Preflight Completed: {}: {} accounts checked, {} with predicted blockers ({}), {} policies trusting the old organization",
                    d.enrollment,
                    d.accounts,
                    d.accounts_blocked,
                    if blockers.is_empty() { "none".to_owned() } else { blockers.join(", ") },
                    d.policies
                )
            }
            Ok(NotificationDetail::OnboardingDigest(d)) => format!(
                "Onboarding Digest: {} (a run of the {}): {}",
                d.enrollment, d.function, d.summary
            ),
            Ok(NotificationDetail::AccountPlaced(d)) => format!(
                "Account Placed: {} in {}",
                self.name(d.context.account_id.as_str()),
                d.placed_in.as_deref().unwrap_or("the root (nothing asked)")
            ),
            Ok(NotificationDetail::Stalled(d)) => format!(
                "Onboarding Stalled: {}: no progress since {}",
                self.name(d.context.account_id.as_str()),
                d.stalled_since.format("%Y-%m-%d %H:%M UTC")
            ),
            Ok(NotificationDetail::InvitationExpiring(d)) => format!(
                "Invitation Expiring: {}: {} closes at {}",
                self.name(d.context.account_id.as_str()),
                d.expiring_handshake_id,
                d.expires_at.format("%Y-%m-%d %H:%M UTC")
            ),
            Err(error) => format!(
                "unknown notification {}: {error}",
                note["detail-type"].as_str().unwrap_or("(no detail-type)")
            ),
        };
        println!("{}   notify> {line}", self.stamp());
    }

    /// Prints the table when a phase, a blocker or a fallback changed since the last one.
    fn table(&mut self, records: &[OnboardingRecord]) {
        let mut signature = String::new();
        for r in records {
            let codes: Vec<String> = r.blockers.iter().map(|b| b.code.to_string()).collect();
            let _ = write!(
                signature,
                "{} {} {} {}|",
                r.account_id,
                r.phase,
                codes.join(","),
                r.fallback.is_some()
            );
        }
        if self.last.as_deref() == Some(signature.as_str()) {
            return;
        }
        self.last = Some(signature);
        let body = report::status_table(records, Utc::now());
        let progress = report::progress(records).join("; ");
        println!("\n{} status: {progress}", self.stamp());
        for line in body.lines() {
            if line.is_empty() {
                println!();
            } else {
                println!("    {line}");
            }
        }
        println!();
    }
}

fn record_of<'r>(records: &'r [OnboardingRecord], account: &str) -> Option<&'r OnboardingRecord> {
    records.iter().find(|r| r.account_id.as_str() == account)
}

fn phase_of(records: &[OnboardingRecord], account: &str) -> Option<Phase> {
    record_of(records, account).map(|r| r.phase)
}

fn blocked_by(records: &[OnboardingRecord], account: &str, code: BlockerCode) -> bool {
    record_of(records, account).is_some_and(|r| r.is_blocked_by(code))
}

/// Whether there are `expected` records and every one of them joined.
fn all_placed(records: &[OnboardingRecord], expected: usize) -> bool {
    records.len() == expected && records.iter().all(|r| r.placed.is_some())
}
