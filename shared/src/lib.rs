//! org-onboarding's library: everything the Lambda functions and `onboardctl` share.
//!
//! - [`domain`]: the pure onboarding state machine (no I/O, no SDK types).
//! - [`cloudtrail`]: reading AWS Organizations CloudTrail events, as EventBridge delivers
//!   them, into domain events.

pub mod cloudtrail;
pub mod domain;
