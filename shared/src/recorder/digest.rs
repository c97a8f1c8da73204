//! The run's digests ([`crate::notifications::digest`]): what each committed transition
//! told that is e-mailed once per enrollment and run, kept until the function publishes it
//! at the end of its run. Bounded: per enrollment, counts and the first few names.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::Utc;
use tracing::info;

use super::{ObservationRecorder, RecordError, RecorderStore};
use crate::domain::{EnrollmentName, FunctionName, Notification, OnboardingRecord};
use crate::notifications::Digest;
use crate::ports::Notifier;

/// The digests of the run under way, by enrollment.
#[derive(Default)]
pub(super) struct DigestBook(Mutex<BTreeMap<EnrollmentName, Digest>>);

impl DigestBook {
    /// Notes what a committed transition of `record` told.
    pub(super) fn note(&self, record: &OnboardingRecord, notifications: &[Notification]) {
        let mut book = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let digest = book.entry(record.enrollment.clone()).or_default();
        digest.note(record, notifications);
        if digest.is_empty() {
            book.remove(&record.enrollment);
        }
    }

    fn take(&self) -> BTreeMap<EnrollmentName, Digest> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<S: RecorderStore, N: Notifier> ObservationRecorder<S, N> {
    /// Publishes the digest of each enrollment this run told something e-mailed about
    /// (accounts that began waiting, unexpected invitations), once, through the
    /// enrollment's outbox. A function calls it at the end of each run; the number of
    /// digests published is returned.
    pub async fn publish_digests(&self, by: FunctionName) -> Result<usize, RecordError> {
        let digests = self.digests.take();
        let count = digests.len();
        for (enrollment, digest) in digests {
            let notification = digest.into_notification(&enrollment, by, Utc::now());
            let marker = notification.id.clone();
            self.announce_once(&enrollment, &marker, notification)
                .await?;
            info!(%enrollment, function = %by, "digest published");
        }
        Ok(count)
    }
}
