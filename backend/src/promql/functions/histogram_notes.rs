//! The annotations of the histogram functions, worded as Prometheus 3
//! util/annotations/annotations.go words them, and reported at the argument they are about
//! (upstream `NewInvalidQuantileWarning`, `NewBadBucketLabelWarning`,
//! `NewMixedClassicNativeHistogramsWarning`, `NewHistogramQuantileForcedMonotonicityInfo`,
//! `NewNativeHistogramQuantileNaN*Info`, `NewNativeHistogramFractionNaNsInfo`).
//!
//! The functions collect [`Note`]s while computing and [`report`] them at the end.

use super::native_quantile::NanObservations;
use super::quantile::MonotonicityFix;
use super::{Evaluator, arg};
use crate::promql::EngineError;
use crate::promql::annotations::{self, ForcedMonotonicity, Severity};
use crate::promql::parser::Call;

/// Something to tell the user about a histogram function's input.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Note {
    /// The quantile in argument `arg` is NaN or outside `[0, 1]`.
    InvalidQuantile {
        /// The argument holding the quantile.
        arg: usize,
        /// Its value.
        q: f64,
    },
    /// A float sample's `le` label is missing or not a number.
    BadBucketLabel {
        /// The metric name, or empty.
        metric: String,
        /// The label's value.
        le: String,
    },
    /// Classic buckets and a native histogram share their labels.
    MixedClassicNative {
        /// The metric name, or empty.
        metric: String,
    },
    /// A classic histogram's cumulative counts had to be made monotonic.
    ForcedMonotonicity {
        /// The metric name, or empty.
        metric: String,
        /// Where and by how much.
        fix: MonotonicityFix,
    },
    /// A native histogram's NaN observations affected the result.
    NanObservations {
        /// The metric name, or empty.
        metric: String,
        /// How.
        effect: NanObservations,
    },
}

/// `" for metric name \"NAME\""`, or nothing without a name (upstream `maybeAddMetricName`).
fn for_metric(metric: &str) -> String {
    if metric.is_empty() {
        String::new()
    } else {
        format!(" for metric name {metric:?}")
    }
}

impl Note {
    /// The severity and the message (without position or, for forced monotonicity, the
    /// summary of occurrences).
    pub(super) fn message(&self) -> (Severity, String) {
        match self {
            Note::InvalidQuantile { q, .. } => {
                let note = annotations::Note::InvalidQuantile(*q);
                (note.severity(), note.message())
            }
            Note::BadBucketLabel { metric, le } => (
                Severity::Warning,
                format!(
                    "bucket label \"le\" is missing or has a malformed value of {le:?}{}",
                    for_metric(metric)
                ),
            ),
            Note::MixedClassicNative { metric } => (
                Severity::Warning,
                format!(
                    "vector contains a mix of classic and native histograms{}",
                    for_metric(metric)
                ),
            ),
            Note::ForcedMonotonicity { metric, .. } => (
                Severity::Info,
                format!(
                    "input to histogram_quantile needed to be fixed for monotonicity (see \
                     https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile){}",
                    for_metric(metric)
                ),
            ),
            Note::NanObservations { metric, effect } => {
                let text = match effect {
                    NanObservations::QuantileIsNan => {
                        "input to histogram_quantile has NaN observations, result is NaN"
                    }
                    NanObservations::QuantileSkewed => {
                        "input to histogram_quantile has NaN observations, result is skewed higher"
                    }
                    NanObservations::FractionExcludesNans => {
                        "input to histogram_fraction has NaN observations, which are excluded \
                         from all fractions"
                    }
                };
                (Severity::Info, format!("{text}{}", for_metric(metric)))
            }
        }
    }
}

/// Reports `notes` of call `c` at `t_ms`: quantile warnings at their argument, the rest at
/// argument `histograms`.
pub(super) fn report(
    ev: &Evaluator,
    c: &Call,
    histograms: usize,
    t_ms: i64,
    notes: Vec<Note>,
) -> Result<(), EngineError> {
    for note in notes {
        let at = match note {
            Note::InvalidQuantile { arg: i, .. } => i,
            _ => histograms,
        };
        let span = arg(c, at)?.span();
        let (severity, message) = note.message();
        match (&note, severity) {
            (Note::ForcedMonotonicity { fix, .. }, _) => {
                let fix = ForcedMonotonicity {
                    t_ms,
                    min_bucket: fix.min_bucket,
                    max_bucket: fix.max_bucket,
                    max_diff: fix.max_diff,
                };
                ev.info_forced_monotonicity(span, message, fix);
            }
            (_, Severity::Warning) => ev.warn(span, message),
            (_, Severity::Info) => ev.info(span, message),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_worded_as_upstream() {
        let (severity, text) = Note::BadBucketLabel {
            metric: "series".into(),
            le: "Hello World".into(),
        }
        .message();
        assert_eq!(severity, Severity::Warning);
        assert_eq!(
            text,
            "bucket label \"le\" is missing or has a malformed value of \"Hello World\" for metric name \"series\""
        );
        let (_, text) = Note::InvalidQuantile {
            arg: 0,
            q: f64::NAN,
        }
        .message();
        assert_eq!(text, "quantile value should be between 0 and 1, got NaN");
        let (_, text) = Note::InvalidQuantile { arg: 0, q: 1.01 }.message();
        assert_eq!(text, "quantile value should be between 0 and 1, got 1.01");
        let (severity, text) = Note::MixedClassicNative {
            metric: String::new(),
        }
        .message();
        assert_eq!(severity, Severity::Warning);
        assert_eq!(
            text,
            "vector contains a mix of classic and native histograms"
        );
        let (severity, text) = Note::NanObservations {
            metric: "h".into(),
            effect: NanObservations::QuantileSkewed,
        }
        .message();
        assert_eq!(severity, Severity::Info);
        assert_eq!(
            text,
            "input to histogram_quantile has NaN observations, result is skewed higher for metric name \"h\""
        );
    }
}
