//! Command output: plain-text tables for people (points, series listings, statistics), and
//! rows of points as CSV or JSON lines for programs. CSV and JSON rows carry the series, so
//! what `query` and `export` print, `import` reads back.

use std::io::{self, Write};

use lodestone_client::SeriesWindows;
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

/// A value typed as in InfluxDB line protocol, so that it parses back to the same type and
/// bits: floats in Rust's shortest round-trip form (`21.5`, `-0`, `NaN`, `inf`), integers
/// with an `i` suffix (`42i`), booleans as `true`/`false`.
pub fn typed_value(v: Option<&pb::point::Value>) -> String {
    match v {
        Some(pb::point::Value::I64(v)) => format!("{v}i"),
        other => value(other),
    }
}

/// How `query`, `latest` and `series` print what they read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// CSV with a header; points as `series,timestamp,value,quality`, which `lodestone
    /// import` reads back.
    Csv,
    /// One JSON object per line (JSON Lines).
    Json,
}

/// The header of point CSV, as `lodestone import` expects it.
pub const CSV_HEADER: [&str; 4] = ["series", "timestamp", "value", "quality"];

/// Writes points as CSV rows under [`CSV_HEADER`]: the series as `name{k="v"}`, the time as
/// exact UTC RFC 3339, the value typed ([`typed_value`]), the quality as a number.
#[derive(Debug)]
pub struct CsvPoints<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvPoints<W> {
    /// Starts the output with the header.
    pub fn new(out: W) -> io::Result<CsvPoints<W>> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(CSV_HEADER).map_err(csv_io)?;
        Ok(CsvPoints { out })
    }

    /// One row.
    pub fn row(&mut self, series: &str, p: &pb::Point) -> io::Result<()> {
        let ts = time::format(p.ts_ns);
        let v = typed_value(p.value.as_ref());
        let q = p.quality.to_string();
        self.out
            .write_record([series, ts.as_str(), v.as_str(), q.as_str()])
            .map_err(csv_io)
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A CSV error as the I/O error it is (or wraps).
pub(crate) fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Writes one point as a JSON line:
/// `{"series":..,"ts":ns,"time":"RFC 3339","value":..,"quality":n}`. Floats JSON cannot
/// hold (NaN, infinities) are the strings `"NaN"`, `"inf"`, `"-inf"`; other floats always
/// carry a `.` or an exponent, so they never read back as integers.
pub fn json_row(out: &mut impl Write, series: &str, p: &pb::Point) -> io::Result<()> {
    /// One row, fields in this order.
    #[derive(serde::Serialize)]
    struct Row<'a> {
        series: &'a str,
        ts: i64,
        time: String,
        value: serde_json::Value,
        quality: u32,
    }
    let row = Row {
        series,
        ts: p.ts_ns,
        time: time::format(p.ts_ns),
        value: json_value(p.value.as_ref()),
        quality: p.quality,
    };
    serde_json::to_writer(&mut *out, &row)?;
    out.write_all(b"\n")
}

/// A value in JSON: finite floats as numbers, NaN and infinities as the strings `"NaN"`,
/// `"inf"`, `"-inf"`, integers and booleans as they are, a missing value as `null`.
pub fn json_value(v: Option<&pb::point::Value>) -> serde_json::Value {
    match v {
        Some(pb::point::Value::F64(v)) if v.is_finite() => serde_json::json!(v),
        Some(pb::point::Value::F64(v)) => serde_json::json!(v.to_string()),
        Some(pb::point::Value::I64(v)) => serde_json::json!(v),
        Some(pb::point::Value::Bool(v)) => serde_json::json!(v),
        None => serde_json::Value::Null,
    }
}

/// Writes `points` of `series` in `format`.
pub fn points_as(
    out: &mut impl Write,
    format: Format,
    series: &str,
    points: &[pb::Point],
) -> io::Result<()> {
    match format {
        Format::Table => self::points(out, points),
        Format::Csv => {
            let mut csv = CsvPoints::new(&mut *out)?;
            for p in points {
                csv.row(series, p)?;
            }
            csv.flush()
        }
        Format::Json => points
            .iter()
            .try_for_each(|p| json_row(&mut *out, series, p)),
    }
}

/// The header of window CSV (`query --agg`).
pub const WINDOW_CSV_HEADER: [&str; 4] = ["series", "start", "count", "value"];

/// A window's value as shown: floats in Rust's shortest exact form, empty when it has none.
fn window_value(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes the windows of every series of an aggregate answer in `format`, one row per
/// window: an aligned table (series, start, count, value), CSV under [`WINDOW_CSV_HEADER`]
/// (start as exact UTC RFC 3339), or JSON lines
/// `{"series":..,"start":ns,"time":"RFC 3339","count":n,"value":..}`. A window without a
/// value shows an empty value (`null` in JSON); NaN and infinities are strings in JSON.
pub fn windows_as(
    out: &mut impl Write,
    format: Format,
    answer: &[SeriesWindows],
) -> io::Result<()> {
    let rows = answer.iter().flat_map(|s| {
        let name = series(Some(&s.series));
        s.windows.iter().map(move |w| (name.clone(), w))
    });
    match format {
        Format::Table => {
            let rows: Vec<[String; 4]> = rows
                .map(|(name, w)| {
                    [
                        name,
                        time::format(w.start_ns),
                        w.count.to_string(),
                        window_value(w.value),
                    ]
                })
                .collect();
            let width = |c: usize, title: &str| {
                rows.iter()
                    .map(|r| r[c].len())
                    .chain([title.len()])
                    .max()
                    .unwrap_or(0)
            };
            let (ws, wc, wv) = (width(0, "series"), width(2, "count"), width(3, "value"));
            writeln!(
                out,
                "{:<ws$}  {:<30}  {:>wc$}  {:>wv$}",
                "series", "start", "count", "value"
            )?;
            for [name, start, count, value] in rows {
                writeln!(out, "{name:<ws$}  {start:<30}  {count:>wc$}  {value:>wv$}")?;
            }
            Ok(())
        }
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(&mut *out);
            csv.write_record(WINDOW_CSV_HEADER).map_err(csv_io)?;
            for (name, w) in rows {
                let start = time::format(w.start_ns);
                let record = [name, start, w.count.to_string(), window_value(w.value)];
                csv.write_record(&record).map_err(csv_io)?;
            }
            csv.flush()
        }
        Format::Json => {
            /// One row, fields in this order.
            #[derive(serde::Serialize)]
            struct Row {
                series: String,
                start: i64,
                time: String,
                count: u64,
                value: serde_json::Value,
            }
            for (series, w) in rows {
                let value = match w.value {
                    Some(v) if v.is_finite() => serde_json::json!(v),
                    Some(v) => serde_json::json!(v.to_string()),
                    None => serde_json::Value::Null,
                };
                let row = Row {
                    series,
                    start: w.start_ns,
                    time: time::format(w.start_ns),
                    count: w.count,
                    value,
                };
                serde_json::to_writer(&mut *out, &row)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
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

    #[test]
    fn typed_values_keep_their_type_in_text() {
        use pb::point::Value;
        assert_eq!(typed_value(Some(&Value::F64(42.0))), "42");
        assert_eq!(typed_value(Some(&Value::F64(-0.0))), "-0");
        assert_eq!(
            typed_value(Some(&Value::F64(0.1 + 0.2))),
            "0.30000000000000004"
        );
        assert_eq!(typed_value(Some(&Value::I64(-7))), "-7i");
        assert_eq!(typed_value(Some(&Value::Bool(true))), "true");
    }

    #[test]
    fn csv_rows_quote_the_series_and_carry_every_column() {
        let mut out = Vec::new();
        let pts = [
            pb::Point::with_quality(1, 2.5, 0x4000_0000),
            pb::Point::new(-1, 3i64),
        ];
        points_as(&mut out, Format::Csv, r#"t{site="p1",line="l 4"}"#, &pts).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "series,timestamp,value,quality",
                r#""t{site=""p1"",line=""l 4""}",1970-01-01T00:00:00.000000001Z,2.5,1073741824"#,
                r#""t{site=""p1"",line=""l 4""}",1969-12-31T23:59:59.999999999Z,3i,0"#,
            ]
        );
    }

    #[test]
    fn json_rows_are_one_object_per_line_with_non_finite_floats_as_strings() {
        let mut out = Vec::new();
        let pts = [
            pb::Point::new(5, f64::NAN),
            pb::Point::new(6, 1.0),
            pb::Point::new(7, i64::MAX),
            pb::Point::new(8, false),
        ];
        points_as(&mut out, Format::Json, "t", &pts).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0]["value"], "NaN");
        assert_eq!(rows[0]["series"], "t");
        assert_eq!(rows[0]["ts"], 5);
        assert_eq!(rows[0]["time"], "1970-01-01T00:00:00.000000005Z");
        assert!(
            text.lines().nth(1).unwrap().contains(r#""value":1.0"#),
            "{text}"
        );
        assert_eq!(rows[2]["value"].as_i64(), Some(i64::MAX));
        assert_eq!(rows[3]["value"], false);
    }

    fn answer() -> Vec<SeriesWindows> {
        let w = |start_ns, count, value| pb::Window {
            start_ns,
            count,
            value,
        };
        vec![
            SeriesWindows {
                series: pb::SeriesKey::new("t", [("site", "p1")]),
                windows: vec![w(0, 2, Some(21.5)), w(60_000_000_000, 0, None)],
            },
            SeriesWindows {
                series: pb::SeriesKey::new("flow", []),
                windows: vec![w(0, 1, Some(f64::INFINITY))],
            },
        ]
    }

    #[test]
    fn window_tables_align_and_leave_missing_values_empty() {
        let mut out = Vec::new();
        windows_as(&mut out, Format::Table, &answer()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "series        start                           count  value",
                r#"t{site="p1"}  1970-01-01T00:00:00.000000000Z      2   21.5"#,
                r#"t{site="p1"}  1970-01-01T00:01:00.000000000Z      0       "#,
                "flow          1970-01-01T00:00:00.000000000Z      1    inf",
            ]
        );
    }

    #[test]
    fn window_csv_and_json_carry_series_start_count_and_value() {
        let mut out = Vec::new();
        windows_as(&mut out, Format::Csv, &answer()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "series,start,count,value",
                r#""t{site=""p1""}",1970-01-01T00:00:00.000000000Z,2,21.5"#,
                r#""t{site=""p1""}",1970-01-01T00:01:00.000000000Z,0,"#,
                "flow,1970-01-01T00:00:00.000000000Z,1,inf",
            ]
        );
        let mut out = Vec::new();
        windows_as(&mut out, Format::Json, &answer()).unwrap();
        let rows: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            rows[0],
            serde_json::json!({"series": "t{site=\"p1\"}", "start": 0,
                "time": "1970-01-01T00:00:00.000000000Z", "count": 2, "value": 21.5})
        );
        assert_eq!(rows[1]["value"], serde_json::Value::Null);
        assert_eq!(rows[1]["count"], 0);
        assert_eq!(rows[2]["value"], "inf");
    }
}
