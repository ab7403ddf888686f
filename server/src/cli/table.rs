//! Plain-text tables for people: points, series listings, statistics. (CSV and JSON output
//! come later.)

use std::io::{self, Write};

use lodestone_proto::v1 as pb;

use super::time;
use crate::grpc::convert::key_from_proto;

/// A value as shown: floats in Rust's shortest exact form (`NaN`, `-0`, `inf` included),
/// integers and booleans as they are.
pub fn value(v: Option<&pb::point::Value>) -> String {
    match v {
        Some(pb::point::Value::F64(v)) => v.to_string(),
        Some(pb::point::Value::I64(v)) => v.to_string(),
        Some(pb::point::Value::Bool(v)) => v.to_string(),
        None => "-".to_string(),
    }
}

/// A quality code as shown: `good` for plain good (0), otherwise the severity and the code.
pub fn quality(q: u32) -> String {
    if q == 0 {
        return "good".to_string();
    }
    let severity = match q >> 30 {
        0 => "good",
        1 => "uncertain",
        _ => "bad",
    };
    format!("{severity} (0x{q:08x})")
}

/// A series key as shown: `name{label="value",...}`, as the series arguments take it.
pub fn series(key: Option<&pb::SeriesKey>) -> String {
    match key_from_proto(key) {
        Ok(k) => k.to_string(),
        Err(_) => key.map(|k| k.name.clone()).unwrap_or_default(),
    }
}

/// A value type as shown.
pub fn value_type(code: i32) -> &'static str {
    match pb::ValueType::try_from(code) {
        Ok(pb::ValueType::F64) => "f64",
        Ok(pb::ValueType::I64) => "i64",
        Ok(pb::ValueType::Bool) => "bool",
        _ => "?",
    }
}

/// Writes points as a table: time (UTC, exact to the nanosecond), value, quality.
pub fn points(out: &mut impl Write, points: &[pb::Point]) -> io::Result<()> {
    let rows: Vec<[String; 3]> = points
        .iter()
        .map(|p| {
            [
                time::format(p.ts_ns),
                value(p.value.as_ref()),
                quality(p.quality),
            ]
        })
        .collect();
    let width = rows
        .iter()
        .map(|r| r[1].len())
        .max()
        .unwrap_or(0)
        .max("value".len());
    writeln!(out, "{:<30}  {:>width$}  quality", "time", "value")?;
    for [t, v, q] in rows {
        writeln!(out, "{t:<30}  {v:>width$}  {q}")?;
    }
    Ok(())
}

/// Writes engine statistics and the series listing.
pub fn stats(
    out: &mut impl Write,
    source: &str,
    s: &pb::StatsResponse,
    list: &[pb::SeriesInfo],
) -> io::Result<()> {
    writeln!(out, "source        {source}")?;
    writeln!(out, "series        {}", s.series)?;
    writeln!(
        out,
        "segments      {} ({} bytes)",
        s.segments, s.segment_bytes
    )?;
    writeln!(
        out,
        "head          {} bytes ({} frozen parts waiting to flush)",
        s.head_bytes, s.frozen_memtables
    )?;
    writeln!(out, "wal           {} bytes", s.wal_bytes)?;
    writeln!(
        out,
        "written       {} points in {} batches",
        s.points_written, s.batches_written
    )?;
    writeln!(
        out,
        "wal fsyncs    {} ({:.3} s)",
        s.wal_fsyncs,
        s.wal_fsync_nanos as f64 / 1e9
    )?;
    writeln!(out, "flushes       {}", s.flushes)?;
    for info in list {
        let key = series(info.series.as_ref());
        let vt = value_type(info.value_type);
        match &info.latest {
            Some(p) => writeln!(
                out,
                "  {key} ({vt}) latest {} at {}",
                value(p.value.as_ref()),
                time::format(p.ts_ns)
            )?,
            None => writeln!(out, "  {key} ({vt})")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_shows_severity_and_code_unless_plain_good() {
        assert_eq!(quality(0), "good");
        assert_eq!(quality(0x4000_0000), "uncertain (0x40000000)");
        assert_eq!(quality(0x8001_0000), "bad (0x80010000)");
        assert_eq!(quality(0x0000_0007), "good (0x00000007)");
    }

    #[test]
    fn a_point_table_has_a_header_and_one_aligned_row_per_point() {
        let mut out = Vec::new();
        let pts = [
            pb::Point::new(0, -0.0),
            pb::Point::with_quality(1, 123_456.5, 0x8000_0000),
        ];
        points(&mut out, &pts).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("time"), "{text}");
        assert_eq!(lines[1], "1970-01-01T00:00:00.000000000Z        -0  good");
        assert_eq!(
            lines[2],
            "1970-01-01T00:00:00.000000001Z  123456.5  bad (0x80000000)"
        );
    }
}
