//! `lodestone import FILE...`: stream InfluxDB line-protocol (`.lp`) or CSV (`.csv`) files
//! into a server through the batching writer, with a progress bar.
//!
//! Files are read line by line, never whole, so their size is not bounded by memory; the
//! writer bounds what is in flight. Line protocol is parsed by the server's own parser
//! ([`crate::influx::line_protocol`]), so a file imports exactly as `POST /write` would take
//! it. CSV has the header `series,timestamp,value[,quality]`: the series as
//! `name{k="v",...}`, the time as nanoseconds or UTC RFC 3339, the value typed as in line
//! protocol (`21.5`, `42i`, `true`), the quality decimal or `0x` hex — what `lodestone
//! export --format csv` and `lodestone query --format csv` write.
//!
//! A malformed line stops the import with its file and line number, or with
//! `--skip-errors` is counted and skipped.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lodestone_client::{Writer, WriterOptions};
use lodestone_proto::v1 as pb;

use super::table::CSV_HEADER;
use super::write::{parse_quality, parse_value};
use super::{time, CliError, ServerAddr};
use crate::grpc::convert::{key_to_proto, point_to_proto};
use crate::influx::line_protocol::{parse_line, Precision};
use crate::series_text;

/// Skipped lines reported one by one with `--skip-errors`; the rest are only counted.
const SHOWN_SKIPS: u64 = 10;

/// Lines between two looks at whether the server refused a batch.
const CHECK_EVERY: u32 = 4096;

/// Series texts of a CSV file kept parsed; past this many the cache starts over.
const SERIES_CACHE: usize = 100_000;

/// Flags of `lodestone import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// Files to import: InfluxDB line protocol (.lp) or CSV (.csv, header
    /// series,timestamp,value[,quality]).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Format of every file, instead of telling it from the extension.
    #[arg(long, value_enum)]
    format: Option<ImportFormat>,
    /// Unit of line-protocol timestamps: ns, us, ms, s, m or h.
    #[arg(long, default_value = "ns", value_parser = parse_precision)]
    precision: Precision,
    /// Count and skip malformed lines (and batches the server refuses) instead of stopping.
    #[arg(long)]
    skip_errors: bool,
    /// Points per write batch.
    #[arg(long, default_value_t = 10_000)]
    batch_points: usize,
}

/// File formats `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// InfluxDB line protocol.
    Lp,
    /// CSV with the header series,timestamp,value[,quality].
    Csv,
}

fn parse_precision(s: &str) -> Result<Precision, String> {
    Precision::parse(s).ok_or_else(|| format!("precision {s:?}: use ns, us, ms, s, m or h"))
}

/// Imports every file, then prints `imported N points in S s (R points/s)`.
pub fn run(args: ImportArgs) -> Result<(), CliError> {
    let mut total_bytes = 0;
    let mut files = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let format = format_of(path, args.format)?;
        let file = File::open(path).map_err(|e| file_error(path, e))?;
        total_bytes += file.metadata().map(|m| m.len()).unwrap_or(0);
        files.push((path.as_path(), format, file));
    }
    let progress = progress_bar(total_bytes);
    // The file is read and parsed on this thread (block_on's); the writer's tasks run on
    // the workers, so sending overlaps parsing.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let started = Instant::now();
    let outcome = runtime.block_on(async {
        let client = args.server.connect().await?;
        let writer = client.writer(WriterOptions {
            batch_points: args.batch_points,
            max_buffered_points: args.batch_points.saturating_mul(20),
            ..WriterOptions::default()
        })?;
        let mut ctx = Importer {
            writer,
            progress: Progress::new(&progress),
            skip_errors: args.skip_errors,
            precision: args.precision,
            skipped: 0,
            since_check: 0,
        };
        for (path, format, file) in files {
            match format {
                ImportFormat::Lp => ctx.line_protocol(path, file).await?,
                ImportFormat::Csv => ctx.csv(path, file).await?,
            }
        }
        ctx.progress.flush();
        match ctx.writer.close().await {
            Err(lodestone_client::Error::Rejected { .. }) if ctx.skip_errors => {}
            other => other?,
        }
        Ok::<_, CliError>((ctx.writer.stats(), ctx.skipped))
    });
    progress.finish_and_clear();
    let (stats, skipped) = outcome?;
    let secs = started.elapsed().as_secs_f64();
    if skipped > 0 {
        eprintln!("skipped {skipped} malformed lines");
    }
    if stats.rejected_points > 0 {
        eprintln!(
            "the server refused {} points in {} batches (see the first reason above)",
            stats.rejected_points, stats.rejected_batches
        );
    }
    println!(
        "imported {} points in {secs:.2} s ({:.0} points/s)",
        stats.acked_points,
        stats.acked_points as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// The format of `path`: forced, or from its extension.
fn format_of(path: &Path, forced: Option<ImportFormat>) -> Result<ImportFormat, CliError> {
    if let Some(f) = forced {
        return Ok(f);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("lp" | "line") => Ok(ImportFormat::Lp),
        Some("csv") => Ok(ImportFormat::Csv),
        _ => Err(CliError::ImportFile {
            file: path.to_path_buf(),
            reason: "cannot tell the format from the extension; name it .lp or .csv, or \
                     pass --format lp|csv"
                .into(),
        }),
    }
}

fn file_error(path: &Path, e: std::io::Error) -> CliError {
    CliError::ImportFile {
        file: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// A bar of bytes read, on stderr, only when stderr is a terminal.
fn progress_bar(total_bytes: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)")
    {
        bar.set_style(style);
    }
    bar
}

/// Bytes read, passed to the bar in steps so that a line costs no more than an addition.
struct Progress<'a> {
    bar: &'a ProgressBar,
    pending: u64,
}

impl<'a> Progress<'a> {
    const STEP: u64 = 256 << 10;

    fn new(bar: &'a ProgressBar) -> Progress<'a> {
        Progress { bar, pending: 0 }
    }

    fn advance(&mut self, bytes: u64) {
        self.pending += bytes;
        if self.pending >= Self::STEP {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.bar.inc(std::mem::take(&mut self.pending));
    }
}

/// The state of one import run.
struct Importer<'a> {
    writer: Writer,
    progress: Progress<'a>,
    skip_errors: bool,
    precision: Precision,
    skipped: u64,
    since_check: u32,
}

impl Importer<'_> {
    async fn line_protocol(&mut self, path: &Path, file: File) -> Result<(), CliError> {
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut buf = Vec::with_capacity(256);
        let now = time::now();
        let mut line_no = 0u64;
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| file_error(path, e))?;
            if n == 0 {
                return Ok(());
            }
            line_no += 1;
            self.progress.advance(n as u64);
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if is_blank(line) {
                continue;
            }
            match parse_line(line, self.precision, now) {
                Ok(parsed) => {
                    for (key, point) in &parsed.points {
                        self.writer
                            .push(&key_to_proto(key), point_to_proto(point))
                            .await?;
                    }
                }
                Err(e) => self.bad_line(path, line_no, e.to_string())?,
            }
            self.check_refusals(path, line_no).await?;
        }
    }

    async fn csv(&mut self, path: &Path, file: File) -> Result<(), CliError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let mut record = csv::ByteRecord::new();
        let mut keys: HashMap<Vec<u8>, pb::SeriesKey> = HashMap::new();
        let mut read = 0u64;
        let mut columns = None;
        loop {
            let more = match reader.read_byte_record(&mut record) {
                Ok(more) => more,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    match e.into_kind() {
                        csv::ErrorKind::Io(io) => return Err(file_error(path, io)),
                        other => {
                            self.bad_line(path, line, format!("{other:?}"))?;
                            continue;
                        }
                    }
                }
            };
            if !more {
                return Ok(());
            }
            let byte = reader.position().byte();
            self.progress.advance(byte.saturating_sub(read));
            read = byte;
            let line = record.position().map_or(0, |p| p.line());
            let Some(width) = columns else {
                columns = Some(csv_header(&record).map_err(|reason| CliError::Import {
                    file: path.to_path_buf(),
                    line,
                    reason,
                })?);
                continue;
            };
            match csv_point(&record, width, &mut keys) {
                Ok((key, point)) => self.writer.push(&key, point).await?,
                Err(reason) => self.bad_line(path, line, reason)?,
            }
            self.check_refusals(path, line).await?;
        }
    }

    /// Stops at a malformed line, or counts it with `--skip-errors`.
    fn bad_line(&mut self, path: &Path, line: u64, reason: String) -> Result<(), CliError> {
        let error = CliError::Import {
            file: path.to_path_buf(),
            line,
            reason,
        };
        if !self.skip_errors {
            return Err(error);
        }
        self.skipped += 1;
        if self.skipped <= SHOWN_SKIPS {
            self.progress.bar.suspend(|| eprintln!("skipped {error}"));
        }
        Ok(())
    }

    /// Every [`CHECK_EVERY`] lines: if the server refused a batch, stop (unless skipping).
    async fn check_refusals(&mut self, path: &Path, line: u64) -> Result<(), CliError> {
        self.since_check += 1;
        if self.since_check < CHECK_EVERY {
            return Ok(());
        }
        self.since_check = 0;
        if self.skip_errors || self.writer.stats().rejected_batches == 0 {
            return Ok(());
        }
        match self.writer.flush().await {
            Err(e @ lodestone_client::Error::Rejected { .. }) => Err(CliError::Import {
                file: path.to_path_buf(),
                line,
                reason: format!("the server refused points read before this line: {e}"),
            }),
            other => Ok(other?),
        }
    }
}

/// True for lines that hold nothing: blank, or a `#` comment.
fn is_blank(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.is_empty() || t[0] == b'#'
}

/// Checks the header; returns the number of columns (3, or 4 with quality).
fn csv_header(record: &csv::ByteRecord) -> Result<usize, String> {
    let names: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_ascii_lowercase())
        .collect();
    let fits = (names.len() == 3 || names.len() == 4)
        && names.iter().zip(CSV_HEADER).all(|(n, want)| n == want);
    if fits {
        Ok(names.len())
    } else {
        Err(format!(
            "expected the header series,timestamp,value[,quality], found {:?}",
            names.join(",")
        ))
    }
}

/// One CSV row as a series key and a point.
fn csv_point(
    record: &csv::ByteRecord,
    width: usize,
    keys: &mut HashMap<Vec<u8>, pb::SeriesKey>,
) -> Result<(pb::SeriesKey, pb::Point), String> {
    if record.len() != width {
        return Err(format!(
            "expected {width} fields like the header, found {}",
            record.len()
        ));
    }
    let text = |i: usize| -> Result<&str, String> {
        let raw = record.get(i).unwrap_or_default();
        std::str::from_utf8(raw)
            .map(str::trim)
            .map_err(|_| format!("field {} ({}) is not UTF-8", i + 1, CSV_HEADER[i]))
    };
    let series_raw = record.get(0).unwrap_or_default();
    let key = match keys.get(series_raw) {
        Some(k) => k.clone(),
        None => {
            let k = key_to_proto(&series_text::parse(text(0)?).map_err(|e| e.to_string())?);
            if keys.len() >= SERIES_CACHE {
                keys.clear();
            }
            keys.insert(series_raw.to_vec(), k.clone());
            k
        }
    };
    let ts = time::parse(text(1)?)?;
    let value = parse_value(text(2)?)?;
    let quality = match width {
        4 if !text(3)?.is_empty() => parse_quality(text(3)?)?,
        _ => 0,
    };
    Ok((key, pb::Point::with_quality(ts, value, quality)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> csv::ByteRecord {
        csv::ByteRecord::from(fields.to_vec())
    }

    #[test]
    fn the_format_comes_from_the_extension_unless_forced() {
        assert_eq!(
            format_of(Path::new("a.lp"), None).unwrap(),
            ImportFormat::Lp
        );
        assert_eq!(
            format_of(Path::new("a.CSV"), None).unwrap(),
            ImportFormat::Csv
        );
        let forced = format_of(Path::new("a.txt"), Some(ImportFormat::Csv)).unwrap();
        assert_eq!(forced, ImportFormat::Csv);
        let e = format_of(Path::new("data.txt"), None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("data.txt: cannot tell the format"), "{e}");
    }

    #[test]
    fn a_csv_header_names_three_or_four_columns() {
        assert_eq!(
            csv_header(&record(&["series", "timestamp", "value"])),
            Ok(3)
        );
        assert_eq!(
            csv_header(&record(&["Series", " timestamp", "value", "quality"])),
            Ok(4)
        );
        let e = csv_header(&record(&["time", "value"])).unwrap_err();
        assert!(e.contains("series,timestamp,value[,quality]"), "{e}");
    }

    #[test]
    fn csv_rows_become_typed_points_of_parsed_series() {
        let mut keys = HashMap::new();
        let (k, p) = csv_point(
            &record(&[
                r#"t{site="p1"}"#,
                "2026-01-01T00:00:00Z",
                "42i",
                "0x40000000",
            ]),
            4,
            &mut keys,
        )
        .unwrap();
        assert_eq!(k, pb::SeriesKey::new("t", [("site", "p1")]));
        assert_eq!(
            p,
            pb::Point::with_quality(1_767_225_600_000_000_000, 42i64, 1 << 30)
        );
        let (_, p) = csv_point(&record(&["t", "-5", "-0", ""]), 4, &mut keys).unwrap();
        assert_eq!(p.ts_ns, -5);
        assert!(
            matches!(p.value, Some(pb::point::Value::F64(v)) if v.to_bits() == (-0.0f64).to_bits())
        );
        let (_, p) = csv_point(&record(&["t", "7", "true"]), 3, &mut keys).unwrap();
        assert_eq!(p.value, Some(pb::point::Value::Bool(true)));
        assert_eq!(keys.len(), 2, "each series text parsed once");
    }

    #[test]
    fn bad_csv_rows_say_what_is_wrong() {
        let mut keys = HashMap::new();
        let cases: [(&[&str], &str); 5] = [
            (&["t", "1"], "expected 3 fields"),
            (&["t{site=p1}", "1", "2"], "expected '\"'"),
            (&["t", "yesterday", "2"], "UTC RFC 3339"),
            (&["t", "1", "warm"], "is not a value"),
            (&["t", "1", "1.5i"], "integer"),
        ];
        for (fields, want) in cases {
            let e = csv_point(&record(fields), 3, &mut keys).unwrap_err();
            assert!(e.contains(want), "{fields:?}: {e}");
        }
    }

    #[test]
    fn blank_lines_and_comments_hold_nothing() {
        assert!(is_blank(b""));
        assert!(is_blank(b"   \t"));
        assert!(is_blank(b"# a comment"));
        assert!(!is_blank(b"t value=1 1"));
    }
}
