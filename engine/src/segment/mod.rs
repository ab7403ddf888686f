//! Immutable segment files: the flushed head, read through mmap.
//!
//! A segment holds chunks of many series, each chunk a CRC-checked block, plus a series index
//! with per-chunk time bounds and last point so that opening a store reads only the index,
//! never the data. Layout in `engine/FORMAT.md` and [`format`].

pub mod format;
pub mod reader;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::point::Point;
use crate::query::summary::Summary;
use crate::query::window::QualityFilter;

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

/// What a segment's index says of a chunk's points without decoding them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkSummary {
    /// The summary of the points of good quality that are numbers (NaN is not).
    pub good: Summary,
    /// Every point has good quality: `good` then also answers requests that admit
    /// uncertain or bad points.
    pub all_good: bool,
}

impl ChunkSummary {
    /// The summary of `points` (sorted, one per timestamp).
    pub fn of(points: &[Point]) -> ChunkSummary {
        let mut good = Summary::EMPTY;
        let mut all_good = true;
        for p in points {
            all_good &= p.quality.is_good();
            if let Some(x) = QualityFilter::Good.uses(p) {
                good.push(p.ts, x);
            }
        }
        ChunkSummary { good, all_good }
    }

    /// The summary that answers requests with filter `q`, if this one does.
    pub fn for_filter(&self, q: QualityFilter) -> Option<&Summary> {
        (q == QualityFilter::Good || self.all_good).then_some(&self.good)
    }
}

/// Index entry of one chunk in a segment.
#[derive(Debug, Clone, Copy, PartialEq)]
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
    /// Aggregates of the chunk's points; absent in segments of format version 1.
    pub summary: Option<ChunkSummary>,
}
