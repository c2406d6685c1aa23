//! Tests of the fan-out proxy against in-memory stores ([`MemStore`]), by concern: which stores
//! are asked, how Series answers merge, partial-response handling, label answers, metric
//! metadata and the announcement. This file holds the shared fixtures.

mod info;
mod labels;
mod metadata;
mod partial;
mod selection;
mod series;

use std::sync::Arc;

use futures::StreamExt;
use shared::labels::Matcher;
use shared::series::TimeRange;

use super::*;
use crate::query::memstore::{MemStore, series, sidecar_info};
use crate::storeapi::Series;

fn store_ref(address: &str, store: &Arc<MemStore>, info: StoreInfo) -> StoreRef {
    StoreRef {
        address: address.to_string(),
        store: Arc::clone(store) as Arc<dyn Store>,
        info: Arc::new(info),
    }
}

/// A proxy over `stores`, each given as (address, store); the announcement is the store's own.
async fn proxy(stores: &[(&str, &Arc<MemStore>)], config: ProxyConfig) -> ProxyStore {
    let mut refs = Vec::new();
    for (address, store) in stores {
        let info = store.info().await.expect("test stores announce themselves");
        refs.push(store_ref(address, store, info));
    }
    ProxyStore::new(Arc::new(refs), config)
}

fn request(min_ms: i64, max_ms: i64, matchers: Vec<Matcher>) -> SeriesRequest {
    SeriesRequest::new(
        TimeRange::new(min_ms, max_ms).expect("valid range"),
        matchers,
    )
}

fn up() -> Vec<Matcher> {
    vec![Matcher::equal("__name__", "up")]
}

/// Everything the proxy sends: series and warnings in order, or the error that ended it.
async fn collect(stream: SeriesStream) -> Result<(Vec<Series>, Vec<String>), StoreError> {
    let mut series = Vec::new();
    let mut warnings = Vec::new();
    let mut stream = stream;
    while let Some(frame) = stream.next().await {
        match frame? {
            SeriesFrame::Series(s) => series.push(s),
            SeriesFrame::Warning(w) => warnings.push(w),
        }
    }
    Ok((series, warnings))
}

fn label_sets(series: &[Series]) -> Vec<String> {
    series.iter().map(|s| s.labels.to_string()).collect()
}

fn store(external: &[(&str, &str)], min_ms: i64, max_ms: i64, data: Vec<Series>) -> MemStore {
    MemStore::new(sidecar_info(external, min_ms, max_ms), data)
}
