//! In-memory stand-ins for the store and the endpoint set, recording what they are asked.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use shared::api::StoreStatus;
use shared::labels::{Labels, Matcher, matches_all};

use crate::api::EndpointStatus;
use crate::storeapi::{
    LabelNamesRequest, LabelValuesRequest, LabelsResponse, MetadataResponse, MetricMetadataRequest,
    Series, SeriesFrame, SeriesRequest, SeriesStream, Store, StoreError, StoreInfo,
};

/// A request the fake store received.
#[derive(Debug, Clone)]
pub enum Received {
    Series(SeriesRequest),
    Names(LabelNamesRequest),
    Values(LabelValuesRequest),
    Metadata(MetricMetadataRequest),
}

/// An in-memory store: filters its series by the matchers, strips `without_replica_labels`
/// and merges what became equal (as the proxy does), applies the limit, and appends its
/// warnings. Optionally fails when the call opens, fails as the first frame, or stalls.
#[derive(Default)]
pub struct FakeStore {
    pub series: Vec<Labels>,
    pub warnings: Vec<String>,
    pub fail_open: Option<StoreError>,
    pub fail_first_frame: Option<StoreError>,
    pub stall: bool,
    /// What `metric_metadata` answers (filtered by metric, cut to the limit, plus `warnings`).
    pub metadata: MetadataResponse,
    pub received: Mutex<Vec<Received>>,
}

impl FakeStore {
    pub fn with_series(series: &[&[(&str, &str)]]) -> Self {
        Self {
            series: series
                .iter()
                .map(|pairs| Labels::from_pairs(pairs.iter().copied()))
                .collect(),
            ..Self::default()
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("not poisoned").clone()
    }

    fn record(&self, request: Received) {
        self.received.lock().expect("not poisoned").push(request);
    }

    fn matching(&self, matchers: &[Matcher], without: &[String]) -> Vec<Labels> {
        let mut out: Vec<Labels> = self
            .series
            .iter()
            .filter(|l| matches_all(matchers, l))
            .map(|l| {
                let mut l = l.clone();
                l.remove_names(without);
                l
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    async fn open(&self) -> Result<(), StoreError> {
        if self.stall {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        self.fail_open.clone().map_or(Ok(()), Err)
    }
}

impl Store for FakeStore {
    fn info(&self) -> BoxFuture<'_, Result<StoreInfo, StoreError>> {
        Box::pin(async { Err(StoreError::Unimplemented("fake".into())) })
    }

    fn series(&self, request: SeriesRequest) -> BoxFuture<'_, Result<SeriesStream, StoreError>> {
        Box::pin(async move {
            self.record(Received::Series(request.clone()));
            self.open().await?;
            let mut frames: Vec<Result<SeriesFrame, StoreError>> = Vec::new();
            if let Some(error) = self.fail_first_frame.clone() {
                frames.push(Err(error));
            }
            let limit = request
                .limit
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(usize::MAX);
            for labels in self
                .matching(&request.matchers, &request.without_replica_labels)
                .into_iter()
                .take(limit)
            {
                frames.push(Ok(SeriesFrame::Series(Series {
                    labels,
                    chunks: Vec::new(),
                })));
            }
            frames.extend(
                self.warnings
                    .iter()
                    .map(|w| Ok(SeriesFrame::Warning(w.clone()))),
            );
            Ok(Box::pin(futures::stream::iter(frames)) as SeriesStream)
        })
    }

    fn label_names(
        &self,
        request: LabelNamesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(async move {
            self.record(Received::Names(request.clone()));
            self.open().await?;
            let mut values: Vec<String> = self
                .matching(&request.matchers, &request.without_replica_labels)
                .iter()
                .flat_map(|l| l.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
                .collect();
            values.sort();
            values.dedup();
            Ok(LabelsResponse {
                values,
                warnings: self.warnings.clone(),
            })
        })
    }

    fn label_values(
        &self,
        request: LabelValuesRequest,
    ) -> BoxFuture<'_, Result<LabelsResponse, StoreError>> {
        Box::pin(async move {
            self.record(Received::Values(request.clone()));
            self.open().await?;
            let mut values: Vec<String> = self
                .matching(&request.matchers, &request.without_replica_labels)
                .iter()
                .filter_map(|l| l.get(&request.label).map(str::to_string))
                .collect();
            values.sort();
            values.dedup();
            Ok(LabelsResponse {
                values,
                warnings: self.warnings.clone(),
            })
        })
    }

    fn metric_metadata(
        &self,
        request: MetricMetadataRequest,
    ) -> BoxFuture<'_, Result<MetadataResponse, StoreError>> {
        Box::pin(async move {
            self.record(Received::Metadata(request.clone()));
            self.open().await?;
            let mut answer = self.metadata.clone();
            if let Some(metric) = &request.metric {
                answer.metadata.retain(|name, _| name == metric);
            }
            answer.truncate(request.limit);
            answer.warnings.extend(self.warnings.iter().cloned());
            Ok(answer)
        })
    }
}

pub struct FakeEndpoints {
    pub ready: bool,
}

impl EndpointStatus for FakeEndpoints {
    fn stores(&self) -> shared::api::Stores {
        let sidecar = StoreStatus {
            name: "127.0.0.1:10901".into(),
            last_check: "2026-01-01T00:00:00.000000001Z".into(),
            last_successful_check: None,
            last_error: None,
            label_sets: vec![Labels::from_pairs([("replica", "a")])],
            min_time: 1000,
            max_time: 2000,
        };
        BTreeMap::from([("sidecar".to_string(), vec![sidecar])])
    }

    fn ready(&self) -> bool {
        self.ready
    }
}

/// Two replicas of two series, told apart by `replica`.
pub fn replicated_store() -> FakeStore {
    FakeStore::with_series(&[
        &[("__name__", "up"), ("job", "api"), ("replica", "a")],
        &[("__name__", "up"), ("job", "api"), ("replica", "b")],
        &[("__name__", "up"), ("job", "db"), ("replica", "a")],
        &[("__name__", "up"), ("job", "db"), ("replica", "b")],
        &[
            ("__name__", "errors_total"),
            ("job", "api"),
            ("replica", "a"),
        ],
    ])
}

/// A query engine that records its requests and answers with a fixed outcome or error.
#[derive(Default)]
pub struct FakeQueryEngine {
    pub answer: Option<Result<crate::api::QueryOutcome, crate::api::ApiError>>,
    pub received: Mutex<Vec<crate::api::QueryRequest>>,
}

impl crate::api::QueryEngine for FakeQueryEngine {
    fn query(
        &self,
        request: crate::api::QueryRequest,
    ) -> BoxFuture<'_, Result<crate::api::QueryOutcome, crate::api::ApiError>> {
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(request);
        let answer = self.answer.clone().unwrap_or_else(|| {
            Ok(crate::api::QueryOutcome {
                value: crate::promql::value::Value::Scalar(1.0),
                warnings: Vec::new(),
                infos: Vec::new(),
                stats: crate::api::QueryStats::default(),
            })
        });
        Box::pin(async move { answer })
    }
}
