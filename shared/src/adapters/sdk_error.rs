//! What the DynamoDB and EventBridge adapters need to know about any SDK error: a short
//! description for logs and whether retrying can help. Each adapter keeps its own list of
//! transient error codes (they differ per service).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// A service error as its code, HTTP status and message (the full context, with headers
/// and body, is too much for a log line); any other error as its chain of causes, each
/// displayed (`dispatch failure: io error: ... Connection refused`), never debug-printed.
pub(crate) fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => format!(
            "{} (HTTP {}): {}",
            err.code().unwrap_or("unknown error"),
            service.raw().status().as_u16(),
            err.message().unwrap_or("no message")
        ),
        _ => causes(err),
    }
}

/// Timeouts, dispatch and response failures, the service's throttling and internal-error
/// codes, and 5xx without a code are transient; the rest (a missing resource, validation,
/// access denied, a request that cannot be built) is not.
pub(crate) fn is_transient<E>(err: &SdkError<E, HttpResponse>, transient_codes: &[&str]) -> bool
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => match err.code() {
            Some(code) => transient_codes.contains(&code),
            None => service.raw().status().is_server_error(),
        },
        _ => false,
    }
}

/// `error: cause: cause ...`, each level displayed once.
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
