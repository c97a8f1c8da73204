//! Ports: what the handlers need from the outside world, named by what they do.
//! Adapters (named by technology) live in [`crate::adapters`].

mod notifier;
mod organizations;
mod placement;
mod preflight;
mod store;
mod upgrade;

pub use notifier::{Notifier, NotifyError, OutgoingNotification, SOURCE};
pub use organizations::{
    AccountOrganizations, BillingTransfers, Credentials, Membership, OrganizationsError,
    TargetDirectory, TargetOrganization,
};
pub use placement::{OrganizationTree, OrganizationalUnit, TargetAccess};
pub use preflight::AccountInspector;
pub use store::{
    AccountRange, Commit, CountGuard, CountReader, CreateOutcome, OutboxClaim, OutboxItem,
    OutboxScope, OutboxStore, RecordCreator, RecordPage, RecordReader, RecordStore, Settling,
    StoreError, SweepCursors, SweepSource, TransitionCommitter, Unreadable, OUTBOX_LEASE,
    RETRY_LEASE,
};
pub use upgrade::{StoredDataUpgrade, UpgradeReport};
