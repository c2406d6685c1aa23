//! Native-histogram functions that reduce each histogram to one number: `histogram_count`,
//! `histogram_sum`, `histogram_avg`, `histogram_stddev` and `histogram_stdvar` (upstream
//! functions.go `funcHistogramCount`, `funcHistogramSum`, `funcHistogramAvg`,
//! `histogramVariance`). Float elements are left out; the metric name is dropped.

use super::{Evaluator, native_quantile, vector_arg};
use crate::promql::EngineError;
use crate::promql::parser::Call;
use crate::promql::storage::SampleValue;
use crate::promql::value::Value;

/// Applies the field function `name` to every histogram element.
pub(super) fn field(ev: &Evaluator, c: &Call, t_ms: i64, name: &str) -> Result<Value, EngineError> {
    let mut v = vector_arg(ev, c, 0, t_ms)?;
    v.retain_mut(|e| {
        let SampleValue::Histogram(h) = &e.value else {
            return false;
        };
        let value = match name {
            "histogram_count" => h.count,
            "histogram_sum" => h.sum,
            "histogram_stddev" => native_quantile::variance(h).sqrt(),
            "histogram_stdvar" => native_quantile::variance(h),
            _ => h.sum / h.count,
        };
        e.value = SampleValue::Float(value);
        e.drop_name = true;
        true
    });
    Ok(Value::Vector(v))
}
