//! The annotations of the histogram functions, worded as Prometheus 3
//! util/annotations/annotations.go words them, and the Go float formats they use (`%g`,
//! `%.2g`, `labels.FormatOpenMetricsFloat`).
//!
//! Knows nothing of evaluation: callers collect [`Note`]s and report them where they point.

use super::native_quantile::NanObservations;
use super::quantile::MonotonicityFix;

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    /// `PromQL warning: ...`
    Warning,
    /// `PromQL info: ...`
    Info,
}

/// Which argument of the call an annotation points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The quantile argument.
    Quantile(usize),
    /// The histogram vector argument.
    Histograms,
}

/// Something to tell the user about a histogram function's input.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Note {
    /// The quantile is NaN or outside `[0, 1]` (argument index given).
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
        /// The evaluation time, in ms.
        t_ms: i64,
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

/// RFC 3339 UTC time of whole seconds, as Go's `time.RFC3339` prints it.
fn rfc3339(t_ms: i64) -> String {
    let seconds = t_ms.div_euclid(1000);
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

impl Note {
    /// The severity, the argument pointed at and the message (without the position).
    pub(super) fn render(&self) -> (Level, Target, String) {
        match self {
            Note::InvalidQuantile { arg, q } => (
                Level::Warning,
                Target::Quantile(*arg),
                format!(
                    "quantile value should be between 0 and 1, got {}",
                    go_g(*q, None)
                ),
            ),
            Note::BadBucketLabel { metric, le } => (
                Level::Warning,
                Target::Histograms,
                format!(
                    "bucket label \"le\" is missing or has a malformed value of {le:?}{}",
                    for_metric(metric)
                ),
            ),
            Note::MixedClassicNative { metric } => (
                Level::Warning,
                Target::Histograms,
                format!(
                    "vector contains a mix of classic and native histograms{}",
                    for_metric(metric)
                ),
            ),
            Note::ForcedMonotonicity { metric, fix, t_ms } => (
                Level::Info,
                Target::Histograms,
                format!(
                    "input to histogram_quantile needed to be fixed for monotonicity (see \
                     https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile){}, \
                     from buckets {} to {}, with a max diff of {}, over 1 samples from {} to {}",
                    for_metric(metric),
                    go_g(fix.min_bucket, None),
                    go_g(fix.max_bucket, None),
                    go_g(fix.max_diff, Some(2)),
                    rfc3339(*t_ms),
                    rfc3339(*t_ms),
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
                (
                    Level::Info,
                    Target::Histograms,
                    format!("{text}{}", for_metric(metric)),
                )
            }
        }
    }
}

/// Go's `%g` (`precision` `None`: shortest round-trip digits) or `%.Ng`: plain notation unless
/// the exponent is below -4 or at least the precision (6 for the shortest form), trailing
/// zeros dropped, exponents with a sign and at least two digits.
pub(super) fn go_g(x: f64, precision: Option<usize>) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let scientific = match precision {
        None => format!("{:e}", x.abs()),
        Some(p) => format!("{:.*e}", p.max(1) - 1, x.abs()),
    };
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let n = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let limit = match precision {
        None => 6,
        Some(p) => {
            let p = i64::try_from(p.max(1)).unwrap_or(i64::MAX);
            if p > n && n >= exponent + 1 { n } else { p }
        }
    };
    let sign = if x.is_sign_negative() && x != 0.0 {
        "-"
    } else {
        ""
    };
    if exponent < -4 || exponent >= limit {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    let body = if point <= 0 {
        format!(
            "0.{}{digits}",
            "0".repeat(usize::try_from(-point).unwrap_or(0))
        )
    } else {
        let point = usize::try_from(point).unwrap_or(0);
        if digits.len() <= point {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{body}")
}

/// A label value for a float as OpenMetrics writes it (upstream
/// `labels.FormatOpenMetricsFloat`): `%g`, with `.0` added to integers.
pub(super) fn open_metrics_float(x: f64) -> String {
    let s = go_g(x, None);
    if x.is_finite() && !s.contains(['e', '.']) {
        format!("{s}.0")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_matches_go() {
        let cases = [
            (0.0, "0"),
            (1.01, "1.01"),
            (-0.1, "-0.1"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (x, want) in cases {
            assert_eq!(go_g(x, None), want, "{x}");
        }
        assert_eq!(go_g(3.0, Some(2)), "3");
        assert_eq!(go_g(15.0, Some(2)), "15");
        assert_eq!(go_g(150.0, Some(2)), "1.5e+02");
        assert_eq!(go_g(0.123, Some(2)), "0.12");
    }

    #[test]
    fn open_metrics_floats_keep_a_decimal_point() {
        assert_eq!(open_metrics_float(0.0), "0.0");
        assert_eq!(open_metrics_float(1.0), "1.0");
        assert_eq!(open_metrics_float(0.25), "0.25");
        assert_eq!(open_metrics_float(-0.1), "-0.1");
        assert_eq!(open_metrics_float(1e6), "1e+06");
        assert_eq!(open_metrics_float(f64::NAN), "NaN");
        assert_eq!(open_metrics_float(f64::INFINITY), "+Inf");
    }

    #[test]
    fn notes_are_worded_as_upstream() {
        let (level, target, text) = Note::BadBucketLabel {
            metric: "series".into(),
            le: "Hello World".into(),
        }
        .render();
        assert_eq!((level, target), (Level::Warning, Target::Histograms));
        assert_eq!(
            text,
            "bucket label \"le\" is missing or has a malformed value of \"Hello World\" for metric name \"series\""
        );
        let (_, target, text) = Note::InvalidQuantile {
            arg: 0,
            q: f64::NAN,
        }
        .render();
        assert_eq!(target, Target::Quantile(0));
        assert_eq!(text, "quantile value should be between 0 and 1, got NaN");
        let (level, _, text) = Note::MixedClassicNative {
            metric: String::new(),
        }
        .render();
        assert_eq!(level, Level::Warning);
        assert_eq!(
            text,
            "vector contains a mix of classic and native histograms"
        );
    }
}
