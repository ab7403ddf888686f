//! Time in InfluxQL: duration literals (`90s`, `1h30m`), the time strings a `WHERE time`
//! clause may hold (`'2026-01-01T00:00:00Z'`, `'2026-01-01 08:00:00'`, `'2026-01-01'`), and
//! the output forms: RFC 3339 with nanoseconds and trailing zeros cut (Go's `RFC3339Nano`,
//! what InfluxDB prints), or an integer count of `epoch` units.

use crate::calendar::{civil_from_days, days_from_civil, days_in_month};

/// Nanoseconds in one of each InfluxQL duration unit, longest spelling first so that `ms`
/// is tried before `m`.
const UNITS: [(&str, i64); 10] = [
    ("ns", 1),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("µ", 1_000),
    ("u", 1_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
    ("w", 604_800_000_000_000),
];

const SECS_PER_DAY: i64 = 86_400;
const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Parses a duration literal: one or more `<integer><unit>` parts, e.g. `1h30m`, in
/// nanoseconds. `None` when a unit is unknown, a number is missing, or the sum overflows.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut rest = text;
    let mut total: i64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, ns) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
        rest = &rest[unit.len()..];
        total = total.checked_add(n.checked_mul(*ns)?)?;
    }
    Some(total)
}

/// The number of nanoseconds in one `epoch` unit of the `/query` parameter (`ns`, `u`,
/// `µ`, `ms`, `s`, `m`, `h`); `None` for anything else.
pub fn epoch_unit(text: &str) -> Option<i64> {
    match text {
        "n" | "ns" => Some(1),
        "u" | "us" | "µ" => Some(1_000),
        "ms" => Some(1_000_000),
        "s" => Some(NANOS_PER_SEC),
        "m" => Some(60 * NANOS_PER_SEC),
        "h" => Some(3_600 * NANOS_PER_SEC),
        _ => None,
    }
}

/// Parses a time string as InfluxDB accepts it in a `WHERE time` clause: RFC 3339 with an
/// optional fraction and a `Z` or `±hh:mm` zone, or `YYYY-MM-DD hh:mm:ss[.fff]` and
/// `YYYY-MM-DD` taken as UTC. Nanoseconds since the epoch; `None` if malformed or out of
/// the `i64` range.
pub fn parse_time(text: &str) -> Option<i64> {
    let (days, secs_of_day, frac, offset_secs) = match text.find(['T', 't', ' ']) {
        Some(i) => {
            let (clock, offset) = split_zone(&text[i + 1..])?;
            let (secs, frac) = parse_clock(clock)?;
            (parse_date(&text[..i])?, secs, frac, offset)
        }
        None => (parse_date(text)?, 0, 0, 0),
    };
    let secs = i128::from(days) * i128::from(SECS_PER_DAY) + i128::from(secs_of_day)
        - i128::from(offset_secs);
    i64::try_from(secs * i128::from(NANOS_PER_SEC) + i128::from(frac)).ok()
}

/// Splits `hh:mm:ss[.f]<zone>` into the clock and the zone's offset east of UTC in seconds.
fn split_zone(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    // A zone offset starts at the last '+' or '-' (the clock itself has neither).
    match rest.rfind(['+', '-']) {
        Some(i) => {
            let (clock, zone) = rest.split_at(i);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (hh, mm) = zone[1..].split_once(':')?;
            let (hh, mm) = (two_digits(hh)?, two_digits(mm)?);
            if hh > 23 || mm > 59 {
                return None;
            }
            Some((clock, sign * (hh * 3600 + mm * 60)))
        }
        None => Some((rest, 0)),
    }
}

fn two_digits(s: &str) -> Option<i64> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn parse_date(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = y.parse().ok()?;
    let (m, d) = (two_digits(m)?, two_digits(d)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `hh:mm:ss[.fraction]` → (seconds of the day, nanoseconds).
fn parse_clock(clock: &str) -> Option<(i64, i64)> {
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.splitn(3, ':');
    let hh = two_digits(parts.next()?)?;
    let mm = two_digits(parts.next()?)?;
    let ss = two_digits(parts.next()?)?;
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if clock.contains('.') && frac.is_empty() {
        return None;
    }
    let ns = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0, |ns, b| ns * 10 + i64::from(b - b'0'));
    Some((hh * 3600 + mm * 60 + ss, ns))
}

/// Appends `ns` as Go's `RFC3339Nano` in UTC: `2026-01-01T00:00:00Z`,
/// `2026-01-01T00:00:00.25Z` (fraction digits only as far as needed), as InfluxDB prints
/// times when no `epoch` is asked for. Writes straight into `out`: no allocation per row.
pub fn write_rfc3339(out: &mut Vec<u8>, ns: i64) {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let mut frac = ns.rem_euclid(NANOS_PER_SEC);
    let (y, m, d) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    let tod = secs.rem_euclid(SECS_PER_DAY);
    // i64 nanoseconds span the years 1677 to 2262: always four digits.
    push_digits(out, y, 4);
    out.push(b'-');
    push_digits(out, m, 2);
    out.push(b'-');
    push_digits(out, d, 2);
    out.push(b'T');
    push_digits(out, tod / 3600, 2);
    out.push(b':');
    push_digits(out, tod % 3600 / 60, 2);
    out.push(b':');
    push_digits(out, tod % 60, 2);
    if frac != 0 {
        let mut width = 9;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        out.push(b'.');
        push_digits(out, frac, width);
    }
    out.push(b'Z');
}

/// Appends `v` (non-negative) zero-padded to `width` digits.
fn push_digits(out: &mut Vec<u8>, v: i64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut v = v.unsigned_abs();
    let mut i = buf.len();
    while v > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = i.min(buf.len() - width);
    out.extend_from_slice(&buf[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc(ns: i64) -> String {
        let mut out = Vec::new();
        write_rfc3339(&mut out, ns);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn durations_add_their_parts_and_refuse_unknown_units() {
        assert_eq!(parse_duration("1m"), Some(60_000_000_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("3µ"), Some(3_000));
        assert_eq!(parse_duration("3u"), Some(3_000));
        assert_eq!(parse_duration("7ns"), Some(7));
        assert_eq!(parse_duration("2d"), Some(172_800_000_000_000));
        assert_eq!(parse_duration("1w"), Some(604_800_000_000_000));
        for bad in ["", "m", "1x", "1", "10mm5", "99999999999w"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn time_strings_parse_in_every_accepted_form() {
        let day = 1_767_225_600_000_000_000;
        assert_eq!(parse_time("2026-01-01T00:00:00Z"), Some(day));
        assert_eq!(parse_time("2026-01-01"), Some(day));
        assert_eq!(parse_time("2026-01-01 00:00:00"), Some(day));
        assert_eq!(
            parse_time("2026-01-01T00:00:00.5Z"),
            Some(day + 500_000_000)
        );
        assert_eq!(parse_time("2026-01-01T01:00:00+01:00"), Some(day));
        assert_eq!(parse_time("2025-12-31T23:00:00-01:00"), Some(day));
        assert_eq!(parse_time("1969-12-31T23:59:59.999999999Z"), Some(-1));
        for bad in [
            "yesterday",
            "2026-02-30T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00.Z",
            "2026-1-01",
            "2026-01-01T00:00:00.1234567890Z",
            "9999-12-31T00:00:00Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc3339_output_cuts_trailing_zeros_like_go() {
        assert_eq!(rfc(1_767_225_600_000_000_000), "2026-01-01T00:00:00Z");
        assert_eq!(rfc(1_767_225_600_250_000_000), "2026-01-01T00:00:00.25Z");
        assert_eq!(rfc(1), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(rfc(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(rfc(0), "1970-01-01T00:00:00Z");
        for ns in [i64::MIN, i64::MAX, -1, 1_767_225_600_123_456_789] {
            assert_eq!(parse_time(&rfc(ns)), Some(ns), "{ns}");
        }
    }

    #[test]
    fn epoch_units_cover_influxdb_spellings() {
        assert_eq!(epoch_unit("ns"), Some(1));
        assert_eq!(epoch_unit("u"), Some(1_000));
        assert_eq!(epoch_unit("µ"), Some(1_000));
        assert_eq!(epoch_unit("ms"), Some(1_000_000));
        assert_eq!(epoch_unit("s"), Some(1_000_000_000));
        assert_eq!(epoch_unit("m"), Some(60_000_000_000));
        assert_eq!(epoch_unit("h"), Some(3_600_000_000_000));
        assert_eq!(epoch_unit("d"), None);
    }
}
