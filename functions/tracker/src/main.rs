//! tracker Lambda: wiring only. The work is `onboarding::tracker::Tracker::handle_json`:
//! parse the CloudTrail event, apply it to the account's record once, publish notifications.
//! Returning `Err` (a transient failure) makes Lambda retry, then the dead-letter queue.

use onboarding::{serve, wiring::AwsTracker};

#[tokio::main]
async fn main() -> Result<(), serve::Error> {
    serve::serve::<AwsTracker>().await
}
