//! `lodestone query`: the points of one series in `[start, end)`, as a table, CSV or JSON
//! lines; with `--agg`, one aggregate per window instead (`query_agg.rs`), of one series or
//! of every series `--select` matches.

use std::io::Write;

use lodestone_proto::v1 as pb;

use super::query_agg::{self, AggArgs};
use super::table::{self, Format};
use super::{block_on, time, CliError, ServerAddr};
use crate::grpc::convert::{key_to_proto, selector_to_proto};
use crate::series_text;

/// Flags of `lodestone query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// The series, e.g. 'temperature{site="p1"}'.
    #[arg(long, required_unless_present = "select", conflicts_with = "select")]
    series: Option<String>,
    /// With --agg, every series this selector matches, e.g.
    /// 'temp*{site="p1",asset=~"a00[0-3]",line!="l2"}' (operators = != =~ !~; the name may
    /// be a glob, or empty for any name, or given as __name__=~"regex").
    #[arg(long, requires = "agg")]
    select: Option<String>,
    /// Inclusive start: nanoseconds, `now`, or UTC RFC 3339; default the beginning of time
    /// (required with --agg).
    #[arg(long, value_parser = time::parse, allow_hyphen_values = true)]
    start: Option<i64>,
    /// Exclusive end: nanoseconds, `now`, or UTC RFC 3339; default the end of time (now
    /// with --agg).
    #[arg(long, value_parser = time::parse, allow_hyphen_values = true)]
    end: Option<i64>,
    #[command(flatten)]
    agg: AggArgs,
    /// Output format: an aligned table, CSV (series,timestamp,value,quality; `lodestone
    /// import` reads it back; with --agg series,start,count,value), or JSON lines.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Prints the points, or the windows with `--agg`.
pub fn run(args: QueryArgs) -> Result<(), CliError> {
    // clap insists on --series unless --select is given; an empty text is refused by the
    // parser, naming it, should that ever not hold.
    let series_text = args.series.as_deref().unwrap_or_default();
    if args.agg.agg.is_some() {
        use pb::aggregate_request::Selection;
        let selection = match &args.select {
            Some(text) => {
                Selection::Selector(selector_to_proto(&series_text::parse_selector(text)?))
            }
            None => Selection::Series(key_to_proto(&series_text::parse(series_text)?)),
        };
        let start = args.start.unwrap_or(i64::MIN);
        let end = args.end.unwrap_or_else(time::now);
        if let Some(req) = args.agg.request(selection, start, end) {
            return query_agg::run(&args.server, req, args.format);
        }
    }
    let key = series_text::parse(series_text)?;
    let (start, end) = (args.start.unwrap_or(i64::MIN), args.end.unwrap_or(i64::MAX));
    let points = block_on(async {
        let client = args.server.connect().await?;
        Ok(client.query(key_to_proto(&key), start, end).await?)
    })?;
    let mut out = std::io::stdout().lock();
    table::points_as(&mut out, args.format, &key.to_string(), &points)?;
    out.flush()?;
    eprintln!("{} points of {key}", points.len());
    Ok(())
}
