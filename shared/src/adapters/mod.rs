//! Adapters: the ports implemented with a technology. AWS SDK adapters for the Lambdas and
//! `onboardctl`; in-memory ones for handler unit tests.

pub mod dynamo;
pub mod eventbridge;
pub mod lazy;
pub mod memory;
pub mod organizations;
pub mod placement;
#[cfg(feature = "preflight")]
pub mod preflight;
pub mod sdk_error;
