//! Conversions between the StoreAPI wire types (`proto::thanos`, `proto::thanos::info`) and the
//! domain types of [`crate::storeapi`].
//!
//! Requests arriving from the network go through `TryFrom` and are validated here, once:
//! unknown enum values, bad regexes, inverted time ranges and negative limits become a
//! [`ConvertError`]. Responses from remote stores are converted tolerantly where Thanos is
//! tolerant (unsorted labels, unknown component types) and strictly where data would otherwise be
//! misread (unknown chunk encodings). Field numbers and enum values follow THANOS.md §1.2–§1.3.
//!
//! This module knows the wire types and the domain types, nothing about transport: no tonic, no
//! I/O.

use proto::thanos as pb;
use proto::thanos::info as infopb;
use shared::labels::{Label, Labels, MatchOp, Matcher, MatcherError};
use shared::series::TimeRange;

use super::{
    AggrChunk, Aggregate, Chunk, ChunkEncoding, ComponentType, LabelNamesRequest,
    LabelValuesRequest, LabelsResponse, PartialResponse, QueryHints, Series, SeriesFrame,
    SeriesRequest, StoreInfo,
};

/// A wire message cannot be turned into a domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// An enum field holds a number the protocol does not define.
    #[error("unknown {field} value {value}")]
    UnknownEnum {
        /// The proto enum, e.g. `LabelMatcher.Type`.
        field: &'static str,
        /// The number received.
        value: i32,
    },
    /// A regex matcher does not compile.
    #[error(transparent)]
    InvalidMatcher(#[from] MatcherError),
    /// The request's start lies after its end.
    #[error("invalid time range: min time {min_ms} is after max time {max_ms}")]
    InvalidTimeRange {
        /// Requested start, ms.
        min_ms: i64,
        /// Requested end, ms.
        max_ms: i64,
    },
    /// A limit below zero (zero means "no limit").
    #[error("invalid limit {0}: must not be negative")]
    NegativeLimit(i64),
    /// A LabelValues request names no label.
    #[error("label name parameter cannot be empty")]
    EmptyLabelName,
}

// ---- labels and matchers ----

/// Wire labels to a sorted label set; unsorted or duplicated input is tolerated
/// ([`Labels::from_unsorted`]).
pub fn labels_from_proto(labels: Vec<pb::Label>) -> Labels {
    Labels::from_unsorted(
        labels
            .into_iter()
            .map(|l| Label::new(l.name, l.value))
            .collect(),
    )
}

/// A label set to wire labels, in sorted order.
pub fn labels_to_proto(labels: Labels) -> Vec<pb::Label> {
    labels
        .into_vec()
        .into_iter()
        .map(|l| pb::Label {
            name: l.name,
            value: l.value,
        })
        .collect()
}

/// A wire matcher to a compiled [`Matcher`] (`LabelMatcher.Type`: EQ=0, NEQ=1, RE=2, NRE=3).
pub fn matcher_from_proto(matcher: pb::LabelMatcher) -> Result<Matcher, ConvertError> {
    use pb::label_matcher::Type;
    let op = match Type::try_from(matcher.r#type) {
        Ok(Type::Eq) => MatchOp::Equal,
        Ok(Type::Neq) => MatchOp::NotEqual,
        Ok(Type::Re) => MatchOp::Regex,
        Ok(Type::Nre) => MatchOp::NotRegex,
        Err(_) => {
            return Err(ConvertError::UnknownEnum {
                field: "LabelMatcher.Type",
                value: matcher.r#type,
            });
        }
    };
    Ok(Matcher::new(op, matcher.name, matcher.value)?)
}

/// A matcher to its wire form.
pub fn matcher_to_proto(matcher: &Matcher) -> pb::LabelMatcher {
    use pb::label_matcher::Type;
    let kind = match matcher.op() {
        MatchOp::Equal => Type::Eq,
        MatchOp::NotEqual => Type::Neq,
        MatchOp::Regex => Type::Re,
        MatchOp::NotRegex => Type::Nre,
    };
    pb::LabelMatcher {
        r#type: kind as i32,
        name: matcher.name().to_owned(),
        value: matcher.value().to_owned(),
    }
}

fn matchers_from_proto(matchers: Vec<pb::LabelMatcher>) -> Result<Vec<Matcher>, ConvertError> {
    matchers.into_iter().map(matcher_from_proto).collect()
}

fn matchers_to_proto(matchers: &[Matcher]) -> Vec<pb::LabelMatcher> {
    matchers.iter().map(matcher_to_proto).collect()
}

// ---- request scalars ----

fn time_range_from_proto(min_ms: i64, max_ms: i64) -> Result<TimeRange, ConvertError> {
    TimeRange::new(min_ms, max_ms).ok_or(ConvertError::InvalidTimeRange { min_ms, max_ms })
}

/// Wire limit to domain: 0 is "no limit", negative is rejected.
fn limit_from_proto(limit: i64) -> Result<Option<u64>, ConvertError> {
    match u64::try_from(limit) {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(ConvertError::NegativeLimit(limit)),
    }
}

/// Domain limit to wire: `None` is 0; limits past `i64::MAX` saturate (nothing could reach them).
fn limit_to_proto(limit: Option<u64>) -> i64 {
    limit.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// The strategy, honouring the deprecated `partial_response_disabled` flag as Thanos does
/// (either one asking for ABORT aborts).
fn partial_response_from_proto(
    strategy: i32,
    disabled: bool,
) -> Result<PartialResponse, ConvertError> {
    let strategy = match pb::PartialResponseStrategy::try_from(strategy) {
        Ok(pb::PartialResponseStrategy::Warn) => PartialResponse::Warn,
        Ok(pb::PartialResponseStrategy::Abort) => PartialResponse::Abort,
        Err(_) => {
            return Err(ConvertError::UnknownEnum {
                field: "PartialResponseStrategy",
                value: strategy,
            });
        }
    };
    Ok(if disabled {
        PartialResponse::Abort
    } else {
        strategy
    })
}

fn partial_response_to_proto(partial_response: PartialResponse) -> i32 {
    match partial_response {
        PartialResponse::Warn => pb::PartialResponseStrategy::Warn as i32,
        PartialResponse::Abort => pb::PartialResponseStrategy::Abort as i32,
    }
}

fn aggregate_from_proto(value: i32) -> Result<Aggregate, ConvertError> {
    match pb::Aggr::try_from(value) {
        Ok(pb::Aggr::Raw) => Ok(Aggregate::Raw),
        Ok(pb::Aggr::Count) => Ok(Aggregate::Count),
        Ok(pb::Aggr::Sum) => Ok(Aggregate::Sum),
        Ok(pb::Aggr::Min) => Ok(Aggregate::Min),
        Ok(pb::Aggr::Max) => Ok(Aggregate::Max),
        Ok(pb::Aggr::Counter) => Ok(Aggregate::Counter),
        Err(_) => Err(ConvertError::UnknownEnum {
            field: "Aggr",
            value,
        }),
    }
}

fn aggregate_to_proto(aggregate: Aggregate) -> i32 {
    let aggr = match aggregate {
        Aggregate::Raw => pb::Aggr::Raw,
        Aggregate::Count => pb::Aggr::Count,
        Aggregate::Sum => pb::Aggr::Sum,
        Aggregate::Min => pb::Aggr::Min,
        Aggregate::Max => pb::Aggr::Max,
        Aggregate::Counter => pb::Aggr::Counter,
    };
    aggr as i32
}

/// Query hints; the projection and series-hash fields have no domain counterpart and are dropped.
fn query_hints_from_proto(hints: pb::QueryHints) -> QueryHints {
    QueryHints {
        step_ms: hints.step_millis,
        func: hints.func.map(|f| f.name),
        grouping: hints.grouping.map(|g| (g.by, g.labels)),
        range_ms: hints.range.map_or(0, |r| r.millis),
    }
}

fn query_hints_to_proto(hints: QueryHints) -> pb::QueryHints {
    pb::QueryHints {
        step_millis: hints.step_ms,
        func: hints.func.map(|name| pb::Func { name }),
        grouping: hints
            .grouping
            .map(|(by, labels)| pb::Grouping { by, labels }),
        range: (hints.range_ms != 0).then_some(pb::Range {
            millis: hints.range_ms,
        }),
        ..pb::QueryHints::default()
    }
}

// ---- requests ----

/// Validates a Series request from the wire. `hints`, `shard_info`, the deprecated `step` and
/// `range`, and `response_batch_size` are not carried over: Chorus stores answer unsharded,
/// one series per frame, which every Thanos querier accepts (THANOS.md §1.6).
impl TryFrom<pb::SeriesRequest> for SeriesRequest {
    type Error = ConvertError;

    fn try_from(request: pb::SeriesRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            range: time_range_from_proto(request.min_time, request.max_time)?,
            matchers: matchers_from_proto(request.matchers)?,
            skip_chunks: request.skip_chunks,
            without_replica_labels: request.without_replica_labels,
            partial_response: partial_response_from_proto(
                request.partial_response_strategy,
                request.partial_response_disabled,
            )?,
            aggregates: request
                .aggregates
                .into_iter()
                .map(aggregate_from_proto)
                .collect::<Result<_, _>>()?,
            max_resolution_window_ms: request.max_resolution_window,
            limit: limit_from_proto(request.limit)?,
            query_hints: request.query_hints.map(query_hints_from_proto),
        })
    }
}

impl From<SeriesRequest> for pb::SeriesRequest {
    fn from(request: SeriesRequest) -> Self {
        pb::SeriesRequest {
            min_time: request.range.min_ms(),
            max_time: request.range.max_ms(),
            matchers: matchers_to_proto(&request.matchers),
            max_resolution_window: request.max_resolution_window_ms,
            aggregates: request
                .aggregates
                .iter()
                .copied()
                .map(aggregate_to_proto)
                .collect(),
            partial_response_strategy: partial_response_to_proto(request.partial_response),
            skip_chunks: request.skip_chunks,
            query_hints: request.query_hints.map(query_hints_to_proto),
            without_replica_labels: request.without_replica_labels,
            limit: limit_to_proto(request.limit),
            ..pb::SeriesRequest::default()
        }
    }
}

/// Validates a LabelNames request from the wire (`hints` is ignored).
impl TryFrom<pb::LabelNamesRequest> for LabelNamesRequest {
    type Error = ConvertError;

    fn try_from(request: pb::LabelNamesRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            range: time_range_from_proto(request.start, request.end)?,
            matchers: matchers_from_proto(request.matchers)?,
            without_replica_labels: request.without_replica_labels,
            partial_response: partial_response_from_proto(
                request.partial_response_strategy,
                request.partial_response_disabled,
            )?,
            limit: limit_from_proto(request.limit)?,
        })
    }
}

impl From<LabelNamesRequest> for pb::LabelNamesRequest {
    fn from(request: LabelNamesRequest) -> Self {
        pb::LabelNamesRequest {
            partial_response_strategy: partial_response_to_proto(request.partial_response),
            start: request.range.min_ms(),
            end: request.range.max_ms(),
            matchers: matchers_to_proto(&request.matchers),
            without_replica_labels: request.without_replica_labels,
            limit: limit_to_proto(request.limit),
            ..pb::LabelNamesRequest::default()
        }
    }
}

/// Validates a LabelValues request from the wire (`hints` is ignored; an empty label name is
/// rejected, as Thanos's stores do).
impl TryFrom<pb::LabelValuesRequest> for LabelValuesRequest {
    type Error = ConvertError;

    fn try_from(request: pb::LabelValuesRequest) -> Result<Self, Self::Error> {
        if request.label.is_empty() {
            return Err(ConvertError::EmptyLabelName);
        }
        Ok(Self {
            label: request.label,
            range: time_range_from_proto(request.start, request.end)?,
            matchers: matchers_from_proto(request.matchers)?,
            without_replica_labels: request.without_replica_labels,
            partial_response: partial_response_from_proto(
                request.partial_response_strategy,
                request.partial_response_disabled,
            )?,
            limit: limit_from_proto(request.limit)?,
        })
    }
}

impl From<LabelValuesRequest> for pb::LabelValuesRequest {
    fn from(request: LabelValuesRequest) -> Self {
        pb::LabelValuesRequest {
            label: request.label,
            partial_response_strategy: partial_response_to_proto(request.partial_response),
            start: request.range.min_ms(),
            end: request.range.max_ms(),
            matchers: matchers_to_proto(&request.matchers),
            without_replica_labels: request.without_replica_labels,
            limit: limit_to_proto(request.limit),
            ..pb::LabelValuesRequest::default()
        }
    }
}

// ---- series and chunks ----

/// `Chunk.Encoding` (THANOS.md §1.3): XOR=0, HISTOGRAM=1, FLOAT_HISTOGRAM=2 — not the prompb
/// numbering.
fn encoding_from_proto(value: i32) -> Result<ChunkEncoding, ConvertError> {
    use pb::chunk::Encoding;
    match Encoding::try_from(value) {
        Ok(Encoding::Xor) => Ok(ChunkEncoding::Xor),
        Ok(Encoding::Histogram) => Ok(ChunkEncoding::Histogram),
        Ok(Encoding::FloatHistogram) => Ok(ChunkEncoding::FloatHistogram),
        Err(_) => Err(ConvertError::UnknownEnum {
            field: "Chunk.Encoding",
            value,
        }),
    }
}

fn encoding_to_proto(encoding: ChunkEncoding) -> i32 {
    use pb::chunk::Encoding;
    let encoding = match encoding {
        ChunkEncoding::Xor => Encoding::Xor,
        ChunkEncoding::Histogram => Encoding::Histogram,
        ChunkEncoding::FloatHistogram => Encoding::FloatHistogram,
    };
    encoding as i32
}

impl TryFrom<pb::Chunk> for Chunk {
    type Error = ConvertError;

    fn try_from(chunk: pb::Chunk) -> Result<Self, Self::Error> {
        Ok(Self {
            encoding: encoding_from_proto(chunk.r#type)?,
            data: chunk.data,
            hash: chunk.hash,
        })
    }
}

impl From<Chunk> for pb::Chunk {
    fn from(chunk: Chunk) -> Self {
        pb::Chunk {
            r#type: encoding_to_proto(chunk.encoding),
            data: chunk.data,
            hash: chunk.hash,
        }
    }
}

fn optional_chunk(chunk: Option<pb::Chunk>) -> Result<Option<Chunk>, ConvertError> {
    chunk.map(Chunk::try_from).transpose()
}

impl TryFrom<pb::AggrChunk> for AggrChunk {
    type Error = ConvertError;

    fn try_from(chunk: pb::AggrChunk) -> Result<Self, Self::Error> {
        Ok(Self {
            min_time_ms: chunk.min_time,
            max_time_ms: chunk.max_time,
            raw: optional_chunk(chunk.raw)?,
            count: optional_chunk(chunk.count)?,
            sum: optional_chunk(chunk.sum)?,
            min: optional_chunk(chunk.min)?,
            max: optional_chunk(chunk.max)?,
            counter: optional_chunk(chunk.counter)?,
        })
    }
}

impl From<AggrChunk> for pb::AggrChunk {
    fn from(chunk: AggrChunk) -> Self {
        pb::AggrChunk {
            min_time: chunk.min_time_ms,
            max_time: chunk.max_time_ms,
            raw: chunk.raw.map(Into::into),
            count: chunk.count.map(Into::into),
            sum: chunk.sum.map(Into::into),
            min: chunk.min.map(Into::into),
            max: chunk.max.map(Into::into),
            counter: chunk.counter.map(Into::into),
        }
    }
}

/// A series from the wire; its labels are sorted here if the sender did not.
impl TryFrom<pb::Series> for Series {
    type Error = ConvertError;

    fn try_from(series: pb::Series) -> Result<Self, Self::Error> {
        Ok(Self {
            labels: labels_from_proto(series.labels),
            chunks: series
                .chunks
                .into_iter()
                .map(AggrChunk::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl From<Series> for pb::Series {
    fn from(series: Series) -> Self {
        pb::Series {
            labels: labels_to_proto(series.labels),
            chunks: series.chunks.into_iter().map(Into::into).collect(),
        }
    }
}

/// The frames one wire `SeriesResponse` carries: one for `series` or `warning`, one per series
/// for `batch`, none for `hints` (the querier ignores response hints, THANOS.md §1.2) or for a
/// response with no result set.
pub fn series_frames_from_proto(
    response: pb::SeriesResponse,
) -> Result<Vec<SeriesFrame>, ConvertError> {
    use pb::series_response::Result as Frame;
    match response.result {
        Some(Frame::Series(series)) => Ok(vec![SeriesFrame::Series(series.try_into()?)]),
        Some(Frame::Warning(warning)) => Ok(vec![SeriesFrame::Warning(warning)]),
        Some(Frame::Batch(batch)) => batch
            .series
            .into_iter()
            .map(|s| Ok(SeriesFrame::Series(s.try_into()?)))
            .collect(),
        Some(Frame::Hints(_)) | None => Ok(Vec::new()),
    }
}

impl From<SeriesFrame> for pb::SeriesResponse {
    fn from(frame: SeriesFrame) -> Self {
        use pb::series_response::Result as Frame;
        let result = match frame {
            SeriesFrame::Series(series) => Frame::Series(series.into()),
            SeriesFrame::Warning(warning) => Frame::Warning(warning),
        };
        pb::SeriesResponse {
            result: Some(result),
        }
    }
}

// ---- label responses ----

impl From<pb::LabelNamesResponse> for LabelsResponse {
    fn from(response: pb::LabelNamesResponse) -> Self {
        Self {
            values: response.names,
            warnings: response.warnings,
        }
    }
}

impl From<LabelsResponse> for pb::LabelNamesResponse {
    fn from(response: LabelsResponse) -> Self {
        pb::LabelNamesResponse {
            names: response.values,
            warnings: response.warnings,
            hints: None,
        }
    }
}

impl From<pb::LabelValuesResponse> for LabelsResponse {
    fn from(response: pb::LabelValuesResponse) -> Self {
        Self {
            values: response.values,
            warnings: response.warnings,
        }
    }
}

impl From<LabelsResponse> for pb::LabelValuesResponse {
    fn from(response: LabelsResponse) -> Self {
        pb::LabelValuesResponse {
            values: response.values,
            warnings: response.warnings,
            hints: None,
        }
    }
}

// ---- info ----

/// A store time range from the wire. An inverted range (a store with no data yet) cannot serve
/// any query, which the domain says with `None`, as for an endpoint without Series.
fn store_time_range(min_ms: i64, max_ms: i64) -> Option<TimeRange> {
    TimeRange::new(min_ms, max_ms)
}

/// `thanos.info.InfoResponse` (THANOS.md §1.2): `store` present means Series is served,
/// `metric_metadata` present means the metadata API is.
impl From<infopb::InfoResponse> for StoreInfo {
    fn from(response: infopb::InfoResponse) -> Self {
        let store = response.store;
        Self {
            component: ComponentType::parse(&response.component_type),
            label_sets: response
                .label_sets
                .into_iter()
                .map(|set| labels_from_proto(set.labels))
                .collect(),
            time_range: store
                .as_ref()
                .and_then(|s| store_time_range(s.min_time, s.max_time)),
            supports_without_replica_labels: store
                .is_some_and(|s| s.supports_without_replica_labels),
            serves_metadata: response.metric_metadata.is_some(),
        }
    }
}

/// The `store` sub-message is present exactly when `time_range` is set, so
/// `supports_without_replica_labels` is only announced together with a time range.
impl From<StoreInfo> for infopb::InfoResponse {
    fn from(info: StoreInfo) -> Self {
        infopb::InfoResponse {
            label_sets: info
                .label_sets
                .into_iter()
                .map(|set| pb::ZLabelSet {
                    labels: labels_to_proto(set),
                })
                .collect(),
            component_type: info.component.as_str().to_owned(),
            store: info.time_range.map(|range| infopb::StoreInfo {
                min_time: range.min_ms(),
                max_time: range.max_ms(),
                supports_without_replica_labels: info.supports_without_replica_labels,
                ..infopb::StoreInfo::default()
            }),
            metric_metadata: info
                .serves_metadata
                .then_some(infopb::MetricMetadataInfo {}),
            ..infopb::InfoResponse::default()
        }
    }
}

fn store_type_from_proto(value: i32) -> ComponentType {
    match pb::StoreType::try_from(value) {
        Ok(pb::StoreType::Query) => ComponentType::Query,
        Ok(pb::StoreType::Rule) => ComponentType::Rule,
        Ok(pb::StoreType::Sidecar) => ComponentType::Sidecar,
        Ok(pb::StoreType::Store) => ComponentType::Store,
        Ok(pb::StoreType::Receive) => ComponentType::Receive,
        Ok(pb::StoreType::Debug) => ComponentType::Debug,
        Ok(pb::StoreType::Unknown) | Err(_) => ComponentType::Unknown,
    }
}

fn store_type_to_proto(component: ComponentType) -> i32 {
    let store_type = match component {
        ComponentType::Query => pb::StoreType::Query,
        ComponentType::Rule => pb::StoreType::Rule,
        ComponentType::Sidecar => pb::StoreType::Sidecar,
        ComponentType::Store => pb::StoreType::Store,
        ComponentType::Receive => pb::StoreType::Receive,
        ComponentType::Debug => pb::StoreType::Debug,
        ComponentType::ParquetGateway | ComponentType::Unknown => pb::StoreType::Unknown,
    };
    store_type as i32
}

/// The legacy `thanos.InfoResponse` (THANOS.md §1.1). It always describes a Series server; it
/// cannot say anything about replica-label stripping or metadata, so both are `false`. Old
/// senders set only the flat `labels`; they count as one label set.
impl From<pb::InfoResponse> for StoreInfo {
    fn from(response: pb::InfoResponse) -> Self {
        let label_sets = if !response.label_sets.is_empty() {
            response
                .label_sets
                .into_iter()
                .map(|set| labels_from_proto(set.labels))
                .collect()
        } else if !response.labels.is_empty() {
            vec![labels_from_proto(response.labels)]
        } else {
            Vec::new()
        };
        Self {
            component: store_type_from_proto(response.store_type),
            label_sets,
            time_range: store_time_range(response.min_time, response.max_time),
            supports_without_replica_labels: false,
            serves_metadata: false,
        }
    }
}

/// The legacy form: `labels` carries the label set when there is exactly one (as Thanos's
/// sidecar did); a store without a time range announces the inverted range `[MaxInt64,
/// MinInt64]`, which overlaps no query.
impl From<StoreInfo> for pb::InfoResponse {
    fn from(info: StoreInfo) -> Self {
        let labels = match info.label_sets.as_slice() {
            [only] => labels_to_proto(only.clone()),
            _ => Vec::new(),
        };
        let (min_time, max_time) = info
            .time_range
            .map_or((i64::MAX, i64::MIN), |r| (r.min_ms(), r.max_ms()));
        pb::InfoResponse {
            labels,
            min_time,
            max_time,
            store_type: store_type_to_proto(info.component),
            label_sets: info
                .label_sets
                .into_iter()
                .map(|set| pb::LabelSet {
                    labels: labels_to_proto(set),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(kind: i32, name: &str, value: &str) -> pb::LabelMatcher {
        pb::LabelMatcher {
            r#type: kind,
            name: name.into(),
            value: value.into(),
        }
    }

    fn series_request(
        edit: impl FnOnce(&mut pb::SeriesRequest),
    ) -> Result<SeriesRequest, ConvertError> {
        let mut request = pb::SeriesRequest {
            min_time: 0,
            max_time: 10,
            ..Default::default()
        };
        edit(&mut request);
        SeriesRequest::try_from(request)
    }

    #[test]
    fn bad_series_requests_are_rejected() {
        let unknown_type = series_request(|r| r.matchers.push(matcher(7, "a", "b")))
            .expect_err("must be rejected");
        assert_eq!(
            unknown_type,
            ConvertError::UnknownEnum {
                field: "LabelMatcher.Type",
                value: 7
            }
        );
        let bad_regex = series_request(|r| r.matchers.push(matcher(2, "a", "(")))
            .expect_err("must be rejected");
        assert!(
            matches!(bad_regex, ConvertError::InvalidMatcher(_)),
            "{bad_regex}"
        );
        let inverted = series_request(|r| r.min_time = 11).expect_err("must be rejected");
        assert_eq!(
            inverted,
            ConvertError::InvalidTimeRange {
                min_ms: 11,
                max_ms: 10
            }
        );
        assert_eq!(
            series_request(|r| r.limit = -1).expect_err("must be rejected"),
            ConvertError::NegativeLimit(-1)
        );
        let aggr = series_request(|r| r.aggregates = vec![1, 6]).expect_err("must be rejected");
        assert_eq!(
            aggr,
            ConvertError::UnknownEnum {
                field: "Aggr",
                value: 6
            }
        );
        let strategy =
            series_request(|r| r.partial_response_strategy = 2).expect_err("must be rejected");
        assert_eq!(
            strategy,
            ConvertError::UnknownEnum {
                field: "PartialResponseStrategy",
                value: 2
            }
        );
    }

    #[test]
    fn series_request_fields_are_carried_over() {
        let request = series_request(|r| {
            r.matchers = vec![matcher(0, "job", "api"), matcher(3, "env", "dev|test")];
            r.aggregates = vec![1, 2];
            r.limit = 0;
            r.skip_chunks = true;
            r.partial_response_disabled = true;
        })
        .expect("valid");
        assert_eq!(request.range, TimeRange::new(0, 10).expect("valid"));
        assert_eq!(request.matchers[1].op(), MatchOp::NotRegex);
        assert!(request.matchers[1].matches("prod") && !request.matchers[1].matches("test"));
        assert_eq!(request.aggregates, vec![Aggregate::Count, Aggregate::Sum]);
        assert_eq!(request.limit, None, "limit 0 means no limit");
        assert_eq!(
            request.partial_response,
            PartialResponse::Abort,
            "the deprecated flag still aborts"
        );
        assert!(request.skip_chunks);
        assert_eq!(
            series_request(|r| r.limit = 3).expect("valid").limit,
            Some(3)
        );
    }

    #[test]
    fn label_requests_are_validated() {
        let names = pb::LabelNamesRequest {
            start: 5,
            end: 4,
            ..Default::default()
        };
        assert!(matches!(
            LabelNamesRequest::try_from(names),
            Err(ConvertError::InvalidTimeRange { .. })
        ));
        let values = pb::LabelValuesRequest {
            label: String::new(),
            end: 4,
            ..Default::default()
        };
        assert_eq!(
            LabelValuesRequest::try_from(values).expect_err("must be rejected"),
            ConvertError::EmptyLabelName
        );
        let values = pb::LabelValuesRequest {
            label: "job".into(),
            end: 4,
            limit: -2,
            ..Default::default()
        };
        assert_eq!(
            LabelValuesRequest::try_from(values).expect_err("must be rejected"),
            ConvertError::NegativeLimit(-2)
        );
    }

    fn wire_series(labels: &[(&str, &str)], encoding: i32) -> pb::Series {
        pb::Series {
            labels: labels
                .iter()
                .map(|(n, v)| pb::Label {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            chunks: vec![pb::AggrChunk {
                min_time: 1,
                max_time: 2,
                raw: Some(pb::Chunk {
                    r#type: encoding,
                    data: vec![0, 1].into(),
                    hash: 9,
                }),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn response_frames_expand_batches_and_skip_hints() {
        use pb::series_response::Result as Frame;
        let batch = pb::SeriesBatch {
            series: vec![
                wire_series(&[("b", "2"), ("a", "1")], 1),
                wire_series(&[], 2),
            ],
        };
        let frames = series_frames_from_proto(pb::SeriesResponse {
            result: Some(Frame::Batch(batch)),
        })
        .expect("valid");
        let [SeriesFrame::Series(first), SeriesFrame::Series(second)] = frames.as_slice() else {
            panic!("expected two series, got {frames:?}");
        };
        assert_eq!(
            first.labels,
            Labels::from_pairs([("a", "1"), ("b", "2")]),
            "unsorted labels are sorted"
        );
        assert_eq!(
            first.chunks[0].raw.as_ref().map(|c| c.encoding),
            Some(ChunkEncoding::Histogram)
        );
        assert_eq!(
            second.chunks[0].raw.as_ref().map(|c| c.encoding),
            Some(ChunkEncoding::FloatHistogram)
        );

        let hints = pb::SeriesResponse {
            result: Some(Frame::Hints(prost_types::Any::default())),
        };
        assert!(series_frames_from_proto(hints).expect("valid").is_empty());
        let warning = pb::SeriesResponse {
            result: Some(Frame::Warning("careful".into())),
        };
        assert_eq!(
            series_frames_from_proto(warning).expect("valid"),
            vec![SeriesFrame::Warning("careful".into())]
        );
        let unknown = pb::SeriesResponse {
            result: Some(Frame::Series(wire_series(&[("a", "1")], 3))),
        };
        assert_eq!(
            series_frames_from_proto(unknown).expect_err("must be rejected"),
            ConvertError::UnknownEnum {
                field: "Chunk.Encoding",
                value: 3
            }
        );
    }

    fn store_info(time_range: Option<TimeRange>) -> StoreInfo {
        StoreInfo {
            component: ComponentType::Sidecar,
            label_sets: vec![Labels::from_pairs([("cluster", "eu")])],
            time_range,
            supports_without_replica_labels: time_range.is_some(),
            serves_metadata: true,
        }
    }

    #[test]
    fn info_sub_messages_announce_served_apis() {
        let served = infopb::InfoResponse::from(store_info(TimeRange::new(1, 2)));
        assert_eq!(served.component_type, "sidecar");
        assert!(served.metric_metadata.is_some());
        assert_eq!(
            served.store.as_ref().map(|s| (s.min_time, s.max_time)),
            Some((1, 2))
        );
        assert_eq!(StoreInfo::from(served), store_info(TimeRange::new(1, 2)));

        let no_series = infopb::InfoResponse::from(store_info(None));
        assert!(no_series.store.is_none());
        assert_eq!(StoreInfo::from(no_series), store_info(None));

        let odd = infopb::InfoResponse {
            component_type: "something-new".into(),
            store: Some(infopb::StoreInfo {
                min_time: 5,
                max_time: 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        let odd = StoreInfo::from(odd);
        assert_eq!(
            (odd.component, odd.time_range),
            (ComponentType::Unknown, None)
        );
    }

    #[test]
    fn legacy_info_round_trips_what_it_can_say() {
        let legacy = pb::InfoResponse::from(store_info(TimeRange::new(1, 2)));
        assert_eq!(legacy.store_type, pb::StoreType::Sidecar as i32);
        assert_eq!(
            legacy.labels,
            vec![pb::Label {
                name: "cluster".into(),
                value: "eu".into()
            }]
        );
        let back = StoreInfo::from(legacy);
        assert_eq!(back.label_sets, store_info(None).label_sets);
        assert_eq!(back.time_range, TimeRange::new(1, 2));
        assert!(!back.serves_metadata && !back.supports_without_replica_labels);

        assert_eq!(
            StoreInfo::from(pb::InfoResponse::from(store_info(None))).time_range,
            None
        );

        let flat_only = pb::InfoResponse {
            labels: vec![
                pb::Label {
                    name: "b".into(),
                    value: "2".into(),
                },
                pb::Label {
                    name: "a".into(),
                    value: "1".into(),
                },
            ],
            store_type: 42,
            ..Default::default()
        };
        let flat_only = StoreInfo::from(flat_only);
        assert_eq!(
            flat_only.label_sets,
            vec![Labels::from_pairs([("a", "1"), ("b", "2")])]
        );
        assert_eq!(flat_only.component, ComponentType::Unknown);
    }
}
