//! Feeding the evaluator: one fetch per distinct selection of a query, running on the runtime
//! while the evaluator runs on the blocking pool, and the [`Queryable`] the evaluator reads
//! them through ([`Feeds`]).
//!
//! Each selection has two tasks (`fetch`):
//! - a reader, which asks the store (the proxy) for the selection's series and reads its
//!   frames as fast as they come, compressed as they are, into an unbounded queue. At most
//!   [`MAX_CONCURRENT_SELECTS`] readers are reading at once; a reader never waits for the
//!   evaluator, so it always finishes and passes its slot on.
//! - a decoder, which takes one series at a time from that queue, merges its replicas with the
//!   penalty algorithm (as counters when the selection sits directly under `rate`, `increase`,
//!   `irate` or `resets`, else as gauges; THANOS.md §2 "Counters"), counts its samples against
//!   the query's [`SampleBudget`], and sends it to the evaluator through a channel bounded to
//!   [`SERIES_AHEAD`] series. When the evaluator is busy elsewhere, the decoder waits.
//!
//! Why the bound sits between decoder and evaluator, and counts series: the proxy's
//! `--store.response-timeout` measures how long a store takes to produce its next frame, not
//! how long the proxy's own channels stay full (`query/proxy/fanout.rs` times only the store's
//! `next()`, never its send to the merge), so a reader that stopped reading would not by
//! itself fail a store. But the Series streams to one endpoint share one HTTP/2 connection
//! (one tonic channel per endpoint, `storeapi/client.rs`) and its flow-control window: streams
//! left unread while the evaluator reads another selection would fill that window and starve
//! the very selection the evaluator waits for, until the store or the query times out. So the
//! stores are always read to the end, and what waits for the evaluator is the compressed
//! frames (a sample is a byte or two there, 24 bytes once decoded) plus at most
//! [`SERIES_AHEAD`] decoded series per selection. The bound counts series because the
//! evaluator consumes whole series and a series is what the decoder produces; a few dozen keep
//! the decoder ahead of the evaluator.
//!
//! A selection read by one selector is streamed: the evaluator pulls its series from the
//! channel (`blocking_recv`) and never holds more than it keeps itself. A selection read by
//! several selectors is received once in full and shared: every reader but the last gets a
//! copy, the last takes it.
//!
//! A failure (a store error, undecodable chunks, the sample limit) is recorded once per query
//! as the [`ApiError`] the querier returns and reaches the evaluator as a [`StorageError`] in
//! place of the next series. A channel that closes without its end marker means the fetch was
//! stopped (the query timed out or was dropped). Dropping a selection's receiver stops its
//! decoder, whose queue's closing stops its reader, which drops the store's stream. Knows
//! nothing of PromQL beyond [`Queryable`].

mod fetch;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use shared::labels::{Labels, Matcher};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::api::ApiError;
use crate::promql::storage::{
    Point, Queryable, SelectHints, Selection, SeriesSet, StorageError, StorageSeries,
};
use crate::query::sample_limit::SampleBudget;
use crate::storeapi::{PartialResponse, Store};
use fetch::Common;

/// How many selections of one query are read from the stores at once (Thanos's
/// `--query.max-concurrent-select` default).
pub(super) const MAX_CONCURRENT_SELECTS: usize = 4;

/// Decoded series a selection's decoder may have sent ahead of the evaluator.
pub(super) const SERIES_AHEAD: usize = 32;

/// One decoded series as the evaluator receives it.
type Decoded = (Labels, Vec<Point>);

/// What a decoder sends the evaluator.
enum Fed {
    /// The next series, in label order.
    Series(Decoded),
    /// The selection failed; nothing follows.
    Failed(StorageError),
    /// The selection is complete.
    End,
}

/// What a query's fetches share: the first failure, as the querier will return it.
#[derive(Default)]
struct Failure(Mutex<Option<ApiError>>);

impl Failure {
    /// Records `error` unless one is recorded; returns what the evaluator is told.
    fn record(&self, error: ApiError) -> StorageError {
        let told = StorageError::Source(error.to_string());
        lock(&self.0).get_or_insert(error);
        told
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One distinct selection being fetched.
struct Feed {
    selection: Selection,
    /// How many of the engine's selects this selection answers.
    uses: usize,
    /// The decoder's channel; `None` once a shared selection was received in full.
    receiver: Mutex<Option<mpsc::Receiver<Fed>>>,
    /// Whether the end marker was received (the selection is complete).
    ended: AtomicBool,
    /// The stores' warnings, complete once the end marker is received.
    warnings: Arc<Mutex<Vec<String>>>,
    /// For a shared selection: how its readers take it.
    shared: Mutex<Shared>,
}

/// A shared selection's hand-out.
#[derive(Default)]
struct Shared {
    /// Selects answered so far.
    handed: usize,
    /// Received in full (by the first reader that pulled).
    received: Option<Result<Vec<Decoded>, StorageError>>,
    /// Readers that have not pulled yet.
    waiting: usize,
}

impl Feed {
    /// The next message of the selection, waiting for it (on the blocking pool).
    fn next_blocking(&self) -> Fed {
        let mut receiver = lock(&self.receiver);
        let fed = match receiver.as_mut().and_then(mpsc::Receiver::blocking_recv) {
            Some(fed) => fed,
            None => Fed::Failed(stopped()),
        };
        if matches!(fed, Fed::End) {
            self.ended.store(true, Ordering::Relaxed);
        }
        fed
    }

    /// Receives the rest of the selection and drops it (for a selection the evaluation did not
    /// read: its failures and warnings still count).
    async fn drain(&self) {
        if self.ended.load(Ordering::Relaxed) {
            return;
        }
        let Some(mut receiver) = lock(&self.receiver).take() else {
            return;
        };
        while let Some(fed) = receiver.recv().await {
            match fed {
                Fed::Series(_) => {}
                Fed::Failed(_) => return,
                Fed::End => {
                    self.ended.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    /// The whole selection, for one of its `uses` readers: every reader but the last that
    /// pulls gets a copy, the last takes it.
    fn take_shared(&self) -> Result<Vec<Decoded>, StorageError> {
        let mut shared = lock(&self.shared);
        if shared.received.is_none() {
            let mut series = Vec::new();
            let received = loop {
                match self.next_blocking() {
                    Fed::Series(s) => series.push(s),
                    Fed::Failed(e) => break Err(e),
                    Fed::End => break Ok(series),
                }
            };
            shared.received = Some(received);
        }
        shared.waiting = shared.waiting.saturating_sub(1);
        let last = shared.waiting == 0;
        match &mut shared.received {
            Some(Ok(series)) if last => Ok(std::mem::take(series)),
            Some(Ok(series)) => Ok(series.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err(stopped()),
        }
    }
}

/// The error for a selection whose fetch stopped before its end.
fn stopped() -> StorageError {
    StorageError::Source("fetching the selection stopped before its end".into())
}

/// The selections of one query, fetched by tasks the owner of [`Fetching`] keeps running;
/// the evaluator's selects are answered from the selection with the same matchers and hints.
pub(super) struct Feeds {
    feeds: Vec<Arc<Feed>>,
    failure: Arc<Failure>,
}

/// The tasks fetching a query's selections; dropping it stops them.
pub(super) struct Fetching {
    _tasks: JoinSet<()>,
}

/// What every fetch of one query is given.
pub(super) struct FetchContext {
    /// The store (the proxy).
    pub store: Arc<dyn Store>,
    /// Replica labels the store strips (`without_replica_labels`).
    pub replica_labels: Vec<String>,
    /// The partial-response policy.
    pub partial_response: PartialResponse,
    /// The query's sample budget.
    pub budget: Arc<SampleBudget>,
}

impl Feeds {
    /// Starts fetching every distinct selection of `selections`.
    pub(super) fn start(selections: Vec<Selection>, context: &FetchContext) -> (Self, Fetching) {
        let mut distinct: Vec<(Selection, usize)> = Vec::new();
        for selection in selections {
            match distinct.iter_mut().find(|(s, _)| *s == selection) {
                Some((_, uses)) => *uses += 1,
                None => distinct.push((selection, 1)),
            }
        }
        let failure = Arc::new(Failure::default());
        let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_SELECTS));
        let mut tasks = JoinSet::new();
        let feeds = distinct
            .into_iter()
            .map(|(selection, uses)| {
                let (sender, receiver) = mpsc::channel(SERIES_AHEAD);
                let warnings = Arc::new(Mutex::new(Vec::new()));
                let common = Common {
                    failure: &failure,
                    permits: &permits,
                    warnings: &warnings,
                };
                fetch::spawn(&mut tasks, &selection, context, common, sender);
                Arc::new(Feed {
                    selection,
                    uses,
                    receiver: Mutex::new(Some(receiver)),
                    ended: AtomicBool::new(false),
                    warnings,
                    shared: Mutex::new(Shared {
                        waiting: uses,
                        ..Shared::default()
                    }),
                })
            })
            .collect();
        (Self { feeds, failure }, Fetching { _tasks: tasks })
    }

    /// Receives what the evaluation left unread, so that its failures and warnings count as
    /// they did when everything was fetched first.
    pub(super) async fn drain(&self) {
        for feed in &self.feeds {
            feed.drain().await;
        }
    }

    /// The first failure of any fetch, as the querier returns it.
    pub(super) fn take_failure(&self) -> Option<ApiError> {
        lock(&self.failure.0).take()
    }

    /// The stores' warnings, selection by selection.
    pub(super) fn warnings(&self) -> Vec<String> {
        self.feeds
            .iter()
            .flat_map(|f| lock(&f.warnings).clone())
            .collect()
    }
}

impl Queryable for Feeds {
    fn select(&self, matchers: &[Matcher], hints: SelectHints) -> SeriesSet {
        let found = self
            .feeds
            .iter()
            .find(|f| f.selection.matchers == matchers && f.selection.hints == hints);
        let Some(feed) = found else {
            let error = StorageError::Source("selection was not fetched beforehand".into());
            return Box::new(std::iter::once(Err(error)));
        };
        let handed = {
            let mut shared = lock(&feed.shared);
            shared.handed += 1;
            shared.handed
        };
        if handed > feed.uses {
            let error = StorageError::Source("selection selected more often than planned".into());
            return Box::new(std::iter::once(Err(error)));
        }
        let feed = Arc::clone(feed);
        if feed.uses == 1 {
            Box::new(Streamed { feed, done: false })
        } else {
            Box::new(SharedSet { feed, series: None })
        }
    }
}

/// A selection read by one selector: its series as the decoder sends them.
struct Streamed {
    feed: Arc<Feed>,
    done: bool,
}

impl Iterator for Streamed {
    type Item = Result<StorageSeries, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.feed.next_blocking() {
            Fed::Series(series) => Some(Ok(storage_series(series))),
            Fed::Failed(error) => {
                self.done = true;
                Some(Err(error))
            }
            Fed::End => {
                self.done = true;
                None
            }
        }
    }
}

/// A selection read by several selectors: received in full on the first pull, then handed out.
struct SharedSet {
    feed: Arc<Feed>,
    series: Option<VecDeque<Decoded>>,
}

impl Iterator for SharedSet {
    type Item = Result<StorageSeries, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let series = match &mut self.series {
            Some(series) => series,
            None => match self.feed.take_shared() {
                Ok(all) => self.series.insert(VecDeque::from(all)),
                Err(error) => {
                    self.series = Some(VecDeque::new());
                    return Some(Err(error));
                }
            },
        };
        series.pop_front().map(|s| Ok(storage_series(s)))
    }
}

fn storage_series((labels, points): Decoded) -> StorageSeries {
    StorageSeries {
        labels,
        samples: Box::new(points.into_iter()),
    }
}

#[cfg(test)]
mod tests;
