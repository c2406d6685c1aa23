//! The Thanos StoreAPI as Chorus sees it: the [`Store`] trait and its domain types.
//!
//! Everything that serves series implements [`Store`]: the sidecar (over Prometheus), the
//! querier's fan-out proxy (over other stores), the demo's synthetic replicas, and the gRPC
//! client for remote endpoints. The gRPC server exposes any [`Store`]. Wire types stay in the
//! `proto` crate; [`convert`] translates them, rejecting bad input. Chunks stay encoded here:
//! a [`Chunk`] carries raw Prometheus chunk bytes, decoded only by [`crate::chunkenc`].

pub mod client;
pub mod convert;
pub mod metadata;
pub mod server;

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;
use futures::future::{self, BoxFuture};
use shared::labels::{Labels, Matcher};
use shared::series::TimeRange;

pub use metadata::{MetadataResponse, MetricMetadata, MetricMetadataRequest};

/// Encoding of a chunk's bytes (Thanos's `Chunk.Encoding`, THANOS.md §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChunkEncoding {
    /// Gorilla XOR float chunk.
    Xor,
    /// Native histogram chunk (integer counts).
    Histogram,
    /// Native histogram chunk (float counts).
    FloatHistogram,
}

/// One encoded chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// How `data` is encoded.
    pub encoding: ChunkEncoding,
    /// Raw Prometheus `tsdb/chunkenc` bytes.
    pub data: Bytes,
    /// xxhash64 (seed 0) of `data`, or 0 when not computed.
    pub hash: u64,
}

impl Chunk {
    /// The chunk's hash: the stored one, or xxhash64 of the data when none was stored.
    pub fn effective_hash(&self) -> u64 {
        if self.hash != 0 {
            self.hash
        } else {
            xxhash_rust::xxh64::xxh64(&self.data, 0)
        }
    }
}

/// A chunk of raw data or of downsampled aggregates; times are inclusive, in ms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AggrChunk {
    /// First sample's timestamp.
    pub min_time_ms: i64,
    /// Last sample's timestamp.
    pub max_time_ms: i64,
    /// Raw samples.
    pub raw: Option<Chunk>,
    /// Downsampled count.
    pub count: Option<Chunk>,
    /// Downsampled sum.
    pub sum: Option<Chunk>,
    /// Downsampled minimum.
    pub min: Option<Chunk>,
    /// Downsampled maximum.
    pub max: Option<Chunk>,
    /// Downsampled counter.
    pub counter: Option<Chunk>,
}

impl AggrChunk {
    /// A raw chunk covering `[min_time_ms, max_time_ms]`.
    pub fn raw(min_time_ms: i64, max_time_ms: i64, chunk: Chunk) -> Self {
        Self {
            min_time_ms,
            max_time_ms,
            raw: Some(chunk),
            ..Self::default()
        }
    }
}

/// One series: sorted labels and its chunks, sorted by time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// The series' labels, external labels included.
    pub labels: Labels,
    /// Chunks, empty when the request asked for `skip_chunks`.
    pub chunks: Vec<AggrChunk>,
}

/// One frame of a Series response stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesFrame {
    /// A whole series. Series arrive sorted by labels.
    Series(Series),
    /// A non-fatal problem, passed on to the user as a warning.
    Warning(String),
}

/// What to do when a store fails (THANOS.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartialResponse {
    /// Answer with what the other stores returned, plus a warning naming the failure.
    #[default]
    Warn,
    /// Fail the whole request.
    Abort,
}

/// Downsampled aggregate a querier asks for (Thanos's `Aggr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// Raw samples.
    Raw,
    /// Count.
    Count,
    /// Sum.
    Sum,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Counter.
    Counter,
}

/// Hints about the query a Series request serves (Thanos's `QueryHints`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryHints {
    /// Evaluation step.
    pub step_ms: i64,
    /// Enclosing PromQL function, e.g. `rate`.
    pub func: Option<String>,
    /// Grouping of the enclosing aggregation: (`by`, labels).
    pub grouping: Option<(bool, Vec<String>)>,
    /// Range of the enclosing range selector.
    pub range_ms: i64,
}

/// A Series request.
#[derive(Debug, Clone)]
pub struct SeriesRequest {
    /// Time range of interest; stores may return chunks reaching past it.
    pub range: TimeRange,
    /// All must match.
    pub matchers: Vec<Matcher>,
    /// Return labels only, no chunks.
    pub skip_chunks: bool,
    /// Replica labels the store should strip (only stores that announce support do).
    pub without_replica_labels: Vec<String>,
    /// Failure policy.
    pub partial_response: PartialResponse,
    /// Aggregates wanted (empty means raw).
    pub aggregates: Vec<Aggregate>,
    /// Coarsest downsampling resolution acceptable, ms (0 = raw only).
    pub max_resolution_window_ms: i64,
    /// At most this many series (`None`: no limit).
    pub limit: Option<u64>,
    /// Hints about the query.
    pub query_hints: Option<QueryHints>,
}

impl SeriesRequest {
    /// A request for raw data of the series matching `matchers` in `range`.
    pub fn new(range: TimeRange, matchers: Vec<Matcher>) -> Self {
        Self {
            range,
            matchers,
            skip_chunks: false,
            without_replica_labels: Vec::new(),
            partial_response: PartialResponse::default(),
            aggregates: Vec::new(),
            max_resolution_window_ms: 0,
            limit: None,
            query_hints: None,
        }
    }
}

/// A LabelNames request.
#[derive(Debug, Clone)]
pub struct LabelNamesRequest {
    /// Time range of interest.
    pub range: TimeRange,
    /// Only names of series matching these.
    pub matchers: Vec<Matcher>,
    /// Replica labels to leave out.
    pub without_replica_labels: Vec<String>,
    /// Failure policy.
    pub partial_response: PartialResponse,
    /// At most this many names (`None`: no limit).
    pub limit: Option<u64>,
}

/// A LabelValues request.
#[derive(Debug, Clone)]
pub struct LabelValuesRequest {
    /// The label whose values are wanted.
    pub label: String,
    /// Time range of interest.
    pub range: TimeRange,
    /// Only values of series matching these.
    pub matchers: Vec<Matcher>,
    /// Replica labels to leave out.
    pub without_replica_labels: Vec<String>,
    /// Failure policy.
    pub partial_response: PartialResponse,
    /// At most this many values (`None`: no limit).
    pub limit: Option<u64>,
}

/// Sorted, unique label names or values, with warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelsResponse {
    /// Sorted, unique.
    pub values: Vec<String>,
    /// Non-fatal problems.
    pub warnings: Vec<String>,
}

/// What kind of component an endpoint is (Thanos's `ComponentType`, THANOS.md §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentType {
    /// A querier.
    Query,
    /// A ruler.
    Rule,
    /// A sidecar.
    Sidecar,
    /// A store gateway.
    Store,
    /// A receiver.
    Receive,
    /// A debug store.
    Debug,
    /// A Parquet gateway.
    ParquetGateway,
    /// Anything else.
    Unknown,
}

impl ComponentType {
    /// The string Thanos uses on the wire and in `/api/v1/stores`.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentType::Query => "query",
            ComponentType::Rule => "rule",
            ComponentType::Sidecar => "sidecar",
            ComponentType::Store => "store",
            ComponentType::Receive => "receive",
            ComponentType::Debug => "debug",
            ComponentType::ParquetGateway => "parquet-gateway",
            ComponentType::Unknown => "unknown-store-api",
        }
    }

    /// Parses Thanos's string; unknown strings map to [`ComponentType::Unknown`].
    pub fn parse(s: &str) -> Self {
        match s {
            "query" => ComponentType::Query,
            "rule" => ComponentType::Rule,
            "sidecar" => ComponentType::Sidecar,
            "store" => ComponentType::Store,
            "receive" => ComponentType::Receive,
            "debug" => ComponentType::Debug,
            "parquet-gateway" => ComponentType::ParquetGateway,
            _ => ComponentType::Unknown,
        }
    }
}

impl fmt::Display for ComponentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a store announces about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// The component type.
    pub component: ComponentType,
    /// External label sets: every series of the store carries one of them.
    pub label_sets: Vec<Labels>,
    /// Time range of the data; `None` when the endpoint does not serve Series at all.
    pub time_range: Option<TimeRange>,
    /// Whether the store strips `without_replica_labels` itself.
    pub supports_without_replica_labels: bool,
    /// Whether the endpoint serves the metric metadata API ([`Store::metric_metadata`]).
    pub serves_metadata: bool,
}

/// A stream of Series frames.
pub type SeriesStream = Pin<Box<dyn Stream<Item = Result<SeriesFrame, StoreError>> + Send>>;

/// A StoreAPI call failed. Each variant maps to one gRPC status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The request is malformed (gRPC `InvalidArgument`).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The store cannot serve yet or cannot be reached (gRPC `Unavailable`).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer in time (gRPC `DeadlineExceeded`).
    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(String),
    /// The request was aborted, e.g. a failing store under partial response ABORT (gRPC `Aborted`).
    #[error("aborted: {0}")]
    Aborted(String),
    /// The caller went away (gRPC `Cancelled`).
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// The store does not implement the call (gRPC `Unimplemented`).
    #[error("unimplemented: {0}")]
    Unimplemented(String),
    /// Anything else (gRPC `Internal` or `Unknown`).
    #[error("{0}")]
    Internal(String),
}

/// The StoreAPI: series, label names and values, metric metadata, and what the store announces.
///
/// Implementations must stream: [`Store::series`] returns as soon as the first frame can be
/// produced, and series arrive sorted by labels, each whole.
pub trait Store: Send + Sync {
    /// What the store announces (Thanos's `Info`).
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>>;
    /// Series matching the request, sorted by labels.
    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>>;
    /// Label names of matching series.
    fn label_names(
        &self,
        request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>>;
    /// Values of one label of matching series.
    fn label_values(
        &self,
        request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>>;
    /// Metric metadata (Thanos's `thanos.Metadata/MetricMetadata`). Only stores that announce
    /// [`StoreInfo::serves_metadata`] answer; the default refuses with `Unimplemented`.
    fn metric_metadata(
        &self,
        _request: MetricMetadataRequest,
    ) -> BoxFuture<'_, Result<MetadataResponse, StoreError>> {
        Box::pin(future::ready(Err(StoreError::Unimplemented(
            "this store does not serve metric metadata".to_string(),
        ))))
    }
}
