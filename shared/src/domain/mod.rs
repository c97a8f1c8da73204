//! The pure onboarding domain: identifiers, phases, blockers, records and the transition
//! function. No I/O, no async, no SDK types: everything here is tested without AWS.

pub mod billing;
pub mod blocker;
pub mod counts;
pub mod error_code;
pub mod event;
pub mod function;
pub mod handshake;
pub mod ids;
pub mod journey;
pub mod observation;
pub mod org_trust;
pub mod origin;
pub mod phase;
pub mod placement;
pub mod policy;
pub mod preflight;
pub mod quota;
pub mod reconcile;
pub mod record;
pub mod transition;

pub use blocker::{classify, AwsFailure, Blocker, BlockerCode, FailureClass, Step};
pub use counts::{CountChange, Counter, EnrollmentCounts};
pub use event::{Closure, DomainEvent, EventKind, Operation, Problem};
pub use function::FunctionName;
pub use handshake::{HandshakeAction, HandshakeParty, HandshakeState, PartyKind};
pub use ids::{
    handshake_arn_parts, AccountId, EnrollmentName, HandshakeId, InvalidId, OrganizationId, RootId,
};
pub use journey::{ArrivalProof, Journey, OfferPhases, ProgressWords};
pub use observation::{Observation, ObservationKey};
pub use org_trust::{conditions_naming, OrganizationCondition};
pub use origin::may_change;
pub use phase::{Phase, Role, TransferMode};
pub use placement::{
    asks_ou_or_tags, awaits_placement, joined_through_onboarding, missing_tags, parse_tag,
    wanted_tags, OuRef, Placed, PlacementError,
};
pub use policy::{
    judge, judge_offer, verify, verify_offer, ObservedHandshake, Offer, Refusal, Verdict,
};
pub use preflight::{assess, AccountFacts, PreflightReport, PreflightSummary};
pub use quota::{
    plan as plan_invitations, InvitationLimits, InvitationPlan, Waiting, WaitingReason,
};
pub use reconcile::{
    corrections, needs_account_read, unclaimed_membership, Deadlines, OldOrganization, RealState,
};
pub use record::{
    AccountPlacement, ClearedBlocker, CurrentHandshake, Enrollment, EnrollmentError, Fallback,
    HistoryEntry, OnboardingRecord, Placement, Target,
};
pub use transition::{apply, FollowUp, Notification, Transition};
