//! inviter Lambda: wiring only. The work is `onboarding::inviter::Inviter`: invite (or
//! adopt an open invitation for) every account awaiting one, from the target organization,
//! with this function's own credentials (it runs in the target management account).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use onboarding::adapters::organizations::SdkTargetOrganization;
use onboarding::{config::Config, inviter::Inviter, telemetry, tracker::AwsTracker};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let organization = SdkTargetOrganization::new(aws_sdk_organizations::Client::new(&aws));
    let inviter = &Inviter::new(AwsTracker::from_config(&aws, &config), organization);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        inviter
            .handle_json(&event.payload)
            .await
            .map(|_| ())
            .map_err(Error::from)
    }))
    .await
}
