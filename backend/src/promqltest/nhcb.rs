//! `load_with_nhcb`: classic histograms of a load converted to native histograms with custom
//! buckets (NHCB, schema -53), loaded next to the float series as written (Prometheus 3.14
//! promql/promqltest/test.go `appendCustomHistogram`, util/convertnhcb/convertnhcb.go).
//!
//! Float series named `<base>_bucket` (with a parseable, non-NaN `le`), `<base>_count` and
//! `<base>_sum` are collated per label set without `le`, renamed to `<base>`, and per timestamp
//! turned into one histogram: the finite `le` bounds become `custom_values`, the cumulative
//! bucket counts become per-bucket counts (a `+Inf` bucket holding the count is added when
//! missing), the count defaults to the highest bucket's count. Nothing is known of the engine.

use std::collections::BTreeMap;

use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Span};
use shared::labels::{Label, Labels};

use super::{Load, SequenceValue};

/// Why classic histogram samples could not be converted (upstream convertnhcb's errors).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NhcbError {
    /// A `_bucket` series without an `le` label.
    #[error("expected bucket label in metric {0}")]
    MissingLe(Labels),
    /// A negative bucket count.
    #[error("bucket count must be non-negative: le={le}, count={count}")]
    NegativeBucketCount {
        /// The bucket bound.
        le: f64,
        /// The count.
        count: f64,
    },
    /// A negative `_count`.
    #[error("count must be non-negative: count={0}")]
    NegativeCount(f64),
    /// Bucket counts that decrease with a growing bound.
    #[error("count is not cumulative: {lower} < {higher}")]
    NotCumulative {
        /// The smaller count.
        lower: f64,
        /// The count it should not be smaller than.
        higher: f64,
    },
    /// `_count` differs from the `+Inf` bucket.
    #[error("count mismatch: count={count} != le=+Inf count={inf_count}")]
    CountMismatch {
        /// The histogram's count.
        count: f64,
        /// The `+Inf` bucket's count.
        inf_count: f64,
    },
}

/// One converted series: its labels and its histograms in time order.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NhcbSeries {
    /// The labels: those of the classic series, named `<base>`, without `le`.
    pub(super) labels: Labels,
    /// The histograms by timestamp (ms).
    pub(super) samples: Vec<(i64, FloatHistogram)>,
}

/// The classic histogram samples of one timestamp, collected incrementally (upstream
/// `TempHistogram`).
#[derive(Debug, Clone, Default)]
struct Collected {
    /// `(le, cumulative count)` by increasing `le`.
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: f64,
    error: Option<NhcbError>,
}

impl Collected {
    fn set_bucket(&mut self, le: f64, count: f64) {
        if self.error.is_some() {
            return;
        }
        if count < 0.0 {
            self.error = Some(NhcbError::NegativeBucketCount { le, count });
            return;
        }
        let at = self.buckets.partition_point(|(b, _)| *b < le);
        if self.buckets.get(at).is_some_and(|(b, _)| *b == le) {
            // A duplicate bound: the first one stays.
            return;
        }
        if let Some(&(_, below)) = at.checked_sub(1).and_then(|i| self.buckets.get(i))
            && count < below
        {
            self.error = Some(NhcbError::NotCumulative {
                lower: count,
                higher: below,
            });
            return;
        }
        if let Some(&(_, above)) = self.buckets.get(at)
            && count > above
        {
            self.error = Some(NhcbError::NotCumulative {
                lower: above,
                higher: count,
            });
            return;
        }
        self.buckets.insert(at, (le, count));
    }

    fn set_count(&mut self, count: f64) {
        if self.error.is_some() {
            return;
        }
        if count < 0.0 {
            self.error = Some(NhcbError::NegativeCount(count));
            return;
        }
        self.count = Some(count);
    }

    fn set_sum(&mut self, sum: f64) {
        if self.error.is_none() {
            self.sum = sum;
        }
    }

    /// The native histogram with custom buckets (upstream `TempHistogram.Convert`; the
    /// integer path there gives the same counts).
    fn convert(mut self) -> Result<FloatHistogram, NhcbError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let count = self
            .count
            .or_else(|| self.buckets.last().map(|(_, c)| *c))
            .unwrap_or(0.0);
        if self
            .buckets
            .last()
            .is_none_or(|(le, _)| *le != f64::INFINITY)
        {
            self.buckets.push((f64::INFINITY, count));
        }
        let inf_count = self.buckets.last().map_or(0.0, |(_, c)| *c);
        if count != inf_count {
            return Err(NhcbError::CountMismatch { count, inf_count });
        }
        let mut previous = 0.0;
        let mut spans: Vec<Span> = Vec::new();
        let mut counts = Vec::new();
        let mut gap = 0;
        for (i, &(_, cumulative)) in self.buckets.iter().enumerate() {
            let c = cumulative - previous;
            previous = cumulative;
            if c == 0.0 {
                gap += 1;
                continue;
            }
            match spans.last_mut() {
                Some(last) if gap == 0 && !counts.is_empty() => last.length += 1,
                _ => spans.push(Span {
                    offset: if counts.is_empty() {
                        i32::try_from(i).unwrap_or(i32::MAX)
                    } else {
                        gap
                    },
                    length: 1,
                }),
            }
            gap = 0;
            counts.push(c);
        }
        let custom_values = self.buckets[..self.buckets.len() - 1]
            .iter()
            .map(|(le, _)| *le)
            .collect();
        Ok(FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum: self.sum,
            positive_spans: spans,
            positive_buckets: counts,
            custom_values,
            ..FloatHistogram::default()
        })
    }
}

/// What a classic series contributes.
#[derive(Debug, Clone, Copy)]
enum Part {
    Bucket(f64),
    Count,
    Sum,
}

/// `le` as Go's `strconv.ParseFloat` reads it (`+Inf`, `Inf`, `NaN` in any case included).
fn parse_le(le: &str) -> Option<f64> {
    le.parse::<f64>().ok()
}

/// The part a series contributes and its base labels, or `None` for other series.
fn classify(labels: &Labels) -> Result<Option<(Part, Labels)>, NhcbError> {
    let Some(name) = labels.get("__name__") else {
        return Ok(None);
    };
    let (part, base) = if let Some(base) = name.strip_suffix("_bucket") {
        let Some(le) = labels.get("le") else {
            return Err(NhcbError::MissingLe(labels.clone()));
        };
        match parse_le(le) {
            Some(le) if !le.is_nan() => (Part::Bucket(le), base),
            _ => return Ok(None),
        }
    } else if let Some(base) = name.strip_suffix("_sum") {
        (Part::Sum, base)
    } else if let Some(base) = name.strip_suffix("_count") {
        (Part::Count, base)
    } else {
        return Ok(None);
    };
    let rest = labels
        .iter()
        .filter(|l| l.name != "__name__" && l.name != "le")
        .cloned();
    let base = Labels::from_unsorted(
        std::iter::once(Label::new("__name__", base))
            .chain(rest)
            .collect(),
    );
    Ok(Some((part, base)))
}

/// The NHCB series of a `load_with_nhcb` body, in label order.
pub(super) fn convert(load: &Load) -> Result<Vec<NhcbSeries>, NhcbError> {
    let mut collected: BTreeMap<Labels, BTreeMap<i64, Collected>> = BTreeMap::new();
    for series in &load.series {
        let Some((part, base)) = classify(&series.labels)? else {
            continue;
        };
        let by_time = collected.entry(base).or_default();
        for sample in series.samples(load.interval_ms) {
            let value = match sample.value {
                SequenceValue::Float(f) => *f,
                SequenceValue::Stale => shared::series::stale_nan(),
                SequenceValue::Histogram(_) | SequenceValue::Missing => continue,
            };
            let h = by_time.entry(sample.t_ms).or_default();
            match part {
                Part::Bucket(le) => h.set_bucket(le, value),
                Part::Count => h.set_count(value),
                Part::Sum => h.set_sum(value),
            }
        }
    }
    collected
        .into_iter()
        .map(|(labels, by_time)| {
            let samples = by_time
                .into_iter()
                .map(|(t, h)| Ok((t, h.convert()?)))
                .collect::<Result<_, NhcbError>>()?;
            Ok(NhcbSeries { labels, samples })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promqltest::Command;
    use crate::promqltest::parse_script;

    fn load(body: &str) -> Load {
        let script = parse_script(&format!("load_with_nhcb 1m\n{body}\n")).unwrap();
        match script.commands.into_iter().next() {
            Some(Command::Load(l)) => l,
            other => panic!("not a load: {other:?}"),
        }
    }

    #[test]
    fn cumulative_buckets_become_custom_buckets() {
        let l = load(
            "  h_bucket{le=\"0.1\", x=\"a\"} 1 2\n  h_bucket{le=\"+Inf\", x=\"a\"} 4 4\n  h_bucket{le=\"1\", x=\"a\"} 1 3\n  h_sum{x=\"a\"} 7 8\n  h_count{x=\"a\"} 4 4\n  other 1",
        );
        let series = convert(&l).unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].labels.to_string(), "{__name__=\"h\", x=\"a\"}");
        let (t, first) = &series[0].samples[0];
        assert_eq!(*t, 0);
        assert_eq!(first.custom_values, vec![0.1, 1.0]);
        // Bucket 1 is empty and left out of the spans.
        assert_eq!(first.positive_buckets, vec![1.0, 3.0]);
        assert_eq!(
            first.positive_spans,
            vec![
                Span {
                    offset: 0,
                    length: 1
                },
                Span {
                    offset: 1,
                    length: 1
                }
            ]
        );
        assert_eq!((first.count, first.sum), (4.0, 7.0));
        let (t, second) = &series[0].samples[1];
        assert_eq!(
            (*t, second.positive_buckets.clone()),
            (60_000, vec![2.0, 1.0, 1.0])
        );
    }

    #[test]
    fn missing_inf_bucket_takes_the_count_and_mismatches_fail() {
        let l = load("  h_bucket{le=\"1\"} 2\n  h_count 5");
        let series = convert(&l).unwrap();
        let (_, h) = &series[0].samples[0];
        assert_eq!(h.positive_buckets, vec![2.0, 3.0]);
        assert_eq!(h.count, 5.0);
        let l = load("  h_bucket{le=\"1\"} 2\n  h_bucket{le=\"+Inf\"} 3\n  h_count 5");
        assert!(matches!(convert(&l), Err(NhcbError::CountMismatch { .. })));
        let l = load("  h_bucket{le=\"1\"} 4\n  h_bucket{le=\"2\"} 3");
        assert!(matches!(convert(&l), Err(NhcbError::NotCumulative { .. })));
    }
}
