//! The metadata endpoints: `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/<name>/values`
//! (upstream: thanos pkg/api/query/v1.go `series`, `labelNames`, `labelValues`; THANOS.md §3).
//!
//! Each `match[]` selector is one store call; results are united, sorted and cut to `limit`.
//! `/series` deduplicates by sending the replica labels as `without_replica_labels` (the proxy
//! strips them and merges replicas). The label endpoints send no replica labels, as Thanos
//! does (it builds their querier with `replicaLabels = nil`, so `isDedupEnabled` is false in
//! pkg/query/querier.go `LabelNames`/`LabelValues`): replica label names and values show up in
//! their results. Talks to stores only through [`crate::storeapi::Store`].

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::future::try_join_all;
use shared::labels::Matcher;
use shared::series::TimeRange;

use super::error::ApiError;
use super::params::{
    Params, limit_param, match_sets, metadata_range, partial_response_param, replica_labels_param,
    store_limit,
};
use super::stream::{SeriesBody, SortedUnion, TRUNCATED_WARNING, deadline_after, first_series};
use super::{ApiState, success};
use crate::storeapi::{
    LabelNamesRequest, LabelValuesRequest, LabelsResponse, PartialResponse, SeriesRequest,
    StoreError,
};

/// `/api/v1/series`: label sets of the series matching any `match[]`, streamed.
pub async fn series(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let sets = match_sets(&params, true)?;
    let range = metadata_range(&params)?;
    let without_replica_labels = replica_labels_param(&params, &state.replica_labels)?;
    let limit = limit_param(&params)?;
    let partial_response = partial_response_param(&params, state.partial_response)?;

    let deadline = deadline_after(state.query_timeout);
    let opened = sets.into_iter().map(|matchers| {
        let mut request = SeriesRequest::new(range, matchers);
        request.skip_chunks = true;
        request.without_replica_labels = without_replica_labels.clone();
        request.partial_response = partial_response;
        request.limit = store_limit(limit);
        state.store.series(request)
    });
    let streams = tokio::time::timeout_at(deadline, try_join_all(opened))
        .await
        .map_err(|_| ApiError::Timeout(state.query_timeout))??;

    let mut union = SortedUnion::new(streams);
    let mut warnings = Vec::new();
    let first = first_series(&mut union, deadline, state.query_timeout, &mut warnings).await?;
    let partial = !warnings.is_empty();
    let body = SeriesBody {
        union,
        first,
        warnings,
        limit,
        deadline,
        timeout: state.query_timeout,
    };
    let mut response = (
        [(header::CONTENT_TYPE, "application/json")],
        body.into_body(),
    )
        .into_response();
    if partial {
        // As in `success`: a partial answer must not be cached. Warnings that arrive once the
        // body has started come too late for this header.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

/// `/api/v1/labels`: label names of the series matching any `match[]` (or all series).
pub async fn label_names(
    State(state): State<Arc<ApiState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let query = LabelQuery::from_params(&params, &state)?;
    let calls = query.sets.into_iter().map(|matchers| {
        state.store.label_names(LabelNamesRequest {
            range: query.range,
            matchers,
            without_replica_labels: Vec::new(),
            partial_response: query.partial_response,
            limit: store_limit(query.limit),
        })
    });
    let responses = with_timeout(&state, try_join_all(calls)).await?;
    Ok(united(responses, query.limit))
}

/// `/api/v1/label/<name>/values`: values of one label of the series matching any `match[]`.
pub async fn label_values(
    State(state): State<Arc<ApiState>>,
    name: Result<Path<String>, PathRejection>,
    params: Params,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let label = label_name_from_path(&name)?;
    let query = LabelQuery::from_params(&params, &state)?;
    let calls = query.sets.into_iter().map(|matchers| {
        state.store.label_values(LabelValuesRequest {
            label: label.clone(),
            range: query.range,
            matchers,
            without_replica_labels: Vec::new(),
            partial_response: query.partial_response,
            limit: store_limit(query.limit),
        })
    });
    let responses = with_timeout(&state, try_join_all(calls)).await?;
    Ok(united(responses, query.limit))
}

/// What both label endpoints read from their parameters, in the order they are checked.
struct LabelQuery {
    range: TimeRange,
    partial_response: PartialResponse,
    limit: Option<usize>,
    /// One store call per set; no `match[]` means one call without matchers.
    sets: Vec<Vec<Matcher>>,
}

impl LabelQuery {
    fn from_params(params: &Params, state: &ApiState) -> Result<Self, ApiError> {
        Ok(Self {
            range: metadata_range(params)?,
            partial_response: partial_response_param(params, state.partial_response)?,
            limit: limit_param(params)?,
            sets: or_all_series(match_sets(params, false)?),
        })
    }
}

/// No `match[]` means one call without matchers.
fn or_all_series<T>(sets: Vec<Vec<T>>) -> Vec<Vec<T>> {
    if sets.is_empty() {
        vec![Vec::new()]
    } else {
        sets
    }
}

/// Runs store calls under the query timeout.
async fn with_timeout<T>(
    state: &ApiState,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(state.query_timeout, call).await {
        Err(_) => Err(ApiError::Timeout(state.query_timeout)),
        Ok(result) => Ok(result?),
    }
}

/// The sorted union of several responses cut to `limit`, with their warnings (each once).
fn united(responses: Vec<LabelsResponse>, limit: Option<usize>) -> Response {
    let mut values = BTreeSet::new();
    let mut warnings: Vec<String> = Vec::new();
    for response in responses {
        values.extend(response.values);
        for warning in response.warnings {
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
    }
    let mut values: Vec<String> = values.into_iter().collect();
    if let Some(limit) = limit
        && values.len() > limit
    {
        values.truncate(limit);
        warnings.push(TRUNCATED_WARNING.to_string());
    }
    success(values, warnings)
}

/// The label name in a `/label/<name>/values` path: `U__`-escaped names are unescaped, and
/// any other non-empty UTF-8 name is accepted (Prometheus 3 web/api/v1/api.go `labelValues`
/// with UTF-8 name validation).
fn label_name_from_path(raw: &str) -> Result<String, ApiError> {
    let name = raw
        .strip_prefix("U__")
        .and_then(unescape_name)
        .unwrap_or_else(|| raw.to_string());
    if name.is_empty() {
        return Err(ApiError::BadRequest(format!("invalid label name: {raw:?}")));
    }
    Ok(name)
}

/// Reverses Prometheus's "value encoding" escaping (prometheus/common model `UnescapeName`):
/// `__` is `_`, `_<hex>_` is the code point, other characters stand for themselves. `None`
/// when malformed, in which case the name is used as given.
fn unescape_name(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        let mut hex = String::new();
        loop {
            match chars.next()? {
                '_' => break,
                d if d.is_ascii_hexdigit() && hex.len() < 8 => hex.push(d),
                _ => return None,
            }
        }
        if hex.is_empty() {
            out.push('_');
        } else {
            out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn unescaping_never_panics(input in "U__[_0-9a-fA-Fxz.é]{0,12}") {
            let _ = label_name_from_path(&input);
        }
    }

    #[test]
    fn escaped_label_names_are_unescaped() {
        assert_eq!(label_name_from_path("job"), Ok("job".to_string()));
        assert_eq!(
            label_name_from_path("U__foo_2e_bar"),
            Ok("foo.bar".to_string())
        );
        assert_eq!(label_name_from_path("U__a__b"), Ok("a_b".to_string()));
        assert_eq!(
            label_name_from_path("U__bad_zz_"),
            Ok("U__bad_zz_".to_string())
        );
        assert_eq!(
            label_name_from_path("U__"),
            Err(ApiError::BadRequest("invalid label name: \"U__\"".into()))
        );
    }
}
