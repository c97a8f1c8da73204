//! The local event loop: the deployment's EventBridge rules on the emulator, SQS queues
//! behind them, and a dispatcher that runs the real handlers in process.
//!
//! Why: end-to-end tests and the demo must exercise the same routing as AWS (which
//! function sees which event) and Lambda's at-least-once retry semantics, without
//! Lambda.
//!
//! What [`EventLoop::install`] creates, mirroring `template.yaml` / `infra/spoke.yaml`:
//! * in the hub account: the custom bus [`HUB_BUS_NAME`]; one rule per function on it
//!   (see [`FunctionRule::defaults`]: tracker on `source: aws.organizations`; acceptor on
//!   `org-onboarding` / `Onboarding Phase Changed` / `new_phase: Invited`; inviter on
//!   `new_phase: AwaitingInvitation`), each targeting an SQS queue `<prefix>-<function>`
//!   with a dead-letter queue after [`MAX_RECEIVES`] receives; and a rule on the hub's
//!   default bus forwarding `aws.organizations` to the hub bus (the hub's own calls, and
//!   the service events only the management account sees, land on its default bus);
//! * in each spoke ([`EventLoop::add_spoke`]): a rule on the default bus matching
//!   `{"source": ["aws.organizations"]}` targeting the hub bus ARN.
//!
//! Emulator gap: fakecloud (0.51.0) stores rules whose target is an event bus but never
//! delivers to them (its target dispatcher knows SQS, SNS, Lambda, Logs, Kinesis, Step
//! Functions, API destinations, HTTP), and its PutEvents writes to the caller's own
//! account whatever bus ARN is given. The forwarding rules are created anyway (same
//! resources as AWS) and the [`Recorder`] is told to put each event recorded in a spoke
//! or in the hub on the hub bus itself ([`Recorder::forward`]). The copy on the hub bus
//! then carries the hub as envelope `account`; the dispatcher and [`TestQueue`] restore
//! the envelope `account` of `aws.organizations` events from `detail.recipientAccountId`,
//! which is what AWS sets it to. Product code must not depend on this.
//!
//! The [`Dispatcher`] long-polls the function queues and invokes the registered async
//! handler with the EventBridge event (the SQS body), deleting the message only when the
//! handler returned `Ok`; on `Err` the message becomes visible again after the queue's
//! visibility timeout ([`VISIBILITY_TIMEOUT_SECS`]) and is retried, then dead-lettered,
//! as Lambda would. [`Dispatcher::run_until_idle`] is for tests, [`Dispatcher::spawn`]
//! for the demo.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_sqs::types::QueueAttributeName;
use onboarding::cloudtrail;
use onboarding::domain::FunctionName;
use onboarding::notifications;
use onboarding::trigger::{PHASE_TRIGGERS, PLACER_TRIGGER};
use onboarding::wiring::Wiring;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::accounts::AwsAccount;
use crate::recorder::{Forwarding, Recorder};

/// The hub's custom event bus.
pub const HUB_BUS_NAME: &str = "org-onboarding";
/// Receives before a message goes to the function's dead-letter queue.
pub const MAX_RECEIVES: u32 = 3;
/// Seconds before a message whose handler failed is delivered again.
pub const VISIBILITY_TIMEOUT_SECS: i32 = 1;

/// An async handler invoked with one EventBridge event.
pub type Handler =
    Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send + Sync>;

/// One function's rule on the hub bus.
#[derive(Debug, Clone)]
pub struct FunctionRule {
    pub function: String,
    pub pattern: Value,
}

impl FunctionRule {
    pub fn new(function: &str, pattern: Value) -> Self {
        FunctionRule {
            function: function.to_string(),
            pattern,
        }
    }

    /// The deployment's rules: tracker, acceptor, inviter, placer. The acceptor's and
    /// inviter's patterns are the library's [`PHASE_TRIGGERS`], the placer's its
    /// [`PLACER_TRIGGER`], as in template.yaml. The tracker's is
    /// wider than the template's two rules (which filter on detail-type and the followed
    /// `eventName`s): the recorder only records followed calls, and the tracker skips
    /// anything else itself. tests/tests/template_contract.rs checks both.
    pub fn defaults() -> Vec<FunctionRule> {
        let tracker = FunctionRule::new(
            FunctionName::Tracker.as_str(),
            json!({"source": [cloudtrail::SOURCE]}),
        );
        let woken_by_phase_changes = PHASE_TRIGGERS
            .iter()
            .map(|trigger| FunctionRule::new(trigger.function.as_str(), trigger.event_pattern()));
        let placer = FunctionRule::new(
            PLACER_TRIGGER.function.as_str(),
            PLACER_TRIGGER.event_pattern(),
        );
        std::iter::once(tracker)
            .chain(woken_by_phase_changes)
            .chain([placer])
            .collect()
    }
}

/// An SQS queue on the emulator.
#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// The rules and queues of one deployment on the emulator.
#[derive(Debug, Clone)]
pub struct EventLoop {
    hub: AwsAccount,
    recorder: Recorder,
    prefix: String,
    bus_arn: String,
    queues: HashMap<String, (Queue, Queue)>,
}

impl EventLoop {
    /// Installs the hub side with the default function rules. `prefix` names the
    /// queues and rules (unique per test is safest, though the hub account already is).
    pub async fn install(hub: &AwsAccount, recorder: &Recorder, prefix: &str) -> Result<Self> {
        Self::install_with(hub, recorder, prefix, FunctionRule::defaults()).await
    }

    /// Installs the hub side with the given function rules.
    pub async fn install_with(
        hub: &AwsAccount,
        recorder: &Recorder,
        prefix: &str,
        rules: Vec<FunctionRule>,
    ) -> Result<Self> {
        let events = hub.eventbridge();
        let bus = events
            .create_event_bus()
            .name(HUB_BUS_NAME)
            .send()
            .await
            .context("CreateEventBus on the hub")?;
        let bus_arn = bus.event_bus_arn().unwrap_or_default().to_string();
        let mut queues = HashMap::new();
        for rule in rules {
            let (queue, dlq) =
                create_queue_with_dlq(hub, &format!("{prefix}-{}", rule.function)).await?;
            put_rule_to_target(
                hub,
                HUB_BUS_NAME,
                &format!("{prefix}-{}", rule.function),
                &rule.pattern,
                &queue.arn,
            )
            .await?;
            queues.insert(rule.function, (queue, dlq));
        }
        let event_loop = EventLoop {
            hub: hub.clone(),
            recorder: recorder.clone(),
            prefix: prefix.to_string(),
            bus_arn,
            queues,
        };
        event_loop.install_forwarding(hub).await?;
        Ok(event_loop)
    }

    /// Installs the spoke side in a customer account: the forwarding rule to the hub bus.
    pub async fn add_spoke(&self, spoke: &AwsAccount) -> Result<()> {
        self.install_forwarding(spoke).await
    }

    async fn install_forwarding(&self, account: &AwsAccount) -> Result<()> {
        put_rule_to_target(
            account,
            "default",
            &format!("{}-forward-to-hub", self.prefix),
            &json!({"source": [cloudtrail::SOURCE]}),
            &self.bus_arn,
        )
        .await?;
        // The emulator does not deliver to bus targets: the recorder forwards.
        self.recorder.forward(
            account.account_id(),
            Forwarding {
                hub_account_id: self.hub.account_id().to_string(),
                hub_bus_name: HUB_BUS_NAME.to_string(),
            },
        );
        Ok(())
    }

    /// The hub identity.
    pub fn hub(&self) -> &AwsAccount {
        &self.hub
    }

    /// The hub bus ARN.
    pub fn hub_bus_arn(&self) -> &str {
        &self.bus_arn
    }

    /// The queue feeding `function`.
    pub fn queue(&self, function: &str) -> Result<&Queue> {
        self.queues
            .get(function)
            .map(|(q, _)| q)
            .ok_or_else(|| anyhow!("no queue for function {function}"))
    }

    /// The dead-letter queue of `function`.
    pub fn dead_letter_queue(&self, function: &str) -> Result<&Queue> {
        self.queues
            .get(function)
            .map(|(_, d)| d)
            .ok_or_else(|| anyhow!("no queue for function {function}"))
    }

    /// A queue named `name` receiving every notification the product publishes on the hub
    /// bus (a rule on the notifications' source, as a subscriber would have).
    pub async fn notifications_queue(&self, name: &str) -> Result<TestQueue> {
        self.route_to_test_queue(name, json!({"source": [notifications::SOURCE]}))
            .await
    }

    /// A new queue receiving what matches `pattern` on the hub bus (tests assert
    /// notifications and routed events this way).
    pub async fn route_to_test_queue(&self, name: &str, pattern: Value) -> Result<TestQueue> {
        TestQueue::on_bus(
            &self.hub,
            HUB_BUS_NAME,
            &format!("{}-{name}", self.prefix),
            pattern,
        )
        .await
    }

    /// A dispatcher for this event loop (register handlers with [`Dispatcher::on`]).
    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher {
            sqs: self.hub.sqs(),
            recorder: Some(self.recorder.clone()),
            routes: Vec::new(),
            queues: self.queues.clone(),
        }
    }
}

/// A queue behind a rule, read by a test.
#[derive(Debug, Clone)]
pub struct TestQueue {
    sqs: aws_sdk_sqs::Client,
    pub queue: Queue,
}

impl TestQueue {
    /// Creates queue `name` in `account` and a rule `name` on `bus` (a name in that
    /// account) sending what matches `pattern` to it.
    pub async fn on_bus(
        account: &AwsAccount,
        bus: &str,
        name: &str,
        pattern: Value,
    ) -> Result<TestQueue> {
        let queue = create_queue(account, name, None).await?;
        put_rule_to_target(account, bus, name, &pattern, &queue.arn).await?;
        Ok(TestQueue {
            sqs: account.sqs(),
            queue,
        })
    }

    /// Everything on the queue now: the emulator delivers synchronously with PutEvents,
    /// so what a finished handler published is already there (half a second covers a
    /// long poll's round trip).
    pub async fn drain(&self) -> Result<Vec<Value>> {
        self.receive(Duration::from_millis(500)).await
    }

    /// Drains until the queue answers empty (more than one receive's worth).
    pub async fn drain_all(&self) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            let batch = self.drain().await?;
            if batch.is_empty() {
                return Ok(out);
            }
            out.extend(batch);
        }
    }

    /// Receives and deletes every message available now (waiting up to `wait` for the
    /// first one), as EventBridge events.
    pub async fn receive(&self, wait: Duration) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let deadline = Instant::now() + wait;
        loop {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(&self.queue.url)
                .max_number_of_messages(10)
                .wait_time_seconds(if out.is_empty() && Instant::now() < deadline {
                    1
                } else {
                    0
                })
                .send()
                .await
                .context("ReceiveMessage")?;
            let messages = batch.messages();
            for m in messages {
                out.push(restore_account(parse_body(m.body().unwrap_or_default())?));
                if let Some(handle) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue.url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .context("DeleteMessage")?;
                }
            }
            if messages.is_empty() && (!out.is_empty() || Instant::now() >= deadline) {
                return Ok(out);
            }
        }
    }
}

/// Runs handlers for the function queues, in process.
pub struct Dispatcher {
    sqs: aws_sdk_sqs::Client,
    recorder: Option<Recorder>,
    routes: Vec<(String, Queue, Handler)>,
    queues: HashMap<String, (Queue, Queue)>,
}

/// What [`Dispatcher::run_until_idle`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DispatchReport {
    /// Handler invocations that returned `Ok` (message deleted), per function.
    pub succeeded: HashMap<String, usize>,
    /// Handler invocations that returned `Err` (message left for a retry), per function.
    pub failed: HashMap<String, usize>,
}

impl DispatchReport {
    pub fn total_succeeded(&self) -> usize {
        self.succeeded.values().sum()
    }
    pub fn total_failed(&self) -> usize {
        self.failed.values().sum()
    }
}

impl Dispatcher {
    /// Registers the handler of `function` (`tracker`, `acceptor`, `inviter`, …).
    pub fn on<F, Fut>(mut self, function: &str, handler: F) -> Result<Self>
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (queue, _) = self
            .queues
            .get(function)
            .ok_or_else(|| anyhow!("no queue for function {function}"))?
            .clone();
        let handler: Handler = Arc::new(move |event| Box::pin(handler(event)));
        self.routes.push((function.to_string(), queue, handler));
        Ok(self)
    }

    /// Runs function `F`, built by the product's wiring as its Lambda builds it, on the
    /// queue of its name.
    pub fn function<F: onboarding::wiring::Function>(self, wiring: &Wiring) -> Result<Self> {
        let function = Arc::new(F::build(wiring)?);
        self.on(F::NAME.as_str(), move |event| {
            let function = function.clone();
            async move { Ok(function.invoke(&event).await?) }
        })
    }

    /// One round: receives what is visible now on each registered queue (waiting up to
    /// `wait_seconds` on each) and runs the handlers. Returns the number of messages
    /// handled.
    pub async fn poll_once(&self, wait_seconds: i32, report: &mut DispatchReport) -> Result<usize> {
        let mut handled = 0;
        for (function, queue, handler) in &self.routes {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(&queue.url)
                .max_number_of_messages(10)
                .wait_time_seconds(wait_seconds)
                .send()
                .await
                .with_context(|| format!("ReceiveMessage from {}", queue.name))?;
            for message in batch.messages() {
                handled += 1;
                let event = restore_account(parse_body(message.body().unwrap_or_default())?);
                let result = handler(event.clone()).await;
                match result {
                    Ok(()) => {
                        *report.succeeded.entry(function.clone()).or_default() += 1;
                        if let Some(handle) = message.receipt_handle() {
                            self.sqs
                                .delete_message()
                                .queue_url(&queue.url)
                                .receipt_handle(handle)
                                .send()
                                .await
                                .context("DeleteMessage")?;
                        }
                    }
                    Err(error) => {
                        *report.failed.entry(function.clone()).or_default() += 1;
                        tracing::warn!(
                            function = %function,
                            event_name = %event["detail"]["eventName"],
                            error = format!("{error:#}"),
                            "handler failed; the message will be retried"
                        );
                    }
                }
            }
        }
        Ok(handled)
    }

    /// Dispatches until nothing is left: the recorder has published everything, and no
    /// registered queue has a visible or in-flight message (failed messages are retried
    /// until they succeed or are dead-lettered). Fails after `timeout`.
    pub async fn run_until_idle(&self, timeout: Duration) -> Result<DispatchReport> {
        let deadline = Instant::now() + timeout;
        let mut report = DispatchReport::default();
        loop {
            if let Some(recorder) = &self.recorder {
                recorder.flush().await?;
            }
            let handled = self.poll_once(0, &mut report).await?;
            if handled == 0 && self.in_flight().await? == 0 {
                // Handlers may have recorded new calls: one more round if so.
                if let Some(recorder) = &self.recorder {
                    recorder.flush().await?;
                }
                if self.poll_once(0, &mut report).await? == 0 && self.in_flight().await? == 0 {
                    return Ok(report);
                }
            }
            if Instant::now() > deadline {
                bail!("event loop not idle after {timeout:?}: {report:?}");
            }
            if handled == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Messages visible or in flight on the registered queues.
    async fn in_flight(&self) -> Result<usize> {
        let mut total = 0;
        for (_, queue, _) in &self.routes {
            let attrs = self
                .sqs
                .get_queue_attributes()
                .queue_url(&queue.url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .context("GetQueueAttributes")?;
            for value in attrs.attributes().into_iter().flat_map(|m| m.values()) {
                total += value.parse::<usize>().unwrap_or(0);
            }
        }
        Ok(total)
    }

    /// Runs in the background (the demo) until [`DispatcherHandle::stop`].
    pub fn spawn(self) -> DispatcherHandle {
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut report = DispatchReport::default();
            loop {
                if *stop_rx.borrow() {
                    break;
                }
                if let Some(recorder) = &self.recorder {
                    if let Err(e) = recorder.flush().await {
                        tracing::warn!(error = format!("{e:#}"), "recorder flush failed");
                    }
                }
                tokio::select! {
                    result = self.poll_once(1, &mut report) => {
                        if let Err(e) = result {
                            tracing::warn!(error = format!("{e:#}"), "dispatcher poll failed");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                    _ = stop_rx.changed() => break,
                }
            }
            report
        });
        DispatcherHandle { stop_tx, task }
    }
}

/// A dispatcher running in the background.
pub struct DispatcherHandle {
    stop_tx: watch::Sender<bool>,
    task: tokio::task::JoinHandle<DispatchReport>,
}

impl DispatcherHandle {
    /// Stops after the current round and returns what was dispatched.
    pub async fn stop(self) -> Result<DispatchReport> {
        let _ = self.stop_tx.send(true);
        self.task
            .await
            .map_err(|e| anyhow!("dispatcher task failed: {e}"))
    }
}

fn parse_body(body: &str) -> Result<Value> {
    serde_json::from_str(body).with_context(|| format!("SQS body is not JSON: {body}"))
}

/// The envelope `account` of a CloudTrail event is the account that recorded it
/// (= `detail.recipientAccountId`); the emulator sets the publisher's instead.
pub fn restore_account(mut event: Value) -> Value {
    if event["source"] == cloudtrail::SOURCE {
        if let Some(recipient) = event["detail"]["recipientAccountId"].as_str() {
            event["account"] = json!(recipient);
        }
    }
    event
}

async fn create_queue_with_dlq(account: &AwsAccount, name: &str) -> Result<(Queue, Queue)> {
    let dlq = create_queue(account, &format!("{name}-dlq"), None).await?;
    let redrive = json!({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": MAX_RECEIVES});
    let queue = create_queue(account, name, Some(redrive.to_string())).await?;
    Ok((queue, dlq))
}

async fn create_queue(account: &AwsAccount, name: &str, redrive: Option<String>) -> Result<Queue> {
    let sqs = account.sqs();
    let mut request = sqs.create_queue().queue_name(name).attributes(
        QueueAttributeName::VisibilityTimeout,
        VISIBILITY_TIMEOUT_SECS.to_string(),
    );
    if let Some(redrive) = redrive {
        request = request.attributes(QueueAttributeName::RedrivePolicy, redrive);
    }
    let url = request
        .send()
        .await
        .with_context(|| format!("CreateQueue {name}"))?
        .queue_url()
        .ok_or_else(|| anyhow!("CreateQueue {name} returned no URL"))?
        .to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("GetQueueAttributes {name}"))?;
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_else(|| format!("arn:aws:sqs:us-east-1:{}:{name}", account.account_id()));
    // The queue policy EventBridge needs in AWS (the emulator does not check it).
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn
        }]
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .with_context(|| format!("SetQueueAttributes Policy {name}"))?;
    Ok(Queue {
        name: name.to_string(),
        url,
        arn,
    })
}

async fn put_rule_to_target(
    account: &AwsAccount,
    bus: &str,
    rule: &str,
    pattern: &Value,
    target_arn: &str,
) -> Result<()> {
    let events = account.eventbridge();
    events
        .put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .with_context(|| format!("PutRule {rule} on {bus} in {}", account.account_id()))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("target")
        .arn(target_arn)
        .build()
        .context("target")?;
    let out = events
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .with_context(|| format!("PutTargets {rule} in {}", account.account_id()))?;
    if out.failed_entry_count() > 0 {
        bail!("PutTargets {rule}: {:?}", out.failed_entries());
    }
    Ok(())
}
