//! [`Lazy`]: a port whose adapter is built on its first call. A function's cold start then
//! builds only the clients its first event needs: the tracker's Organizations client (the
//! proof that an account joined, a few events in an account's life) waits until an event
//! asks for it, as a minimal Lambda would not build it at all.
//!
//! Building an SDK client cannot fail and is cheap but not free (its configuration is
//! validated, its runtime plugins assembled); what matters more is that a function does
//! at init no work its first event may not need.

use std::sync::OnceLock;

use async_trait::async_trait;

use crate::domain::billing::ObservedTransfer;
use crate::domain::{AccountId, OnboardingRecord};
use crate::ports::{Membership, OrganizationsError, TargetDirectory};

/// `T`, built by `build` on first use and kept for the process's life.
pub struct Lazy<T> {
    cell: OnceLock<T>,
    build: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T> Lazy<T> {
    pub fn new(build: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self {
            cell: OnceLock::new(),
            build: Box::new(build),
        }
    }

    /// The adapter, built now if this is its first use.
    pub fn get(&self) -> &T {
        self.cell.get_or_init(|| (self.build)())
    }

    /// Whether the adapter has been built (tests).
    pub fn is_built(&self) -> bool {
        self.cell.get().is_some()
    }
}

#[async_trait]
impl<T: TargetDirectory> TargetDirectory for Lazy<T> {
    async fn is_member(&self, account: &AccountId) -> Result<bool, OrganizationsError> {
        self.get().is_member(account).await
    }
    async fn own_organization(&self) -> Result<Option<Membership>, OrganizationsError> {
        self.get().own_organization().await
    }
    async fn transfer_proving(
        &self,
        record: &OnboardingRecord,
    ) -> Result<Option<ObservedTransfer>, OrganizationsError> {
        self.get().transfer_proving(record).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    /// A directory in which no account is a member.
    struct Empty;

    #[async_trait]
    impl TargetDirectory for Empty {
        async fn is_member(&self, _: &AccountId) -> Result<bool, OrganizationsError> {
            Ok(false)
        }
        async fn own_organization(&self) -> Result<Option<Membership>, OrganizationsError> {
            Ok(None)
        }
        async fn transfer_proving(
            &self,
            _: &OnboardingRecord,
        ) -> Result<Option<ObservedTransfer>, OrganizationsError> {
            Ok(None)
        }
    }

    #[tokio::test]
    async fn the_adapter_is_built_on_first_use_and_only_once() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let lazy = Lazy::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Empty
        });
        assert!(!lazy.is_built());
        assert_eq!(builds.load(Ordering::SeqCst), 0);
        let account = AccountId::parse("222222222222").unwrap();
        assert!(!lazy.is_member(&account).await.unwrap());
        assert!(!lazy.is_member(&account).await.unwrap());
        assert!(lazy.is_built());
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }
}
