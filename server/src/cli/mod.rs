//! The `lodestone` command line: one file per command (mini-redis's `cmd/`). `serve` runs
//! the server; `stats`, `write`, `query`, `latest`, `series`, `import` and `export` talk to
//! a running server through `lodestone-client`, as do `delete` and `meta` (`stats
//! --data-dir` reads a folder no server has open).

mod cluster;
mod delete;
mod export;
mod import;
mod latest;
mod meta;
mod query;
mod query_agg;
mod series;
mod serve;
mod stats;
pub mod table;
pub mod time;
mod write;

use std::future::Future;
use std::io;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::series_text::SeriesTextError;
use crate::serve::ServeError;

/// `lodestone`: the Lodestone server and its command-line tools.
#[derive(Debug, Parser)]
#[command(
    name = "lodestone",
    version,
    about = "Lodestone industrial time-series historian"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (defaults: gRPC 127.0.0.1:7400, HTTP 127.0.0.1:7401, ./lodestone-data).
    ///
    /// gRPC serves lodestone.v1 with health and reflection; HTTP serves the InfluxDB v1
    /// /write and /query, /ping, /health, /metrics and /admin/flush. SIGINT or SIGTERM stops
    /// it cleanly, flushing the head.
    Serve(serve::ServeArgs),
    /// Print a server's statistics and series, or those of a data folder no server has open.
    Stats(stats::StatsArgs),
    /// Write one point.
    Write(write::WriteArgs),
    /// Print the points of one series in [start, end), or with --agg one aggregate per window
    /// of one series or of every series a selector matches.
    Query(query::QueryArgs),
    /// Print the newest point of a series.
    Latest(latest::LatestArgs),
    /// List the series (every one, or those --select matches) with value type and newest
    /// point, in key order, read from the server page by page.
    Series(series::SeriesArgs),
    /// Import InfluxDB line-protocol (.lp) or CSV (.csv) files, streaming them in batches.
    ///
    /// CSV files have the header series,timestamp,value[,quality], as `export --format csv`
    /// writes them. Prints `imported N points in S s (R points/s)`.
    Import(import::ImportArgs),
    /// Export series in [start, end) as line protocol, CSV or JSON lines.
    Export(export::ExportArgs),
    /// Delete the points of one series in [start, end) written before now.
    Delete(delete::DeleteArgs),
    /// Read or set a series' unit, description and type.
    #[command(subcommand)]
    Meta(meta::MetaCommand),
    /// Show a cluster node's view of its cluster, or add or remove a node.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

/// Why a command failed; printed as `lodestone: <error>`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A series argument did not parse.
    #[error(transparent)]
    Series(#[from] SeriesTextError),
    /// The server refused the request or could not be reached.
    #[error(transparent)]
    Client(#[from] lodestone_client::Error),
    /// The config file could not be used.
    #[error(transparent)]
    Config(#[from] crate::settings::ConfigError),
    /// The engine failed (opening a data folder).
    #[error(transparent)]
    Engine(#[from] lodestone_engine::Error),
    /// The server stopped with an error.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
    /// A line of an imported file is malformed (or the server refused what it held).
    #[error("{}:{line}: {reason}", file.display())]
    Import {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// An imported file cannot be used as a whole (unreadable, unknown format).
    #[error("{}: {reason}", file.display())]
    ImportFile {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The export file cannot be created.
    #[error("cannot create {}: {source}", file.display())]
    ExportFile {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A setting of `serve` is wrong (the cluster settings are checked together).
    #[error("settings: {0}")]
    Settings(String),
    /// A series cannot be written as line protocol.
    #[error("series {series} cannot be written as line protocol: {reason}; export it with --format csv or json")]
    NotLineProtocol {
        /// The series.
        series: String,
        /// Why.
        reason: String,
    },
}

impl Cli {
    /// Runs the command.
    pub fn run(self) -> Result<(), CliError> {
        let done = match self.command {
            Command::Serve(args) => serve::run(args),
            Command::Stats(args) => stats::run(args),
            Command::Write(args) => write::run(args),
            Command::Query(args) => query::run(args),
            Command::Latest(args) => latest::run(args),
            Command::Series(args) => series::run(args),
            Command::Import(args) => import::run(args),
            Command::Export(args) => export::run(args),
            Command::Delete(args) => delete::run(args),
            Command::Meta(cmd) => meta::run(cmd),
            Command::Cluster(cmd) => cluster::run(cmd),
        };
        match done {
            // `lodestone query ... | head` closes the pipe early: that is not a failure.
            Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// Runs a client command's future on a single-threaded runtime: one connection needs no
/// more.
fn block_on<T>(f: impl Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?
        .block_on(f)
}

/// Where the client commands find the server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerAddr {
    /// Server gRPC address, `host:port` or `http://host:port`.
    #[arg(long, default_value = crate::settings::DEFAULT_SERVER)]
    pub addr: String,
    /// Let a cluster node that is not the leader answer reads from its own copy, which may
    /// lag a little (by default only the leader answers them).
    #[arg(long)]
    pub stale_ok: bool,
}

impl ServerAddr {
    async fn connect(&self) -> Result<lodestone_client::Client, CliError> {
        Ok(lodestone_client::Client::connect(&self.addr)
            .await?
            .stale_reads(self.stale_ok))
    }
}
