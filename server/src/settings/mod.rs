//! What `lodestone serve` runs with: built-in defaults, overridden by the TOML file given
//! with `--config`, overridden by flags.
//!
//! Ports: gRPC 7400 and HTTP 7401, both on loopback by default, so a fresh install exposes
//! nothing and does not collide with an InfluxDB (8086) running beside it.

pub mod durability;
pub mod file;
pub mod units;

use std::net::SocketAddr;
use std::path::PathBuf;

use std::collections::BTreeMap;

use lodestone_engine::Options;

use crate::cluster::settings::parse_member;
use crate::cluster::ClusterSettings;
use file::ClusterSection;

pub use durability::{BadDurability, DurabilityArg};
pub use file::{ConfigError, ConfigFile};

/// Default data folder, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "lodestone-data";
/// Default gRPC address: loopback only.
pub const DEFAULT_GRPC_LISTEN: &str = "127.0.0.1:7400";
/// Default HTTP address: loopback only, so a fresh install exposes nothing.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:7401";
/// The server the command-line client commands talk to unless told otherwise.
pub const DEFAULT_SERVER: &str = "127.0.0.1:7400";

/// Everything `serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// The data folder.
    pub data_dir: PathBuf,
    /// Where gRPC listens.
    pub grpc_listen: SocketAddr,
    /// Where HTTP listens.
    pub http_listen: SocketAddr,
    /// Engine options (durability, memory bounds, flush thresholds).
    pub engine: Options,
    /// Set when the server is a cluster node.
    pub cluster: Option<ClusterSettings>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            grpc_listen: SocketAddr::from(([127, 0, 0, 1], 7400)),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 7401)),
            engine: Options {
                max_series: default_max_series(),
                ..Options::default()
            },
            cluster: None,
        }
    }
}

/// Settings given as flags; each one present overrides the file and the defaults.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--grpc-listen`.
    pub grpc_listen: Option<SocketAddr>,
    /// `--http-listen`.
    pub http_listen: Option<SocketAddr>,
    /// `--durability`.
    pub durability: Option<DurabilityArg>,
    /// `--node-id`.
    pub node_id: Option<u64>,
    /// `--advertise`.
    pub advertise: Option<String>,
    /// `--peers`.
    pub peers: Option<BTreeMap<u64, String>>,
    /// `--raft-route`, each `ID=ADDRESS`.
    pub routes: Vec<(u64, String)>,
    /// `--max-series`.
    pub max_series: Option<usize>,
}

/// The default series limit, sized for the machine: one series per 4 KiB of its memory
/// (a slow series costs well under that), at least 100,000 and at most 20,000,000.
pub fn default_max_series() -> usize {
    const PER_SERIES: u64 = 4 << 10;
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(16 << 30);
    (total / PER_SERIES).clamp(100_000, 20_000_000) as usize
}

impl ServeSettings {
    /// Defaults, then `file`, then `flags`. Errors name a bad cluster setting.
    pub fn resolve(file: ConfigFile, flags: Overrides) -> Result<ServeSettings, String> {
        let mut s = ServeSettings::default();
        let st = file.storage;
        let e = &mut s.engine;
        set(&mut e.durability, st.durability.map(|d| d.0));
        set(
            &mut e.head_flush_bytes,
            st.head_flush_size.map(|b| b.as_usize()),
        );
        set(
            &mut e.head_max_bytes,
            st.head_max_size.map(|b| b.as_usize()),
        );
        set(&mut e.wal_flush_bytes, st.wal_flush_size.map(|b| b.0));
        set(&mut e.chunk_max_points, st.chunk_max_points);
        set(&mut e.max_series, flags.max_series.or(st.max_series));
        set(
            &mut e.chunk_max_bytes,
            st.chunk_max_size.map(|b| b.as_usize()),
        );
        set(&mut e.flush_on_close, st.flush_on_close);
        set(&mut e.cold_after, st.cold_after.map(|a| a.0));
        set(&mut e.partition, st.partition.map(|p| p.0));
        set(&mut e.compact_files, st.compact_files);
        set(
            &mut e.compact_bytes_per_sec,
            st.compact_bytes_per_sec.map(|b| b.0),
        );
        set(
            &mut e.tiers,
            st.tiers.map(|t| t.into_iter().map(|s| s.0).collect()),
        );
        e.retention = file
            .retention
            .into_iter()
            .map(|r| lodestone_engine::RetentionRule {
                series: r.series.0,
                raw: r.raw.and_then(|a| a.0),
                tiers: r.tiers.into_iter().map(|(w, ttl)| (w.0, ttl.0)).collect(),
            })
            .collect();
        set(&mut s.grpc_listen, flags.grpc_listen.or(file.grpc_listen));
        set(&mut s.http_listen, flags.http_listen.or(file.http_listen));
        s.cluster = cluster(&file.cluster, &flags, s.grpc_listen)?;
        set(&mut s.data_dir, flags.data_dir.or(file.data_dir));
        set(&mut s.engine.durability, flags.durability.map(|d| d.0));
        if s.cluster.is_some() {
            // The Raft log, fsynced by a majority before a write is acknowledged, is what
            // makes writes durable on a cluster node.
            s.engine.durability = lodestone_engine::Durability::None;
        }
        Ok(s)
    }
}

/// The cluster settings, when a node id is given.
fn cluster(
    file: &ClusterSection,
    flags: &Overrides,
    grpc_listen: SocketAddr,
) -> Result<Option<ClusterSettings>, String> {
    let Some(node_id) = flags.node_id.or(file.node_id) else {
        return Ok(None);
    };
    let advertise = flags
        .advertise
        .clone()
        .or_else(|| file.advertise.clone())
        .unwrap_or_else(|| grpc_listen.to_string());
    let mut c = ClusterSettings::new(node_id, advertise);
    c.peers = match &flags.peers {
        Some(p) => p.clone(),
        None => {
            let mut m = BTreeMap::new();
            for p in &file.peers {
                let (id, addr) = parse_member(p)?;
                m.insert(id, addr);
            }
            m
        }
    };
    for r in &file.routes {
        let (id, addr) = parse_member(r)?;
        c.routes.insert(id, addr);
    }
    c.routes.extend(flags.routes.iter().cloned());
    set(&mut c.heartbeat, file.heartbeat.as_ref().map(|d| d.0));
    set(
        &mut c.election_timeout.0,
        file.election_timeout_min.as_ref().map(|d| d.0),
    );
    set(
        &mut c.election_timeout.1,
        file.election_timeout_max.as_ref().map(|d| d.0),
    );
    set(&mut c.snapshot_every, file.snapshot_every);
    set(&mut c.keep_logs, file.keep_logs);
    c.check()?;
    Ok(Some(c))
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodestone_engine::Durability;
    use std::time::Duration;

    const EXAMPLE: &str = include_str!("../../lodestone.example.toml");

    #[test]
    fn the_default_constants_and_settings_agree() {
        let d = ServeSettings::default();
        assert_eq!(d.grpc_listen.to_string(), DEFAULT_GRPC_LISTEN);
        assert_eq!(d.http_listen.to_string(), DEFAULT_HTTP_LISTEN);
        assert_eq!(d.grpc_listen.to_string(), DEFAULT_SERVER);
    }

    #[test]
    fn a_cluster_section_or_a_node_id_makes_a_cluster_node() {
        let file = ConfigFile::parse(
            r#"
            grpc_listen = "127.0.0.1:7500"
            [storage]
            durability = "sync"
            [cluster]
            peers = ["1=127.0.0.1:7500", "2=127.0.0.1:7510"]
            heartbeat = "100ms"
            snapshot_every = 10
            "#,
        )
        .unwrap();
        let flags = Overrides {
            node_id: Some(1),
            ..Overrides::default()
        };
        let s = ServeSettings::resolve(file, flags).unwrap();
        let c = s.cluster.unwrap();
        assert_eq!((c.node_id, c.advertise.as_str()), (1, "127.0.0.1:7500"));
        assert_eq!(c.peers.len(), 2);
        assert_eq!(c.heartbeat, Duration::from_millis(100));
        assert_eq!(c.snapshot_every, 10);
        // The Raft log makes writes durable on a cluster node.
        assert_eq!(s.engine.durability, Durability::None);
        let bad = ConfigFile::parse("[cluster]\nnode_id = 1\nheartbeat = \"5s\"\n").unwrap();
        let e = ServeSettings::resolve(bad, Overrides::default()).unwrap_err();
        assert!(e.contains("heartbeat"), "{e}");
        let alone = ServeSettings::resolve(ConfigFile::default(), Overrides::default()).unwrap();
        assert!(alone.cluster.is_none());
    }

    #[test]
    fn the_example_config_parses_and_states_the_defaults() {
        let file = ConfigFile::parse(EXAMPLE).unwrap();
        let from_example = ServeSettings::resolve(file, Overrides::default()).unwrap();
        assert_eq!(
            format!("{from_example:?}"),
            format!("{:?}", ServeSettings::default())
        );
    }

    #[test]
    fn flags_override_the_file_which_overrides_the_defaults() {
        let file = ConfigFile::parse(
            r#"
            data_dir = "/var/lib/lodestone"
            http_listen = "0.0.0.0:9000"
            [storage]
            durability = "interval:100ms"
            head_max_size = "1GiB"
            chunk_max_size = 8192
            partition = "7d"
            tiers = ["10m"]
            [[retention]]
            series = 'vib*{site="p1"}'
            raw = "30d"
            tiers = { "10m" = "400d" }
            [[retention]]
            series = "*"
            raw = "never"
            "#,
        )
        .unwrap();
        let flags = Overrides {
            data_dir: Some("/tmp/x".into()),
            durability: Some("none".parse().unwrap()),
            ..Overrides::default()
        };
        let s = ServeSettings::resolve(file, flags).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(s.http_listen.to_string(), "0.0.0.0:9000");
        assert_eq!(s.grpc_listen.to_string(), DEFAULT_GRPC_LISTEN);
        assert_eq!(s.engine.durability, Durability::None);
        assert_eq!(s.engine.head_max_bytes, 1 << 30);
        assert_eq!(s.engine.chunk_max_bytes, 8192);
        assert_eq!(s.engine.partition, Duration::from_secs(7 * 86400));
        assert_eq!(s.engine.tiers, vec![Duration::from_secs(600)]);
        let r = &s.engine.retention;
        assert_eq!(r.len(), 2);
        let vib = lodestone_engine::SeriesKey::new("vibration", [("site", "p1")]).unwrap();
        let temp = lodestone_engine::SeriesKey::new("temperature", [("site", "p1")]).unwrap();
        assert!(r[0].series.matches(&vib) && !r[0].series.matches(&temp));
        assert_eq!(r[0].raw, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(
            r[0].tiers,
            vec![(
                Duration::from_secs(600),
                Some(Duration::from_secs(400 * 86_400))
            )]
        );
        assert!(r[1].series.matches(&temp) && r[1].raw.is_none());

        let file = ConfigFile::parse("[storage]\ndurability = \"interval:2s\"").unwrap();
        let s = ServeSettings::resolve(file, Overrides::default()).unwrap();
        assert_eq!(
            s.engine.durability,
            Durability::Interval(Duration::from_secs(2))
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named_with_their_line() {
        let e = ConfigFile::parse("[storage]\nhead_max = \"1GiB\"").unwrap_err();
        assert!(e.contains("head_max") && e.contains("line 2"), "{e}");
        let e = ConfigFile::parse("[storage]\nhead_max_size = \"1 gigabyte\"").unwrap_err();
        assert!(e.contains("unknown unit"), "{e}");
        let e = ConfigFile::parse("[[retention]]\nseries = \"t{a=~\\\"(\\\"}\"").unwrap_err();
        assert!(e.contains("line 2") && e.contains("pattern \"(\""), "{e}");
        let e = ConfigFile::parse("[storage]\ntiers = [\"0s\"]").unwrap_err();
        assert!(e.contains("longer than zero"), "{e}");
        let e = ConfigFile::parse("[storage]\ndurability = \"fast\"").unwrap_err();
        assert!(e.contains("sync, interval:<duration>"), "{e}");
        let e = ConfigFile::parse("grpc_listen = \"localhost\"").unwrap_err();
        assert!(e.contains("grpc_listen"), "{e}");
    }
}
