//! `lodestone delete`: removes the points of one series in `[start, end)`, as written before
//! the command; points written afterwards stay. The series stays known with its type.

use super::{block_on, time, CliError, ServerAddr};
use crate::grpc::convert::key_to_proto;
use crate::series_text;

/// Flags of `lodestone delete`.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// The series, e.g. 'temperature{site="p1"}'.
    #[arg(long)]
    series: String,
    /// Inclusive start: nanoseconds, `now`, or UTC RFC 3339.
    #[arg(long, value_parser = time::parse, allow_hyphen_values = true)]
    start: i64,
    /// Exclusive end: nanoseconds, `now`, or UTC RFC 3339.
    #[arg(long, value_parser = time::parse, allow_hyphen_values = true)]
    end: i64,
}

/// Deletes and says what was deleted once it is durable.
pub fn run(args: DeleteArgs) -> Result<(), CliError> {
    let key = series_text::parse(&args.series)?;
    block_on(async {
        let client = args.server.connect().await?;
        Ok(client
            .delete(key_to_proto(&key), args.start, args.end)
            .await?)
    })?;
    println!(
        "deleted the points of {key} in [{}, {})",
        time::format(args.start),
        time::format(args.end)
    );
    Ok(())
}
