//! Who recorded an event: the EventBridge envelope's `account`, which EventBridge sets to
//! the account whose CloudTrail delivered the event (and keeps when a rule forwards it to
//! another account's bus); nothing in the body can change it, and PutEvents refuses a
//! custom event whose source starts with `aws.`. The body's own account fields are the
//! sender's text: where one must name the recording account, an event whose body names
//! another is rejected ([`ParseError::OriginMismatch`]), never read instead of the envelope.
//!
//! Which body fields must agree, and which legitimately differ in real CloudTrail:
//! - `recipientAccountId` is the account that received the record; CloudTrail delivers each
//!   copy of an event to its recipient (two accounts get two records with their own
//!   `eventID` and `recipientAccountId`, <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/shared-event-ID.html>),
//!   and that account's bus is where EventBridge sets `account`. It always agrees.
//! - `userIdentity.accountId` is the account of the caller's credentials, which "may be
//!   different from" `recipientAccountId` in cross-account access (the resource owner's
//!   copy, <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>).
//!   It decides nothing for the target's calls (an invitation, a cancellation, a removal,
//!   the end of a transfer are about the account the request names, and the origin rules
//!   ask only who recorded them), so it is not compared there. For the calls an account
//!   makes only about itself (accept, decline, leave, delete: the origin rules let only the
//!   account speak for them, [`TrailEvent::is_about_its_recorder`]) the event is about the
//!   recording account, and a caller of another account is rejected: a copy recorded
//!   elsewhere must not speak for the account that made the call, nor a forged caller make
//!   the recording account's event about someone else. Rejecting such a copy loses
//!   nothing: an acceptance proves nothing by itself (the reconciler and the target's
//!   service event do), and leaving is read again through the API by the reconciler.
//! - Service events (`AccountJoinedOrganization`, `AccountDepartedOrganization`) are
//!   recorded in the organization's management account: the envelope's account is that
//!   management account.

use super::record::TrailRecord;
use super::{trail_event, ParseError, Reader};
use crate::domain::AccountId;

/// The account that recorded the event: the envelope's `account`, required.
pub(super) fn recorded_in(
    envelope_account: Option<&str>,
    event_id: &str,
    trail: &TrailRecord,
) -> Result<AccountId, ParseError> {
    let invalid = |detail: String| ParseError::InvalidField {
        event_id: event_id.to_owned(),
        event_name: trail.event_name.clone(),
        field: "account",
        detail,
    };
    let account = envelope_account.ok_or_else(|| invalid("no account in the envelope".into()))?;
    AccountId::parse(account).map_err(|e| invalid(e.to_string()))
}

impl Reader {
    fn mismatch(&self, field: &'static str, claimed: &str) -> ParseError {
        ParseError::OriginMismatch {
            event_id: self.event_id.clone(),
            event_name: self.trail.event_name.clone(),
            field,
            claimed: claimed.to_owned(),
            recorded_in: self.recorded_in.clone(),
        }
    }

    /// `recipientAccountId`, when the body has one, is the envelope's account.
    pub(super) fn recipient_agrees(&self) -> Result<(), ParseError> {
        match self.trail.recipient_account_id.as_deref() {
            Some(recipient) if recipient != self.recorded_in.as_str() => {
                Err(self.mismatch("recipientAccountId", recipient))
            }
            _ => Ok(()),
        }
    }

    /// The account a call made only about itself is about: the recording account, which
    /// the caller (`userIdentity.accountId`, when the body has one) must be too.
    pub(super) fn own_call(&self) -> Result<AccountId, ParseError> {
        debug_assert!(
            trail_event(&self.trail.event_name).is_some_and(|e| e.is_about_its_recorder()),
            "{} is not a call about its recorder",
            self.trail.event_name
        );
        self.recipient_agrees()?;
        let caller = self
            .trail
            .user_identity
            .as_ref()
            .and_then(|identity| identity.account_id.as_deref());
        match caller {
            Some(caller) if caller != self.recorded_in.as_str() => {
                Err(self.mismatch("userIdentity.accountId", caller))
            }
            _ => Ok(self.recorded_in.clone()),
        }
    }
}
