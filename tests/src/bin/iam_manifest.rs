//! Prints the permission manifest (`onboarding::permissions`) as JSON, for the IAM
//! checker (`infra/iam/check.sh`): every operation each function calls, with the IAM
//! actions, resources and condition keys AWS authorizes it by.

fn main() {
    let (operations, actions) = onboarding::permissions::size();
    eprintln!("permission manifest: {operations} operations, {actions} actions");
    println!(
        "{}",
        serde_json::to_string_pretty(&onboarding::permissions::manifest_json())
            .expect("the manifest serializes")
    );
}
