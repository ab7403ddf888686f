//! Timestamps as people type and read them: nanoseconds since the Unix epoch, `now`, or UTC
//! RFC 3339 (`2026-01-01T00:00:00Z`, up to nine fraction digits). Only UTC is accepted, so a
//! time never depends on the machine's zone.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::calendar::{civil_from_days, days_from_civil, days_in_month};

const NANOS_PER_SEC: i128 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Parses a time argument into nanoseconds since the epoch.
pub fn parse(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s == "now" {
        return Ok(now());
    }
    if let Ok(ns) = s.parse::<i64>() {
        return Ok(ns);
    }
    parse_rfc3339(s).ok_or_else(|| {
        format!("time {s:?} is not nanoseconds, `now`, or UTC RFC 3339 like 2026-01-01T00:00:00Z")
    })
}

/// The current time in nanoseconds since the epoch (0 if the clock is before 1970).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `ns` as UTC RFC 3339 with all nine fraction digits, so the text is exact.
pub fn format(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(SECS_PER_DAY);
    let tod = secs.rem_euclid(SECS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix('z'))?;
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut date = date.splitn(3, '-');
    let y: i64 = date.next()?.parse().ok()?;
    let m: i64 = date.next()?.parse().ok()?;
    let d: i64 = date.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut hms = hms.splitn(3, ':');
    let hh: i64 = hms.next()?.parse().ok()?;
    let mm: i64 = hms.next()?.parse().ok()?;
    let ss: i64 = hms.next()?.parse().ok()?;
    let valid = (1..=12).contains(&m)
        && d >= 1
        && d <= days_in_month(y, m)
        && hh < 24
        && mm < 60
        && ss < 60
        && frac.len() <= 9
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    let frac_ns: i128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let secs = days_from_civil(y, m, d) * SECS_PER_DAY + hh * 3600 + mm * 60 + ss;
    i64::try_from(i128::from(secs) * NANOS_PER_SEC + frac_ns).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_and_nanoseconds_parse_to_the_same_instant() {
        assert_eq!(parse("2026-01-01T00:00:00Z"), Ok(1_767_225_600_000_000_000));
        assert_eq!(parse("1767225600000000000"), Ok(1_767_225_600_000_000_000));
        assert_eq!(parse("1970-01-01T00:00:00.5Z"), Ok(500_000_000));
        assert_eq!(parse("1969-12-31T23:59:59.999999999Z"), Ok(-1));
        assert_eq!(parse("2024-02-29T12:00:00Z"), Ok(1_709_208_000_000_000_000));
        assert_eq!(parse("-5"), Ok(-5));
    }

    #[test]
    fn formatting_is_exact_and_parses_back() {
        for ns in [0, -1, 1, 1_767_225_600_123_456_789, i64::MIN, i64::MAX] {
            let text = format(ns);
            assert_eq!(parse(&text), Ok(ns), "{text}");
        }
        assert_eq!(format(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(
            format(1_709_208_000_000_000_000),
            "2024-02-29T12:00:00.000000000Z"
        );
    }

    #[test]
    fn bad_times_are_refused_with_the_accepted_forms() {
        for bad in [
            "yesterday",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00+01:00",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00.1234567890Z",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("UTC RFC 3339"), "{bad}: {e}");
        }
    }
}
