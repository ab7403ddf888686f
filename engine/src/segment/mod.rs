//! Immutable segment files: the flushed head, read through mmap.
//!
//! A segment holds chunks of many series, each chunk a CRC-checked block, plus a series index
//! with per-chunk time bounds and last point so that opening a store reads only the index,
//! never the data. Layout in `engine/FORMAT.md` and [`format`].

pub mod format;
pub mod reader;
pub mod writer;

use std::path::{Path, PathBuf};

/// Name of the segment folder inside the data folder.
pub const SEGMENT_DIR: &str = "segments";

/// Path of segment number `seq`.
pub fn file_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.seg"))
}

/// Parses a segment file name back into its sequence number.
pub fn parse_file_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".seg")?;
    if stem.len() != 20 {
        return None;
    }
    stem.parse().ok()
}

/// Index entry of one chunk in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Offset of the chunk's block (its 8-byte block header) in the file.
    pub offset: u64,
    /// Length of the chunk bytes (without the block header).
    pub len: u32,
    /// Points in the chunk.
    pub count: u32,
    /// Timestamp of the first point.
    pub min_ts: i64,
    /// Timestamp of the last point.
    pub max_ts: i64,
    /// Raw bits of the last point's value.
    pub last_bits: u64,
    /// Quality of the last point.
    pub last_quality: u32,
}
