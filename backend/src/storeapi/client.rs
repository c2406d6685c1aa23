//! [`GrpcStore`]: a remote StoreAPI endpoint (`host:port`) seen as a [`Store`].
//!
//! The connection is lazy and re-established by tonic as needed, with Thanos's client settings
//! (keepalive 10s/5s, messages up to `MaxInt32` bytes; THANOS.md §4). `info()` asks the
//! `thanos.info.Info` service and falls back to the legacy `thanos.Store/Info` on endpoints that
//! predate it. gRPC statuses become [`StoreError`]s; failures to reach the endpoint are
//! [`StoreError::Unavailable`] naming the address. This module knows tonic and the wire types,
//! nothing about how its caller merges or deduplicates what it returns.

use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::Stream;
use futures::future::BoxFuture;
use proto::thanos as pb;
use proto::thanos::info as infopb;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tracing::Instrument;

use super::convert::{metadata_from_proto, series_frames_from_proto};
use super::server::MAX_MESSAGE_BYTES;
use super::{
    LabelNamesRequest, LabelValuesRequest, LabelsResponse, MetadataResponse, MetricMetadataRequest,
    SeriesFrame, SeriesRequest, SeriesStream, Store, StoreError, StoreInfo,
};

/// Interval between HTTP/2 keepalive pings on a connection with calls in flight (Thanos: 10s).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a keepalive ping may go unanswered before the connection is dropped (Thanos: 5s).
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of a [`GrpcStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcStoreConfig {
    /// Bound on each Info call (Thanos's `--endpoint.info-timeout`, default 5s).
    pub info_timeout: Duration,
    /// Bound on each LabelNames/LabelValues call; `None` leaves them to the caller's deadline.
    pub unary_timeout: Option<Duration>,
    /// Bound on establishing the TCP connection.
    pub connect_timeout: Duration,
}

impl Default for GrpcStoreConfig {
    fn default() -> Self {
        Self {
            info_timeout: Duration::from_secs(5),
            unary_timeout: None,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A [`GrpcStore`] could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The address is not a valid `host:port`.
    #[error("invalid StoreAPI address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A remote StoreAPI endpoint, reached over gRPC (plain HTTP/2).
///
/// Cloning is cheap and shares the connection. Info and the label calls are bounded by
/// [`GrpcStoreConfig`]; a Series stream is not (its length depends on the query), so the caller
/// bounds it, as the querier does with its query timeout. Dropping the stream cancels the call.
#[derive(Debug, Clone)]
pub struct GrpcStore {
    address: Arc<str>,
    store: pb::store_client::StoreClient<Channel>,
    info: infopb::info_client::InfoClient<Channel>,
    metadata: pb::metadata_client::MetadataClient<Channel>,
    config: GrpcStoreConfig,
}

impl GrpcStore {
    /// A store for the endpoint at `address` (`host:port`). Nothing is dialled until the first
    /// call, so an endpoint that is down is reported by the calls, not here. Must be called inside
    /// a tokio runtime (the channel's worker task is spawned on it).
    pub fn new(address: impl Into<String>, config: GrpcStoreConfig) -> Result<Self, ClientError> {
        let address: String = address.into();
        let invalid = |reason: String| ClientError::InvalidAddress {
            address: address.clone(),
            reason,
        };
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| invalid(e.to_string()))?;
        let uri = endpoint.uri();
        if uri.port_u16().is_none() || uri.path() != "/" || uri.query().is_some() {
            return Err(invalid("expected host:port".to_owned()));
        }
        let channel = endpoint
            .connect_timeout(config.connect_timeout)
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .tcp_nodelay(true)
            .connect_lazy();
        let store = pb::store_client::StoreClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let info = infopb::info_client::InfoClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let metadata = pb::metadata_client::MetadataClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Self {
            address: address.into(),
            store,
            info,
            metadata,
            config,
        })
    }

    /// The endpoint's address, as given.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The new Info service, then the legacy one if the endpoint does not implement it.
    async fn fetch_info(&self) -> Result<StoreInfo, StoreError> {
        let timeout = Some(self.config.info_timeout);
        let mut info = self.info.clone();
        let response = call(timeout, infopb::InfoRequest {}, move |r| async move {
            info.info(r).await
        })
        .await;
        match response {
            Ok(response) => Ok(response.into()),
            Err(status) if status.code() == Code::Unimplemented => {
                tracing::debug!("no thanos.info.Info service; using the legacy thanos.Store/Info");
                let mut store = self.store.clone();
                let legacy = call(timeout, pb::InfoRequest {}, move |r| async move {
                    store.info(r).await
                })
                .await;
                legacy
                    .map(StoreInfo::from)
                    .map_err(|status| store_error(&self.address, status))
            }
            Err(status) => Err(store_error(&self.address, status)),
        }
    }

    /// Reads the whole `thanos.Metadata/MetricMetadata` stream, merging its metadata frames
    /// and collecting its warnings.
    async fn fetch_metadata(
        &self,
        request: MetricMetadataRequest,
    ) -> Result<MetadataResponse, StoreError> {
        use pb::metric_metadata_response::Result as Frame;
        let mut client = self.metadata.clone();
        let mut frames = client
            .metric_metadata(Request::new(pb::MetricMetadataRequest::from(request)))
            .await
            .map_err(|status| store_error(&self.address, status))?
            .into_inner();
        let mut response = MetadataResponse::default();
        while let Some(frame) = frames
            .message()
            .await
            .map_err(|status| store_error(&self.address, status))?
        {
            match frame.result {
                Some(Frame::Metadata(metadata)) => response.merge(metadata_from_proto(metadata)),
                Some(Frame::Warning(warning)) => response.warnings.push(warning),
                None => {}
            }
        }
        Ok(response)
    }
}

/// Runs one unary call, bounded by `timeout` both on the wire (`grpc-timeout`, so the server
/// gives up too) and locally (so a silent peer cannot hold the caller).
async fn call<Req, Res, F, Fut>(
    timeout: Option<Duration>,
    message: Req,
    call: F,
) -> Result<Res, Status>
where
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<Res>, Status>>,
{
    let mut request = Request::new(message);
    let Some(limit) = timeout else {
        return call(request).await.map(Response::into_inner);
    };
    request.set_timeout(limit);
    let started = tokio::time::Instant::now();
    let expired = || Status::deadline_exceeded(format!("no answer within {limit:?}"));
    match tokio::time::timeout(limit, call(request)).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        // A tonic server answers an expired `grpc-timeout` with CANCELLED; it is still our deadline.
        Ok(Err(status)) if status.code() == Code::Cancelled && started.elapsed() >= limit => {
            Err(expired())
        }
        Ok(Err(status)) => Err(status),
        Err(_elapsed) => Err(expired()),
    }
}

/// The status message followed by the messages of its sources that add something, e.g.
/// "tcp connect error: Connection refused (os error 111)".
fn describe(status: &Status) -> String {
    let mut text = status.message().to_owned();
    let mut source = status.source();
    while let Some(error) = source {
        let part = error.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        source = error.source();
    }
    text
}

/// Whether the status stands for a failure to reach the peer rather than an answer from it.
fn is_transport_failure(status: &Status) -> bool {
    let mut source = status.source();
    while let Some(error) = source {
        if error.is::<tonic::transport::Error>() || error.is::<std::io::Error>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// The store error for a gRPC status from the endpoint at `address`. Codes with a
/// [`StoreError`] variant map to it; a transport failure is `Unavailable`; the rest is
/// `Internal`. Errors the caller reports per endpoint carry the address.
fn store_error(address: &str, status: Status) -> StoreError {
    let message = describe(&status);
    match status.code() {
        Code::InvalidArgument => StoreError::InvalidArgument(message),
        Code::Unavailable => StoreError::Unavailable(format!("{address}: {message}")),
        Code::DeadlineExceeded => StoreError::DeadlineExceeded(format!("{address}: {message}")),
        Code::Aborted => StoreError::Aborted(message),
        Code::Cancelled => StoreError::Cancelled(message),
        Code::Unimplemented => StoreError::Unimplemented(format!("{address}: {message}")),
        _ if is_transport_failure(&status) => {
            StoreError::Unavailable(format!("{address}: {message}"))
        }
        code => StoreError::Internal(format!("{address}: {code}: {message}")),
    }
}

impl Store for GrpcStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        let span = tracing::debug_span!("grpc_client.info", endpoint = %self.address);
        Box::pin(self.fetch_info().instrument(span))
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        let span = tracing::debug_span!(
            "grpc_client.series",
            endpoint = %self.address,
            mint_ms = request.range.min_ms(),
            maxt_ms = request.range.max_ms(),
        );
        let mut client = self.store.clone();
        let address = Arc::clone(&self.address);
        Box::pin(
            async move {
                let response = client
                    .series(Request::new(pb::SeriesRequest::from(request)))
                    .await
                    .map_err(|status| store_error(&address, status))?;
                let frames = FrameStream {
                    address,
                    responses: Some(response.into_inner()),
                    pending: Vec::new().into_iter(),
                };
                Ok(Box::pin(frames) as SeriesStream)
            }
            .instrument(span),
        )
    }

    fn label_names(
        &self,
        request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        let span = tracing::debug_span!("grpc_client.label_names", endpoint = %self.address);
        let mut client = self.store.clone();
        let message = pb::LabelNamesRequest::from(request);
        Box::pin(
            async move {
                call(self.config.unary_timeout, message, move |r| async move {
                    client.label_names(r).await
                })
                .await
                .map(LabelsResponse::from)
                .map_err(|status| store_error(&self.address, status))
            }
            .instrument(span),
        )
    }

    fn label_values(
        &self,
        request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        let span = tracing::debug_span!("grpc_client.label_values", endpoint = %self.address, label = %request.label);
        let mut client = self.store.clone();
        let message = pb::LabelValuesRequest::from(request);
        Box::pin(
            async move {
                call(self.config.unary_timeout, message, move |r| async move {
                    client.label_values(r).await
                })
                .await
                .map(LabelsResponse::from)
                .map_err(|status| store_error(&self.address, status))
            }
            .instrument(span),
        )
    }

    /// Bounded by [`GrpcStoreConfig::unary_timeout`] as a whole, when set.
    fn metric_metadata(
        &self,
        request: MetricMetadataRequest,
    ) -> BoxFuture<'_, Result<MetadataResponse, StoreError>> {
        let span = tracing::debug_span!("grpc_client.metric_metadata", endpoint = %self.address);
        Box::pin(
            async move {
                let Some(limit) = self.config.unary_timeout else {
                    return self.fetch_metadata(request).await;
                };
                tokio::time::timeout(limit, self.fetch_metadata(request))
                    .await
                    .unwrap_or_else(|_| {
                        Err(StoreError::DeadlineExceeded(format!(
                            "{}: no answer within {limit:?}",
                            self.address
                        )))
                    })
            }
            .instrument(span),
        )
    }
}

/// Domain frames from a `thanos.Store/Series` response stream: batch frames are expanded,
/// hints dropped. The stream ends after the first error.
struct FrameStream {
    address: Arc<str>,
    /// `None` once the response stream has ended or failed.
    responses: Option<tonic::Streaming<pb::SeriesResponse>>,
    /// Frames of the last response not yet handed out.
    pending: std::vec::IntoIter<SeriesFrame>,
}

impl Stream for FrameStream {
    type Item = Result<SeriesFrame, StoreError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.pending.next() {
                return Poll::Ready(Some(Ok(frame)));
            }
            let Some(responses) = this.responses.as_mut() else {
                return Poll::Ready(None);
            };
            let error = match ready!(Pin::new(responses).poll_next(cx)) {
                Some(Ok(response)) => match series_frames_from_proto(response) {
                    Ok(frames) => {
                        this.pending = frames.into_iter();
                        continue;
                    }
                    Err(error) => StoreError::Internal(format!(
                        "{}: invalid series response: {error}",
                        this.address
                    )),
                },
                Some(Err(status)) => store_error(&this.address, status),
                None => {
                    this.responses = None;
                    return Poll::Ready(None);
                }
            };
            this.responses = None;
            return Poll::Ready(Some(Err(error)));
        }
    }
}
