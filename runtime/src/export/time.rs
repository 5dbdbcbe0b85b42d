//! Calendar and duration formatting for the exporters, without a date-time dependency.
//!
//! Everything is UTC: exporters run inside libraries that cannot know the reader's time zone,
//! and UTC lines up with what collectors and Python's `ConsoleSpanExporter` print.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::export::json::push_u64;

const NANOS_PER_MICRO: i128 = 1_000;
const MICROS_PER_DAY: i128 = 86_400_000_000;
/// Days in one 400-year Gregorian cycle, after which the calendar repeats exactly.
const DAYS_PER_ERA: i128 = 146_097;
/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const EPOCH_SHIFT_DAYS: i128 = 719_468;

/// A UTC calendar time at microsecond resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CivilTime {
    year: i128,
    month: i128,
    day: i128,
    hour: i128,
    minute: i128,
    second: i128,
    micros: i128,
}

impl CivilTime {
    /// Splits `time`, rounded to the nearest microsecond, ties to even, as Python's
    /// `datetime.fromtimestamp` does.
    fn from_system_time(time: SystemTime) -> Self {
        let nanos = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => signed_nanos(after),
            Err(before) => -signed_nanos(before.duration()),
        };
        let (whole, rest) = (
            nanos.div_euclid(NANOS_PER_MICRO),
            nanos.rem_euclid(NANOS_PER_MICRO),
        );
        let half = NANOS_PER_MICRO / 2;
        let micros = whole + i128::from(rest > half || (rest == half && whole % 2 != 0));
        let (year, month, day) = civil_from_days(micros.div_euclid(MICROS_PER_DAY));
        let of_day = micros.rem_euclid(MICROS_PER_DAY);
        let seconds = of_day / 1_000_000;
        Self {
            year,
            month,
            day,
            hour: seconds / 3600,
            minute: seconds / 60 % 60,
            second: seconds % 60,
            micros: of_day % 1_000_000,
        }
    }
}

fn signed_nanos(duration: Duration) -> i128 {
    // `as_nanos` is at most about 1.8e28, far inside i128.
    i128::try_from(duration.as_nanos()).unwrap_or(i128::MAX)
}

/// Converts days since 1970-01-01 into a proleptic Gregorian (year, month, day).
///
/// Counting from 0000-03-01 puts the leap day at the end of each year, so a year's shape no
/// longer depends on whether it is leap: months from March on follow a fixed 153-days-per-
/// five-months rhythm, and only the 400/100/4-year corrections on the year number remain.
fn civil_from_days(days_since_epoch: i128) -> (i128, i128, i128) {
    let days = days_since_epoch + EPOCH_SHIFT_DAYS;
    let era = days.div_euclid(DAYS_PER_ERA);
    let day_of_era = days.rem_euclid(DAYS_PER_ERA);
    // Remove the leap days accumulated before this day (one every 4 years, none every 100,
    // one again at the end of the era) to find the year within the era.
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524
        - day_of_era / (DAYS_PER_ERA - 1))
        / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // 0 = March ... 11 = February.
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = era * 400 + year_of_era + i128::from(month <= 2);
    (year, month, day)
}

/// Formats `time` as ISO 8601 in UTC with microseconds, `2026-11-21T22:24:54.238852Z`, into
/// `buf` (no allocation).
///
/// This is the layout of Python OpenTelemetry's `ns_to_iso_str`, rounding the same way.
pub(crate) fn iso8601_in(time: SystemTime, buf: &mut [u8; 32]) -> &str {
    let t = CivilTime::from_system_time(time);
    if !(0..=9999).contains(&t.year) {
        // A year of more than four digits, or before year 0: never from a clock in practice.
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        let _ = std::io::Write::write_fmt(
            &mut cursor,
            format_args!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                t.year, t.month, t.day, t.hour, t.minute, t.second, t.micros
            ),
        );
        let len = usize::try_from(cursor.position()).unwrap_or(0);
        return std::str::from_utf8(&buf[..len]).unwrap_or_default();
    }
    // Digit by digit: the formatting machinery costs more than the rest of a console span.
    let fields = [
        (t.year, 4, b'-'),
        (t.month, 2, b'-'),
        (t.day, 2, b'T'),
        (t.hour, 2, b':'),
        (t.minute, 2, b':'),
        (t.second, 2, b'.'),
        (t.micros, 6, b'Z'),
    ];
    let mut at = 0;
    for (value, width, after) in fields {
        // Each field is in range for its width here; `u32` arithmetic is far cheaper than
        // `i128`'s.
        let mut value = u32::try_from(value).unwrap_or(0);
        for i in (0..width).rev() {
            // A digit: below 10.
            #[allow(clippy::cast_possible_truncation)]
            let digit = (value % 10) as u8;
            buf[at + i] = b'0' + digit;
            value /= 10;
        }
        buf[at + width] = after;
        at += width + 1;
    }
    crate::export::json::ascii_str(&buf[..at])
}

/// Formats the UTC time of day of `time` to the millisecond: `22:24:54.238`.
pub(crate) fn clock_millis(time: SystemTime) -> String {
    let t = CivilTime::from_system_time(time);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        t.hour,
        t.minute,
        t.second,
        t.micros / 1000
    )
}

/// Formats a duration for people with three significant digits and the largest unit that
/// keeps the number at or above one: `850ns`, `12.3µs`, `1.23ms`, `4.00s`, `12345s`.
#[cfg(test)]
pub(crate) fn human_duration(duration: Duration) -> String {
    let mut out = String::new();
    push_human_duration(&mut out, duration);
    out
}

/// Appends `duration` to `out` as [`human_duration`] formats it, without `core::fmt` (the
/// tree printer writes two per span).
pub(crate) fn push_human_duration(out: &mut String, duration: Duration) {
    const UNITS: [(u128, &str); 3] = [(1_000, "µs"), (1_000_000, "ms"), (1_000_000_000, "s")];
    let nanos = duration.as_nanos();
    let number = |out: &mut String, n: u128| push_u64(out, u64::try_from(n).unwrap_or(u64::MAX));
    let Some(mut unit) = UNITS.iter().rposition(|(size, _)| nanos >= *size) else {
        number(out, nanos);
        out.push_str("ns");
        return;
    };
    loop {
        let (size, name) = UNITS[unit];
        let rounded = |scale: u128| (nanos * scale + size / 2) / size;
        let hundredths = rounded(100);
        if hundredths < 1_000 {
            number(out, hundredths / 100);
            out.push('.');
            let fraction = hundredths % 100;
            if fraction < 10 {
                out.push('0');
            }
            number(out, fraction);
            out.push_str(name);
            return;
        }
        let tenths = rounded(10);
        if tenths < 1_000 {
            number(out, tenths / 10);
            out.push('.');
            number(out, tenths % 10);
            out.push_str(name);
            return;
        }
        let whole = rounded(1);
        // 999.6µs rounds to 1000µs: say 1.00ms instead.
        if whole >= 1_000 && unit + 1 < UNITS.len() {
            unit += 1;
            continue;
        }
        number(out, whole);
        out.push_str(name);
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso8601(time: SystemTime) -> String {
        iso8601_in(time, &mut [0; 32]).to_owned()
    }

    fn at(seconds: i64, micros: u64) -> SystemTime {
        let base = if seconds >= 0 {
            UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
        };
        base + Duration::from_micros(micros)
    }

    #[test]
    fn iso8601_known_instants() {
        let cases = [
            (at(0, 0), "1970-01-01T00:00:00.000000Z"),
            (at(1, 1), "1970-01-01T00:00:01.000001Z"),
            // The reference span from Python OpenTelemetry.
            (at(1_795_299_894, 238_852), "2026-11-21T22:24:54.238852Z"),
            (at(1_735_689_599, 999_999), "2024-12-31T23:59:59.999999Z"),
            // 2000 is a leap year (divisible by 400).
            (at(951_782_400, 0), "2000-02-29T00:00:00.000000Z"),
            (at(951_782_400 - 1, 0), "2000-02-28T23:59:59.000000Z"),
            (at(951_868_800, 0), "2000-03-01T00:00:00.000000Z"),
            // 2100 is not (divisible by 100 only): Feb 28 is followed by Mar 1.
            (at(4_107_542_400 - 86_400, 0), "2100-02-28T00:00:00.000000Z"),
            (at(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z"),
            // 2024 is an ordinary leap year; Dec 31 is its 366th day.
            (at(1_709_164_800, 0), "2024-02-29T00:00:00.000000Z"),
            (at(1_735_603_200, 0), "2024-12-31T00:00:00.000000Z"),
            (at(253_402_300_799, 0), "9999-12-31T23:59:59.000000Z"),
            // Before the epoch the calendar still runs forward.
            (at(-1, 0), "1969-12-31T23:59:59.000000Z"),
            (at(-86_400 * 365, 0), "1969-01-01T00:00:00.000000Z"),
            (at(-2_208_988_800, 0), "1900-01-01T00:00:00.000000Z"),
        ];
        for (time, expected) in cases {
            assert_eq!(iso8601(time), expected);
        }
    }

    #[test]
    fn iso8601_rounds_to_the_nearest_microsecond_ties_to_even() {
        let nanos = |n| iso8601(UNIX_EPOCH + Duration::from_nanos(n));
        assert_eq!(nanos(5_499), "1970-01-01T00:00:00.000005Z");
        assert_eq!(nanos(5_501), "1970-01-01T00:00:00.000006Z");
        assert_eq!(nanos(5_500), "1970-01-01T00:00:00.000006Z");
        assert_eq!(nanos(6_500), "1970-01-01T00:00:00.000006Z");
        // Rounding carries through seconds, days and years.
        let new_year = at(1_735_689_599, 999_999) + Duration::from_nanos(600);
        assert_eq!(iso8601(new_year), "2025-01-01T00:00:00.000000Z");
        // Before the epoch too: -1.4µs is nearer to -1µs.
        let before = UNIX_EPOCH - Duration::from_nanos(1_400);
        assert_eq!(iso8601(before), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn civil_from_days_walks_every_day_of_four_centuries() {
        // Independent check: step a day at a time from 1970-01-01 for 400 years.
        let is_leap = |y: i128| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let (mut year, mut month, mut day) = (1970, 1, 1);
        for days in 0..DAYS_PER_ERA {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            let month_len = match month {
                2 if is_leap(year) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            day += 1;
            if day > month_len {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
    }

    #[test]
    fn clock_millis_drops_the_date() {
        assert_eq!(clock_millis(at(1_795_299_894, 238_852)), "22:24:54.238");
        assert_eq!(clock_millis(at(0, 999)), "00:00:00.000");
    }

    #[test]
    fn human_duration_keeps_three_significant_digits() {
        let cases = [
            (0, "0ns"),
            (999, "999ns"),
            (1_000, "1.00µs"),
            (9_994, "9.99µs"),
            (9_995, "10.0µs"),
            (12_345, "12.3µs"),
            (123_456, "123µs"),
            (999_499, "999µs"),
            (999_500, "1.00ms"),
            (1_230_000, "1.23ms"),
            (1_050_000, "1.05ms"),
            (1_005_000, "1.01ms"),
            (20_000, "20.0µs"),
            (540_000_000, "540ms"),
            (1_234_567_890, "1.23s"),
            (999_600_000_000, "1000s"),
            (12_345_000_000_000, "12345s"),
        ];
        for (nanos, expected) in cases {
            assert_eq!(human_duration(Duration::from_nanos(nanos)), expected);
        }
        // The longest duration there is.
        assert_eq!(human_duration(Duration::MAX), "18446744073709551615s");
    }
}
