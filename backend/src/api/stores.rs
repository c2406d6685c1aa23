//! `/api/v1/stores`: the endpoints the querier knows, grouped by component type, in Thanos's
//! shape (thanos pkg/api/query/v1.go `stores`; THANOS.md §3). The grouping, ordering and
//! filtering are the endpoint set's business ([`super::EndpointStatus::stores`]); this only
//! wraps them in the envelope.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::{ApiState, success};

/// `/api/v1/stores`.
pub async fn stores(State(state): State<Arc<ApiState>>) -> Response {
    success(state.endpoints.stores(), state.endpoints.warnings())
}
