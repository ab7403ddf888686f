//! Server settings: what `lodestone serve` runs with, from flags with sane defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lodestone_engine::{Durability, Options};

/// Default data folder, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "lodestone-data";
/// Default gRPC address: loopback only.
pub const DEFAULT_GRPC_LISTEN: &str = "127.0.0.1:7400";
/// Default HTTP address: loopback only, so a fresh install exposes nothing.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8086";

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The data folder.
    pub data_dir: PathBuf,
    /// Where the gRPC service listens.
    pub grpc_listen: SocketAddr,
    /// Where the HTTP endpoints listen.
    pub http_listen: SocketAddr,
    /// Engine options (durability and memory bounds).
    pub engine: Options,
}

/// A durability mode as written on the command line: `sync`, `interval:<ms>` or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurabilityArg(pub Durability);

/// Why a durability setting was not understood.
#[derive(Debug, thiserror::Error)]
#[error("durability {0:?} is not one of: sync, interval:<milliseconds>, none")]
pub struct BadDurability(String);

impl FromStr for DurabilityArg {
    type Err = BadDurability;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = match s {
            "sync" => Durability::SyncEachBatch,
            "none" => Durability::None,
            _ => {
                let ms = s
                    .strip_prefix("interval:")
                    .and_then(|ms| ms.parse::<u64>().ok())
                    .filter(|&ms| ms > 0)
                    .ok_or_else(|| BadDurability(s.to_string()))?;
                Durability::Interval(Duration::from_millis(ms))
            }
        };
        Ok(DurabilityArg(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_modes_parse_and_bad_ones_say_what_is_allowed() {
        assert_eq!(
            "sync".parse::<DurabilityArg>().unwrap().0,
            Durability::SyncEachBatch
        );
        assert_eq!("none".parse::<DurabilityArg>().unwrap().0, Durability::None);
        assert_eq!(
            "interval:250".parse::<DurabilityArg>().unwrap().0,
            Durability::Interval(Duration::from_millis(250))
        );
        let e = "interval:0"
            .parse::<DurabilityArg>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("sync, interval:<milliseconds>, none"), "{e}");
        assert!("fast".parse::<DurabilityArg>().is_err());
    }
}
