//! The `data` of `/api/v1/query` and `/api/v1/query_range` responses as the console reads
//! them (Prometheus's JSON: `resultType` vector, matrix, scalar or string; native histograms as
//! `histogram`/`histograms` with `buckets`; upstream web/api/v1 and docs/querying/api.md), and
//! their conversion into chart series.
//!
//! Values stay as the strings the server sent (so the table shows them exactly); [`number`]
//! reads them for the chart. Nothing here does I/O.

use serde::Deserialize;

use crate::chart::ChartSeries;
use crate::labels::{Labels, METRIC_NAME};

/// A float sample: `[unix seconds, "value"]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FloatPoint(pub f64, pub String);

/// A native histogram sample: `[unix seconds, {count, sum, buckets}]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HistogramPoint(pub f64, pub HistogramValue);

/// A native histogram's value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HistogramValue {
    /// Observation count.
    pub count: String,
    /// Sum of observations.
    pub sum: String,
    /// Buckets: `[boundary rule, lower, upper, count]`; the rule is 0 open left, 1 open
    /// right, 2 open both, 3 closed both.
    #[serde(default)]
    pub buckets: Vec<(u8, String, String, String)>,
}

impl HistogramValue {
    /// A bucket's bounds in interval notation, e.g. `(0.5, 1]`.
    pub fn bucket_bounds(rule: u8, lower: &str, upper: &str) -> String {
        let open = if rule == 1 || rule == 3 { '[' } else { '(' };
        let close = if rule == 0 || rule == 3 { ']' } else { ')' };
        format!("{open}{lower}, {upper}{close}")
    }
}

/// One series of an instant vector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VectorSample {
    /// The series labels.
    pub metric: Labels,
    /// The float value, if the sample is a float.
    #[serde(default)]
    pub value: Option<FloatPoint>,
    /// The histogram value, if the sample is a native histogram.
    #[serde(default)]
    pub histogram: Option<HistogramPoint>,
}

/// One series of a range vector (matrix).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MatrixSeries {
    /// The series labels.
    pub metric: Labels,
    /// Float samples in time order.
    #[serde(default)]
    pub values: Vec<FloatPoint>,
    /// Histogram samples in time order.
    #[serde(default)]
    pub histograms: Vec<HistogramPoint>,
}

/// The `data` object of a query response.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub enum QueryData {
    /// An instant vector.
    Vector(Vec<VectorSample>),
    /// A range vector.
    Matrix(Vec<MatrixSeries>),
    /// A scalar.
    Scalar(FloatPoint),
    /// A string.
    String(FloatPoint),
}

impl QueryData {
    /// How many result series there are (1 for a scalar or string).
    pub fn series_count(&self) -> usize {
        match self {
            QueryData::Vector(v) => v.len(),
            QueryData::Matrix(m) => m.len(),
            QueryData::Scalar(_) | QueryData::String(_) => 1,
        }
    }
}

/// A sample value string as a number: Prometheus writes `NaN`, `+Inf` and `-Inf`, which Rust
/// reads too. Anything unreadable is NaN (drawn as a gap).
pub fn number(text: &str) -> f64 {
    text.parse().unwrap_or(f64::NAN)
}

/// Unix seconds (as in the JSON) to ms, rounded to the nearest millisecond.
pub fn seconds_to_ms(seconds: f64) -> i64 {
    // Saturating float-to-int conversion; the API never sends times outside i64 ms.
    (seconds * 1000.0).round() as i64
}

/// Prometheus's way of writing a series: `name{a="1", b="2"}`, or `{}` with no labels.
pub fn series_name(labels: &Labels) -> String {
    let name = labels.get(METRIC_NAME).unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|l| l.name != METRIC_NAME)
        .map(|l| format!("{}={:?}", l.name, l.value))
        .collect();
    if rest.is_empty() && !name.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", rest.join(", "))
    }
}

/// The chart series of a range query's result: one per matrix series, float samples only
/// (a native histogram sample is drawn as its count). A scalar result becomes one series;
/// other result types have nothing to draw.
pub fn chart_series(data: &QueryData) -> Vec<ChartSeries> {
    match data {
        QueryData::Matrix(series) => series
            .iter()
            .map(|s| {
                let mut points: Vec<(i64, f64)> = s
                    .values
                    .iter()
                    .map(|p| (seconds_to_ms(p.0), number(&p.1)))
                    .chain(
                        s.histograms
                            .iter()
                            .map(|p| (seconds_to_ms(p.0), number(&p.1.count))),
                    )
                    .collect();
                points.sort_by_key(|p| p.0);
                ChartSeries {
                    name: series_name(&s.metric),
                    points,
                }
            })
            .collect(),
        QueryData::Scalar(p) => vec![ChartSeries {
            name: "scalar".into(),
            points: vec![(seconds_to_ms(p.0), number(&p.1))],
        }],
        QueryData::Vector(_) | QueryData::String(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> QueryData {
        serde_json::from_str(json).expect("test JSON is valid")
    }

    #[test]
    fn reads_every_result_type() {
        let v = parse(
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1700000000.5,"1"]},
               {"metric":{},"histogram":[1700000000,{"count":"3","sum":"4.5","buckets":[[0,"0.5","1","2"]]}]}]}"#,
        );
        let QueryData::Vector(samples) = &v else {
            panic!("not a vector: {v:?}")
        };
        assert_eq!(v.series_count(), 2);
        assert_eq!(
            samples[0].value,
            Some(FloatPoint(1_700_000_000.5, "1".into()))
        );
        let h = samples[1].histogram.as_ref().expect("histogram sample");
        assert_eq!(h.1.buckets[0], (0, "0.5".into(), "1".into(), "2".into()));
        assert_eq!(HistogramValue::bucket_bounds(0, "0.5", "1"), "(0.5, 1]");
        assert_eq!(HistogramValue::bucket_bounds(3, "1", "2"), "[1, 2]");

        let s = parse(r#"{"resultType":"scalar","result":[12.25,"+Inf"]}"#);
        assert_eq!(s, QueryData::Scalar(FloatPoint(12.25, "+Inf".into())));
        let t = parse(r#"{"resultType":"string","result":[1,"hi"]}"#);
        assert_eq!(t.series_count(), 1);
        assert!(matches!(t, QueryData::String(FloatPoint(_, ref x)) if x == "hi"));
    }

    #[test]
    fn matrices_become_chart_series() {
        let m = parse(
            r#"{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a","i":"1"},
               "values":[[10,"1"],[25,"NaN"],[40,"-Inf"]]}]}"#,
        );
        let series = chart_series(&m);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].name, r#"up{i="1", job="a"}"#);
        assert_eq!(series[0].points[0], (10_000, 1.0));
        assert!(series[0].points[1].1.is_nan());
        assert_eq!(series[0].points[2], (40_000, f64::NEG_INFINITY));
        assert!(chart_series(&parse(r#"{"resultType":"vector","result":[]}"#)).is_empty());
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(series_name(&Labels::from_pairs([("__name__", "up")])), "up");
        assert_eq!(series_name(&Labels::empty()), "{}");
        assert_eq!(
            series_name(&Labels::from_pairs([("a", "x\"y")])),
            r#"{a="x\"y"}"#
        );
        assert_eq!(number("+Inf"), f64::INFINITY);
        assert!(number("NaN").is_nan());
        assert!(number("junk").is_nan());
        assert_eq!(seconds_to_ms(1.2345), 1235);
    }
}
