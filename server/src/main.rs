//! `lodestone`: the Lodestone server and its command-line tools.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lodestone_engine::{Engine, Options};
use lodestone_server::settings::{
    DurabilityArg, DEFAULT_DATA_DIR, DEFAULT_GRPC_LISTEN, DEFAULT_HTTP_LISTEN,
};
use lodestone_server::{serve, shutdown};

#[derive(Debug, Parser)]
#[command(
    name = "lodestone",
    version,
    about = "Lodestone industrial time-series historian"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (gRPC lodestone.v1, HTTP /ping /health /metrics) on a data folder.
    Serve {
        /// Data folder (created if missing).
        #[arg(long, default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// gRPC listen address.
        #[arg(long, default_value = DEFAULT_GRPC_LISTEN)]
        grpc_listen: SocketAddr,
        /// HTTP listen address.
        #[arg(long, default_value = DEFAULT_HTTP_LISTEN)]
        http_listen: SocketAddr,
        /// When writes are acknowledged: sync (fsync first), interval:<ms>, none.
        #[arg(long, default_value = "sync")]
        durability: DurabilityArg,
    },
    /// Open a data folder (not in use by a server) and print its statistics.
    Stats {
        /// Data folder.
        #[arg(long, default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            data_dir,
            grpc_listen,
            http_listen,
            durability,
        } => run_server(data_dir, grpc_listen, http_listen, durability),
        Command::Stats { data_dir } => print_stats(data_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lodestone: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_server(
    data_dir: PathBuf,
    grpc_listen: SocketAddr,
    http_listen: SocketAddr,
    durability: DurabilityArg,
) -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options {
        durability: durability.0,
        ..Options::default()
    };
    let engine = Engine::open(&data_dir, opts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let bind = |addr: SocketAddr| async move {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))
        };
        let listeners = serve::Listeners {
            grpc: bind(grpc_listen).await?,
            http: bind(http_listen).await?,
        };
        serve::run(engine, listeners, shutdown::signal()).await?;
        Ok(())
    })
}

fn print_stats(data_dir: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options {
        flush_on_close: false,
        ..Options::default()
    };
    let engine = Engine::open(&data_dir, opts)?;
    let s = engine.stats();
    println!("data folder   {}", data_dir.display());
    println!("series        {}", s.series);
    println!("segments      {} ({} bytes)", s.segments, s.segment_bytes);
    println!(
        "head          {} bytes (replayed from the WAL)",
        s.head_bytes
    );
    for info in engine.list_series() {
        match info.latest {
            Some(p) => println!(
                "  {} ({}) latest {} at {}",
                info.key, info.value_type, p.value, p.ts
            ),
            None => println!("  {} ({})", info.key, info.value_type),
        }
    }
    engine.close()?;
    Ok(())
}
