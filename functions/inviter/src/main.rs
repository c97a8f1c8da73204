//! inviter Lambda: wiring only. The work is `onboarding::inviter::Inviter`: invite (or
//! adopt an open invitation for) every account awaiting one, from the target organization,
//! with this function's own credentials (it runs in the target management account).

use onboarding::{serve, wiring::AwsInviter};

#[tokio::main]
async fn main() -> Result<(), serve::Error> {
    serve::serve::<AwsInviter>().await
}
