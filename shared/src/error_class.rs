//! The class of every failure, decided at the adapter boundary and carried up to Lambda:
//! a conflict (reload and retry at once), a transient failure (retry later: Lambda
//! retries, then the dead-letter queue) or a permanent one (retrying will not help; a
//! person must look). A handler's error reaches Lambda as a [`FunctionError`] whose class
//! is its error type, so CloudWatch and the dead-letter queue show which it was.

use std::fmt;

use crate::ports::{NotifyError, OrganizationsError, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Conflict,
    Transient,
    Permanent,
}

impl ErrorClass {
    /// The name Lambda reports as the error's type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conflict => "Conflict",
            Self::Transient => "Transient",
            Self::Permanent => "Permanent",
        }
    }
}

/// An error that knows its class.
pub trait Classified: std::error::Error {
    fn class(&self) -> ErrorClass;
}

impl Classified for StoreError {
    fn class(&self) -> ErrorClass {
        match self {
            // Both are settled by writing again: reloaded, or without the guard.
            Self::Conflict { .. } | Self::FollowUpDue { .. } => ErrorClass::Conflict,
            Self::Transient(_) => ErrorClass::Transient,
            Self::Duplicate { .. } | Self::Permanent(_) => ErrorClass::Permanent,
        }
    }
}

impl Classified for NotifyError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Transient(_) => ErrorClass::Transient,
            Self::Permanent(_) => ErrorClass::Permanent,
        }
    }
}

impl Classified for OrganizationsError {
    fn class(&self) -> ErrorClass {
        if self.transient {
            ErrorClass::Transient
        } else {
            ErrorClass::Permanent
        }
    }
}

/// What a function returns to its runtime when it fails: the class and the message
/// (the whole chain of causes, never a debug dump).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    pub class: ErrorClass,
    pub message: String,
}

impl FunctionError {
    pub fn new(error: &dyn Classified) -> Self {
        Self {
            class: error.class(),
            message: error.to_string(),
        }
    }
}

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.as_str(), self.message)
    }
}

impl std::error::Error for FunctionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_error_names_its_class() {
        let error = FunctionError::new(&StoreError::Transient("throttled".into()));
        assert_eq!(error.class, ErrorClass::Transient);
        assert_eq!(
            error.to_string(),
            "Transient: store temporarily unavailable: throttled"
        );
        let permanent = FunctionError::new(&NotifyError::Permanent("no bus".into()));
        assert_eq!(permanent.class.as_str(), "Permanent");
    }
}
