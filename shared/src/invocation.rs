//! Which invocation is running: Lambda's request id, kept for the invocation's task
//! ([`scope`], set by [`crate::serve`]), so that an outbox item's claim names the
//! invocation that holds it. Lambda retries a failed asynchronous invocation under the same
//! request id ("Understanding retry behavior in Lambda"; the Knowledge Center's "Why is my
//! Lambda function receiving duplicate invocations": duplicates that share a request id are
//! Lambda's retries), so a retry takes back what its failed attempt left claimed, while
//! any other copy of the event leaves it alone.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as the invocation `request_id`.
pub async fn scope<F: Future>(request_id: String, work: F) -> F::Output {
    REQUEST_ID.scope(request_id, work).await
}

/// The token this invocation claims outbox items with: its request id, or outside Lambda
/// (the CLI, tests) a token of its own per call, as each call there is a delivery of its
/// own.
pub fn claimant() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| format!("{:016x}", fastrand::u64(..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_invocation_claims_with_its_request_id_and_a_call_outside_one_with_its_own() {
        assert_eq!(scope("req-1".into(), async { claimant() }).await, "req-1");
        assert_ne!(claimant(), claimant());
    }
}
