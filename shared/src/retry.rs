//! Jittered exponential backoff, shared by everything that retries: conflicting writes in
//! the tracker, throttled Organizations calls in the acceptor and inviter.

use std::future::Future;
use std::time::Duration;

use crate::ports::OrganizationsError;

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
