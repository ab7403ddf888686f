//! `lodestone latest`: the newest point of a series.

use std::io::Write;

use super::{block_on, table, CliError, ServerAddr};
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
}

/// Prints the point.
pub fn run(args: LatestArgs) -> Result<(), CliError> {
    let key = series_text::parse(&args.series)?;
    let point = block_on(async {
        let client = args.server.connect().await?;
        Ok(client.latest(key_to_proto(&key)).await?)
    })?;
    let mut out = std::io::stdout().lock();
    table::points(&mut out, point.as_slice())?;
    out.flush()?;
    Ok(())
}
