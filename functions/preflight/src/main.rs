//! preflight Lambda: wiring only. The work is `onboarding::preflight`: through the spoke
//! role of each account not yet gone from its organization, read its contact and account
//! information, its organization and invitations, and its resource policies, then record
//! the predicted blockers and the policies that trust the old organization, and publish
//! `Preflight Completed`. Triggered by a schedule (every hour by default; an account is
//! checked again once its last preflight is older than `PREFLIGHT_EVERY_HOURS`).

use onboarding::{serve, wiring::AwsPreflight};

#[tokio::main]
async fn main() -> Result<(), serve::Error> {
    serve::serve::<AwsPreflight>().await
}
