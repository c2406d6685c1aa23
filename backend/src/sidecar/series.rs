//! Assembles remote-read `ChunkedSeries` into the StoreAPI's whole, labelled, sorted series.
//!
//! Joins the frames of one series, passes chunk bytes through untouched (Prometheus's chunk
//! encodings mapped to [`ChunkEncoding`]), attaches external labels ([`super::external`]),
//! keeps the order ([`super::order`]) and applies `skip_chunks` and `limit`. It reads an
//! already-open stream of frames and knows nothing of HTTP or gRPC.

use std::collections::VecDeque;

use futures::StreamExt;
use shared::labels::{Label, Labels};

use super::external::series_labels;
use super::order::Reorder;
use super::prometheus::ChunkedSeriesStream;
use super::source::store_error;
use crate::storeapi::{
    AggrChunk, Chunk, ChunkEncoding, Series, SeriesFrame, SeriesStream, StoreError,
};

/// Turns remote-read frames into whole, labelled, sorted series.
///
/// Prometheus sends one `ChunkedSeries` per frame and splits a series whose chunks exceed its
/// frame budget over consecutive frames that repeat the labels (prometheus
/// storage/remote/codec.go `StreamChunkedReadResponses`), so consecutive equal labels are joined.
pub struct SeriesPipeline {
    frames: ChunkedSeriesStream,
    /// The series being assembled: its Prometheus labels and chunks so far.
    current: Option<(Labels, Vec<AggrChunk>)>,
    reorder: Reorder,
    ready: VecDeque<Series>,
    external: Labels,
    announced: Labels,
    skip_chunks: bool,
    remaining: Option<u64>,
    done: bool,
}

impl SeriesPipeline {
    /// Series from `frames` carrying the `announced` external labels (`external`: all of them),
    /// without chunks when `skip_chunks`, at most `limit` of them.
    pub fn new(
        frames: ChunkedSeriesStream,
        external: Labels,
        announced: Labels,
        skip_chunks: bool,
        limit: Option<u64>,
    ) -> Self {
        Self {
            frames,
            current: None,
            reorder: Reorder::new(),
            ready: VecDeque::new(),
            external,
            announced,
            skip_chunks,
            remaining: limit,
            done: false,
        }
    }

    /// The pipeline as a Series stream; dropping it stops reading from Prometheus.
    pub fn into_stream(self) -> SeriesStream {
        Box::pin(futures::stream::unfold(self, |mut p| async move {
            p.next().await.map(|item| (item, p))
        }))
    }

    /// The next series; `None` at the end or after an error.
    async fn next(&mut self) -> Option<Result<SeriesFrame, StoreError>> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            if let Some(series) = self.ready.pop_front() {
                self.remaining = self.remaining.map(|r| r.saturating_sub(1));
                return Some(Ok(SeriesFrame::Series(series)));
            }
            if self.done {
                return None;
            }
            let step = match self.frames.next().await {
                Some(Ok(chunked)) => self.push(chunked),
                Some(Err(error)) => Err(store_error(error)),
                None => self.finish(),
            };
            if let Err(error) = step {
                self.done = true;
                return Some(Err(error));
            }
        }
    }

    fn push(&mut self, chunked: proto::prometheus::ChunkedSeries) -> Result<(), StoreError> {
        let own = labels_from_proto(chunked.labels);
        let chunks = if self.skip_chunks {
            Vec::new()
        } else {
            chunked
                .chunks
                .into_iter()
                .map(|c| chunk_from_proto(c, &own))
                .collect::<Result<Vec<_>, _>>()?
        };
        match &mut self.current {
            Some((labels, so_far)) if *labels == own => so_far.extend(chunks),
            _ => {
                if let Some(previous) = self.current.replace((own, chunks)) {
                    self.emit(previous)?;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), StoreError> {
        self.done = true;
        if let Some(last) = self.current.take() {
            self.emit(last)?;
        }
        let rest = self
            .reorder
            .finish()
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        self.ready.extend(rest);
        Ok(())
    }

    fn emit(&mut self, (own, chunks): (Labels, Vec<AggrChunk>)) -> Result<(), StoreError> {
        let labels = series_labels(own.clone(), &self.external, &self.announced);
        let released = self
            .reorder
            .push(own, Series { labels, chunks })
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        self.ready.extend(released);
        Ok(())
    }
}

/// A remote-read chunk as a raw [`AggrChunk`], bytes untouched.
fn chunk_from_proto(
    chunk: proto::prometheus::Chunk,
    series: &Labels,
) -> Result<AggrChunk, StoreError> {
    use proto::prometheus::chunk::Encoding;
    let encoding = match Encoding::try_from(chunk.r#type) {
        Ok(Encoding::Xor) => ChunkEncoding::Xor,
        Ok(Encoding::Histogram) => ChunkEncoding::Histogram,
        Ok(Encoding::FloatHistogram) => ChunkEncoding::FloatHistogram,
        Ok(Encoding::Unknown) | Err(_) => {
            return Err(StoreError::Internal(format!(
                "prometheus sent a chunk of unknown encoding {} for series {series}",
                chunk.r#type
            )));
        }
    };
    Ok(AggrChunk::raw(
        chunk.min_time_ms,
        chunk.max_time_ms,
        Chunk {
            encoding,
            data: chunk.data,
            hash: 0,
        },
    ))
}

/// Converts remote-read labels. Prometheus sends them sorted, for which the stable sort inside
/// [`Labels::from_unsorted`] is a single linear pass; it also guards against any that are not.
fn labels_from_proto(labels: Vec<proto::prometheus::Label>) -> Labels {
    Labels::from_unsorted(
        labels
            .into_iter()
            .map(|l| Label {
                name: l.name,
                value: l.value,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto_series(
        pairs: &[(&str, &str)],
        chunk_times: &[i64],
    ) -> proto::prometheus::ChunkedSeries {
        proto::prometheus::ChunkedSeries {
            labels: pairs
                .iter()
                .map(|(n, v)| proto::prometheus::Label {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            chunks: chunk_times
                .iter()
                .map(|t| proto::prometheus::Chunk {
                    min_time_ms: *t,
                    max_time_ms: t + 10,
                    r#type: 1,
                    data: bytes::Bytes::from_static(b"\x00\x01x"),
                })
                .collect(),
        }
    }

    fn pipeline(
        frames: Vec<proto::prometheus::ChunkedSeries>,
        skip_chunks: bool,
        limit: Option<u64>,
    ) -> SeriesPipeline {
        let external = Labels::from_pairs([("replica", "a")]);
        let frames = Box::pin(futures::stream::iter(frames.into_iter().map(Ok)));
        SeriesPipeline::new(frames, external.clone(), external, skip_chunks, limit)
    }

    async fn collect(mut p: SeriesPipeline) -> Vec<Result<SeriesFrame, StoreError>> {
        let mut out = Vec::new();
        while let Some(item) = p.next().await {
            out.push(item);
        }
        out
    }

    fn series(item: &Result<SeriesFrame, StoreError>) -> &Series {
        match item {
            Ok(SeriesFrame::Series(s)) => s,
            other => panic!("not a series: {other:?}"),
        }
    }

    #[tokio::test]
    async fn frames_of_one_series_are_joined_and_labelled() {
        let frames = vec![
            proto_series(&[("__name__", "up"), ("job", "a")], &[0, 100]),
            proto_series(&[("__name__", "up"), ("job", "a")], &[200]),
            proto_series(&[("__name__", "up"), ("job", "b")], &[0]),
        ];
        let out = collect(pipeline(frames, false, None)).await;
        assert_eq!(out.len(), 2);
        let first = series(&out[0]);
        assert_eq!(
            first.labels,
            Labels::from_pairs([("__name__", "up"), ("job", "a"), ("replica", "a")])
        );
        assert_eq!(
            first
                .chunks
                .iter()
                .map(|c| c.min_time_ms)
                .collect::<Vec<_>>(),
            [0, 100, 200]
        );
        assert_eq!(
            first.chunks[0]
                .raw
                .as_ref()
                .expect("raw chunk present")
                .encoding,
            ChunkEncoding::Xor
        );
        assert_eq!(series(&out[1]).chunks.len(), 1);
    }

    #[tokio::test]
    async fn skip_chunks_and_limit_are_honoured() {
        let frames = vec![
            proto_series(&[("a", "1")], &[0]),
            proto_series(&[("a", "2")], &[0]),
            proto_series(&[("a", "3")], &[0]),
        ];
        let out = collect(pipeline(frames, true, Some(2))).await;
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|s| series(s).chunks.is_empty()));
    }

    #[tokio::test]
    async fn unknown_chunk_encoding_is_an_error() {
        let mut frame = proto_series(&[("a", "1")], &[0]);
        frame.chunks[0].r#type = 0;
        let out = collect(pipeline(vec![frame], false, None)).await;
        assert!(
            matches!(&out[0], Err(StoreError::Internal(m)) if m.contains("unknown encoding 0")),
            "{out:?}"
        );
    }
}
