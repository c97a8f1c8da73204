//! Reading AWS Organizations CloudTrail events, as EventBridge delivers them, into
//! [`DomainEvent`]s.
//!
//! The envelope is `aws_lambda_events`' `CloudWatchEvent`; the `detail` is read with our
//! own lenient `record::TrailRecord`, because `AWSAPICall` requires fields that service
//! events and some identities lack, and has no `errorCode`/`errorMessage`/`recipientAccountId`.
//!
//! Who recorded an event is the EventBridge envelope's `account` (EventBridge sets it; the
//! body cannot): it is the event's `recorded_in`, which the origin rules judge. A body
//! whose `recipientAccountId` names another account is rejected
//! ([`ParseError::OriginMismatch`]); which body fields must agree and why: `envelope.rs`.
//!
//! Which account an event is about, read from where (AWS records each call in the
//! caller's account):
//!
//! | event | account the record is about | read from |
//! |---|---|---|
//! | InviteAccountToOrganization, InviteOrganizationToTransferResponsibility | the invited account | body: `requestParameters.target.id` (type ACCOUNT), else the handshake's `ACCOUNT` party that is not the recording account |
//! | AcceptHandshake, DeclineHandshake, LeaveOrganization, DeleteOrganization (the calls only the account itself speaks for) | the account that made the call | envelope: `account`; the body's `userIdentity.accountId`, when present, must name it (else rejected) |
//! | TerminateResponsibilityTransfer | the transfer's management account (`source` or `target`) that is not the recording one; the tracker turns it to the customer | body: `responseElements.responsibilityTransfer`, envelope: `account` |
//! | CancelHandshake | the invited account | body: the handshake's `ACCOUNT` party that is not the recording account |
//! | RemoveAccountFromOrganization | the removed account | body: `requestParameters.accountId` |
//! | AccountJoinedOrganization / AccountDepartedOrganization (service events) | the account that joined or left | body: the `accountId` in `serviceEventDetails`; the organization's management account (where AWS records these) is the envelope's `account` |
//!
//! The body's `userIdentity.accountId` decides nothing else: it legitimately differs from
//! the recording account in cross-account calls, which the target's calls may be.
//!
//! Which account's CloudTrail may speak for each of these events is the domain's rule
//! ([`crate::domain::origin`]); [`trail_event`] names the event a rule is about.
//!
//! Real payloads differ from the API's: the handshake's `action` may be lowercase
//! (`invite`), timestamps may be strings such as `Jan 18, 2017 9:41:16 PM`, keys are
//! camelCase where the API uses PascalCase. All of these are accepted.

mod envelope;
mod record;

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::origin::TrailEvent;
use crate::domain::{
    AccountId, AwsFailure, Closure, DomainEvent, EventKind, HandshakeId, Offer, Operation,
    OrganizationId,
};
use record::{TrailHandshake, TrailRecord};

pub const SOURCE: &str = "aws.organizations";
pub const API_CALL: &str = "AWS API Call via CloudTrail";
pub const SERVICE_EVENT: &str = "AWS Service Event via CloudTrail";
pub const ACCOUNT_JOINED: &str = "AccountJoinedOrganization";
pub const ACCOUNT_DEPARTED: &str = "AccountDepartedOrganization";

/// The `eventName`s of the API calls the parser reads (detail-type [`API_CALL`]), one per
/// [`Operation`]. template.yaml's tracker rules and the test harness's recorder are
/// checked against this list (tests/tests/template_contract.rs).
pub const FOLLOWED_API_CALLS: [&str; Operation::ALL.len()] = api_call_names();

/// The `eventName`s of the service events the parser reads (detail-type [`SERVICE_EVENT`]).
pub const FOLLOWED_SERVICE_EVENTS: [&str; 2] = [ACCOUNT_JOINED, ACCOUNT_DEPARTED];

/// The CloudTrail event named `event_name` among those the parser reads (an API call or a
/// service event), as the origin rules know it ([`TrailEvent::speakers`]).
pub fn trail_event(event_name: &str) -> Option<TrailEvent> {
    match event_name {
        ACCOUNT_JOINED => Some(TrailEvent::AccountJoinedOrganization),
        ACCOUNT_DEPARTED => Some(TrailEvent::AccountDepartedOrganization),
        name => Operation::from_name(name).map(TrailEvent::Call),
    }
}

const fn api_call_names() -> [&'static str; Operation::ALL.len()] {
    let mut names = [""; Operation::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Operation::ALL[i].name();
        i += 1;
    }
    names
}

/// Why an event could not be read. Every variant names the event id (or `unknown`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not an EventBridge event, or its CloudTrail detail is broken.
    #[error("event {event_id}: malformed: {detail}")]
    Malformed { event_id: String, detail: String },
    /// A well-formed event that is not one the product follows.
    #[error("event {event_id}: not an event org-onboarding follows: {what}")]
    Unsupported { event_id: String, what: String },
    /// One of our events, with a field missing or invalid.
    #[error("event {event_id}: {event_name}: {field} is missing or invalid{}", detail_suffix(.detail))]
    InvalidField {
        event_id: String,
        event_name: String,
        field: &'static str,
        detail: String,
    },
    /// The body names another account than the one EventBridge says recorded the event
    /// (the envelope's `account`): forged, or another account's copy of a call. Never
    /// applied, and counted ([`crate::metrics::ORIGIN_MISMATCH`]).
    #[error("event {event_id}: {event_name}: {field} {claimed:?} is not the account that recorded the event ({recorded_in}, the EventBridge envelope's account): rejected")]
    OriginMismatch {
        event_id: String,
        event_name: String,
        field: &'static str,
        claimed: String,
        recorded_in: AccountId,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

impl ParseError {
    pub fn event_id(&self) -> &str {
        match self {
            ParseError::Malformed { event_id, .. }
            | ParseError::Unsupported { event_id, .. }
            | ParseError::InvalidField { event_id, .. }
            | ParseError::OriginMismatch { event_id, .. } => event_id,
        }
    }

    /// A body that disagrees with its envelope about who recorded the event.
    pub fn is_origin_mismatch(&self) -> bool {
        matches!(self, ParseError::OriginMismatch { .. })
    }

    /// A well-formed event we do not follow (as opposed to a broken one).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, ParseError::Unsupported { .. })
    }
}

/// The best id to name an event by, even a broken one: CloudTrail's `eventID`, else
/// EventBridge's `id`.
pub fn event_id_of(event: &Value) -> String {
    event
        .pointer("/detail/eventID")
        .or_else(|| event.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned()
}

/// Reads one EventBridge event.
pub fn parse_event(event: &Value) -> Result<DomainEvent, ParseError> {
    let event_id = event_id_of(event);
    let malformed = |detail: String| ParseError::Malformed {
        event_id: event_id.clone(),
        detail,
    };
    let envelope: CloudWatchEvent<Value> = CloudWatchEvent::deserialize(event)
        .map_err(|e| malformed(format!("not an EventBridge event: {e}")))?;
    if envelope.source.as_deref() != Some(SOURCE) {
        return Err(ParseError::Unsupported {
            event_id,
            what: format!("source {:?}", envelope.source.as_deref().unwrap_or("")),
        });
    }
    let detail_type = envelope.detail_type.as_deref().unwrap_or("");
    if detail_type != API_CALL && detail_type != SERVICE_EVENT {
        return Err(ParseError::Unsupported {
            event_id,
            what: format!("detail-type {detail_type:?}"),
        });
    }
    let detail = envelope
        .detail
        .ok_or_else(|| malformed("no detail".into()))?;
    let trail: TrailRecord =
        serde_json::from_value(detail).map_err(|e| malformed(format!("CloudTrail detail: {e}")))?;
    let recorded_in = envelope::recorded_in(envelope.account_id.as_deref(), &event_id, &trail)?;
    let reader = Reader {
        event_id,
        recorded_in,
        envelope_time: envelope.time,
        trail,
    };
    if detail_type == SERVICE_EVENT {
        reader.service_event()
    } else {
        reader.api_call()
    }
}

/// Reads the JSON text of one EventBridge event.
pub fn parse_event_str(text: &str) -> Result<DomainEvent, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ParseError::Malformed {
        event_id: "unknown".into(),
        detail: format!("not JSON: {e}"),
    })?;
    parse_event(&value)
}

struct Reader {
    event_id: String,
    /// The envelope's `account`: the account whose CloudTrail recorded the event.
    recorded_in: AccountId,
    envelope_time: DateTime<Utc>,
    trail: TrailRecord,
}

impl Reader {
    fn invalid(&self, field: &'static str, detail: impl Into<String>) -> ParseError {
        ParseError::InvalidField {
            event_id: self.event_id.clone(),
            event_name: self.trail.event_name.clone(),
            field,
            detail: detail.into(),
        }
    }

    fn account(&self, field: &'static str, value: Option<&str>) -> Result<AccountId, ParseError> {
        let value = value.ok_or_else(|| self.invalid(field, ""))?;
        AccountId::parse(value).map_err(|e| self.invalid(field, e.to_string()))
    }

    fn request_str(&self, pointer: &str) -> Option<&str> {
        self.trail
            .request_parameters
            .as_ref()?
            .pointer(pointer)?
            .as_str()
    }

    fn request_handshake_id(&self) -> Result<HandshakeId, ParseError> {
        let id = self
            .request_str("/handshakeId")
            .ok_or_else(|| self.invalid("requestParameters.handshakeId", ""))?;
        HandshakeId::parse(id)
            .map_err(|e| self.invalid("requestParameters.handshakeId", e.to_string()))
    }

    fn response_handshake(&self) -> Result<TrailHandshake, ParseError> {
        let value = self
            .trail
            .response_elements
            .as_ref()
            .and_then(|r| r.get("handshake").or_else(|| r.get("Handshake")))
            .ok_or_else(|| self.invalid("responseElements.handshake", ""))?;
        serde_json::from_value(value.clone())
            .map_err(|e| self.invalid("responseElements.handshake", e.to_string()))
    }

    fn handshake_id(&self, handshake: &TrailHandshake) -> Result<HandshakeId, ParseError> {
        HandshakeId::parse(handshake.id.as_str())
            .map_err(|e| self.invalid("responseElements.handshake.id", e.to_string()))
    }

    /// The invited account among the handshake's parties: an `ACCOUNT` party other than
    /// the recording account, the inviter's (AWS may list the inviting management account
    /// as a party too); else the only one (the origin rules judge who recorded it).
    fn handshake_account(&self, handshake: &TrailHandshake) -> Result<AccountId, ParseError> {
        let mut accounts = handshake
            .parties
            .iter()
            .filter(|p| p.kind.eq_ignore_ascii_case("ACCOUNT"))
            .map(|p| p.id.as_str());
        let first = accounts.clone().next();
        let invited = accounts
            .find(|id| *id != self.recorded_in.as_str())
            .or(first);
        self.account("responseElements.handshake.parties[ACCOUNT]", invited)
    }

    fn occurred_at(&self) -> DateTime<Utc> {
        self.trail
            .event_time
            .as_ref()
            .and_then(record::timestamp)
            .unwrap_or(self.envelope_time)
    }

    /// The event, once its body agrees with its envelope on who recorded it.
    fn event(&self, account: AccountId, kind: EventKind) -> Result<DomainEvent, ParseError> {
        self.recipient_agrees()?;
        Ok(DomainEvent {
            id: self.event_id.clone(),
            account,
            occurred_at: self.occurred_at(),
            kind,
            recorded_in: Some(self.recorded_in.clone()),
            replayed: false,
        })
    }

    fn api_call(&self) -> Result<DomainEvent, ParseError> {
        let name = self.trail.event_name.as_str();
        let operation = Operation::from_name(name).ok_or_else(|| ParseError::Unsupported {
            event_id: self.event_id.clone(),
            what: format!("eventName {name:?}"),
        })?;
        match &self.trail.error_code {
            Some(code) => self.failed_call(operation, code),
            None => self.successful_call(operation),
        }
    }

    fn successful_call(&self, operation: Operation) -> Result<DomainEvent, ParseError> {
        match operation {
            Operation::InviteAccountToOrganization
            | Operation::InviteOrganizationToTransferResponsibility => {
                let handshake = self.response_handshake()?;
                // The request names the invited account (target type ACCOUNT); an invitation
                // by email names it only among the handshake's parties.
                let account = self
                    .invite_target()
                    .or_else(|_| self.handshake_account(&handshake))?;
                let transfer = handshake.transfer();
                let (handshake, organization, expires_at) = (
                    self.handshake_id(&handshake)?,
                    self.handshake_organization(&handshake),
                    handshake
                        .expiration_timestamp
                        .as_ref()
                        .and_then(record::timestamp),
                );
                let kind = if operation == Operation::InviteAccountToOrganization {
                    EventKind::InvitationSent {
                        handshake,
                        organization,
                        expires_at,
                    }
                } else {
                    EventKind::TransferInvitationSent {
                        handshake,
                        organization,
                        expires_at,
                        transfer,
                    }
                };
                self.event(account, kind)
            }
            Operation::TerminateResponsibilityTransfer => self.transfer_terminated(),
            Operation::AcceptHandshake => {
                let handshake = self.response_handshake().ok();
                if let Some(action) = handshake.as_ref().and_then(|h| h.action.as_deref()) {
                    let offered = [Offer::Join, Offer::TransferBilling].iter().any(|offer| {
                        crate::domain::HandshakeAction::parse(action) == offer.action()
                    });
                    if !offered {
                        // e.g. APPROVE_ALL_FEATURES of the old organization: never a join.
                        return Err(ParseError::Unsupported {
                            event_id: self.event_id.clone(),
                            what: format!("AcceptHandshake of a {action} handshake"),
                        });
                    }
                }
                let id = match &handshake {
                    Some(h) => self.handshake_id(h)?,
                    None => self.request_handshake_id()?,
                };
                let organization = handshake
                    .as_ref()
                    .and_then(|h| self.handshake_organization(h));
                self.event(
                    self.own_call()?,
                    EventKind::InvitationAccepted {
                        handshake: id,
                        organization,
                    },
                )
            }
            Operation::DeclineHandshake => {
                let handshake = self.request_handshake_id()?;
                self.event(
                    self.own_call()?,
                    EventKind::InvitationClosed {
                        handshake,
                        closure: Closure::Declined,
                    },
                )
            }
            Operation::CancelHandshake => {
                let handshake = self.response_handshake()?;
                let kind = EventKind::InvitationClosed {
                    handshake: self.handshake_id(&handshake)?,
                    closure: Closure::Canceled,
                };
                self.event(self.handshake_account(&handshake)?, kind)
            }
            Operation::LeaveOrganization => self.event(
                self.own_call()?,
                EventKind::LeftOrganization { removed: false },
            ),
            Operation::RemoveAccountFromOrganization => {
                let account = self.account(
                    "requestParameters.accountId",
                    self.request_str("/accountId"),
                )?;
                self.event(account, EventKind::LeftOrganization { removed: true })
            }
            Operation::DeleteOrganization => {
                self.event(self.own_call()?, EventKind::OrganizationDeleted)
            }
        }
    }

    fn failed_call(&self, operation: Operation, code: &str) -> Result<DomainEvent, ParseError> {
        let account = match operation {
            Operation::InviteAccountToOrganization
            | Operation::InviteOrganizationToTransferResponsibility => self.invite_target()?,
            Operation::TerminateResponsibilityTransfer => {
                // A failed termination leaves the transfer as it was.
                return Err(ParseError::Unsupported {
                    event_id: self.event_id.clone(),
                    what: "a failed TerminateResponsibilityTransfer changes nothing".into(),
                });
            }
            Operation::RemoveAccountFromOrganization => self.account(
                "requestParameters.accountId",
                self.request_str("/accountId"),
            )?,
            Operation::CancelHandshake => {
                // The failed call names only the handshake, and the caller is the inviter.
                return Err(ParseError::Unsupported {
                    event_id: self.event_id.clone(),
                    what: "a failed CancelHandshake names no invited account".into(),
                });
            }
            Operation::AcceptHandshake
            | Operation::DeclineHandshake
            | Operation::LeaveOrganization
            | Operation::DeleteOrganization => self.own_call()?,
        };
        let handshake = self
            .request_str("/handshakeId")
            .and_then(|id| HandshakeId::parse(id).ok());
        let failure = AwsFailure::new(
            code,
            None,
            self.trail.error_message.clone().unwrap_or_default(),
        );
        self.event(
            account,
            EventKind::CallFailed {
                operation,
                failure,
                handshake,
            },
        )
    }

    /// A billing transfer ended. The transfer names two management accounts, the target's
    /// and the customer's, and the parser does not know which is the target: the event is
    /// about the party other than the recording account, and names the recording one as
    /// the `counterpart` ([`DomainEvent::about_customer`] turns it round when the customer
    /// ended the transfer; the origin rules decide who may speak).
    fn transfer_terminated(&self) -> Result<DomainEvent, ParseError> {
        const FIELD: &str = "responseElements.responsibilityTransfer";
        let transfer = self
            .trail
            .response_elements
            .as_ref()
            .and_then(|r| {
                r.get("responsibilityTransfer")
                    .or_else(|| r.get("ResponsibilityTransfer"))
            })
            .ok_or_else(|| self.invalid(FIELD, ""))?;
        let party = |side: &str| {
            transfer
                .get(side)
                .and_then(|p| record::find_str(p, "managementAccountId"))
                .and_then(|id| AccountId::parse(id).ok())
        };
        let recorded_in = self.recorded_in.clone();
        let parties: Vec<AccountId> = [party("source"), party("target")]
            .into_iter()
            .flatten()
            .collect();
        let account = parties
            .iter()
            .find(|id| **id != recorded_in)
            .cloned()
            .ok_or_else(|| self.invalid(FIELD, "no management account other than the caller"))?;
        let kind = EventKind::TransferTerminated {
            transfer: record::find_str(transfer, "id").map(str::to_owned),
            ended_at: transfer.get("endTimestamp").and_then(record::timestamp),
            counterpart: parties.contains(&recorded_in).then_some(recorded_in),
        };
        self.event(account, kind)
    }

    fn invite_target(&self) -> Result<AccountId, ParseError> {
        let kind = self.request_str("/target/type").unwrap_or("");
        if !kind.eq_ignore_ascii_case("ACCOUNT") {
            return Err(self.invalid(
                "requestParameters.target",
                format!("target type {kind:?}: only ACCOUNT targets name an account"),
            ));
        }
        self.account(
            "requestParameters.target.id",
            self.request_str("/target/id"),
        )
    }

    /// The inviting organization: its party, else the id in the handshake ARN.
    fn handshake_organization(&self, handshake: &TrailHandshake) -> Option<OrganizationId> {
        handshake
            .party("ORGANIZATION")
            .and_then(|id| OrganizationId::parse(id).ok())
            .or_else(|| {
                handshake
                    .arn_parts()
                    .and_then(|(_, org)| OrganizationId::parse(org).ok())
            })
    }

    fn service_event(&self) -> Result<DomainEvent, ParseError> {
        let name = self.trail.event_name.as_str();
        let details = self
            .trail
            .service_event_details
            .as_ref()
            .ok_or_else(|| self.invalid("serviceEventDetails", ""))?;
        let account = self.account(
            "serviceEventDetails.accountId",
            record::find_str(details, "accountId"),
        )?;
        match name {
            // Recorded in the management account of the organization joined: the
            // envelope's account, never a field of the body.
            ACCOUNT_JOINED => self.event(
                account,
                EventKind::JoinedOrganization {
                    management_account: self.recorded_in.clone(),
                },
            ),
            ACCOUNT_DEPARTED => {
                let how = record::find_str(details, "departureMethod")
                    .or_else(|| record::find_str(details, "departedMethod"))
                    .unwrap_or("");
                self.event(
                    account,
                    EventKind::DepartedOrganization {
                        removed: how.eq_ignore_ascii_case("Removed"),
                    },
                )
            }
            other => Err(ParseError::Unsupported {
                event_id: self.event_id.clone(),
                what: format!("service event {other:?}"),
            }),
        }
    }
}
