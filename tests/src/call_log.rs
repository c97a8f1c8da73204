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
//! `$ONBOARDING_IAM_CALLS`), named after the test binary and the process id (nothing is
//! written outside nextest's test processes unless that variable is set); each line is
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
use onboarding::domain::FunctionName;
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

/// This process's log file, opened on first use; none outside the tests (nextest sets
/// `NEXTEST` in each test process) unless `ONBOARDING_IAM_CALLS` names a folder, so the
/// demo and the benchmarks write nothing.
fn log() -> Option<&'static Mutex<BufWriter<File>>> {
    static LOG: OnceLock<Option<Mutex<BufWriter<File>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let wanted = std::env::var_os("NEXTEST").is_some()
            || std::env::var_os("ONBOARDING_IAM_CALLS").is_some();
        if !wanted {
            return None;
        }
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
        let request = context.request();
        let mut fields = request_fields(request.body().bytes().unwrap_or_default());
        add_uri_fields(metadata.service(), request.uri(), &mut fields);
        let sent = Sent {
            service: metadata.service().to_owned(),
            operation: metadata.name().to_owned(),
            request: fields,
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
            "test": test_name(),
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

/// The test this process runs: nextest runs each test in a process of its own, named by
/// its first argument that is not a flag (`<binary> --exact <test> --nocapture`).
fn test_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::env::args()
            .skip(1)
            .find(|arg| !arg.starts_with('-'))
            .unwrap_or_else(|| "unnamed".into())
    })
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

/// The fields AWS authorizes a REST call by that travel in its URI, not its body (S3's
/// bucket, Lambda's function), and a queue's ARN from its URL (SQS authorizes the ARN).
fn add_uri_fields(service: &str, uri: &str, fields: &mut Value) {
    let Value::Object(map) = fields else {
        return;
    };
    let path = uri
        .split_once("://")
        .map_or(uri, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let path = path.split('?').next().unwrap_or_default();
    let host = uri
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or_default());
    match service {
        "S3" if !map.contains_key("Bucket") => {
            let bucket = host
                .split_once(".s3")
                .map(|(bucket, _)| bucket.to_owned())
                .or_else(|| path.split('/').next().map(decode))
                .filter(|b| !b.is_empty());
            if let Some(bucket) = bucket {
                map.insert("Bucket".into(), Value::String(bucket));
            }
        }
        "Lambda" if !map.contains_key("FunctionName") => {
            let mut segments = path.split('/');
            if segments.any(|s| s == "functions") {
                if let Some(name) = segments.next() {
                    map.insert("FunctionName".into(), Value::String(decode(name)));
                }
            }
        }
        "SQS" => {
            let arn = map
                .get("QueueUrl")
                .and_then(Value::as_str)
                .and_then(queue_arn);
            if let Some(arn) = arn {
                map.insert("QueueArn".into(), Value::String(arn));
            }
        }
        _ => {}
    }
}

/// `https://sqs.<region>.amazonaws.com/<account>/<name>` (or an emulator's host) as
/// `arn:aws:sqs:<region>:<account>:<name>`; the region from the host, else us-east-1.
fn queue_arn(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let mut parts = rest.split('/');
    let host = parts.next()?;
    let account = parts.next()?;
    let name = parts.next()?;
    let region = host
        .strip_prefix("sqs.")
        .and_then(|h| h.split('.').next())
        .unwrap_or("us-east-1");
    Some(format!("arn:aws:sqs:{region}:{account}:{name}"))
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
    pub function: FunctionName,
    pub hub_account: String,
    /// The hub as a stack would deploy it: `{"params": {template parameter: value},
    /// "names": {logical id: physical name}}`.
    pub stack: Value,
}

impl FunctionCalls {
    pub fn hub(&self) -> SharedInterceptor {
        let principal = Principal::Function(self.function);
        interceptor(
            self.function.as_str(),
            principal,
            &self.hub_account,
            &self.stack,
        )
    }

    pub fn spoke(&self, account: &str) -> SharedInterceptor {
        interceptor(
            self.function.as_str(),
            Principal::Spoke,
            account,
            &self.stack,
        )
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

    #[test]
    fn rest_calls_carry_their_bucket_function_and_queue() {
        let mut fields = json!({});
        add_uri_fields("S3", "http://127.0.0.1:4566/my-bucket?policy", &mut fields);
        assert_eq!(fields["Bucket"], "my-bucket");
        let mut fields = json!({});
        add_uri_fields(
            "S3",
            "https://my-bucket.s3.us-east-1.amazonaws.com/?policy",
            &mut fields,
        );
        assert_eq!(fields["Bucket"], "my-bucket");
        let mut fields = json!({});
        add_uri_fields(
            "Lambda",
            "http://127.0.0.1:4566/2015-03-31/functions/f1/policy",
            &mut fields,
        );
        assert_eq!(fields["FunctionName"], "f1");
        let mut fields = json!({"QueueUrl": "http://127.0.0.1:4566/222222222222/q1"});
        add_uri_fields("SQS", "http://127.0.0.1:4566/", &mut fields);
        assert_eq!(fields["QueueArn"], "arn:aws:sqs:us-east-1:222222222222:q1");
    }
}
