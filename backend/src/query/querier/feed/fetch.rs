//! The two tasks that fetch one selection: the reader, which drains the store's stream into an
//! unbounded queue of compressed frames, and the decoder, which deduplicates one series at a
//! time and sends it to the evaluator through the bounded channel (see `feed` for why the
//! bound sits there). Knows nothing of the evaluator beyond the messages it is sent.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use shared::labels::Labels;
use shared::series::TimeRange;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::{Decoded, Failure, Fed, FetchContext, lock};
use crate::api::ApiError;
use crate::promql::storage::{SelectHints, Selection};
use crate::query::dedup::ValueKind;
use crate::query::querier::{decode, query_hints};
use crate::query::sample_limit::SampleBudget;
use crate::storeapi::{Series, SeriesFrame, SeriesRequest, Store};

/// What a reader passes its decoder.
enum Read {
    /// A frame, as the store sent it.
    Frame(SeriesFrame),
    /// The store failed; nothing follows.
    Failed(ApiError),
    /// The store's stream ended.
    End,
}

/// What the fetches of one query share.
pub(super) struct Common<'a> {
    /// Where the first failure is recorded.
    pub failure: &'a Arc<Failure>,
    /// The readers' slots ([`super::MAX_CONCURRENT_SELECTS`]).
    pub permits: &'a Arc<Semaphore>,
    /// Where this selection's warnings go.
    pub warnings: &'a Arc<Mutex<Vec<String>>>,
}

/// Starts the reader and the decoder of `selection` on `tasks`; the decoder sends to `fed`.
pub(super) fn spawn(
    tasks: &mut JoinSet<()>,
    selection: &Selection,
    context: &FetchContext,
    common: Common<'_>,
    fed: mpsc::Sender<Fed>,
) {
    let (raw_sender, raw) = mpsc::unbounded_channel();
    let hints = &selection.hints;
    let range = TimeRange::new(hints.start_ms, hints.end_ms);
    match range {
        Some(range) => {
            tasks.spawn(read(
                store_request(selection, range, context),
                Arc::clone(&context.store),
                Arc::clone(common.permits),
                raw_sender,
            ));
        }
        None => {
            let error = ApiError::Internal("selection ends before it starts".into());
            // The decoder holds the receiver: the send cannot fail.
            let _ = raw_sender.send(Read::Failed(error));
        }
    }
    let decoder = Decoder {
        range: range.unwrap_or(TimeRange::ALL),
        kind: value_kind(hints),
        budget: Arc::clone(&context.budget),
        failure: Arc::clone(common.failure),
        warnings: Arc::clone(common.warnings),
    };
    tasks.spawn(decoder.run(raw, fed));
}

/// How a selection's series are deduplicated: as counters directly under the functions that
/// read counters, else as gauges (THANOS.md §2 "Counters").
fn value_kind(hints: &SelectHints) -> ValueKind {
    match hints.func {
        Some("rate" | "increase" | "irate" | "resets") => ValueKind::Counter,
        _ => ValueKind::Gauge,
    }
}

/// The Series request for a selection, with its hints as Thanos's querier sends them
/// (thanos pkg/query/querier.go `storeHintsFromPromHints`), the replica labels to strip and
/// the partial-response policy.
fn store_request(selection: &Selection, range: TimeRange, context: &FetchContext) -> SeriesRequest {
    let mut request = SeriesRequest::new(range, selection.matchers.clone());
    request.without_replica_labels = context.replica_labels.clone();
    request.partial_response = context.partial_response;
    request.query_hints = Some(query_hints(&selection.hints));
    request
}

/// Reads one selection's frames from the store into `raw` until the stream ends, fails, or
/// the decoder goes away (which drops the store's stream at once, even while the store is
/// silent); reads under one of `permits`.
async fn read(
    request: SeriesRequest,
    store: Arc<dyn Store>,
    permits: Arc<Semaphore>,
    raw: mpsc::UnboundedSender<Read>,
) {
    let reading = async {
        let _permit = permits
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("select semaphore closed".into()))?;
        let mut stream = store.series(request).await?;
        while let Some(frame) = stream.next().await {
            if raw.send(Read::Frame(frame?)).is_err() {
                return Ok(());
            }
        }
        Ok::<_, ApiError>(())
    };
    let outcome = tokio::select! {
        () = raw.closed() => return,
        outcome = reading => outcome,
    };
    // The decoder may be gone already; then nobody needs the outcome.
    let _ = raw.send(match outcome {
        Ok(()) => Read::End,
        Err(error) => Read::Failed(error),
    });
}

/// Turns one selection's frames into deduplicated series for the evaluator. The proxy sends
/// series sorted by labels, each label set once, as the evaluator needs them; a series out of
/// that order fails the selection (it cannot be re-sorted without holding everything).
struct Decoder {
    range: TimeRange,
    kind: ValueKind,
    budget: Arc<SampleBudget>,
    failure: Arc<Failure>,
    warnings: Arc<Mutex<Vec<String>>>,
}

impl Decoder {
    /// Decodes until the selection ends or fails, or the evaluator goes away.
    async fn run(self, mut raw: mpsc::UnboundedReceiver<Read>, fed: mpsc::Sender<Fed>) {
        let mut last: Option<Labels> = None;
        loop {
            let read = tokio::select! {
                () = fed.closed() => return,
                read = raw.recv() => read,
            };
            // The reader always ends with `End` or `Failed`: without, it was stopped.
            let Some(read) = read else {
                return;
            };
            let next = match read {
                Read::Frame(SeriesFrame::Warning(warning)) => {
                    lock(&self.warnings).push(warning);
                    continue;
                }
                Read::Frame(SeriesFrame::Series(series)) => match self.decode(series, &last) {
                    Ok(None) => continue,
                    Ok(Some((labels, points))) => {
                        last = Some(labels.clone());
                        Fed::Series((labels, points))
                    }
                    Err(error) => Fed::Failed(self.failure.record(error)),
                },
                Read::Failed(error) => Fed::Failed(self.failure.record(error)),
                Read::End => Fed::End,
            };
            let stop = !matches!(next, Fed::Series(_));
            if fed.send(next).await.is_err() || stop {
                return;
            }
        }
    }

    /// One series' replicas merged and counted; `None` when it has no sample in range.
    fn decode(&self, series: Series, last: &Option<Labels>) -> Result<Option<Decoded>, ApiError> {
        let Series { labels, chunks } = series;
        if let Some(last) = last
            && *last >= labels
        {
            return Err(ApiError::Execution(format!(
                "series out of label order from the stores: {labels} after {last}"
            )));
        }
        let points = decode(chunks, self.range, self.kind)
            .map_err(|e| ApiError::Execution(format!("decoding chunks of {labels}: {e}")))?;
        self.budget
            .take(points.len())
            .map_err(|e| ApiError::Execution(e.to_string()))?;
        Ok((!points.is_empty()).then_some((labels, points)))
    }
}
