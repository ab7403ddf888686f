//! `lodestone stats`: a server's statistics and series, or a closed data folder's.

use std::io::Write;
use std::path::PathBuf;

use lodestone_engine::{Engine, Options};

use super::{block_on, table, CliError, ServerAddr};
use crate::grpc::convert::{series_info_to_proto, stats_to_proto};

/// Flags of `lodestone stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// Read this data folder directly instead of asking a server (it must not be open).
    #[arg(long, conflicts_with = "addr")]
    data_dir: Option<PathBuf>,
}

/// Prints the statistics.
pub fn run(args: StatsArgs) -> Result<(), CliError> {
    let (source, stats, list) = match args.data_dir {
        Some(dir) => {
            // Read-only look: do not flush on close, leave the folder as it was.
            let opts = Options {
                flush_on_close: false,
                ..Options::default()
            };
            let engine = Engine::open(&dir, opts)?;
            let stats = stats_to_proto(&engine.stats());
            let list = engine
                .list_series()
                .iter()
                .map(series_info_to_proto)
                .collect();
            engine.close()?;
            (dir.display().to_string(), stats, list)
        }
        None => block_on(async {
            let client = args.server.connect().await?;
            let stats = client.stats().await?;
            let list = client.list_series().await?;
            Ok((client.endpoint().to_string(), stats, list))
        })?,
    };
    let mut out = std::io::stdout().lock();
    table::stats(&mut out, &source, &stats, &list)?;
    out.flush()?;
    Ok(())
}
