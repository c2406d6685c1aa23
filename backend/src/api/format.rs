//! `/api/v1/format_query`: the `query` parameter laid out as Prometheus's prettifier does
//! (upstream: prometheus web/api/v1/api.go `formatQuery`, promql/parser/prettier.go).
//!
//! The answer's `data` is the formatted expression as one string; an expression that does not
//! parse is a 400 `bad_data` naming the parameter and the parser's `line:col` message. This
//! module only parses and formats: it never evaluates or reads data.

use axum::response::Response;

use super::error::ApiError;
use super::params::Params;
use super::success;
use crate::promql::parser::{Expr, parse, prettify};

/// `/api/v1/format_query` (GET or POST form).
pub async fn format_query(params: Params) -> Result<Response, ApiError> {
    let expr = query_param(&params)?;
    Ok(success(prettify(&expr), Vec::new()))
}

/// The parsed `query` parameter; a missing one is the empty expression, as Go's `FormValue`
/// reads it, so it fails with the parser's "no expression found in input".
pub(super) fn query_param(params: &Params) -> Result<Expr, ApiError> {
    let text = params.get("query").unwrap_or_default();
    parse(text).map_err(|e| ApiError::invalid_parameter("query", e.to_string()))
}
