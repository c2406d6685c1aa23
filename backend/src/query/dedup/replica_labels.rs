//! The replica labels dedup strips and groups by (THANOS.md §2 "More on replica labels").
//!
//! Mirrors thanos cmd/thanos/query.go (`--query.replica-label`) and pkg/api/query/v1.go
//! (`replicaLabels[]`). It knows label names only: no flags parsing, no HTTP.

use shared::labels::Labels;

/// Names of the labels that tell replicas of one series apart (e.g. `replica`, `prometheus_replica`).
///
/// Every replica label is removed together; a series may lack some of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaLabels(Vec<String>);

impl ReplicaLabels {
    /// From `--query.replica-label` flag values: each is split on commas, empty names are
    /// dropped, and the result is sorted and deduplicated.
    pub fn from_flags<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut names: Vec<String> = values
            .into_iter()
            .flat_map(|value| {
                value
                    .as_ref()
                    .split(',')
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        names.sort();
        names.dedup();
        Self(names)
    }

    /// From a request's `replicaLabels[]` parameters, which replace the flags for that request and
    /// are used as given (not split, sorted or deduplicated, as upstream).
    pub fn from_request(values: Vec<String>) -> Self {
        Self(values)
    }

    /// The label names.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Whether there are none; then dedup neither strips nor merges anything.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The label names, e.g. for a Series request's `without_replica_labels`.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }

    /// Removes every replica label from `labels`; returns whether any was present.
    pub fn strip(&self, labels: &mut Labels) -> bool {
        labels.remove_names(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_split_sorted_and_deduplicated() {
        let labels = ReplicaLabels::from_flags([
            "replica,,rule_replica",
            "",
            "prometheus_replica",
            "replica",
        ]);
        assert_eq!(
            labels.names(),
            ["prometheus_replica", "replica", "rule_replica"]
        );
        assert!(ReplicaLabels::from_flags([",", ""]).is_empty());
    }

    #[test]
    fn request_values_replace_flags_as_given() {
        let labels = ReplicaLabels::from_request(vec!["b".into(), "a".into(), "b".into()]);
        assert_eq!(labels.names(), ["b", "a", "b"]);
    }

    #[test]
    fn strip_removes_all_present_replica_labels() {
        let replica_labels = ReplicaLabels::from_flags(["replica,region_replica"]);
        let mut labels = Labels::from_pairs([("__name__", "up"), ("replica", "0"), ("job", "x")]);
        assert!(replica_labels.strip(&mut labels));
        assert_eq!(
            labels,
            Labels::from_pairs([("__name__", "up"), ("job", "x")])
        );
        assert!(!replica_labels.strip(&mut labels));
    }
}
