//! Metric metadata from Prometheus: `GET /api/v1/metadata` with `metric` and `limit`
//! (prometheus web/api/v1/api.go `metricMetadata`; the Thanos sidecar proxies it the same way in
//! pkg/metadata/prometheus.go). Speaks Prometheus's JSON only; the StoreAPI side is in
//! [`super::source`].

use std::collections::BTreeMap;

use reqwest::Url;

use super::prometheus::{PrometheusClient, PrometheusError};
use crate::storeapi::{MetadataResponse, MetricMetadata};

impl PrometheusClient {
    /// The metadata Prometheus holds from its targets, for `metric` only when given, for at most
    /// `limit` metrics when given (`Some(0)`: none). Prometheus's warnings are kept.
    pub async fn metric_metadata(
        &self,
        metric: Option<&str>,
        limit: Option<usize>,
    ) -> Result<MetadataResponse, PrometheusError> {
        let url = self.metadata_url(metric, limit);
        let (metadata, warnings) = self
            .get_json::<BTreeMap<String, Vec<MetricMetadata>>>(url)
            .await?;
        // Merging into an empty answer drops repeated descriptions, should a server send any.
        let mut response = MetadataResponse::default();
        response.merge(MetadataResponse { metadata, warnings });
        Ok(response)
    }

    fn metadata_url(&self, metric: Option<&str>, limit: Option<usize>) -> Url {
        let mut url = self.endpoint(&["api", "v1", "metadata"]);
        {
            let mut query = url.query_pairs_mut();
            if let Some(metric) = metric {
                query.append_pair("metric", metric);
            }
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn url_carries_metric_and_limit_only_when_given() {
        let client = PrometheusClient::new("http://127.0.0.1:9090/p", Duration::from_secs(1), 10)
            .expect("valid Prometheus URL");
        assert_eq!(
            client.metadata_url(None, None).as_str(),
            "http://127.0.0.1:9090/p/api/v1/metadata?"
        );
        assert_eq!(
            client.metadata_url(Some("up x"), Some(0)).as_str(),
            "http://127.0.0.1:9090/p/api/v1/metadata?metric=up+x&limit=0"
        );
    }

    #[test]
    fn prometheus_json_reads_into_metadata() {
        let data = r#"{"up":[{"type":"gauge","help":"Up.","unit":""}],"x":[{"type":"counter","help":"","unit":"seconds"}]}"#;
        let parsed: BTreeMap<String, Vec<MetricMetadata>> =
            serde_json::from_str(data).expect("Prometheus's metadata JSON parses");
        assert_eq!(parsed["up"][0].kind, "gauge");
        assert_eq!(parsed["x"][0].unit, "seconds");
    }
}
