//! The one reading of an AWS SDK error that every adapter shares: its code, message and
//! HTTP status, a short description for logs, and whether retrying can help. Each adapter
//! turns this into its own error type (its class: conflict, transient or permanent).
//!
//! | SDK error | `code` | transient |
//! |---|---|---|
//! | service error | its code (or the modeled exception's, when the response had none; else `UnknownError`) | code in [`crate::domain::blocker::THROTTLING_CODES`] or [`crate::domain::blocker::RETRYABLE_FAILURE_CODES`], or HTTP 429 or 5xx |
//! | timeout, dispatch (connection) or response (unparseable) failure | `TimeoutError`, `DispatchFailure`, `ResponseError` | yes |
//! | request construction failure (a bug) | `ConstructionFailure` | no |

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::domain::blocker::is_transient_code;

/// What an adapter needs to know of a failed SDK call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SdkFailure {
    pub code: String,
    pub message: String,
    pub transient: bool,
    /// `code (HTTP status): message` for a service error, else the chain of causes.
    pub described: String,
}

/// Reads an SDK error whose service error carries its metadata.
pub(crate) fn read<E>(err: &SdkError<E, HttpResponse>) -> SdkFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    read_with(err, |_| (None, None))
}

/// Reads an SDK error; `modeled` gives the code and message of a modeled exception built
/// without metadata (as a test or a lenient deserializer may).
pub(crate) fn read_with<E>(
    err: &SdkError<E, HttpResponse>,
    modeled: impl FnOnce(&E) -> (Option<&'static str>, Option<&str>),
) -> SdkFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message, transient) = match err {
        SdkError::ServiceError(context) => {
            let service = context.err();
            let (modeled_code, modeled_message) = modeled(service);
            let code = service.code().or(modeled_code).unwrap_or("UnknownError");
            // A response the SDK could not read (a 200 whose body does not match the
            // model) has no message of its own: its causes say what went wrong.
            let message = service
                .message()
                .or(modeled_message)
                .map_or_else(|| causes(err), str::to_owned);
            let status = context.raw().status().as_u16();
            let transient = is_transient_code(code) || status == 429 || status >= 500;
            let described = format!("{code} (HTTP {status}): {}", or_none(&message));
            return SdkFailure {
                code: code.to_owned(),
                message,
                transient,
                described,
            };
        }
        SdkError::TimeoutError(_) => ("TimeoutError", causes(err), true),
        SdkError::DispatchFailure(_) => ("DispatchFailure", causes(err), true),
        SdkError::ResponseError(_) => ("ResponseError", causes(err), true),
        _ => ("ConstructionFailure", causes(err), false),
    };
    SdkFailure {
        code: code.to_owned(),
        described: message.clone(),
        message,
        transient,
    }
}

/// A short description of an SDK error for a log line (never its debug dump, which holds
/// headers and bodies).
pub(crate) fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    read(err).described
}

fn or_none(message: &str) -> &str {
    if message.is_empty() {
        "no message"
    } else {
        message
    }
}

/// `error: cause: cause ...`, each level displayed once (onboardctl's one-line errors too).
pub fn causes(error: &(dyn std::error::Error + 'static)) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::blocker::{RETRYABLE_FAILURE_CODES, THROTTLING_CODES};

    #[test]
    fn the_list_holds_each_services_throttling_spelling_once() {
        for code in [
            "TooManyRequestsException",
            "ThrottlingException",
            "Throttling",
            "RequestLimitExceeded",
            "ProvisionedThroughputExceededException",
        ] {
            assert!(is_transient_code(code), "{code}");
        }
        let mut sorted = [THROTTLING_CODES, RETRYABLE_FAILURE_CODES].concat();
        let listed = sorted.len();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), listed);
        assert!(!is_transient_code("AccessDeniedException"));
    }
}
