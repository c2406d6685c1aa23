//! Go's float formats where Prometheus's text depends on them: `%g` and `%.Ng` (annotation
//! messages) and `labels.FormatOpenMetricsFloat` (label values such as `histogram_quantiles`'
//! quantile label). Pure formatting.

/// Go's `%g` (`precision` `None`: shortest round-trip digits) or `%.Ng`: plain notation unless
/// the exponent is below -4 or at least the precision (6 for the shortest form), trailing
/// zeros dropped, exponents with a sign and at least two digits.
pub(crate) fn go_g(x: f64, precision: Option<usize>) -> String {
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
            if p > n && n > exponent { n } else { p }
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
pub(crate) fn open_metrics_float(x: f64) -> String {
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
}
