//! One store's part of a fan-out: its Series frames as the proxy passes them on, with the
//! per-store response deadline and the partial-response policy applied (THANOS.md §5; upstream
//! thanos pkg/store/proxy_merge.go, `lazyRespSet`).
//!
//! Each store is read by its own task into a small bounded channel, so all stores are asked at
//! once and a slow one only holds back the merge, never the other stores. The task belongs to the
//! returned stream: dropping the stream aborts it, which drops the store's stream (and so cancels
//! the remote call). Knows nothing of merging, health checks or gRPC.

use std::future::Future;
use std::time::Duration;

use futures::{StreamExt, stream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::StoreRef;
use crate::storeapi::{PartialResponse, SeriesFrame, SeriesRequest, SeriesStream, StoreError};

/// Frames read ahead per store before its task waits for the merge to catch up.
const FRAMES_AHEAD: usize = 32;

/// The series of `store` for `request`, never longer silent than `response_timeout` (from the
/// call to the first frame, then between frames).
///
/// A failure (open error, stream error, deadline) ends the stream. Under
/// [`PartialResponse::Warn`] it becomes a warning frame naming the store; under
/// [`PartialResponse::Abort`] it becomes [`StoreError::Aborted`], and so do the store's own
/// warning frames (as Thanos turns any warning into `Aborted` then).
pub(super) fn store_series(
    store: StoreRef,
    request: SeriesRequest,
    response_timeout: Option<Duration>,
) -> SeriesStream {
    let (frames, received) = mpsc::channel(FRAMES_AHEAD);
    let span = tracing::debug_span!(
        "store_series",
        endpoint = %store.address,
        mint_ms = request.range.min_ms(),
        maxt_ms = request.range.max_ms(),
    );
    let task = AbortOnDrop(tokio::spawn(
        read_store(store, request, response_timeout, frames).instrument(span),
    ));
    stream::unfold((received, task), |(mut received, task)| async move {
        received.recv().await.map(|frame| (frame, (received, task)))
    })
    .boxed()
}

/// Aborts the reading task when the stream that owns it is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How one store's stream ended badly.
enum Failure {
    /// The call could not be opened.
    Open(StoreError),
    /// The stream broke after opening.
    Receive(StoreError),
    /// Nothing arrived within the deadline.
    Silent(Duration),
}

impl Failure {
    fn message(&self, address: &str) -> String {
        match self {
            Failure::Open(e) => format!("fetch series from store {address}: {e}"),
            Failure::Receive(e) => format!("receive series from store {address}: {e}"),
            Failure::Silent(t) => {
                format!(
                    "failed to receive any data in {} from {address}",
                    humantime::format_duration(*t)
                )
            }
        }
    }
}

/// Reads the store into `frames` until it ends, fails, or the receiver goes away.
async fn read_store(
    store: StoreRef,
    request: SeriesRequest,
    response_timeout: Option<Duration>,
    frames: mpsc::Sender<Result<SeriesFrame, StoreError>>,
) {
    let policy = request.partial_response;
    let address = store.address.clone();
    let opening = async {
        let mut stream = store.store.series(request).await.map_err(Failure::Open)?;
        let first = stream.next().await;
        Ok::<_, Failure>((stream, first))
    };
    let (mut stream, mut next) = match within(response_timeout, opening).await {
        Ok((stream, first)) => (stream, first),
        Err(failure) => {
            report(&frames, policy, &address, &failure).await;
            return;
        }
    };
    loop {
        let frame = match next {
            None => return,
            Some(Ok(SeriesFrame::Warning(warning))) if policy == PartialResponse::Abort => Err(
                StoreError::Aborted(format!("warning from store {address}: {warning}")),
            ),
            Some(Ok(frame)) => Ok(frame),
            Some(Err(error)) => {
                report(&frames, policy, &address, &Failure::Receive(error)).await;
                return;
            }
        };
        let stop = frame.is_err();
        if frames.send(frame).await.is_err() || stop {
            return;
        }
        next = match within(response_timeout, async { Ok(stream.next().await) }).await {
            Ok(next) => next,
            Err(failure) => {
                report(&frames, policy, &address, &failure).await;
                return;
            }
        };
    }
}

/// Runs `future` with the response deadline, if any.
async fn within<T>(
    response_timeout: Option<Duration>,
    future: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    match response_timeout {
        None => future.await,
        Some(limit) => tokio::time::timeout(limit, future)
            .await
            .unwrap_or(Err(Failure::Silent(limit))),
    }
}

/// Passes a store failure on as the policy says.
async fn report(
    frames: &mpsc::Sender<Result<SeriesFrame, StoreError>>,
    policy: PartialResponse,
    address: &str,
    failure: &Failure,
) {
    let message = failure.message(address);
    tracing::debug!(endpoint = address, %message, "store failed during series fan-out");
    let frame = match policy {
        PartialResponse::Warn => Ok(SeriesFrame::Warning(message)),
        PartialResponse::Abort => Err(StoreError::Aborted(message)),
    };
    // The receiver may already be gone (the request ended); then nobody needs the frame.
    let _ = frames.send(frame).await;
}
