//! acceptor Lambda: wiring only. The work is `onboarding::acceptor::Acceptor`: list the
//! account's handshakes through the spoke role, accept only the invitation the policy
//! passes, report the others. Triggered by "Onboarding Phase Changed" (new_phase Invited)
//! and by a schedule (sweep).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use onboarding::adapters::organizations::StsCredentials;
use onboarding::{acceptor::Acceptor, config::Config, telemetry, tracker::AwsTracker};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()?;
    let spoke = config.require_spoke()?;
    let aws = aws_config::load_from_env().await;
    let credentials = StsCredentials::new(&aws, &spoke.role_name, &spoke.external_id);
    let tracker = AwsTracker::from_config(&aws, &config);
    let acceptor = &Acceptor::new(tracker, credentials, config.decline_unexpected_invitations);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        acceptor
            .handle_json(&event.payload)
            .await
            .map(|_| ())
            .map_err(Error::from)
    }))
    .await
}
