//! `DynamoRecordStore` against aws-smithy-mocks clients: the request shapes it sends and how
//! it classifies what DynamoDB answers. Error responses are real DynamoDB JSON bodies, so the
//! SDK's own deserializer (error codes, cancellation reasons) is exercised too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
use aws_sdk_dynamodb::types::{AttributeValue, TableDescription, TableStatus};
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use chrono::Utc;
use serde_json::json;

use onboarding::adapters::dynamo::{create_table, DynamoRecordStore};
use onboarding::domain::{
    AccountId, CountChange, Counter, EnrollmentName, OnboardingRecord, Phase, Role, TransferMode,
};
use onboarding::ports::{
    Commit, CountGuard, CountReader, CreateOutcome, OutboxItem, OutboxScope, OutboxStore,
    OutgoingNotification, RecordCreator, RecordReader, Settling, StoreError, TransitionCommitter,
};

const TABLE: &str = "onboarding";
const ACCOUNT: &str = "111122223333";

type Item = HashMap<String, AttributeValue>;

/// A mocked client with the SDK's own retries off, so each test sees the adapter's
/// classification of exactly the response it scripted.
fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

fn store(rules: &[&Rule]) -> DynamoRecordStore {
    DynamoRecordStore::new(client(rules), TABLE)
}

fn record() -> OnboardingRecord {
    OnboardingRecord::enroll(
        AccountId::parse(ACCOUNT).unwrap(),
        EnrollmentName::parse("acme").unwrap(),
        TransferMode::Standalone,
        Role::Member,
        0,
        Utc::now(),
    )
}

fn notification(i: usize) -> OutgoingNotification {
    OutgoingNotification {
        id: format!("ev-1#{i}"),
        detail_type: "Onboarding Phase Changed".into(),
        detail: json!({"account_id": ACCOUNT, "new_phase": "AwaitingInvitation", "index": i}),
    }
}

fn commit(outbox: usize) -> Commit {
    let mut record = record();
    record.version = 4;
    record.phase = Phase::AwaitingInvitation;
    Commit {
        record,
        expected_version: 3,
        event_id: "ev-1".into(),
        outbox: (0..outbox).map(notification).collect(),
        counts: None,
        claimant: "me".into(),
        guard: None,
        follow_ups: false,
        settling: Settling::Cleared,
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// The item DynamoDB would hold for a record: its fields plus the keys.
fn stored(record: &OnboardingRecord) -> Item {
    let mut item: Item = serde_dynamo::to_item(record).unwrap();
    item.insert("pk".into(), s(&format!("ACCOUNT#{}", record.account_id)));
    item.insert("sk".into(), s("RECORD"));
    item
}

/// A DynamoDB (awsJson1_0) error response.
fn error_response(status: u16, code: &str, extra: serde_json::Value) -> HttpResponse {
    let mut body = json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": format!("{code} (scripted)"),
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_string()),
    )
}

/// `TransactionCanceledException` with one reason code per item, in item order.
fn cancelled(codes: &[&str]) -> HttpResponse {
    let reasons: Vec<_> = codes
        .iter()
        .map(|code| match *code {
            "None" => json!({"Code": "None"}),
            code => json!({"Code": code, "Message": format!("{code} (scripted)")}),
        })
        .collect();
    error_response(
        400,
        "TransactionCanceledException",
        json!({"CancellationReasons": reasons}),
    )
}

fn transact_answering(response: fn() -> HttpResponse) -> Rule {
    mock!(Client::transact_write_items).then_http_response(response)
}

// ---- create ------------------------------------------------------------------------

#[tokio::test]
async fn create_puts_the_record_only_if_absent_and_counts_it_in_one_transaction() {
    let rule = mock!(Client::transact_write_items)
        .match_requests(|req| {
            let items = req.transact_items();
            let put = items[0].put().unwrap();
            let item = put.item();
            let counts = items[1].update().unwrap();
            items.len() == 2
                && put.table_name() == TABLE
                && put.condition_expression() == Some("attribute_not_exists(pk)")
                && item["pk"] == s("ACCOUNT#111122223333")
                && item["sk"] == s("RECORD")
                && item["account_id"] == s(ACCOUNT)
                && item["enrollment"] == s("acme")
                && item["phase"] == s("LeavingOrganization")
                && item["version"] == AttributeValue::N("1".into())
                && counts.key()["pk"] == s("ENROLLMENT#acme")
                && counts.key()["sk"] == s("COUNTS")
                && counts.update_expression().contains(" ADD ")
                && item["schema_version"] == AttributeValue::N("4".into())
                // The enrollment's first records create its counters, a complete baseline.
                && counts.condition_expression() == Some("attribute_not_exists(pk)")
                && counts.update_expression().contains("#schema = :schema")
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let outcome = store(&[&rule]).create(&record()).await.unwrap();
    assert_eq!(outcome, CreateOutcome::Created);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn records_of_an_enrollment_that_has_counters_are_written_again_adding_to_them() {
    let first = transact_answering(|| cancelled(&["None", "ConditionalCheckFailed"]));
    let second = mock!(Client::transact_write_items)
        .match_requests(|req| {
            let counts = req.transact_items()[1].update().unwrap();
            counts.condition_expression().is_none()
                && !counts.update_expression().contains("#schema")
                && counts.update_expression().contains("#enrolled = :now")
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let outcome = store(&[&first, &second]).create(&record()).await.unwrap();
    assert_eq!(outcome, CreateOutcome::Created);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn an_existing_record_on_create_means_already_enrolled_and_counts_nothing() {
    let rule = transact_answering(|| cancelled(&["ConditionalCheckFailed", "None"]));
    let outcome = store(&[&rule]).create(&record()).await.unwrap();
    assert_eq!(outcome, CreateOutcome::AlreadyEnrolled);
    assert_eq!(rule.num_calls(), 1, "nothing is left to write again");
}

#[tokio::test]
async fn a_batch_with_enrolled_accounts_writes_the_others_again_without_them() {
    let records: Vec<OnboardingRecord> = ["111122223333", "444455556666", "777788889999"]
        .iter()
        .map(|id| {
            OnboardingRecord::enroll(
                AccountId::parse(*id).unwrap(),
                EnrollmentName::parse("acme").unwrap(),
                TransferMode::Standalone,
                Role::Standalone,
                0,
                Utc::now(),
            )
        })
        .collect();
    let first = mock!(Client::transact_write_items)
        .match_requests(|req| req.transact_items().len() == 4)
        .then_http_response(|| cancelled(&["None", "ConditionalCheckFailed", "None", "None"]));
    let second = mock!(Client::transact_write_items)
        .match_requests(|req| {
            let items = req.transact_items();
            items.len() == 3
                && items[2]
                    .update()
                    .unwrap()
                    .expression_attribute_values()
                    .unwrap()
                    .values()
                    .any(|v| *v == AttributeValue::N("2".into()))
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let outcomes = store(&[&first, &second])
        .create_many(&records)
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            CreateOutcome::Created,
            CreateOutcome::AlreadyEnrolled,
            CreateOutcome::Created
        ]
    );
}

#[tokio::test]
async fn throttled_create_is_transient() {
    let rule = transact_answering(|| error_response(400, "ThrottlingException", json!({})));
    let err = store(&[&rule]).create(&record()).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn provisioned_throughput_exceeded_is_transient() {
    let rule = transact_answering(|| {
        error_response(400, "ProvisionedThroughputExceededException", json!({}))
    });
    let err = store(&[&rule]).create(&record()).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn counters_are_read_with_one_consistent_get() {
    let rule = mock!(Client::get_item)
        .match_requests(|req| {
            req.consistent_read() == Some(true)
                && req.key().unwrap()["pk"] == s("ENROLLMENT#acme")
                && req.key().unwrap()["sk"] == s("COUNTS")
        })
        .then_output(|| {
            GetItemOutput::builder()
                .item("accounts", AttributeValue::N("3".into()))
                .item("phase_Joined", AttributeValue::N("2".into()))
                .item("members_in_old_organization", AttributeValue::N("0".into()))
                .item("management_account", s("111122223333"))
                .build()
        });
    let counts = store(&[&rule])
        .load_counts(&EnrollmentName::parse("acme").unwrap())
        .await
        .unwrap();
    assert_eq!(counts.accounts(), 3);
    assert_eq!(counts.in_phase(Phase::Joined), 2);
    assert!(!counts.all_joined());
    assert_eq!(counts.management_account.unwrap().as_str(), "111122223333");
}

// ---- commit: request shape ---------------------------------------------------------

#[tokio::test]
async fn commit_is_one_transaction_with_version_condition_marker_and_outbox() {
    let seen: Arc<
        Mutex<Vec<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput>>,
    > = Arc::default();
    let captured = seen.clone();
    let rule = mock!(Client::transact_write_items)
        .match_requests(move |req| {
            captured.lock().unwrap().push(req.clone());
            true
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let commit = commit(2);
    store(&[&rule]).commit(&commit).await.unwrap();

    assert_eq!(rule.num_calls(), 1, "one TransactWriteItems per commit");
    let requests = seen.lock().unwrap();
    let items = requests[0].transact_items();
    assert_eq!(items.len(), 3, "record, marker, outbox");
    assert!(items
        .iter()
        .all(|i| i.put().is_some_and(|p| p.table_name() == TABLE)));

    let record = items[0].put().unwrap();
    assert_eq!(record.condition_expression(), Some("#v = :expected"));
    assert_eq!(
        record.expression_attribute_names().unwrap()["#v"],
        "version"
    );
    assert_eq!(
        record.expression_attribute_values().unwrap()[":expected"],
        AttributeValue::N("3".into())
    );
    let item = record.item();
    assert_eq!(item["pk"], s("ACCOUNT#111122223333"));
    assert_eq!(item["sk"], s("RECORD"));
    assert_eq!(item["version"], AttributeValue::N("4".into()));
    assert_eq!(item["phase"], s("AwaitingInvitation"));
    let back: OnboardingRecord = serde_dynamo::from_item(item.clone()).unwrap();
    assert_eq!(back, commit.record);

    let marker = items[1].put().unwrap();
    assert_eq!(
        marker.condition_expression(),
        Some("attribute_not_exists(pk)")
    );
    assert_eq!(marker.item()["pk"], s("EVENT#ev-1"));
    assert_eq!(marker.item()["sk"], s("EVENT"));
    let AttributeValue::N(expires_at) = &marker.item()["expires_at"] else {
        panic!("expires_at is a number");
    };
    let in_30_days = Utc::now().timestamp() + 30 * 86_400;
    assert!((expires_at.parse::<i64>().unwrap() - in_30_days).abs() < 60);

    let outbox = items[2].put().unwrap();
    assert_eq!(outbox.condition_expression(), None);
    assert_eq!(outbox.item()["pk"], s("OUTBOX#111122223333"));
    assert_eq!(outbox.item()["sk"], s("ev-1"));
    assert!(outbox.item().contains_key("created_at"));
    let notifications: Vec<OutgoingNotification> =
        serde_dynamo::from_attribute_value(outbox.item()["notifications"].clone()).unwrap();
    assert_eq!(notifications, commit.outbox);
    assert_eq!(outbox.item()["scope"], s(ACCOUNT));
}

#[tokio::test]
async fn commit_without_notifications_writes_no_outbox_item() {
    let rule = mock!(Client::transact_write_items)
        .match_requests(|req| req.transact_items().len() == 2)
        .then_output(|| TransactWriteItemsOutput::builder().build());
    store(&[&rule]).commit(&commit(0)).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

// ---- commit: cancellation reasons ----------------------------------------------------

#[tokio::test]
async fn marker_condition_failure_is_a_duplicate() {
    let rule = transact_answering(|| cancelled(&["None", "ConditionalCheckFailed", "None"]));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Duplicate {
            event_id: "ev-1".into()
        }
    );
}

#[tokio::test]
async fn duplicate_wins_over_a_stale_version() {
    // A redelivered event finds both its marker and the version it produced.
    let rule = transact_answering(|| {
        cancelled(&["ConditionalCheckFailed", "ConditionalCheckFailed", "None"])
    });
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Duplicate {
            event_id: "ev-1".into()
        }
    );
}

#[tokio::test]
async fn record_condition_failure_is_a_conflict() {
    let rule = transact_answering(|| cancelled(&["ConditionalCheckFailed", "None", "None"]));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict {
            account: ACCOUNT.into()
        }
    );
}

#[tokio::test]
async fn transaction_conflict_is_a_conflict() {
    let rule = transact_answering(|| cancelled(&["TransactionConflict", "None", "None"]));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict {
            account: ACCOUNT.into()
        }
    );
}

/// A guarded commit: the counters update carries the guard's condition, or a
/// `ConditionCheck` of the counters item does where no counter moves.
fn guarded(counts: bool) -> Commit {
    let mut commit = commit(1);
    commit.guard = Some(CountGuard::MembersRemain);
    if counts {
        commit.counts = Some(CountChange {
            enrollment: commit.record.enrollment.clone(),
            deltas: vec![(Counter::MembersInOldOrganization, -1)],
            management_account: None,
        });
    }
    commit
}

#[tokio::test]
async fn a_failed_guard_on_the_counters_is_a_follow_up_due_and_loses_to_a_conflict() {
    for counts in [true, false] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_by_rule = seen.clone();
        let rule = mock!(Client::transact_write_items)
            .match_requests(move |input| {
                seen_by_rule.lock().unwrap().push(input.clone());
                true
            })
            .then_http_response(|| cancelled(&["None", "None", "None", "ConditionalCheckFailed"]));
        let err = store(&[&rule]).commit(&guarded(counts)).await.unwrap_err();
        assert_eq!(
            err,
            StoreError::FollowUpDue {
                account: ACCOUNT.into()
            }
        );
        let input = seen.lock().unwrap()[0].clone();
        let last = input.transact_items().last().unwrap();
        let condition = match (last.update(), last.condition_check()) {
            (Some(update), None) if counts => update.condition_expression(),
            (None, Some(check)) if !counts => Some(check.condition_expression()),
            other => panic!("counts {counts}: {other:?}"),
        };
        assert_eq!(condition, Some("#guard > :guard"));
    }
    let rule = transact_answering(|| {
        cancelled(&[
            "ConditionalCheckFailed",
            "None",
            "None",
            "ConditionalCheckFailed",
        ])
    });
    let err = store(&[&rule]).commit(&guarded(true)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { .. }),
        "reload first: {err:?}"
    );
}

#[tokio::test]
async fn throttled_transaction_item_is_transient() {
    let rule = transact_answering(|| cancelled(&["None", "ThrottlingError", "None"]));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn provisioned_throughput_reason_is_transient() {
    let rule = transact_answering(|| cancelled(&["ProvisionedThroughputExceeded", "None"]));
    let err = store(&[&rule]).commit(&commit(0)).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn validation_error_reason_is_permanent_and_named() {
    let rule = transact_answering(|| cancelled(&["None", "None", "ValidationError"]));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    let StoreError::Permanent(message) = err else {
        panic!("expected Permanent, got {err:?}");
    };
    assert!(message.contains("Outbox: ValidationError"), "{message}");
}

#[tokio::test]
async fn cancellation_without_reasons_is_not_guessed() {
    let rule = transact_answering(|| cancelled(&[]));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn throttled_transaction_request_is_transient() {
    let rule = transact_answering(|| error_response(400, "ThrottlingException", json!({})));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn transaction_in_progress_is_transient() {
    let rule =
        transact_answering(|| error_response(400, "TransactionInProgressException", json!({})));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn missing_table_is_permanent() {
    let rule = transact_answering(|| error_response(400, "ResourceNotFoundException", json!({})));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn internal_server_error_is_transient() {
    let rule = transact_answering(|| error_response(500, "InternalServerError", json!({})));
    let err = store(&[&rule]).commit(&commit(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

// ---- commit_once ---------------------------------------------------------------------

/// The enrollment whose announcements these tests commit.
fn acme() -> OutboxScope {
    OutboxScope::Enrollment(EnrollmentName::parse("acme").unwrap())
}

#[tokio::test]
async fn commit_once_writes_marker_and_outbox_once() {
    let rule = mock!(Client::transact_write_items)
        .match_requests(|req| {
            let items = req.transact_items();
            items.len() == 2
                && items[0].put().is_some_and(|p| {
                    p.condition_expression() == Some("attribute_not_exists(pk)")
                        && p.item()["pk"] == s("EVENT#completed#acme")
                })
                && items[1].put().is_some_and(|p| {
                    p.condition_expression().is_none()
                        && p.item()["pk"] == s("OUTBOX#ENROLLMENT#acme")
                        && p.item()["sk"] == s("completed#acme")
                })
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let first = store(&[&rule])
        .commit_once(&acme(), "completed#acme", &[notification(0)])
        .await
        .unwrap();
    assert!(first);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn commit_once_with_an_existing_marker_is_false() {
    let rule = transact_answering(|| cancelled(&["ConditionalCheckFailed", "None"]));
    let again = store(&[&rule])
        .commit_once(&acme(), "completed#acme", &[notification(0)])
        .await
        .unwrap();
    assert!(!again);
}

#[tokio::test]
async fn commit_once_throttled_is_transient() {
    let rule = transact_answering(|| cancelled(&["ThrottlingError", "None"]));
    let err = store(&[&rule])
        .commit_once(&acme(), "completed#acme", &[notification(0)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn commit_once_transaction_conflict_is_transient() {
    let rule = transact_answering(|| cancelled(&["TransactionConflict", "None"]));
    let err = store(&[&rule])
        .commit_once(&acme(), "completed#acme", &[notification(0)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

// ---- reads ---------------------------------------------------------------------------

#[tokio::test]
async fn load_is_a_consistent_get_of_the_record_item() {
    let record = record();
    let item = stored(&record);
    let rule = mock!(Client::get_item)
        .match_requests(|req| {
            req.consistent_read() == Some(true)
                && req.key().unwrap()["pk"] == s("ACCOUNT#111122223333")
                && req.key().unwrap()["sk"] == s("RECORD")
        })
        .then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(item.clone()))
                .build()
        });
    let loaded = store(&[&rule]).load(&record.account_id).await.unwrap();
    assert_eq!(loaded, Some(record));
}

#[tokio::test]
async fn load_of_an_unknown_account_is_none() {
    let rule = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let loaded = store(&[&rule])
        .load(&AccountId::parse(ACCOUNT).unwrap())
        .await
        .unwrap();
    assert_eq!(loaded, None);
}

#[tokio::test]
async fn malformed_record_item_is_permanent() {
    let rule = mock!(Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .item("pk", s("ACCOUNT#111122223333"))
            .item("account_id", s("not-an-account"))
            .build()
    });
    let err = store(&[&rule])
        .load(&AccountId::parse(ACCOUNT).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn list_by_enrollment_queries_the_index_and_follows_every_page() {
    let mut first = record();
    first.account_id = AccountId::parse("111111111111").unwrap();
    let second = record();
    let (page1, page2) = (stored(&first), stored(&second));
    let last_key: Item = [
        ("pk".to_owned(), s("ACCOUNT#111111111111")),
        ("sk".to_owned(), s("RECORD")),
    ]
    .into();
    let key_for_rule = last_key.clone();
    let rule1 = mock!(Client::query)
        .match_requests(|req| {
            req.index_name() == Some("by_enrollment")
                && req.expression_attribute_values().unwrap()[":v"] == s("acme")
                && req.exclusive_start_key().is_none()
        })
        .then_output(move || {
            QueryOutput::builder()
                .items(page1.clone())
                .set_last_evaluated_key(Some(last_key.clone()))
                .build()
        });
    let rule2 = mock!(Client::query)
        .match_requests(move |req| {
            req.index_name() == Some("by_enrollment")
                && req.exclusive_start_key() == Some(&key_for_rule)
        })
        .then_output(move || QueryOutput::builder().items(page2.clone()).build());
    let records = store(&[&rule1, &rule2])
        .list_by_enrollment(&EnrollmentName::parse("acme").unwrap())
        .await
        .unwrap();
    assert_eq!(records, vec![first, second]);
    assert_eq!((rule1.num_calls(), rule2.num_calls()), (1, 1));
}

#[tokio::test]
async fn list_by_phase_queries_the_phase_index() {
    let mut invited = record();
    invited.phase = Phase::Invited;
    let item = stored(&invited);
    let rule = mock!(Client::query)
        .match_requests(|req| {
            req.index_name() == Some("by_phase")
                && req.expression_attribute_names().unwrap()["#k"] == "phase"
                && req.expression_attribute_values().unwrap()[":v"] == s("Invited")
        })
        .then_output(move || QueryOutput::builder().items(item.clone()).build());
    let records = store(&[&rule]).list_by_phase(Phase::Invited).await.unwrap();
    assert_eq!(records, vec![invited]);
}

#[tokio::test]
async fn list_all_scans_record_items_only() {
    let record = record();
    let item = stored(&record);
    let rule = mock!(Client::scan)
        .match_requests(|req| {
            req.filter_expression() == Some("#sk = :record")
                && req.expression_attribute_values().unwrap()[":record"] == s("RECORD")
        })
        .then_output(move || ScanOutput::builder().items(item.clone()).build());
    assert_eq!(store(&[&rule]).list_all().await.unwrap(), vec![record]);
}

#[tokio::test]
async fn pending_outbox_reads_the_scope_consistently_and_clear_deletes_it() {
    let outbox = OutboxItem {
        follow_ups: false,
        ..OutboxItem::announcement(
            OutboxScope::Account(AccountId::parse(ACCOUNT).unwrap()),
            "ev-1",
            vec![notification(0), notification(1)],
        )
    };
    let mut item: Item = HashMap::from([
        ("scope".to_owned(), s(ACCOUNT)),
        ("event_id".to_owned(), s("ev-1")),
        (
            "notifications".to_owned(),
            serde_dynamo::to_attribute_value(&outbox.notifications).unwrap(),
        ),
    ]);
    item.insert("pk".into(), s("OUTBOX#111122223333"));
    item.insert("sk".into(), s("ev-1"));
    item.insert("created_at".into(), s("2026-01-01T00:00:00Z"));
    item.insert("follow_ups".into(), AttributeValue::Bool(false));
    let query = mock!(Client::query)
        .match_requests(|req| {
            req.consistent_read() == Some(true)
                && req.index_name().is_none()
                && req.expression_attribute_values().unwrap()[":pk"] == s("OUTBOX#111122223333")
        })
        .then_output(move || QueryOutput::builder().items(item.clone()).build());
    let delete = mock!(Client::delete_item)
        .match_requests(|req| {
            let key = req.key().unwrap();
            key.len() == 2 && key["pk"] == s("OUTBOX#111122223333") && key["sk"] == s("ev-1")
        })
        .then_output(|| DeleteItemOutput::builder().build());
    let store = store(&[&query, &delete]);
    let pending = store.pending_outbox(&outbox.scope).await.unwrap();
    assert_eq!(pending, vec![outbox]);
    store.clear_outbox(&pending[0]).await.unwrap();
    assert_eq!(delete.num_calls(), 1);
}

// ---- create_table --------------------------------------------------------------------

#[tokio::test]
async fn create_table_is_idempotent_and_tolerates_missing_ttl_support() {
    let create = mock!(Client::create_table)
        .match_requests(|req| {
            let indexes: Vec<_> = req
                .global_secondary_indexes()
                .iter()
                .map(|i| i.index_name())
                .collect();
            req.table_name() == Some(TABLE)
                && req.billing_mode() == Some(&aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
                && indexes == ["by_enrollment", "by_phase", "by_pending", "by_placement"]
        })
        .then_http_response(|| error_response(400, "ResourceInUseException", json!({})));
    let describe = mock!(Client::describe_table).then_output(|| {
        DescribeTableOutput::builder()
            .table(
                TableDescription::builder()
                    .table_name(TABLE)
                    .table_status(TableStatus::Active)
                    .build(),
            )
            .build()
    });
    let ttl = mock!(Client::update_time_to_live)
        .match_requests(|req| {
            req.time_to_live_specification()
                .is_some_and(|t| t.attribute_name() == "expires_at" && t.enabled())
        })
        .then_http_response(|| error_response(400, "UnknownOperationException", json!({})));
    let client = client(&[&create, &describe, &ttl]);
    create_table(&client, TABLE).await.unwrap();
    assert_eq!(
        (create.num_calls(), describe.num_calls(), ttl.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn create_table_denied_is_permanent() {
    let create = mock!(Client::create_table)
        .then_http_response(|| error_response(400, "AccessDeniedException", json!({})));
    let err = create_table(&client(&[&create]), TABLE).await.unwrap_err();
    assert!(matches!(err, StoreError::Permanent(_)), "{err:?}");
}

// ---- outbox claims -----------------------------------------------------------------

fn pending_item() -> OutboxItem {
    OutboxItem::announcement(
        OutboxScope::Account(AccountId::parse("333333333333").unwrap()),
        "ev-1",
        vec![notification(0)],
    )
}

#[tokio::test]
async fn claiming_an_outbox_item_is_a_conditional_update_and_a_held_claim_is_false() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_rule = seen.clone();
    let granted = mock!(Client::update_item)
        .match_requests(move |input| {
            seen_by_rule.lock().unwrap().push(input.clone());
            true
        })
        .then_output(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
        });
    let now = Utc::now();
    assert!(store(&[&granted])
        .claim_outbox(
            &pending_item(),
            now,
            now + chrono::Duration::seconds(30),
            "me"
        )
        .await
        .unwrap());
    let input = seen.lock().unwrap()[0].clone();
    assert_eq!(
        input.condition_expression(),
        Some("attribute_exists(pk) AND (attribute_not_exists(#c) OR #c < :now OR #b = :by)"),
        "free, expired, or this invocation's own (Lambda's retry)"
    );
    assert_eq!(input.key().unwrap()["pk"], s("OUTBOX#333333333333"));
    assert_eq!(
        input.expression_attribute_values().unwrap()[":by"],
        s("me"),
        "the claim names its holder"
    );

    let held = mock!(Client::update_item)
        .then_http_response(|| error_response(400, "ConditionalCheckFailedException", json!({})));
    assert!(!store(&[&held])
        .claim_outbox(&pending_item(), now, now, "me")
        .await
        .unwrap());

    let throttled = mock!(Client::update_item)
        .then_http_response(|| error_response(400, "ThrottlingException", json!({})));
    let err = store(&[&throttled])
        .claim_outbox(&pending_item(), now, now, "me")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn releasing_only_ones_own_claim_and_a_cleared_or_retaken_item_is_fine() {
    let released = mock!(Client::update_item)
        .match_requests(|input| {
            input.update_expression()
                == Some("SET #p = :p, #since = if_not_exists(#since, :now) REMOVE #c, #b")
                && input.condition_expression() == Some("attribute_exists(pk) AND #b = :by")
                && input.expression_attribute_values().unwrap()[":by"] == s("me")
                && input.expression_attribute_values().unwrap()[":p"] == s("OUTBOX")
        })
        .then_output(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
        });
    store(&[&released])
        .release_outbox(&pending_item(), "me", false)
        .await
        .unwrap();
    // Published, a follow-up failed: the item keeps only its follow-ups.
    let published = mock!(Client::update_item)
        .match_requests(|input| {
            input.update_expression()
                == Some(
                    "SET #p = :p, #since = if_not_exists(#since, :now), #n = :none REMOVE #c, #b",
                )
                && input.expression_attribute_values().unwrap()[":none"]
                    == AttributeValue::L(Vec::new())
        })
        .then_output(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
        });
    store(&[&published])
        .release_outbox(&pending_item(), "me", true)
        .await
        .unwrap();
    let gone = mock!(Client::update_item)
        .then_http_response(|| error_response(400, "ConditionalCheckFailedException", json!({})));
    store(&[&gone])
        .release_outbox(&pending_item(), "me", false)
        .await
        .unwrap();
}
