//! `lodestone query`: the points of one series in `[start, end)`, as a table, CSV or JSON
//! lines.

use std::io::Write;

use super::table::{self, Format};
use super::{block_on, time, CliError, ServerAddr};
use crate::grpc::convert::key_to_proto;
use crate::series_text;

/// Flags of `lodestone query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// The series, e.g. 'temperature{site="p1"}'.
    #[arg(long)]
    series: String,
    /// Inclusive start: nanoseconds, `now`, or UTC RFC 3339; default the beginning of time.
    #[arg(long, value_parser = time::parse, allow_hyphen_values = true)]
    start: Option<i64>,
    /// Exclusive end: nanoseconds, `now`, or UTC RFC 3339; default the end of time.
    #[arg(long, value_parser = time::parse, allow_hyphen_values = true)]
    end: Option<i64>,
    /// Output format: an aligned table, CSV (series,timestamp,value,quality; `lodestone
    /// import` reads it back), or JSON lines.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Prints the points.
pub fn run(args: QueryArgs) -> Result<(), CliError> {
    let key = series_text::parse(&args.series)?;
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
