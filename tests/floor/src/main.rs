//! The floor: the least a Rust Lambda can do for one of the tracker's events, as AWS's
//! examples write one. Clients built once at start, then per event one DynamoDB
//! TransactWriteItems (a put of one item keyed by the request id) and one EventBridge
//! PutEvents. `make bench-lambda` runs it beside the tracker on the same events, table and
//! bus (infra/local/coldstart.py); nothing here is deployed.
//!
//! No logging subscriber and no configuration type on purpose: anything the tracker does
//! beyond this is what the benchmark is there to show.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    events: aws_sdk_eventbridge::Client,
    table: String,
    bus: String,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = aws_config::load_from_env().await;
    let clients = &Clients {
        dynamodb: aws_sdk_dynamodb::Client::new(&aws),
        events: aws_sdk_eventbridge::Client::new(&aws),
        table: std::env::var("TABLE_NAME")?,
        bus: std::env::var("EVENT_BUS_NAME")?,
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        handle(clients, event)
    }))
    .await
}

async fn handle(clients: &Clients, event: LambdaEvent<Value>) -> Result<(), Error> {
    let id = event.context.request_id;
    let put = Put::builder()
        .table_name(&clients.table)
        .item("pk", AttributeValue::S(format!("FLOOR#{id}")))
        .item("sk", AttributeValue::S("FLOOR".into()))
        .item("detail", AttributeValue::S(event.payload.to_string()))
        // A redelivered event must not write twice, as the tracker's marker ensures.
        .condition_expression("attribute_not_exists(pk)")
        .build()?;
    clients
        .dynamodb
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .send()
        .await?;
    let entry = PutEventsRequestEntry::builder()
        .event_bus_name(&clients.bus)
        .source("org-onboarding.floor")
        .detail_type("Floor Event")
        .detail(r#"{"floor":true}"#)
        .build();
    let output = clients.events.put_events().entries(entry).send().await?;
    if output.failed_entry_count() > 0 {
        return Err("PutEvents: an entry failed".into());
    }
    Ok(())
}
