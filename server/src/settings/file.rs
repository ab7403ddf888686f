//! The TOML config file of `lodestone serve` (`--config PATH`). Every key is optional; what
//! is missing keeps its default, and flags override the file. Unknown keys are errors, so a
//! typo is not silently ignored. `server/lodestone.example.toml` lists every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::durability::DurabilityArg;
use super::units::{Age, ByteSize, Span};

/// The file's contents.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Data folder.
    pub data_dir: Option<PathBuf>,
    /// gRPC listen address.
    pub grpc_listen: Option<SocketAddr>,
    /// HTTP listen address.
    pub http_listen: Option<SocketAddr>,
    /// Storage engine settings.
    #[serde(default)]
    pub storage: StorageSection,
    /// Retention rules, tried in order (`[[retention]]` tables).
    #[serde(default)]
    pub retention: Vec<RetentionSection>,
    /// Replication: this server as a node of a cluster.
    #[serde(default)]
    pub cluster: ClusterSection,
}

/// The `[cluster]` table. A server with a `node_id` is a cluster node.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// This node's id (1 and up).
    pub node_id: Option<u64>,
    /// The gRPC address other nodes and clients reach this node at (default: `grpc_listen`).
    pub advertise: Option<String>,
    /// The members the cluster starts with, as `"ID=ADDRESS"`.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Addresses this node reaches some nodes at instead, as `"ID=ADDRESS"`.
    #[serde(default)]
    pub routes: Vec<String>,
    /// How often the leader sends a heartbeat.
    pub heartbeat: Option<Span>,
    /// Shortest election timeout.
    pub election_timeout_min: Option<Span>,
    /// Longest election timeout.
    pub election_timeout_max: Option<Span>,
    /// Log entries between snapshots.
    pub snapshot_every: Option<u64>,
    /// Log entries kept behind a snapshot.
    pub keep_logs: Option<u64>,
}

/// One `[[retention]]` table: how long the series it selects are kept.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Which series: selector text, e.g. `vibration{site="p1"}`, `temp*`, `*`.
    pub series: SelectorText,
    /// How long raw points are kept (`30d`, or `never`, the default).
    pub raw: Option<Age>,
    /// How long the buckets of each rollup tier are kept, by bucket width
    /// (`{ "1m" = "400d", "1h" = "never" }`); tiers not named are kept forever.
    #[serde(default)]
    pub tiers: std::collections::BTreeMap<Span, Age>,
}

/// A series selector given as text (see `series_text::parse_selector`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct SelectorText(pub lodestone_engine::Selector);

impl TryFrom<String> for SelectorText {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        crate::series_text::parse_selector(&s)
            .map(SelectorText)
            .map_err(|e| e.to_string())
    }
}

/// The `[storage]` table: engine options.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// When writes are acknowledged.
    pub durability: Option<DurabilityArg>,
    /// Flush the head to a segment file past this size.
    pub head_flush_size: Option<ByteSize>,
    /// Refuse writes (RESOURCE_EXHAUSTED) while the head is over this size.
    pub head_max_size: Option<ByteSize>,
    /// Flush the head when the WAL grows past this size.
    pub wal_flush_size: Option<ByteSize>,
    /// Close a head chunk at this many points.
    pub chunk_max_points: Option<usize>,
    /// Most series the store may hold; new series past it are refused.
    pub max_series: Option<usize>,
    /// Close a head chunk past this encoded size.
    pub chunk_max_size: Option<ByteSize>,
    /// Flush everything on shutdown so the next start replays nothing.
    pub flush_on_close: Option<bool>,
    /// Chunks older than this are also zstd-compressed at flush when that pays.
    pub cold_after: Option<Age>,
    /// Length of the time partitions of raw points (one segment file each).
    pub partition: Option<Span>,
    /// Bucket widths of the rollup tiers; an empty list keeps none.
    pub tiers: Option<Vec<Span>>,
    /// The background compaction merges a partition once it has this many files.
    pub compact_files: Option<usize>,
    /// Most bytes per second the background compaction writes (0: no limit).
    pub compact_bytes_per_sec: Option<ByteSize>,
}

/// Why the config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or holds an unknown key or a bad value.
    #[error("config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and key.
        message: String,
    },
}

impl ConfigFile {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        ConfigFile::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<ConfigFile, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }
}
