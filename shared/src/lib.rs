//! org-onboarding's library: everything the Lambda functions and `onboardctl` share.
//!
//! - [`domain`]: the pure onboarding state machine (no I/O, no SDK types).
//! - [`cloudtrail`]: reading AWS Organizations CloudTrail events, as EventBridge delivers
//!   them, into domain events.
//! - [`ports`]: what the handlers need (record store, notifier, Organizations as a
//!   customer account and as the target), and [`adapters`]: those ports on DynamoDB,
//!   EventBridge, Organizations and STS, and in memory.
//! - [`recorder`]: the application service every handler records its observations
//!   through (applied once through the domain's transitions, published through the outbox);
//!   [`tracker`], [`acceptor`], [`inviter`], [`reconciler`], [`placer`], [`preflight`]:
//!   the functions' handlers, behind the ports (the preflight's AWS readers are behind
//!   the feature `preflight`);
//!   [`notifications`]: what the product publishes; [`trigger`]: what woke a function.
//! - [`wiring`]: the composition root, where every handler is built on the AWS adapters
//!   (for the Lambdas, `onboardctl` and the test harness); `serve` (feature `lambda`):
//!   running a function in Lambda; [`error_class`]: conflict, transient or permanent.
//! - [`config`]: the typed configuration every binary reads once at start; [`telemetry`]:
//!   JSON logs in Lambda; [`report`]: the status table; [`retry`]: jittered backoff;
//!   [`pace`]: calls within AWS rate limits; [`sweep`]: many accounts in one invocation;
//!   [`target_check`]: the configured target against the hub's own organization;
//!   [`metrics`]: CloudWatch metrics as embedded-format log lines; [`invocation`]: which
//!   Lambda invocation is running (its outbox claims); [`upgrade`]: stored
//!   items of earlier releases brought up to date (each reconciler pass, `onboardctl migrate`).
//! - `fixtures` (feature `fixtures`, tests and benches only): the CloudTrail fixtures.

// Logs go through `tracing` (structured, no raw SDK error): no stray print in the library.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod acceptor;
pub mod adapters;
pub mod cloudtrail;
pub mod config;
pub mod domain;
pub mod error_class;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod inviter;
pub mod invocation;
pub mod metrics;
pub mod notifications;
pub mod pace;
pub mod permissions;
pub mod placer;
pub mod ports;
pub mod preflight;
pub mod reconciler;
pub mod recorder;
pub mod report;
pub mod retry;
#[cfg(feature = "lambda")]
pub mod serve;
pub mod sweep;
pub mod target_check;
pub mod telemetry;
pub mod tracker;
pub mod trigger;
pub mod upgrade;
pub mod wiring;
