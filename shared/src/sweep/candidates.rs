//! The records a sweep works through, streamed page by page in account order: each source
//! (a phase, or the records awaiting placement) is read a page at a time and the sources
//! merged by account, so memory holds one page per source whatever the table's size.

use std::collections::VecDeque;

use futures_util::{stream, Stream, StreamExt};

use crate::domain::{AccountId, OnboardingRecord};
use crate::ports::{AccountRange, RecordReader, StoreError, SweepSource};

/// What a sweep reads next.
#[derive(Debug, Clone, PartialEq)]
pub enum Candidate {
    Record(Box<OnboardingRecord>),
    /// A stored record that cannot be read: its key, to skip and report.
    Unreadable(String),
}

/// `records` as a sweep's candidates (a list already read, e.g. one enrollment's).
pub fn listed(
    records: Vec<OnboardingRecord>,
) -> impl Stream<Item = Result<Candidate, StoreError>> + Send {
    stream::iter(
        records
            .into_iter()
            .map(|r| Ok(Candidate::Record(Box::new(r)))),
    )
}

/// The records of `sources` in account order: those after `cursor` first, then from the
/// beginning through it. The stream ends after an error.
pub fn in_order<'a, S: RecordReader>(
    store: &'a S,
    sources: &'a [SweepSource],
    cursor: Option<AccountId>,
) -> impl Stream<Item = Result<Candidate, StoreError>> + Send + 'a {
    let laps = match cursor {
        None => vec![AccountRange::All],
        Some(cursor) => vec![
            AccountRange::After(cursor.clone()),
            AccountRange::Through(cursor),
        ],
    };
    stream::iter(laps)
        .map(move |range| lap(store, sources, range))
        .flatten()
        .scan(false, |failed, item| {
            // Nothing after an error: the sweep stops there.
            let next = (!*failed).then(|| {
                *failed = item.is_err();
                item
            });
            std::future::ready(next)
        })
}

/// One lap: `sources` merged by account, within `range`.
fn lap<'a, S: RecordReader>(
    store: &'a S,
    sources: &'a [SweepSource],
    range: AccountRange,
) -> impl Stream<Item = Result<Candidate, StoreError>> + Send + 'a {
    let merge = Merge {
        store,
        range,
        sources: sources.iter().map(|s| Source::new(*s)).collect(),
        unreadable: VecDeque::new(),
        last: None,
    };
    stream::unfold(Some(merge), |merge| async move {
        let mut merge = merge?;
        match merge.next().await {
            Ok(Some(candidate)) => Some((Ok(candidate), Some(merge))),
            Ok(None) => None,
            Err(error) => Some((Err(error), None)),
        }
    })
}

struct Merge<'a, S> {
    store: &'a S,
    range: AccountRange,
    sources: Vec<Source>,
    unreadable: VecDeque<String>,
    /// The account last yielded: a record that changed phase between two sources' pages
    /// is yielded once.
    last: Option<AccountId>,
}

/// One source's page being read, and where its next page starts.
struct Source {
    from: SweepSource,
    page: VecDeque<OnboardingRecord>,
    next: Next,
}

enum Next {
    First,
    After(String),
    Done,
}

impl Source {
    fn new(from: SweepSource) -> Self {
        Self {
            from,
            page: VecDeque::new(),
            next: Next::First,
        }
    }
}

impl<S: RecordReader> Merge<'_, S> {
    async fn next(&mut self) -> Result<Option<Candidate>, StoreError> {
        loop {
            for source in &mut self.sources {
                while source.page.is_empty() {
                    let token = match &source.next {
                        Next::First => None,
                        Next::After(token) => Some(token.as_str()),
                        Next::Done => break,
                    };
                    let page = self
                        .store
                        .sweep_page(source.from, &self.range, token)
                        .await?;
                    source.page.extend(page.records);
                    self.unreadable
                        .extend(page.unreadable.into_iter().map(|u| u.key));
                    source.next = page.next.map_or(Next::Done, Next::After);
                }
            }
            if let Some(key) = self.unreadable.pop_front() {
                return Ok(Some(Candidate::Unreadable(key)));
            }
            let first = self
                .sources
                .iter_mut()
                .filter(|s| !s.page.is_empty())
                .min_by(|a, b| a.page[0].account_id.cmp(&b.page[0].account_id));
            let Some(record) = first.and_then(|s| s.page.pop_front()) else {
                return Ok(None);
            };
            if self.last.as_ref() == Some(&record.account_id) {
                continue;
            }
            self.last = Some(record.account_id.clone());
            return Ok(Some(Candidate::Record(Box::new(record))));
        }
    }
}
