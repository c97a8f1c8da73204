//! Error classification: every SDK error of an Organizations (or STS) operation becomes
//! an [`OrganizationsError`] in one place, [`map_sdk_error`], on the reading all adapters
//! share (`adapters::sdk_error`):
//!
//! | SDK error | `failure.code` | `failure.reason` | `transient` |
//! |---|---|---|---|
//! | modeled service error | its code (`HandshakeConstraintViolationException`, …) | the typed `Reason` of `ConstraintViolationException` / `HandshakeConstraintViolationException` (`ALREADY_IN_AN_ORGANIZATION`, …) | code in [`crate::domain::blocker::is_transient_code`], or HTTP 429/5xx |
//! | unmodeled service error (STS `AccessDenied`, …) | the error code of the response | none | likewise |
//! | timeout, dispatch (connection) or response (unparseable) failure | `TimeoutError`, `DispatchFailure`, `ResponseError` | none | yes |
//! | request construction failure (a bug) | `ConstructionFailure` | none | no |
//! | a response this adapter cannot use (handshake id invalid, field missing) | [`MALFORMED_RESPONSE`] | none | no |
//!
//! `failure.message` is the service's message (or the error chain for non-service errors).
//! The domain's [`crate::domain::classify`] turns the failure into a blocker.

use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::adapters::sdk_error;
use crate::domain::AwsFailure;
use crate::ports::OrganizationsError;

/// The code of a failure caused by a response this adapter cannot use (an invalid
/// handshake id, a missing field): not transient, shown raw on the blocker.
pub const MALFORMED_RESPONSE: &str = "MalformedResponse";

/// What an operation's error enum knows beyond [`ProvideErrorMetadata`]: the modeled
/// exception's code and message (a modeled error built without metadata, as a test or a
/// lenient deserializer may, still has them) and the typed `Reason` of constraint
/// violations.
pub trait OperationError: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static {
    /// The code of the modeled exception, `None` for an unhandled (unmodeled) error.
    fn modeled_code(&self) -> Option<&'static str>;
    /// The modeled exception's message.
    fn modeled_message(&self) -> Option<&str>;
    /// The `Reason` of a `ConstraintViolationException` or
    /// `HandshakeConstraintViolationException`, as its wire string.
    fn reason(&self) -> Option<&str>;
}

/// The wire code of a modeled exception, from its Rust variant name.
pub(crate) fn wire_code(variant: &'static str) -> &'static str {
    // The one exception here whose Rust name differs from its code.
    if variant == "AwsOrganizationsNotInUseException" {
        "AWSOrganizationsNotInUseException"
    } else {
        variant
    }
}

/// Implements [`OperationError`] for an operation error enum: the variants listed under
/// `plain` and `with_reason` (those that carry a typed `reason()`).
macro_rules! operation_error {
    ($ty:ty { plain: [$($plain:ident),* $(,)?], with_reason: [$($reasoned:ident),* $(,)?] $(,)? }) => {
        impl OperationError for $ty {
            fn modeled_code(&self) -> Option<&'static str> {
                match self {
                    $(Self::$plain(_) => Some($crate::adapters::organizations::wire_code(stringify!($plain))),)*
                    $(Self::$reasoned(_) => Some($crate::adapters::organizations::wire_code(stringify!($reasoned))),)*
                    _ => None,
                }
            }
            fn modeled_message(&self) -> Option<&str> {
                match self {
                    $(Self::$plain(e) => e.message(),)*
                    $(Self::$reasoned(e) => e.message(),)*
                    _ => None,
                }
            }
            fn reason(&self) -> Option<&str> {
                match self {
                    $(Self::$reasoned(e) => e.reason().map(|r| r.as_str()),)*
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use operation_error;

use aws_sdk_organizations::operation::accept_handshake::AcceptHandshakeError;
use aws_sdk_organizations::operation::decline_handshake::DeclineHandshakeError;
use aws_sdk_organizations::operation::describe_account::DescribeAccountError;
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationError;
use aws_sdk_organizations::operation::invite_account_to_organization::InviteAccountToOrganizationError;
use aws_sdk_organizations::operation::invite_organization_to_transfer_responsibility::InviteOrganizationToTransferResponsibilityError;
use aws_sdk_organizations::operation::list_accounts::ListAccountsError;
use aws_sdk_organizations::operation::list_handshakes_for_account::ListHandshakesForAccountError;
use aws_sdk_organizations::operation::list_handshakes_for_organization::ListHandshakesForOrganizationError;
use aws_sdk_organizations::operation::list_inbound_responsibility_transfers::ListInboundResponsibilityTransfersError;
use aws_sdk_organizations::operation::list_outbound_responsibility_transfers::ListOutboundResponsibilityTransfersError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

operation_error!(AcceptHandshakeError {
    plain: [
        AccessDeniedException,
        AccessDeniedForDependencyException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        HandshakeAlreadyInStateException,
        HandshakeNotFoundException,
        InvalidHandshakeTransitionException,
        InvalidInputException,
        MasterCannotLeaveOrganizationException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [
        ConstraintViolationException,
        HandshakeConstraintViolationException
    ],
});

operation_error!(DeclineHandshakeError {
    plain: [
        AccessDeniedException,
        ConcurrentModificationException,
        HandshakeAlreadyInStateException,
        HandshakeNotFoundException,
        InvalidHandshakeTransitionException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(DescribeAccountError {
    plain: [
        AccessDeniedException,
        AccountNotFoundException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(DescribeOrganizationError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(InviteAccountToOrganizationError {
    plain: [
        AccessDeniedException,
        AccountOwnerNotVerifiedException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        DuplicateHandshakeException,
        FinalizingOrganizationException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [
        ConstraintViolationException,
        HandshakeConstraintViolationException
    ],
});

operation_error!(InviteOrganizationToTransferResponsibilityError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        DuplicateHandshakeException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
        UnsupportedApiEndpointException,
    ],
    with_reason: [
        ConstraintViolationException,
        HandshakeConstraintViolationException
    ],
});

operation_error!(ListInboundResponsibilityTransfersError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ResponsibilityTransferNotFoundException,
        ServiceException,
        TooManyRequestsException,
        UnsupportedApiEndpointException,
    ],
    with_reason: [ConstraintViolationException],
});

operation_error!(ListOutboundResponsibilityTransfersError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
        UnsupportedApiEndpointException,
    ],
    with_reason: [ConstraintViolationException],
});

operation_error!(ListAccountsError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(ListHandshakesForAccountError {
    plain: [
        AccessDeniedException,
        ConcurrentModificationException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(ListHandshakesForOrganizationError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(AssumeRoleError {
    plain: [
        ExpiredTokenException,
        MalformedPolicyDocumentException,
        PackedPolicyTooLargeException,
        RegionDisabledException,
    ],
    with_reason: [],
});

/// Maps any SDK error of an Organizations (or STS) operation to an [`OrganizationsError`];
/// see the table in the module documentation.
pub fn map_sdk_error<E: OperationError>(err: SdkError<E, HttpResponse>) -> OrganizationsError {
    let read = sdk_error::read_with(&err, |e| (e.modeled_code(), e.modeled_message()));
    let reason = err.as_service_error().and_then(OperationError::reason);
    OrganizationsError {
        failure: AwsFailure {
            code: read.code,
            reason: reason.map(str::to_owned),
            message: read.message,
        },
        transient: read.transient,
    }
}

pub(crate) fn malformed(message: impl Into<String>) -> OrganizationsError {
    OrganizationsError {
        failure: AwsFailure::new(MALFORMED_RESPONSE, None, message),
        transient: false,
    }
}

/// Logs a failed call at a level that says whether anyone must act.
pub(crate) fn logged(operation: &'static str, err: OrganizationsError) -> OrganizationsError {
    if err.transient {
        tracing::warn!(operation, code = %err.failure.code, error = %err, "transient Organizations failure");
    } else {
        tracing::info!(operation, code = %err.failure.code, reason = ?err.failure.reason, error = %err, "Organizations refused");
    }
    err
}
