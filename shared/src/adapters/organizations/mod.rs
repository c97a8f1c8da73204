//! The Organizations ports on the AWS SDK for Rust, by side:
//!
//! - `customer`: [`SdkAccountOrganizations`] ([`AccountOrganizations`](crate::ports::AccountOrganizations)),
//!   calls made *as* one customer account;
//! - `target`: [`SdkTargetOrganization`] ([`TargetOrganization`](crate::ports::TargetOrganization)
//!   and [`TargetDirectory`](crate::ports::TargetDirectory)), calls made as the target
//!   organization's management account;
//! - `billing`: the same client's [`BillingTransfers`](crate::ports::BillingTransfers);
//! - `credentials`: [`StsCredentials`] (the spoke role of each customer account) and
//!   [`AmbientCredentials`] (the Lambda's own);
//! - `errors`: how every SDK error becomes an
//!   [`OrganizationsError`](crate::ports::OrganizationsError) ([`map_sdk_error`]);
//! - `handshakes`: SDK handshakes as the domain's [`ObservedHandshake`](crate::domain::ObservedHandshake)s.

use chrono::{DateTime, Utc};

mod billing;
mod credentials;
mod customer;
mod errors;
mod handshakes;
mod target;

pub use credentials::{
    role_arn, session_name, AmbientCredentials, ClientHook, SessionInterceptors, SessionScope,
    SpokeSession, StsCredentials, ORGANIZATIONS_REGION, SESSION_DURATION,
};
pub use customer::SdkAccountOrganizations;
pub(crate) use errors::{logged, malformed, operation_error, wire_code};
pub use errors::{map_sdk_error, OperationError, MALFORMED_RESPONSE};
pub use handshakes::observe;
pub use target::SdkTargetOrganization;

/// A smithy timestamp as a chrono one (`None` when out of chrono's range).
fn to_chrono(at: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}
