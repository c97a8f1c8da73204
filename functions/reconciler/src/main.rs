//! reconciler Lambda: wiring only. The work is `onboarding::reconciler::Reconciler`: read
//! the target organization and, where a record may be wrong, the customer account, and
//! correct every record not joined through the domain's transitions. Triggered by a
//! schedule (every 15 minutes by default).

use onboarding::{serve, wiring::AwsReconciler};

#[tokio::main]
async fn main() -> Result<(), serve::Error> {
    serve::serve::<AwsReconciler>().await
}
