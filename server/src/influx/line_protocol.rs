//! InfluxDB line protocol, as collectors (Telegraf and friends) send it to `/write`:
//!
//! ```text
//! measurement[,tag=value...] field=value[,field=value...] [timestamp]
//! temperature,site=p1,asset=a0003 value=21.4 1767225600000000000
//! ```
//!
//! Mapping to Lodestone series (DESIGN.md): the measurement is the series name and the tags
//! its labels; a field named `value` writes to that series, any other field `f` to the series
//! `measurement.f`. Values: floats (`21.4`, `-1e-3`, and `NaN`/`inf` as a Lodestone
//! extension), integers with an `i` suffix (`3i`), unsigned integers with `u` (stored as i64
//! when they fit), and booleans (`t`, `T`, `true`, `True`, `TRUE`, `f`, ... `FALSE`). String
//! fields are refused: a historian stores numbers. Escapes follow InfluxDB 1.x: `\,` and `\ `
//! in measurements, `\,`, `\=` and `\ ` in tag keys, tag values and field keys.
//!
//! The parser never panics and never allocates for a line more than its length; errors name
//! what was wrong, and [`LineError`] carries the 1-based line number when parsing a body.

use std::borrow::Cow;
use std::fmt;

use lodestone_engine::{Point, SeriesKey, Value};

/// The unit of timestamps in a body (`precision` parameter of `/write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Nanoseconds (`ns` or `n`), the default.
    #[default]
    Nanoseconds,
    /// Microseconds (`u`, `us` or `µ`).
    Microseconds,
    /// Milliseconds (`ms`).
    Milliseconds,
    /// Seconds (`s`).
    Seconds,
    /// Minutes (`m`).
    Minutes,
    /// Hours (`h`).
    Hours,
}

impl Precision {
    /// Parses the `precision` parameter; `None` for an unknown unit.
    pub fn parse(s: &str) -> Option<Precision> {
        Some(match s {
            "" | "n" | "ns" => Precision::Nanoseconds,
            "u" | "us" | "µ" | "µs" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            _ => return None,
        })
    }

    /// Nanoseconds in one unit.
    pub fn nanos(self) -> i64 {
        match self {
            Precision::Nanoseconds => 1,
            Precision::Microseconds => 1_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Seconds => 1_000_000_000,
            Precision::Minutes => 60_000_000_000,
            Precision::Hours => 3_600_000_000_000,
        }
    }
}

/// What was wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number within the body, 0 when parsing a lone line.
    pub line: usize,
    /// What was wrong.
    pub reason: String,
    /// The start of the offending line, for the message.
    pub text: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        write!(f, "unable to parse '{}': {}", self.text, self.reason)
    }
}

impl std::error::Error for LineError {}

impl LineError {
    /// An error about `line`.
    pub fn invalid(line: &[u8], reason: impl Into<String>) -> LineError {
        LineError::new(line, reason)
    }

    fn new(line: &[u8], reason: impl Into<String>) -> LineError {
        const SHOWN: usize = 120;
        let mut text = String::from_utf8_lossy(&line[..line.len().min(SHOWN)]).into_owned();
        if line.len() > SHOWN {
            text.push_str("...");
        }
        LineError {
            line: 0,
            reason: reason.into(),
            text,
        }
    }

    /// The same error, numbered.
    pub fn at_line(mut self, line: usize) -> LineError {
        self.line = line;
        self
    }
}

/// One parsed line: a point per field, each with its series.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine {
    /// `(series, point)` for every field of the line, in field order.
    pub points: Vec<(SeriesKey, Point)>,
}

/// A line cut into its three sections, not yet checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawLine<'a> {
    /// Measurement and tags, still escaped.
    pub series: &'a str,
    /// The field set, still escaped.
    pub fields: &'a str,
    /// The timestamp, if the line has one.
    pub ts: Option<&'a str>,
}

/// True for lines a body may hold without meaning anything: blank or `#` comments.
pub(crate) fn is_blank(line: &str) -> bool {
    let t = line.trim_ascii_start();
    t.is_empty() || t.as_bytes()[0] == b'#'
}

/// Cuts a line into series, fields and timestamp at unescaped spaces (and, in the field set,
/// spaces outside double-quoted strings).
///
/// Every index this module slices a `&str` at is the position of an ASCII delimiter or the
/// end of the text, so it is always a character boundary.
pub(crate) fn split(line: &str) -> Result<RawLine<'_>, LineError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let b = line.as_bytes();
    // Fast path, what collectors send: no escapes, no quotes, single spaces.
    if memchr::memchr2(b'\\', b'"', b).is_none() {
        if let Some(s1) = memchr::memchr(b' ', b) {
            let after = &b[s1 + 1..];
            let (fields_end, ts) = match memchr::memchr(b' ', after) {
                Some(s2) => (s1 + 1 + s2, Some(&line[s1 + 2 + s2..])),
                None => (b.len(), None),
            };
            let ts_ok =
                ts.is_none_or(|t| !t.is_empty() && memchr::memchr(b' ', t.as_bytes()).is_none());
            if s1 > 0 && fields_end > s1 + 1 && ts_ok {
                return Ok(RawLine {
                    series: &line[..s1],
                    fields: &line[s1 + 1..fields_end],
                    ts,
                });
            }
        }
    }
    let series_end = scan_unescaped(b, 0, b' ', false);
    let series = &line[..series_end];
    if series.is_empty() {
        return Err(LineError::new(b, "missing measurement"));
    }
    let mut start = series_end;
    while start < b.len() && b[start] == b' ' {
        start += 1;
    }
    let fields_end = scan_unescaped(b, start, b' ', true);
    let fields = &line[start..fields_end];
    if fields.is_empty() {
        return Err(LineError::new(b, "missing fields"));
    }
    let rest = line[fields_end..].trim_ascii();
    let ts = if rest.is_empty() { None } else { Some(rest) };
    Ok(RawLine { series, fields, ts })
}

/// Index of the first `stop` byte at or after `from` that is not escaped (and, when `quotes`,
/// not inside a double-quoted string); `text.len()` when there is none.
fn scan_unescaped(text: &[u8], from: usize, stop: u8, quotes: bool) -> usize {
    let mut i = from;
    let mut in_quotes = false;
    while i < text.len() {
        let b = text[i];
        if b == b'\\' {
            i += 2;
            continue;
        }
        if quotes && b == b'"' {
            in_quotes = !in_quotes;
        } else if b == stop && !in_quotes {
            return i;
        }
        i += 1;
    }
    text.len()
}

/// Removes `\` before the characters InfluxDB lets one escape there.
fn unescape<'a>(raw: &'a str, escapable: &[u8]) -> Cow<'a, str> {
    if !raw.as_bytes().contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if next.is_ascii() && escapable.contains(&(next as u8)) {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// The measurement and tags of a line's series section.
pub(crate) fn parse_series(
    series: &str,
    line: &str,
) -> Result<(String, Vec<(String, String)>), LineError> {
    let sb = series.as_bytes();
    let name_end = scan_unescaped(sb, 0, b',', false);
    let name = unescape(&series[..name_end], b", ");
    if name.is_empty() {
        return Err(LineError::new(line.as_bytes(), "missing measurement"));
    }
    let mut tags = Vec::new();
    let mut pos = name_end;
    while pos < sb.len() {
        pos += 1; // the comma
        let end = scan_unescaped(sb, pos, b',', false);
        let pair = &series[pos..end];
        let eq = scan_unescaped(pair.as_bytes(), 0, b'=', false);
        if eq >= pair.len() {
            return Err(LineError::new(line.as_bytes(), "missing tag value"));
        }
        let key = unescape(&pair[..eq], b", =");
        let value = unescape(&pair[eq + 1..], b", =");
        if key.is_empty() {
            return Err(LineError::new(line.as_bytes(), "missing tag key"));
        }
        if value.is_empty() {
            return Err(LineError::new(
                line.as_bytes(),
                format!("missing tag value for tag {key}"),
            ));
        }
        tags.push((key.into_owned(), value.into_owned()));
        pos = end;
    }
    Ok((name.into_owned(), tags))
}

/// The series a field of `measurement` writes to: `value` is the measurement itself.
pub(crate) fn series_name(measurement: &str, field: &str) -> String {
    if field == "value" {
        measurement.to_string()
    } else {
        format!("{measurement}.{field}")
    }
}

/// Calls `each(raw_key, field_key, value)` for every field of a field set, in order;
/// `raw_key` is the key as sent (still escaped), `field_key` unescaped.
pub(crate) fn parse_fields<'a>(
    fields: &'a str,
    line: &str,
    mut each: impl FnMut(&'a str, Cow<'a, str>, Value) -> Result<(), LineError>,
) -> Result<(), LineError> {
    let fb = fields.as_bytes();
    let mut pos = 0;
    loop {
        let end = scan_unescaped(fb, pos, b',', true);
        let pair = &fields[pos..end];
        let eq = scan_unescaped(pair.as_bytes(), 0, b'=', false);
        if eq >= pair.len() {
            return Err(LineError::new(line.as_bytes(), "missing field value"));
        }
        let raw_key = &pair[..eq];
        let key = unescape(raw_key, b", =");
        if key.is_empty() {
            return Err(LineError::new(line.as_bytes(), "missing field key"));
        }
        let value = parse_value(&pair[eq + 1..], &key, line)?;
        each(raw_key, key, value)?;
        if end >= fb.len() {
            return Ok(());
        }
        pos = end + 1;
    }
}

/// One field value.
fn parse_value(text: &str, key: &str, line: &str) -> Result<Value, LineError> {
    let bad = |why: &str| LineError::new(line.as_bytes(), format!("field {key}: {why}"));
    let raw = text.as_bytes();
    let (Some(&first), Some(&last)) = (raw.first(), raw.last()) else {
        return Err(bad("missing value"));
    };
    if first == b'"' {
        return Err(bad(
            "string values are not supported; send numbers or booleans",
        ));
    }
    match raw {
        b"t" | b"T" | b"true" | b"True" | b"TRUE" => return Ok(Value::Bool(true)),
        b"f" | b"F" | b"false" | b"False" | b"FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    match last {
        b'i' => text[..text.len() - 1]
            .parse::<i64>()
            .map(Value::I64)
            .map_err(|_| bad(&format!("invalid integer {text:?} (range is i64)"))),
        b'u' => {
            let v = text[..text.len() - 1]
                .parse::<u64>()
                .map_err(|_| bad(&format!("invalid unsigned integer {text:?}")))?;
            i64::try_from(v)
                .map(Value::I64)
                .map_err(|_| bad(&format!("unsigned integer {v} does not fit in i64")))
        }
        // Rust's float parsing is correctly rounded: every decimal a client printed with
        // shortest round-trip formatting comes back bit-exact. `NaN` and `inf` are accepted
        // as a Lodestone extension.
        _ => text
            .parse::<f64>()
            .map(Value::F64)
            .map_err(|_| bad(&format!("invalid number {text:?}"))),
    }
}

/// Parses a timestamp in `precision` units into nanoseconds.
pub(crate) fn parse_ts(text: &str, precision: Precision, line: &str) -> Result<i64, LineError> {
    let (neg, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        let why = if digits.len() > 19 && digits.iter().all(u8::is_ascii_digit) {
            "timestamp out of range (i64 nanoseconds)"
        } else {
            "invalid timestamp: expected an integer"
        };
        return Err(LineError::new(line.as_bytes(), why));
    }
    // At most 19 digits always fit in a u64; range-check after.
    let mut v: u64 = 0;
    for &d in digits {
        v = v * 10 + u64::from(d - b'0');
    }
    let out_of_range =
        || LineError::new(line.as_bytes(), "timestamp out of range (i64 nanoseconds)");
    let v = if neg {
        0i64.checked_sub_unsigned(v) // reaches i64::MIN, which `-(v as i64)` would not
    } else {
        i64::try_from(v).ok()
    };
    v.and_then(|v| v.checked_mul(precision.nanos()))
        .ok_or_else(out_of_range)
}

/// Parses one line on its own (no line number in errors). Lines without a timestamp take
/// `now_ns`.
pub fn parse_line(line: &[u8], precision: Precision, now_ns: i64) -> Result<ParsedLine, LineError> {
    let text =
        std::str::from_utf8(line).map_err(|_| LineError::new(line, "line is not valid UTF-8"))?;
    let raw = split(text)?;
    let (measurement, tags) = parse_series(raw.series, text)?;
    let ts = match raw.ts {
        Some(t) => parse_ts(t, precision, text)?,
        None => now_ns,
    };
    let mut points = Vec::with_capacity(1);
    parse_fields(raw.fields, text, |_, key, value| {
        let key = SeriesKey::new(series_name(&measurement, &key), tags.iter().cloned())
            .map_err(|e| LineError::new(line, e.to_string()))?;
        points.push((key, Point::new(ts, value)));
        Ok(())
    })?;
    Ok(ParsedLine { points })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<ParsedLine, LineError> {
        parse_line(line.as_bytes(), Precision::Nanoseconds, 42)
    }

    #[test]
    fn plant_line() {
        let p =
            one("temperature,site=p1,line=l04,asset=a0003 value=21.4 1767225600000000000").unwrap();
        assert_eq!(p.points.len(), 1);
        let (k, pt) = &p.points[0];
        assert_eq!(
            k.to_string(),
            r#"temperature{asset="a0003",line="l04",site="p1"}"#
        );
        assert_eq!(pt.ts, 1_767_225_600_000_000_000);
        assert_eq!(pt.value, Value::F64(21.4));
    }

    #[test]
    fn types_fields_and_defaults() {
        let p = one("m,a=b value=3i,on=t,count=7u,x=-1.5e-3").unwrap();
        let names: Vec<String> = p.points.iter().map(|(k, _)| k.name().to_string()).collect();
        assert_eq!(names, ["m", "m.on", "m.count", "m.x"]);
        assert_eq!(p.points[0].1.value, Value::I64(3));
        assert_eq!(p.points[1].1.value, Value::Bool(true));
        assert_eq!(p.points[2].1.value, Value::I64(7));
        assert_eq!(p.points[3].1.value, Value::F64(-1.5e-3));
        assert!(p.points.iter().all(|(_, pt)| pt.ts == 42));
    }

    #[test]
    fn escapes() {
        let p = one(r"my\ meas\,x,t\ k=v\=1\,2 f\=x=1 5").unwrap();
        let (k, pt) = &p.points[0];
        assert_eq!(k.name(), "my meas,x.f=x");
        assert_eq!(k.labels().collect::<Vec<_>>(), [("t k", "v=1,2")]);
        assert_eq!(pt.ts, 5);
    }

    #[test]
    fn precision_scales_and_overflow_is_refused() {
        let p = parse_line(b"m value=1 -9223372036854775808", Precision::Nanoseconds, 0).unwrap();
        assert_eq!(p.points[0].1.ts, i64::MIN);
        let p = parse_line(b"m value=1 3", Precision::Seconds, 0).unwrap();
        assert_eq!(p.points[0].1.ts, 3_000_000_000);
        let e =
            parse_line(b"m value=1 9223372036854775807", Precision::Milliseconds, 0).unwrap_err();
        assert!(e.reason.contains("out of range"), "{e}");
    }

    #[test]
    fn bad_lines_name_the_problem() {
        let cases = [
            ("m", "missing fields"),
            ("m ", "missing fields"),
            (",a=b value=1", "missing measurement"),
            ("m,a value=1", "missing tag value"),
            ("m,a= value=1", "missing tag value"),
            ("m,=b value=1", "missing tag key"),
            ("m value", "missing field value"),
            ("m value=", "missing value"),
            ("m =1", "missing field key"),
            ("m value=abc", "invalid number"),
            ("m value=1.2.3", "invalid number"),
            ("m value=12x", "invalid number"),
            ("m value=99999999999999999999i", "invalid integer"),
            ("m value=18446744073709551615u", "does not fit"),
            ("m value=\"text\"", "string values"),
            ("m value=1 12abc", "invalid timestamp"),
            ("m value=1 99999999999999999999", "out of range"),
        ];
        for (line, want) in cases {
            let e = one(line).unwrap_err();
            assert!(e.to_string().contains(want), "{line:?}: {e}");
        }
    }

    #[test]
    fn floats_round_trip_bit_exact() {
        for v in [0.1 + 0.2, 1e-300, -0.0, 5e-324, f64::MAX, 21.4, 1789.624] {
            let line = format!("m value={v:?} 1");
            let p = one(&line).unwrap();
            match p.points[0].1.value {
                Value::F64(got) => assert_eq!(got.to_bits(), v.to_bits(), "{line}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
