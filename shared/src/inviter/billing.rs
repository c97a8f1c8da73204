//! The inviter in billing mode: the target's invitation to transfer a customer's bill
//! (InviteOrganizationToTransferResponsibility, type `BILLING`), and what the target's own
//! lists of transfers say of it afterwards.
//!
//! For a billing record, by phase:
//! - `AwaitingTransfer`: a transfer already accepted is the proof (`Transferred`); an open
//!   one the target sent is adopted; else one is sent, starting at the enrollment's start
//!   or the first day of next month, within the same handshake slots as invitations.
//! - `TransferInvited`: accepted is the proof; declined, expired, cancelled or withdrawn
//!   closes the invitation (a new one follows on the next run).
//! - `Transferred`: an accepted transfer that was ended since is reported.

use chrono::Utc;
use tracing::info;

use super::{Inviter, InviterError, InviterOutcome, Run, NAME, TO_TRANSFER};
use crate::domain::billing::{proves_transfer, ObservedTransfer, TransferStatus};
use crate::domain::{
    Closure, EventKind, HandshakeId, Observation, ObservedHandshake, OnboardingRecord, Phase,
};
use crate::ports::{BillingTransfers, Notifier, SweepCursors, TargetOrganization};
use crate::recorder::RecorderStore;
use crate::retry;

impl<S: RecorderStore + SweepCursors, N: Notifier, T: TargetOrganization + BillingTransfers>
    Inviter<S, N, T>
{
    /// One billing record. `force` sends an invitation whatever the phase, short of
    /// `Transferred`.
    pub(super) async fn process_billing(
        &self,
        mut record: OnboardingRecord,
        run: &Run,
        force: bool,
    ) -> Result<InviterOutcome, InviterError> {
        let transfers = self.transfers(run).await?;
        let account = record.account_id.clone();
        let mine: Vec<&ObservedTransfer> = transfers.iter().filter(|t| t.names(&account)).collect();
        if record.phase == Phase::Transferred {
            return self.report_end(&record, &mine).await;
        }
        if let Some(accepted) = mine.iter().find(|t| proves_transfer(&record, t)) {
            return self.confirm(&record, accepted).await;
        }
        if record.phase == Phase::TransferInvited {
            if let Some(closure) = closed(&record, &mine) {
                record = self.close(&record, closure).await?;
            }
        }
        if record.phase != Phase::AwaitingTransfer && !force {
            return Ok(InviterOutcome::Skipped {
                phase: record.phase,
            });
        }
        if let Some(open) = open_transfer(&record, &mine) {
            return self.adopt_transfer(&record, open, &run.handshakes).await;
        }
        if let Err(waiting) = self.take_slot(run).await? {
            return self.wait(&account, waiting).await;
        }
        self.invite_to_transfer(&record, run).await
    }

    /// The target's transfers, read once per run (two list calls).
    async fn transfers<'r>(&self, run: &'r Run) -> Result<&'r [ObservedTransfer], InviterError> {
        let transfers = run
            .transfers
            .get_or_try_init(|| {
                retry::transient(retry::attempts(NAME), || self.organization.transfers())
            })
            .await?;
        Ok(transfers)
    }

    async fn invite_to_transfer(
        &self,
        record: &OnboardingRecord,
        run: &Run,
    ) -> Result<InviterOutcome, InviterError> {
        let account = &record.account_id;
        let starts_at = record
            .billing()
            .cloned()
            .unwrap_or_default()
            .start_at(Utc::now());
        let name = format!("org-onboarding {}", record.enrollment);
        info!(%starts_at, "inviting the account to transfer its bill");
        let send = || {
            self.organization
                .invite_to_transfer(account, starts_at, &name)
        };
        let adopt_fresh = || async {
            let fresh =
                retry::transient(retry::attempts(NAME), || self.organization.transfers()).await?;
            let mine: Vec<&ObservedTransfer> = fresh.iter().filter(|t| t.names(account)).collect();
            match open_transfer(record, &mine) {
                Some(open) => self
                    .adopt_transfer(record, open, &run.handshakes)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        self.send_invitation(account, &TO_TRANSFER, send, adopt_fresh)
            .await
    }

    /// An open transfer the target sent is the record's, with the expiry its handshake
    /// shows when the organization's handshakes list it.
    async fn adopt_transfer(
        &self,
        record: &OnboardingRecord,
        (transfer, handshake): (&ObservedTransfer, &HandshakeId),
        handshakes: &[ObservedHandshake],
    ) -> Result<InviterOutcome, InviterError> {
        info!(transfer = %transfer.id, handshake_id = %handshake, "adopting the open transfer invitation");
        let kind = EventKind::TransferInvitationSent {
            handshake: handshake.clone(),
            organization: Some(self.recorder.target().organization.clone()),
            expires_at: handshakes
                .iter()
                .find(|h| &h.id == handshake)
                .and_then(|h| h.expires_at),
            transfer: Some(transfer.id.clone()),
        };
        let account = &record.account_id;
        self.observe(Observation::once(
            NAME,
            "transfer-adopted",
            handshake,
            account,
            kind,
        ))
        .await?;
        Ok(InviterOutcome::Adopted {
            handshake: handshake.clone(),
        })
    }

    /// The target lists the transfer as accepted: the proof of `Transferred`.
    async fn confirm(
        &self,
        record: &OnboardingRecord,
        accepted: &ObservedTransfer,
    ) -> Result<InviterOutcome, InviterError> {
        let kind = EventKind::TransferConfirmed {
            transfer: accepted.id.clone(),
            starts_at: accepted.starts_at,
        };
        let account = &record.account_id;
        self.observe(Observation::once(
            NAME,
            "transferred",
            &accepted.id,
            account,
            kind,
        ))
        .await?;
        Ok(InviterOutcome::Transferred {
            transfer: accepted.id.clone(),
        })
    }

    /// The invitation closed without being accepted: recorded, and the record returned,
    /// now awaiting a new one.
    async fn close(
        &self,
        record: &OnboardingRecord,
        closure: Closure,
    ) -> Result<OnboardingRecord, InviterError> {
        let Some(handshake) = record.handshake_id().cloned() else {
            return Ok(record.clone());
        };
        let kind = EventKind::InvitationClosed {
            handshake: handshake.clone(),
            closure,
        };
        let account = &record.account_id;
        self.observe(Observation::once(
            NAME,
            "transfer-closed",
            &handshake,
            account,
            kind,
        ))
        .await?;
        let reloaded = self.recorder.store().load(&record.account_id).await;
        Ok(reloaded?.unwrap_or_else(|| record.clone()))
    }

    /// The accepted transfer ended since (withdrawn, or an end date set): reported once.
    async fn report_end(
        &self,
        record: &OnboardingRecord,
        mine: &[&ObservedTransfer],
    ) -> Result<InviterOutcome, InviterError> {
        let accepted = record.billing().and_then(|b| b.transfer.as_deref());
        let ended = mine.iter().find(|t| {
            Some(t.id.as_str()) == accepted
                && (t.ended_at.is_some() || t.status == TransferStatus::Withdrawn)
        });
        let (Some(ended), false) = (
            ended,
            record.billing().is_some_and(|b| b.ended_at.is_some()),
        ) else {
            return Ok(InviterOutcome::Skipped {
                phase: record.phase,
            });
        };
        let kind = EventKind::TransferTerminated {
            transfer: Some(ended.id.clone()),
            ended_at: ended.ended_at,
            counterpart: None,
        };
        let account = &record.account_id;
        self.observe(Observation::once(
            NAME,
            "transfer-ended",
            &ended.id,
            account,
            kind,
        ))
        .await?;
        Ok(InviterOutcome::TransferEnded {
            transfer: ended.id.clone(),
        })
    }
}

/// The transfer invitation the target sent the account that is still open, unless the
/// record has seen its handshake closed.
fn open_transfer<'t>(
    record: &OnboardingRecord,
    mine: &[&'t ObservedTransfer],
) -> Option<(&'t ObservedTransfer, &'t HandshakeId)> {
    mine.iter().find_map(|t| match (&t.status, &t.handshake) {
        (TransferStatus::Requested, Some(handshake))
            if !record.settled_handshakes.contains(handshake) =>
        {
            Some((*t, handshake))
        }
        _ => None,
    })
}

/// How the record's current invitation closed, when no transfer to the account is open
/// any more (a closed transfer no longer names its handshake: the latest closed one says).
fn closed(record: &OnboardingRecord, mine: &[&ObservedTransfer]) -> Option<Closure> {
    let current = record.handshake_id()?;
    if mine.iter().any(|t| t.handshake.as_ref() == Some(current)) {
        return None; // still open
    }
    // One that ended before the record was invited is an earlier invitation's.
    let latest = mine
        .iter()
        .filter(|t| t.status.is_closed() && t.ended_at.is_none_or(|at| at >= record.phase_since))
        .max_by_key(|t| t.ended_at)?;
    Some(match latest.status {
        TransferStatus::Declined => Closure::Declined,
        TransferStatus::Canceled => Closure::Canceled,
        TransferStatus::Withdrawn => Closure::Withdrawn,
        _ => Closure::Expired,
    })
}

pub(super) fn transfer_sent(handshake: &ObservedHandshake) -> EventKind {
    EventKind::TransferInvitationSent {
        handshake: handshake.id.clone(),
        organization: handshake.inviting_organization(),
        expires_at: handshake.expires_at,
        transfer: handshake.transfer.clone(),
    }
}
