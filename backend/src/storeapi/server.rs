//! The gRPC StoreAPI server: exposes any [`Store`] as `thanos.Store` (Series, LabelNames,
//! LabelValues and the legacy Info), `thanos.info.Info` and `thanos.Metadata` (THANOS.md §1.1).
//!
//! Requests are validated by [`super::convert`]; bad ones get `InvalidArgument` with the reason.
//! [`StoreError`]s map 1:1 to gRPC codes. Series responses are streamed frame by frame as the
//! store produces them. This module knows tonic and the [`Store`] trait, nothing about where the
//! store's data comes from.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use proto::thanos as pb;
use proto::thanos::info as infopb;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::convert::{ConvertError, metadata_response_frames};
use super::{
    LabelNamesRequest, LabelValuesRequest, MetricMetadataRequest, SeriesRequest, Store, StoreError,
};

/// Largest gRPC message accepted or sent, in bytes, both ways: Thanos uses `math.MaxInt32`
/// (cmd/thanos, `grpc.MaxSendMsgSize`/`MaxRecvMsgSize`), so a big series batch never fails on size.
pub const MAX_MESSAGE_BYTES: usize = i32::MAX as usize;

/// The gRPC server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listener's address could not be read.
    #[error("gRPC listener address: {0}")]
    ListenerAddress(#[source] std::io::Error),
    /// The server stopped with a transport error.
    #[error("gRPC server on {address}: {source}")]
    Transport {
        /// The address the server listened on.
        address: std::net::SocketAddr,
        /// What failed.
        #[source]
        source: tonic::transport::Error,
    },
}

/// The tonic services for one store: implements `thanos.Store`, `thanos.info.Info` and
/// `thanos.Metadata`.
#[derive(Clone)]
pub struct StoreService {
    store: Arc<dyn Store>,
}

impl StoreService {
    /// Serves `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

/// The two gRPC services for `store`, with the message size limits set. Add both to a tonic
/// server, or only the first to look like a Thanos component older than the Info service.
pub fn store_service(
    store: Arc<dyn Store>,
) -> (
    pb::store_server::StoreServer<StoreService>,
    infopb::info_server::InfoServer<StoreService>,
) {
    let service = StoreService::new(store);
    let store_server = pb::store_server::StoreServer::new(service.clone())
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let info_server = infopb::info_server::InfoServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    (store_server, info_server)
}

/// The `thanos.Metadata` service for `store`, with the message size limits set. Whether a
/// client calls it depends on `metric_metadata` in the store's Info.
pub fn metadata_service(
    store: Arc<dyn Store>,
) -> pb::metadata_server::MetadataServer<StoreService> {
    pb::metadata_server::MetadataServer::new(StoreService::new(store))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// All three services for `store` as tonic routes, ready for `Server::add_routes`.
pub fn routes(store: Arc<dyn Store>) -> tonic::service::Routes {
    let metadata_server = metadata_service(Arc::clone(&store));
    let (store_server, info_server) = store_service(store);
    tonic::service::Routes::new(store_server)
        .add_service(info_server)
        .add_service(metadata_server)
}

/// Serves `store` on `listener` until `shutdown` is cancelled, then lets in-flight calls finish.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let address = listener
        .local_addr()
        .map_err(ServerError::ListenerAddress)?;
    tracing::info!(%address, "serving the StoreAPI over gRPC");
    tonic::transport::Server::builder()
        .add_routes(routes(store))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned())
        .await
        .map_err(|source| ServerError::Transport { address, source })
}

/// The gRPC status for a store failure; each variant has its own code.
fn status_from_store_error(error: StoreError) -> Status {
    match error {
        StoreError::InvalidArgument(m) => Status::invalid_argument(m),
        StoreError::Unavailable(m) => Status::unavailable(m),
        StoreError::DeadlineExceeded(m) => Status::deadline_exceeded(m),
        StoreError::Aborted(m) => Status::aborted(m),
        StoreError::Cancelled(m) => Status::cancelled(m),
        StoreError::Unimplemented(m) => Status::unimplemented(m),
        StoreError::Internal(m) => Status::internal(m),
    }
}

fn invalid_argument(error: ConvertError) -> Status {
    Status::invalid_argument(error.to_string())
}

/// The response stream of `thanos.Store/Series`.
pub type SeriesResponseStream =
    Pin<Box<dyn Stream<Item = Result<pb::SeriesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::store_server::Store for StoreService {
    #[tracing::instrument(name = "grpc.store.info", skip_all)]
    async fn info(
        &self,
        _request: Request<pb::InfoRequest>,
    ) -> Result<Response<pb::InfoResponse>, Status> {
        let info = self.store.info().await.map_err(status_from_store_error)?;
        Ok(Response::new(info.into()))
    }

    type SeriesStream = SeriesResponseStream;

    #[tracing::instrument(
        name = "grpc.store.series",
        skip_all,
        fields(mint_ms = request.get_ref().min_time, maxt_ms = request.get_ref().max_time)
    )]
    async fn series(
        &self,
        request: Request<pb::SeriesRequest>,
    ) -> Result<Response<Self::SeriesStream>, Status> {
        let request = SeriesRequest::try_from(request.into_inner()).map_err(invalid_argument)?;
        let frames = self
            .store
            .series(request)
            .await
            .map_err(status_from_store_error)?;
        let span = tracing::Span::current();
        let responses = frames.map(move |frame| {
            frame.map(pb::SeriesResponse::from).map_err(|error| {
                span.in_scope(|| tracing::warn!(%error, "series stream failed"));
                status_from_store_error(error)
            })
        });
        Ok(Response::new(Box::pin(responses)))
    }

    #[tracing::instrument(
        name = "grpc.store.label_names",
        skip_all,
        fields(mint_ms = request.get_ref().start, maxt_ms = request.get_ref().end)
    )]
    async fn label_names(
        &self,
        request: Request<pb::LabelNamesRequest>,
    ) -> Result<Response<pb::LabelNamesResponse>, Status> {
        let request =
            LabelNamesRequest::try_from(request.into_inner()).map_err(invalid_argument)?;
        let names = self
            .store
            .label_names(request)
            .await
            .map_err(status_from_store_error)?;
        Ok(Response::new(names.into()))
    }

    #[tracing::instrument(
        name = "grpc.store.label_values",
        skip_all,
        fields(label = %request.get_ref().label, mint_ms = request.get_ref().start, maxt_ms = request.get_ref().end)
    )]
    async fn label_values(
        &self,
        request: Request<pb::LabelValuesRequest>,
    ) -> Result<Response<pb::LabelValuesResponse>, Status> {
        let request =
            LabelValuesRequest::try_from(request.into_inner()).map_err(invalid_argument)?;
        let values = self
            .store
            .label_values(request)
            .await
            .map_err(status_from_store_error)?;
        Ok(Response::new(values.into()))
    }
}

#[tonic::async_trait]
impl infopb::info_server::Info for StoreService {
    #[tracing::instrument(name = "grpc.info", skip_all)]
    async fn info(
        &self,
        _request: Request<infopb::InfoRequest>,
    ) -> Result<Response<infopb::InfoResponse>, Status> {
        let info = self.store.info().await.map_err(status_from_store_error)?;
        Ok(Response::new(info.into()))
    }
}

/// The response stream of `thanos.Metadata/MetricMetadata`.
pub type MetadataResponseStream =
    Pin<Box<dyn Stream<Item = Result<pb::MetricMetadataResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::metadata_server::Metadata for StoreService {
    type MetricMetadataStream = MetadataResponseStream;

    /// The store answers whole; its answer goes out as one metadata frame and a frame per
    /// warning.
    #[tracing::instrument(
        name = "grpc.metadata.metric_metadata",
        skip_all,
        fields(metric = %request.get_ref().metric, limit = request.get_ref().limit)
    )]
    async fn metric_metadata(
        &self,
        request: Request<pb::MetricMetadataRequest>,
    ) -> Result<Response<Self::MetricMetadataStream>, Status> {
        let request =
            MetricMetadataRequest::try_from(request.into_inner()).map_err(invalid_argument)?;
        let response = self
            .store
            .metric_metadata(request)
            .await
            .map_err(status_from_store_error)?;
        let frames = metadata_response_frames(response).into_iter().map(Ok);
        Ok(Response::new(Box::pin(futures::stream::iter(frames))))
    }
}
