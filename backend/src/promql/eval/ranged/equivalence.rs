//! Tests that the range implementations give what evaluating step by step gives: the same
//! series, values (to the bit, as printed), annotations and errors, over data with counter
//! resets, stale markers, NaNs, gaps, histograms, mixes of both and start timestamps.

use shared::histogram::{CounterResetHint, FloatHistogram};
use shared::labels::Labels;

use super::{Ranged, Steps};
use crate::promql::eval::{Evaluator, QueryBounds};
use crate::promql::parser;
use crate::promql::storage::memory::MemoryStorage;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::{EngineConfig, EngineError};

fn float(t_ms: i64, v: f64) -> Point {
    Point {
        t_ms,
        value: SampleValue::Float(v),
    }
}

fn histogram(t_ms: i64, count: f64, hint: CounterResetHint) -> Point {
    Point {
        t_ms,
        value: SampleValue::Histogram(Box::new(FloatHistogram {
            counter_reset_hint: hint,
            count,
            sum: count * 2.0,
            zero_count: count,
            ..FloatHistogram::default()
        })),
    }
}

/// Eight series over 0..=40 min: counters with resets at irregular intervals, a gauge with a
/// NaN and a stale marker, a sparse series, histograms (counter and gauge), a float/histogram
/// mix, and a counter with start timestamps.
fn storage() -> MemoryStorage {
    let mut s = MemoryStorage::new();
    let series = |name: &str, i: &str| Labels::from_pairs([("__name__", name), ("i", i)]);
    let (c1, c2) = (series("c_total", "1"), series("c_total", "2"));
    let mut value = 0.0;
    for k in 0..160i64 {
        value += (k % 7) as f64 * 0.1 + 0.3;
        if k % 37 == 20 {
            value = 1.5;
        }
        s.append(&c1, float(k * 15_000 + (k % 3) * 1_000, value));
        if k % 4 != 0 {
            s.append(&c2, float(k * 15_000, (k % 11) as f64));
        }
    }
    let gauge = series("g", "1");
    for k in 0..80i64 {
        let v = match k {
            30 => f64::NAN,
            50 => shared::series::stale_nan(),
            _ => ((k * 13) % 17) as f64 - 8.0,
        };
        if !(51..60).contains(&k) {
            s.append(&gauge, float(k * 30_000, v));
        }
    }
    let sparse = series("g", "2");
    for k in [0i64, 7, 8, 30, 31, 32, 39] {
        s.append(&sparse, float(k * 60_000, k as f64));
    }
    let (hc, hg, mix) = (series("h", "c"), series("h", "g"), series("mix", "1"));
    for k in 0..80i64 {
        let count = if k == 40 { 3.0 } else { (k * 5 % 90) as f64 };
        let hint = match k {
            42 => CounterResetHint::CounterReset,
            44..=47 => CounterResetHint::NotCounterReset,
            _ => CounterResetHint::Unknown,
        };
        s.append(&hc, histogram(k * 30_000, count, hint));
        s.append(&hg, histogram(k * 30_000, count, CounterResetHint::Gauge));
        if k % 3 == 0 {
            s.append(
                &mix,
                histogram(k * 30_000, k as f64, CounterResetHint::Unknown),
            );
        } else {
            s.append(&mix, float(k * 30_000, k as f64));
        }
    }
    for (j, le) in ["0.1", "1", "10", "+Inf", "x"].into_iter().enumerate() {
        let bucket = Labels::from_pairs([("__name__", "b_bucket"), ("le", le)]);
        for k in 0..80i64 {
            // Not monotonic across buckets at some steps (forced monotonicity).
            let dip = if k % 9 == 4 && j == 2 {
                -(k as f64) - 5.0
            } else {
                0.0
            };
            let v = (k as f64) * (j as f64 + 1.0) + dip;
            s.append(&bucket, float(k * 30_000, v));
        }
    }
    let started = series("s_total", "1");
    for k in 0..80i64 {
        let start = if k < 40 {
            1
        } else {
            1_200_000 + (k % 5) * 1_000
        };
        s.append_with_start(&started, float(k * 30_000, (k % 40) as f64 + 1.0), start);
    }
    s
}

const QUERIES: &[&str] = &[
    "c_total",
    "g",
    "h",
    "mix",
    "g offset 2m",
    "c_total @ 600",
    "g @ end()",
    "rate(c_total[5m])",
    "increase(c_total[1h])",
    "delta(g[3m])",
    "rate(c_total[2m] offset 1m)",
    "increase(c_total[5m] @ 1200)",
    "rate(h[5m])",
    "delta(h[5m])",
    "increase(mix[5m])",
    "rate(g[5m])",
    "rate(s_total[5m])",
    "increase(s_total[2m])",
    "irate(c_total[1m])",
    "irate(s_total[5m])",
    "idelta(g[5m])",
    "irate(h[2m])",
    "idelta(mix[2m])",
    "resets(c_total[10m])",
    "resets(s_total[10m])",
    "changes(g[5m])",
    "changes(mix[5m])",
    "count_over_time(g[5m])",
    "present_over_time(g[1m])",
    "last_over_time(mix[2m])",
    "first_over_time(g[2m])",
    "ts_of_first_over_time(c_total[1m])",
    "ts_of_last_over_time(g[3m])",
    "sum_over_time(c_total[5m])",
    "avg_over_time(g[10m])",
    "sum_over_time(h[5m])",
    "avg_over_time(mix[5m])",
    "min_over_time(g[5m])",
    "max_over_time(mix[5m])",
    "stddev_over_time(g[5m])",
    "stdvar_over_time(c_total[5m])",
    "mad_over_time(g[10m])",
    "ts_of_min_over_time(g[5m])",
    "ts_of_max_over_time(mix[5m])",
    "quantile_over_time(0.3, g[5m])",
    "quantile_over_time(2, mix[5m])",
    "deriv(g[5m])",
    "deriv(mix[3m])",
    "predict_linear(c_total[10m], 60)",
    "double_exponential_smoothing(g[5m], 0.3, 0.6)",
    "double_exponential_smoothing(g[5m], 1.5, 0.6)",
    "absent_over_time(g[1m])",
    "absent_over_time(nothing{a=\"b\"}[1m])",
    "(rate((c_total[5m])))",
    "abs(g)",
    "ceil(mix)",
    "ln(abs(g))",
    "round(g, 0.3)",
    "round(c_total)",
    "clamp(g, -2, 3)",
    "clamp(g, 3, -2)",
    "clamp_min(g, 0)",
    "clamp_max(mix, 5)",
    "label_replace(g, \"i\", \"x$1\", \"i\", \"(.*)\")",
    "label_replace(g, \"i\", \"same\", \"i\", \".*\")",
    "label_replace(g, \"__name__\", \"renamed\", \"i\", \"1\")",
    "label_join(rate(c_total[5m]), \"j\", \"-\", \"__name__\", \"i\")",
    "abs(label_replace(g, \"__name__\", \"\", \"i\", \"2\"))",
    "vector(1)",
    "vector(time())",
    "time()",
    "pi()",
    "scalar(g{i=\"2\"})",
    "scalar(g)",
    "round(g, scalar(g{i=\"2\"}))",
    "max_over_time(g[10m:1m])",
    "rate(c_total[5m:30s])",
    "sum_over_time(rate(c_total[2m])[5m:1m])",
    "last_over_time(rate(c_total[1m])[3m:20s])",
    "quantile_over_time(0.5, g[5m:])",
    "avg_over_time(h[5m:1m])",
    "increase(h[10m:1m])",
    "deriv(g[10m:1m] offset 2m)",
    "count_over_time(g[1m:10s] @ 600)",
    "absent_over_time(nothing[5m:1m])",
    "changes(g[2m:7s])",
    "min_over_time(g[30s:1m])",
    "max_over_time(max_over_time(g[2m:30s])[5m:1m])",
    "irate(abs(mix)[3m:10s])",
    "histogram_quantile(0.9, b_bucket)",
    "histogram_quantile(0.5, rate(b_bucket[5m]))",
    "histogram_quantile(2, b_bucket)",
    "histogram_quantile(0.5, h)",
    "histogram_quantile(0.5, {__name__=~\"h|b_bucket\"})",
    "histogram_fraction(0, 2, b_bucket)",
    "histogram_fraction(0, 2, h)",
    "timestamp(g)",
    "timestamp((mix offset 1m))",
    "timestamp(abs(g))",
    "timestamp(label_replace(g, \"i\", \"same\", \"i\", \".*\"))",
];

/// The value, warnings and infos of `query` over `steps`, range-evaluated or step by step.
fn evaluate(storage: &MemoryStorage, query: &str, steps: Steps, by_steps: bool) -> String {
    let expr = parser::parse(query).expect("the query parses");
    let bounds = QueryBounds {
        start_ms: steps.start_ms,
        end_ms: steps.end_ms,
        step_ms: steps.step_ms,
    };
    let ev = match Evaluator::new(&EngineConfig::default(), storage, &expr, bounds) {
        Ok(ev) => ev,
        Err(e) => return format!("fetch error {e}"),
    };
    let result = if by_steps {
        ev.ranged_by_steps(&expr, steps)
    } else {
        ev.eval_ranged(&expr, steps)
    };
    match result {
        // The step-wise gathering keeps a series that a step holds twice as two points at one
        // time, which the query's result then refuses; the range evaluation refuses it at once.
        Ok(Ranged::Vector(m))
            if m.iter()
                .any(|s| s.points.windows(2).any(|w| w[0].t_ms == w[1].t_ms)) =>
        {
            format!("error {}", EngineError::DuplicateLabelset)
        }
        Ok(Ranged::Vector(mut m)) => {
            // Sorted as the step-wise gathering sorts.
            m.sort_by(|a, b| (&a.labels, a.drop_name).cmp(&(&b.labels, b.drop_name)));
            let evaluated = ev.finish(query, m);
            format!("{evaluated:?}")
        }
        Ok(other) => format!("{:?}", ev.finish(query, other)),
        Err(e) => format!("error {e}"),
    }
}

#[test]
fn range_evaluation_equals_step_wise_evaluation() {
    let storage = storage();
    let ranges = [
        Steps::new(0, 2_400_000, 15_000),
        Steps::new(90_000, 1_990_000, 60_000),
        Steps::new(300_000, 2_700_000, 7_000),
        Steps::new(1_200_000, 1_200_000, 1),
    ];
    for steps in ranges.into_iter().map(|s| s.expect("valid steps")) {
        for query in QUERIES {
            let ranged = evaluate(&storage, query, steps, false);
            let stepped = evaluate(&storage, query, steps, true);
            assert_eq!(ranged, stepped, "{query} over {steps:?}");
        }
    }
}

#[test]
fn the_data_exercises_what_it_is_meant_to() {
    let storage = storage();
    let steps = Steps::new(0, 2_400_000, 15_000).expect("valid steps");
    let annotated = evaluate(&storage, "increase(mix[5m])", steps, false);
    assert!(
        annotated.contains("mix of histograms and floats"),
        "{annotated}"
    );
    let failed = evaluate(
        &storage,
        "double_exponential_smoothing(g[5m], 1.5, 0.6)",
        steps,
        false,
    );
    assert!(
        failed.starts_with("error invalid smoothing factor"),
        "{failed}"
    );
    let quantiles = evaluate(&storage, "histogram_quantile(0.9, b_bucket)", steps, false);
    assert!(quantiles.contains("monotonicity"), "{quantiles}");
    assert!(quantiles.contains("bucket label"), "{quantiles}");
    let resets = evaluate(&storage, "resets(c_total[1h])", steps, false);
    assert!(resets.contains("Float(3.0)"), "{resets}");
}
