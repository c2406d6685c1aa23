//! The metric metadata fan-out: every queryable store that announces the metadata API is asked
//! at once, the answers merged with identical descriptions dropped, and the request's limit
//! applied to the merged answer (upstream: thanos pkg/metadata/proxy.go and the merge in
//! pkg/metadata/metadata.go; THANOS.md §5 for partial response).
//!
//! Knows stores only through [`StoreRef`]; nothing of gRPC or HTTP.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::{ProxyStore, StoreRef};
use crate::storeapi::{MetadataResponse, MetricMetadataRequest, PartialResponse, StoreError};

impl ProxyStore {
    /// Metadata of the stores that serve it, merged. A failing or silent store becomes a warning
    /// naming it (Warn) or fails the request (Abort); stores' own warnings pass through.
    pub(super) async fn fan_out_metadata(
        &self,
        request: MetricMetadataRequest,
    ) -> Result<MetadataResponse, StoreError> {
        let policy = request.partial_response;
        let stores: Vec<StoreRef> = self
            .stores_for(policy)?
            .into_iter()
            .filter(|s| s.info.serves_metadata)
            .collect();
        tracing::debug!(
            queried = ?stores.iter().map(|s| s.address.as_str()).collect::<Vec<_>>(),
            "selected stores for metric metadata"
        );
        let timeout = self.config.response_timeout;
        let mut answers: FuturesUnordered<_> = stores
            .into_iter()
            .map(|s| {
                let (store, request) = (Arc::clone(&s.store), request.clone());
                async move {
                    let call = store.metric_metadata(request);
                    let answer = match timeout {
                        None => call.await,
                        Some(limit) => {
                            tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                                Err(StoreError::DeadlineExceeded(format!(
                                    "no answer in {}",
                                    humantime::format_duration(limit)
                                )))
                            })
                        }
                    };
                    (s.address, answer)
                }
            })
            .collect();
        let mut merged = MetadataResponse::default();
        while let Some((address, answer)) = answers.next().await {
            match answer {
                Ok(answer) => merged.merge(answer),
                Err(error) => {
                    let message = format!("fetch metric metadata from store {address}: {error}");
                    tracing::debug!(endpoint = %address, %message, "store failed during metadata fan-out");
                    match policy {
                        PartialResponse::Warn => merged.warnings.push(message),
                        PartialResponse::Abort => return Err(StoreError::Aborted(message)),
                    }
                }
            }
        }
        merged.truncate(request.limit);
        Ok(merged)
    }
}
