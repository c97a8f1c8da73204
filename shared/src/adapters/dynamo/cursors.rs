//! Sweep cursors: one item per sweep, `after` the account it stopped after.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::key;
use super::keys::{sweep_pk, CURSOR_SK};
use super::DynamoRecordStore;
use crate::domain::AccountId;
use crate::ports::{StoreError, SweepCursors};

#[async_trait]
impl SweepCursors for DynamoRecordStore {
    #[tracing::instrument(skip(self))]
    async fn sweep_cursor(&self, name: &str) -> Result<Option<AccountId>, StoreError> {
        let item = self.get(key(sweep_pk(name), CURSOR_SK)?).await?;
        match item.as_ref().and_then(|item| item.get("after")) {
            Some(AttributeValue::S(after)) => AccountId::parse(after)
                .map(Some)
                .map_err(|e| StoreError::Permanent(format!("sweep cursor {name}: {e}"))),
            _ => Ok(None),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn save_sweep_cursor(
        &self,
        name: &str,
        after: Option<&AccountId>,
    ) -> Result<(), StoreError> {
        let mut item = key(sweep_pk(name), CURSOR_SK)?;
        if let Some(after) = after {
            item.insert("after".into(), AttributeValue::S(after.to_string()));
        }
        self.put_current(item).await
    }
}
