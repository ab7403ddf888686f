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

/// Path of segment file number `id` (file numbers only make names unique; what the file
/// holds is in its header, [`SegmentInfo`]).
pub fn file_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

/// The `tier` of segments holding raw points.
pub const RAW: i64 = 0;

/// What a segment file holds, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Sequence number: the order of writes. A flush gives every file it writes the
    /// number its memtable got when frozen; a higher one holds newer writes and wins on
    /// equal timestamps, and tombstones name the numbers they hide.
    pub seq: u64,
    /// Compaction generation: 0 for a flush; a compaction writes one more than the highest
    /// of its inputs, with the `seq` of the newest input.
    pub generation: u32,
    /// A compacted file holds everything its tier and time range had in the files with
    /// `replaces_from <= seq' <= seq` and a lower generation; those can be deleted. A
    /// flushed file has `replaces_from == seq`.
    pub replaces_from: u64,
    /// [`RAW`] for raw points, else the bucket width in nanoseconds of the rollup tier.
    pub tier: i64,
    /// Every timestamp in the file is in `first_ts..=last_ts`: the time partition it
    /// belongs to (the whole i64 range for a version 1 file).
    pub first_ts: i64,
    /// See `first_ts`.
    pub last_ts: i64,
}

impl SegmentInfo {
    /// A flushed file of memtable `seq`, tier `tier`, partition `first_ts..=last_ts`.
    pub fn flushed(seq: u64, tier: i64, first_ts: i64, last_ts: i64) -> SegmentInfo {
        SegmentInfo {
            seq,
            generation: 0,
            replaces_from: seq,
            tier,
            first_ts,
            last_ts,
        }
    }
}

/// The time partition of length `len` (nanoseconds, at least 1) holding `ts`, as
/// `(first, last)` inclusive: partitions are aligned to multiples of `len` since the epoch.
pub fn partition(ts: i64, len: i64) -> (i64, i64) {
    let first = ts.div_euclid(len).saturating_mul(len);
    (first, first.saturating_add(len - 1))
}

/// Parses a segment file name back into its file number.
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
