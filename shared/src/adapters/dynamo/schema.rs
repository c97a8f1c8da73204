//! Creating the table, its indexes and its TTL, as [`super::keys`] lays them out.

use std::fmt::Display;
use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::classify;
use super::keys::{
    BY_ENROLLMENT_INDEX, BY_PENDING_INDEX, BY_PHASE_INDEX, BY_PLACEMENT_INDEX, TTL_ATTRIBUTE,
};
use crate::adapters::sdk_error::{self, describe};
use crate::ports::StoreError;

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

fn key_element(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .expect("name and key type are set")
}

fn index(name: &str, hash: &str, range: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element(hash, KeyType::Hash))
        .key_schema(key_element(range, KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .expect("name, key schema and projection are set")
}

fn permanent(operation: &str, err: impl Display) -> StoreError {
    StoreError::Permanent(format!("{operation}: {err}"))
}

/// Creates the table with its indexes and TTL, as the key design describes.
/// Idempotent: an existing table is left as it is. A service that does not support TTL
/// (some emulators) is logged as a warning, not an error.
#[tracing::instrument(skip(client))]
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute("pk"))
        .attribute_definitions(string_attribute("sk"))
        .attribute_definitions(string_attribute("account_id"))
        .attribute_definitions(string_attribute("enrollment"))
        .attribute_definitions(string_attribute("phase"))
        .attribute_definitions(string_attribute("pending"))
        .attribute_definitions(string_attribute("to_place"))
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pending_since")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .expect("name and type are set"),
        )
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .global_secondary_indexes(index(BY_ENROLLMENT_INDEX, "enrollment", "account_id"))
        .global_secondary_indexes(index(BY_PHASE_INDEX, "phase", "account_id"))
        .global_secondary_indexes(index(BY_PENDING_INDEX, "pending", "pending_since"))
        .global_secondary_indexes(index(BY_PLACEMENT_INDEX, "to_place", "account_id"))
        .send()
        .await;
    match created {
        Ok(_) => tracing::info!(table, "table created"),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            tracing::info!(table, "table already exists");
        }
        Err(err) => return Err(classify("CreateTable", &err)),
    }
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(120))
        .await
        .map_err(|e| {
            StoreError::Transient(format!(
                "waiting for table {table}: {}",
                sdk_error::causes(&e)
            ))
        })?;
    let ttl = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .map_err(|e| permanent("UpdateTimeToLive", e))?,
        )
        .send()
        .await;
    match ttl {
        Ok(_) => tracing::info!(table, attribute = TTL_ATTRIBUTE, "TTL enabled"),
        Err(err) if err.message().is_some_and(|m| m.contains("already enabled")) => {
            tracing::debug!(table, "TTL already enabled");
        }
        Err(err) => tracing::warn!(
            table,
            error = %describe(&err),
            "could not enable TTL on {TTL_ATTRIBUTE}; event markers will not expire"
        ),
    }
    Ok(())
}
