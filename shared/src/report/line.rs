//! An account's place in the line for the target's invitations, computed when read and
//! never stored: a stored place would change, and be written, every time the line moves.
//!
//! The line is every account awaiting an invitation (to join, or to transfer its bill: both
//! take the same slots), in the order the inviter's sweep serves them: by account id,
//! starting after the account its last sweep stopped at ([`resume_after`]). When slots
//! open, the first in line are invited first.

use std::collections::HashMap;
use std::fmt;

use crate::domain::{AccountId, Blocker, FunctionName, OnboardingRecord, Phase, WaitingReason};
use crate::ports::{RecordReader, StoreError, SweepCursors};

/// Where each awaiting account stands in the line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvitationLine {
    places: HashMap<AccountId, usize>,
}

/// One account's place: `position` (from 1) of `of` accounts in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub position: usize,
    pub of: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "place {} of {} in line", self.position, self.of)
    }
}

impl InvitationLine {
    /// The line of `awaiting` accounts, the inviter's sweep having stopped after `cursor`.
    pub fn new(awaiting: Vec<AccountId>, cursor: Option<&AccountId>) -> Self {
        let places = resume_after(awaiting, cursor)
            .into_iter()
            .enumerate()
            .map(|(index, account)| (account, index + 1))
            .collect();
        Self { places }
    }

    /// The line among `records` (those awaiting an invitation), as if the sweep started
    /// from the beginning.
    pub fn of_records(records: &[OnboardingRecord]) -> Self {
        let awaiting = records
            .iter()
            .filter(|r| r.phase.awaits_offer())
            .map(|r| r.account_id.clone())
            .collect();
        Self::new(awaiting, None)
    }

    /// The line as the store has it: every awaiting record and the inviter's cursor.
    pub async fn read<S: RecordReader + SweepCursors>(store: &S) -> Result<Self, StoreError> {
        let mut awaiting = Vec::new();
        for phase in [Phase::AwaitingInvitation, Phase::AwaitingTransfer] {
            let records = store.list_by_phase(phase).await?;
            awaiting.extend(records.into_iter().map(|r| r.account_id));
        }
        let cursor = store.sweep_cursor(FunctionName::Inviter.as_str()).await?;
        Ok(Self::new(awaiting, cursor.as_ref()))
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    pub fn place(&self, account: &AccountId) -> Option<Place> {
        self.places.get(account).map(|&position| Place {
            position,
            of: self.places.len(),
        })
    }

    /// The place of `record` when `blocker` is its wait for an invitation slot.
    pub fn place_of_wait(&self, record: &OnboardingRecord, blocker: &Blocker) -> Option<Place> {
        WaitingReason::of_blocker(blocker).and_then(|_| self.place(&record.account_id))
    }
}

/// `accounts` in sweep order: those after `cursor` first, then from the beginning, as the
/// sweep's rotation serves them.
fn resume_after(mut accounts: Vec<AccountId>, cursor: Option<&AccountId>) -> Vec<AccountId> {
    accounts.sort();
    accounts.dedup();
    if let Some(cursor) = cursor {
        let start = accounts.partition_point(|a| a <= cursor);
        accounts.rotate_left(start);
    }
    accounts
}
