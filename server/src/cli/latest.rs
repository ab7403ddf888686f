//! `lodestone latest`: the newest point of a series.

use std::io::Write;

use super::table::{self, Format};
use super::{block_on, CliError, ServerAddr};
use crate::grpc::convert::key_to_proto;
use crate::series_text;

/// Flags of `lodestone latest`.
#[derive(Debug, clap::Args)]
pub struct LatestArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// The series, e.g. 'temperature{site="p1"}'.
    #[arg(long)]
    series: String,
    /// Output format: an aligned table, CSV (series,timestamp,value,quality), or JSON lines.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Prints the point.
pub fn run(args: LatestArgs) -> Result<(), CliError> {
    let key = series_text::parse(&args.series)?;
    let point = block_on(async {
        let client = args.server.connect().await?;
        Ok(client.latest(key_to_proto(&key)).await?)
    })?;
    let mut out = std::io::stdout().lock();
    table::points_as(&mut out, args.format, &key.to_string(), point.as_slice())?;
    out.flush()?;
    Ok(())
}
