//! tracker Lambda: wiring only. The work is `onboarding::tracker::Tracker::handle_json`:
//! parse the CloudTrail event, apply it to the account's record once, publish notifications.
//! Returning `Err` (a transient failure) makes Lambda retry, then the dead-letter queue.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use onboarding::{config::Config, telemetry, tracker::AwsTracker};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let tracker = &AwsTracker::from_config(&aws, &config);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        tracker
            .handle_json(&event.payload)
            .await
            .map(|_| ())
            .map_err(Error::from)
    }))
    .await
}
