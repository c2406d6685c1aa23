//! The values PromQL expressions evaluate to (upstream promql/value.go): scalars, strings,
//! instant vectors and range vectors (matrices).
//!
//! Elements carry a `drop_name` flag: Prometheus 3 removes `__name__` from the results of
//! arithmetic and most functions only at the end of evaluation ("delayed name removal"), so
//! later steps such as `label_replace` can still see it. Nothing here knows storage or parsing.

use shared::labels::Labels;

pub use super::storage::{Point, SampleValue};

/// One element of an instant vector: a series' labels and its value at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The labels, `__name__` included until the end of evaluation.
    pub labels: Labels,
    /// The value at the evaluation time.
    pub value: SampleValue,
    /// `__name__` is to be removed when the query finishes.
    pub drop_name: bool,
}

/// An instant vector: one element per series, label sets unique once names are dropped.
pub type Vector = Vec<Element>;

/// One series of a range vector or of a range query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// The labels.
    pub labels: Labels,
    /// The points in increasing timestamp order.
    pub points: Vec<Point>,
    /// `__name__` is to be removed when the query finishes.
    pub drop_name: bool,
}

/// A range vector: series with the samples of a time range each.
pub type Matrix = Vec<RangeSeries>;

/// One series' sample at one evaluation step, borrowed, with the series' position in its input:
/// what aggregations and vector matching read at each step, from an instant vector or from the
/// series of a range evaluation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member<'a> {
    /// The series' position in its input (the element's, for an instant vector).
    pub(crate) series: usize,
    /// The series' labels.
    pub(crate) labels: &'a Labels,
    /// The sample's value.
    pub(crate) value: &'a SampleValue,
    /// The series' `__name__` is to be dropped.
    pub(crate) drop_name: bool,
}

impl<'a> Member<'a> {
    /// The members of an instant vector, in its order.
    pub(crate) fn of_vector(v: &'a Vector) -> Vec<Member<'a>> {
        v.iter()
            .enumerate()
            .map(|(series, e)| Member {
                series,
                labels: &e.labels,
                value: &e.value,
                drop_name: e.drop_name,
            })
            .collect()
    }

    /// Point `p` of series number `series`, `s`, of a range evaluation.
    pub(crate) fn of_point(series: usize, s: &'a RangeSeries, p: &'a Point) -> Self {
        Member {
            series,
            labels: &s.labels,
            value: &p.value,
            drop_name: s.drop_name,
        }
    }
}

/// The value of an expression at one evaluation time, or a query's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A float.
    Scalar(f64),
    /// A string.
    String(String),
    /// An instant vector.
    Vector(Vector),
    /// A range vector.
    Matrix(Matrix),
}

impl Value {
    /// The documented type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::String(_) => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// Labels that go with the metric name: the name and, in Prometheus 3's type-and-unit
/// metadata, `__type__` and `__unit__` (upstream `labels.DropReserved` on the metric name).
pub(crate) const NAME_LABELS: [&str; 3] = ["__name__", "__type__", "__unit__"];

/// Removes `__name__` (and its metadata labels) from labels flagged for it (upstream
/// `cleanupMetricLabels`).
pub(crate) fn drop_flagged_name(labels: &mut Labels, drop_name: &mut bool) {
    if std::mem::take(drop_name) {
        labels.remove_names(&NAME_LABELS);
    }
}
