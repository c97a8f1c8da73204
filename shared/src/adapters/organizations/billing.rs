//! Billing transfers ([`BillingTransfers`], billing mode) on the target's client:
//! InviteOrganizationToTransferResponsibility, and the inbound and outbound lists of
//! responsibility transfers.

use async_trait::async_trait;
use aws_sdk_organizations::types::ResponsibilityTransferType;
use chrono::{DateTime, Utc};

use super::errors::{logged, malformed, map_sdk_error};
use super::handshakes::{account_party, returned_handshake};
use super::{to_chrono, SdkTargetOrganization};
use crate::domain::billing::{ObservedTransfer, TransferStatus};
use crate::domain::{AccountId, HandshakeId, ObservedHandshake};
use crate::ports::{BillingTransfers, OrganizationsError};

#[async_trait]
impl BillingTransfers for SdkTargetOrganization {
    #[tracing::instrument(skip(self, name), fields(account_id = %account))]
    async fn invite_to_transfer(
        &self,
        account: &AccountId,
        starts_at: DateTime<Utc>,
        name: &str,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        let target = account_party(account)?;
        let output = self
            .client()
            .invite_organization_to_transfer_responsibility()
            .r#type(ResponsibilityTransferType::Billing)
            .target(target)
            .source_name(name)
            .start_timestamp(aws_smithy_types::DateTime::from_secs(starts_at.timestamp()))
            .send()
            .await
            .map_err(|e| {
                logged(
                    "InviteOrganizationToTransferResponsibility",
                    map_sdk_error(e),
                )
            })?;
        let operation = "InviteOrganizationToTransferResponsibility";
        let handshake = returned_handshake(output.handshake(), operation)?;
        tracing::info!(handshake_id = %handshake.id, "invited the account to transfer its billing");
        Ok(handshake)
    }

    #[tracing::instrument(skip(self))]
    async fn transfers(&self) -> Result<Vec<ObservedTransfer>, OrganizationsError> {
        let mut transfers = self.listed_transfers(true).await?;
        for transfer in self.listed_transfers(false).await? {
            if !transfers.iter().any(|t| t.id == transfer.id) {
                transfers.push(transfer);
            }
        }
        Ok(transfers)
    }
}

impl SdkTargetOrganization {
    /// One of the two lists of billing transfers, all pages (the SDK has no paginator for
    /// them: NextToken is followed by hand).
    async fn listed_transfers(
        &self,
        inbound: bool,
    ) -> Result<Vec<ObservedTransfer>, OrganizationsError> {
        let mut transfers = Vec::new();
        let mut token = None;
        loop {
            let (page, next) = if inbound {
                let page = self
                    .client()
                    .list_inbound_responsibility_transfers()
                    .r#type(ResponsibilityTransferType::Billing)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| logged("ListInboundResponsibilityTransfers", map_sdk_error(e)))?;
                let next = page.next_token().map(str::to_owned);
                (page.responsibility_transfers, next)
            } else {
                let page = self
                    .client()
                    .list_outbound_responsibility_transfers()
                    .r#type(ResponsibilityTransferType::Billing)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| logged("ListOutboundResponsibilityTransfers", map_sdk_error(e)))?;
                let next = page.next_token().map(str::to_owned);
                (page.responsibility_transfers, next)
            };
            for transfer in page.unwrap_or_default() {
                transfers.push(observed_transfer(&transfer)?);
            }
            token = next;
            if token.is_none() {
                return Ok(transfers);
            }
        }
    }
}

fn observed_transfer(
    transfer: &aws_sdk_organizations::types::ResponsibilityTransfer,
) -> Result<ObservedTransfer, OrganizationsError> {
    let id = transfer
        .id()
        .ok_or_else(|| malformed("a responsibility transfer without an id"))?;
    let management_accounts = [
        transfer.source().and_then(|p| p.management_account_id()),
        transfer.target().and_then(|p| p.management_account_id()),
    ]
    .into_iter()
    .flatten()
    .filter_map(|id| AccountId::parse(id).ok())
    .collect();
    Ok(ObservedTransfer {
        id: id.to_owned(),
        status: TransferStatus::parse(transfer.status().map_or("", |s| s.as_str())),
        management_accounts,
        handshake: transfer
            .active_handshake_id()
            .and_then(|id| HandshakeId::parse(id).ok()),
        starts_at: transfer.start_timestamp().and_then(to_chrono),
        ended_at: transfer.end_timestamp().and_then(to_chrono),
    })
}
