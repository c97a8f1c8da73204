//! Jittered exponential backoff, shared by everything that retries: conflicting writes in
//! the recorder, throttled Organizations calls in every function; and how many times each
//! function tries a call.

use std::future::Future;
use std::time::Duration;

use crate::domain::FunctionName;
use crate::ports::OrganizationsError;

/// How many times `function` tries a call that fails transiently, within one invocation
/// (past them, the invocation or the account's work fails, and a later run retries).
pub const fn attempts(function: FunctionName) -> u32 {
    match function {
        // Its one call, the membership's confirmation, is asked once: a no leaves the
        // record where it is.
        FunctionName::Tracker => 1,
        FunctionName::Acceptor | FunctionName::Inviter | FunctionName::Placer => 4,
        FunctionName::Reconciler => 5,
        FunctionName::Preflight => 3,
    }
}

/// Sleeps 10 ms, 20 ms, 40 ms ... (capped at 640 ms) times a random factor in [0.5, 1.5),
/// so concurrent writers and callers spread out.
pub async fn backoff(attempt: u32) {
    let base = 10u64 << attempt.min(6);
    let jittered = base / 2 + fastrand::u64(0..=base);
    tokio::time::sleep(Duration::from_millis(jittered)).await;
}

/// Calls `call` until it succeeds, fails for good, or `attempts` transient failures.
pub async fn transient<T, F, Fut>(attempts: u32, mut call: F) -> Result<T, OrganizationsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OrganizationsError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(error) if error.transient && attempt + 1 < attempts => {
                tracing::warn!(
                    code = error.code(),
                    attempt,
                    "transient Organizations error; backing off"
                );
                backoff(attempt).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}
