//! `EventBridgeNotifier` against aws-smithy-mocks clients: batching, `FailedEntryCount`
//! handling and error classification.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_eventbridge::config::retry::RetryConfig;
use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_eventbridge::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::json;

use onboarding::adapters::eventbridge::EventBridgeNotifier;
use onboarding::notifications::SOURCE;
use onboarding::ports::{Notifier, NotifyError, OutgoingNotification};

const BUS: &str = "onboarding-hub";

fn notifier(rules: &[&Rule]) -> EventBridgeNotifier {
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()));
    EventBridgeNotifier::new(client, BUS).with_backoff(Duration::from_millis(1))
}

fn notifications(n: usize) -> Vec<OutgoingNotification> {
    (0..n)
        .map(|i| OutgoingNotification {
            id: format!("ev-1#{i}"),
            detail_type: "Onboarding Phase Changed".into(),
            detail: json!({"notification_id": format!("ev-1#{i}"), "cloudtrail_event_id": "ev-1", "index": i}),
        })
        .collect()
}

fn index_of(detail: Option<&str>) -> u64 {
    let detail: serde_json::Value = serde_json::from_str(detail.unwrap()).unwrap();
    detail["index"].as_u64().unwrap()
}

fn ok_entry(i: usize) -> PutEventsResultEntry {
    PutEventsResultEntry::builder()
        .event_id(format!("eb-{i}"))
        .build()
}

fn failed_entry(code: &str) -> PutEventsResultEntry {
    PutEventsResultEntry::builder()
        .error_code(code)
        .error_message(format!("{code} (scripted)"))
        .build()
}

/// Answers every call with all entries accepted, recording each request.
fn accepting(seen: Arc<Mutex<Vec<PutEventsInput>>>) -> Rule {
    mock!(Client::put_events)
        .match_requests(move |req| {
            seen.lock().unwrap().push(req.clone());
            true
        })
        .then_compute_output(|req| {
            let mut out = PutEventsOutput::builder().failed_entry_count(0);
            for i in 0..req.entries().len() {
                out = out.entries(ok_entry(i));
            }
            out.build()
        })
}

fn error_response(status: u16, code: &str) -> HttpResponse {
    let body = json!({"__type": code, "message": format!("{code} (scripted)")});
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_string()),
    )
}

#[tokio::test]
async fn twenty_three_notifications_go_out_in_three_batches_of_at_most_ten() {
    let seen = Arc::<Mutex<Vec<PutEventsInput>>>::default();
    let rule = accepting(seen.clone());
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(RetryConfig::disabled()));
    let notifier = EventBridgeNotifier::new(client, BUS);
    notifier.publish(&notifications(23)).await.unwrap();

    let requests = seen.lock().unwrap();
    let sizes: Vec<usize> = requests.iter().map(|r| r.entries().len()).collect();
    assert_eq!(sizes, [10, 10, 3]);
    let mut indexes = Vec::new();
    for entry in requests.iter().flat_map(|r| r.entries()) {
        assert_eq!(entry.source(), Some(SOURCE));
        assert_eq!(entry.event_bus_name(), Some(BUS));
        assert_eq!(entry.detail_type(), Some("Onboarding Phase Changed"));
        indexes.push(index_of(entry.detail()));
    }
    assert_eq!(
        indexes,
        (0..23).collect::<Vec<u64>>(),
        "every notification, in order, once"
    );
}

#[tokio::test]
async fn nothing_to_publish_makes_no_call() {
    let rule = accepting(Arc::default());
    notifier(&[&rule]).publish(&[]).await.unwrap();
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn throttled_entry_is_resent_alone_then_succeeds() {
    let first = mock!(Client::put_events)
        .match_requests(|req| req.entries().len() == 3)
        .then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(ok_entry(0))
                .entries(failed_entry("ThrottlingException"))
                .entries(ok_entry(2))
                .build()
        });
    let retry = mock!(Client::put_events)
        .match_requests(|req| req.entries().len() == 1 && index_of(req.entries()[0].detail()) == 1)
        .then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(0)
                .entries(ok_entry(1))
                .build()
        });
    notifier(&[&first, &retry])
        .publish(&notifications(3))
        .await
        .unwrap();
    assert_eq!((first.num_calls(), retry.num_calls()), (1, 1));
}

#[tokio::test]
async fn internal_failure_entries_are_resent_too() {
    let first = mock!(Client::put_events).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(2)
            .entries(failed_entry("InternalFailure"))
            .entries(failed_entry("ThrottlingException"))
            .build()
    });
    let retry = mock!(Client::put_events)
        .match_requests(|req| req.entries().len() == 2)
        .then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(0)
                .entries(ok_entry(0))
                .entries(ok_entry(1))
                .build()
        });
    notifier(&[&first, &retry])
        .publish(&notifications(2))
        .await
        .unwrap();
    assert_eq!(retry.num_calls(), 1);
}

#[tokio::test]
async fn entries_throttled_every_time_fail_transient_after_three_retries() {
    let rule = mock!(Client::put_events)
        .sequence()
        .output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(failed_entry("ThrottlingException"))
                .build()
        })
        .repeatedly()
        .build();
    let err = notifier(&[&rule])
        .publish(&notifications(1))
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Transient(_)), "{err:?}");
    assert_eq!(rule.num_calls(), 4, "the first call and three retries");
}

#[tokio::test]
async fn non_retryable_entry_failure_is_permanent_and_names_the_code() {
    let rule = mock!(Client::put_events)
        .sequence()
        .output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(ok_entry(0))
                .entries(failed_entry("MalformedDetail"))
                .build()
        })
        .repeatedly()
        .build();
    let err = notifier(&[&rule])
        .publish(&notifications(2))
        .await
        .unwrap_err();
    let NotifyError::Permanent(message) = err else {
        panic!("expected Permanent, got {err:?}");
    };
    assert!(message.contains("MalformedDetail"), "{message}");
    assert!(
        message.contains("ev-1#1"),
        "names the failed notification: {message}"
    );
    assert_eq!(rule.num_calls(), 1, "not resent");
}

#[tokio::test]
async fn failed_count_without_error_codes_is_an_error_not_ignored() {
    let rule = mock!(Client::put_events).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(ok_entry(0))
            .build()
    });
    let err = notifier(&[&rule])
        .publish(&notifications(1))
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn a_failed_first_batch_stops_the_publish() {
    let seen = Arc::<Mutex<Vec<PutEventsInput>>>::default();
    let failing = mock!(Client::put_events).then_compute_output(|req| {
        let mut out = PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(failed_entry("AccessDeniedException"));
        for i in 1..req.entries().len() {
            out = out.entries(ok_entry(i));
        }
        out.build()
    });
    let later = accepting(seen.clone());
    let err = notifier(&[&failing, &later])
        .publish(&notifications(12))
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Permanent(_)), "{err:?}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn throttled_request_is_transient() {
    let rule =
        mock!(Client::put_events).then_http_response(|| error_response(400, "ThrottlingException"));
    let err = notifier(&[&rule])
        .publish(&notifications(1))
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn internal_error_is_transient() {
    let rule =
        mock!(Client::put_events).then_http_response(|| error_response(500, "InternalException"));
    let err = notifier(&[&rule])
        .publish(&notifications(1))
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn missing_bus_is_permanent() {
    let rule = mock!(Client::put_events)
        .then_http_response(|| error_response(400, "ResourceNotFoundException"));
    let err = notifier(&[&rule])
        .publish(&notifications(1))
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Permanent(_)), "{err:?}");
}
