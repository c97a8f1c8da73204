//! Fault injection: make chosen AWS calls fail with chosen AWS errors, a chosen number
//! of times.
//!
//! Why: the emulator cannot produce what the product must handle most: it has no billing
//! data, so `LeaveOrganization` never fails for a missing payment method; it never
//! throttles; it never answers 500. Tests and the demo show those paths by injecting the
//! exact wire error AWS sends.
//!
//! How: an SDK interceptor ([`FaultInterceptor`], attached per client and per account).
//! When a rule matches an attempt (operation name, optionally the calling account), the
//! interceptor
//! 1. in `modify_before_transmit`, replaces the signed request by a harmless
//!    `GET /_fakecloud/health` to the same emulator, so the emulator's state is *not*
//!    changed by a call that is reported as failed (replacing only the response would
//!    let a "failed" `LeaveOrganization` really leave);
//! 2. in `modify_before_deserialization`, replaces the response by the error AWS would
//!    send with the awsJson1_1 protocol: the HTTP status and a body
//!    `{"__type": code, "Message": message, "Reason": reason}`.
//!
//! The SDK then parses a genuine modeled error (e.g. `ConstraintViolationException` with
//! `reason() == MemberAccountPaymentInstrumentRequired`), applies its retry policy
//! (throttling and 5xx are retried by the standard retry strategy, and each attempt
//! consumes one injected failure), and the recorder (see [`crate::recorder`]) records
//! the attempt as a failed call with `errorCode`/`errorMessage`.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde_json::json;

use crate::accounts::AwsAccount;

/// An AWS error as it goes over the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub status: u16,
    /// The error code, e.g. `ConstraintViolationException`.
    pub code: String,
    pub message: String,
    /// The `Reason` member of Organizations' constraint violations.
    pub reason: Option<String>,
}

impl Fault {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Fault {
            status,
            code: code.into(),
            message: message.into(),
            reason: None,
        }
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// `ConstraintViolationException` (HTTP 400) with a reason, e.g.
    /// `MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED`, `ACCOUNT_CANNOT_LEAVE_WITHOUT_PHONE_VERIFICATION`,
    /// `ACCOUNT_CANNOT_LEAVE_WITHOUT_EULA`, `ACCOUNT_CREATION_NOT_COMPLETE`,
    /// `ACCOUNT_CANNOT_LEAVE_ORGANIZATION`, `CANNOT_REMOVE_MANAGEMENT_ACCOUNT` …
    pub fn constraint_violation(reason: &str) -> Self {
        Fault::new(
            400,
            "ConstraintViolationException",
            format!(
                "You can't perform the operation because it would violate a constraint: {reason}"
            ),
        )
        .with_reason(reason)
    }

    /// `HandshakeConstraintViolationException` (HTTP 400) with a reason, e.g.
    /// `ALREADY_IN_AN_ORGANIZATION`, `ACCOUNT_NUMBER_LIMIT_EXCEEDED`,
    /// `INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES`, `PAYMENT_INSTRUMENT_REQUIRED`.
    pub fn handshake_constraint_violation(reason: &str) -> Self {
        Fault::new(
            400,
            "HandshakeConstraintViolationException",
            format!("The requested operation would violate the constraint identified by the reason code: {reason}"),
        )
        .with_reason(reason)
    }

    /// Organizations' own throttle: `TooManyRequestsException` (HTTP 400).
    pub fn too_many_requests() -> Self {
        Fault::new(
            400,
            "TooManyRequestsException",
            "You have sent too many requests in too short a period of time.",
        )
    }

    /// The generic `ThrottlingException` (HTTP 400).
    pub fn throttling() -> Self {
        Fault::new(400, "ThrottlingException", "Rate exceeded")
    }

    /// Organizations' `ServiceException` (HTTP 500).
    pub fn service_exception() -> Self {
        Fault::new(
            500,
            "ServiceException",
            "AWS Organizations can't complete your request because of an internal service error. Try again later.",
        )
    }

    /// The wire body (awsJson1_1).
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({"__type": self.code, "Message": self.message});
        if let Some(reason) = &self.reason {
            body["Reason"] = json!(reason);
        }
        body
    }
}

#[derive(Debug)]
struct Rule {
    operation: String,
    account_id: Option<String>,
    /// `None`: every matching call fails.
    remaining: Option<usize>,
    fault: Fault,
}

#[derive(Debug, Default)]
struct Inner {
    rules: Vec<Rule>,
    fired: Vec<(String, String)>,
}

/// The set of injected faults, shared by the clients it is attached to.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `times` attempts of `operation` (e.g. `"LeaveOrganization"`), from any
    /// account when `account_id` is `None`, fail with `fault`.
    pub fn fail(&self, operation: &str, account_id: Option<&str>, times: usize, fault: Fault) {
        self.push(operation, account_id, Some(times), fault);
    }

    /// Every attempt of `operation` fails with `fault` until [`Faults::clear`].
    pub fn fail_always(&self, operation: &str, account_id: Option<&str>, fault: Fault) {
        self.push(operation, account_id, None, fault);
    }

    fn push(
        &self,
        operation: &str,
        account_id: Option<&str>,
        remaining: Option<usize>,
        fault: Fault,
    ) {
        self.inner.lock().expect("faults lock").rules.push(Rule {
            operation: operation.to_string(),
            account_id: account_id.map(str::to_string),
            remaining,
            fault,
        });
    }

    /// Removes every rule (the history of fired faults is kept).
    pub fn clear(&self) {
        self.inner.lock().expect("faults lock").rules.clear();
    }

    /// How many injected failures of `operation` have fired so far.
    pub fn fired(&self, operation: &str) -> usize {
        let inner = self.inner.lock().expect("faults lock");
        inner.fired.iter().filter(|(op, _)| op == operation).count()
    }

    /// The interceptor for clients acting as `account_id`.
    pub fn interceptor(&self, account_id: &str) -> FaultInterceptor {
        FaultInterceptor {
            faults: self.clone(),
            account_id: account_id.to_string(),
        }
    }

    /// Takes the fault for this attempt, if a rule matches.
    fn take(&self, operation: &str, account_id: &str) -> Option<Fault> {
        let mut inner = self.inner.lock().expect("faults lock");
        let index = inner.rules.iter().position(|r| {
            r.operation == operation
                && r.account_id.as_deref().is_none_or(|a| a == account_id)
                && r.remaining != Some(0)
        })?;
        let rule = &mut inner.rules[index];
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        let fault = rule.fault.clone();
        inner
            .fired
            .push((operation.to_string(), account_id.to_string()));
        Some(fault)
    }
}

/// An Organizations client acting as `account` with `faults` injected (not recorded;
/// for a recorded one see [`crate::recorder::Recorder::with_faults`]).
pub fn organizations_client(
    account: &AwsAccount,
    faults: &Faults,
) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::config::Builder::from(account.config())
        .interceptor(faults.interceptor(account.account_id()))
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

/// The interceptor of [`Faults`] for one account. Works with any AWS SDK client.
#[derive(Debug, Clone)]
pub struct FaultInterceptor {
    faults: Faults,
    account_id: String,
}

#[derive(Debug, Clone)]
struct InjectedFault(Option<Fault>);

impl Storable for InjectedFault {
    type Storer = StoreReplace<Self>;
}

impl Intercept for FaultInterceptor {
    fn name(&self) -> &'static str {
        "FaultInterceptor"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(operation) = cfg.load::<Metadata>().map(|m| m.name().to_string()) else {
            return Ok(());
        };
        let fault = self.faults.take(&operation, &self.account_id);
        if fault.is_some() {
            let request = context.request_mut();
            let uri = request.uri().to_string();
            let base = uri
                .find("://")
                .and_then(|scheme| uri[scheme + 3..].find('/').map(|p| &uri[..scheme + 3 + p]))
                .unwrap_or(uri.as_str())
                .to_string();
            request.set_uri(format!("{base}/_fakecloud/health"))?;
            request.set_method("GET")?;
            request.headers_mut().remove("x-amz-target");
            request.headers_mut().remove("content-type");
            request.headers_mut().insert("content-length", "0");
            *request.body_mut() = SdkBody::empty();
            tracing::info!(operation, account_id = %self.account_id, "injecting fault");
        }
        cfg.interceptor_state().store_put(InjectedFault(fault));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(InjectedFault(Some(fault))) = cfg.load::<InjectedFault>().cloned() else {
            return Ok(());
        };
        cfg.interceptor_state().store_put(InjectedFault(None));
        let mut response = HttpResponse::new(
            StatusCode::try_from(fault.status)?,
            SdkBody::from(fault.body().to_string()),
        );
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.1");
        response
            .headers_mut()
            .insert("x-amzn-errortype", fault.code.clone());
        response
            .headers_mut()
            .insert("x-amzn-requestid", uuid::Uuid::new_v4().to_string());
        *context.response_mut() = response;
        Ok(())
    }
}
