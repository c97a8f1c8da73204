//! Pacing calls within an AWS rate limit, adaptively: each call waits for its slot; a
//! throttled call doubles the interval between slots (up to a ceiling), each success
//! shortens it again by a tenth, down to the documented rate. Concurrent sweepers share
//! one pacer per limit, so ten thousand accounts go through at the rate AWS allows
//! instead of in bursts that are throttled and retried.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::ports::OrganizationsError;
use crate::retry;

/// Organizations' rate for AcceptHandshake into one organization, about 5 per second.
pub const ACCEPT_PER_SECOND: f64 = 5.0;
/// Organizations' rate for InviteAccountToOrganization, about 3 per second.
pub const INVITE_PER_SECOND: f64 = 3.0;
/// The placer's Organizations calls (ListParents, MoveAccount, tags). Organizations
/// documents no rate per call; this keeps well below what throttles the management account,
/// whose rate the inviter and the acceptor share, and throttling slows it further.
pub const PLACE_PER_SECOND: f64 = 5.0;
/// The slowest a throttled pacer goes: one call every 8 seconds.
const SLOWEST: Duration = Duration::from_secs(8);

#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    fastest: Duration,
    interval: Duration,
    next: Option<Instant>,
}

impl Pacer {
    pub fn per_second(rate: f64) -> Self {
        let fastest = Duration::from_secs_f64(1.0 / rate.max(0.001));
        Self {
            state: Mutex::new(State {
                fastest,
                interval: fastest,
                next: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current interval between two calls.
    pub fn interval(&self) -> Duration {
        self.state().interval
    }

    /// Waits for this call's slot.
    pub async fn slot(&self) {
        let at = {
            let mut state = self.state();
            let now = Instant::now();
            let at = state.next.map_or(now, |next| next.max(now));
            state.next = Some(at + state.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// AWS throttled a call: slow down.
    pub fn throttled(&self) {
        let mut state = self.state();
        state.interval = (state.interval * 2).min(SLOWEST);
    }

    /// A call went through: speed up again, never past the documented rate.
    pub fn went_through(&self) {
        let mut state = self.state();
        state.interval = state.interval.mul_f64(0.9).max(state.fastest);
    }

    /// Calls `call` in its slot until it succeeds, fails for good, or `attempts`
    /// transient failures; throttling slows this pacer down for every caller.
    pub async fn call<T, F, Fut>(&self, attempts: u32, mut call: F) -> Result<T, OrganizationsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, OrganizationsError>>,
    {
        retry::transient(attempts, || {
            let attempt = call();
            async move {
                self.slot().await;
                let result = attempt.await;
                match &result {
                    Err(error) if error.is_throttling() => self.throttled(),
                    Err(_) => {}
                    Ok(_) => self.went_through(),
                }
                result
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_keep_to_the_rate_and_throttling_slows_them_down() {
        let pacer = Pacer::per_second(5.0);
        let start = Instant::now();
        for _ in 0..5 {
            pacer.slot().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(800));
        pacer.throttled();
        assert_eq!(pacer.interval(), Duration::from_millis(400));
        for _ in 0..20 {
            pacer.went_through();
        }
        assert_eq!(
            pacer.interval(),
            Duration::from_millis(200),
            "never faster than the rate"
        );
        for _ in 0..10 {
            pacer.throttled();
        }
        assert_eq!(pacer.interval(), SLOWEST);
    }
}
