//! The streamed body of `/api/v1/series`: the union of several sorted series streams (one per
//! `match[]` selector, like Prometheus's `storage.NewMergeSeriesSet` with chained merge),
//! written as the Prometheus JSON envelope while series arrive, so a huge result is never held
//! in memory.
//!
//! The envelope is written `data` first, `warnings` last, so warnings that arrive while series
//! are already on the wire still reach the client. The handler waits for the first series
//! before answering, so failures up to then get a proper error status; a failure after that
//! can only abort the response (the client sees a broken body, never a truncated success).
//! Knows nothing of routing or parameters.

use std::collections::VecDeque;

use axum::body::Body;
use bytes::{BufMut as _, Bytes, BytesMut};
use futures::StreamExt as _;
use shared::labels::Labels;
use tokio::time::Instant;

use super::error::ApiError;
use crate::storeapi::{SeriesFrame, SeriesStream, StoreError};

/// Chunks are flushed once they reach this size.
const FLUSH_BYTES: usize = 64 * 1024;

/// Prometheus's warning when `limit` cut the result short.
pub const TRUNCATED_WARNING: &str = "results truncated due to limit";

/// One item of the union: a series' labels or a warning.
#[derive(Debug, Clone, PartialEq)]
pub enum UnionItem {
    /// The next series, in label order; equal series from several streams come once.
    Series(Labels),
    /// A warning from any stream, passed on as soon as it is seen.
    Warning(String),
}

/// The sorted union of series streams that are each sorted by labels.
pub struct SortedUnion {
    /// Each input with the labels of its next series once fetched; `None` stream when exhausted.
    inputs: Vec<(Option<SeriesStream>, Option<Labels>)>,
    warnings: VecDeque<String>,
}

impl SortedUnion {
    /// The union of `streams`.
    pub fn new(streams: Vec<SeriesStream>) -> Self {
        Self {
            inputs: streams.into_iter().map(|s| (Some(s), None)).collect(),
            warnings: VecDeque::new(),
        }
    }

    /// The next item, `None` when every stream has ended.
    pub async fn next(&mut self) -> Option<Result<UnionItem, StoreError>> {
        for (stream, head) in &mut self.inputs {
            while head.is_none() {
                let Some(open) = stream.as_mut() else { break };
                match open.next().await {
                    Some(Ok(SeriesFrame::Series(series))) => *head = Some(series.labels),
                    Some(Ok(SeriesFrame::Warning(warning))) => self.warnings.push_back(warning),
                    Some(Err(error)) => return Some(Err(error)),
                    None => *stream = None,
                }
            }
        }
        if let Some(warning) = self.warnings.pop_front() {
            return Some(Ok(UnionItem::Warning(warning)));
        }
        let smallest = self
            .inputs
            .iter()
            .filter_map(|(_, head)| head.as_ref())
            .min()?
            .clone();
        for (_, head) in &mut self.inputs {
            if head.as_ref() == Some(&smallest) {
                *head = None;
            }
        }
        Some(Ok(UnionItem::Series(smallest)))
    }
}

/// The instant `timeout` from now; a timeout too large to represent means "30 years".
pub fn deadline_after(timeout: std::time::Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(30 * 365 * 24 * 3600))
}

/// Pulls from `union` until it yields a series or ends, collecting warnings. Failures and the
/// deadline passing become an [`ApiError`], which the handler can still answer with.
pub async fn first_series(
    union: &mut SortedUnion,
    deadline: Instant,
    timeout: std::time::Duration,
    warnings: &mut Vec<String>,
) -> Result<Option<Labels>, ApiError> {
    loop {
        match tokio::time::timeout_at(deadline, union.next()).await {
            Err(_) => return Err(ApiError::Timeout(timeout)),
            Ok(None) => return Ok(None),
            Ok(Some(Err(error))) => return Err(error.into()),
            Ok(Some(Ok(UnionItem::Warning(w)))) => warnings.push(w),
            Ok(Some(Ok(UnionItem::Series(labels)))) => return Ok(Some(labels)),
        }
    }
}

/// Everything the body writer needs.
pub struct SeriesBody {
    /// The remaining input.
    pub union: SortedUnion,
    /// The first series, already pulled by the handler.
    pub first: Option<Labels>,
    /// Warnings seen so far.
    pub warnings: Vec<String>,
    /// At most this many series are written.
    pub limit: Option<usize>,
    /// When the request runs out of time.
    pub deadline: Instant,
    /// The configured timeout, for the error message.
    pub timeout: std::time::Duration,
}

/// Where the writer is.
enum Phase {
    Writing {
        body: Box<SeriesBody>,
        written: usize,
    },
    Done,
}

impl SeriesBody {
    /// The HTTP body: `{"status":"success","data":[…],"warnings":[…]}`, streamed.
    pub fn into_body(self) -> Body {
        let start = Phase::Writing {
            body: Box::new(self),
            written: 0,
        };
        let mut prefix = Some(Bytes::from_static(br#"{"status":"success","data":["#));
        let chunks = futures::stream::unfold(start, move |phase| {
            let prefix = prefix.take();
            async move {
                let Phase::Writing { body, written } = phase else {
                    return None;
                };
                let mut buf = BytesMut::new();
                if let Some(prefix) = prefix {
                    buf.extend_from_slice(&prefix);
                }
                match fill(body, written, &mut buf).await {
                    Ok(next) => Some((Ok(buf.freeze()), next)),
                    Err(error) => {
                        tracing::warn!(%error, "series response aborted after it started");
                        Some((Err(error), Phase::Done))
                    }
                }
            }
        });
        // Fused: HTTP layers may poll a finished body again.
        Body::from_stream(chunks.fuse())
    }
}

/// Writes series into `buf` until it is big enough to send or the result ends.
async fn fill(
    mut body: Box<SeriesBody>,
    mut written: usize,
    buf: &mut BytesMut,
) -> Result<Phase, ApiError> {
    loop {
        let next = match body.first.take() {
            Some(labels) => Some(Ok(UnionItem::Series(labels))),
            None => tokio::time::timeout_at(body.deadline, body.union.next())
                .await
                .map_err(|_| ApiError::Timeout(body.timeout))?,
        };
        match next {
            Some(Err(error)) => return Err(error.into()),
            Some(Ok(UnionItem::Warning(w))) => body.warnings.push(w),
            Some(Ok(UnionItem::Series(labels))) => {
                if body.limit.is_some_and(|limit| written >= limit) {
                    body.warnings.push(TRUNCATED_WARNING.to_string());
                    finish(&body.warnings, buf)?;
                    return Ok(Phase::Done);
                }
                if written > 0 {
                    buf.put_u8(b',');
                }
                serde_json::to_writer(buf.writer(), &labels)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                written += 1;
                if buf.len() >= FLUSH_BYTES {
                    return Ok(Phase::Writing { body, written });
                }
            }
            None => {
                finish(&body.warnings, buf)?;
                return Ok(Phase::Done);
            }
        }
    }
}

/// Closes `data` and writes the warnings (left out when there are none, as Prometheus does).
fn finish(warnings: &[String], buf: &mut BytesMut) -> Result<(), ApiError> {
    buf.put_u8(b']');
    if !warnings.is_empty() {
        buf.extend_from_slice(br#","warnings":"#);
        serde_json::to_writer(buf.writer(), warnings)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    buf.put_u8(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storeapi::Series;

    fn stream(frames: Vec<Result<SeriesFrame, StoreError>>) -> SeriesStream {
        Box::pin(futures::stream::iter(frames))
    }

    fn series(job: &str) -> Result<SeriesFrame, StoreError> {
        Ok(SeriesFrame::Series(Series {
            labels: Labels::from_pairs([("job", job)]),
            chunks: vec![],
        }))
    }

    async fn collect(mut union: SortedUnion) -> Vec<Result<UnionItem, StoreError>> {
        let mut out = Vec::new();
        while let Some(item) = union.next().await {
            out.push(item);
        }
        out
    }

    #[tokio::test]
    async fn union_is_sorted_without_duplicates_and_passes_warnings() {
        let a = stream(vec![
            series("a"),
            series("c"),
            Ok(SeriesFrame::Warning("w".into())),
            series("d"),
        ]);
        let b = stream(vec![series("b"), series("c"), series("e")]);
        let items = collect(SortedUnion::new(vec![a, b])).await;
        let text: Vec<String> = items
            .into_iter()
            .map(|i| match i {
                Ok(UnionItem::Series(l)) => l.get("job").unwrap_or("?").to_string(),
                Ok(UnionItem::Warning(w)) => format!("warning {w}"),
                Err(e) => format!("error {e}"),
            })
            .collect();
        assert_eq!(text, ["a", "b", "c", "warning w", "d", "e"]);
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        assert!(deadline_after(std::time::Duration::MAX) > Instant::now());
    }

    #[tokio::test]
    async fn union_stops_at_an_error() {
        let a = stream(vec![
            series("a"),
            Err(StoreError::Aborted("store x".into())),
        ]);
        let items = collect(SortedUnion::new(vec![a])).await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Err(StoreError::Aborted("store x".into())));
    }

    #[tokio::test]
    async fn body_is_valid_json_across_flushes_with_trailing_warnings() {
        let frames: Vec<_> = (0..5000).map(|i| series(&format!("job-{i:05}"))).collect();
        let mut frames = frames;
        frames.push(Ok(SeriesFrame::Warning("late".into())));
        let body = SeriesBody {
            union: SortedUnion::new(vec![stream(frames)]),
            first: None,
            warnings: vec!["early".into()],
            limit: None,
            deadline: Instant::now() + std::time::Duration::from_secs(10),
            timeout: std::time::Duration::from_secs(10),
        };
        let bytes = axum::body::to_bytes(body.into_body(), usize::MAX)
            .await
            .expect("body completes");
        assert!(
            bytes.len() > FLUSH_BYTES,
            "the test must span several chunks"
        );
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(json["data"].as_array().map(Vec::len), Some(5000));
        assert_eq!(json["data"][4999]["job"], "job-04999");
        assert_eq!(json["warnings"], serde_json::json!(["early", "late"]));
    }

    #[tokio::test]
    async fn body_fails_instead_of_ending_when_a_store_fails_midway() {
        let body = SeriesBody {
            union: SortedUnion::new(vec![stream(vec![
                series("b"),
                Err(StoreError::Aborted("x".into())),
            ])]),
            first: Some(Labels::from_pairs([("job", "a")])),
            warnings: vec![],
            limit: None,
            deadline: Instant::now() + std::time::Duration::from_secs(10),
            timeout: std::time::Duration::from_secs(10),
        };
        assert!(
            axum::body::to_bytes(body.into_body(), usize::MAX)
                .await
                .is_err()
        );
    }
}
