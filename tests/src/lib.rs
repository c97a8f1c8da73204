//! The local AWS harness of org-onboarding: everything the end-to-end tests and the demo
//! need to run the real AWS SDK clients and the real handlers against a local AWS.
//!
//! Why this crate exists: the product is driven by AWS Organizations handshakes and by
//! the CloudTrail events AWS delivers about them through EventBridge. moto has no
//! handshake API and no emulator records CloudTrail, so the harness combines
//!
//! * [`emulator`]: one `fakecloud` process (a separate AWS emulator binary, never linked)
//!   per test process, on a free 127.0.0.1 port;
//! * [`accounts`]: SDK configurations acting as any 12-digit account, and the spoke role
//!   the hub assumes with an external id, exactly as in AWS;
//! * [`recorder`]: a local CloudTrail: an SDK interceptor that turns each mutating
//!   Organizations call into the CloudTrail event AWS would deliver and puts it on the
//!   emulator's EventBridge;
//! * [`event_loop`]: the deployment's rules (spoke forwarding, hub rules per function)
//!   created on the emulator, SQS queues behind them, and a dispatcher that runs the
//!   handlers in process with Lambda's retry semantics;
//! * [`hub`] and [`customers`]: the product's hub on the emulator, and the customer
//!   organizations and enrollments it onboards;
//! * [`faults`]: fault injection for what the emulator cannot produce (billing blockers,
//!   throttling, 500s).
//!
//! Differences between the emulator and AWS are listed in `tests/README.md`; product
//! behaviour must never rely on them.

pub mod accounts;
pub mod call_log;
pub mod cli;
pub mod compat;
pub mod counter;
pub mod customers;
pub mod emulator;
pub mod event_loop;
pub mod faults;
mod http;
pub mod hub;
pub mod peak_heap;
pub mod recorder;
pub mod scenario;
pub mod template;

pub use accounts::{AwsAccount, CallerIdentity, IdentityKind, SpokeRole};
pub use emulator::Emulator;
pub use event_loop::{Dispatcher, EventLoop, Handler};
pub use faults::{Fault, Faults};
pub use recorder::{recorded_organizations_client, Recorder};

/// The only region the harness uses: AWS Organizations and its CloudTrail events live in
/// us-east-1.
pub const REGION: &str = "us-east-1";
