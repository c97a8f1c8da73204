//! The Organizations ports on the AWS SDK for Rust.
//!
//! - [`SdkAccountOrganizations`]: [`AccountOrganizations`], calls made *as* one customer
//!   account (ListHandshakesForAccount, AcceptHandshake, DeclineHandshake,
//!   DescribeOrganization).
//! - [`SdkTargetOrganization`]: [`TargetOrganization`] and [`TargetDirectory`], calls made
//!   as the target organization's management account (ListHandshakesForOrganization,
//!   InviteAccountToOrganization, ListAccounts, DescribeAccount, DescribeOrganization).
//! - [`StsCredentials`]: [`Credentials`] by STS AssumeRole into the spoke role of each
//!   customer account; [`AmbientCredentials`]: the Lambda's own credentials, for an
//!   in-account deployment.
//!
//! # Errors
//!
//! Every SDK error becomes an [`OrganizationsError`] in one place, [`map_sdk_error`], on
//! the reading all adapters share (`adapters::sdk_error`):
//!
//! | SDK error | `failure.code` | `failure.reason` | `transient` |
//! |---|---|---|---|
//! | modeled service error | its code (`HandshakeConstraintViolationException`, …) | the typed `Reason` of `ConstraintViolationException` / `HandshakeConstraintViolationException` (`ALREADY_IN_AN_ORGANIZATION`, …) | code in [`crate::domain::blocker::is_transient_code`], or HTTP 429/5xx |
//! | unmodeled service error (STS `AccessDenied`, …) | the error code of the response | none | likewise |
//! | timeout, dispatch (connection) or response (unparseable) failure | `TimeoutError`, `DispatchFailure`, `ResponseError` | none | yes |
//! | request construction failure (a bug) | `ConstructionFailure` | none | no |
//! | a response this adapter cannot use (handshake id invalid, field missing) | [`MALFORMED_RESPONSE`] | none | no |
//!
//! `failure.message` is the service's message (or the error chain for non-service errors).
//! The domain's [`crate::domain::classify`] turns the failure into a blocker.
//!
//! Nothing here logs credentials or the external id.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_organizations::config::SharedCredentialsProvider;
use aws_sdk_organizations::config::{Credentials as StaticCredentials, Region};
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types::{Handshake, HandshakeParty, HandshakePartyType};
use aws_sdk_organizations::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};

use super::sdk_error;
use crate::domain::billing::{ObservedTransfer, TransferStatus};
use crate::domain::error_code::same_code;
use crate::domain::{AccountId, AwsFailure, HandshakeId, ObservedHandshake, OrganizationId};
use crate::ports::{
    AccountOrganizations, BillingTransfers, Credentials, Membership, OrganizationsError,
    TargetDirectory, TargetOrganization,
};

/// The code of a failure caused by a response this adapter cannot use (an invalid
/// handshake id, a missing field): not transient, shown raw on the blocker.
pub const MALFORMED_RESPONSE: &str = "MalformedResponse";

/// Organizations is a global service whose endpoint lives in us-east-1.
pub const ORGANIZATIONS_REGION: &str = "us-east-1";

/// How long an assumed spoke session lasts (the STS minimum, 15 minutes: one invocation).
pub const SESSION_DURATION: Duration = Duration::from_secs(900);

/// A cached spoke client is assumed again when its session has less than this left.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------------------

/// What an operation's error enum knows beyond [`ProvideErrorMetadata`]: the modeled
/// exception's code and message (a modeled error built without metadata, as a test or a
/// lenient deserializer may, still has them) and the typed `Reason` of constraint
/// violations.
pub trait OperationError: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static {
    /// The code of the modeled exception, `None` for an unhandled (unmodeled) error.
    fn modeled_code(&self) -> Option<&'static str>;
    /// The modeled exception's message.
    fn modeled_message(&self) -> Option<&str>;
    /// The `Reason` of a `ConstraintViolationException` or
    /// `HandshakeConstraintViolationException`, as its wire string.
    fn reason(&self) -> Option<&str>;
}

/// The wire code of a modeled exception, from its Rust variant name.
pub(crate) fn wire_code(variant: &'static str) -> &'static str {
    // The one exception here whose Rust name differs from its code.
    if variant == "AwsOrganizationsNotInUseException" {
        "AWSOrganizationsNotInUseException"
    } else {
        variant
    }
}

/// Implements [`OperationError`] for an operation error enum: the variants listed under
/// `plain` and `with_reason` (those that carry a typed `reason()`).
macro_rules! operation_error {
    ($ty:ty { plain: [$($plain:ident),* $(,)?], with_reason: [$($reasoned:ident),* $(,)?] $(,)? }) => {
        impl OperationError for $ty {
            fn modeled_code(&self) -> Option<&'static str> {
                match self {
                    $(Self::$plain(_) => Some($crate::adapters::organizations::wire_code(stringify!($plain))),)*
                    $(Self::$reasoned(_) => Some($crate::adapters::organizations::wire_code(stringify!($reasoned))),)*
                    _ => None,
                }
            }
            fn modeled_message(&self) -> Option<&str> {
                match self {
                    $(Self::$plain(e) => e.message(),)*
                    $(Self::$reasoned(e) => e.message(),)*
                    _ => None,
                }
            }
            fn reason(&self) -> Option<&str> {
                match self {
                    $(Self::$reasoned(e) => e.reason().map(|r| r.as_str()),)*
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use operation_error;

use aws_sdk_organizations::operation::accept_handshake::AcceptHandshakeError;
use aws_sdk_organizations::operation::decline_handshake::DeclineHandshakeError;
use aws_sdk_organizations::operation::describe_account::DescribeAccountError;
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationError;
use aws_sdk_organizations::operation::invite_account_to_organization::InviteAccountToOrganizationError;
use aws_sdk_organizations::operation::invite_organization_to_transfer_responsibility::InviteOrganizationToTransferResponsibilityError;
use aws_sdk_organizations::operation::list_accounts::ListAccountsError;
use aws_sdk_organizations::operation::list_handshakes_for_account::ListHandshakesForAccountError;
use aws_sdk_organizations::operation::list_handshakes_for_organization::ListHandshakesForOrganizationError;
use aws_sdk_organizations::operation::list_inbound_responsibility_transfers::ListInboundResponsibilityTransfersError;
use aws_sdk_organizations::operation::list_outbound_responsibility_transfers::ListOutboundResponsibilityTransfersError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

operation_error!(AcceptHandshakeError {
    plain: [
        AccessDeniedException,
        AccessDeniedForDependencyException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        HandshakeAlreadyInStateException,
        HandshakeNotFoundException,
        InvalidHandshakeTransitionException,
        InvalidInputException,
        MasterCannotLeaveOrganizationException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [
        ConstraintViolationException,
        HandshakeConstraintViolationException
    ],
});

operation_error!(DeclineHandshakeError {
    plain: [
        AccessDeniedException,
        ConcurrentModificationException,
        HandshakeAlreadyInStateException,
        HandshakeNotFoundException,
        InvalidHandshakeTransitionException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(DescribeAccountError {
    plain: [
        AccessDeniedException,
        AccountNotFoundException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(DescribeOrganizationError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(InviteAccountToOrganizationError {
    plain: [
        AccessDeniedException,
        AccountOwnerNotVerifiedException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        DuplicateHandshakeException,
        FinalizingOrganizationException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [
        ConstraintViolationException,
        HandshakeConstraintViolationException
    ],
});

operation_error!(InviteOrganizationToTransferResponsibilityError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        DuplicateHandshakeException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
        UnsupportedApiEndpointException,
    ],
    with_reason: [
        ConstraintViolationException,
        HandshakeConstraintViolationException
    ],
});

operation_error!(ListInboundResponsibilityTransfersError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ResponsibilityTransferNotFoundException,
        ServiceException,
        TooManyRequestsException,
        UnsupportedApiEndpointException,
    ],
    with_reason: [ConstraintViolationException],
});

operation_error!(ListOutboundResponsibilityTransfersError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
        UnsupportedApiEndpointException,
    ],
    with_reason: [ConstraintViolationException],
});

operation_error!(ListAccountsError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(ListHandshakesForAccountError {
    plain: [
        AccessDeniedException,
        ConcurrentModificationException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(ListHandshakesForOrganizationError {
    plain: [
        AccessDeniedException,
        AwsOrganizationsNotInUseException,
        ConcurrentModificationException,
        InvalidInputException,
        ServiceException,
        TooManyRequestsException,
    ],
    with_reason: [],
});

operation_error!(AssumeRoleError {
    plain: [
        ExpiredTokenException,
        MalformedPolicyDocumentException,
        PackedPolicyTooLargeException,
        RegionDisabledException,
    ],
    with_reason: [],
});

/// Maps any SDK error of an Organizations (or STS) operation to an [`OrganizationsError`];
/// see the table in the module documentation.
pub fn map_sdk_error<E: OperationError>(err: SdkError<E, HttpResponse>) -> OrganizationsError {
    let read = sdk_error::read_with(&err, |e| (e.modeled_code(), e.modeled_message()));
    let reason = err.as_service_error().and_then(OperationError::reason);
    OrganizationsError {
        failure: AwsFailure {
            code: read.code,
            reason: reason.map(str::to_owned),
            message: read.message,
        },
        transient: read.transient,
    }
}

pub(crate) fn malformed(message: impl Into<String>) -> OrganizationsError {
    OrganizationsError {
        failure: AwsFailure::new(MALFORMED_RESPONSE, None, message),
        transient: false,
    }
}

/// Logs a failed call at a level that says whether anyone must act.
pub(crate) fn logged(operation: &'static str, err: OrganizationsError) -> OrganizationsError {
    if err.transient {
        tracing::warn!(operation, code = %err.failure.code, error = %err, "transient Organizations failure");
    } else {
        tracing::info!(operation, code = %err.failure.code, reason = ?err.failure.reason, error = %err, "Organizations refused");
    }
    err
}

// ---------------------------------------------------------------------------------------
// Handshake mapping
// ---------------------------------------------------------------------------------------

/// A smithy timestamp as a chrono one (`None` when out of chrono's range).
fn to_chrono(at: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}

/// An SDK handshake as the domain sees it. The id must be a valid [`HandshakeId`]; an
/// invalid or missing id is a [`MALFORMED_RESPONSE`] error.
pub fn observe(handshake: &Handshake) -> Result<ObservedHandshake, OrganizationsError> {
    let raw_id = handshake
        .id()
        .ok_or_else(|| malformed("a handshake without an id"))?;
    let id = HandshakeId::parse(raw_id).map_err(|e| malformed(e.to_string()))?;
    Ok(ObservedHandshake {
        id,
        arn: handshake.arn().map(str::to_owned),
        action: handshake
            .action()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        state: handshake
            .state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        parties: handshake
            .parties()
            .iter()
            .map(|p| (p.r#type().as_str().to_owned(), p.id().to_owned()))
            .collect(),
        expires_at: handshake.expiration_timestamp().and_then(to_chrono),
        requested_at: handshake.requested_timestamp().and_then(to_chrono),
    })
}

/// Maps a page of listed handshakes, skipping (with a warning) any whose id is invalid:
/// such a handshake can be neither verified nor accepted, and it must not hide the valid
/// ones of the same account.
fn observe_listed(handshakes: &[Handshake], into: &mut Vec<ObservedHandshake>) {
    for handshake in handshakes {
        match observe(handshake) {
            Ok(observed) => into.push(observed),
            Err(err) => tracing::warn!(
                raw_handshake_id = ?handshake.id(),
                error = %err,
                "skipping a listed handshake that cannot be mapped"
            ),
        }
    }
}

fn returned_handshake(
    handshake: Option<&Handshake>,
    operation: &str,
) -> Result<ObservedHandshake, OrganizationsError> {
    let handshake =
        handshake.ok_or_else(|| malformed(format!("{operation} returned no handshake")))?;
    observe(handshake)
}

// ---------------------------------------------------------------------------------------
// AccountOrganizations
// ---------------------------------------------------------------------------------------

/// [`AccountOrganizations`] on an Organizations client whose credentials are those of the
/// customer account (see [`StsCredentials`]).
#[derive(Debug, Clone)]
pub struct SdkAccountOrganizations {
    client: Client,
    /// The account the client acts as, when known: only for log fields.
    account: Option<AccountId>,
}

impl SdkAccountOrganizations {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            account: None,
        }
    }

    /// The same, naming the account it acts as in its logs.
    pub fn for_account(client: Client, account: AccountId) -> Self {
        Self {
            client,
            account: Some(account),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn account(&self) -> Option<&AccountId> {
        self.account.as_ref()
    }

    fn account_field(&self) -> &str {
        self.account.as_ref().map_or("", AccountId::as_str)
    }
}

#[async_trait]
impl AccountOrganizations for SdkAccountOrganizations {
    #[tracing::instrument(skip(self), fields(account_id = %self.account_field()))]
    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, OrganizationsError> {
        let mut pages = self
            .client
            .list_handshakes_for_account()
            .into_paginator()
            .send();
        let mut handshakes = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| logged("ListHandshakesForAccount", map_sdk_error(e)))?;
            observe_listed(page.handshakes(), &mut handshakes);
        }
        tracing::debug!(count = handshakes.len(), "listed the account's handshakes");
        Ok(handshakes)
    }

    #[tracing::instrument(skip(self), fields(account_id = %self.account_field(), handshake_id = %handshake))]
    async fn accept(
        &self,
        handshake: &HandshakeId,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        let output = self
            .client
            .accept_handshake()
            .handshake_id(handshake.as_str())
            .send()
            .await
            .map_err(|e| logged("AcceptHandshake", map_sdk_error(e)))?;
        tracing::info!("accepted the handshake");
        returned_handshake(output.handshake(), "AcceptHandshake")
    }

    #[tracing::instrument(skip(self), fields(account_id = %self.account_field(), handshake_id = %handshake))]
    async fn decline(&self, handshake: &HandshakeId) -> Result<(), OrganizationsError> {
        self.client
            .decline_handshake()
            .handshake_id(handshake.as_str())
            .send()
            .await
            .map_err(|e| logged("DeclineHandshake", map_sdk_error(e)))?;
        tracing::info!("declined the handshake");
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(account_id = %self.account_field()))]
    async fn membership(&self) -> Result<Option<Membership>, OrganizationsError> {
        describe_organization(&self.client).await
    }

    #[tracing::instrument(skip(self), fields(account_id = %self.account_field()))]
    async fn other_members(&self) -> Result<u32, OrganizationsError> {
        let accounts = list_accounts(&self.client).await?;
        let others = accounts
            .iter()
            .filter(|a| Some(*a) != self.account.as_ref())
            .count();
        Ok(u32::try_from(others).unwrap_or(u32::MAX))
    }
}

/// ListAccounts with `client`'s credentials, all pages (20 accounts a page).
async fn list_accounts(client: &Client) -> Result<Vec<AccountId>, OrganizationsError> {
    let mut pages = client.list_accounts().into_paginator().send();
    let mut accounts = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| logged("ListAccounts", map_sdk_error(e)))?;
        for account in page.accounts() {
            let id = account
                .id()
                .ok_or_else(|| malformed("ListAccounts returned an account without an id"))?;
            accounts.push(AccountId::parse(id).map_err(|e| malformed(e.to_string()))?);
        }
    }
    tracing::debug!(count = accounts.len(), "listed the organization's accounts");
    Ok(accounts)
}

/// DescribeOrganization with `client`'s credentials: `None` when the account is in no
/// organization.
async fn describe_organization(client: &Client) -> Result<Option<Membership>, OrganizationsError> {
    let output = match client.describe_organization().send().await {
        Ok(output) => output,
        Err(err) => {
            let err = map_sdk_error(err);
            if same_code(&err.failure.code, "AWSOrganizationsNotInUseException") {
                return Ok(None);
            }
            return Err(logged("DescribeOrganization", err));
        }
    };
    let organization = output
        .organization()
        .ok_or_else(|| malformed("DescribeOrganization returned no organization"))?;
    let id = organization
        .id()
        .ok_or_else(|| malformed("DescribeOrganization returned no organization id"))?;
    let management = organization
        .master_account_id()
        .ok_or_else(|| malformed("DescribeOrganization returned no management account"))?;
    Ok(Some(Membership {
        organization: OrganizationId::parse(id).map_err(|e| malformed(e.to_string()))?,
        management_account: AccountId::parse(management).map_err(|e| malformed(e.to_string()))?,
    }))
}

// ---------------------------------------------------------------------------------------
// TargetOrganization
// ---------------------------------------------------------------------------------------

/// [`TargetOrganization`] on an Organizations client with the target management account's
/// credentials (the hub's own, when it runs in that account).
#[derive(Debug, Clone)]
pub struct SdkTargetOrganization {
    client: Client,
}

impl SdkTargetOrganization {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl TargetOrganization for SdkTargetOrganization {
    #[tracing::instrument(skip(self))]
    async fn list_handshakes(&self) -> Result<Vec<ObservedHandshake>, OrganizationsError> {
        let mut pages = self
            .client
            .list_handshakes_for_organization()
            .into_paginator()
            .send();
        let mut handshakes = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| logged("ListHandshakesForOrganization", map_sdk_error(e)))?;
            observe_listed(page.handshakes(), &mut handshakes);
        }
        tracing::debug!(
            count = handshakes.len(),
            "listed the organization's handshakes"
        );
        Ok(handshakes)
    }

    #[tracing::instrument(skip(self, notes, tags), fields(account_id = %account))]
    async fn invite(
        &self,
        account: &AccountId,
        notes: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        let target = account_party(account)?;
        let mut request = self.client.invite_account_to_organization().target(target);
        if !notes.is_empty() {
            request = request.notes(notes);
        }
        for tag in super::placement::sdk_tags(tags)? {
            request = request.tags(tag);
        }
        let output = request
            .send()
            .await
            .map_err(|e| logged("InviteAccountToOrganization", map_sdk_error(e)))?;
        let handshake = returned_handshake(output.handshake(), "InviteAccountToOrganization")?;
        tracing::info!(handshake_id = %handshake.id, "invited the account");
        Ok(handshake)
    }

    #[tracing::instrument(skip(self))]
    async fn member_accounts(&self) -> Result<Vec<AccountId>, OrganizationsError> {
        list_accounts(&self.client).await
    }
}

/// The handshake party naming `account`, as the invitations' `Target`.
fn account_party(account: &AccountId) -> Result<HandshakeParty, OrganizationsError> {
    HandshakeParty::builder()
        .r#type(HandshakePartyType::Account)
        .id(account.as_str())
        .build()
        .map_err(|e| OrganizationsError {
            failure: AwsFailure::new("ConstructionFailure", None, e.to_string()),
            transient: false,
        })
}

#[async_trait]
impl BillingTransfers for SdkTargetOrganization {
    #[tracing::instrument(skip(self, name), fields(account_id = %account))]
    async fn invite_to_transfer(
        &self,
        account: &AccountId,
        starts_at: DateTime<Utc>,
        name: &str,
    ) -> Result<ObservedHandshake, OrganizationsError> {
        use aws_sdk_organizations::types::ResponsibilityTransferType;
        let target = account_party(account)?;
        let output = self
            .client
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
        use aws_sdk_organizations::types::ResponsibilityTransferType;
        let mut transfers = Vec::new();
        let mut token = None;
        loop {
            let (page, next) = if inbound {
                let page = self
                    .client
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
                    .client
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

#[async_trait]
impl TargetDirectory for SdkTargetOrganization {
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    async fn is_member(&self, account: &AccountId) -> Result<bool, OrganizationsError> {
        match self
            .client
            .describe_account()
            .account_id(account.as_str())
            .send()
            .await
        {
            Ok(output) => Ok(output
                .account()
                .and_then(|a| a.id())
                .is_some_and(|id| id == account.as_str())),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_account_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(logged("DescribeAccount", map_sdk_error(err))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn own_organization(&self) -> Result<Option<Membership>, OrganizationsError> {
        describe_organization(&self.client).await
    }

    #[tracing::instrument(skip(self), fields(account_id = %account))]
    async fn transfer_in_force(
        &self,
        account: &AccountId,
    ) -> Result<Option<ObservedTransfer>, OrganizationsError> {
        Ok(self
            .transfers()
            .await?
            .into_iter()
            .find(|t| t.names(account) && t.is_in_force()))
    }
}

// ---------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------

/// The spoke session a client was built for: what a client hook may need to know (the
/// local harness's CloudTrail recorder puts it in `userIdentity`). Holds no secret; its
/// `Debug` leaves out the access key id all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct SpokeSession {
    pub account: AccountId,
    /// `arn:aws:iam::<account>:role/<role name>`.
    pub role_arn: String,
    pub role_name: String,
    /// `org-onboarding-<account>`.
    pub session_name: String,
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`, as STS returned it.
    pub assumed_role_arn: Option<String>,
    /// `AROA…:<session name>`, as STS returned it.
    pub assumed_role_id: Option<String>,
    /// The temporary access key id (an identifier that CloudTrail records, not a secret).
    pub access_key_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for SpokeSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpokeSession")
            .field("account", &self.account)
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Adjusts the configuration of every spoke client [`StsCredentials`] builds (the local
/// harness adds its CloudTrail-recording and fault-injecting interceptors).
pub type ClientHook = Arc<
    dyn Fn(
            &SpokeSession,
            aws_sdk_organizations::config::Builder,
        ) -> aws_sdk_organizations::config::Builder
        + Send
        + Sync,
>;

/// The ARN of the role `role_name` in `account` (the spoke role, the access role).
pub fn role_arn(account: &AccountId, role_name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role_name}")
}

/// The AssumeRole session name for `account`, which CloudTrail shows in the customer
/// account.
pub fn session_name(account: &AccountId) -> String {
    format!("org-onboarding-{account}")
}

/// Interceptors for every client of a spoke session in `account` (the harness logs each
/// call for the IAM check).
pub type SessionInterceptors = Arc<
    dyn Fn(&AccountId) -> Vec<aws_smithy_runtime_api::client::interceptors::SharedInterceptor>
        + Send
        + Sync,
>;

struct CachedClient {
    organizations: Arc<SdkAccountOrganizations>,
    /// The session's configuration, for clients of other services (the preflight's).
    config: SdkConfig,
    expires_at: Option<SystemTime>,
}

/// [`Credentials`] by STS AssumeRole: the spoke role `arn:aws:iam::<account>:role/<role
/// name>` with the configured external id, session `org-onboarding-<account>`, for
/// [`SESSION_DURATION`]. The Organizations client is built from the base configuration
/// (keeping its endpoint URL, so `AWS_ENDPOINT_URL` reaches a local emulator, its HTTP
/// client, retry and timeout settings) with the session's credentials and region
/// us-east-1. Clients are cached per account for the life of this value (one invocation),
/// and assumed again when their session is about to expire.
pub struct StsCredentials {
    sts: aws_sdk_sts::Client,
    base: SdkConfig,
    role_name: String,
    external_id: String,
    hook: Option<ClientHook>,
    session_interceptors: Option<SessionInterceptors>,
    cache: Mutex<HashMap<AccountId, CachedClient>>,
}

impl fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StsCredentials")
            .field("role_name", &self.role_name)
            .field("external_id", &"<redacted>")
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}

impl StsCredentials {
    /// Assumes roles with an STS client built from `base`.
    pub fn new(
        base: &SdkConfig,
        role_name: impl Into<String>,
        external_id: impl Into<String>,
    ) -> Self {
        Self::with_sts_client(aws_sdk_sts::Client::new(base), base, role_name, external_id)
    }

    /// Assumes roles with `sts` (tests pass a mocked one); spoke clients from `base`.
    pub fn with_sts_client(
        sts: aws_sdk_sts::Client,
        base: &SdkConfig,
        role_name: impl Into<String>,
        external_id: impl Into<String>,
    ) -> Self {
        Self {
            sts,
            base: base.clone(),
            role_name: role_name.into(),
            external_id: external_id.into(),
            hook: None,
            session_interceptors: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Passes the configuration of every spoke client built from now on through `hook`.
    pub fn with_client_hook(mut self, hook: ClientHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Adds `interceptors` to the clients of other services that session users build
    /// ([`StsCredentials::session_interceptors`]).
    pub fn with_session_interceptors(mut self, interceptors: SessionInterceptors) -> Self {
        self.session_interceptors = Some(interceptors);
        self
    }

    /// The interceptors for clients of a session in `account` (none unless set).
    pub fn session_interceptors(
        &self,
        account: &AccountId,
    ) -> Vec<aws_smithy_runtime_api::client::interceptors::SharedInterceptor> {
        self.session_interceptors
            .as_ref()
            .map(|f| f(account))
            .unwrap_or_default()
    }

    pub fn role_name(&self) -> &str {
        &self.role_name
    }

    /// The spoke session of `account` as an [`SdkConfig`] (its credentials, the base
    /// configuration's endpoint, HTTP client, retry and timeout settings, and region), for
    /// clients of any service in the account; assumed once per session like the
    /// Organizations client.
    pub async fn session_config(
        &self,
        account: &AccountId,
    ) -> Result<SdkConfig, OrganizationsError> {
        Ok(self.session(account).await?.config)
    }

    /// The account's cached session, or a new one.
    async fn session(&self, account: &AccountId) -> Result<Session, OrganizationsError> {
        if let Some(session) = self.cached(account) {
            return Ok(session);
        }
        let (organizations, config, expires_at) = self.assume(account).await?;
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(
            account.clone(),
            CachedClient {
                organizations: organizations.clone(),
                config: config.clone(),
                expires_at,
            },
        );
        Ok(Session {
            organizations,
            config,
        })
    }

    fn cached(&self, account: &AccountId) -> Option<Session> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let entry = cache.get(account)?;
        let fresh = entry.expires_at.is_none_or(|at| {
            at.duration_since(SystemTime::now())
                .is_ok_and(|left| left > REFRESH_MARGIN)
        });
        fresh.then(|| Session {
            organizations: entry.organizations.clone(),
            config: entry.config.clone(),
        })
    }

    async fn assume(
        &self,
        account: &AccountId,
    ) -> Result<(Arc<SdkAccountOrganizations>, SdkConfig, Option<SystemTime>), OrganizationsError>
    {
        let role_arn = role_arn(account, &self.role_name);
        let session_name = session_name(account);
        let output = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(&session_name)
            .external_id(&self.external_id)
            .duration_seconds(SESSION_DURATION.as_secs() as i32)
            .send()
            .await
            .map_err(|e| {
                let err = map_sdk_error(e);
                tracing::warn!(role_arn = %role_arn, code = %err.failure.code, transient = err.transient, "cannot assume the spoke role");
                err
            })?;
        let credentials = output
            .credentials()
            .ok_or_else(|| malformed("AssumeRole returned no credentials"))?;
        let expires_at = SystemTime::try_from(*credentials.expiration()).ok();
        let session = SpokeSession {
            account: account.clone(),
            role_arn: role_arn.clone(),
            role_name: self.role_name.clone(),
            session_name,
            assumed_role_arn: output.assumed_role_user().map(|u| u.arn().to_owned()),
            assumed_role_id: output
                .assumed_role_user()
                .map(|u| u.assumed_role_id().to_owned()),
            access_key_id: credentials.access_key_id().to_owned(),
            created_at: Utc::now(),
            expires_at: to_chrono(credentials.expiration()),
        };
        let static_credentials = StaticCredentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            expires_at,
            "spoke",
        );
        let config = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(static_credentials))
            .build();
        let mut builder = aws_sdk_organizations::config::Builder::from(&config)
            .region(Region::new(ORGANIZATIONS_REGION));
        if let Some(hook) = &self.hook {
            builder = hook(&session, builder);
        }
        let client = Client::from_conf(builder.build());
        tracing::info!(role_arn = %role_arn, "assumed the spoke role");
        Ok((
            Arc::new(SdkAccountOrganizations::for_account(
                client,
                account.clone(),
            )),
            config,
            expires_at,
        ))
    }
}

/// One account's spoke session: its Organizations client and its configuration.
struct Session {
    organizations: Arc<SdkAccountOrganizations>,
    config: SdkConfig,
}

#[async_trait]
impl Credentials for StsCredentials {
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    async fn organizations_for(
        &self,
        account: &AccountId,
    ) -> Result<Arc<dyn AccountOrganizations>, OrganizationsError> {
        Ok(self.session(account).await?.organizations)
    }
}

/// [`Credentials`] that hand out one client, whatever the account: for an in-account
/// deployment, where the function runs with the credentials of the very account it
/// onboards (a single account onboarding itself, or a test harness that builds one
/// `AmbientCredentials` per account). It does not check which account its credentials
/// belong to: with several customer accounts use [`StsCredentials`].
#[derive(Debug, Clone)]
pub struct AmbientCredentials(pub Client);

#[async_trait]
impl Credentials for AmbientCredentials {
    async fn organizations_for(
        &self,
        account: &AccountId,
    ) -> Result<Arc<dyn AccountOrganizations>, OrganizationsError> {
        Ok(Arc::new(SdkAccountOrganizations::for_account(
            self.0.clone(),
            account.clone(),
        )))
    }
}
