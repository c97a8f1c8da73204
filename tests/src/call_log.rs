//! Every AWS call the functions make in the end-to-end tests, written down for the IAM
//! check: which function made it, as which principal (its own role, or the spoke role in
//! a customer account), in which account, the operation and its request (and response,
//! where the resource is only there: a handshake's ARN).
//!
//! Why: the emulator enforces no IAM, so a call the deployed role would refuse passes
//! here. After the tests, `make test` evaluates every logged call against the role of the
//! function that made it (`infra/iam/check.mjs calls`, AWS's authorization data and an
//! offline policy evaluator); a denied call fails `make test` and names the statement to
//! add.
//!
//! One JSON Lines file per test process under `target/iam-calls/` (or
//! `$ONBOARDING_IAM_CALLS`), named after the test binary and the process id; each line is
//! one HTTP attempt's call (a retried attempt is the same call again; the check
//! deduplicates).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use onboarding::permissions::Principal;
use serde_json::{json, Map, Value};

/// Where the call logs go.
pub fn directory() -> PathBuf {
    std::env::var_os("ONBOARDING_IAM_CALLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/iam-calls"))
        })
}

/// This process's log file, opened on first use.
fn log() -> Option<&'static Mutex<BufWriter<File>>> {
    static LOG: OnceLock<Option<Mutex<BufWriter<File>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = directory();
        std::fs::create_dir_all(&dir).ok()?;
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".into());
        let path = dir.join(format!("{binary}-{}.jsonl", std::process::id()));
        File::create(path)
            .ok()
            .map(|f| Mutex::new(BufWriter::new(f)))
    })
    .as_ref()
}

fn write(line: &Value) {
    if let Some(log) = log() {
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        // Flushed per line: a test process may end without dropping statics.
        let _ = writeln!(log, "{line}").and_then(|()| log.flush());
    }
}

/// The interceptor logging the calls of `function` acting as `principal` in `account`,
/// for a hub deployed with `stack` (its template parameters and resource names).
pub fn interceptor(
    function: &str,
    principal: Principal,
    account: &str,
    stack: &Value,
) -> SharedInterceptor {
    SharedInterceptor::new(CallLogInterceptor {
        function: function.to_owned(),
        principal,
        account: account.to_owned(),
        stack: stack.clone(),
    })
}

#[derive(Debug, Clone)]
struct CallLogInterceptor {
    function: String,
    principal: Principal,
    account: String,
    stack: Value,
}

/// The request as sent, kept from the attempt's start to its end.
#[derive(Debug, Clone)]
struct Sent {
    service: String,
    operation: String,
    request: Value,
}

impl Storable for Sent {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallLogInterceptor {
    fn name(&self) -> &'static str {
        "IamCallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let sent = Sent {
            service: metadata.service().to_owned(),
            operation: metadata.name().to_owned(),
            request: request_fields(context.request().body().bytes().unwrap_or_default()),
        };
        cfg.interceptor_state().store_put(sent);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(sent) = cfg.load::<Sent>().cloned() else {
            return Ok(());
        };
        let response = context
            .response()
            .filter(|r| r.status().is_success())
            .and_then(|r| r.body().bytes())
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .unwrap_or(Value::Null);
        write(&json!({
            "test": std::thread::current().name().unwrap_or("unnamed"),
            "function": self.function,
            "principal": self.principal.name(),
            "account": self.account,
            "stack": self.stack,
            "service": sent.service,
            "operation": sent.operation,
            "request": sent.request,
            "response": response,
        }));
        Ok(())
    }
}

/// A request body as fields: JSON as it is (the JSON protocols), a form (the query
/// protocols: STS, IAM, SNS, SQS) as a flat object of its parameters.
fn request_fields(body: &[u8]) -> Value {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return value;
    }
    let text = String::from_utf8_lossy(body);
    let fields: Map<String, Value> = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), Value::String(decode(v))))
        .collect();
    Value::Object(fields)
}

fn decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => match u8::from_str_radix(&String::from_utf8_lossy(hex), 16) {
                Ok(byte) => {
                    out.push(byte);
                    i += 3;
                }
                Err(_) => {
                    out.push(b'%');
                    i += 1;
                }
            },
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The interceptors of one function's clients, shared by its hub clients and, through
/// the spoke hook, its spoke sessions.
#[derive(Clone)]
pub struct FunctionCalls {
    pub function: &'static str,
    pub hub_account: String,
    /// The hub as a stack would deploy it: `{"params": {template parameter: value},
    /// "names": {logical id: physical name}}`.
    pub stack: Value,
}

impl FunctionCalls {
    pub fn hub(&self) -> SharedInterceptor {
        let principal = Principal::from_name(self.function).expect("a function of the manifest");
        interceptor(self.function, principal, &self.hub_account, &self.stack)
    }

    pub fn spoke(&self, account: &str) -> SharedInterceptor {
        interceptor(self.function, Principal::Spoke, account, &self.stack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_protocol_form_reads_as_fields() {
        let fields = request_fields(
            b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2FS&RoleSessionName=a+b",
        );
        assert_eq!(fields["RoleArn"], "arn:aws:iam::222222222222:role/S");
        assert_eq!(fields["RoleSessionName"], "a b");
        assert_eq!(request_fields(br#"{"TableName":"t"}"#)["TableName"], "t");
    }
}
