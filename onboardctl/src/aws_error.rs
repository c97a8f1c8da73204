//! A failed AWS call as one line: `code: message` for a service error, the kind of failure
//! and its causes otherwise; never the SDK's debug structure (response headers, request
//! ids). The library's `adapters::sdk_error` reading, for any service's error.

use std::error::Error;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use onboarding::adapters::sdk_error::causes;
use onboarding::domain::error_code::is_one_of;

/// `code: message`, on one line.
pub fn one_line<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let text = match error {
        SdkError::ServiceError(context) => {
            let service = context.err();
            // Without its closing full stop, so a fix can follow after a colon.
            let message = service
                .message()
                .map(|m| m.trim().trim_end_matches('.'))
                .filter(|m| !m.is_empty())
                .map_or_else(|| causes(service), str::to_owned);
            format!("{}: {message}", service.code().unwrap_or("UnknownError"))
        }
        SdkError::TimeoutError(_) => format!("TimeoutError: {}", causes(error)),
        SdkError::DispatchFailure(_) => format!("DispatchFailure: {}", causes(error)),
        SdkError::ResponseError(_) => format!("ResponseError: {}", causes(error)),
        _ => format!("ConstructionFailure: {}", causes(error)),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The service error's code, when AWS answered with one.
pub fn code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    error.code()
}

/// Whether AWS refused the call to this caller (the permission is missing).
pub fn is_access_denied<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    code(error).is_some_and(|c| is_one_of(c, &["AccessDeniedException", "UnauthorizedOperation"]))
}

/// Whether no answer came (no connection, or too late): the endpoint is unreachable.
pub fn is_unreachable<E, R>(error: &SdkError<E, R>) -> bool {
    matches!(
        error,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
    )
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;

    use super::*;

    fn service_error(code: &str, message: &str) -> SdkError<DescribeTableError, ()> {
        let metadata = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(DescribeTableError::generic(metadata), ())
    }

    #[test]
    fn a_service_error_is_its_code_and_message_on_one_line() {
        let error = service_error(
            "ResourceNotFoundException",
            "Requested resource not found:\n  Table: nope not found.",
        );
        assert_eq!(
            one_line(&error),
            "ResourceNotFoundException: Requested resource not found: Table: nope not found"
        );
    }

    #[test]
    fn a_refusal_is_told_from_other_errors() {
        assert!(is_access_denied(&service_error("AccessDenied", "no")));
        assert!(is_access_denied(&service_error(
            "AccessDeniedException",
            "no"
        )));
        assert!(!is_access_denied(&service_error("ValidationError", "no")));
    }

    #[test]
    fn a_failure_without_an_answer_names_its_kind() {
        let error: SdkError<DescribeTableError, ()> = SdkError::construction_failure("no region");
        assert_eq!(
            one_line(&error),
            "ConstructionFailure: failed to construct request: no region"
        );
    }
}
