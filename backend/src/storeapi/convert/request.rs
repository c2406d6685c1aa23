//! Series, LabelNames and LabelValues requests: validated from the wire, encoded for it.

use proto::thanos as pb;
use shared::series::TimeRange;

use super::{ConvertError, matchers_from_proto, matchers_to_proto};
use crate::storeapi::{
    Aggregate, LabelNamesRequest, LabelValuesRequest, PartialResponse, QueryHints, SeriesRequest,
};

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
pub(super) fn partial_response_from_proto(
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

pub(super) fn partial_response_to_proto(partial_response: PartialResponse) -> i32 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::labels::MatchOp;

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

    #[test]
    fn query_hints_go_on_the_wire_as_thanos_fields() {
        let range = TimeRange::new(0, 10).expect("ordered");
        let mut request = SeriesRequest::new(range, Vec::new());
        let hints = QueryHints {
            step_ms: 30_000,
            func: Some("rate".into()),
            grouping: Some((false, vec!["instance".into()])),
            range_ms: 300_000,
        };
        request.query_hints = Some(hints.clone());
        let wire = pb::SeriesRequest::from(request);
        let sent = wire.query_hints.clone().expect("hints sent");
        assert_eq!(sent.step_millis, 30_000);
        assert_eq!(sent.func.map(|f| f.name).as_deref(), Some("rate"));
        let grouping = sent.grouping.expect("grouping sent");
        assert!(!grouping.by);
        assert_eq!(grouping.labels, ["instance"]);
        assert_eq!(sent.range.map(|r| r.millis), Some(300_000));
        let back = SeriesRequest::try_from(wire).expect("valid request");
        assert_eq!(back.query_hints, Some(hints));
    }
}
