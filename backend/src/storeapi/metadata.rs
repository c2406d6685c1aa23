//! Metric metadata as the StoreAPI carries it: what a scrape target said about each metric
//! (type, help, unit), asked for with a [`MetricMetadataRequest`] and answered with a
//! [`MetadataResponse`] (upstream: thanos pkg/metadata/metadatapb/rpc.proto, the merge in
//! pkg/metadata/metadata.go; prometheus web/api/v1/api.go `metricMetadata`).
//!
//! Plain data and the merge rule only: no wire types, no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::PartialResponse;

/// One distinct description of a metric, as Prometheus's `/api/v1/metadata` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricMetadata {
    /// `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`, `stateset` or
    /// `unknown`, passed through as the target exposed it.
    #[serde(rename = "type")]
    pub kind: String,
    /// The `# HELP` text.
    pub help: String,
    /// The `# UNIT` text, often empty.
    pub unit: String,
}

/// A request for metric metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricMetadataRequest {
    /// Only this metric; `None` asks for every metric.
    pub metric: Option<String>,
    /// At most this many metrics (`Some(0)`: none at all); `None`: no limit.
    pub limit: Option<usize>,
    /// Failure policy of a fan-out.
    pub partial_response: PartialResponse,
}

/// Metric name to its distinct descriptions, with the warnings of the stores asked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetadataResponse {
    /// Each metric's descriptions, without duplicates, in the order first seen.
    pub metadata: BTreeMap<String, Vec<MetricMetadata>>,
    /// Non-fatal problems.
    pub warnings: Vec<String>,
}

impl MetadataResponse {
    /// Adds `other`'s metadata and warnings. A description already listed for a metric is not
    /// added again (replicas scrape the same targets, so their answers are mostly identical).
    pub fn merge(&mut self, other: MetadataResponse) {
        for (metric, metas) in other.metadata {
            let known = self.metadata.entry(metric).or_default();
            for meta in metas {
                if !known.contains(&meta) {
                    known.push(meta);
                }
            }
        }
        self.warnings.extend(other.warnings);
    }

    /// Keeps the first `limit` metrics by name (`None`: all). Applied after merging, so the
    /// answer does not depend on which store answered first.
    pub fn truncate(&mut self, limit: Option<usize>) {
        let Some(limit) = limit else {
            return;
        };
        if self.metadata.len() > limit {
            let cut = self
                .metadata
                .keys()
                .nth(limit)
                .cloned()
                .expect("more than `limit` keys, so the limit-th exists");
            self.metadata.split_off(&cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: &str, help: &str) -> MetricMetadata {
        MetricMetadata {
            kind: kind.into(),
            help: help.into(),
            unit: String::new(),
        }
    }

    fn response(entries: &[(&str, MetricMetadata)], warnings: &[&str]) -> MetadataResponse {
        let mut metadata: BTreeMap<String, Vec<MetricMetadata>> = BTreeMap::new();
        for (metric, m) in entries {
            metadata
                .entry((*metric).into())
                .or_default()
                .push(m.clone());
        }
        MetadataResponse {
            metadata,
            warnings: warnings.iter().map(|w| (*w).into()).collect(),
        }
    }

    #[test]
    fn merge_drops_identical_descriptions_and_keeps_different_ones() {
        let up = meta("gauge", "Whether the target is up.");
        let mut merged = response(&[("up", up.clone())], &["a failed"]);
        merged.merge(response(
            &[("up", up.clone()), ("up", meta("counter", "other"))],
            &["b failed"],
        ));
        merged.merge(response(&[("go_goroutines", meta("gauge", "g"))], &[]));
        assert_eq!(merged.metadata["up"], [up, meta("counter", "other")]);
        assert_eq!(merged.metadata.len(), 2);
        assert_eq!(merged.warnings, ["a failed", "b failed"]);
    }

    #[test]
    fn truncate_keeps_the_first_metrics_by_name() {
        let mut r = response(
            &[
                ("c", meta("gauge", "")),
                ("a", meta("gauge", "")),
                ("b", meta("gauge", "")),
            ],
            &[],
        );
        r.truncate(None);
        assert_eq!(r.metadata.len(), 3);
        r.truncate(Some(5));
        assert_eq!(r.metadata.len(), 3);
        r.truncate(Some(2));
        assert_eq!(r.metadata.keys().collect::<Vec<_>>(), ["a", "b"]);
        r.truncate(Some(0));
        assert!(r.metadata.is_empty());
    }
}
