//! placer Lambda: wiring only. The work is `onboarding::placer::Placer`: move a joined
//! account into its enrollment's OU, apply its missing tags, and verify the target can
//! assume the access role in it. Triggered by `Account Joined` and a schedule.

use onboarding::{serve, wiring::AwsPlacer};

#[tokio::main]
async fn main() -> Result<(), serve::Error> {
    serve::serve::<AwsPlacer>().await
}
