//! Native histograms in series descriptions: `{{schema:1 sum:3 count:22 buckets:[5 10 7]}}` and
//! the sums and differences that `{{a}}+{{b}}xN` / `{{a}}-{{b}}xN` expand to.
//!
//! The keys and their value shapes are those of Prometheus 3.14 `generated_parser.y`
//! (`histogram_desc_item`): `schema`, `offset`, `n_offset` take integers; `sum`, `count`,
//! `z_bucket` signed numbers; `z_bucket_w` an unsigned number; `buckets`, `n_buckets`,
//! `custom_values` a `[...]` list; `counter_reset_hint` one of `unknown reset not_reset gauge`.
//! Keys are case-insensitive and may not repeat. As upstream's `buildHistogramFromMap`, the
//! buckets of each side form one span starting at the side's offset, and the schema defaults
//! to 0 (also when `custom_values` is given).
//!
//! Combining follows `FloatHistogram.Add`/`Sub` (`model/histogram/float_histogram.go`): the
//! result keeps the first histogram's schema (the increment is reduced to it; a first schema
//! larger than the increment's is an error, as in `histogramsSeries`), the counter reset hints
//! combine as in `adjustCounterReset`, buckets are the union of both sides, and increment
//! buckets inside the zero bucket are ignored (`addBuckets`). Differences to upstream, outside
//! anything the test corpus uses: with differing zero thresholds, the side with the smaller
//! one moves the buckets that lie wholly inside the larger threshold into its zero bucket
//! (upstream also widens a threshold that falls inside a populated bucket), and custom-bucket
//! histograms must have equal bounds (upstream reconciles to the intersection).

use std::collections::BTreeMap;

use shared::histogram::{
    CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, Span, bucket_indices,
};

use super::series::{Cursor, HistogramValue, SeriesError, SeriesErrorKind, error};

/// Whether `{{a}}op{{b}}xN` adds or subtracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Combine {
    /// `+`
    Add,
    /// `-`
    Sub,
}

/// One `{{...}}` at the cursor, through the closing `}}`.
pub(super) fn parse_description(cursor: &mut Cursor<'_>) -> Result<HistogramValue, SeriesError> {
    let fail = |at: usize, message: String| error(at, SeriesErrorKind::Histogram(message));
    if !cursor.eat("{{") {
        return Err(cursor.unexpected("\"{{\""));
    }
    let mut h = FloatHistogram::default();
    let mut seen: Vec<String> = Vec::new();
    let (mut buckets, mut n_buckets) = (Vec::new(), Vec::new());
    let (mut offset, mut n_offset) = (0i32, 0i32);
    let mut hint_set = false;
    loop {
        let separated = cursor.skip_space();
        if cursor.eat("}}") {
            break;
        }
        if !separated && !seen.is_empty() {
            return Err(fail(
                cursor.pos,
                "expected a space between histogram description keys".into(),
            ));
        }
        let key_start = cursor.pos;
        let key = cursor
            .take_while(|b| b.is_ascii_alphabetic() || b == b'_')
            .to_ascii_lowercase();
        if key.is_empty() {
            return Err(fail(
                key_start,
                format!(
                    "unexpected {:?}, expected a key such as buckets:[5 10 7]",
                    rest_word(cursor)
                ),
            ));
        }
        if !cursor.eat(":") {
            return Err(fail(
                cursor.pos,
                format!("missing `:` after histogram descriptor {key:?}"),
            ));
        }
        if seen.contains(&key) {
            return Err(fail(
                key_start,
                format!("duplicate key {key:?} in histogram"),
            ));
        }
        match key.as_str() {
            "schema" => h.schema = integer(cursor)?,
            "offset" => offset = integer(cursor)?,
            "n_offset" => n_offset = integer(cursor)?,
            "sum" => h.sum = cursor.signed_number()?,
            "count" => h.count = cursor.signed_number()?,
            "z_bucket" => h.zero_count = cursor.signed_number()?,
            "z_bucket_w" => h.zero_threshold = cursor.number()?,
            "buckets" => buckets = bucket_list(cursor)?,
            "n_buckets" => n_buckets = bucket_list(cursor)?,
            "custom_values" => h.custom_values = bucket_list(cursor)?,
            "counter_reset_hint" => {
                let word_start = cursor.pos;
                h.counter_reset_hint = match cursor
                    .take_while(|b| b.is_ascii_alphabetic() || b == b'_')
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => {
                        return Err(fail(
                            word_start,
                            format!("unknown counter_reset_hint {other:?}"),
                        ));
                    }
                };
                hint_set = true;
            }
            _ => {
                return Err(fail(
                    key_start,
                    format!("bad histogram descriptor found: {key:?}"),
                ));
            }
        }
        seen.push(key);
    }
    (h.positive_spans, h.positive_buckets) = one_span(offset, buckets);
    (h.negative_spans, h.negative_buckets) = one_span(n_offset, n_buckets);
    Ok(HistogramValue {
        histogram: Box::new(h),
        counter_reset_hint_set: hint_set,
    })
}

fn rest_word(cursor: &Cursor<'_>) -> String {
    cursor
        .rest()
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

fn one_span(offset: i32, buckets: Vec<f64>) -> (Vec<Span>, Vec<f64>) {
    if buckets.is_empty() {
        return (Vec::new(), buckets);
    }
    // The list is bounded by the line length, far below u32::MAX.
    let length = u32::try_from(buckets.len()).unwrap_or(u32::MAX);
    (vec![Span { offset, length }], buckets)
}

/// An integer with an optional `-` (upstream's `int` rule), within `i32`.
fn integer(cursor: &mut Cursor<'_>) -> Result<i32, SeriesError> {
    let start = cursor.pos;
    let negative = cursor.eat("-");
    let digits = cursor.take_while(|b| b.is_ascii_digit());
    let value = digits
        .parse::<i64>()
        .ok()
        .map(|v| if negative { -v } else { v });
    value
        .and_then(|v| i32::try_from(v).ok())
        .filter(|_| !digits.is_empty())
        .ok_or_else(|| {
            error(
                start,
                SeriesErrorKind::Histogram(format!(
                    "invalid integer {:?}",
                    &cursor.input[start..cursor.pos]
                )),
            )
        })
}

/// `[n n n]`: at least one signed number, separated by spaces.
fn bucket_list(cursor: &mut Cursor<'_>) -> Result<Vec<f64>, SeriesError> {
    if !cursor.eat("[") {
        return Err(cursor.unexpected("\"[\""));
    }
    let mut values = Vec::new();
    loop {
        let separated = cursor.skip_space();
        if !values.is_empty() && cursor.eat("]") {
            return Ok(values);
        }
        if !values.is_empty() && !separated {
            return Err(cursor.unexpected("a space or \"]\""));
        }
        values.push(cursor.signed_number()?);
    }
}

/// `a + b` or `a - b`, see the module docs.
pub(super) fn combine(
    a: &FloatHistogram,
    b: &FloatHistogram,
    op: Combine,
) -> Result<FloatHistogram, String> {
    if a.schema > b.schema {
        return Err(format!(
            "cannot merge from schema {} to {}",
            b.schema, a.schema
        ));
    }
    let custom = a.schema == CUSTOM_BUCKETS_SCHEMA;
    if custom != (b.schema == CUSTOM_BUCKETS_SCHEMA) {
        return Err("cannot apply this operation on histograms with a mix of exponential and custom bucket schemas".into());
    }
    if custom && !floats_equal(&a.custom_values, &b.custom_values) {
        return Err("custom bucket bounds differ".into());
    }
    let sign = if op == Combine::Add { 1.0 } else { -1.0 };
    let mut out = a.clone();
    out.counter_reset_hint = combined_hint(a.counter_reset_hint, b.counter_reset_hint);
    out.count += sign * b.count;
    out.sum += sign * b.sum;
    let shift = if custom {
        0
    } else {
        b.schema.saturating_sub(a.schema)
    };
    let mut pos_a = bucket_map(&a.positive_spans, &a.positive_buckets, 0);
    let mut neg_a = bucket_map(&a.negative_spans, &a.negative_buckets, 0);
    let mut pos_b = bucket_map(&b.positive_spans, &b.positive_buckets, shift);
    let mut neg_b = bucket_map(&b.negative_spans, &b.negative_buckets, shift);
    if !custom {
        let threshold = a.zero_threshold.max(b.zero_threshold);
        let mut b_zero_count = b.zero_count;
        if a.zero_threshold < threshold {
            out.zero_count += fold_into_zero(&mut pos_a, a.schema, threshold)
                + fold_into_zero(&mut neg_a, a.schema, threshold);
        }
        if b.zero_threshold < threshold {
            b_zero_count += fold_into_zero(&mut pos_b, a.schema, threshold)
                + fold_into_zero(&mut neg_b, a.schema, threshold);
        }
        // Upstream `addBuckets` ignores increment buckets that lie inside the zero bucket.
        fold_into_zero(&mut pos_b, a.schema, threshold);
        fold_into_zero(&mut neg_b, a.schema, threshold);
        out.zero_threshold = threshold;
        out.zero_count += sign * b_zero_count;
    }
    merge(&mut pos_a, &pos_b, sign);
    merge(&mut neg_a, &neg_b, sign);
    (out.positive_spans, out.positive_buckets) = to_spans(&pos_a)?;
    (out.negative_spans, out.negative_buckets) = to_spans(&neg_a)?;
    Ok(out)
}

/// Upstream `adjustCounterReset`: equal hints stay, a gauge wins, then unknown; a reset meeting
/// a not-reset becomes unknown.
fn combined_hint(a: CounterResetHint, b: CounterResetHint) -> CounterResetHint {
    use CounterResetHint::*;
    match (a, b) {
        _ if a == b => a,
        (Gauge, _) | (_, Gauge) => Gauge,
        _ => Unknown,
    }
}

/// Bucket index → count, with indices reduced by `shift` schema steps (upstream `targetIdx`).
fn bucket_map(spans: &[Span], buckets: &[f64], shift: i32) -> BTreeMap<i64, f64> {
    let shift = u32::try_from(shift.clamp(0, 63)).unwrap_or(0);
    let mut map = BTreeMap::new();
    for (index, count) in bucket_indices(spans).zip(buckets) {
        let target = ((index - 1) >> shift) + 1;
        *map.entry(target).or_insert(0.0) += count;
    }
    map
}

/// Removes buckets whose upper bound is at most `threshold` and returns their total count.
fn fold_into_zero(map: &mut BTreeMap<i64, f64>, schema: i32, threshold: f64) -> f64 {
    let inside: Vec<i64> = map
        .keys()
        .copied()
        .take_while(|&i| upper_bound(i, schema) <= threshold)
        .collect();
    inside.iter().filter_map(|i| map.remove(i)).sum()
}

/// Upper bound of exponential bucket `index`: 2^(index · 2^-schema).
fn upper_bound(index: i64, schema: i32) -> f64 {
    (index as f64 * 2f64.powi(-schema)).exp2()
}

fn merge(into: &mut BTreeMap<i64, f64>, other: &BTreeMap<i64, f64>, sign: f64) {
    for (index, count) in other {
        *into.entry(*index).or_insert(0.0) += sign * count;
    }
}

/// Spans (first offset absolute, later ones gaps) and counts for a bucket map.
fn to_spans(map: &BTreeMap<i64, f64>) -> Result<(Vec<Span>, Vec<f64>), String> {
    let mut spans: Vec<Span> = Vec::new();
    let mut next: Option<i64> = None;
    for &index in map.keys() {
        match (next, spans.last_mut()) {
            (Some(n), Some(last)) if n == index => last.length += 1,
            _ => {
                let offset = index - next.unwrap_or(0);
                let offset = i32::try_from(offset)
                    .map_err(|_| format!("bucket index {index} out of range"))?;
                spans.push(Span { offset, length: 1 });
            }
        }
        next = Some(index + 1);
    }
    Ok((spans, map.values().copied().collect()))
}

fn floats_equal(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promqltest::series::{SequenceValue, parse_series};

    fn histograms(input: &str) -> Vec<HistogramValue> {
        parse_series(input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .values
            .into_iter()
            .map(|v| match v {
                SequenceValue::Histogram(h) => h,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn span(offset: i32, length: u32) -> Span {
        Span { offset, length }
    }

    #[test]
    fn all_keys() {
        let [h] = &histograms(
            "m {{schema:1 sum:-3 count:22 buckets:[5 10 7] n_buckets:[1 -2] offset:-2 n_offset:3 z_bucket:1 z_bucket_w:0.001 counter_reset_hint:reset}}",
        )[..] else {
            panic!()
        };
        let f = &h.histogram;
        assert_eq!(
            (f.schema, f.sum, f.count, f.zero_count, f.zero_threshold),
            (1, -3.0, 22.0, 1.0, 0.001)
        );
        assert_eq!(
            (f.positive_spans.clone(), f.positive_buckets.clone()),
            (vec![span(-2, 3)], vec![5.0, 10.0, 7.0])
        );
        assert_eq!(
            (f.negative_spans.clone(), f.negative_buckets.clone()),
            (vec![span(3, 2)], vec![1.0, -2.0])
        );
        assert_eq!(f.counter_reset_hint, CounterResetHint::CounterReset);
        assert!(h.counter_reset_hint_set);
        let [h] = &histograms("m {{ SCHEMA:-53 custom_values:[5 10 Inf] buckets:[1 2 3] }}")[..]
        else {
            panic!()
        };
        assert_eq!(h.histogram.custom_values, vec![5.0, 10.0, f64::INFINITY]);
        assert!(!h.counter_reset_hint_set);
        assert_eq!(
            *histograms("m {{}}")[0].histogram,
            FloatHistogram::default()
        );
    }

    #[test]
    fn repeats_and_series() {
        let hs = histograms("m {{sum:1 count:1}}x2");
        assert_eq!(hs.len(), 3);
        assert!(hs.iter().all(|h| h.histogram.sum == 1.0));
        let hs = histograms(
            "m {{schema:0 sum:4 count:4 buckets:[1 2 1]}}+{{sum:2 count:1 buckets:[1] offset:1 counter_reset_hint:gauge}}x2",
        );
        let last = &hs[2].histogram;
        assert_eq!((last.sum, last.count), (8.0, 6.0));
        assert_eq!(
            (last.positive_spans.clone(), last.positive_buckets.clone()),
            (vec![span(0, 3)], vec![1.0, 4.0, 1.0])
        );
        assert_eq!(last.counter_reset_hint, CounterResetHint::Gauge);
        assert!(hs.iter().all(|h| h.counter_reset_hint_set));
        let hs = histograms(
            "m {{sum:10 count:5 buckets:[3 2]}}-{{sum:1 count:1 n_buckets:[1] buckets:[0 0 1]}}x1",
        );
        let f = &hs[1].histogram;
        assert_eq!((f.sum, f.count), (9.0, 4.0));
        assert_eq!(f.positive_buckets, vec![3.0, 2.0, -1.0]);
        assert_eq!(f.negative_buckets, vec![-1.0]);
    }

    #[test]
    fn lower_schema_absorbs_the_increment() {
        // Schema 0 buckets 1 and 2 fall into schema -1 bucket 1 ((i-1)>>1)+1.
        let hs = histograms(
            "m {{schema:-1 sum:4 count:1 buckets:[1] offset:1}}+{{schema:0 sum:4 count:4 buckets:[2 2] offset:1}}x1",
        );
        let f = &hs[1].histogram;
        assert_eq!(
            (
                f.schema,
                f.positive_spans.clone(),
                f.positive_buckets.clone()
            ),
            (-1, vec![span(1, 1)], vec![5.0])
        );
        assert!(parse_series("m {{schema:1}}+{{schema:0}}x1").is_err());
        assert!(parse_series("m {{schema:-53}}+{{schema:0}}x1").is_err());
    }

    #[test]
    fn zero_thresholds_reconcile() {
        // The increment's bucket -1 (upper bound 0.5) lies inside the larger zero bucket.
        let hs = histograms(
            "m {{z_bucket_w:0.5 z_bucket:1 buckets:[1]}}+{{z_bucket:1 buckets:[2 4] offset:-1}}x1",
        );
        let f = &hs[1].histogram;
        assert_eq!((f.zero_threshold, f.zero_count), (0.5, 4.0));
        assert_eq!(
            (f.positive_spans.clone(), f.positive_buckets.clone()),
            (vec![span(0, 1)], vec![5.0])
        );
    }

    #[test]
    fn spans_with_gaps() {
        let hs = histograms("m {{buckets:[1] offset:-3}}+{{buckets:[1] offset:2}}x1");
        let f = &hs[1].histogram;
        assert_eq!(
            (f.positive_spans.clone(), f.positive_buckets.clone()),
            (vec![span(-3, 1), span(4, 1)], vec![1.0, 1.0])
        );
    }

    #[test]
    fn description_errors() {
        for bad in [
            "m {{schema:1 schema:2}}",
            "m {{foo:1}}",
            "m {{sum}}",
            "m {{buckets:[]}}",
            "m {{buckets:[1 2}}",
            "m {{schema:1.5}}",
            "m {{schema:99999999999}}",
            "m {{counter_reset_hint:maybe}}",
            "m {{z_bucket_w:-1}}",
            "m {{sum:1count:1}}",
            "m {{sum:1",
            "m {{sum:1}}+{{sum:1}}",
            "m {{sum:1}}x",
        ] {
            let e = parse_series(bad).expect_err(bad);
            assert!(e.column > 2, "{bad}: {e}");
        }
    }
}
