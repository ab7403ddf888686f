//! `lodestone serve`: settle the settings, open the data folder, bind, serve until SIGINT or
//! SIGTERM.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use lodestone_engine::Engine;

use super::CliError;
use crate::serve::Listeners;
use crate::settings::{ConfigFile, DurabilityArg, Overrides, ServeSettings};

/// Flags of `lodestone serve`. Each overrides the config file, which overrides the defaults.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML settings file (see server/lodestone.example.toml for every key).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data folder, created if missing [default: lodestone-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// gRPC listen address [default: 127.0.0.1:7400].
    #[arg(long)]
    grpc_listen: Option<SocketAddr>,
    /// HTTP listen address [default: 127.0.0.1:7401].
    #[arg(long)]
    http_listen: Option<SocketAddr>,
    /// When writes are acknowledged: sync (after fsync), interval:<duration> (fsync at most
    /// that long after, e.g. interval:100ms), none (fsync only on flush and close)
    /// [default: sync].
    #[arg(long)]
    durability: Option<DurabilityArg>,
    /// Makes this server a node of a cluster, with this id (1 and up; stable for the
    /// node's life). Writes are then replicated through Raft: the Raft log, fsynced by a
    /// majority, makes them durable, and --durability does not apply.
    #[arg(long)]
    node_id: Option<u64>,
    /// The members a new cluster starts with, as ID=ADDRESS,... (their gRPC addresses; this
    /// node may be among them). The lowest id forms the cluster on its first start. A node
    /// started without peers waits for `lodestone cluster add`.
    #[arg(long, value_parser = crate::cluster::settings::parse_members)]
    peers: Option<BTreeMap<u64, String>>,
    /// The gRPC address other nodes and clients reach this node at [default: --grpc-listen].
    #[arg(long)]
    advertise: Option<String>,
    /// Reach node ID at ADDRESS instead of its address in the membership (through a proxy
    /// or a NAT); may be repeated.
    #[arg(long = "raft-route", value_name = "ID=ADDRESS", value_parser = crate::cluster::settings::parse_member)]
    raft_routes: Vec<(u64, String)>,
    /// Most series the store may hold; writes adding series past it are refused
    /// [default: one per 4 KiB of memory, 100,000 to 20,000,000].
    #[arg(long)]
    max_series: Option<usize>,
}

/// Runs the server until a signal stops it.
pub fn run(args: ServeArgs) -> Result<(), CliError> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let flags = Overrides {
        data_dir: args.data_dir,
        grpc_listen: args.grpc_listen,
        http_listen: args.http_listen,
        durability: args.durability,
        node_id: args.node_id,
        advertise: args.advertise,
        peers: args.peers,
        routes: args.raft_routes,
        max_series: args.max_series,
    };
    let settings = ServeSettings::resolve(file, flags).map_err(CliError::Settings)?;
    let engine = Engine::open(&settings.data_dir, settings.engine)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async move {
        let listeners = Listeners {
            grpc: bind(settings.grpc_listen).await?,
            http: bind(settings.http_listen).await?,
        };
        crate::serve::run(
            listeners,
            engine,
            settings.cluster,
            crate::shutdown::signal(),
        )
        .await?;
        Ok(())
    })
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, CliError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| CliError::Bind { addr, source })
}
