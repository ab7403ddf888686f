//! `lodestone series`: the series a server knows (every one, or those a selector matches)
//! with value type and newest point, in key order, as a table, CSV or JSON lines.
//!
//! A plant may hold a million series, so the listing is read page by page through the
//! client and each page is printed before the next is asked for: memory stays at one page
//! whatever the plant's size. The table's columns are as wide as the widest entry seen so
//! far, so a page with a longer key than the pages before widens the columns from there on.

use std::io::{self, BufWriter, Write};

use lodestone_proto::v1 as pb;

use super::table::{self, Format};
use super::{block_on, time, CliError, ServerAddr};
use crate::grpc::convert::selector_to_proto;
use crate::grpc::LIST_SERIES_MAX;
use crate::series_text;

/// Flags of `lodestone series`.
#[derive(Debug, clap::Args)]
pub struct SeriesArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// Only the series this selector matches, e.g. 'temp*{site="p1",asset=~"a00.*"}'
    /// (operators = != =~ !~; the name may be a glob, or empty for any name, or given as
    /// __name__=~"regex"). Default: every series.
    #[arg(long)]
    select: Option<String>,
    /// Print at most this many series (0: all of them).
    #[arg(long, default_value_t = 0)]
    limit: u64,
    /// Series asked of the server per page (1 to 100000).
    #[arg(long, default_value_t = 10_000, value_parser = page_size)]
    page_size: u32,
    /// Output format: an aligned table (series, type, time, value, quality of the newest
    /// point), CSV (series,type,timestamp,value,quality; the last three empty for a series
    /// without points), or JSON lines ({"series","type","latest":{"ts","time","value",
    /// "quality"} or null}).
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// A page size within what the server answers.
fn page_size(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=LIST_SERIES_MAX as u64).contains(&u64::from(n)) => Ok(n),
        _ => Err(format!(
            "page size {s:?} is not a whole number from 1 to {LIST_SERIES_MAX}"
        )),
    }
}

/// Prints the series.
pub fn run(args: SeriesArgs) -> Result<(), CliError> {
    let selector = match &args.select {
        Some(text) => Some(selector_to_proto(&series_text::parse_selector(text)?)),
        None => None,
    };
    // No point asking for a page larger than what will be printed.
    let page = match args.limit {
        0 => args.page_size,
        n => u32::try_from(n).unwrap_or(u32::MAX).min(args.page_size),
    };
    let mut out = Rows::new(args.format, BufWriter::new(io::stdout().lock()))?;
    let printed = block_on(async {
        let client = args.server.connect().await?;
        let mut pages = client.list_series_pages(selector, page);
        let mut printed = 0u64;
        while let Some(series) = pages.next_page().await? {
            let room = match args.limit {
                0 => series.len(),
                n => usize::try_from(n - printed).unwrap_or(usize::MAX),
            };
            let series = &series[..series.len().min(room)];
            out.page(series)?;
            printed += series.len() as u64;
            if args.limit > 0 && printed >= args.limit {
                break;
            }
        }
        Ok::<_, CliError>(printed)
    })?;
    out.finish()?;
    eprintln!("{printed} series");
    Ok(())
}

/// One listed series as printed: its key, type, and newest point's time, value and quality
/// (empty without a point).
struct Row {
    series: String,
    value_type: &'static str,
    latest: Option<pb::Point>,
}

impl Row {
    fn new(info: &pb::SeriesInfo) -> Row {
        Row {
            series: table::series(info.series.as_ref()),
            value_type: table::value_type(info.value_type),
            latest: info.latest,
        }
    }

    fn value(&self) -> String {
        self.latest
            .as_ref()
            .map(|p| table::value(p.value.as_ref()))
            .unwrap_or_default()
    }
}

/// The output in one of the formats, written page by page.
enum Rows<W: Write> {
    /// Aligned columns; widths only grow.
    Table {
        out: W,
        series_width: usize,
        value_width: usize,
        header_written: bool,
    },
    /// Boxed: the writer holds its buffers inline.
    Csv(Box<csv::Writer<W>>),
    Json(W),
}

/// The CSV header.
const CSV_HEADER: [&str; 5] = ["series", "type", "timestamp", "value", "quality"];

impl<W: Write> Rows<W> {
    fn new(format: Format, out: W) -> io::Result<Rows<W>> {
        Ok(match format {
            Format::Table => Rows::Table {
                out,
                series_width: "series".len(),
                value_width: "value".len(),
                header_written: false,
            },
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(CSV_HEADER).map_err(table::csv_io)?;
                Rows::Csv(Box::new(csv))
            }
            Format::Json => Rows::Json(out),
        })
    }

    /// Writes one page of series.
    fn page(&mut self, page: &[pb::SeriesInfo]) -> io::Result<()> {
        let rows: Vec<Row> = page.iter().map(Row::new).collect();
        match self {
            Rows::Table {
                out,
                series_width,
                value_width,
                header_written,
            } => {
                let values: Vec<String> = rows.iter().map(Row::value).collect();
                for (r, v) in rows.iter().zip(&values) {
                    *series_width = (*series_width).max(r.series.len());
                    *value_width = (*value_width).max(v.len());
                }
                let (ws, wv) = (*series_width, *value_width);
                if !*header_written {
                    writeln!(
                        out,
                        "{:<ws$}  type  {:<30}  {:>wv$}  quality",
                        "series", "time", "value"
                    )?;
                    *header_written = true;
                }
                for (r, v) in rows.iter().zip(&values) {
                    let (t, q) = match &r.latest {
                        Some(p) => (time::format(p.ts_ns), table::quality(p.quality)),
                        None => ("-".to_string(), "-".to_string()),
                    };
                    let v = if r.latest.is_some() { v.as_str() } else { "-" };
                    let vt = r.value_type;
                    writeln!(out, "{:<ws$}  {vt:<4}  {t:<30}  {v:>wv$}  {q}", r.series)?;
                }
                Ok(())
            }
            Rows::Csv(csv) => {
                for r in &rows {
                    let (t, v, q) = match &r.latest {
                        Some(p) => (time::format(p.ts_ns), r.value(), p.quality.to_string()),
                        None => Default::default(),
                    };
                    csv.write_record([r.series.as_str(), r.value_type, &t, &v, &q])
                        .map_err(table::csv_io)?;
                }
                Ok(())
            }
            Rows::Json(out) => rows.iter().try_for_each(|r| json_row(out, r)),
        }
    }

    /// Writes out what is buffered.
    fn finish(self) -> io::Result<()> {
        match self {
            Rows::Table { mut out, .. } | Rows::Json(mut out) => out.flush(),
            Rows::Csv(mut csv) => csv.flush(),
        }
    }
}

/// `{"series":..,"type":..,"latest":{"ts":ns,"time":"RFC 3339","value":..,"quality":n}}`,
/// `latest` null for a series without points; values as in `query --format json`.
fn json_row(out: &mut impl Write, r: &Row) -> io::Result<()> {
    let latest = match &r.latest {
        Some(p) => serde_json::json!({
            "ts": p.ts_ns,
            "time": time::format(p.ts_ns),
            "value": table::json_value(p.value.as_ref()),
            "quality": p.quality,
        }),
        None => serde_json::Value::Null,
    };
    let row = serde_json::json!({
        "series": r.series,
        "type": r.value_type,
        "latest": latest,
    });
    serde_json::to_writer(&mut *out, &row)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Vec<pb::SeriesInfo> {
        vec![
            pb::SeriesInfo {
                series: Some(pb::SeriesKey::new("flow", [])),
                value_type: pb::ValueType::F64 as i32,
                latest: Some(pb::Point::with_quality(1, 2.5, 0x4000_0000)),
            },
            pb::SeriesInfo {
                series: Some(pb::SeriesKey::new("temperature", [("site", "p1")])),
                value_type: pb::ValueType::I64 as i32,
                latest: None,
            },
        ]
    }

    fn written(format: Format, pages: &[Vec<pb::SeriesInfo>]) -> String {
        let mut buf = Vec::new();
        let mut rows = Rows::new(format, &mut buf).unwrap();
        for p in pages {
            rows.page(p).unwrap();
        }
        rows.finish().unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn a_table_has_one_header_and_aligned_rows_across_pages() {
        let p = page();
        let text = written(Format::Table, &[p[..1].to_vec(), p[1..].to_vec()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "series  type  time                            value  quality",
                "flow    f64   1970-01-01T00:00:00.000000001Z    2.5  uncertain (0x40000000)",
                r#"temperature{site="p1"}  i64   -                                   -  -"#,
            ]
        );
    }

    #[test]
    fn csv_and_json_carry_type_and_latest_point_or_nothing() {
        let text = written(Format::Csv, &[page()]);
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "series,type,timestamp,value,quality",
                "flow,f64,1970-01-01T00:00:00.000000001Z,2.5,1073741824",
                r#""temperature{site=""p1""}",i64,,,"#,
            ]
        );
        let text = written(Format::Json, &[page()]);
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            rows[0],
            serde_json::json!({"series": "flow", "type": "f64", "latest": {"ts": 1,
                "time": "1970-01-01T00:00:00.000000001Z", "value": 2.5, "quality": 1073741824u32}})
        );
        assert_eq!(
            rows[1],
            serde_json::json!({"series": "temperature{site=\"p1\"}", "type": "i64", "latest": null})
        );
    }

    #[test]
    fn page_sizes_stay_within_what_the_server_answers() {
        assert_eq!(page_size("1"), Ok(1));
        assert_eq!(page_size("100000"), Ok(100_000));
        assert!(page_size("0").is_err());
        assert!(page_size("100001").is_err());
        assert!(page_size("ten").is_err());
    }
}
