//! The annotations the engine knows, each worded exactly as upstream
//! util/annotations/annotations.go words it (the `New...` constructors there), so that
//! arithmetic and aggregation code can return "what to say" as a value without knowing where
//! in the query it happened or how it is collected. The texts about combining histograms
//! come from [`crate::promql::histogram`], which defines them next to the arithmetic.

use super::Severity;
use crate::promql::go_format::go_g;
use crate::promql::histogram::{Operation, mixed_schemas_message};

/// One kind of annotation with what its message needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Note {
    /// A quantile parameter outside `[0, 1]` or NaN (`NewInvalidQuantileWarning`).
    InvalidQuantile(f64),
    /// A `limit_ratio` parameter outside `[-1, 1]`, and what it was capped to
    /// (`NewInvalidRatioWarning`).
    InvalidRatio {
        /// The ratio given.
        got: f64,
        /// The ratio used.
        capped: f64,
    },
    /// A function met both floats and histograms in one series
    /// (`NewMixedFloatsHistogramsWarning`).
    MixedFloatsHistograms(String),
    /// An aggregation group had both floats and histograms
    /// (`NewMixedFloatsHistogramsAggWarning`).
    MixedFloatsHistogramsAggregation,
    /// A counter function met a gauge histogram (`NewNativeHistogramNotCounterWarning`).
    NotCounter(String),
    /// A gauge function met a counter histogram (`NewNativeHistogramNotGaugeWarning`).
    NotGauge(String),
    /// Exponential and custom-bucket histograms had to be combined
    /// (`NewMixedExponentialCustomHistogramsWarning`).
    MixedExponentialCustom(String),
    /// A float series read as a counter has a name counters do not have
    /// (`NewPossibleNonCounterInfo`).
    PossibleNonCounter(String),
    /// A binary operator is undefined for the sample types met
    /// (`NewIncompatibleTypesInBinOpInfo`).
    IncompatibleTypes {
        /// `float` or `histogram`.
        lhs: &'static str,
        /// The operator as written (`+`, `==`, `atan2`).
        op: &'static str,
        /// `float` or `histogram`.
        rhs: &'static str,
    },
    /// An aggregation that works on floats only skipped a histogram
    /// (`NewHistogramIgnoredInAggregationInfo`).
    HistogramIgnoredInAggregation(&'static str),
    /// A float function skipped the histograms of a mixed range
    /// (`NewHistogramIgnoredInMixedRangeInfo`).
    HistogramIgnoredInMixedRange(String),
    /// Two histograms of incompatible layouts met in a binary operator
    /// (`NewIncompatibleBucketLayoutInBinOpWarning`).
    IncompatibleBucketLayout(&'static str),
    /// A counter reset and a "not reset" hint met (`NewHistogramCounterResetCollisionWarning`).
    CounterResetCollision(Operation),
    /// Custom-bucket histograms of different bounds were combined on their common bounds
    /// (`NewMismatchedCustomBucketsHistogramsInfo`).
    MismatchedCustomBuckets(Operation),
}

impl Note {
    /// Warning or info, as upstream classes it.
    pub(crate) fn severity(&self) -> Severity {
        match self {
            Self::InvalidQuantile(_)
            | Self::InvalidRatio { .. }
            | Self::MixedFloatsHistograms(_)
            | Self::MixedFloatsHistogramsAggregation
            | Self::NotCounter(_)
            | Self::NotGauge(_)
            | Self::MixedExponentialCustom(_)
            | Self::IncompatibleBucketLayout(_)
            | Self::CounterResetCollision(_) => Severity::Warning,
            Self::PossibleNonCounter(_)
            | Self::IncompatibleTypes { .. }
            | Self::HistogramIgnoredInAggregation(_)
            | Self::HistogramIgnoredInMixedRange(_)
            | Self::MismatchedCustomBuckets(_) => Severity::Info,
        }
    }

    /// The message, without the severity prefix or the position.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::InvalidQuantile(q) => {
                format!(
                    "quantile value should be between 0 and 1, got {}",
                    go_g(*q, None)
                )
            }
            Self::InvalidRatio { got, capped } => format!(
                "ratio value should be between -1 and 1, got {}, capping to {}",
                go_g(*got, None),
                go_g(*capped, None)
            ),
            Self::MixedFloatsHistograms(name) => {
                format!("encountered a mix of histograms and floats for metric name {name:?}")
            }
            Self::MixedFloatsHistogramsAggregation => {
                "encountered a mix of histograms and floats for aggregation".into()
            }
            Self::NotCounter(name) => {
                format!("this native histogram metric is not a counter: {name:?}")
            }
            Self::NotGauge(name) => {
                format!("this native histogram metric is not a gauge: {name:?}")
            }
            Self::MixedExponentialCustom(name) => mixed_schemas_message(name),
            Self::PossibleNonCounter(name) => format!(
                "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
            ),
            Self::IncompatibleTypes { lhs, op, rhs } => format!(
                "incompatible sample types encountered for binary operator {op:?}: {lhs} {op} {rhs}"
            ),
            Self::HistogramIgnoredInAggregation(aggregation) => {
                format!("ignored histogram in {aggregation} aggregation")
            }
            Self::HistogramIgnoredInMixedRange(name) => format!(
                "ignored histograms in a range containing both floats and histograms for metric name {name:?}"
            ),
            Self::IncompatibleBucketLayout(op) => {
                format!("incompatible bucket layout encountered for binary operator {op}")
            }
            Self::CounterResetCollision(op) => op.collision_message(),
            Self::MismatchedCustomBuckets(op) => op.reconciled_message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_messages_as_upstream() {
        let note = Note::IncompatibleTypes {
            lhs: "histogram",
            op: "+",
            rhs: "float",
        };
        assert_eq!(note.severity(), Severity::Info);
        assert_eq!(
            note.message(),
            r#"incompatible sample types encountered for binary operator "+": histogram + float"#
        );
        let note = Note::InvalidRatio {
            got: 1.1,
            capped: 1.0,
        };
        assert_eq!(note.severity(), Severity::Warning);
        assert_eq!(
            note.message(),
            "ratio value should be between -1 and 1, got 1.1, capping to 1"
        );
        assert_eq!(
            Note::MismatchedCustomBuckets(Operation::Subtraction).message(),
            "mismatched custom buckets were reconciled during subtraction"
        );
    }
}
