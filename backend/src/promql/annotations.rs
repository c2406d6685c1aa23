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
//! [`Evaluated`] result. Nothing here knows storage, HTTP or evaluation.

use std::collections::BTreeSet;

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

/// The annotations of one query, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    set: BTreeSet<Annotation>,
}

impl Annotations {
    /// Adds one (a repeat is ignored).
    pub fn add(&mut self, annotation: Annotation) {
        self.set.insert(annotation);
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: Annotations) {
        self.set.extend(other.set);
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
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
        (rendered(Severity::Warning), rendered(Severity::Info))
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
}
