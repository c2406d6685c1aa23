//! `/api/v1/query_exemplars`: no store Chorus talks to serves exemplars yet, so a valid request
//! answers an empty list (upstream: prometheus web/api/v1/api.go `queryExemplars`).
//!
//! The request is still checked as Prometheus checks it, so clients see the same errors:
//! `start` and `end` (default: all of time) must parse and be ordered, and `query` must parse.
//! An expression without any series selector (`1+1`) has nothing to look up: Prometheus then
//! answers `204 No Content`, and so does this handler.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::params::{MAX_TIME_MS, MIN_TIME_MS, Params, time_param};
use super::success;
use crate::promql::parser::{self, Expr};

/// `/api/v1/query_exemplars`.
pub async fn query_exemplars(params: Params) -> Result<Response, ApiError> {
    let start_ms = time_param(&params, "start", MIN_TIME_MS)?;
    let end_ms = time_param(&params, "end", MAX_TIME_MS)?;
    if end_ms < start_ms {
        return Err(ApiError::BadRequest(
            "end timestamp must not be before start timestamp".into(),
        ));
    }
    let expr = parser::parse(params.get("query").unwrap_or_default())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if !selects_series(&expr) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(success(Vec::<()>::new(), Vec::new()))
}

/// Whether `expr` contains a vector selector anywhere (upstream `parser.ExtractSelectors` is
/// non-empty).
fn selects_series(expr: &Expr) -> bool {
    match expr {
        Expr::Number(_) | Expr::String(_) => false,
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) => true,
        Expr::Subquery(e) => selects_series(&e.expr),
        Expr::Call(call) => call.args.iter().any(selects_series),
        Expr::Aggregate(a) => {
            selects_series(&a.expr) || a.param.as_deref().is_some_and(selects_series)
        }
        Expr::Binary(b) => selects_series(&b.lhs) || selects_series(&b.rhs),
        Expr::Unary(u) => selects_series(&u.expr),
        Expr::Paren(p) => selects_series(&p.expr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_found_anywhere_in_the_tree() {
        let has = |q: &str| selects_series(&parser::parse(q).expect("valid PromQL"));
        assert!(!has("1 + 1"));
        assert!(!has("time() * -(2)"));
        assert!(has("up"));
        assert!(has("sum by (job) (rate(x[5m]))"));
        assert!(has("quantile(scalar(y), vector(1))"));
        assert!(has("2 * (max_over_time(z[1h:1m]))"));
    }
}
