//! The `lodestone` command line: one file per command (mini-redis's `cmd/`). `serve` runs
//! the server; `stats`, `write`, `query` and `latest` talk to a running server through
//! `lodestone-client` (`stats --data-dir` reads a folder no server has open).

mod latest;
mod query;
mod serve;
mod stats;
pub mod table;
pub mod time;
mod write;

use std::future::Future;
use std::io;

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
    /// gRPC serves lodestone.v1 with health and reflection; HTTP serves /ping, /health and
    /// /metrics. SIGINT or SIGTERM stops it cleanly, flushing the head.
    Serve(serve::ServeArgs),
    /// Print a server's statistics and series, or those of a data folder no server has open.
    Stats(stats::StatsArgs),
    /// Write one point.
    Write(write::WriteArgs),
    /// Print the points of one series in [start, end).
    Query(query::QueryArgs),
    /// Print the newest point of a series.
    Latest(latest::LatestArgs),
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
}

impl ServerAddr {
    async fn connect(&self) -> Result<lodestone_client::Client, CliError> {
        Ok(lodestone_client::Client::connect(&self.addr).await?)
    }
}
