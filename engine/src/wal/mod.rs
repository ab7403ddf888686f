//! Write-ahead log: every acknowledged batch is in the WAL before it is in memory.
//!
//! The log is a sequence of files `wal/<seq>.wal`, each a header followed by framed,
//! CRC-checked records (see `engine/FORMAT.md`). A flush rotates to a new file and, once the
//! frozen head is safely in a segment file, deletes the older files.

pub mod reader;
pub mod record;
pub mod recovery;
pub mod series_record;
pub mod writer;

use std::path::{Path, PathBuf};

/// Name of the WAL folder inside the data folder.
pub const WAL_DIR: &str = "wal";

/// Path of WAL file number `seq`.
pub fn file_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.wal"))
}

/// Parses a WAL file name back into its sequence number.
pub fn parse_file_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".wal")?;
    if stem.len() != 20 {
        return None;
    }
    stem.parse().ok()
}
