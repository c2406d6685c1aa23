//! The feeds over an in-process store: series reach the evaluator before the store has sent
//! them all, decoding stays a bounded distance ahead of the reader, failures keep their status,
//! and dropping the feeds stops the fetches.

use std::sync::Arc;
use std::time::Duration;

use shared::labels::{Labels, Matcher};

use super::*;
use crate::chunkenc::XorAppender;
use crate::query::memstore::{Behaviour, MemStore, sidecar_info};
use crate::storeapi::{AggrChunk, Chunk, ChunkEncoding, Series, StoreError};

/// Samples per series: every 15s over 10m.
const SAMPLES: usize = 41;

/// `m{i="NNNN"}` for `i` in `0..count`, each with [`SAMPLES`] samples.
fn store(count: usize, behaviour: Behaviour) -> Arc<dyn Store> {
    let series = (0..count)
        .map(|i| {
            let mut appender = XorAppender::new();
            for j in 0..SAMPLES {
                let t = i64::try_from(j).expect("small") * 15_000;
                appender.append(t, i as f64).expect("in-order samples");
            }
            let chunk = Chunk {
                encoding: ChunkEncoding::Xor,
                data: appender.to_bytes(),
                hash: 0,
            };
            Series {
                labels: labels(i),
                chunks: vec![AggrChunk::raw(0, 600_000, chunk)],
            }
        })
        .collect();
    let info = sidecar_info(&[], 0, 1_000_000);
    Arc::new(MemStore::new(info, series).with_behaviour(behaviour))
}

fn labels(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "m".to_owned()), ("i", format!("{i:04}"))])
}

fn selection() -> Selection {
    Selection {
        matchers: vec![Matcher::equal("__name__", "m")],
        hints: SelectHints {
            start_ms: 0,
            end_ms: 600_000,
            ..SelectHints::default()
        },
    }
}

fn context(store: Arc<dyn Store>, max_samples: u64) -> FetchContext {
    FetchContext {
        store,
        replica_labels: Vec::new(),
        partial_response: PartialResponse::Abort,
        budget: Arc::new(SampleBudget::new(max_samples)),
    }
}

/// Runs `f` on the blocking pool, as the evaluator runs.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("no panic")
}

#[tokio::test]
async fn series_reach_the_evaluator_while_the_store_is_still_sending() {
    // The store sends 10 of its 100 series and then nothing, ever: fetching everything before
    // evaluating would never start evaluating.
    let context = context(store(100, Behaviour::HangAfter(10)), u64::MAX);
    let (feeds, _fetching) = Feeds::start(vec![selection()], &context);
    let feeds = Arc::new(feeds);
    let reader = Arc::clone(&feeds);
    let first = blocking(move || {
        let mut set = reader.select(&selection().matchers, selection().hints);
        let series = set.next().expect("a series").expect("no error");
        (series.labels, series.samples.count())
    });
    let first = tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .expect("the first series arrives although the store has not finished");
    assert_eq!(first, (labels(0), SAMPLES));
}

#[tokio::test]
async fn decoding_stays_a_bounded_number_of_series_ahead_of_the_evaluator() {
    const SERIES: usize = 1_000;
    let context = context(store(SERIES, Behaviour::Normal), u64::MAX);
    let budget = Arc::clone(&context.budget);
    let (feeds, _fetching) = Feeds::start(vec![selection()], &context);
    let feeds = Arc::new(feeds);
    // However long the evaluator takes to start, the decoder stops when the channel is full.
    let per_series = u64::try_from(SAMPLES).expect("small");
    let ahead = u64::try_from(SERIES_AHEAD + 1).expect("small") * per_series;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while budget.loaded() < ahead && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        budget.loaded(),
        ahead,
        "decoded: the channel's worth and one waiting"
    );
    // Reading series by series, the decoded samples not yet read stay within that bound.
    let reader = Arc::clone(&feeds);
    let reading_budget = Arc::clone(&budget);
    let (read, most_ahead) = blocking(move || {
        let mut read = 0u64;
        let mut most_ahead = 0u64;
        for series in reader.select(&selection().matchers, selection().hints) {
            let series = series.expect("no error");
            read += u64::try_from(series.samples.count()).expect("small");
            let loaded = reading_budget.loaded();
            most_ahead = most_ahead.max(loaded - read);
        }
        (read, most_ahead)
    })
    .await;
    assert_eq!(read, u64::try_from(SERIES).expect("small") * per_series);
    assert_eq!(budget.loaded(), read, "everything decoded once");
    assert!(most_ahead <= ahead, "{most_ahead} samples decoded ahead");
    feeds.drain().await;
    assert!(feeds.take_failure().is_none());
}

#[tokio::test]
async fn a_store_failure_mid_stream_reaches_the_evaluator_and_keeps_its_class() {
    let error = StoreError::Aborted("store down".into());
    let context = context(store(20, Behaviour::FailAfter(5, error.clone())), u64::MAX);
    let (feeds, _fetching) = Feeds::start(vec![selection()], &context);
    let feeds = Arc::new(feeds);
    let reader = Arc::clone(&feeds);
    let read = blocking(move || {
        reader
            .select(&selection().matchers, selection().hints)
            .map(|s| s.map(|s| s.labels))
            .collect::<Vec<_>>()
    })
    .await;
    assert_eq!(read.len(), 6, "five series, then the error");
    assert_eq!(read[4], Ok(labels(4)));
    assert_eq!(read[5], Err(StorageError::Source(error.to_string())));
    assert_eq!(feeds.take_failure(), Some(ApiError::Store(error)));
}

#[tokio::test]
async fn the_sample_limit_is_reached_while_streaming() {
    // Room for two series and a half.
    let limit = u64::try_from(SAMPLES * 5 / 2).expect("small");
    let context = context(store(10, Behaviour::Normal), limit);
    let (feeds, _fetching) = Feeds::start(vec![selection()], &context);
    let feeds = Arc::new(feeds);
    let reader = Arc::clone(&feeds);
    let read = blocking(move || {
        reader
            .select(&selection().matchers, selection().hints)
            .map(|s| s.map(|s| s.labels))
            .collect::<Vec<_>>()
    })
    .await;
    assert_eq!(read.len(), 3, "two series, then the error: {read:?}");
    let Some(ApiError::Execution(message)) = feeds.take_failure() else {
        panic!("an execution error")
    };
    assert_eq!(
        message,
        "query processing would load too many samples into memory in query execution"
    );
}

#[tokio::test]
async fn a_selection_read_twice_is_shared_and_one_read_never_is_drained() {
    let context = context(store(3, Behaviour::Normal), u64::MAX);
    let other = Selection {
        matchers: vec![Matcher::equal("i", "0001")],
        ..selection()
    };
    let plan = vec![selection(), other, selection()];
    let (feeds, _fetching) = Feeds::start(plan, &context);
    let feeds = Arc::new(feeds);
    let reader = Arc::clone(&feeds);
    let (first, second) = blocking(move || {
        let read = |set: SeriesSet| {
            set.map(|s| s.map(|s| (s.labels, s.samples.count())))
                .collect::<Result<Vec<_>, _>>()
                .expect("no error")
        };
        let a = reader.select(&selection().matchers, selection().hints);
        let b = reader.select(&selection().matchers, selection().hints);
        let third = reader.select(&selection().matchers, selection().hints);
        assert!(third.collect::<Vec<_>>()[0].is_err(), "planned twice only");
        (read(a), read(b))
    })
    .await;
    assert_eq!(first.len(), 3);
    assert_eq!(first, second, "both readers see every series");
    feeds.drain().await;
    assert_eq!(
        context.budget.loaded(),
        4 * u64::try_from(SAMPLES).expect("small"),
        "the unread selection was fetched too"
    );
}

#[tokio::test]
async fn dropping_the_feeds_stops_the_fetches() {
    // A store that never finishes: only the evaluator going away can end its reader.
    let context = context(store(100, Behaviour::HangAfter(50)), u64::MAX);
    let (feeds, fetching) = Feeds::start(vec![selection()], &context);
    let Fetching { _tasks: mut tasks } = fetching;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(tasks.len(), 2, "a reader and a decoder");
    drop(feeds);
    let stopped = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(joined) = tasks.join_next().await {
            joined.expect("ended on its own, not aborted");
        }
    })
    .await;
    assert!(stopped.is_ok(), "the fetch tasks stopped");
}
