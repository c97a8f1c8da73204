//! Metrics as CloudWatch embedded metric format (EMF) lines on standard output: Lambda
//! ships them to CloudWatch Logs, which turns them into metrics in the `org-onboarding`
//! namespace with no API call and no permission (the template's alarms watch them).
//!
//! Each count is written twice over: per function (dimension `Function`) and across the
//! functions (no dimension: an EMF dimension set may be empty, CloudWatch User Guide,
//! "Specification: Embedded metric format", DimensionSet), so one alarm per metric watches
//! every function that emits it, whichever that is.

/// A function that acts for the target (acceptor, inviter) found the configured target is
/// not the hub's organization, or could not ask.
pub const TARGET_MISMATCH: &str = "TargetMismatch";
/// A sweep skipped a stored record that cannot be read (logged with its key).
pub const UNREADABLE_RECORD: &str = "UnreadableRecord";
/// A sweep gave up on an account that did not finish within its deadline.
pub const ACCOUNT_TIMED_OUT: &str = "SweepAccountTimedOut";
/// The tracker rejected an event whose body disagrees with its EventBridge envelope about
/// who recorded it (`cloudtrail::ParseError::OriginMismatch`).
pub const ORIGIN_MISMATCH: &str = "OriginMismatch";
/// The namespace of every metric the functions emit.
pub const NAMESPACE: &str = "org-onboarding";
/// Every metric the functions emit: each has its alarm in the template.
pub const ALL: [&str; 4] = [
    TARGET_MISMATCH,
    UNREADABLE_RECORD,
    ACCOUNT_TIMED_OUT,
    ORIGIN_MISMATCH,
];

use crate::domain::FunctionName;

/// The EMF line that counts one `metric` for `function`.
pub fn line(metric: &str, function: FunctionName, timestamp_ms: i64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"], []],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        "Function": function.as_str(),
        metric: 1,
    })
    .to_string()
}

/// Counts one `metric` for `function`.
#[allow(clippy::print_stdout)]
pub fn count(metric: &str, function: FunctionName) {
    // EMF is read from the function's standard output, beside the JSON logs.
    println!(
        "{}",
        line(metric, function, chrono::Utc::now().timestamp_millis())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_embedded_metric_format() {
        let line: serde_json::Value =
            serde_json::from_str(&line(TARGET_MISMATCH, FunctionName::Acceptor, 7)).unwrap();
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            TARGET_MISMATCH
        );
        assert_eq!(line[TARGET_MISMATCH], 1);
        assert_eq!(line["Function"], "acceptor");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Function"], []]),
            "per function, and across them (the template's alarms)"
        );
    }
}
