//! K-way merge of label-sorted Series streams into one, collapsing equal series (THANOS.md §2
//! steps 1–3).
//!
//! Mirrors thanos pkg/store/proxy_merge.go: the loser tree over response sets
//! (`NewProxyResponseLoserTree`), `responseDeduplicator` with `chainSeriesAndRemIdenticalChunks`,
//! and the label removal and re-sort of `eagerRespSet`. It must not know where streams come from
//! (endpoints, gRPC), which partial-response policy applies (errors are passed on for the caller
//! to judge), or anything of PromQL; it never decodes a chunk.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt, stream};
use shared::labels::Labels;

use crate::storeapi::{
    AggrChunk, Chunk, ChunkEncoding, Series, SeriesFrame, SeriesStream, StoreError,
};

/// Merges label-sorted streams into one label-sorted stream with one frame per label set.
///
/// - Warnings are passed on as soon as they arrive; so is an `Err` from any input (the merge
///   then keeps reading that input until it ends).
/// - Consecutive series with equal labels, from any inputs or from one, become one [`Series`]
///   whose chunks are deduplicated by hash and sorted (see [`collapse_chunks`]).
/// - It streams: it holds at most one series per input plus the series being collapsed, and a
///   series is emitted once every unfinished input has shown a later one.
pub fn merge_sorted(streams: Vec<SeriesStream>) -> SeriesStream {
    Box::pin(MergeSorted {
        waiting: (0..streams.len()).collect(),
        inputs: streams.into_iter().map(Some).collect(),
        heads: BinaryHeap::new(),
        collapsing: None,
    })
}

/// Removes `replica_labels` from every series of a store that cannot do it itself, then
/// re-sorts: THANOS.md §2 step 1 (thanos `eagerRespSet`).
///
/// Removing labels can break the order, so this reads the whole stream (of that one store) on
/// the first poll, then yields its warnings and errors, then its series sorted by labels. Equal
/// series are left for [`merge_sorted`] to collapse.
pub fn strip_and_resort(stream: SeriesStream, replica_labels: Vec<String>) -> SeriesStream {
    let sorted = async move {
        let mut stream = stream;
        let mut notes = Vec::new();
        let mut series = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(SeriesFrame::Series(mut s)) => {
                    s.labels.remove_names(&replica_labels);
                    series.push(s);
                }
                note @ (Ok(SeriesFrame::Warning(_)) | Err(_)) => notes.push(note),
            }
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        notes
            .into_iter()
            .chain(series.into_iter().map(|s| Ok(SeriesFrame::Series(s))))
    };
    Box::pin(stream::once(sorted).flat_map(stream::iter))
}

/// Deduplicates and sorts one series' chunks, gathered from all its replicas.
///
/// Two chunks are duplicates when every field (raw, count, max, min, sum, counter) is present in
/// both or neither, with equal hashes ([`Chunk::effective_hash`]). So identical replica chunks are
/// kept once, while downsampled chunks that share only some aggregates are all kept. Upstream
/// (thanos `chainSeriesAndRemIdenticalChunks`, THANOS.md §2 step 3) keys a chunk by its first
/// field with an unseen hash, which keeps a third copy of an identical multi-aggregate chunk;
/// comparing all fields drops it. Chunks without any field carry no data and are dropped. The
/// result is sorted by min time, max time, then encoding and bytes.
pub fn collapse_chunks(chunks: Vec<AggrChunk>) -> Vec<AggrChunk> {
    let mut seen = HashSet::with_capacity(chunks.len());
    let mut kept: Vec<AggrChunk> = chunks
        .into_iter()
        .filter(|chunk| {
            let hashes = fields_in_dedup_order(chunk).map(|field| field.map(Chunk::effective_hash));
            hashes.iter().any(Option::is_some) && seen.insert(hashes)
        })
        .collect();
    kept.sort_by(chunk_order);
    kept
}

/// The chunk's fields in the order thanos `chainSeriesAndRemIdenticalChunks` checks them.
fn fields_in_dedup_order(chunk: &AggrChunk) -> [Option<&Chunk>; 6] {
    [
        chunk.raw.as_ref(),
        chunk.count.as_ref(),
        chunk.max.as_ref(),
        chunk.min.as_ref(),
        chunk.sum.as_ref(),
        chunk.counter.as_ref(),
    ]
}

/// Orders chunks by time, breaking ties by content so the output does not depend on which
/// input arrived first.
fn chunk_order(a: &AggrChunk, b: &AggrChunk) -> Ordering {
    fn key(chunk: &AggrChunk) -> [Option<(u8, &[u8])>; 6] {
        fields_in_dedup_order(chunk).map(|field| {
            field.map(|c| {
                let encoding = match c.encoding {
                    ChunkEncoding::Xor => 0,
                    ChunkEncoding::Histogram => 1,
                    ChunkEncoding::FloatHistogram => 2,
                };
                (encoding, c.data.as_ref())
            })
        })
    }
    (a.min_time_ms, a.max_time_ms)
        .cmp(&(b.min_time_ms, b.max_time_ms))
        .then_with(|| key(a).cmp(&key(b)))
}

/// The next series of one input.
struct Head {
    series: Series,
    input: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Reversed (smallest labels, then lowest input, is greatest) so the max-heap pops the next series.
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .series
            .labels
            .cmp(&self.series.labels)
            .then_with(|| other.input.cmp(&self.input))
    }
}

/// The series being collapsed: equal-label frames seen so far.
struct Collapsing {
    labels: Labels,
    chunks: Vec<AggrChunk>,
}

impl Collapsing {
    fn finish(self) -> SeriesFrame {
        SeriesFrame::Series(Series {
            labels: self.labels,
            chunks: collapse_chunks(self.chunks),
        })
    }
}

/// The stream [`merge_sorted`] returns.
struct MergeSorted {
    /// Each input, `None` once it has ended.
    inputs: Vec<Option<SeriesStream>>,
    /// Inputs that have not ended and have no series in `heads`.
    waiting: Vec<usize>,
    /// At most one series per input.
    heads: BinaryHeap<Head>,
    collapsing: Option<Collapsing>,
}

impl MergeSorted {
    /// Polls every waiting input once. Returns a warning or error to pass on, or `Pending` if
    /// some input has nothing yet; `Ready(None)` means every input has a head or has ended.
    fn fill_heads(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<SeriesFrame, StoreError>>> {
        let mut i = 0;
        while i < self.waiting.len() {
            let input = self.waiting[i];
            let Some(stream) = self.inputs[input].as_mut() else {
                self.waiting.swap_remove(i);
                continue;
            };
            match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(SeriesFrame::Series(series)))) => {
                    self.waiting.swap_remove(i);
                    self.heads.push(Head { series, input });
                }
                Poll::Ready(Some(note)) => return Poll::Ready(Some(note)),
                Poll::Ready(None) => {
                    self.inputs[input] = None;
                    self.waiting.swap_remove(i);
                }
                Poll::Pending => i += 1,
            }
        }
        if self.waiting.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

impl Stream for MergeSorted {
    type Item = Result<SeriesFrame, StoreError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.fill_heads(cx) {
                Poll::Ready(None) => {}
                other => return other,
            }
            let same_series = match (this.heads.peek(), &this.collapsing) {
                (None, None) => return Poll::Ready(None),
                (Some(head), Some(collapsing)) => head.series.labels == collapsing.labels,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if !same_series {
                let done = this.collapsing.take().map(|c| Ok(c.finish()));
                return Poll::Ready(done);
            }
            let Head { series, input } = this.heads.pop().expect("a head was peeked above");
            this.waiting.push(input);
            match &mut this.collapsing {
                Some(collapsing) => collapsing.chunks.extend(series.chunks),
                None => {
                    this.collapsing = Some(Collapsing {
                        labels: series.labels,
                        chunks: series.chunks,
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
