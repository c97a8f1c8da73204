//! One journey per transfer mode: where a record of that mode starts, which offer of the
//! target it waits for, what its arrival is and announces, the few rules that differ
//! between modes, and the words status, reports and notifications use for its progress.
//!
//! [`TransferMode::journey`](super::TransferMode::journey) chooses the journey once; the
//! transitions ask it, never the mode. A new mode is a new implementation here (plus its
//! inviter and acceptor steps and its fixtures), not an edit of every rule.

use super::phase::{Phase, Role};
use super::policy::Offer;
use super::record::{Enrollment, EnrollmentError, OnboardingRecord};
use super::transition::Notification;

/// The phases of the target's offer: waiting for it, open, and where the journey ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferPhases {
    pub awaiting: Phase,
    pub offered: Phase,
    pub arrived: Phase,
}

/// How people read a journey's progress: "3 of 5 joined, 2 placed", "1 of 1 billing
/// transferred".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressWords {
    /// What an account at the end of the journey did.
    pub arrived: &'static str,
    /// What follows the arrival, when something does (the placer's work).
    pub settled: Option<&'static str>,
}

impl ProgressWords {
    /// "3 of 5 joined, 2 placed"; "1 of 1 billing transferred" (nothing follows a billing
    /// transfer, so `settled` is not told).
    pub fn progress(
        &self,
        arrived: impl std::fmt::Display,
        total: impl std::fmt::Display,
        settled: impl std::fmt::Display,
    ) -> String {
        let mut line = format!("{arrived} of {total} {}", self.arrived);
        if let Some(word) = self.settled {
            line.push_str(&format!(", {settled} {word}"));
        }
        line
    }
}

/// What proves, through the target's API, that an account reached the end of its journey
/// (asked when an acceptance prompts it: an acceptance is a prompt, not a proof).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrivalProof {
    /// The target organization lists the account as a member.
    Membership,
    /// The target organization lists the account's billing transfer as accepted.
    BillingTransfer,
}

impl ArrivalProof {
    /// The suffix of the confirming event's id (derived from the acceptance's, so a
    /// redelivery confirms under the same id).
    pub fn event_suffix(self) -> &'static str {
        match self {
            ArrivalProof::Membership => "member",
            ArrivalProof::BillingTransfer => "transferred",
        }
    }
}

/// What a transfer mode changes. The provided methods are the journey into the target
/// organization (direct and standalone share it); a journey that moves no account, like
/// billing, says otherwise.
pub trait Journey: Sync {
    /// The mode's name, as the wire and people spell it.
    fn name(&self) -> &'static str;
    /// Every phase a record of this journey may be in, in progress order.
    fn phases(&self) -> &'static [Phase] {
        joining::PHASES
    }
    /// The phases of the target's offer.
    fn offer_phases(&self) -> OfferPhases {
        joining::OFFER_PHASES
    }
    /// What the target's invitation offers.
    fn offer(&self) -> Offer {
        Offer::Join
    }
    /// The phase a new record of `role` starts in.
    fn starting_phase(&self, role: Role) -> Phase;
    /// Whether the account itself moves into the target organization. Only then does its
    /// old organization's deletion concern it, do the preflight's predictions apply, does
    /// the target listing it as a member prove its arrival, and is it placed.
    fn moves_account(&self) -> bool {
        true
    }
    /// Whether a member stands alone at some point of its move (and must meet what AWS
    /// asks of a standalone account); `fell_back`: it fell back to the standalone path.
    fn member_stands_alone(&self, fell_back: bool) -> bool;
    /// Whether a member AWS refuses because it is still in its organization falls back to
    /// the standalone path (once).
    fn may_fall_back(&self) -> bool;
    /// Whether an enrollment has the shape this journey takes.
    fn check(&self, enrollment: &Enrollment) -> Result<(), EnrollmentError> {
        joining::check(enrollment)
    }
    /// What proves the account reached the end of the journey.
    fn arrival_proof(&self) -> ArrivalProof {
        ArrivalProof::Membership
    }
    /// What reaching the end of the journey announces.
    fn arrival(&self, _record: &OnboardingRecord) -> Notification {
        Notification::AccountJoined
    }
    /// The words for its progress.
    fn words(&self) -> ProgressWords {
        joining::WORDS
    }
}

pub static DIRECT: DirectJourney = DirectJourney;
pub static STANDALONE: StandaloneJourney = StandaloneJourney;
pub static BILLING: BillingJourney = BillingJourney;

/// Members accept the target's invitation while still in their old organization.
#[derive(Debug)]
pub struct DirectJourney;

/// Members leave first and join as standalone accounts.
#[derive(Debug)]
pub struct StandaloneJourney;

/// The customer's management account hands its bill to the target; no account moves.
#[derive(Debug)]
pub struct BillingJourney;

/// What the two journeys that join the target share.
mod joining {
    use super::*;

    pub const PHASES: &[Phase] = &[
        Phase::LeavingOrganization,
        Phase::DeletingOrganization,
        Phase::AwaitingInvitation,
        Phase::Invited,
        Phase::Joined,
    ];

    pub const OFFER_PHASES: OfferPhases = OfferPhases {
        awaiting: Phase::AwaitingInvitation,
        offered: Phase::Invited,
        arrived: Phase::Joined,
    };

    pub const WORDS: ProgressWords = ProgressWords {
        arrived: "joined",
        settled: Some("placed"),
    };

    /// A management account deletes its organization before it is invited; members need
    /// it enrolled (it deletes the organization they leave).
    pub fn check(enrollment: &Enrollment) -> Result<(), EnrollmentError> {
        if !enrollment.members.is_empty() && enrollment.management_account.is_none() {
            return Err(EnrollmentError::MembersWithoutManagement);
        }
        Ok(())
    }

    pub fn starting_phase(role: Role, member: Phase) -> Phase {
        match role {
            Role::Management => Phase::DeletingOrganization,
            Role::Member => member,
            Role::Standalone => Phase::AwaitingInvitation,
        }
    }
}

impl Journey for DirectJourney {
    fn name(&self) -> &'static str {
        "direct"
    }
    fn starting_phase(&self, role: Role) -> Phase {
        joining::starting_phase(role, Phase::AwaitingInvitation)
    }
    fn member_stands_alone(&self, fell_back: bool) -> bool {
        fell_back
    }
    fn may_fall_back(&self) -> bool {
        true
    }
}

impl Journey for StandaloneJourney {
    fn name(&self) -> &'static str {
        "standalone"
    }
    fn starting_phase(&self, role: Role) -> Phase {
        joining::starting_phase(role, Phase::LeavingOrganization)
    }
    fn member_stands_alone(&self, _: bool) -> bool {
        true
    }
    fn may_fall_back(&self) -> bool {
        false
    }
}

impl Journey for BillingJourney {
    fn name(&self) -> &'static str {
        "billing"
    }
    fn phases(&self) -> &'static [Phase] {
        &[
            Phase::AwaitingTransfer,
            Phase::TransferInvited,
            Phase::Transferred,
        ]
    }
    fn offer_phases(&self) -> OfferPhases {
        OfferPhases {
            awaiting: Phase::AwaitingTransfer,
            offered: Phase::TransferInvited,
            arrived: Phase::Transferred,
        }
    }
    fn offer(&self) -> Offer {
        Offer::TransferBilling
    }
    /// Its management account awaits the invitation to transfer its bill.
    fn starting_phase(&self, _: Role) -> Phase {
        Phase::AwaitingTransfer
    }
    /// Its organization, members included, stays as it is: only the bill moves.
    fn moves_account(&self) -> bool {
        false
    }
    fn member_stands_alone(&self, _: bool) -> bool {
        false
    }
    fn may_fall_back(&self) -> bool {
        false
    }
    /// One management account, and nothing to place (no account moves).
    fn check(&self, enrollment: &Enrollment) -> Result<(), EnrollmentError> {
        if enrollment.management_account.is_none()
            || !enrollment.members.is_empty()
            || !enrollment.standalone_accounts.is_empty()
        {
            return Err(EnrollmentError::BillingTakesOneManagementAccount);
        }
        if enrollment.placement.ou.is_some() || !enrollment.placement.tags.is_empty() {
            return Err(EnrollmentError::BillingHasNoPlacement);
        }
        Ok(())
    }
    fn arrival_proof(&self) -> ArrivalProof {
        ArrivalProof::BillingTransfer
    }
    fn arrival(&self, record: &OnboardingRecord) -> Notification {
        let terms = record.billing().cloned().unwrap_or_default();
        Notification::BillingTransferred {
            transfer: terms.transfer.unwrap_or_default(),
            starts_at: terms.starts_at,
        }
    }
    fn words(&self) -> ProgressWords {
        ProgressWords {
            arrived: "billing transferred",
            settled: None,
        }
    }
}

impl std::fmt::Debug for dyn Journey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TransferMode;

    #[test]
    fn each_journey_starts_and_ends_in_its_own_phases() {
        for mode in [
            TransferMode::Direct,
            TransferMode::Standalone,
            TransferMode::billing(),
        ] {
            let journey = mode.journey();
            assert_eq!(journey.name(), mode.as_str());
            let phases = journey.offer_phases();
            for phase in [phases.awaiting, phases.offered, phases.arrived] {
                assert!(journey.phases().contains(&phase), "{mode}: {phase}");
            }
            for role in [Role::Management, Role::Member, Role::Standalone] {
                let start = journey.starting_phase(role);
                assert!(journey.phases().contains(&start), "{mode}: {start}");
            }
            assert!(phases.arrived.is_terminal());
        }
    }

    #[test]
    fn progress_is_told_in_the_journey_s_words() {
        assert_eq!(DIRECT.words().progress(0, 4, 0), "0 of 4 joined, 0 placed");
        assert_eq!(
            STANDALONE.words().progress(3, 5, 2),
            "3 of 5 joined, 2 placed"
        );
        assert_eq!(
            BILLING.words().progress(1, 1, 0),
            "1 of 1 billing transferred"
        );
    }
}
