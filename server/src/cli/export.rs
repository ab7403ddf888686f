//! `lodestone export`: stream the points of some series (or all) in `[start, end)` as
//! InfluxDB line protocol, CSV or JSON lines, to stdout or a file, a page at a time.
//!
//! Line protocol writes what `lodestone import` and `POST /write` read back to the same
//! series and values, bit for bit: floats in Rust's shortest round-trip form, integers with
//! an `i` suffix, booleans as `true`/`false`, nanosecond timestamps. Two things it cannot
//! carry: quality codes (use CSV or JSON to keep them) and the payload bits of a NaN; the
//! command counts the points concerned and says so. A series whose name or labels line
//! protocol cannot express (a line break, an empty label value, a backslash right before a
//! delimiter) is refused before anything is written.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use lodestone_proto::v1 as pb;

use super::table::{self, CsvPoints};
use super::{block_on, time, CliError, ServerAddr};
use crate::grpc::convert::key_to_proto;
use crate::series_text;

/// Flags of `lodestone export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// A series to export, e.g. 'temperature{site="p1"}'; repeat for more. Every series
    /// when omitted.
    #[arg(long)]
    series: Vec<String>,
    /// Inclusive start: nanoseconds, `now`, or UTC RFC 3339; default the beginning of time.
    #[arg(long, value_parser = time::parse, allow_hyphen_values = true)]
    start: Option<i64>,
    /// Exclusive end: nanoseconds, `now`, or UTC RFC 3339; default the end of time.
    #[arg(long, value_parser = time::parse, allow_hyphen_values = true)]
    end: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Lp)]
    format: ExportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// InfluxDB line protocol (`lodestone import` reads it back).
    Lp,
    /// series,timestamp,value,quality with a header (`lodestone import` reads it back).
    Csv,
    /// One JSON object per line.
    Json,
}

/// Exports the points; prints what was written to stderr.
pub fn run(args: ExportArgs) -> Result<(), CliError> {
    let chosen = args
        .series
        .iter()
        .map(|s| series_text::parse(s).map(|k| key_to_proto(&k)))
        .collect::<Result<Vec<_>, _>>()?;
    let (start, end) = (args.start.unwrap_or(i64::MIN), args.end.unwrap_or(i64::MAX));
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path).map_err(|e| CliError::ExportFile {
            file: path.clone(),
            source: e,
        })?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = Rows::new(args.format, BufWriter::with_capacity(1 << 20, sink))?;
    let tally = block_on(async {
        let client = args.server.connect().await?;
        let keys = if chosen.is_empty() {
            let listed = client.list_series().await?;
            listed.into_iter().filter_map(|info| info.series).collect()
        } else {
            chosen
        };
        // Refuse a series line protocol cannot hold before writing anything.
        let labels = keys
            .iter()
            .map(|k| out.label(k))
            .collect::<Result<Vec<_>, _>>()?;
        let mut points = 0u64;
        for (key, label) in keys.iter().zip(&labels) {
            let mut pages = client.query_pages(key.clone(), start, end).await?;
            while let Some(page) = pages.next_page().await? {
                for p in &page {
                    out.row(label, p)?;
                }
                points += page.len() as u64;
            }
        }
        Ok::<_, CliError>((points, keys.len()))
    });
    let finished = out.finish();
    let (points, series) = tally?;
    finished?;
    let to = match &args.output {
        Some(path) => format!(" to {}", path.display()),
        None => String::new(),
    };
    eprintln!("exported {points} points of {series} series{to}");
    if out_lossy_report(&out) {
        eprintln!(
            "line protocol cannot carry {} quality codes and {} NaN payloads; \
             export as csv or json to keep them",
            out.lossy_quality, out.lossy_nan
        );
    }
    Ok(())
}

fn out_lossy_report<W: Write>(out: &Rows<W>) -> bool {
    out.lossy_quality > 0 || out.lossy_nan > 0
}

/// Rows in one of the export formats.
struct Rows<W: Write> {
    sink: Sink<W>,
    /// Points written as line protocol whose quality was not plain good.
    lossy_quality: u64,
    /// Points written as line protocol whose NaN was not the canonical one.
    lossy_nan: u64,
}

enum Sink<W: Write> {
    Lp(W),
    Csv(Box<CsvPoints<W>>),
    Json(W),
}

impl<W: Write> Rows<W> {
    fn new(format: ExportFormat, out: W) -> io::Result<Rows<W>> {
        let sink = match format {
            ExportFormat::Lp => Sink::Lp(out),
            ExportFormat::Csv => Sink::Csv(Box::new(CsvPoints::new(out)?)),
            ExportFormat::Json => Sink::Json(out),
        };
        Ok(Rows {
            sink,
            lossy_quality: 0,
            lossy_nan: 0,
        })
    }

    /// How each row names `key`: `measurement,tags` for line protocol, else the series text.
    fn label(&self, key: &pb::SeriesKey) -> Result<String, CliError> {
        match self.sink {
            Sink::Lp(_) => lp_series(key).map_err(|reason| CliError::NotLineProtocol {
                series: table::series(Some(key)),
                reason,
            }),
            _ => Ok(table::series(Some(key))),
        }
    }

    fn row(&mut self, label: &str, p: &pb::Point) -> io::Result<()> {
        match &mut self.sink {
            Sink::Lp(out) => {
                if p.quality != 0 {
                    self.lossy_quality += 1;
                }
                if let Some(pb::point::Value::F64(v)) = p.value {
                    if v.is_nan() && v.to_bits() != f64::NAN.to_bits() {
                        self.lossy_nan += 1;
                    }
                }
                let value = table::typed_value(p.value.as_ref());
                writeln!(out, "{label} value={value} {}", p.ts_ns)
            }
            Sink::Csv(csv) => csv.row(label, p),
            Sink::Json(out) => table::json_row(out, label, p),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Lp(out) | Sink::Json(out) => out.flush(),
            Sink::Csv(csv) => csv.flush(),
        }
    }
}

/// `measurement[,label=value...]` with line protocol's escapes, or why it cannot be written.
fn lp_series(key: &pb::SeriesKey) -> Result<String, String> {
    if key.name.starts_with('#') {
        return Err("the name starts with '#', which line protocol reads as a comment".into());
    }
    let mut out = String::with_capacity(64);
    escape(&key.name, ", ", &mut out).map_err(|why| format!("the name {why}"))?;
    for l in &key.labels {
        if l.value.is_empty() {
            return Err(format!("label {} has an empty value", l.name));
        }
        out.push(',');
        escape(&l.name, ", =", &mut out).map_err(|why| format!("label {} {why}", l.name))?;
        out.push('=');
        escape(&l.value, ", =", &mut out)
            .map_err(|why| format!("the value of label {} {why}", l.name))?;
    }
    Ok(out)
}

/// Appends `text` with a `\` before each of `special`. The parser reads a `\` as escaping
/// whatever follows it, and drops it only before a special character: so a literal
/// backslash is written as is, except right before a special character or at the end, which
/// no escaping can express.
fn escape(text: &str, special: &str, out: &mut String) -> Result<(), &'static str> {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\r' => return Err("holds a line break"),
            '\\' if chars.peek().is_none_or(|n| special.contains(*n)) => {
                return Err("has a backslash before ',', '=', ' ' or at its end");
            }
            c if special.contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::convert::{key_from_proto, point_to_proto};
    use crate::influx::line_protocol::{parse_line, Precision};

    fn bits(p: &pb::Point) -> (i64, u64, u8) {
        match p.value {
            Some(pb::point::Value::F64(v)) => (p.ts_ns, v.to_bits(), 1),
            Some(pb::point::Value::I64(v)) => (p.ts_ns, v as u64, 2),
            Some(pb::point::Value::Bool(v)) => (p.ts_ns, v as u64, 3),
            None => (p.ts_ns, 0, 0),
        }
    }

    #[test]
    fn exported_lines_parse_back_to_the_same_series_and_bits() {
        let keys = [
            pb::SeriesKey::new("temperature", [("site", "p1"), ("asset", "a0003")]),
            pb::SeriesKey::new("odd name,x", [("a b", "c,d=e"), ("q", r#"say "hi""#)]),
            pb::SeriesKey::new("flow.max", [("path", r"C:\plc\1")]),
            pb::SeriesKey::new("ünï", []),
        ];
        let values = [
            pb::Point::new(1_767_225_600_000_000_000, 21.4),
            pb::Point::new(-1, -0.0),
            pb::Point::new(0, 0.1 + 0.2),
            pb::Point::new(5, f64::MIN_POSITIVE / 3.0),
            pb::Point::new(6, f64::MAX),
            pb::Point::new(7, f64::NEG_INFINITY),
            pb::Point::new(8, f64::NAN),
            pb::Point::new(i64::MAX, i64::MIN),
            // Not i64::MIN: the line-protocol parser does not accept that timestamp yet.
            pb::Point::new(i64::MIN + 1, true),
        ];
        for key in &keys {
            let mut rows = Rows::new(ExportFormat::Lp, Vec::new()).unwrap();
            let label = rows.label(key).unwrap();
            for p in &values {
                rows.row(&label, p).unwrap();
            }
            let Sink::Lp(text) = rows.sink else {
                unreachable!()
            };
            let text = String::from_utf8(text).unwrap();
            let want_key = key_from_proto(Some(key)).unwrap();
            for (line, want) in text.lines().zip(&values) {
                let parsed = parse_line(line.as_bytes(), Precision::Nanoseconds, 0)
                    .unwrap_or_else(|e| panic!("{line}: {e}"));
                assert_eq!(parsed.points.len(), 1, "{line}");
                let (k, p) = &parsed.points[0];
                assert_eq!(k, &want_key, "{line}");
                assert_eq!(bits(&point_to_proto(p)), bits(want), "{line}");
            }
        }
    }

    #[test]
    fn series_line_protocol_cannot_hold_are_refused_with_the_reason() {
        let cases = [
            (pb::SeriesKey::new("#t", []), "comment"),
            (pb::SeriesKey::new("t", [("a", "x\ny")]), "line break"),
            (pb::SeriesKey::new("t", [("a", r"x\")]), "backslash"),
            (pb::SeriesKey::new("t", [("a", r"x\,y")]), "backslash"),
            (pb::SeriesKey::new(r"t\ x", []), "backslash"),
            (pb::SeriesKey::new("t", [("a", "")]), "empty value"),
        ];
        for (key, why) in cases {
            let e = lp_series(&key).unwrap_err();
            assert!(e.contains(why), "{key:?}: {e}");
        }
    }

    #[test]
    fn line_protocol_counts_what_it_cannot_carry() {
        let mut rows = Rows::new(ExportFormat::Lp, Vec::new()).unwrap();
        let payload = f64::from_bits(0x7ff8_0000_dead_beef);
        rows.row("t", &pb::Point::with_quality(1, 1.0, 0x8000_0000))
            .unwrap();
        rows.row("t", &pb::Point::new(2, payload)).unwrap();
        rows.row("t", &pb::Point::new(3, f64::NAN)).unwrap();
        assert_eq!((rows.lossy_quality, rows.lossy_nan), (1, 1));
    }
}
