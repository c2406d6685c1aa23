//! Times and durations as the console writes them in URLs and inputs.
//!
//! - [`format_utc`] / [`parse_utc`]: `YYYY-MM-DD HH:mm:ss` in UTC, the format of Prometheus's and
//!   Thanos's `gN.end_input` and `gN.moment_input` URL parameters (second precision).
//! - [`UiDuration`]: `1h`, `2d12h`, `90s`... as the range input reads and writes them
//!   (units y, w, d, h, m, s, ms; a year is 365 days), always written in canonical form.
//!
//! Calendar arithmetic is proleptic Gregorian on days since 1970-01-01, so it needs no time zone
//! database and works the same in the browser and on the server.

use std::fmt;

const MS_PER_SECOND: i64 = 1000;
const MS_PER_DAY: i64 = 86_400_000;

/// The UTC calendar date of a count of days since 1970-01-01: (year, month 1–12, day 1–31).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift to an era starting on 0000-03-01 so leap days fall at the end of each year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Days since 1970-01-01 of a UTC calendar date (the inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `t_ms` as `YYYY-MM-DD HH:mm:ss` in UTC (milliseconds are dropped, rounding down).
pub fn format_utc(t_ms: i64) -> String {
    let seconds = t_ms.div_euclid(MS_PER_SECOND);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Why a time or duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeFormatError {
    /// Not `YYYY-MM-DD HH:mm:ss`, or not a real date and time.
    #[error("invalid time {0:?}, expected YYYY-MM-DD HH:mm:ss (UTC)")]
    Time(String),
    /// Not a duration such as `1h30m`.
    #[error("invalid duration {0:?}, expected e.g. 1h, 30m, 2d12h")]
    Duration(String),
}

/// Parses `YYYY-MM-DD HH:mm:ss` (also with `T` between date and time, and an optional `Z`) as
/// UTC, into ms since the epoch.
pub fn parse_utc(text: &str) -> Result<i64, TimeFormatError> {
    let err = || TimeFormatError::Time(text.to_owned());
    let trimmed = text.trim().trim_end_matches('Z');
    let (date, time) = trimmed.split_once([' ', 'T']).ok_or_else(err)?;
    let mut date_parts = date.splitn(3, '-');
    let mut time_parts = time.splitn(3, ':');
    let next = |parts: &mut std::str::SplitN<'_, char>, max: i64| -> Result<i64, _> {
        let part = parts.next().ok_or_else(err)?;
        if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        part.parse::<i64>()
            .ok()
            .filter(|v| *v <= max)
            .ok_or_else(err)
    };
    let year = next(&mut date_parts, 9999)?;
    let month = next(&mut date_parts, 12)?;
    let day = next(&mut date_parts, 31)?;
    let hour = next(&mut time_parts, 23)?;
    let minute = next(&mut time_parts, 59)?;
    let second = next(&mut time_parts, 59)?;
    let (month, day) = (
        u32::try_from(month).map_err(|_| err())?,
        u32::try_from(day).map_err(|_| err())?,
    );
    if month == 0 || day == 0 || day > days_in_month(year, month) {
        return Err(err());
    }
    let days = days_from_civil(year, month, day);
    Ok(days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * MS_PER_SECOND)
}

/// A non-negative duration in ms, read and written as the console's range input does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UiDuration(u64);

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

impl UiDuration {
    /// A duration of `ms` milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        Self(ms)
    }

    /// The duration in milliseconds.
    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// Parses `1y2w3d4h5m6s7ms` (any subset of the units, in this order, each at most once).
    pub fn parse(text: &str) -> Result<Self, TimeFormatError> {
        let err = || TimeFormatError::Duration(text.to_owned());
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(err());
        }
        let mut total: u64 = 0;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err());
            }
            let (number, after) = rest.split_at(digits);
            let number: u64 = number.parse().map_err(|_| err())?;
            // "ms" must be tried before "m".
            let (index, unit_len) = UNITS
                .iter()
                .enumerate()
                .skip(next_unit)
                .filter(|(_, (unit, _))| after.starts_with(unit))
                .map(|(i, (unit, _))| (i, unit.len()))
                .max_by_key(|(_, len)| *len)
                .ok_or_else(err)?;
            let (_, unit_ms) = UNITS[index];
            total = number
                .checked_mul(unit_ms)
                .and_then(|ms| total.checked_add(ms))
                .ok_or_else(err)?;
            next_unit = index + 1;
            rest = &after[unit_len..];
        }
        Ok(Self(total))
    }
}

impl fmt::Display for UiDuration {
    /// The canonical form: largest units first, zero units left out, `0s` for zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, unit_ms) in UNITS {
            let count = rest / unit_ms;
            if count > 0 {
                write!(f, "{count}{unit}")?;
                rest %= unit_ms;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for UiDuration {
    type Err = TimeFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates_format_and_parse() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        // 2024-02-29 is a leap day; 1_709_210_096_789 ms is 12:34:56.789 on it.
        assert_eq!(format_utc(1_709_210_096_789), "2024-02-29 12:34:56");
        assert_eq!(parse_utc("2024-02-29 12:34:56"), Ok(1_709_210_096_000));
        assert_eq!(parse_utc("2024-02-29T12:34:56Z"), Ok(1_709_210_096_000));
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59");
    }

    #[test]
    fn impossible_times_are_refused() {
        for bad in [
            "",
            "2023-02-29 00:00:00",
            "2024-13-01 00:00:00",
            "2024-01-01 24:00:00",
            "2024-01-01",
            "2024-01-01 00:00",
            "2024-01-01 00:00:+1",
            "now",
        ] {
            assert!(parse_utc(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn durations_parse_in_order_and_print_canonically() {
        assert_eq!(
            UiDuration::parse("1h").map(UiDuration::as_ms),
            Ok(3_600_000)
        );
        assert_eq!(
            UiDuration::parse("1h30m").map(UiDuration::as_ms),
            Ok(5_400_000)
        );
        assert_eq!(
            UiDuration::parse("90m").map(|d| d.to_string()),
            Ok("1h30m".into())
        );
        assert_eq!(
            UiDuration::parse("1m500ms").map(UiDuration::as_ms),
            Ok(60_500)
        );
        assert_eq!(UiDuration::from_ms(0).to_string(), "0s");
        for bad in [
            "",
            "h",
            "1",
            "1x",
            "30m1h",
            "1h1h",
            "-1h",
            "99999999999999999999y",
        ] {
            assert!(UiDuration::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    proptest! {
        #[test]
        fn utc_round_trips_at_second_precision(t in -62_000_000_000_000i64..250_000_000_000_000) {
            let second = t.div_euclid(1000) * 1000;
            prop_assert_eq!(parse_utc(&format_utc(t)), Ok(second));
        }

        #[test]
        fn civil_days_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn durations_round_trip(ms in 0u64..10_000_000_000_000) {
            let d = UiDuration::from_ms(ms);
            prop_assert_eq!(UiDuration::parse(&d.to_string()), Ok(d));
        }
    }
}
