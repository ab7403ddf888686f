//! A whole `/write` body → one engine [`WriteBatch`]: every line parsed, points grouped per
//! series, or the first bad line's error with its number and nothing written.

use rustc_hash::FxHashMap;

use lodestone_engine::{Point, SeriesKey, WriteBatch};

use super::line_protocol::{
    is_blank, parse_fields, parse_series, parse_ts, series_name, split, LineError, Precision,
};

/// Why a body was refused.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// A line did not parse or named an invalid series.
    #[error(transparent)]
    Line(#[from] LineError),
    /// The body holds no points.
    #[error("request body holds no points")]
    Empty,
    /// The body holds more points than one batch may.
    #[error("request body holds more than {limit} points; split it into smaller writes")]
    TooManyPoints {
        /// The limit.
        limit: usize,
    },
}

/// Parses a line-protocol body into one batch. Lines without a timestamp take `now_ns`.
/// At most `max_points` points; blank lines and `#` comments are skipped.
pub fn parse_body(
    body: &[u8],
    precision: Precision,
    now_ns: i64,
    max_points: usize,
) -> Result<WriteBatch, BodyError> {
    // (series section, field key), both as sent → index into `entries`. Collectors repeat
    // the same few hundred series in every body, so each distinct key is parsed and
    // validated once per body.
    let body = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            let at = e.valid_up_to();
            let line = body[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            let start = body[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            return Err(BodyError::Line(
                LineError::invalid(&body[start..at], "line is not valid UTF-8").at_line(line),
            ));
        }
    };
    // Large bodies are parsed in two halves on two threads: a collector waits for each
    // answer before sending its next body, so the time to answer one body bounds how fast
    // one collector can write, even when the other core is idle.
    let (first, second) = if body.len() >= PARALLEL_BODY_BYTES {
        let mid = body.len() / 2;
        let cut =
            memchr::memchr(b'\n', &body.as_bytes()[mid..]).map_or(body.len(), |i| mid + i + 1);
        // `cut` follows a newline (or is the end): a character boundary.
        let (a, b) = body.split_at(cut);
        std::thread::scope(|scope| {
            let second = scope.spawn(|| parse_part(b, precision, now_ns, max_points));
            let first = parse_part(a, precision, now_ns, max_points);
            // A panic in the parser is a bug: let it reach the task, which answers 500.
            let second = second
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (first, Some(second))
        })
    } else {
        (parse_part(body, precision, now_ns, max_points), None)
    };
    let first = first?;
    let mut entries = first.entries;
    let mut total = first.points;
    if let Some(second) = second {
        // Its line numbers start after the first half's lines.
        let second = second.map_err(|e| match e {
            BodyError::Line(l) => BodyError::Line(LineError {
                line: l.line + first.lines,
                ..l
            }),
            other => other,
        })?;
        total += second.points;
        if total > max_points {
            return Err(BodyError::TooManyPoints { limit: max_points });
        }
        // Same series: the second half's points go after the first's, keeping line order
        // (a later line wins on equal timestamps).
        let at: FxHashMap<SeriesKey, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect();
        for (key, points) in second.entries {
            match at.get(&key) {
                Some(&i) => entries[i].1.extend(points),
                None => entries.push((key, points)),
            }
        }
    }
    if total == 0 {
        return Err(BodyError::Empty);
    }
    let mut batch = WriteBatch::new();
    for (key, points) in entries {
        batch.add(key, points);
    }
    Ok(batch)
}

/// Bodies at least this large are parsed on two threads.
const PARALLEL_BODY_BYTES: usize = 256 << 10;

/// One part of a body, parsed.
struct Part {
    entries: Vec<(SeriesKey, Vec<Point>)>,
    points: usize,
    /// Lines in the part (for numbering the next part's lines).
    lines: usize,
}

/// Parses a run of whole lines; errors carry line numbers counted from the part's start.
fn parse_part(
    body: &str,
    precision: Precision,
    now_ns: i64,
    max_points: usize,
) -> Result<Part, BodyError> {
    // (series section, field key), both as sent → index into `entries`. Collectors repeat
    // the same few hundred series in every body, so each distinct key is parsed and
    // validated once per body. FxHash: the keys are short and come from the caller's own
    // body, so a collision attack only slows that caller's request.
    let mut index: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    let mut entries: Vec<(SeriesKey, Vec<Point>)> = Vec::new();
    let mut total = 0usize;
    let mut start = 0;
    let mut n = 0;
    while start < body.len() {
        let end =
            memchr::memchr(b'\n', &body.as_bytes()[start..]).map_or(body.len(), |i| start + i);
        // `end` is a newline's position or the end: a character boundary.
        let line = &body[start..end];
        start = end + 1;
        n += 1;
        if is_blank(line) {
            continue;
        }
        let parsed = parse_one(
            line,
            precision,
            now_ns,
            &mut index,
            &mut entries,
            &mut total,
        );
        match parsed {
            Ok(()) if total > max_points => {
                return Err(BodyError::TooManyPoints { limit: max_points })
            }
            Ok(()) => {}
            Err(e) => return Err(BodyError::Line(e.at_line(n))),
        }
    }
    Ok(Part {
        entries,
        points: total,
        lines: n,
    })
}

/// Adds one line's points to `entries`.
fn parse_one<'a>(
    line: &'a str,
    precision: Precision,
    now_ns: i64,
    index: &mut FxHashMap<(&'a str, &'a str), usize>,
    entries: &mut Vec<(SeriesKey, Vec<Point>)>,
    total: &mut usize,
) -> Result<(), LineError> {
    let raw = split(line)?;
    let ts = match raw.ts {
        Some(t) => parse_ts(t, precision, line)?,
        None => now_ns,
    };
    parse_fields(raw.fields, line, |raw_field, field, value| {
        *total += 1;
        let slot = match index.get(&(raw.series, raw_field)) {
            Some(&i) => i,
            None => {
                let (measurement, tags) = parse_series(raw.series, line)?;
                let key = SeriesKey::new(series_name(&measurement, &field), tags)
                    .map_err(|e| LineError::invalid(line.as_bytes(), e.to_string()))?;
                entries.push((key, Vec::new()));
                index.insert((raw.series, raw_field), entries.len() - 1);
                entries.len() - 1
            }
        };
        entries[slot].1.push(Point::new(ts, value));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_points_per_series_and_numbers_bad_lines() {
        let body = b"# comment\nm,a=1 value=1 1\nm,a=2 value=2 1\n\nm,a=1 value=3 2,other=4 2\n";
        let batch = parse_body(body, Precision::Nanoseconds, 0, 100);
        // `value=3 2,other=4 2` has a bad timestamp: line 5.
        let e = batch.unwrap_err().to_string();
        assert!(e.starts_with("line 5:"), "{e}");

        let body = b"m,a=1 value=1 1\nm,a=2 value=2 1\nm,a=1 value=3,other=4i 2\n";
        let batch = parse_body(body, Precision::Nanoseconds, 0, 100).unwrap();
        let got: Vec<(String, usize)> = batch
            .entries()
            .iter()
            .map(|(k, p)| (k.to_string(), p.len()))
            .collect();
        assert_eq!(
            got,
            [
                (r#"m{a="1"}"#.to_string(), 2),
                (r#"m{a="2"}"#.to_string(), 1),
                (r#"m.other{a="1"}"#.to_string(), 1)
            ]
        );
    }

    /// A body of `lines` plant lines over 12 series, with line `bad` (1-based) broken.
    fn big_body(lines: usize, bad: Option<usize>) -> String {
        let mut body = String::new();
        for i in 0..lines {
            if Some(i + 1) == bad {
                body.push_str("temperature,site=p1 value=oops 1\n");
                continue;
            }
            body.push_str(&format!(
                "temperature,site=p1,asset=a{:04} value={}.{} {}\n",
                i % 12,
                20 + i % 7,
                i % 10,
                1_767_225_600_000_000_000i64 + (i / 12) as i64 * 1_000_000_000
            ));
        }
        body
    }

    #[test]
    fn large_bodies_parsed_in_halves_give_the_same_batch_and_line_numbers() {
        let body = big_body(8_000, None);
        assert!(body.len() >= PARALLEL_BODY_BYTES);
        let whole = parse_body(body.as_bytes(), Precision::Nanoseconds, 0, 1 << 20).unwrap();
        // The reference: the same lines parsed as one part.
        let text = std::str::from_utf8(body.as_bytes()).unwrap();
        let part = parse_part(text, Precision::Nanoseconds, 0, 1 << 20)
            .ok()
            .unwrap();
        assert_eq!(whole.len(), 8_000);
        assert_eq!(whole.entries(), part.entries.as_slice());
        for bad in [3, 7_999] {
            let body = big_body(8_000, Some(bad));
            let e = parse_body(body.as_bytes(), Precision::Nanoseconds, 0, 1 << 20).unwrap_err();
            assert!(e.to_string().starts_with(&format!("line {bad}:")), "{e}");
        }
        let e = parse_body(body.as_bytes(), Precision::Nanoseconds, 0, 7_999).unwrap_err();
        assert!(
            matches!(e, BodyError::TooManyPoints { limit: 7_999 }),
            "{e}"
        );
    }

    #[test]
    fn empty_and_oversized_bodies_are_refused() {
        assert!(matches!(
            parse_body(b"\n# nothing\n", Precision::Nanoseconds, 0, 10),
            Err(BodyError::Empty)
        ));
        assert!(matches!(
            parse_body(b"m value=1,b=2,c=3 1\n", Precision::Nanoseconds, 0, 2),
            Err(BodyError::TooManyPoints { limit: 2 })
        ));
    }

    #[test]
    fn invalid_series_names_are_refused_with_the_line() {
        let long = "x".repeat(300);
        let body = format!("m value=1 1\nm,t={long} value=1 1\n");
        let e = parse_body(body.as_bytes(), Precision::Nanoseconds, 0, 10).unwrap_err();
        assert!(e.to_string().starts_with("line 2:"), "{e}");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use lodestone_engine::Value;
    use proptest::prelude::*;

    /// Escapes a measurement or tag/field text the way a line-protocol writer must.
    fn escape(s: &str, specials: &[char]) -> String {
        let mut out = String::new();
        for c in s.chars() {
            if specials.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    proptest! {
        /// Whatever arrives, parsing returns a batch or an error; it never panics.
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_body(&body, Precision::Nanoseconds, 0, 1000);
        }

        /// Bodies made of line-protocol-looking pieces (the bytes parsers trip over) never
        /// panic either.
        #[test]
        fn near_miss_bodies_never_panic(parts in proptest::collection::vec(
            prop_oneof![
                Just("m"), Just(","), Just("="), Just(" "), Just("\\"), Just("\""), Just("\n"),
                Just("value"), Just("1.5"), Just("-"), Just("i"), Just("u"), Just("t"),
                Just("9223372036854775807"), Just("é"), Just("#"), Just("\r"),
            ],
            0..60,
        )) {
            let body = parts.concat();
            let _ = parse_body(body.as_bytes(), Precision::Seconds, 0, 1000);
        }

        /// Any measurement, tags and float value, escaped as a client must, parse back to
        /// the same series and the same bits. (A backslash before a special character is
        /// an escape in line protocol, so raw backslashes are left out: they are ambiguous.)
        #[test]
        fn escaped_lines_round_trip(
            measurement in "[a-z ,=]{1,12}",
            tag_value in "[a-z0-9 ,=]{1,12}",
            bits in any::<u64>(),
            ts in any::<i64>(),
        ) {
            let v = f64::from_bits(bits);
            prop_assume!(v.is_finite());
            let line = format!(
                "{},site={} value={v:?} {ts}\n",
                escape(&measurement, &[',', ' ']),
                escape(&tag_value, &[',', '=', ' ']),
            );
            let batch = parse_body(line.as_bytes(), Precision::Nanoseconds, 0, 10).unwrap();
            let (key, points) = &batch.entries()[0];
            prop_assert_eq!(key.name(), measurement.as_str());
            prop_assert_eq!(key.label("site"), Some(tag_value.as_str()));
            prop_assert_eq!(points[0].ts, ts);
            match points[0].value {
                Value::F64(got) => prop_assert_eq!(got.to_bits(), bits),
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
