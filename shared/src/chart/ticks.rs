//! Axis ticks and their labels: round time intervals on the X axis, 1-2-5 steps on the Y axis,
//! and how values and times are written next to them.
//!
//! Time ticks are aligned in the viewer's chosen zone (UTC unless "use local time" gives an
//! offset), so a 6-hour tick falls on 00:00, 06:00... of that zone. Nothing here draws.

use crate::timefmt::civil_from_days;

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Intervals time ticks may use, in ms.
const TIME_STEPS: [i64; 22] = [
    SECOND,
    2 * SECOND,
    5 * SECOND,
    10 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
];

/// One tick: where it is and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick<T> {
    /// The position in data units (ms for time, the value for values).
    pub at: T,
    /// The label.
    pub label: String,
}

/// Time ticks for `[start_ms, end_ms]` about `max_ticks` or fewer, with labels in the zone
/// `offset_minutes` east of UTC.
pub fn time_ticks(
    start_ms: i64,
    end_ms: i64,
    max_ticks: usize,
    offset_minutes: i32,
) -> Vec<Tick<i64>> {
    if end_ms <= start_ms || max_ticks == 0 {
        return Vec::new();
    }
    let span = end_ms - start_ms;
    let wanted = span / i64::try_from(max_ticks).unwrap_or(i64::MAX).max(1);
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|s| *s >= wanted)
        .unwrap_or_else(|| (wanted.saturating_add(DAY - 1) / DAY).saturating_mul(DAY));
    let offset = i64::from(offset_minutes) * MINUTE;
    // First multiple of the step (in local time) at or after the start.
    let local_start = start_ms.saturating_add(offset);
    let mut local = local_start.div_euclid(step).saturating_mul(step);
    if local < local_start {
        local = local.saturating_add(step);
    }
    let mut ticks = Vec::new();
    while local.saturating_sub(offset) <= end_ms && ticks.len() <= max_ticks {
        ticks.push(Tick {
            at: local - offset,
            label: time_label(local, step, span),
        });
        local = match local.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    ticks
}

/// The label of a tick at local time `local_ms` for ticks `step` apart over `span` ms: dates for
/// day steps, `HH:MM` for minute steps (with the date at midnight when the span crosses days),
/// `HH:MM:SS` below a minute.
fn time_label(local_ms: i64, step: i64, span: i64) -> String {
    let days = local_ms.div_euclid(DAY);
    let ms_of_day = local_ms.rem_euclid(DAY);
    let (_, month, day) = civil_from_days(days);
    let (h, m, s) = (
        ms_of_day / HOUR,
        ms_of_day / MINUTE % 60,
        ms_of_day / SECOND % 60,
    );
    if step >= DAY || (ms_of_day == 0 && span > DAY) {
        format!("{month:02}-{day:02}")
    } else if step >= MINUTE {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// A time with date, for tooltips: `YYYY-MM-DD HH:mm:ss.mmm` in the zone `offset_minutes` east
/// of UTC, with the zone written (`UTC` or `+HH:MM`).
pub fn tooltip_time(t_ms: i64, offset_minutes: i32) -> String {
    let local = t_ms.saturating_add(i64::from(offset_minutes) * MINUTE);
    let text = crate::timefmt::format_utc(local);
    let millis = local.rem_euclid(SECOND);
    let zone = if offset_minutes == 0 {
        " UTC".to_owned()
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let abs = offset_minutes.unsigned_abs();
        format!(" {sign}{:02}:{:02}", abs / 60, abs % 60)
    };
    format!("{text}.{millis:03}{zone}")
}

/// Value ticks from `min` to `max` at a 1-2-5 step giving at most `max_ticks` ticks; the
/// returned bounds are the range widened to whole steps.
pub fn value_ticks(min: f64, max: f64, max_ticks: usize) -> (Vec<Tick<f64>>, f64, f64) {
    let (min, max) = if min.is_finite() && max.is_finite() && min <= max {
        (min, max)
    } else {
        (0.0, 1.0)
    };
    let (min, max) = if min == max {
        let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
        (min - pad, max + pad)
    } else {
        (min, max)
    };
    let count = max_ticks.max(2) as f64;
    let raw = (max - min) / (count - 1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let low = (min / step).floor() * step;
    let high = (max / step).ceil() * step;
    let n = ((high - low) / step).round() as usize;
    let ticks = (0..=n)
        .map(|i| {
            let at = low + i as f64 * step;
            // Avoid -0 and float noise such as 0.30000000000000004.
            let at = if (at / step).abs() < 1e-9 { 0.0 } else { at };
            Tick {
                at,
                label: format_value(at, step),
            }
        })
        .collect();
    (ticks, low, high)
}

const PREFIXES: [(f64, &str); 9] = [
    (1e24, "Y"),
    (1e21, "Z"),
    (1e18, "E"),
    (1e15, "P"),
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
];

const SMALL_PREFIXES: [(f64, &str); 4] = [(1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")];

/// `v` with an SI prefix (`1.5k`, `250m`) and as many decimals as `precision` (a tick step or
/// the value's own magnitude) needs.
pub fn format_value(v: f64, precision: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let abs = v.abs();
    let (scale, suffix) = if abs >= 1.0 {
        PREFIXES
            .iter()
            .copied()
            .find(|(s, _)| abs >= *s)
            .unwrap_or((1.0, ""))
    } else {
        SMALL_PREFIXES
            .iter()
            .copied()
            .find(|(s, _)| abs >= *s)
            .unwrap_or((1e-12, "p"))
    };
    let precision = if precision.is_finite() && precision > 0.0 {
        precision
    } else {
        abs
    };
    let decimals = (-(precision / scale).log10().floor()).clamp(0.0, 6.0) as usize;
    let text = format!("{:.*}", decimals, v / scale);
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ticks_fall_on_round_times_of_the_zone() {
        // 2024-01-01 00:00:00 UTC .. +6h, at most 6 ticks: one every hour.
        let start = 1_704_067_200_000;
        let ticks = time_ticks(start + 1, start + 6 * HOUR, 6, 0);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(
            labels,
            ["01:00", "02:00", "03:00", "04:00", "05:00", "06:00"]
        );
        // The same instant in UTC+05:30 ticks on local hours.
        let ticks = time_ticks(start, start + 6 * HOUR, 6, 330);
        assert_eq!(ticks[0].label, "06:00");
        assert_eq!(ticks[0].at, start + 30 * MINUTE);
    }

    #[test]
    fn time_ticks_show_seconds_below_a_minute_and_dates_at_midnight() {
        let start = 1_704_067_200_000;
        let ticks = time_ticks(start, start + 30 * SECOND, 6, 0);
        assert_eq!(ticks[1].label, "00:00:05");
        let ticks = time_ticks(start - 6 * HOUR, start + 42 * HOUR, 8, 0);
        assert!(ticks.iter().any(|t| t.label == "01-01"), "{ticks:?}");
        assert!(ticks.iter().any(|t| t.label == "06:00"), "{ticks:?}");
        assert!(ticks.len() <= 9);
        assert!(time_ticks(start, start, 5, 0).is_empty());
    }

    #[test]
    fn value_ticks_use_one_two_five_steps_covering_the_range() {
        let (ticks, low, high) = value_ticks(0.3, 9.7, 6);
        let at: Vec<f64> = ticks.iter().map(|t| t.at).collect();
        assert_eq!(at, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!((low, high), (0.0, 10.0));
        let (ticks, ..) = value_ticks(-0.25, 0.25, 6);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(
            labels,
            ["-300m", "-200m", "-100m", "0", "100m", "200m", "300m"]
        );
        let (ticks, low, high) = value_ticks(5.0, 5.0, 5);
        assert!(low < 5.0 && high > 5.0 && !ticks.is_empty());
    }

    #[test]
    fn values_are_written_with_si_prefixes() {
        assert_eq!(format_value(1500.0, 500.0), "1.5k");
        assert_eq!(format_value(2_000_000.0, 1_000_000.0), "2M");
        assert_eq!(format_value(0.000_25, 0.000_05), "250µ");
        assert_eq!(format_value(42.0, 0.0), "42");
        assert_eq!(format_value(f64::NAN, 1.0), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY, 1.0), "-Inf");
    }

    #[test]
    fn tooltip_times_name_their_zone() {
        assert_eq!(tooltip_time(1_500, 0), "1970-01-01 00:00:01.500 UTC");
        assert_eq!(tooltip_time(0, -90), "1969-12-31 22:30:00.000 -01:30");
    }
}
