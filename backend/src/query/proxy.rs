//! The fan-out proxy: one [`Store`] over all queryable stores (upstream: thanos
//! pkg/store/proxy.go, `ProxyStore`; THANOS.md §5).
//!
//! A request goes to every store whose announced time range overlaps it and whose external label
//! sets the matchers do not rule out, all at once; Series answers are k-way merged
//! ([`merge_sorted`]), label answers unioned, metric metadata merged (`metadata`, asked of the
//! stores that announce it). A failing or silent store becomes a warning or
//! aborts the request, as the request's [`PartialResponse`] says.
//!
//! The proxy sees stores only through [`Store`] and a [`StoreSet`]: it knows nothing of gRPC,
//! health checks or discovery (the endpoint set, tests and the demo supply the stores).

mod fanout;
mod metadata;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, Stream, StreamExt, future};
use shared::labels::{Labels, Matcher};
use shared::series::TimeRange;
use tracing::Instrument;

use super::merge::{merge_sorted, strip_and_resort};
use crate::storeapi::{
    ComponentType, LabelNamesRequest, LabelValuesRequest, LabelsResponse, MetadataResponse,
    MetricMetadataRequest, PartialResponse, SeriesFrame, SeriesRequest, SeriesStream, Store,
    StoreError, StoreInfo,
};

/// The error when there is no store at all and the request does not accept partial answers.
pub const NO_STORES: &str = "No StoreAPIs available";

/// One store the proxy may query, with what it last announced.
#[derive(Clone)]
pub struct StoreRef {
    /// How the store is named in warnings and logs: its `host:port`.
    pub address: String,
    /// The store.
    pub store: Arc<dyn Store>,
    /// What it announced in its last successful `Info`.
    pub info: Arc<StoreInfo>,
}

impl StoreRef {
    /// Whether the store may hold series in `range` matching `matchers` (thanos
    /// pkg/store/proxy.go `storeMatches`): it serves Series, its time range overlaps, and some
    /// external label set is not contradicted by a matcher. A matcher on a label the set lacks
    /// says nothing, so it does not rule the set out; a store without label sets matches.
    pub fn may_match(&self, range: &TimeRange, matchers: &[Matcher]) -> bool {
        let Some(store_range) = &self.info.time_range else {
            return false;
        };
        store_range.overlaps(range) && label_sets_match(&self.info.label_sets, matchers)
    }
}

fn label_sets_match(label_sets: &[Labels], matchers: &[Matcher]) -> bool {
    label_sets.is_empty()
        || label_sets.iter().any(|set| {
            matchers
                .iter()
                .all(|m| set.get(m.name()).is_none_or(|v| m.matches(v)))
        })
}

/// Where the proxy gets its stores from, asked once per request.
pub trait StoreSet: Send + Sync {
    /// The stores that may be queried now (healthy ones), in a stable order.
    fn queryable(&self) -> Vec<StoreRef>;
}

/// A fixed list of stores (the demo and tests).
impl StoreSet for Vec<StoreRef> {
    fn queryable(&self) -> Vec<StoreRef> {
        self.clone()
    }
}

/// How the proxy treats its stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `--store.response-timeout`: the longest a store may stay silent in a Series call (before
    /// its first frame and between frames), and the longest a label call may take. `None`: no
    /// deadline.
    pub response_timeout: Option<Duration>,
    /// `--query.replica-label`: removed from the label sets the proxy announces in `Info`, since
    /// it serves replicas deduplicated.
    pub replica_labels: Vec<String>,
}

/// The fan-out proxy; itself a [`Store`] (the querier's own StoreAPI).
pub struct ProxyStore {
    stores: Arc<dyn StoreSet>,
    config: ProxyConfig,
}

impl ProxyStore {
    /// A proxy over `stores`.
    pub fn new(stores: Arc<dyn StoreSet>, config: ProxyConfig) -> Self {
        Self { stores, config }
    }

    /// The queryable stores, or the [`NO_STORES`] error when there are none and partial answers
    /// are not accepted.
    fn stores_for(&self, policy: PartialResponse) -> Result<Vec<StoreRef>, StoreError> {
        let stores = self.stores.queryable();
        if stores.is_empty() && policy == PartialResponse::Abort {
            return Err(StoreError::Aborted(NO_STORES.to_string()));
        }
        Ok(stores)
    }

    fn selected(
        &self,
        policy: PartialResponse,
        range: &TimeRange,
        matchers: &[Matcher],
    ) -> Result<Vec<StoreRef>, StoreError> {
        let stores = self.stores_for(policy)?;
        let total = stores.len();
        let selected: Vec<StoreRef> = stores
            .into_iter()
            .filter(|s| s.may_match(range, matchers))
            .collect();
        tracing::debug!(
            queried = ?selected.iter().map(|s| s.address.as_str()).collect::<Vec<_>>(),
            filtered_out = total - selected.len(),
            "selected stores"
        );
        Ok(selected)
    }

    /// Sends `request` to every selected store with `call`, at once, and unions the answers.
    async fn fan_out_labels<R, F>(
        &self,
        stores: Vec<StoreRef>,
        policy: PartialResponse,
        what: &'static str,
        request: R,
        call: F,
    ) -> Result<LabelsResponse, StoreError>
    where
        R: Clone,
        F: Fn(Arc<dyn Store>, R) -> BoxFuture<'static, Result<LabelsResponse, StoreError>>,
    {
        let timeout = self.config.response_timeout;
        let answers: FuturesUnordered<_> = stores
            .into_iter()
            .map(|s| {
                let answer = call(Arc::clone(&s.store), request.clone());
                async move { (s.address, within(timeout, answer).await) }
            })
            .collect();
        union_labels(answers, policy, what).await
    }
}

/// Runs a label call with the response deadline, if any.
async fn within(
    timeout: Option<Duration>,
    answer: BoxFuture<'static, Result<LabelsResponse, StoreError>>,
) -> Result<LabelsResponse, StoreError> {
    match timeout {
        None => answer.await,
        Some(limit) => tokio::time::timeout(limit, answer)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::DeadlineExceeded(format!(
                    "no answer in {}",
                    humantime::format_duration(limit)
                )))
            }),
    }
}

/// Unions the stores' answers into sorted, unique values; a failed store becomes a warning
/// (Warn) or fails the request at once (Abort).
async fn union_labels(
    mut answers: impl Stream<Item = (String, Result<LabelsResponse, StoreError>)> + Unpin,
    policy: PartialResponse,
    what: &str,
) -> Result<LabelsResponse, StoreError> {
    let mut values = BTreeSet::new();
    let mut warnings = Vec::new();
    while let Some((address, answer)) = answers.next().await {
        match answer {
            Ok(answer) => {
                values.extend(answer.values);
                warnings.extend(answer.warnings);
            }
            Err(error) => {
                let message = format!("fetch {what} from store {address}: {error}");
                tracing::debug!(endpoint = %address, %message, "store failed during label fan-out");
                match policy {
                    PartialResponse::Warn => warnings.push(message),
                    PartialResponse::Abort => return Err(StoreError::Aborted(message)),
                }
            }
        }
    }
    Ok(LabelsResponse {
        values: values.into_iter().collect(),
        warnings,
    })
}

/// Keeps at most `limit` values (0 or `None`: all, as on the wire).
fn truncate(values: &mut Vec<String>, limit: Option<u64>) {
    if let Some(limit) = limit.filter(|l| *l > 0) {
        values.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
}

/// Ends the stream after `limit` series (0 or `None`: no limit); warnings pass.
fn limit_series(stream: SeriesStream, limit: Option<u64>) -> SeriesStream {
    let Some(limit) = limit.filter(|l| *l > 0) else {
        return stream;
    };
    stream
        .scan(0u64, move |sent, frame| {
            let keep = match &frame {
                Ok(SeriesFrame::Series(_)) if *sent >= limit => false,
                Ok(SeriesFrame::Series(_)) => {
                    *sent += 1;
                    true
                }
                Ok(SeriesFrame::Warning(_)) | Err(_) => true,
            };
            future::ready(keep.then_some(frame))
        })
        .boxed()
}

impl Store for ProxyStore {
    /// The querier as a store (THANOS.md §5): component `query`, the union of the queryable
    /// stores' label sets without the replica labels, the union of their time ranges (all of
    /// time when there is none), and it strips replica labels itself. A set that only held
    /// replica labels becomes the empty set and is kept: it tells a querier above that this one
    /// may hold any series, which dropping it would deny. It serves metric metadata (merged from
    /// the stores that do), as the Thanos querier announces.
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        let stores = self.stores.queryable();
        let mut label_sets = BTreeSet::new();
        let mut range: Option<TimeRange> = None;
        for store in &stores {
            for set in &store.info.label_sets {
                let mut set = set.clone();
                set.remove_names(&self.config.replica_labels);
                label_sets.insert(set);
            }
            if let Some(r) = store.info.time_range {
                range = Some(range.map_or(r, |acc| acc.union(&r)));
            }
        }
        let info = StoreInfo {
            component: ComponentType::Query,
            label_sets: label_sets.into_iter().collect(),
            time_range: Some(range.unwrap_or(TimeRange::ALL)),
            supports_without_replica_labels: true,
            serves_metadata: true,
        };
        future::ready(Ok(info)).boxed()
    }

    /// Series from every matching store, merged by labels. Stores that cannot strip
    /// `without_replica_labels` have them stripped and their series re-sorted here.
    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        let span = tracing::debug_span!(
            "proxy_series",
            mint_ms = request.range.min_ms(),
            maxt_ms = request.range.max_ms(),
            matchers = %display_matchers(&request.matchers),
        );
        async move {
            let stores =
                self.selected(request.partial_response, &request.range, &request.matchers)?;
            let strip = &request.without_replica_labels;
            let streams = stores
                .into_iter()
                .map(|store| {
                    let strips_itself = store.info.supports_without_replica_labels;
                    let series =
                        fanout::store_series(store, request.clone(), self.config.response_timeout);
                    if strip.is_empty() || strips_itself {
                        series
                    } else {
                        strip_and_resort(series, strip.clone())
                    }
                })
                .collect();
            Ok(limit_series(merge_sorted(streams), request.limit))
        }
        .instrument(span)
        .boxed()
    }

    /// Label names of every matching store, unioned. `without_replica_labels` is not forwarded
    /// (Thanos's label APIs never send it, THANOS.md §3); the proxy drops those names itself.
    fn label_names(
        &self,
        request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        let span = tracing::debug_span!(
            "proxy_label_names",
            mint_ms = request.range.min_ms(),
            maxt_ms = request.range.max_ms(),
            matchers = %display_matchers(&request.matchers),
        );
        async move {
            let stores =
                self.selected(request.partial_response, &request.range, &request.matchers)?;
            let forwarded = LabelNamesRequest {
                without_replica_labels: Vec::new(),
                ..request.clone()
            };
            let mut answer = self
                .fan_out_labels(
                    stores,
                    request.partial_response,
                    "label names",
                    forwarded,
                    |store, forwarded| async move { store.label_names(forwarded).await }.boxed(),
                )
                .await?;
            answer
                .values
                .retain(|name| !request.without_replica_labels.contains(name));
            truncate(&mut answer.values, request.limit);
            Ok(answer)
        }
        .instrument(span)
        .boxed()
    }

    /// Values of one label in every matching store, unioned. A replica label that is to be left
    /// out has no values.
    fn label_values(
        &self,
        request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        let span = tracing::debug_span!(
            "proxy_label_values",
            label = %request.label,
            mint_ms = request.range.min_ms(),
            maxt_ms = request.range.max_ms(),
            matchers = %display_matchers(&request.matchers),
        );
        async move {
            let stores =
                self.selected(request.partial_response, &request.range, &request.matchers)?;
            if request.without_replica_labels.contains(&request.label) {
                return Ok(LabelsResponse::default());
            }
            let forwarded = LabelValuesRequest {
                without_replica_labels: Vec::new(),
                ..request.clone()
            };
            let mut answer = self
                .fan_out_labels(
                    stores,
                    request.partial_response,
                    "label values",
                    forwarded,
                    |store, forwarded| async move { store.label_values(forwarded).await }.boxed(),
                )
                .await?;
            truncate(&mut answer.values, request.limit);
            Ok(answer)
        }
        .instrument(span)
        .boxed()
    }

    /// Metadata of every store that announces the metadata API, merged (see `metadata`).
    fn metric_metadata(
        &self,
        request: MetricMetadataRequest,
    ) -> BoxFuture<'_, Result<MetadataResponse, StoreError>> {
        let span = tracing::debug_span!(
            "proxy_metric_metadata",
            metric = request.metric.as_deref().unwrap_or(""),
            limit = ?request.limit,
        );
        self.fan_out_metadata(request).instrument(span).boxed()
    }
}

fn display_matchers(matchers: &[Matcher]) -> String {
    let parts: Vec<String> = matchers.iter().map(Matcher::to_string).collect();
    format!("{{{}}}", parts.join(", "))
}
