//! HTTP dates (RFC 9110 §5.6.7): parsing the three formats a recipient must
//! accept, and formatting the one a sender must generate.
//!
//! Times are Unix seconds (`u64`), so dates before 1970 are rejected: no file
//! on a server is older, and a precondition with an unparsable date is simply
//! ignored (RFC 9110 §13.1.3, §13.1.4), which is always safe.
//!
//! The calendar arithmetic is Howard Hinnant's `days_from_civil` /
//! `civil_from_days` (proleptic Gregorian), done by hand so the crate needs no
//! date library.
//!
//! ```
//! use wired_parser::values::date::{HTTP_DATE_LEN, format_http_date, parse_http_date};
//! let mut out = [0; HTTP_DATE_LEN];
//! format_http_date(0, &mut out);
//! assert_eq!(&out, b"Thu, 01 Jan 1970 00:00:00 GMT");
//! assert_eq!(parse_http_date(&out), Some(0));
//! ```

/// Length of an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
///
/// ```
/// use wired_parser::values::date::HTTP_DATE_LEN;
/// assert_eq!(b"Sun, 06 Nov 1994 08:49:37 GMT".len(), HTTP_DATE_LEN);
/// ```
pub const HTTP_DATE_LEN: usize = 29;

/// The last instant [`format_http_date`] can write: IMF-fixdate has a
/// four-digit year, so later times are clamped to 9999-12-31 23:59:59.
const MAX_FORMATTABLE: u64 = 253_402_300_799;

const SECS_PER_DAY: u64 = 86_400;

/// Day names in IMF-fixdate and asctime, indexed so that 0 is Sunday.
const DAY_NAMES: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];

/// Day names in the obsolete RFC 850 format, same order.
const LONG_DAY_NAMES: [&[u8]; 7] =
    [b"Sunday", b"Monday", b"Tuesday", b"Wednesday", b"Thursday", b"Friday", b"Saturday"];

const MONTH_NAMES: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// Parse an HTTP date into Unix seconds.
///
/// Accepts the three formats of RFC 9110 §5.6.7, with optional whitespace
/// around the value:
///
/// - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
/// - obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`
/// - obsolete asctime: `Sun Nov  6 08:49:37 1994` (the day may also be
///   written `06`)
///
/// Names are case-sensitive, as RFC 9110 §5.6.7 says HTTP-date is. The day
/// name must be a real one but need not agree with the date, since senders
/// are not trusted to compute it and nothing depends on it. Day of month,
/// hour (< 24), minute (< 60) and second (< 60; a leap second cannot name a
/// Unix time) are range-checked, including February 29th outside leap
/// years. Dates before 1970 give `None`.
///
/// RFC 850's two-digit year is read as 2000-2069 for `00`-`69` and
/// 1970-1999 for `70`-`99`. RFC 9110 §5.6.7 asks for a year more than 50 years
/// in the future to be read as the most recent past year with the same last
/// two digits; a fixed pivot gives the same answer until 2019 + 50 and keeps
/// this function free of a clock. Nothing has sent RFC 850 dates for decades.
///
/// ```
/// use wired_parser::values::date::parse_http_date;
/// assert_eq!(parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
/// assert_eq!(parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
/// assert_eq!(parse_http_date(b"Sun Nov  6 08:49:37 1994"), Some(784_111_777));
/// assert_eq!(parse_http_date(b"Sun, 31 Nov 1994 08:49:37 GMT"), None);
/// ```
pub fn parse_http_date(value: &[u8]) -> Option<u64> {
    let value = super::trim_ows(value);
    parse_imf_fixdate(value).or_else(|| parse_rfc850(value)).or_else(|| parse_asctime(value))
}

/// Write `unix_secs` as an IMF-fixdate, the only format a sender may generate
/// (RFC 9110 §5.6.7).
///
/// Times after 9999-12-31 23:59:59 are clamped to it, since the format has
/// a four-digit year. The output is ASCII.
///
/// ```
/// use wired_parser::values::date::{format_http_date, HTTP_DATE_LEN};
/// let mut out = [0u8; HTTP_DATE_LEN];
/// format_http_date(784_111_777, &mut out);
/// assert_eq!(&out, b"Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn format_http_date(unix_secs: u64, out: &mut [u8; HTTP_DATE_LEN]) {
    let secs = unix_secs.min(MAX_FORMATTABLE);
    let days = secs / SECS_PER_DAY;
    let in_day = secs % SECS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = ((days + 4) % 7) as usize;
    let day_name = DAY_NAMES.get(weekday).copied().unwrap_or(b"Thu");
    let month_name = MONTH_NAMES.get(usize::from(month).wrapping_sub(1)).copied().unwrap_or(b"Jan");

    let pieces: [&[u8]; 14] = [
        day_name,
        b", ",
        &two_digits(u64::from(day)),
        b" ",
        month_name,
        b" ",
        &two_digits(year / 100),
        &two_digits(year % 100),
        b" ",
        &two_digits(in_day / 3600),
        b":",
        &two_digits(in_day / 60 % 60),
        b":",
        &two_digits(in_day % 60),
    ];
    let bytes = pieces.iter().flat_map(|piece| piece.iter()).chain(b" GMT");
    for (slot, &byte) in out.iter_mut().zip(bytes) {
        *slot = byte;
    }
}

/// `n % 100` as two ASCII digits.
fn two_digits(n: u64) -> [u8; 2] {
    let n = n % 100;
    [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]
}

/// Whether `value` has the shape of `template`, where `_` stands for any byte
/// and every other byte must appear as is.
fn fits(value: &[u8], template: &[u8]) -> bool {
    value.len() == template.len() && value.iter().zip(template).all(|(v, t)| *t == b'_' || v == t)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7 IMF-fixdate).
fn parse_imf_fixdate(value: &[u8]) -> Option<u64> {
    if !fits(value, b"___, __ ___ ____ __:__:__ GMT") {
        return None;
    }
    short_day_name(value.get(0..3)?)?;
    let day = digits(value.get(5..7)?)?;
    let month = month_number(value.get(8..11)?)?;
    let year = digits(value.get(12..16)?)?;
    let time = time_of_day(value.get(17..25)?)?;
    unix_seconds(year, month, day, time)
}

/// `Sunday, 06-Nov-94 08:49:37 GMT` (RFC 9110 §5.6.7 rfc850-date).
fn parse_rfc850(value: &[u8]) -> Option<u64> {
    // Everything after the long day name has a fixed shape.
    const TAIL: &[u8] = b", __-___-__ __:__:__ GMT";
    let (day_name, tail) = value.split_at_checked(value.len().checked_sub(TAIL.len())?)?;
    if !LONG_DAY_NAMES.contains(&day_name) || !fits(tail, TAIL) {
        return None;
    }
    let day = digits(tail.get(2..4)?)?;
    let month = month_number(tail.get(5..8)?)?;
    let two_digit_year = digits(tail.get(9..11)?)?;
    let time = time_of_day(tail.get(12..20)?)?;
    // A fixed pivot instead of RFC 9110 §5.6.7's "50 years in the future"
    // rule, which would need a clock; see `parse_http_date`.
    let year = if two_digit_year < 70 { 2000 + two_digit_year } else { 1900 + two_digit_year };
    unix_seconds(year, month, day, time)
}

/// `Sun Nov  6 08:49:37 1994` (RFC 9110 §5.6.7 asctime-date).
fn parse_asctime(value: &[u8]) -> Option<u64> {
    if !fits(value, b"___ ___ __ __:__:__ ____") {
        return None;
    }
    short_day_name(value.get(0..3)?)?;
    let month = month_number(value.get(4..7)?)?;
    // date3 = month SP ( 2DIGIT / ( SP DIGIT ) )
    let day = value.get(8..10)?;
    let day = digits(day.strip_prefix(b" ").unwrap_or(day))?;
    let time = time_of_day(value.get(11..19)?)?;
    let year = digits(value.get(20..24)?)?;
    unix_seconds(year, month, day, time)
}

/// A run of ASCII digits as a number; `None` if empty or any byte is not a
/// digit. Only used on runs of at most four bytes, so it cannot overflow.
fn digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0')))
}

/// Checks a case-sensitive three-letter day name.
fn short_day_name(name: &[u8]) -> Option<()> {
    DAY_NAMES.iter().any(|day| day.as_slice() == name).then_some(())
}

/// Month number 1-12 from its case-sensitive three-letter name.
fn month_number(name: &[u8]) -> Option<u64> {
    let index = MONTH_NAMES.iter().position(|m| m.as_slice() == name)?;
    Some(index as u64 + 1)
}

/// Seconds since midnight from `hh:mm:ss` (separators already checked), with
/// hour < 24, minute < 60 and second < 60.
fn time_of_day(hms: &[u8]) -> Option<u64> {
    let hour = digits(hms.get(0..2)?).filter(|h| *h < 24)?;
    let minute = digits(hms.get(3..5)?).filter(|m| *m < 60)?;
    let second = digits(hms.get(6..8)?).filter(|s| *s < 60)?;
    Some(hour * 3600 + minute * 60 + second)
}

/// Unix seconds of a validated civil date; `None` before 1970 or for a day
/// that the month does not have.
fn unix_seconds(year: u64, month: u64, day: u64, time_of_day: u64) -> Option<u64> {
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * SECS_PER_DAY + time_of_day)
}

fn is_leap_year(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date in or after 1970 (Hinnant's
/// `days_from_civil`, unsigned because the year is never before 1970).
///
/// The year is counted from March so that the leap day falls at its end;
/// an era is the 400-year cycle of the Gregorian calendar (146 097 days).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let month_from_march = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719 468 days separate 0000-03-01 from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// Civil date `(year, month, day)` of a day count since 1970-01-01
/// (Hinnant's `civil_from_days`), the inverse of [`days_from_civil`].
fn civil_from_days(days: u64) -> (u64, u8, u8) {
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(secs: u64) -> String {
        let mut out = [0u8; HTTP_DATE_LEN];
        format_http_date(secs, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    /// Days since 1970 by walking the calendar one month at a time: slow,
    /// obviously right, and independent of Hinnant's arithmetic.
    fn days_by_walking(year: u64, month: u64, day: u64) -> u64 {
        let mut days = 0;
        for y in 1970..year {
            days += if is_leap_year(y) { 366 } else { 365 };
        }
        for m in 1..month {
            days += days_in_month(year, m);
        }
        days + day - 1
    }

    #[test]
    fn known_instants() {
        let cases: &[(u64, &str)] = &[
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (951_868_800, "Wed, 01 Mar 2000 00:00:00 GMT"),
            (1_078_012_799, "Sat, 28 Feb 2004 23:59:59 GMT"),
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (2_147_483_647, "Tue, 19 Jan 2038 03:14:07 GMT"),
            (2_147_483_648, "Tue, 19 Jan 2038 03:14:08 GMT"),
            (4_107_456_000, "Sun, 28 Feb 2100 00:00:00 GMT"),
            (4_107_542_399, "Sun, 28 Feb 2100 23:59:59 GMT"),
            (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ];
        for &(secs, text) in cases {
            assert_eq!(format(secs), text, "formatting {secs}");
            assert_eq!(parse_http_date(text.as_bytes()), Some(secs), "parsing {text}");
        }
    }

    #[test]
    fn format_clamps_past_year_9999() {
        for secs in [MAX_FORMATTABLE + 1, 1 << 40, u64::MAX] {
            assert_eq!(format(secs), "Fri, 31 Dec 9999 23:59:59 GMT", "{secs}");
        }
    }

    #[test]
    fn days_from_civil_agrees_with_walking_the_calendar() {
        let mut walked = 0;
        for year in 1970..=2500 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), walked, "{year}-{month}-{day}");
                    let (y, m, d) = civil_from_days(walked);
                    assert_eq!((y, u64::from(m), u64::from(d)), (year, month, day));
                    walked += 1;
                }
            }
        }
        assert_eq!(days_by_walking(2500, 12, 31) + 1, walked);
    }

    #[test]
    fn round_trips_over_many_timestamps() {
        // A prime stride visits every second of the day and every weekday.
        let mut secs = 0u64;
        while secs <= MAX_FORMATTABLE {
            let text = format(secs);
            assert_eq!(parse_http_date(text.as_bytes()), Some(secs), "{text}");
            secs += 7_919_993;
        }
        for secs in (0..400 * 86_400).step_by(3_599) {
            let text = format(secs);
            assert_eq!(parse_http_date(text.as_bytes()), Some(secs), "{text}");
        }
    }

    #[test]
    fn weekday_is_right() {
        let cases: &[(u64, u64, u64, &str)] = &[
            (1970, 1, 1, "Thu"),
            (2000, 1, 1, "Sat"),
            (2000, 2, 29, "Tue"),
            (2038, 1, 19, "Tue"),
            (2100, 1, 1, "Fri"),
            (2400, 2, 29, "Tue"),
        ];
        for &(y, m, d, name) in cases {
            let secs = days_from_civil(y, m, d) * SECS_PER_DAY;
            assert_eq!(&format(secs)[..3], name, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn the_three_formats() {
        let cases: &[(&str, Option<u64>)] = &[
            // The RFC 9110 §5.6.7 examples.
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("Sunday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Sun Nov  6 08:49:37 1994", Some(784_111_777)),
            // asctime also allows a two-digit day.
            ("Sun Nov 06 08:49:37 1994", Some(784_111_777)),
            ("Sat Feb 29 00:00:00 2000", Some(951_782_400)),
            ("Thu Jan  1 00:00:00 1970", Some(0)),
            // Every RFC 850 day name.
            ("Monday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Tuesday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Wednesday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Thursday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Friday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Saturday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            // RFC 850 two-digit years around the pivot.
            ("Thursday, 01-Jan-70 00:00:00 GMT", Some(0)),
            ("Friday, 31-Dec-99 23:59:59 GMT", Some(946_684_799)),
            ("Saturday, 01-Jan-00 00:00:00 GMT", Some(946_684_800)),
            ("Tuesday, 19-Jan-38 03:14:08 GMT", Some(2_147_483_648)),
            ("Wednesday, 31-Dec-69 23:59:59 GMT", Some(3_155_759_999)),
            // The day name need not match the date.
            ("Mon, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("Fri Nov  6 08:49:37 1994", Some(784_111_777)),
            // Surrounding OWS is trimmed.
            (" Sun, 06 Nov 1994 08:49:37 GMT\t", Some(784_111_777)),
            // Ranges at their edges.
            ("Sun, 06 Nov 1994 23:59:59 GMT", Some(784_166_399)),
            ("Wed, 31 Dec 1969 23:59:59 GMT", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_http_date(text.as_bytes()), want, "{text:?}");
        }
    }

    #[test]
    fn malformed_dates() {
        let cases: &[&[u8]] = &[
            b"",
            b" ",
            b"0",
            b"784111777",
            // IMF-fixdate, one thing wrong at a time.
            b"Sun, 06 Nov 1994 08:49:37 UTC",
            b"Sun, 06 Nov 1994 08:49:37 gmt",
            b"Sun, 06 nov 1994 08:49:37 GMT",
            b"sun, 06 Nov 1994 08:49:37 GMT",
            b"Xyz, 06 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Foo 1994 08:49:37 GMT",
            b"Sun, 6 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 94 08:49:37 GMT",
            b"Sun, 06 Nov 1994 8:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:37 GMTX",
            b"Sun, 06 Nov 1994 08:49:37",
            b"Sun 06 Nov 1994 08:49:37 GMT",
            b"Sun,  06 Nov 1994 08:49:37 GMT",
            b"Sun, 06-Nov-1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08.49.37 GMT",
            b"Sun, 0x Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 19a4 08:49:37 GMT",
            b"Sun, +6 Nov 1994 08:49:37 GMT",
            // Out-of-range fields.
            b"Sun, 00 Nov 1994 08:49:37 GMT",
            b"Sun, 31 Nov 1994 08:49:37 GMT",
            b"Sun, 32 Dec 1994 08:49:37 GMT",
            b"Sun, 29 Feb 1995 08:49:37 GMT",
            b"Sun, 29 Feb 2100 08:49:37 GMT",
            b"Sun, 30 Feb 2000 08:49:37 GMT",
            b"Sun, 06 Nov 1994 24:00:00 GMT",
            b"Sun, 06 Nov 1994 08:60:37 GMT",
            b"Sun, 06 Nov 1994 08:49:60 GMT",
            b"Sun, 06 Nov 1994 99:99:99 GMT",
            // Before 1970.
            b"Thu, 01 Jan 1900 00:00:00 GMT",
            b"Thu, 01 Jan 0000 00:00:00 GMT",
            // RFC 850, one thing wrong at a time.
            b"Sun, 06-Nov-94 08:49:37 GMT",
            b"sunday, 06-Nov-94 08:49:37 GMT",
            b"Someday, 06-Nov-94 08:49:37 GMT",
            b"Sunday 06-Nov-94 08:49:37 GMT",
            b"Sunday, 06-Nov-1994 08:49:37 GMT",
            b"Sunday, 06 Nov 94 08:49:37 GMT",
            b"Sunday, 31-Nov-94 08:49:37 GMT",
            b"Sunday, 06-Nov-94 08:49:37 UTC",
            b", 06-Nov-94 08:49:37 GMT",
            b"06-Nov-94 08:49:37 GMT",
            // asctime, one thing wrong at a time.
            b"Sun Nov 6 08:49:37 1994",
            b"Sun Nov 6  08:49:37 1994",
            b"Sun Nov  6 08:49:37 94",
            b"Sun Nov  6 08:49:37 GMT",
            b"Sun Nov  0 08:49:37 1994",
            b"Sun Nov 31 08:49:37 1994",
            b"Sun Nov  6 24:49:37 1994",
            b"Sun Nov  6 08:49:37 1969",
            b"Sunday Nov  6 08:49:37 1994",
            // Non-ASCII and control bytes.
            b"Sun, 06 Nov 1994 08:49:37 GM\xff",
            b"Sun, 06 Nov 1994\x0008:49:37 GMT",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        ];
        for input in cases {
            assert_eq!(parse_http_date(input), None, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn every_prefix_of_a_valid_date_is_rejected() {
        for text in
            [&b"Sun, 06 Nov 1994 08:49:37 GMT"[..], b"Sunday, 06-Nov-94 08:49:37 GMT", b"Sun Nov  6 08:49:37 1994"]
        {
            for end in 0..text.len() {
                assert_eq!(parse_http_date(&text[..end]), None, "{end}");
            }
        }
    }
}
