//! The placer: a joined account lands where its enrollment asked. With the hub's own
//! credentials (the target management account), for each joined account not yet placed:
//! 1. **OU**: the enrollment's OU (an id, or a path resolved from the root with
//!    ListRoots and ListOrganizationalUnitsForParent) against the account's parent
//!    (ListParents); MoveAccount only when they differ. An OU that does not exist is the
//!    blocker `OU_NOT_FOUND`.
//! 2. **Tags**: the enrollment's tags and the product's own two against the account's
//!    (ListTagsForResource); TagResource with only those missing or different.
//! 3. **Access**: AssumeRole of the access role in the account; a refusal is the blocker
//!    `ACCESS_ROLE_MISSING`.
//!
//! All three done is `AccountPlaced` (published as `Account Placed`); otherwise every
//! problem found is the record's placement blockers, cleared by the run that finds none.
//! A record whose enrollment asks no OU and no tag gets step 3 alone (no move, no tag
//! call): every account that joined is placed by the placer, whose access check is what
//! `Account Placed` and `Enrollment Completed` promise.
//!
//! Only an account that joined through this onboarding is placed
//! ([`joined_through_onboarding`]: its record names the invitation that brought it in).
//! Any other joined record (one of the target's own accounts, enrolled) is refused with
//! the blocker `NOT_JOINED_THROUGH_ONBOARDING` and never moved or tagged.
//! Each step reads before it writes, so a re-run changes nothing. A placed record is never
//! touched again: an account a person moves or retags afterwards stays as they left it.
//! Every Organizations call is paced ([`crate::pace::PLACE_PER_SECOND`]), and the sweep
//! reads only the joined records not yet placed ([`RecordReader::list_awaiting_placement`](crate::ports::RecordReader::list_awaiting_placement)).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use tracing::{info, warn};

use crate::adapters::organizations::role_arn;
use crate::domain::error_code::{is_one_of, same_code};
use crate::domain::{
    asks_ou_or_tags, classify, joined_through_onboarding, missing_tags, wanted_tags, AccountId,
    AwsFailure, BlockerCode, EventKind, FailureClass, FunctionName, Observation, OnboardingRecord,
    OuRef, Phase, Problem,
};
use crate::pace::{Pacer, PLACE_PER_SECOND};
use crate::ports::{
    Notifier, OrganizationTree, OrganizationsError, SweepCursors, SweepSource, TargetAccess,
};
use crate::recorder::{ObservationRecorder, ObserverError, RecorderStore};
use crate::retry;
use crate::sweep::{resumable, SweepLimits, SweepReport};
use crate::trigger::dispatch;

/// The placer's observations and calls are its own.
const NAME: FunctionName = FunctionName::Placer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacerOutcome {
    /// In its OU (or where it landed, `None`: nothing was asked), tagged, reachable.
    Placed {
        placed_in: Option<String>,
    },
    /// What keeps it from being placed: the record's blockers say what to do.
    Blocked {
        codes: Vec<BlockerCode>,
    },
    /// Placed before: left as it is.
    AlreadyPlaced,
    /// Not joined yet: nothing to place.
    NotJoined {
        phase: Phase,
    },
    NotEnrolled,
}

/// The inviter's and the placer's failures are the same.
pub type PlacerError = ObserverError;

pub struct Placer<S, N, O, A> {
    recorder: ObservationRecorder<S, N>,
    tree: O,
    access: A,
    access_role: Option<String>,
    sweep_limits: SweepLimits,
    /// Every Organizations call of the placer, paced: they share the target management
    /// account's rate with the inviter and the acceptor.
    organizations: Pacer,
}

/// OU paths resolved during one sweep: accounts of one enrollment share their OU, so the
/// path is walked once per sweep, not once per account. Never kept across invocations,
/// so an OU created or renamed meanwhile is seen by the next run.
#[derive(Default)]
struct ResolvedPaths(Mutex<HashMap<Vec<String>, String>>);

/// A step's result: done, or a problem for a person (the call's own transient failures
/// past their retries are errors: the invocation is retried).
type StepResult<T> = Result<Result<T, Problem>, OrganizationsError>;

impl<S, N, O, A> Placer<S, N, O, A>
where
    S: RecorderStore + SweepCursors,
    N: Notifier,
    O: OrganizationTree,
    A: TargetAccess,
{
    /// Access is verified with `OrganizationAccountAccessRole` unless told otherwise
    /// ([`Self::with_access_role`]).
    pub fn new(recorder: impl Into<ObservationRecorder<S, N>>, tree: O, access: A) -> Self {
        Self {
            recorder: recorder.into(),
            tree,
            access,
            access_role: Some(crate::config::DEFAULT_ACCESS_ROLE_NAME.to_owned()),
            sweep_limits: SweepLimits::default(),
            organizations: Pacer::per_second(PLACE_PER_SECOND),
        }
    }

    /// The role to assume in a joined account; `None` verifies no access.
    pub fn with_access_role(mut self, role: Option<String>) -> Self {
        self.access_role = role;
        self
    }

    pub fn with_sweep_limits(mut self, limits: SweepLimits) -> Self {
        self.sweep_limits = limits;
        self
    }

    pub async fn handle_json(
        &self,
        event: &Value,
    ) -> Result<SweepReport<PlacerOutcome>, PlacerError> {
        dispatch(
            event,
            |account| async move { self.place(&account).await },
            || self.sweep(),
        )
        .await
    }

    /// Every joined account not yet placed, within the sweep's limits, resuming after the
    /// last sweep's stop.
    pub async fn sweep(&self) -> Result<SweepReport<PlacerOutcome>, PlacerError> {
        let store = self.recorder.store();
        let paths = &ResolvedPaths::default();
        let report = resumable(
            store,
            NAME,
            self.sweep_limits,
            &[SweepSource::AwaitingPlacement],
            |_| true,
            |record| async move { self.place_record(record, paths).await },
        )
        .await?;
        Ok(report)
    }

    /// One account, as `Account Joined` or `onboardctl invoke placer --account` asks.
    #[tracing::instrument(skip(self), fields(account_id = %account))]
    pub async fn place(&self, account: &AccountId) -> Result<PlacerOutcome, PlacerError> {
        let store = self.recorder.store();
        let Some(record) = store.load(account).await? else {
            return Ok(PlacerOutcome::NotEnrolled);
        };
        self.place_record(record, &ResolvedPaths::default()).await
    }

    async fn place_record(
        &self,
        record: OnboardingRecord,
        paths: &ResolvedPaths,
    ) -> Result<PlacerOutcome, PlacerError> {
        if record.placed.is_some() {
            return Ok(PlacerOutcome::AlreadyPlaced);
        }
        if record.phase != Phase::Joined {
            return Ok(PlacerOutcome::NotJoined {
                phase: record.phase,
            });
        }
        let account = &record.account_id;
        let mut problems = Vec::new();
        if !joined_through_onboarding(&record) {
            warn!(account_id = %account, "joined, but not through this onboarding: never moved or tagged");
            problems.push(not_ours(account));
            return self.blocked(account, problems).await;
        }
        let mut placed_in = None;
        if asks_ou_or_tags(&record) {
            match self.move_into_ou(&record, paths).await? {
                Ok(parent) => placed_in = Some(parent),
                Err(problem) => problems.push(problem),
            }
            if let Err(problem) = self.apply_missing_tags(&record).await? {
                problems.push(problem);
            }
        }
        if let Err(problem) = self.verify_access(account).await? {
            problems.push(problem);
        }
        if problems.is_empty() {
            return self
                .placed(account, placed_in, self.access_role.clone())
                .await;
        }
        self.blocked(account, problems).await
    }

    /// The problems that keep the account from being placed, as its placement blockers.
    async fn blocked(
        &self,
        account: &AccountId,
        problems: Vec<Problem>,
    ) -> Result<PlacerOutcome, PlacerError> {
        let codes = problems.iter().map(|p| p.code).collect();
        warn!(account_id = %account, ?codes, "the account cannot be placed yet");
        let kind = EventKind::PlacementBlocked { problems };
        self.recorder
            .observe(Observation::sighting(NAME, "blocked", account, kind))
            .await?;
        Ok(PlacerOutcome::Blocked { codes })
    }

    async fn placed(
        &self,
        account: &AccountId,
        placed_in: Option<String>,
        access_role: Option<String>,
    ) -> Result<PlacerOutcome, PlacerError> {
        info!(account_id = %account, ?placed_in, "placed");
        let kind = EventKind::AccountPlaced {
            placed_in: placed_in.clone(),
            access_role,
        };
        self.recorder
            .observe(Observation::once(NAME, "placed", account, account, kind))
            .await?;
        Ok(PlacerOutcome::Placed { placed_in })
    }

    /// The account in the enrollment's OU (moved only when it is elsewhere): the id of
    /// the root or OU it is in. Without an OU asked, where it landed.
    async fn move_into_ou(
        &self,
        record: &OnboardingRecord,
        paths: &ResolvedPaths,
    ) -> StepResult<String> {
        let account = &record.account_id;
        let parent = self
            .organizations
            .call(retry::attempts(NAME), || self.tree.parent_of(account))
            .await;
        let parent = match parent {
            Ok(parent) => parent,
            Err(error) => return refused(error),
        };
        let Some(ou) = &record.ou else {
            return Ok(Ok(parent));
        };
        let wanted = match self.resolve(ou, paths).await? {
            Ok(wanted) => wanted,
            Err(problem) => return Ok(Err(problem)),
        };
        self.move_from(account, ou, parent, &wanted).await
    }

    /// MoveAccount from `parent` to `wanted`. Another run (the `Account Joined` trigger and
    /// a sweep at once) may move it first: AWS then says the source is wrong, or that the
    /// account is already there, and the parent is read again, once.
    async fn move_from(
        &self,
        account: &AccountId,
        ou: &OuRef,
        mut parent: String,
        wanted: &str,
    ) -> StepResult<String> {
        let mut read_again = false;
        loop {
            if parent == wanted {
                return Ok(Ok(parent));
            }
            let moved = self.organizations.call(retry::attempts(NAME), || {
                self.tree.move_account(account, &parent, wanted)
            });
            match moved.await {
                Ok(()) => return Ok(Ok(wanted.to_owned())),
                Err(error) if same_code(error.code(), "DestinationParentNotFoundException") => {
                    return Ok(Err(ou_not_found(ou, &error.failure.message)))
                }
                Err(error)
                    if !read_again
                        && is_one_of(
                            error.code(),
                            &["SourceParentNotFoundException", "DuplicateAccountException"],
                        ) =>
                {
                    read_again = true;
                    parent = match self
                        .organizations
                        .call(retry::attempts(NAME), || self.tree.parent_of(account))
                        .await
                    {
                        Ok(parent) => parent,
                        Err(error) => return refused(error),
                    };
                }
                Err(error) => return refused(error),
            }
        }
    }

    /// The OU's id: as given, or found by walking its path from the root.
    async fn resolve(&self, ou: &OuRef, paths: &ResolvedPaths) -> StepResult<String> {
        let names = match ou {
            OuRef::Id(id) => return Ok(Ok(id.clone())),
            OuRef::Path(names) => names,
        };
        if let Some(id) = paths.0.lock().unwrap_or_else(|e| e.into_inner()).get(names) {
            return Ok(Ok(id.clone()));
        }
        let mut parent = match self
            .organizations
            .call(retry::attempts(NAME), || self.tree.root_id())
            .await
        {
            Ok(root) => root,
            Err(error) => return refused(error),
        };
        for name in names {
            let units = match self
                .organizations
                .call(retry::attempts(NAME), || self.tree.child_units(&parent))
                .await
            {
                Ok(units) => units,
                Err(error) => return refused(error),
            };
            match units.into_iter().find(|unit| &unit.name == name) {
                Some(unit) => parent = unit.id,
                None => {
                    let why = format!("no OU named {name:?} under {parent}");
                    return Ok(Err(ou_not_found(ou, &why)));
                }
            }
        }
        let mut resolved = paths.0.lock().unwrap_or_else(|e| e.into_inner());
        resolved.insert(names.clone(), parent.clone());
        Ok(Ok(parent))
    }

    /// Tags the account with what it lacks of its wanted tags.
    async fn apply_missing_tags(&self, record: &OnboardingRecord) -> StepResult<()> {
        let account = &record.account_id;
        let present = match self
            .organizations
            .call(retry::attempts(NAME), || self.tree.tags_of(account))
            .await
        {
            Ok(present) => present,
            Err(error) => return refused(error),
        };
        let missing = missing_tags(&wanted_tags(record), &present);
        if missing.is_empty() {
            return Ok(Ok(()));
        }
        match self
            .organizations
            .call(retry::attempts(NAME), || self.tree.tag(account, &missing))
            .await
        {
            Ok(()) => Ok(Ok(())),
            Err(error) => refused(error),
        }
    }

    /// The target can assume the access role in the account.
    async fn verify_access(&self, account: &AccountId) -> StepResult<()> {
        let Some(role) = &self.access_role else {
            return Ok(Ok(()));
        };
        match retry::transient(retry::attempts(NAME), || self.access.verify(account, role)).await {
            Ok(()) => Ok(Ok(())),
            Err(error) if error.transient => Err(error),
            Err(error) => {
                let message = format!(
                    "cannot assume {}: {}",
                    role_arn(account, role),
                    error.failure.message
                );
                Ok(Err(Problem {
                    code: BlockerCode::AccessRoleMissing,
                    failure: AwsFailure::new(error.failure.code, None, message),
                }))
            }
        }
    }
}

/// A call the placer makes, refused for good (an SCP, a missing permission), is a problem
/// for a person; a transient failure past its retries fails the run.
fn refused<T>(error: OrganizationsError) -> StepResult<T> {
    if error.transient {
        return Err(error);
    }
    let code = match classify(&error.failure) {
        FailureClass::Blocker(code) => code,
        _ => BlockerCode::UnknownError,
    };
    Ok(Err(Problem {
        code,
        failure: error.failure,
    }))
}

/// A joined record without the invitation that brought it in: not ours to move or tag.
fn not_ours(account: &AccountId) -> Problem {
    Problem {
        code: BlockerCode::NotJoinedThroughOnboarding,
        failure: AwsFailure::new(
            "NotJoinedThroughOnboarding",
            None,
            format!("{account} is in the target organization, but its record names no invitation of this onboarding that brought it in"),
        ),
    }
}

fn ou_not_found(ou: &OuRef, why: &str) -> Problem {
    Problem {
        code: BlockerCode::OuNotFound,
        failure: AwsFailure::new(
            "OrganizationalUnitNotFound",
            None,
            format!("OU {ou} of the enrollment: {why}"),
        ),
    }
}
