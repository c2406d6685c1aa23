//! Annotations: the warnings and infos a query produces alongside its result (upstream
//! util/annotations/annotations.go).
//!
//! A warning says the result may be wrong or incomplete (a mix of floats and histograms in an
//! aggregation, a bucket without `le`); an info says the query may not mean what it looks like
//! (`rate` over something that does not look like a counter). Each is about one node of the
//! query and renders as Prometheus renders it for the API and the test scripts:
//! `PromQL warning: MESSAGE (LINE:COLUMN)`, the position being where that node starts.
//!
//! The evaluator collects them in an [`Annotations`] set (equal annotations reported at many
//! steps count once); [`Annotations::render`] turns them into the strings of an
//! [`Evaluated`] result; [`Note`] words each kind as upstream does. One kind summarises its
//! occurrences instead: [`ForcedMonotonicity`] (upstream
//! `histogramQuantileForcedMonotonicityErr`). Nothing here knows storage, HTTP or evaluation.

mod note;

use std::collections::{BTreeMap, BTreeSet};

pub(crate) use note::Note;

use super::go_format::go_g;
use super::parser::{Span, error::position};

/// How serious an annotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The result may be wrong or incomplete (upstream `PromQLWarning`).
    Warning,
    /// The query may not do what its author meant (upstream `PromQLInfo`).
    Info,
}

/// One annotation: what it says and where in the query it points.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Annotation {
    /// Warning or info.
    pub severity: Severity,
    /// The message, without the `PromQL warning: ` prefix or the position.
    pub message: String,
    /// The query text it is about.
    pub span: Span,
}

impl Annotation {
    /// The annotation as the API shows it, with its position in `query`.
    pub fn render(&self, query: &str) -> String {
        let prefix = match self.severity {
            Severity::Warning => "PromQL warning",
            Severity::Info => "PromQL info",
        };
        let (line, column) = position(query, self.span.start);
        format!("{prefix}: {} ({line}:{column})", self.message)
    }
}

/// One step at which `histogram_quantile` had to raise a classic histogram's cumulative
/// bucket counts to make them monotonic (upstream `NewHistogramQuantileForcedMonotonicityInfo`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForcedMonotonicity {
    /// The evaluation time, in ms.
    pub t_ms: i64,
    /// The lowest upper bound whose count was raised.
    pub min_bucket: f64,
    /// The highest upper bound whose count was raised.
    pub max_bucket: f64,
    /// The largest decrease removed.
    pub max_diff: f64,
}

/// Every [`ForcedMonotonicity`] with one message, merged: the first one's position, the time
/// and bucket ranges, the largest difference and how many there were.
#[derive(Debug, Clone, Copy)]
struct MonotonicitySpread {
    span: Span,
    min_ms: i64,
    max_ms: i64,
    min_bucket: f64,
    max_bucket: f64,
    max_diff: f64,
    samples: u64,
}

impl PartialEq for MonotonicitySpread {
    fn eq(&self, other: &Self) -> bool {
        let bits = |s: &Self| [s.min_bucket, s.max_bucket, s.max_diff].map(f64::to_bits);
        (self.span, self.min_ms, self.max_ms, self.samples)
            == (other.span, other.min_ms, other.max_ms, other.samples)
            && bits(self) == bits(other)
    }
}

impl Eq for MonotonicitySpread {}

impl MonotonicitySpread {
    fn merge(&mut self, other: &MonotonicitySpread) {
        self.min_ms = self.min_ms.min(other.min_ms);
        self.max_ms = self.max_ms.max(other.max_ms);
        self.min_bucket = self.min_bucket.min(other.min_bucket);
        self.max_bucket = self.max_bucket.max(other.max_bucket);
        self.max_diff = self.max_diff.max(other.max_diff);
        self.samples = self.samples.saturating_add(other.samples);
    }

    /// Upstream's text: the message, then the bucket range, the largest difference (`%.2g`)
    /// and the time range in whole UTC seconds.
    fn render(&self, message: &str, query: &str) -> String {
        let time = |ms: i64| {
            chrono::DateTime::from_timestamp(ms / 1000, 0).map_or_else(
                || (ms / 1000).to_string(),
                |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            )
        };
        let (line, column) = position(query, self.span.start);
        format!(
            "PromQL info: {message}, from buckets {} to {}, with a max diff of {}, over {} \
             samples from {} to {} ({line}:{column})",
            go_g(self.min_bucket, None),
            go_g(self.max_bucket, None),
            go_g(self.max_diff, Some(2)),
            self.samples,
            time(self.min_ms),
            time(self.max_ms),
        )
    }
}

/// The annotations of one query, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    set: BTreeSet<Annotation>,
    /// Forced-monotonicity infos by message.
    monotonicity: BTreeMap<String, MonotonicitySpread>,
}

impl Annotations {
    /// Adds one (a repeat is ignored).
    pub fn add(&mut self, annotation: Annotation) {
        self.set.insert(annotation);
    }

    /// Adds a forced-monotonicity info about the node at `span`, merged with earlier ones
    /// with the same `message` (whose position is kept).
    pub fn add_forced_monotonicity(
        &mut self,
        message: String,
        span: Span,
        fix: ForcedMonotonicity,
    ) {
        let spread = MonotonicitySpread {
            span,
            min_ms: fix.t_ms,
            max_ms: fix.t_ms,
            min_bucket: fix.min_bucket,
            max_bucket: fix.max_bucket,
            max_diff: fix.max_diff,
            samples: 1,
        };
        self.monotonicity
            .entry(message)
            .and_modify(|s| s.merge(&spread))
            .or_insert(spread);
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: Annotations) {
        self.set.extend(other.set);
        for (message, spread) in other.monotonicity {
            self.monotonicity
                .entry(message)
                .and_modify(|s| s.merge(&spread))
                .or_insert(spread);
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.monotonicity.is_empty()
    }

    /// The rendered warnings and infos, in a stable order.
    pub fn render(&self, query: &str) -> (Vec<String>, Vec<String>) {
        let rendered = |severity: Severity| {
            let mut out: Vec<String> = self
                .set
                .iter()
                .filter(|a| a.severity == severity)
                .map(|a| a.render(query))
                .collect();
            out.dedup();
            out
        };
        let mut infos = rendered(Severity::Info);
        infos.extend(
            self.monotonicity
                .iter()
                .map(|(message, spread)| spread.render(message, query)),
        );
        (rendered(Severity::Warning), infos)
    }
}

/// A query's result with the annotations its evaluation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated<T> {
    /// The result.
    pub value: T,
    /// Rendered warnings (`PromQL warning: ... (line:col)`).
    pub warnings: Vec<String>,
    /// Rendered infos (`PromQL info: ... (line:col)`).
    pub infos: Vec<String>,
}

impl<T> Evaluated<T> {
    /// The result with `f` applied, annotations kept.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Evaluated<U> {
        Evaluated {
            value: f(self.value),
            warnings: self.warnings,
            infos: self.infos,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_prefix_and_one_based_position_and_dedups() {
        let query = "sum(\n  metric)";
        let mut a = Annotations::default();
        let warn = Annotation {
            severity: Severity::Warning,
            message: "encountered a mix of histograms and floats for aggregation".into(),
            span: Span::new(7, 13),
        };
        a.add(warn.clone());
        a.add(warn);
        a.add(Annotation {
            severity: Severity::Info,
            message: "metric might not be a counter".into(),
            span: Span::new(0, 13),
        });
        let (warnings, infos) = a.render(query);
        assert_eq!(
            warnings,
            vec![
                "PromQL warning: encountered a mix of histograms and floats for aggregation (2:3)"
            ]
        );
        assert_eq!(
            infos,
            vec!["PromQL info: metric might not be a counter (1:1)"]
        );
    }

    #[test]
    fn forced_monotonicity_infos_merge_into_one_summary() {
        let query = "histogram_quantile(0.5, m_bucket)";
        let mut a = Annotations::default();
        let fix = |t_ms, min_bucket, max_bucket, max_diff| ForcedMonotonicity {
            t_ms,
            min_bucket,
            max_bucket,
            max_diff,
        };
        let message = "input needed fixing".to_owned();
        a.add_forced_monotonicity(
            message.clone(),
            Span::new(24, 32),
            fix(60_000, 1.0, 10.0, 3.0),
        );
        a.add_forced_monotonicity(message, Span::new(0, 1), fix(120_500, 0.5, 5.0, 12.5));
        assert!(!a.is_empty());
        let (warnings, infos) = a.render(query);
        assert!(warnings.is_empty());
        assert_eq!(
            infos,
            vec![
                "PromQL info: input needed fixing, from buckets 0.5 to 10, with a max diff of \
                 12, over 2 samples from 1970-01-01T00:01:00Z to 1970-01-01T00:02:00Z (1:25)"
            ]
        );
    }
}
