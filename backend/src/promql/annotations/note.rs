//! The annotations the engine knows, each worded exactly as upstream
//! util/annotations/annotations.go words it (the `New...` constructors there), so that
//! arithmetic and aggregation code can return "what to say" as a value without knowing where
//! in the query it happened or how it is collected.

use super::Severity;

/// The operation during which histograms were combined (upstream `HistogramOperation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HistogramOp {
    /// `+`, or adding inside a function.
    Addition,
    /// `-`, or subtracting inside a function.
    Subtraction,
    /// `sum`, `avg`, `sum_over_time`, ...
    Aggregation,
}

impl HistogramOp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Addition => "addition",
            Self::Subtraction => "subtraction",
            Self::Aggregation => "aggregation",
        }
    }
}

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
    CounterResetCollision(HistogramOp),
    /// Custom-bucket histograms of different bounds were combined on their common bounds
    /// (`NewMismatchedCustomBucketsHistogramsInfo`).
    MismatchedCustomBuckets(HistogramOp),
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
                format!("quantile value should be between 0 and 1, got {}", go_g(*q))
            }
            Self::InvalidRatio { got, capped } => format!(
                "ratio value should be between -1 and 1, got {}, capping to {}",
                go_g(*got),
                go_g(*capped)
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
            Self::MixedExponentialCustom(name) => format!(
                "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {name:?}"
            ),
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
            Self::CounterResetCollision(op) => {
                format!(
                    "conflicting counter resets during histogram {}",
                    op.as_str()
                )
            }
            Self::MismatchedCustomBuckets(op) => format!(
                "mismatched custom buckets were reconciled during {}",
                op.as_str()
            ),
        }
    }
}

/// A float as Go's `%g` prints it: the shortest digits that round-trip, in exponent form
/// (`1e+06`, `1.5e-05`) when the exponent is below -4 or at least 6; `NaN`, `+Inf`, `-Inf`.
pub(crate) fn go_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits as `D.DDDeX`.
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` has an integer exponent");
    if (-4..6).contains(&exponent) {
        return format!("{f}");
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_floats_as_go_percent_g() {
        assert_eq!(go_g(1.1), "1.1");
        assert_eq!(go_g(-1.1), "-1.1");
        assert_eq!(go_g(2.0), "2");
        assert_eq!(go_g(0.0001), "0.0001");
        assert_eq!(go_g(0.00001), "1e-05");
        assert_eq!(go_g(123456.0), "123456");
        assert_eq!(go_g(1234567.0), "1.234567e+06");
        assert_eq!(go_g(1e100), "1e+100");
        assert_eq!(go_g(f64::NAN), "NaN");
        assert_eq!(go_g(f64::NEG_INFINITY), "-Inf");
    }

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
            Note::MismatchedCustomBuckets(HistogramOp::Subtraction).message(),
            "mismatched custom buckets were reconciled during subtraction"
        );
    }
}
