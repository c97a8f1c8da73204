//! acceptor Lambda: wiring only. The work is `onboarding::acceptor::Acceptor`: list the
//! account's handshakes through the spoke role, accept only the invitation the policy
//! passes, report the others. Triggered by "Onboarding Phase Changed" (new_phase Invited)
//! and by a schedule (sweep).

use onboarding::{serve, wiring::AwsAcceptor};

#[tokio::main]
async fn main() -> Result<(), serve::Error> {
    serve::serve::<AwsAcceptor>().await
}
