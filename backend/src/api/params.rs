//! Request parameters, read the way Prometheus and Thanos read them: the form body of a POST
//! first, then the URL query (Go's `Request.ParseForm`), with the first value winning for
//! single-valued parameters (`FormValue`).
//!
//! Parsers for times (RFC 3339 or float Unix seconds, prometheus web/api/v1/api.go
//! `parseTime`), durations, booleans (Go's `strconv.ParseBool`), `limit`, `match[]` and the
//! Thanos parameters `dedup`, `partial_response` and `replicaLabels[]` (thanos
//! pkg/api/query/v1.go; THANOS.md §3). Everything here is pure parsing: no store, no HTTP
//! response shaping beyond [`ApiError`].

use std::time::Duration;

use axum::extract::{FromRequest, Query, Request};
use axum::http::{Method, header};
use axum::{Form, RequestExt as _};
use shared::labels::Matcher;
use shared::series::TimeRange;

use super::error::ApiError;
use super::matchers::{MatchError, parse_match};
use crate::promql::parser::literals;
use crate::storeapi::PartialResponse;

/// Prometheus's `MinTime` in ms: the earliest time its API can represent, the default `start`
/// of metadata endpoints (prometheus web/api/v1/api.go).
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974_000;
/// Prometheus's `MaxTime` in ms, the default `end` of metadata endpoints.
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974_999;
/// `MinTime` as Go formats it; clients send it back and it is accepted verbatim.
const MIN_TIME_FORMATTED: &str = "-292273086-05-16T16:47:06Z";
/// `MaxTime` as Go formats it.
const MAX_TIME_FORMATTED: &str = "292277025-08-18T07:12:54.999999999Z";

/// The parameters of one request, in Go's `Request.Form` order: body first, then query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parameters from name/value pairs, in order.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        )
    }

    /// The first value of `name`, `None` when absent or empty (Go's `FormValue` returns "" for both).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let query = Query::<Vec<(String, String)>>::try_from_uri(req.uri())
            .map_err(|e| {
                ApiError::BadRequest(format!("cannot parse query string: {}", e.body_text()))
            })?
            .0;
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let mut pairs = if req.method() == Method::POST && is_form {
            let Form(body) = req
                .extract::<Form<Vec<(String, String)>>, _>()
                .await
                .map_err(|e| {
                    ApiError::BadRequest(format!("cannot parse form data: {}", e.body_text()))
                })?;
            body
        } else {
            Vec::new()
        };
        pairs.extend(query);
        Ok(Self(pairs))
    }
}

/// Parses a timestamp into ms since the epoch: float Unix seconds (rounded to the ms) or
/// RFC 3339 with optional fraction, or Go's rendering of `MinTime`/`MaxTime`.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let invalid = || format!("cannot parse {s:?} to a valid timestamp");
    if let Ok(seconds) = s.parse::<f64>() {
        return float_seconds_to_ms(seconds).ok_or_else(invalid);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    match s {
        MIN_TIME_FORMATTED => Ok(MIN_TIME_MS),
        MAX_TIME_FORMATTED => Ok(MAX_TIME_MS),
        _ => Err(invalid()),
    }
}

/// Whole seconds plus the fraction rounded to ms, as Prometheus does; `None` when not finite or
/// out of the ms range.
fn float_seconds_to_ms(seconds: f64) -> Option<i64> {
    // Beyond this the seconds do not fit an i64 of ms (and the cast below would saturate).
    const LIMIT_SECONDS: f64 = 9.2e15;
    if !seconds.is_finite() || seconds.abs() >= LIMIT_SECONDS {
        return None;
    }
    let whole = seconds.trunc();
    let fraction_ms = ((seconds - whole) * 1000.0).round();
    // Both casts are exact: |whole| < 9.2e15 and |fraction_ms| <= 1000.
    (whole as i64)
        .checked_mul(1000)?
        .checked_add(fraction_ms as i64)
}

/// The time parameter `name` in ms, or `default_ms` when absent or empty.
pub fn time_param(params: &Params, name: &str, default_ms: i64) -> Result<i64, ApiError> {
    match params.get(name) {
        None => Ok(default_ms),
        Some(value) => {
            parse_time(value).map_err(|reason| ApiError::invalid_parameter(name, reason))
        }
    }
}

/// `start` and `end` of a metadata request, defaulting to all of time; `end` before `start` is
/// rejected (prometheus web/api/v1/api.go `series`).
pub fn metadata_range(params: &Params) -> Result<TimeRange, ApiError> {
    let start = time_param(params, "start", MIN_TIME_MS)?;
    let end = time_param(params, "end", MAX_TIME_MS)?;
    TimeRange::new(start, end)
        .ok_or_else(|| ApiError::BadRequest("end timestamp must not be before start time".into()))
}

/// Parses a duration: float seconds (`1.5`) or a Prometheus duration (`1h30m`, units `y w d h m
/// s ms`, each at most once and in that order, as the PromQL parser reads them). Negative
/// durations are rejected (prometheus web/api/v1/api.go `parseDuration`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("cannot parse {s:?} to a valid duration");
    if let Ok(seconds) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| invalid());
    }
    literals::duration_ms(s)
        .map(Duration::from_millis)
        .map_err(|_| invalid())
}

/// Parses a boolean as Go's `strconv.ParseBool` does: `1 t T TRUE true True` and
/// `0 f F FALSE false False`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The boolean parameter `name`, or `default` when absent or empty.
pub fn bool_param(params: &Params, name: &str, default: bool) -> Result<bool, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(value) => parse_bool(value).ok_or_else(|| {
            ApiError::invalid_parameter(name, format!("cannot parse {value:?} to a boolean"))
        }),
    }
}

/// `limit`: `None` when absent or 0 (no limit), otherwise at most that many results
/// (prometheus web/api/v1/api.go `parseLimitParam`).
pub fn limit_param(params: &Params) -> Result<Option<usize>, ApiError> {
    let Some(value) = params.get("limit") else {
        return Ok(None);
    };
    let limit: i64 = value.parse().map_err(|_| {
        ApiError::invalid_parameter("limit", format!("cannot parse {value:?} to an integer"))
    })?;
    match usize::try_from(limit) {
        Err(_) => Err(ApiError::invalid_parameter(
            "limit",
            "limit must be non-negative",
        )),
        Ok(0) => Ok(None),
        Ok(limit) => Ok(Some(limit)),
    }
}

/// The limit to ask stores for: one more than the user's, so truncation can be detected
/// (prometheus web/api/v1/api.go `toHintLimit`).
pub fn store_limit(limit: Option<usize>) -> Option<u64> {
    limit
        .and_then(|l| u64::try_from(l).ok())
        .map(|l| l.saturating_add(1))
}

/// The `match[]` selectors, each parsed into matchers (see [`parse_match`]). With `required`,
/// at least one must be given. As in prometheus web/api/v1/api.go `parseMatchersParam`, every
/// selector is parsed before any is refused for selecting every series.
pub fn match_sets(params: &Params, required: bool) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let parsed: Vec<_> = params.all("match[]").map(parse_match).collect();
    let first_error = parsed
        .iter()
        .filter_map(|r| r.as_ref().err())
        .min_by_key(|e| matches!(e, MatchError::SelectsEverything));
    if let Some(e) = first_error {
        return Err(ApiError::BadRequest(e.to_string()));
    }
    let sets: Vec<_> = parsed.into_iter().flatten().collect();
    if required && sets.is_empty() {
        return Err(ApiError::BadRequest("no match[] parameter provided".into()));
    }
    Ok(sets)
}

/// `partial_response`: the flag's policy unless the parameter overrides it (thanos
/// pkg/api/query/v1.go `parsePartialResponseParam`).
pub fn partial_response_param(
    params: &Params,
    default: PartialResponse,
) -> Result<PartialResponse, ApiError> {
    let enabled = bool_param(params, "partial_response", default == PartialResponse::Warn)?;
    Ok(if enabled {
        PartialResponse::Warn
    } else {
        PartialResponse::Abort
    })
}

/// The replica labels to deduplicate on, or an empty list when `dedup` is false (its default is
/// true). `replicaLabels[]` replaces the configured list when given; empty names are dropped
/// (thanos pkg/api/query/v1.go `parseEnableDedupParam`, `parseReplicaLabelsParam`).
pub fn replica_labels_param(
    params: &Params,
    configured: &[String],
) -> Result<Vec<String>, ApiError> {
    if !bool_param(params, "dedup", true)? {
        return Ok(Vec::new());
    }
    let given: Vec<String> = params
        .all("replicaLabels[]")
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    Ok(if given.is_empty() {
        configured.to_vec()
    } else {
        given
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn parsers_never_panic(input in "\\PC{0,30}") {
            let _ = parse_time(&input);
            let _ = parse_duration(&input);
            let _ = limit_param(&Params::from_pairs([("limit", input.as_str())]));
        }

        #[test]
        fn float_times_stay_within_a_millisecond(seconds in -1.0e12f64..1.0e12) {
            let ms = parse_time(&seconds.to_string()).expect("finite seconds parse");
            prop_assert!((ms as f64 - seconds * 1000.0).abs() <= 1.0);
        }
    }

    #[test]
    fn times_parse_as_prometheus_does() {
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("1.2346"), Ok(1235));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(parse_time("1e3"), Ok(1_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_time("2023-11-14T22:13:20.123456789+01:00"),
            Ok(1_699_996_400_123)
        );
        assert_eq!(parse_time(MIN_TIME_FORMATTED), Ok(MIN_TIME_MS));
        assert_eq!(parse_time(MAX_TIME_FORMATTED), Ok(MAX_TIME_MS));
    }

    #[test]
    fn bad_times_are_rejected_with_prometheus_wording() {
        for bad in [
            "x",
            "NaN",
            "inf",
            "1e300",
            "2023-13-01T00:00:00Z",
            "2023-11-14",
        ] {
            assert_eq!(
                parse_time(bad),
                Err(format!("cannot parse {bad:?} to a valid timestamp"))
            );
        }
    }

    #[test]
    fn time_params_default_and_name_the_parameter() {
        let params = Params::from_pairs([("start", "x"), ("end", "")]);
        assert_eq!(time_param(&params, "end", 7), Ok(7));
        let e = time_param(&params, "start", 0).expect_err("x is not a time");
        assert_eq!(
            e.to_string(),
            "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp"
        );
    }

    #[test]
    fn metadata_range_defaults_to_all_time_and_rejects_end_before_start() {
        let all = metadata_range(&Params::default()).expect("defaults are valid");
        assert_eq!((all.min_ms(), all.max_ms()), (MIN_TIME_MS, MAX_TIME_MS));
        let e = metadata_range(&Params::from_pairs([("start", "10"), ("end", "5")]))
            .expect_err("end < start");
        assert_eq!(
            e,
            ApiError::BadRequest("end timestamp must not be before start time".into())
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86400)));
        assert_eq!(parse_duration("1m500ms"), Ok(Duration::from_millis(60_500)));
        for bad in [
            "",
            "1x",
            "m",
            "30m1h",
            "1h1h",
            "-1",
            "99999999999999y",
            "1.5h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn bools_follow_go() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Some(true));
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(f), Some(false));
        }
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_bool("tRUE"), None);
    }

    #[test]
    fn limits() {
        assert_eq!(limit_param(&Params::default()), Ok(None));
        assert_eq!(limit_param(&Params::from_pairs([("limit", "0")])), Ok(None));
        assert_eq!(
            limit_param(&Params::from_pairs([("limit", "5")])),
            Ok(Some(5))
        );
        let e = limit_param(&Params::from_pairs([("limit", "-1")])).expect_err("negative");
        assert_eq!(
            e.to_string(),
            "invalid parameter \"limit\": limit must be non-negative"
        );
        assert!(limit_param(&Params::from_pairs([("limit", "x")])).is_err());
        assert_eq!(store_limit(Some(5)), Some(6));
        assert_eq!(store_limit(None), None);
    }

    #[test]
    fn match_sets_need_a_non_empty_matcher() {
        let ok = match_sets(
            &Params::from_pairs([("match[]", "up"), ("match[]", r#"{job="x"}"#)]),
            true,
        );
        assert_eq!(ok.expect("valid").len(), 2);
        let none = match_sets(&Params::default(), true).expect_err("required");
        assert_eq!(none.to_string(), "no match[] parameter provided");
        assert_eq!(match_sets(&Params::default(), false), Ok(vec![]));
        for empty in [r#"{job=""}"#, r#"{job=~".*"}"#, "{}"] {
            let e = match_sets(&Params::from_pairs([("match[]", empty)]), false).expect_err(empty);
            assert_eq!(
                e.to_string(),
                "match[] must contain at least one non-empty matcher"
            );
        }
        // A parse error is reported even after a selector of everything.
        let bad = match_sets(
            &Params::from_pairs([("match[]", "{}"), ("match[]", "up{")]),
            true,
        )
        .expect_err("bad");
        assert_eq!(
            bad.to_string(),
            "1:4: parse error: unexpected end of input inside braces"
        );
    }

    #[test]
    fn first_value_wins_and_empty_means_absent() {
        let params = Params::from_pairs([
            ("dedup", ""),
            ("partial_response", "false"),
            ("partial_response", "true"),
        ]);
        assert_eq!(params.get("dedup"), None);
        assert_eq!(
            partial_response_param(&params, PartialResponse::Warn),
            Ok(PartialResponse::Abort)
        );
        assert_eq!(
            partial_response_param(&Params::default(), PartialResponse::Abort),
            Ok(PartialResponse::Abort)
        );
        assert!(
            partial_response_param(
                &Params::from_pairs([("partial_response", "x")]),
                PartialResponse::Warn
            )
            .is_err()
        );
    }

    #[test]
    fn replica_labels_follow_dedup_and_override() {
        let configured = vec!["replica".to_string()];
        assert_eq!(
            replica_labels_param(&Params::default(), &configured),
            Ok(configured.clone())
        );
        let off = Params::from_pairs([("dedup", "false"), ("replicaLabels[]", "r")]);
        assert_eq!(replica_labels_param(&off, &configured), Ok(vec![]));
        let overridden = Params::from_pairs([("replicaLabels[]", "a"), ("replicaLabels[]", "b")]);
        assert_eq!(
            replica_labels_param(&overridden, &configured),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
        assert!(
            replica_labels_param(&Params::from_pairs([("dedup", "maybe")]), &configured).is_err()
        );
    }
}
