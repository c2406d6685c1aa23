//! Prometheus's external labels as the sidecar applies them to requests and series.
//!
//! Mirrors thanos pkg/store/prometheus.go (`matchesExternalLabels`, and the label handling in
//! `PrometheusStore.Series`): a matcher on an external label name is decided here against the
//! external value and never forwarded to Prometheus; every series gets the external labels, which
//! replace a series' own label of the same name (`labelpb.ExtendSortedLabels`); requested
//! `without_replica_labels` are removed from the external labels only (THANOS.md §2, "Strip").
//! Pure functions: no I/O, no knowledge of how Prometheus is reached.

use shared::labels::{Labels, Matcher};

/// What the external labels make of a request's matchers.
#[derive(Debug, Clone, PartialEq)]
pub enum MatcherSplit {
    /// A matcher on an external label rejects its value: the store has no matching series.
    Mismatch,
    /// The matchers to forward to Prometheus (those on other label names), in request order.
    Forward(Vec<Matcher>),
}

/// Decides the matchers on external label names and keeps the rest for Prometheus.
pub fn split_matchers(matchers: &[Matcher], external: &Labels) -> MatcherSplit {
    let mut forward = Vec::with_capacity(matchers.len());
    for m in matchers {
        match external.get(m.name()) {
            Some(value) if !m.matches(value) => return MatcherSplit::Mismatch,
            Some(_) => {}
            None => forward.push(m.clone()),
        }
    }
    MatcherSplit::Forward(forward)
}

/// The external labels a response carries: `external` without the names in `without`.
pub fn announced(external: &Labels, without: &[String]) -> Labels {
    let mut labels = external.clone();
    labels.remove_names(without);
    labels
}

/// The labels of a series as the sidecar serves it.
///
/// `external` are the full external labels and `announced` those left after stripping replica
/// labels (see [`announced`]). A series' own label named like an external label is dropped:
/// either the external value replaces it, or the request asked to strip that name.
pub fn series_labels(own: Labels, external: &Labels, announced: &Labels) -> Labels {
    let mut labels = own;
    if labels.iter().any(|l| external.contains(&l.name)) {
        let names: Vec<&str> = external.iter().map(|l| l.name.as_str()).collect();
        labels.remove_names(&names);
    }
    labels.merge_from(announced);
    labels
}

/// Whether a series from Prometheus carries a label whose name is an external label's.
pub fn collides(own: &Labels, external: &Labels) -> bool {
    own.iter().any(|l| external.contains(&l.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::labels::MatchOp;

    fn ext() -> Labels {
        Labels::from_pairs([("cluster", "eu"), ("replica", "a")])
    }

    #[test]
    fn matcher_on_external_label_is_decided_locally() {
        let ms = [
            Matcher::equal("replica", "a"),
            Matcher::equal("__name__", "up"),
        ];
        assert_eq!(
            split_matchers(&ms, &ext()),
            MatcherSplit::Forward(vec![Matcher::equal("__name__", "up")])
        );
        let ms = [
            Matcher::equal("replica", "b"),
            Matcher::equal("__name__", "up"),
        ];
        assert_eq!(split_matchers(&ms, &ext()), MatcherSplit::Mismatch);
        let ms = [Matcher::new(MatchOp::Regex, "cluster", "e.*").expect("valid matcher")];
        assert_eq!(split_matchers(&ms, &ext()), MatcherSplit::Forward(vec![]));
        let ms = [Matcher::new(MatchOp::NotEqual, "cluster", "eu").expect("valid matcher")];
        assert_eq!(split_matchers(&ms, &ext()), MatcherSplit::Mismatch);
    }

    #[test]
    fn matchers_on_other_labels_are_forwarded_even_when_they_match_empty() {
        let ms = [Matcher::equal("job", ""), Matcher::equal("__name__", "up")];
        assert_eq!(
            split_matchers(&ms, &ext()),
            MatcherSplit::Forward(ms.to_vec())
        );
    }

    #[test]
    fn external_labels_replace_own_labels_of_the_same_name() {
        let own = Labels::from_pairs([("__name__", "up"), ("replica", "x"), ("zone", "z")]);
        let out = series_labels(own, &ext(), &ext());
        assert_eq!(
            out,
            Labels::from_pairs([
                ("__name__", "up"),
                ("cluster", "eu"),
                ("replica", "a"),
                ("zone", "z")
            ])
        );
    }

    #[test]
    fn stripped_replica_labels_leave_no_trace() {
        let without = vec!["replica".to_string(), "not_external".to_string()];
        let announced = announced(&ext(), &without);
        assert_eq!(announced, Labels::from_pairs([("cluster", "eu")]));
        let own = Labels::from_pairs([
            ("__name__", "up"),
            ("replica", "x"),
            ("not_external", "kept"),
        ]);
        let out = series_labels(own, &ext(), &announced);
        assert_eq!(
            out,
            Labels::from_pairs([
                ("__name__", "up"),
                ("cluster", "eu"),
                ("not_external", "kept")
            ])
        );
    }

    #[test]
    fn collision_is_detected() {
        assert!(collides(&Labels::from_pairs([("replica", "x")]), &ext()));
        assert!(!collides(&Labels::from_pairs([("job", "x")]), &ext()));
    }
}
