//! Differential test of the PromQL engine against the real thing: one data set
//! ([`common::dataset`]) backfilled into a plain Prometheus 2.42 and into two Prometheus
//! replicas behind `chorus sidecar`s, with a deduplicating `chorus query` over them. Every
//! expression in [`QUERIES`] runs as an instant query at several times and as a range query, on
//! both; the answers must have the same result type, the same series label sets, the same
//! timestamps and values equal within 1e-9 relative (NaN equals NaN; equal values written
//! alike), or both be errors of the same type; after `sort`/`sort_desc` the order of instant
//! answers must match too. Expressions of [`AWAITING_IMPLEMENTATION`] may instead fail with
//! "not implemented yet". The test prints `differential: N queries, M equal, K not implemented
//! yet (...)` and fails on any difference, naming the first evaluation that differs per
//! expression.
//!
//! Prometheus 2.42 and Prometheus 3 (which Chorus follows) differ in a few places, which the
//! queries and times avoid:
//! - range windows are closed `[t-r, t]` in 2 and left-open `(t-r, t]` in 3: samples, evaluation
//!   times and `@` times sit at different millisecond offsets, and ranges, offsets and subquery
//!   steps are whole seconds, so no window boundary ever meets a sample;
//! - `holt_winters` is `double_exponential_smoothing` in 3 (and experimental): not queried;
//! - functions added after 2.42 (`mad_over_time`, `sort_by_label`, `limitk`, `info`, ...) and
//!   duration arithmetic are not queried;
//! - in 3 the regex `.` also matches a newline: no label value holds one;
//! - label values of `le` are normalised to floats when 3 scrapes, never when backfilled: the
//!   data is backfilled;
//! - `atan2` keeps `__name__` in 2.42 and drops it in 3 (engine.go `changesMetricSchema`): its
//!   operands drop the name first;
//! - `rate`/`increase` limit the extrapolation towards a counter's zero point before the 1.1
//!   interval threshold in 2.42 and after it in 3 (functions.go `extrapolatedRate`); that matters
//!   only where a window reaches past the first sample of a series: counters start far from zero,
//!   and `rate` over the sparse series (whose windows often start in a hole) is not queried;
//! - label names: 3 accepts any UTF-8 name (`label_replace(x, "not-a-name", ...)` is fine) where
//!   2.42 fails; only names invalid in both are used;
//! - a range query of `predict_linear` over an `@` range selector: 2.42 answers only some steps,
//!   with erratic values; 3 evaluates every step (`predict_linear` is `AtModifierUnsafe`), as
//!   Chorus does. Not queried;
//! - which of several equal (or NaN) series `topk`/`bottomk` keep depends on the input order and
//!   the heap's workings, which are not defined: their operands have distinct values;
//! - sums are Kahan-compensated in 3, not in 2.42: values agree within the tolerance;
//! - Chorus evaluates with Prometheus 3's delayed name removal (`__name__` flagged, dropped at
//!   the end), as Prometheus's own test scripts do, where a Prometheus server (2.42, and 3
//!   without `--enable-feature=promql-delayed-name-removal`) drops names at once and fails with
//!   "vector cannot contain metrics with the same labelset" when an intermediate result collides
//!   (`sum by (job) (rate({job=~".+"}[5m]))` over the histogram's `_sum` and `_count`). Such
//!   collisions are not queried;
//! - error messages are worded differently: errors are compared by HTTP status and `errorType`.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Instant;

use common::dataset::{Dataset, SAMPLE_OFFSET_MS, SPAN_S, SPARSE_OFFSET_MS};
use common::stack::ReplicatedStack;
use futures::StreamExt;
use serde_json::Value;

/// Expressions compared; `{at}` is replaced by an off-grid time inside the data.
///
/// Grouped by what they exercise. Range queries of expressions that are not instant vectors or
/// scalars fail on both sides, which is compared too.
const QUERIES: &[&str] = &[
    // Selectors, matchers, offset and @.
    "demo_requests_total",
    r#"demo_requests_total{job="api"}"#,
    r#"demo_requests_total{method=~"g.*"}"#,
    r#"demo_requests_total{instance!="host-1"}"#,
    r#"demo_requests_total{job!~"a.*",method="post"}"#,
    r#"{__name__=~"demo_temp.*"}"#,
    r#"{__name__="demo_queue_length",queue=~"q.[0-9]"}"#,
    r#"demo_queue_length{queue=~"q\\.2|q_3"}"#,
    r#"demo_queue_length{queue!~"q-.*"}"#,
    "demo_sparse_gauge",
    "demo_build_info",
    "demo_requests_total offset 5m",
    "demo_temperature_celsius offset -3m",
    "demo_temperature_celsius @ {at}",
    "demo_requests_total @ start()",
    "demo_requests_total @ end()",
    "demo_sparse_gauge offset 30m",
    "demo_temperature_celsius[1m]",
    "demo_sparse_gauge[20m]",
    "demo_requests_total[2m] offset 1h",
    "nonexistent_metric",
    // Rates, deltas and their relatives.
    "rate(demo_requests_total[5m])",
    "rate(demo_requests_total[1m])",
    "rate(demo_requests_total[10m] offset 2m)",
    "rate(demo_requests_total[1h])",
    "irate(demo_requests_total[1m])",
    "irate(demo_requests_total[5m])",
    "increase(demo_requests_total[10m])",
    "increase(demo_requests_total[1h])",
    "increase(demo_request_duration_seconds_count[10m])",
    "rate(demo_request_duration_seconds_sum[5m])",
    "rate(demo_request_duration_seconds_bucket[5m])",
    "delta(demo_sparse_gauge[10m])",
    "irate(demo_sparse_gauge[10m])",
    "delta(demo_temperature_celsius[5m])",
    "delta(demo_temperature_celsius[15m])",
    "delta(demo_sparse_gauge[20m])",
    "idelta(demo_temperature_celsius[2m])",
    "idelta(demo_sparse_gauge[30m])",
    "deriv(demo_temperature_celsius[10m])",
    "deriv(demo_sparse_gauge[30m])",
    "deriv(demo_requests_total[5m])",
    "predict_linear(demo_temperature_celsius[10m], 600)",
    "predict_linear(demo_requests_total[15m], 3600)",
    "predict_linear(demo_sparse_gauge[30m], -300)",
    "resets(demo_requests_total[30m])",
    "resets(demo_requests_total[2h])",
    "resets(demo_request_duration_seconds_bucket[1h])",
    "changes(demo_temperature_celsius[10m])",
    "changes(demo_queue_length[20m])",
    "changes(demo_build_info[1h])",
    // *_over_time.
    "avg_over_time(demo_temperature_celsius[10m])",
    "avg_over_time(demo_sparse_gauge[30m])",
    "min_over_time(demo_temperature_celsius[10m])",
    "max_over_time(demo_temperature_celsius[10m])",
    "max_over_time(demo_requests_total[1h])",
    "sum_over_time(demo_queue_length[5m])",
    "sum_over_time(demo_temperature_celsius[7m])",
    "count_over_time(demo_sparse_gauge[15m])",
    "count_over_time(demo_requests_total[1m])",
    "last_over_time(demo_sparse_gauge[10m])",
    "last_over_time(demo_temperature_celsius[1m] offset 10m)",
    "present_over_time(demo_sparse_gauge[10m])",
    "quantile_over_time(0.5, demo_temperature_celsius[10m])",
    "quantile_over_time(0.95, demo_temperature_celsius[30m])",
    "quantile_over_time(0, demo_queue_length[10m])",
    "quantile_over_time(1, demo_queue_length[10m])",
    "quantile_over_time(0.33, demo_sparse_gauge[40m])",
    "quantile_over_time(-0.5, demo_temperature_celsius[5m])",
    "quantile_over_time(1.5, demo_temperature_celsius[5m])",
    "stddev_over_time(demo_temperature_celsius[10m])",
    "stdvar_over_time(demo_temperature_celsius[10m])",
    "stddev_over_time(demo_queue_length[30m])",
    "stdvar_over_time(demo_sparse_gauge[1h])",
    "absent_over_time(demo_sparse_gauge[5m])",
    r#"absent_over_time(demo_sparse_gauge{instance="gappy"}[5m])"#,
    r#"absent_over_time(nonexistent_metric{job="x"}[5m])"#,
    // absent.
    "absent(nonexistent_metric)",
    r#"absent(nonexistent_metric{job="x",instance=~"y.*"})"#,
    r#"absent(nonexistent_metric{job="x",job="y"})"#,
    "absent(demo_requests_total)",
    r#"absent(demo_sparse_gauge{instance="gappy"})"#,
    "absent(sum(nonexistent_metric))",
    // Element-wise mathematics.
    "abs(demo_temperature_celsius)",
    "ceil(demo_temperature_celsius)",
    "floor(demo_temperature_celsius)",
    "round(demo_temperature_celsius)",
    "round(demo_temperature_celsius, 0.5)",
    "round(demo_temperature_celsius, 5)",
    "round(-demo_queue_length / 2)",
    "exp(demo_temperature_celsius / 10)",
    "ln(demo_temperature_celsius)",
    "ln(demo_queue_length)",
    "log2(demo_queue_length)",
    "log10(demo_requests_total)",
    "sqrt(demo_temperature_celsius)",
    "sgn(demo_temperature_celsius)",
    "sgn(demo_queue_length - 2)",
    "clamp(demo_temperature_celsius, -5, 5)",
    "clamp(demo_temperature_celsius, 5, -5)",
    "clamp_min(demo_temperature_celsius, 0)",
    "clamp_max(demo_temperature_celsius, 1)",
    // Trigonometry.
    "sin(demo_temperature_celsius)",
    "cos(demo_temperature_celsius)",
    "tan(demo_temperature_celsius)",
    "asin(demo_temperature_celsius / 30)",
    "acos(demo_temperature_celsius / 30)",
    "atan(demo_temperature_celsius)",
    "asin(demo_temperature_celsius)",
    "sinh(demo_temperature_celsius / 10)",
    "cosh(demo_temperature_celsius / 10)",
    "tanh(demo_temperature_celsius)",
    "asinh(demo_temperature_celsius)",
    "acosh(demo_queue_length + 1)",
    "atanh(demo_temperature_celsius / 30)",
    "deg(demo_temperature_celsius)",
    "rad(demo_temperature_celsius)",
    "pi()",
    "(demo_temperature_celsius + 0) atan2 10",
    "abs(demo_temperature_celsius) atan2 on(instance) group_left demo_temperature_celsius offset 5m",
    // Time.
    "time()",
    "time() - 3600",
    "timestamp(demo_temperature_celsius)",
    "timestamp(demo_sparse_gauge)",
    "time() - timestamp(demo_sparse_gauge)",
    "timestamp(demo_temperature_celsius offset 10m)",
    "timestamp(demo_temperature_celsius @ {at})",
    "day_of_week()",
    "day_of_month()",
    "day_of_year()",
    "days_in_month()",
    "hour()",
    "minute()",
    "month()",
    "year()",
    "hour(timestamp(demo_requests_total))",
    "minute(timestamp(demo_sparse_gauge))",
    "day_of_week(vector(1709251200))",
    "day_of_year(vector(1709251200))",
    "days_in_month(vector(1709251200))",
    "month(vector(1e9))",
    "year(demo_requests_total * 1e6)",
    // Labels.
    r#"label_replace(demo_requests_total, "host", "$1", "instance", "host-(.*)")"#,
    r#"label_replace(demo_requests_total, "job", "x-$1", "method", "(p.*)")"#,
    r#"label_replace(demo_temperature_celsius, "foo", "bar", "", "")"#,
    r#"label_replace(demo_temperature_celsius, "room", "", "room", "c.*")"#,
    r#"label_replace(demo_requests_total, "instance", "", "instance", ".*")"#,
    r#"label_replace(rate(demo_requests_total[5m]), "__name__", "renamed", "", "")"#,
    r#"label_join(demo_requests_total, "combo", "/", "job", "instance", "method")"#,
    r#"label_join(demo_temperature_celsius, "copy", "", "room")"#,
    r#"label_join(demo_requests_total, "job", "-", "job", "method")"#,
    r#"label_join(demo_queue_length, "empty", ",")"#,
    // Sorting (the order of instant answers is compared too).
    "sort(demo_temperature_celsius)",
    "sort_desc(demo_requests_total)",
    "sort(rate(demo_requests_total[5m]))",
    "sort_desc(sum by (job) (demo_requests_total))",
    // Classic histograms.
    "rate(demo_request_duration_seconds_sum[10m]) / rate(demo_request_duration_seconds_count[10m])",
    "sum by (le) (rate(demo_request_duration_seconds_bucket[5m]))",
    "sum by (job, le) (increase(demo_request_duration_seconds_bucket[1h]))",
    "histogram_count(demo_requests_total)",
    "histogram_sum(rate(demo_request_duration_seconds_bucket[5m]))",
    // vector, scalar and literals.
    "vector(1)",
    "vector(time())",
    "scalar(sum(demo_requests_total))",
    "scalar(demo_requests_total)",
    r#"scalar(demo_sparse_gauge{instance="rare"})"#,
    "2 * pi()",
    "1",
    "-2.5e3",
    "0x1F",
    "Inf",
    "-Inf",
    "NaN",
    r#""a string""#,
    "1 + 2 * 3 ^ 2",
    "2 ^ 3 ^ 2",
    "-2 ^ 2",
    "7 % 3",
    "-7 % 3",
    // Aggregations.
    "sum(demo_requests_total)",
    "sum by (job) (demo_requests_total)",
    "sum without (method) (demo_requests_total)",
    "sum(demo_requests_total) by (job, method)",
    "sum by (__name__) ({__name__=~\"demo_.*\"})",
    "count by (__name__) ({__name__=~\"demo_.*\"})",
    "avg by (instance) (demo_temperature_celsius)",
    "avg(demo_requests_total)",
    "min(demo_temperature_celsius)",
    "max by (job) (demo_requests_total)",
    "min without (room) (demo_temperature_celsius)",
    "count(demo_requests_total)",
    "count by (job) (demo_request_duration_seconds_bucket)",
    "count(demo_sparse_gauge)",
    "group by (job) (demo_requests_total)",
    "group(demo_temperature_celsius)",
    "group without (le) (demo_request_duration_seconds_bucket)",
    "stddev(demo_temperature_celsius)",
    "stdvar by (job) (demo_requests_total)",
    "stddev without (method) (rate(demo_requests_total[5m]))",
    "topk(2, demo_requests_total)",
    "topk by (job) (1, demo_requests_total)",
    "topk(3, rate(demo_requests_total[5m]))",
    "topk(0, demo_requests_total)",
    "topk(scalar(count(demo_temperature_celsius)) - 1, demo_temperature_celsius)",
    "bottomk(2, demo_temperature_celsius)",
    "bottomk without (method) (1, demo_requests_total)",
    "quantile(0.5, demo_temperature_celsius)",
    "quantile by (job) (0.9, demo_requests_total)",
    "quantile(0, demo_queue_length)",
    "quantile(1.1, demo_temperature_celsius)",
    "quantile(0.25, rate(demo_request_duration_seconds_bucket[5m]))",
    r#"count_values("value", demo_queue_length)"#,
    r#"count_values by (job) ("v", round(demo_requests_total / 100))"#,
    r#"count_values("t", demo_temperature_celsius)"#,
    r#"count_values without (queue) ("len", demo_queue_length)"#,
    "sum(rate(demo_requests_total[5m])) by (job)",
    "avg(rate(demo_requests_total[5m]))",
    "max by (instance) (irate(demo_requests_total[1m]))",
    "sum(nonexistent_metric)",
    "count(demo_requests_total) by (job) > 1",
    "sum(demo_requests_total) / count(demo_requests_total)",
    "max(sum by (job, instance) (rate(demo_requests_total[5m])))",
    // Arithmetic.
    "demo_requests_total + 1",
    "demo_requests_total - demo_requests_total",
    "demo_requests_total * 2",
    "demo_temperature_celsius / 0",
    "demo_queue_length / 0",
    "demo_temperature_celsius % 3",
    "demo_temperature_celsius % -4.5",
    "demo_temperature_celsius ^ 2",
    "2 ^ demo_temperature_celsius",
    "-demo_temperature_celsius",
    "demo_requests_total - demo_requests_total offset 5m",
    "demo_requests_total / on(job, instance, method) demo_requests_total offset 1m",
    "rate(demo_requests_total[5m]) / ignoring(method) group_left sum by (job, instance) (rate(demo_requests_total[5m]))",
    "demo_requests_total * on(job, instance) group_left(version) demo_build_info",
    "demo_build_info * on(job, instance) group_right(version) demo_requests_total",
    "sum by (job, instance) (demo_requests_total) + on(job, instance) group_right demo_requests_total",
    "demo_temperature_celsius + ignoring(room) demo_temperature_celsius",
    "demo_requests_total + demo_temperature_celsius",
    "demo_queue_length * on() group_left scalar(count(demo_queue_length))",
    "vector(1) + on() group_left demo_temperature_celsius",
    "demo_requests_total + demo_requests_total * 2",
    "(demo_temperature_celsius + 1) * 2",
    "-demo_queue_length ^ 2",
    "demo_requests_total / demo_requests_total offset 1h",
    // Comparison, with and without bool.
    "demo_temperature_celsius > 0",
    "demo_temperature_celsius < 0",
    "demo_temperature_celsius >= 5",
    "demo_temperature_celsius <= -5",
    "demo_temperature_celsius == demo_temperature_celsius",
    "demo_queue_length != 3",
    "demo_queue_length == 0",
    "0 < demo_temperature_celsius",
    "demo_temperature_celsius > bool 0",
    "demo_requests_total > bool 1000",
    "demo_queue_length == bool 2",
    "1 > bool 2",
    "2 >= bool 2",
    "1 > 2",
    "rate(demo_requests_total[5m]) > bool on(job, instance, method) rate(demo_requests_total[5m] offset 5m)",
    "demo_requests_total > on(job, instance) group_left demo_build_info",
    "demo_temperature_celsius > demo_temperature_celsius offset 1m",
    "scalar(demo_sparse_gauge) > 0",
    // Set operators.
    "demo_requests_total and demo_temperature_celsius",
    "demo_requests_total and on(instance) demo_temperature_celsius",
    "demo_requests_total or demo_temperature_celsius",
    r#"demo_requests_total unless demo_requests_total{method="get"}"#,
    r#"demo_requests_total unless on(job) demo_requests_total{job="api"}"#,
    "demo_sparse_gauge or vector(1)",
    "rate(demo_requests_total[5m]) > 2 or rate(demo_requests_total[5m]) < 0.5",
    "demo_requests_total and on(job, instance) demo_build_info",
    "demo_requests_total unless ignoring(method) demo_requests_total offset 1h",
    "(demo_temperature_celsius > 0) or (demo_temperature_celsius * -1)",
    "demo_queue_length and demo_queue_length > 2",
    // Offset and @ inside expressions.
    "rate(demo_requests_total[5m] offset 10m)",
    "rate(demo_requests_total[5m] @ {at})",
    "sum(demo_requests_total offset 1h)",
    "max_over_time(demo_temperature_celsius[10m] @ end())",
    "demo_temperature_celsius @ start() - demo_temperature_celsius",
    "rate(demo_requests_total[5m] @ {at} offset 5m)",
    "demo_sparse_gauge @ {at}",
    "sum by (job) (rate(demo_requests_total[5m] @ end()))",
    // Subqueries.
    "max_over_time(rate(demo_requests_total[1m])[10m:1m])",
    "avg_over_time(demo_temperature_celsius[30m:2m])",
    "min_over_time(sum by (job) (rate(demo_requests_total[5m]))[20m:30s])",
    "rate(demo_requests_total[10m:1m])",
    "deriv(demo_temperature_celsius[15m:1m])",
    "sum_over_time((demo_temperature_celsius > 0)[10m:1m])",
    "max_over_time(demo_temperature_celsius[10m:1m] offset 5m)",
    "last_over_time(demo_temperature_celsius[5m:])",
    "quantile_over_time(0.9, rate(demo_requests_total[5m])[30m:1m])",
    "count_over_time(demo_temperature_celsius[10m:15s])",
    "max_over_time(rate(demo_requests_total[5m])[10m:1m] @ {at})",
    "avg_over_time(demo_sparse_gauge[30m:5m])",
    "changes(round(demo_temperature_celsius)[20m:1m])",
    "resets(demo_requests_total[30m:1m])",
    "absent_over_time(demo_sparse_gauge[5m:1m])",
    "delta(rate(demo_requests_total[5m])[10m:1m])",
    "demo_temperature_celsius[5m:1m]",
    "max_over_time(max_over_time(demo_temperature_celsius[130s:40s])[10m:1m])",
    "max_over_time(demo_temperature_celsius[10m:1m] @ {at})",
    "avg_over_time((demo_temperature_celsius @ {at})[10m:1m])",
    "max_over_time(demo_temperature_celsius[10m:1m] offset -5m)",
    "sum_over_time(demo_queue_length[10m:7s])",
    "avg_over_time(demo_temperature_celsius[17m:43s])",
    "count_over_time(demo_sparse_gauge[1h:90s])",
    "sum_over_time(vector(1)[5m:1m])",
    // Edge cases: NaN, infinities, empty operands, errors.
    r#"count_values("job", demo_queue_length)"#,
    r#"count_values("v", demo_queue_length * 1e25)"#,
    r#"count_values("v", demo_temperature_celsius * 1e-9)"#,
    "demo_requests_total * 1e20",
    "demo_temperature_celsius * 1e-9",
    "demo_queue_length * 1e300 * 1e10",
    "-demo_queue_length / 1e-320",
    "sort(demo_temperature_celsius / 0)",
    "sort_desc(sqrt(demo_temperature_celsius))",
    "max(demo_temperature_celsius / 0)",
    "min(ln(demo_queue_length))",
    "sum(sqrt(demo_temperature_celsius))",
    "topk(2, sqrt(demo_temperature_celsius) > 0)",
    "bottomk(2, -demo_temperature_celsius)",
    "quantile(0.5, sqrt(demo_temperature_celsius))",
    "stddev(demo_temperature_celsius / 0)",
    "avg(demo_queue_length / 0)",
    "round(demo_temperature_celsius, 0)",
    "clamp(demo_temperature_celsius, NaN, 5)",
    "clamp_min(demo_temperature_celsius, NaN)",
    "quantile(NaN, demo_temperature_celsius)",
    "quantile_over_time(NaN, demo_temperature_celsius[5m])",
    "topk(2.7, demo_requests_total)",
    "bottomk(-1, demo_requests_total)",
    r#"quantile(scalar(demo_sparse_gauge{instance="rare"}) / 10, demo_temperature_celsius)"#,
    "sort_desc(topk(3, demo_requests_total))",
    r#"label_replace(demo_requests_total, "dst", "$1", "job", "(")"#,
    r#"label_replace(demo_requests_total, "", "x", "job", ".*")"#,
    r#"label_join(demo_requests_total, "__name__", "_", "job", "method")"#,
    "demo_requests_total * on(job) demo_build_info",
    "demo_requests_total + on(job, instance) demo_build_info",
    "demo_build_info * on(job, instance) group_left demo_requests_total",
    "demo_requests_total > 1e9",
    "demo_requests_total unless on() vector(1)",
    "vector(1) or on() demo_requests_total",
    "demo_requests_total == bool demo_requests_total offset 1h",
    r#"sum by (le) (demo_request_duration_seconds_bucket) / ignoring(le) group_left sum(demo_request_duration_seconds_count)"#,
    r#"count_values("value", demo_temperature_celsius > 100)"#,
    "stdvar(demo_queue_length) by (job)",
    r#"demo_requests_total{job=""}"#,
    r#"{job="env"}"#,
    r#"demo_requests_total{job=~"API"}"#,
    r#"demo_requests_total{job=~"(?i)API"}"#,
    r#"{__name__=~".+_total"}"#,
    r#"{__name__=~"demo_.*", job="api"}"#,
    r#"sum without (__name__) ({__name__=~"demo_.*", job="api"})"#,
    "+demo_requests_total",
    "-time()",
    "time() > bool 1e9",
    "abs(-vector(2))",
    "scalar(vector(3))",
    "vector(scalar(demo_requests_total))",
    "timestamp(rate(demo_requests_total[5m]))",
    "day_of_week(demo_temperature_celsius)",
    "changes(demo_sparse_gauge[1h])",
    "resets(demo_temperature_celsius[10m])",
    "irate(demo_temperature_celsius[1m])",
    "rate(demo_temperature_celsius[5m])",
    "increase(demo_queue_length[5m])",
    "predict_linear(demo_temperature_celsius[5m] offset 10m, 60)",
    "(demo_requests_total offset 10m) @ {at}",
    "demo_temperature_celsius @ {at} offset 10m",
    "sum(demo_requests_total @ 1000)",
    "last_over_time(demo_requests_total[5m] @ start())",
    "absent(demo_requests_total{job=\"nope\"})",
    r#""a" + 1"#,
    "demo_requests_total[5m] + 1",
    "rate(demo_temperature_celsius)",
    "sum by (job) (demo_requests_total",
    // Name dropping across metric names, and syntax corners.
    r#"rate({__name__=~"demo_requests_total|demo_queue_length"}[5m])"#,
    r#"sum by (job) (rate({__name__=~"demo_requests_total|demo_request_duration_seconds_bucket"}[5m]))"#,
    r#"label_replace(demo_queue_length, "__name__", "other", "", "") * 2"#,
    "demo_requests_total * on(job, instance) group_left(__name__) demo_build_info",
    "demo_queue_length == bool on() group_left vector(2)",
    "demo_requests_total and on() vector(1)",
    "timestamp(last_over_time(demo_sparse_gauge[30m:1m]))",
    "stddev_over_time(demo_sparse_gauge[3m])",
    r#"absent_over_time(nonexistent_metric{a=~"x", b="y"}[5m])"#,
    "changes(demo_requests_total[5m] @ end())",
    r#"demo_requests_total{job="api",}"#,
    "sum(demo_requests_total) without ()",
    "sum by () (demo_requests_total)",
    "rate(demo_requests_total[1m30s])",
    "demo_requests_total offset 1h30m",
    ".5 + 5. + 1e3",
    "-(2)",
    "demo_queue_length # a comment",
    r#"label_replace(demo_queue_length, "text", "é\t\u00e9", "", "")"#,
    r#"label_replace(demo_queue_length, "q", "$1-$2", "queue", "q(.)(.)")"#,
    r#"label_replace(demo_queue_length, "q", "${1}x", "queue", "q(.).")"#,
    "{}",
    "demo_requests_total[5m:1m] offset 10m",
    "min_over_time(rate(demo_requests_total[5m])[15m:1m] offset 3m)",
    "max_over_time(demo_temperature_celsius[1m:1s])",
    "vector(1) * on() group_right demo_temperature_celsius",
    "sort_desc(count_values(\"v\", demo_queue_length))",
];

/// Expressions Chorus does not evaluate yet (it answers "not implemented yet"): each is run and
/// must either match Prometheus or fail with that error, so it is checked as soon as it is
/// implemented.
///
/// `histogram_quantile` over classic (`le`) buckets is `EngineError::NotImplemented("function
/// histogram_quantile")` in `promql/functions/`.
const AWAITING_IMPLEMENTATION: &[&str] = &[
    "histogram_quantile(0.9, rate(demo_request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.5, sum by (le) (rate(demo_request_duration_seconds_bucket[10m])))",
    "histogram_quantile(0.99, sum by (job, le) (rate(demo_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0, sum by (le) (rate(demo_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(1, sum by (le) (rate(demo_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(1.5, sum by (le) (rate(demo_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(-1, sum by (le) (rate(demo_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.75, sum without (instance) (rate(demo_request_duration_seconds_bucket[30m])))",
    "histogram_quantile(0.9, demo_request_duration_seconds_bucket)",
    "histogram_quantile(0.9, increase(demo_request_duration_seconds_bucket[1h]))",
    r#"histogram_quantile(0.9, rate(demo_request_duration_seconds_bucket{le!="+Inf"}[5m]))"#,
    "histogram_quantile(0.5, sum by (le) (rate(demo_request_duration_seconds_bucket[5m])))[10m:1m]",
];

/// Instant evaluation times, in ms past the base time: in the warm-up (ranges reach before the
/// first sample), in the sparse series' hole, in the middle, and just after the last sample.
const INSTANT_OFFSETS_MS: [i64; 4] = [590_421, 2_833_777, 5_467_313, 7_331_901];
/// `{at}` in ms past the base time.
const AT_OFFSET_MS: i64 = 3_600_555;
/// The range query: start in ms past the base time, step and number of steps.
const RANGE_START_OFFSET_MS: i64 = 303_421;
const RANGE_STEP_S: i64 = 37;
const RANGE_STEPS: i64 = 195;
/// How many requests (to each server) run at once.
const CONCURRENCY: usize = 4;
/// Relative tolerance of values.
const RELATIVE_TOLERANCE: f64 = 1e-9;

/// `secs.mmm` of a time in ms.
fn seconds(t_ms: i64) -> String {
    format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000))
}

/// Percent-encodes everything but unreserved characters.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One series of an answer: label set (sorted `name="value"` text) and `(time, value)` points.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    labels: String,
    points: Vec<(f64, String)>,
}

/// What a server answered, reduced to what must match.
#[derive(Debug, Clone)]
enum Answer {
    /// A result of `result_type`, series in the server's order.
    Data {
        result_type: String,
        series: Vec<Series>,
    },
    /// An error answer: HTTP status, `errorType` and the message (not compared).
    Error {
        status: u16,
        error_type: String,
        message: String,
    },
}

fn labels_text(metric: &Value) -> String {
    let mut labels: Vec<String> = metric
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    format!("{{{}}}", labels.join(","))
}

fn point(p: &Value) -> (f64, String) {
    (
        p[0].as_f64().unwrap_or(f64::NAN),
        p[1].as_str().unwrap_or_default().to_string(),
    )
}

impl Answer {
    fn parse(status: u16, body: &Value) -> Self {
        if body["status"] != "success" {
            return Self::Error {
                status,
                error_type: body["errorType"].as_str().unwrap_or("?").to_string(),
                message: body["error"].as_str().unwrap_or_default().to_string(),
            };
        }
        let data = &body["data"];
        let result_type = data["resultType"].as_str().unwrap_or("?").to_string();
        let result = &data["result"];
        let series = match result_type.as_str() {
            "scalar" | "string" => vec![Series {
                labels: String::new(),
                points: vec![point(result)],
            }],
            _ => result
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| Series {
                            labels: labels_text(&e["metric"]),
                            points: if e.get("values").is_some() {
                                e["values"]
                                    .as_array()
                                    .map(|v| v.iter().map(point).collect())
                                    .unwrap_or_default()
                            } else {
                                vec![point(&e["value"])]
                            },
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        Self::Data {
            result_type,
            series,
        }
    }
}

/// Whether two rendered sample values agree: numbers within the tolerance (NaN equals NaN,
/// infinities equal themselves), and rendered alike when equal (Prometheus writes floats
/// without exponent, `+Inf`, `NaN`); anything else textually.
fn values_agree(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => {
            if x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()) {
                a == b
            } else if x.is_nan() || y.is_nan() {
                x.is_nan() && y.is_nan()
            } else if x.is_infinite() || y.is_infinite() {
                x == y
            } else {
                (x - y).abs() <= RELATIVE_TOLERANCE * x.abs().max(y.abs())
            }
        }
        _ => a == b,
    }
}

/// `None` when `ours` matches `theirs`, else what differs. `ordered` also compares the order of
/// values (for `sort`/`sort_desc`, where ties may come in any order).
fn compare(ours: &Answer, theirs: &Answer, ordered: bool) -> Option<String> {
    match (ours, theirs) {
        (
            Answer::Error {
                error_type: a,
                status: sa,
                ..
            },
            Answer::Error {
                error_type: b,
                status: sb,
                ..
            },
        ) => (a != b || sa != sb).then(|| format!("error {sa}/{a} vs {sb}/{b}")),
        (
            Answer::Data {
                result_type: ta,
                series: a,
            },
            Answer::Data {
                result_type: tb,
                series: b,
            },
        ) => {
            if ta != tb {
                return Some(format!("result type {ta} vs {tb}"));
            }
            if ordered {
                let values = |s: &[Series]| -> Vec<String> {
                    s.iter()
                        .flat_map(|s| s.points.iter().map(|p| p.1.clone()))
                        .collect()
                };
                let (va, vb) = (values(a), values(b));
                if va.len() != vb.len() || va.iter().zip(&vb).any(|(x, y)| !values_agree(x, y)) {
                    return Some(format!("order of values {va:?} vs {vb:?}"));
                }
            }
            let sorted = |s: &[Series]| {
                let mut s = s.to_vec();
                s.sort_by(|x, y| x.labels.cmp(&y.labels));
                s
            };
            let (a, b) = (sorted(a), sorted(b));
            let (la, lb): (Vec<&str>, Vec<&str>) = (
                a.iter().map(|s| s.labels.as_str()).collect(),
                b.iter().map(|s| s.labels.as_str()).collect(),
            );
            if la != lb {
                return Some(format!("series {la:?} vs {lb:?}"));
            }
            for (x, y) in a.iter().zip(&b) {
                let (tx, ty): (Vec<f64>, Vec<f64>) = (
                    x.points.iter().map(|p| p.0).collect(),
                    y.points.iter().map(|p| p.0).collect(),
                );
                if tx != ty {
                    return Some(format!("{}: timestamps {tx:?} vs {ty:?}", x.labels));
                }
                for (p, q) in x.points.iter().zip(&y.points) {
                    if !values_agree(&p.1, &q.1) {
                        return Some(format!("{} @{}: {} vs {}", x.labels, p.0, p.1, q.1));
                    }
                }
            }
            None
        }
        (
            Answer::Error {
                status,
                error_type,
                message,
            },
            Answer::Data { result_type, .. },
        ) => Some(format!(
            "chorus failed ({status}/{error_type}: {message}) where Prometheus answered a {result_type}"
        )),
        (
            Answer::Data { result_type, .. },
            Answer::Error {
                status, error_type, ..
            },
        ) => Some(format!(
            "chorus answered a {result_type} where Prometheus failed ({status}/{error_type})"
        )),
    }
}

/// GETs `base` + `path`; the status and JSON body (a non-JSON body is a test failure).
async fn fetch(client: &reqwest::Client, base: &str, path: &str) -> (u16, Value, String) {
    let response = client
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {base}{path}: {e}"));
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("GET {base}{path}: not JSON ({e}): {text}"));
    (status, body, text)
}

/// One evaluation to compare: the expression and the API path (without the host).
struct Case {
    expr: String,
    path: String,
    ordered: bool,
    /// From [`AWAITING_IMPLEMENTATION`].
    awaiting: bool,
}

/// How one evaluation compared.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Equal,
    /// Chorus answered "not implemented yet" for an expression of [`AWAITING_IMPLEMENTATION`].
    NotImplemented,
    /// What differs.
    Differs(String),
}

fn cases(base_ms: i64) -> Vec<Case> {
    let at = seconds(base_ms + AT_OFFSET_MS);
    let mut cases = Vec::new();
    let templates = QUERIES
        .iter()
        .map(|q| (q, false))
        .chain(AWAITING_IMPLEMENTATION.iter().map(|q| (q, true)));
    for (template, awaiting) in templates {
        let expr = template.replace("{at}", &at);
        let encoded = form_encode(&expr);
        let ordered = expr.starts_with("sort");
        for offset in INSTANT_OFFSETS_MS {
            cases.push(Case {
                expr: expr.clone(),
                path: format!(
                    "/api/v1/query?query={encoded}&time={}",
                    seconds(base_ms + offset)
                ),
                ordered,
                awaiting,
            });
        }
        let start = base_ms + RANGE_START_OFFSET_MS;
        cases.push(Case {
            expr,
            path: format!(
                "/api/v1/query_range?query={encoded}&start={}&end={}&step={RANGE_STEP_S}",
                seconds(start),
                seconds(start + RANGE_STEPS * RANGE_STEP_S * 1000)
            ),
            ordered: false,
            awaiting,
        });
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promql_answers_match_prometheus() {
    // The times in this file must stay off the samples' millisecond offsets (see the module doc).
    for offset in INSTANT_OFFSETS_MS
        .into_iter()
        .chain([AT_OFFSET_MS, RANGE_START_OFFSET_MS])
    {
        let ms = offset % 1000;
        assert!(
            ![0, SAMPLE_OFFSET_MS, SPARSE_OFFSET_MS].contains(&ms),
            "{offset}"
        );
        assert!(offset < (SPAN_S + 300) * 1000, "{offset} is past the data");
    }

    let started = Instant::now();
    let dataset = Dataset::generate();
    let stack = ReplicatedStack::start(&dataset.backfill).await;
    let setup = started.elapsed();
    let client = reqwest::Client::new();
    let (chorus, prometheus) = (stack.query.http.clone(), stack.reference.url.clone());

    let cases = cases(dataset.base_s * 1000);
    let outcomes: Vec<(Case, Verdict, bool)> = futures::stream::iter(cases)
        .map(|case| {
            let (client, chorus, prometheus) = (&client, &chorus, &prometheus);
            async move {
                let (ours, theirs) = tokio::join!(
                    fetch(client, chorus, &case.path),
                    fetch(client, prometheus, &case.path)
                );
                let (ours_answer, theirs_answer) = (
                    Answer::parse(ours.0, &ours.1),
                    Answer::parse(theirs.0, &theirs.1),
                );
                let has_data =
                    matches!(&theirs_answer, Answer::Data { series, .. } if !series.is_empty());
                let not_implemented = matches!(&ours_answer,
                    Answer::Error { message, .. } if message.starts_with("not implemented yet"));
                let verdict = match compare(&ours_answer, &theirs_answer, case.ordered) {
                    None => Verdict::Equal,
                    Some(_) if case.awaiting && not_implemented => Verdict::NotImplemented,
                    Some(d) => Verdict::Differs(format!(
                        "{d}\n    chorus: {}\n    prometheus: {}",
                        clip(&ours.2),
                        clip(&theirs.2)
                    )),
                };
                (case, verdict, has_data)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    // Per expression: equal when every evaluation of it is; the first difference is reported.
    let mut report = String::new();
    let mut unequal = BTreeSet::new();
    let mut not_implemented = BTreeSet::new();
    for (case, verdict, _) in &outcomes {
        match verdict {
            Verdict::Equal => {}
            Verdict::NotImplemented => {
                not_implemented.insert(case.expr.clone());
            }
            Verdict::Differs(difference) => {
                if unequal.insert(case.expr.clone()) {
                    let _ = writeln!(report, "{}\n  {}\n  {difference}", case.expr, case.path);
                }
            }
        }
    }
    let not_implemented: BTreeSet<_> = not_implemented.difference(&unequal).collect();
    let total = QUERIES.len() + AWAITING_IMPLEMENTATION.len();
    let evaluations_with_data = outcomes.iter().filter(|o| o.2).count();
    println!("{report}");
    for expr in &not_implemented {
        println!("not implemented yet in Chorus: {expr}");
    }
    println!(
        "differential: {total} queries, {} equal, {} not implemented yet ({} evaluations, {} \
         with data; setup {setup:.1?}, total {:.1?})",
        total - unequal.len() - not_implemented.len(),
        not_implemented.len(),
        outcomes.len(),
        evaluations_with_data,
        started.elapsed()
    );
    // Guards against comparing two empty answers everywhere (e.g. data not loaded).
    assert!(
        evaluations_with_data * 10 >= outcomes.len() * 7,
        "too few answers with data: {evaluations_with_data} of {}",
        outcomes.len()
    );
    assert!(
        unequal.is_empty(),
        "{} queries differ:\n{report}",
        unequal.len()
    );
    drop(stack);
}

/// At most 600 characters of a response body.
fn clip(text: &str) -> String {
    match text.char_indices().nth(600) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

#[test]
fn the_comparison_sees_what_differs() {
    let answer = |text: &str| {
        let body: Value = serde_json::from_str(text).expect("JSON");
        Answer::parse(200, &body)
    };
    let vector = |labels: &str, t: f64, v: &str| {
        answer(&format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{labels},"value":[{t},"{v}"]}}]}}}}"#
        ))
    };
    let base = vector(r#"{"a":"1"}"#, 10.5, "2");
    assert_eq!(
        compare(&base, &vector(r#"{"a":"1"}"#, 10.5, "2"), false),
        None
    );
    assert_eq!(
        compare(
            &base,
            &vector(r#"{"a":"1"}"#, 10.5, "2.000000000001"),
            false
        ),
        None
    );
    assert!(compare(&base, &vector(r#"{"a":"1"}"#, 10.5, "2.0001"), false).is_some());
    assert!(compare(&base, &vector(r#"{"a":"2"}"#, 10.5, "2"), false).is_some());
    assert!(compare(&base, &vector(r#"{"a":"1"}"#, 10.501, "2"), false).is_some());
    let nan = vector("{}", 1.0, "NaN");
    assert_eq!(compare(&nan, &vector("{}", 1.0, "NaN"), false), None);
    assert!(compare(&nan, &vector("{}", 1.0, "0"), false).is_some());
    assert!(
        compare(
            &vector("{}", 1.0, "+Inf"),
            &vector("{}", 1.0, "-Inf"),
            false
        )
        .is_some()
    );

    let exponent = vector("{}", 1.0, "1e+21");
    let digits = vector("{}", 1.0, "1000000000000000000000");
    assert!(compare(&exponent, &digits, false).is_some());

    let scalar = answer(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#);
    assert!(compare(&scalar, &vector("{}", 1.0, "2"), false).is_some());
    let error = |status, kind: &str| {
        let body: Value =
            serde_json::from_str(&format!(r#"{{"status":"error","errorType":"{kind}"}}"#))
                .expect("JSON");
        Answer::parse(status, &body)
    };
    assert_eq!(
        compare(&error(400, "bad_data"), &error(400, "bad_data"), false),
        None
    );
    assert!(compare(&error(422, "execution"), &error(400, "bad_data"), false).is_some());
    assert!(compare(&error(422, "execution"), &base, false).is_some());

    let two = |first: &str, second: &str| {
        answer(&format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"a":"{first}"}},"value":[1,"{first}"]}},{{"metric":{{"a":"{second}"}},"value":[1,"{second}"]}}]}}}}"#
        ))
    };
    assert_eq!(compare(&two("1", "2"), &two("2", "1"), false), None);
    assert!(compare(&two("1", "2"), &two("2", "1"), true).is_some());
}
