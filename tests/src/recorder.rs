//! A local CloudTrail for AWS Organizations: turns each mutating Organizations call made
//! through a recorded client into the CloudTrail event AWS would deliver through
//! EventBridge, and puts it on the emulator's EventBridge.
//!
//! Why: the product is driven by those events, and no emulator records CloudTrail.
//!
//! What is recorded, and where (as AWS does it):
//! * API calls the product follows (`onboarding::cloudtrail::FOLLOWED_API_CALLS`:
//!   `InviteAccountToOrganization`, `AcceptHandshake`, `DeclineHandshake`,
//!   `CancelHandshake`, `LeaveOrganization`, `RemoveAccountFromOrganization`,
//!   `DeleteOrganization`, `InviteOrganizationToTransferResponsibility`,
//!   `TerminateResponsibilityTransfer`), successful or failed, one event per HTTP attempt (a throttled
//!   attempt that the SDK retries is its own failed event, like in CloudTrail), with
//!   detail-type `AWS API Call via CloudTrail`, recorded in the *calling* account. Read-only
//!   calls (List*, Describe*) are not recorded: EventBridge does not deliver read-only
//!   management events.
//! * Service events, detail-type `AWS Service Event via CloudTrail`, recorded in the
//!   *management account* of the organization concerned: `AccountJoinedOrganization`
//!   (`joinedMethod: Invited`) after a successful `AcceptHandshake` of an INVITE, and
//!   `AccountDepartedOrganization` (`departureMethod: Left` / `Removed`) after a
//!   successful `LeaveOrganization` / `RemoveAccountFromOrganization`, or after an accept
//!   that moved an account out of its old organization (direct transfer). The API
//!   reference documents the event names, `joinedMethod`/`departedMethod` values and
//!   that only the management account sees them; the key names under
//!   `serviceEventDetails` follow `tests/fixtures/cloudtrail/service-event-*.json`
//!   (not documented by AWS).
//!
//! The shape matches the fixtures in `tests/fixtures/cloudtrail/` field for field:
//! request and response members in camelCase, the handshake `action` in lower case and
//! its timestamps as `Dec 5, 2026 9:41:16 AM`, `requestParameters`/`responseElements`
//! `null` when empty, `errorCode`/`errorMessage` for failures (no `Reason`: CloudTrail does
//! not carry it), `userIdentity` of an IAM user or an assumed role, `tlsDetails`.
//! Normalisations of emulator output, so that events look like AWS's (see README):
//! the emulator adds the *source* account as a third handshake party (AWS lists only the
//! organization and the target), which is dropped; and it returns the invitation notes
//! as a top-level handshake member `Notes`, which AWS's `Handshake` does not have (AWS
//! lists them as a `NOTES` resource), so they are moved there. Nothing else is invented:
//! the emulator's organization resource lacks AWS's nested `MASTER_EMAIL`/`MASTER_NAME`/
//! `ORGANIZATION_FEATURE_SET` and stays so.
//!
//! Delivery: each event is put (PutEvents) on the default bus of the account that
//! recorded it, acting as that account. fakecloud does not deliver rule targets that are
//! event buses (neither cross-account nor same-account), and its PutEvents always writes
//! to the caller's own account, so the spoke rule "forward aws.organizations to the hub
//! bus" cannot run on the emulator: when [`Recorder::forward`] has been configured for an
//! account (the event loop does it when it installs a spoke or the hub), the recorder also
//! puts the event on the hub bus itself, acting as the hub account. The envelope
//! `account` of that copy is therefore the hub's; the dispatcher restores it from
//! `detail.recipientAccountId` (which is what AWS sets it to), see
//! [`crate::event_loop`].
//!
//! Interceptor hooks are synchronous: events are built in the hook, appended to the
//! in-memory journal ([`Recorder::events`]) at once, and put on the emulator by a
//! background task; [`Recorder::flush`] waits until everything recorded so far is on
//! the emulator.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use chrono::{DateTime, SecondsFormat, Utc};
use onboarding::cloudtrail;
use onboarding::domain::Operation;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::accounts::{sdk_config, AwsAccount, CallerIdentity, IdentityKind};
use crate::emulator::Emulator;
use crate::faults::Faults;
use crate::REGION;

/// The mutating Organizations operations recorded: exactly those the product follows
/// (AWS records every mutating call; the others would only be skipped by the tracker).
/// The library's list, so that an operation the parser starts to follow is recorded too.
pub const RECORDED_OPERATIONS: [&str; cloudtrail::FOLLOWED_API_CALLS.len()] =
    cloudtrail::FOLLOWED_API_CALLS;

pub const API_CALL_DETAIL_TYPE: &str = cloudtrail::API_CALL;
pub const SERVICE_EVENT_DETAIL_TYPE: &str = cloudtrail::SERVICE_EVENT;
pub const SOURCE: &str = cloudtrail::SOURCE;

/// Where events recorded in an account are forwarded (the spoke/hub forwarding rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarding {
    pub hub_account_id: String,
    pub hub_bus_name: String,
}

/// The local CloudTrail. Cheap to clone; all clones share the journal.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    emulator_addr: SocketAddr,
    faults: Mutex<Option<Faults>>,
    journal: Mutex<Vec<Value>>,
    forwarding: Mutex<HashMap<String, Forwarding>>,
    tx: mpsc::UnboundedSender<Command>,
}

enum Command {
    Publish {
        event: Value,
        targets: Vec<(String, String)>,
    },
    Flush(oneshot::Sender<Vec<String>>),
}

impl Recorder {
    /// A recorder publishing to `emulator`. Spawns its publishing task on the current
    /// tokio runtime (call it from inside one).
    pub fn new(emulator: &Emulator) -> Recorder {
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            emulator_addr: emulator.addr(),
            faults: Mutex::new(None),
            journal: Mutex::new(Vec::new()),
            forwarding: Mutex::new(HashMap::new()),
            tx,
        });
        tokio::spawn(publish_loop(
            rx,
            emulator.addr(),
            emulator.endpoint().to_string(),
        ));
        Recorder { inner }
    }

    /// Same recorder, whose recorded clients (created from now on) also inject
    /// `faults`; the injected failures are recorded as failed calls, as AWS would record
    /// the real ones. Applies to every clone of this recorder.
    pub fn with_faults(self, faults: &Faults) -> Recorder {
        *self.inner.faults.lock().expect("faults lock") = Some(faults.clone());
        self
    }

    /// Events recorded in `from_account_id` are also put on `to`'s bus (stands in for
    /// the EventBridge forwarding rule, which the emulator does not run).
    pub fn forward(&self, from_account_id: &str, to: Forwarding) {
        self.inner
            .forwarding
            .lock()
            .expect("forwarding lock")
            .insert(from_account_id.to_string(), to);
    }

    /// Every event recorded so far, in order (EventBridge envelopes).
    pub fn events(&self) -> Vec<Value> {
        self.inner.journal.lock().expect("journal lock").clone()
    }

    /// The recorded events with this `detail.eventName`.
    pub fn events_named(&self, event_name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["detail"]["eventName"] == event_name)
            .collect()
    }

    /// Waits until every event recorded so far has been put on the emulator; fails with
    /// the publishing errors since the last flush.
    pub async fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Command::Flush(tx))
            .map_err(|_| anyhow!("the recorder's publishing task has stopped"))?;
        let errors = rx
            .await
            .map_err(|_| anyhow!("the recorder's publishing task has stopped"))?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(anyhow!(
                "recorder failed to publish events: {}",
                errors.join("; ")
            ))
        }
    }

    /// The interceptor recording the calls made by `identity`.
    pub fn interceptor(&self, identity: &CallerIdentity) -> RecordingInterceptor {
        RecordingInterceptor {
            recorder: self.clone(),
            identity: identity.clone(),
        }
    }

    fn record(&self, event: Value) {
        let recorded_in = event["account"].as_str().unwrap_or_default().to_string();
        let mut targets = vec![(recorded_in.clone(), "default".to_string())];
        if let Some(fwd) = self
            .inner
            .forwarding
            .lock()
            .expect("forwarding lock")
            .get(&recorded_in)
        {
            targets.push((fwd.hub_account_id.clone(), fwd.hub_bus_name.clone()));
        }
        tracing::debug!(
            event_name = %event["detail"]["eventName"],
            account = %recorded_in,
            "recorded CloudTrail event"
        );
        self.inner
            .journal
            .lock()
            .expect("journal lock")
            .push(event.clone());
        let _ = self.inner.tx.send(Command::Publish { event, targets });
    }

    /// Organization membership before a call: `(organization id, management account)`
    /// of `account_id`, read from the emulator's introspection endpoint.
    fn membership(&self, account_id: &str) -> Option<(String, String)> {
        let snapshot = crate::http::request(
            self.inner.emulator_addr,
            "GET",
            "/_fakecloud/organizations/accounts",
            None,
            Duration::from_secs(5),
        )
        .ok()?
        .json()
        .ok()?;
        let org_id = snapshot["accounts"]
            .as_array()?
            .iter()
            .find(|a| a["id"] == account_id)?["organizationId"]
            .as_str()?
            .to_string();
        let management = snapshot["organizations"]
            .as_array()?
            .iter()
            .find(|o| o["organizationId"] == org_id.as_str())?["managementAccountId"]
            .as_str()?
            .to_string();
        Some((org_id, management))
    }
}

/// An Organizations client acting as `account` whose mutating calls are recorded by
/// `recorder` (and which injects the recorder's faults, if any).
pub fn recorded_organizations_client(
    account: &AwsAccount,
    recorder: &Recorder,
) -> aws_sdk_organizations::Client {
    recorded_organizations_client_with(account, recorder, None)
}

/// The same, with one more interceptor (a function's IAM call log).
pub fn recorded_organizations_client_with(
    account: &AwsAccount,
    recorder: &Recorder,
    extra: Option<aws_smithy_runtime_api::client::interceptors::SharedInterceptor>,
) -> aws_sdk_organizations::Client {
    let mut builder = aws_sdk_organizations::config::Builder::from(account.config());
    if let Some(interceptor) = extra {
        builder.push_interceptor(interceptor);
    }
    if let Some(faults) = recorder.inner.faults.lock().expect("faults lock").as_ref() {
        builder = builder.interceptor(faults.interceptor(account.account_id()));
    }
    let config = builder
        .interceptor(recorder.interceptor(account.identity()))
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

/// The SDK interceptor of a [`Recorder`] for one caller identity.
#[derive(Debug, Clone)]
pub struct RecordingInterceptor {
    recorder: Recorder,
    identity: CallerIdentity,
}

/// State carried from the first hooks of an operation to its attempts.
#[derive(Debug, Clone)]
struct CallState {
    operation: String,
    request_body: Value,
    user_agent: String,
    /// The caller's organization before the call (for the service events).
    membership_before: Option<(String, String)>,
}

impl Storable for CallState {
    type Storer = StoreReplace<Self>;
}

impl Intercept for RecordingInterceptor {
    fn name(&self) -> &'static str {
        "CloudTrailRecorder"
    }

    fn read_before_signing(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Runs once per attempt; the first attempt captures the call. The operation name
        // is not in the config bag yet when client interceptors' `read_before_execution`
        // runs, hence this hook. It also runs before the fault interceptor (if any)
        // rewrites the request in `modify_before_transmit`: this is the request the
        // caller really made.
        if cfg.load::<CallState>().is_some() {
            return Ok(());
        }
        let Some(operation) = cfg.load::<Metadata>().map(|m| m.name().to_string()) else {
            return Ok(());
        };
        if !RECORDED_OPERATIONS.contains(&operation.as_str()) {
            return Ok(());
        }
        let membership_before = match Operation::from_name(&operation) {
            Some(Operation::LeaveOrganization | Operation::AcceptHandshake) => {
                self.recorder.membership(&self.identity.account_id)
            }
            _ => None,
        };
        let request = context.request();
        let request_body = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let user_agent = request
            .headers()
            .get("user-agent")
            .or_else(|| request.headers().get("x-amz-user-agent"))
            .unwrap_or_default()
            .to_string();
        cfg.interceptor_state().store_put(CallState {
            operation,
            request_body,
            user_agent,
            membership_before,
        });
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(state) = cfg.load::<CallState>().cloned() else {
            return Ok(());
        };
        // No response: the call never reached AWS (connection error), nothing recorded.
        let Some(response) = context.response() else {
            return Ok(());
        };
        let status = response.status().as_u16();
        let body: Value = response
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let header = |name: &str| response.headers().get(name).map(str::to_string);
        let outcome = if (200..300).contains(&status) {
            Outcome::Success(body)
        } else {
            let code = header("x-amzn-errortype")
                .or_else(|| body["__type"].as_str().map(str::to_string))
                .or_else(|| body["code"].as_str().map(str::to_string))
                .unwrap_or_else(|| format!("HTTP{status}"));
            let code = code
                .split(':')
                .next()
                .unwrap_or_default()
                .rsplit('#')
                .next()
                .unwrap_or_default()
                .to_string();
            let message = body["message"]
                .as_str()
                .or_else(|| body["Message"].as_str())
                .unwrap_or_default()
                .to_string();
            Outcome::Failure { code, message }
        };
        let call = ApiCall {
            operation: state.operation.clone(),
            identity: self.identity.clone(),
            request: state.request_body.clone(),
            user_agent: state.user_agent.clone(),
            request_id: header("x-amzn-requestid")
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            outcome,
            time: Utc::now(),
        };
        let api_event = call.to_event();
        self.recorder.record(api_event);
        for service_event in call.service_events(state.membership_before.as_ref()) {
            self.recorder.record(service_event);
        }
        Ok(())
    }
}

/// The outcome of one attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The response body (awsJson1_1, PascalCase).
    Success(Value),
    Failure {
        code: String,
        message: String,
    },
}

/// One Organizations call, as the recorder saw it on the wire.
#[derive(Debug, Clone)]
pub struct ApiCall {
    pub operation: String,
    pub identity: CallerIdentity,
    /// The request body (awsJson1_1, PascalCase).
    pub request: Value,
    pub user_agent: String,
    pub request_id: String,
    pub outcome: Outcome,
    pub time: DateTime<Utc>,
}

impl ApiCall {
    /// The `AWS API Call via CloudTrail` event, recorded in the caller's account.
    pub fn to_event(&self) -> Value {
        let account = &self.identity.account_id;
        let request_parameters = non_empty(cloudtrail_json(&self.request));
        let (response_elements, error) = match &self.outcome {
            Outcome::Success(body) => (non_empty(normalise_response(cloudtrail_json(body))), None),
            Outcome::Failure { code, message } => (Value::Null, Some((code, message))),
        };
        let mut detail = json!({
            "eventVersion": "1.08",
            "userIdentity": user_identity(&self.identity),
            "eventTime": event_time(self.time),
            "eventSource": "organizations.amazonaws.com",
            "eventName": self.operation,
            "awsRegion": REGION,
            "sourceIPAddress": "127.0.0.1",
            "userAgent": self.user_agent,
            "requestParameters": request_parameters,
            "responseElements": response_elements,
        });
        let fields = detail.as_object_mut().expect("object");
        if let Some((code, message)) = error {
            fields.insert("errorCode".into(), json!(code));
            fields.insert("errorMessage".into(), json!(message));
        }
        fields.insert("requestID".into(), json!(self.request_id));
        fields.insert("eventID".into(), json!(uuid::Uuid::new_v4().to_string()));
        fields.insert("readOnly".into(), json!(false));
        fields.insert("eventType".into(), json!("AwsApiCall"));
        fields.insert("managementEvent".into(), json!(true));
        fields.insert("recipientAccountId".into(), json!(account));
        fields.insert("eventCategory".into(), json!("Management"));
        fields.insert(
            "tlsDetails".into(),
            json!({
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": "organizations.us-east-1.amazonaws.com"
            }),
        );
        envelope(API_CALL_DETAIL_TYPE, account, self.time, detail)
    }

    /// The service events AWS records in management accounts after this call.
    /// `membership_before` is the caller's `(organization, management account)` before
    /// the call.
    pub fn service_events(&self, membership_before: Option<&(String, String)>) -> Vec<Value> {
        let Outcome::Success(body) = &self.outcome else {
            return Vec::new();
        };
        let caller = &self.identity.account_id;
        let mut events = Vec::new();
        match Operation::from_name(&self.operation) {
            Some(Operation::LeaveOrganization) => {
                if let Some((_, management)) = membership_before {
                    events.push(departed(management, caller, "Left", self.time));
                }
            }
            Some(Operation::RemoveAccountFromOrganization) => {
                if let Some(removed) = self.request["AccountId"].as_str() {
                    events.push(departed(caller, removed, "Removed", self.time));
                }
            }
            Some(Operation::AcceptHandshake) => {
                let handshake = &body["Handshake"];
                let is_invite = handshake["Action"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case("INVITE"));
                // arn:aws:organizations::<management>:handshake/<org>/invite/<id>
                let management = handshake["Arn"]
                    .as_str()
                    .and_then(|arn| arn.split(':').nth(4))
                    .filter(|a| !a.is_empty());
                if let (true, Some(management)) = (is_invite, management) {
                    if let Some((_, old_management)) = membership_before {
                        if old_management != management {
                            events.push(departed(old_management, caller, "Left", self.time));
                        }
                    }
                    events.push(joined(management, caller, "Invited", self.time));
                }
            }
            _ => {}
        }
        events
    }
}

fn departed(management: &str, account: &str, method: &str, time: DateTime<Utc>) -> Value {
    service_event(
        cloudtrail::ACCOUNT_DEPARTED,
        management,
        time,
        json!({"accountDepartedOrganizationDetails": {
            "accountId": account,
            "departureMethod": method,
            "departedTimestamp": event_time(time),
        }}),
    )
}

fn joined(management: &str, account: &str, method: &str, time: DateTime<Utc>) -> Value {
    service_event(
        cloudtrail::ACCOUNT_JOINED,
        management,
        time,
        json!({"accountJoinedOrganizationDetails": {
            "accountId": account,
            "joinedMethod": method,
            "joinedTimestamp": event_time(time),
        }}),
    )
}

fn service_event(name: &str, management: &str, time: DateTime<Utc>, details: Value) -> Value {
    let detail = json!({
        "eventVersion": "1.11",
        "userIdentity": {"accountId": management, "invokedBy": "organizations.amazonaws.com"},
        "eventTime": event_time(time),
        "eventSource": "organizations.amazonaws.com",
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": "organizations.amazonaws.com",
        "userAgent": "organizations.amazonaws.com",
        "requestParameters": null,
        "responseElements": null,
        "eventID": uuid::Uuid::new_v4().to_string(),
        "readOnly": false,
        "eventType": "AwsServiceEvent",
        "managementEvent": true,
        "recipientAccountId": management,
        "serviceEventDetails": details,
        "eventCategory": "Management",
    });
    envelope(SERVICE_EVENT_DETAIL_TYPE, management, time, detail)
}

fn envelope(detail_type: &str, account: &str, time: DateTime<Utc>, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": detail_type,
        "source": SOURCE,
        "account": account,
        "time": event_time(time),
        "region": REGION,
        "resources": [],
        "detail": detail,
    })
}

fn event_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn user_identity(identity: &CallerIdentity) -> Value {
    match &identity.kind {
        IdentityKind::IamUser { user_name } => json!({
            "type": "IAMUser",
            "principalId": identity.principal_id,
            "arn": identity.arn,
            "accountId": identity.account_id,
            "accessKeyId": identity.access_key_id,
            "userName": user_name,
        }),
        IdentityKind::AssumedRole {
            role_name,
            role_arn,
            role_id,
            creation_date,
            ..
        } => json!({
            "type": "AssumedRole",
            "principalId": identity.principal_id,
            "arn": identity.arn,
            "accountId": identity.account_id,
            "accessKeyId": identity.access_key_id,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": role_arn,
                    "accountId": identity.account_id,
                    "userName": role_name,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": creation_date, "mfaAuthenticated": "false"},
            },
        }),
    }
}

/// `null` for an absent or empty request/response, as CloudTrail writes it.
fn non_empty(value: Value) -> Value {
    match &value {
        Value::Object(map) if map.is_empty() => Value::Null,
        _ => value,
    }
}

/// awsJson1_1 (PascalCase, epoch-second timestamps) to CloudTrail's rendering: camelCase
/// members, `*Timestamp` members as `Dec 5, 2026 9:41:16 AM`, the handshake `action`
/// in lower case.
pub fn cloudtrail_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                let camel = camel_case(key);
                let converted = match (key.as_str(), v) {
                    (k, Value::Number(n)) if k.ends_with("Timestamp") => n
                        .as_f64()
                        .and_then(|secs| {
                            DateTime::from_timestamp(secs.trunc() as i64, 0)
                                .map(|t| json!(t.format("%b %-d, %Y %-I:%M:%S %p").to_string()))
                        })
                        .unwrap_or_else(|| v.clone()),
                    ("Action", Value::String(s)) => json!(s.to_ascii_lowercase()),
                    _ => cloudtrail_json(v),
                };
                out.insert(camel, converted);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(cloudtrail_json).collect()),
        other => other.clone(),
    }
}

/// Drops the emulator's extra handshake party (its source account), which AWS does not
/// list: AWS's parties are the organization and the target.
fn normalise_response(mut value: Value) -> Value {
    if let Some(handshake) = value.get_mut("handshake") {
        let source_account = handshake["arn"]
            .as_str()
            .and_then(|arn| arn.split(':').nth(4))
            .map(str::to_string);
        if let (Some(source), Some(parties)) = (
            source_account,
            handshake.get_mut("parties").and_then(Value::as_array_mut),
        ) {
            if parties.len() > 2 {
                parties.retain(|p| !(p["type"] == "ACCOUNT" && p["id"] == source.as_str()));
            }
        }
        // The emulator returns the notes as a top-level `Notes` member, which AWS's
        // Handshake structure does not have: AWS carries them as a NOTES resource.
        if let Some(notes) = handshake.as_object_mut().and_then(|h| h.remove("notes")) {
            if let Some(resources) = handshake.get_mut("resources").and_then(Value::as_array_mut) {
                if !resources.iter().any(|r| r["type"] == "NOTES") {
                    resources.push(json!({"type": "NOTES", "value": notes}));
                }
            }
        }
    }
    value
}

fn camel_case(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The publishing task: puts events on the emulator's EventBridge, acting as the owning
/// account of each target bus (through admin users it creates on demand).
async fn publish_loop(
    mut rx: mpsc::UnboundedReceiver<Command>,
    addr: SocketAddr,
    endpoint: String,
) {
    let mut clients: HashMap<String, aws_sdk_eventbridge::Client> = HashMap::new();
    let mut errors = Vec::new();
    let mut warned: HashSet<String> = HashSet::new();
    while let Some(command) = rx.recv().await {
        match command {
            Command::Flush(done) => {
                let _ = done.send(std::mem::take(&mut errors));
            }
            Command::Publish { event, targets } => {
                for (account, bus) in targets {
                    if let Err(e) =
                        publish(&mut clients, addr, &endpoint, &account, &bus, &event).await
                    {
                        let message =
                            format!("{} to {account}/{bus}: {e:#}", event["detail"]["eventName"]);
                        if warned.insert(message.clone()) {
                            tracing::warn!(%message, "CloudTrail recorder could not publish");
                        }
                        errors.push(message);
                    }
                }
            }
        }
    }
}

async fn publish(
    clients: &mut HashMap<String, aws_sdk_eventbridge::Client>,
    addr: SocketAddr,
    endpoint: &str,
    account: &str,
    bus: &str,
    event: &Value,
) -> Result<()> {
    if !clients.contains_key(account) {
        let body = json!({
            "accountId": account,
            "userName": format!("cloudtrail-{}", uuid::Uuid::new_v4().simple()),
        });
        let created = tokio::task::spawn_blocking(move || {
            crate::http::request(
                addr,
                "POST",
                "/_fakecloud/iam/create-admin",
                Some(&body),
                Duration::from_secs(10),
            )
            .and_then(|r| r.json())
        })
        .await??;
        let key = |f: &str| {
            created[f]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("create-admin response without {f}: {created}"))
        };
        let config = sdk_config(
            endpoint,
            Credentials::new(
                key("accessKeyId")?,
                key("secretAccessKey")?,
                None,
                None,
                "cloudtrail-recorder",
            ),
        );
        clients.insert(
            account.to_string(),
            aws_sdk_eventbridge::Client::new(&config),
        );
    }
    let client = &clients[account];
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source(SOURCE)
        .detail_type(event["detail-type"].as_str().unwrap_or_default())
        .detail(event["detail"].to_string())
        .event_bus_name(bus)
        .time(aws_smithy_types::DateTime::from_secs(
            DateTime::parse_from_rfc3339(event["time"].as_str().unwrap_or_default())
                .map(|t| t.timestamp())
                .unwrap_or_else(|_| Utc::now().timestamp()),
        ))
        .build();
    let out = client
        .put_events()
        .entries(entry)
        .send()
        .await
        .context("PutEvents")?;
    if out.failed_entry_count() > 0 {
        let reason = out
            .entries()
            .iter()
            .filter_map(|e| e.error_message())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(anyhow!("PutEvents failed entry: {reason}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> CallerIdentity {
        CallerIdentity {
            account_id: "111111111111".into(),
            arn: "arn:aws:iam::111111111111:user/admin".into(),
            principal_id: "AIDAEXAMPLE".into(),
            access_key_id: "FKIAEXAMPLE".into(),
            kind: IdentityKind::IamUser {
                user_name: "admin".into(),
            },
        }
    }

    #[test]
    fn invite_is_rendered_like_cloudtrail() {
        let call = ApiCall {
            operation: "InviteAccountToOrganization".into(),
            identity: identity(),
            request: json!({"Target": {"Type": "ACCOUNT", "Id": "555555555555"}, "Notes": "hi"}),
            user_agent: "ua".into(),
            request_id: "r-1".into(),
            outcome: Outcome::Success(json!({"Handshake": {
                "Id": "h-1",
                "Arn": "arn:aws:organizations::111111111111:handshake/o-1/invite/h-1",
                "Action": "INVITE",
                "State": "OPEN",
                "RequestedTimestamp": 1_795_167_676.0,
                "Parties": [
                    {"Id": "o-1", "Type": "ORGANIZATION"},
                    {"Id": "111111111111", "Type": "ACCOUNT"},
                    {"Id": "555555555555", "Type": "ACCOUNT"}
                ]
            }})),
            time: Utc::now(),
        };
        let event = call.to_event();
        assert_eq!(event["account"], "111111111111");
        let detail = &event["detail"];
        assert_eq!(
            detail["requestParameters"],
            json!({"target": {"type": "ACCOUNT", "id": "555555555555"}, "notes": "hi"})
        );
        let handshake = &detail["responseElements"]["handshake"];
        assert_eq!(handshake["action"], "invite");
        assert_eq!(handshake["requestedTimestamp"], "Nov 20, 2026 9:41:16 AM");
        assert_eq!(
            handshake["parties"],
            json!([{"id": "o-1", "type": "ORGANIZATION"}, {"id": "555555555555", "type": "ACCOUNT"}])
        );
        assert_eq!(detail["recipientAccountId"], "111111111111");
        assert!(detail.get("errorCode").is_none());
        assert!(call.service_events(None).is_empty());
    }

    #[test]
    fn failed_leave_has_error_fields_and_no_service_event() {
        let call = ApiCall {
            operation: "LeaveOrganization".into(),
            identity: identity(),
            request: json!({}),
            user_agent: "ua".into(),
            request_id: "r-2".into(),
            outcome: Outcome::Failure {
                code: "ConstraintViolationException".into(),
                message: "no payment method".into(),
            },
            time: Utc::now(),
        };
        let event = call.to_event();
        assert_eq!(event["detail"]["requestParameters"], Value::Null);
        assert_eq!(event["detail"]["responseElements"], Value::Null);
        assert_eq!(event["detail"]["errorCode"], "ConstraintViolationException");
        assert_eq!(event["detail"]["errorMessage"], "no payment method");
        let membership = ("o-1".to_string(), "222222222222".to_string());
        assert!(call.service_events(Some(&membership)).is_empty());
    }

    #[test]
    fn successful_leave_emits_departed_in_the_management_account() {
        let call = ApiCall {
            operation: "LeaveOrganization".into(),
            identity: identity(),
            request: json!({}),
            user_agent: "ua".into(),
            request_id: "r-3".into(),
            outcome: Outcome::Success(json!({})),
            time: Utc::now(),
        };
        let membership = ("o-1".to_string(), "222222222222".to_string());
        let events = call.service_events(Some(&membership));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["detail-type"], SERVICE_EVENT_DETAIL_TYPE);
        assert_eq!(events[0]["account"], "222222222222");
        assert_eq!(
            events[0]["detail"]["serviceEventDetails"]["accountDepartedOrganizationDetails"]
                ["departureMethod"],
            "Left"
        );
    }
}
