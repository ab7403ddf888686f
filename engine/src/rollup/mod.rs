//! Rollup tiers: per series, buckets of a fixed width (say one minute, one hour), each the
//! [`Summary`] of the bucket's points of good quality that are numbers. They live in
//! segment files of their own tier (see [`crate::segment::SegmentInfo::tier`]), one per
//! tier partition, and let an aggregate over a long range read a few thousand buckets
//! instead of millions of points.
//!
//! How they stay right:
//! - A flush recomputes, from the merged raw points (segments, plus the memtable being
//!   flushed, tombstones applied), every bucket that the memtable's points or deletes touch,
//!   and writes those buckets with the memtable's seq *before* the raw files. A newer
//!   version of a bucket replaces an older one (higher seq wins), and an empty bucket
//!   (count 0) replaces one whose points were all deleted.
//! - So a bucket is stale only while newer writes or deletes are not flushed yet: when a
//!   memtable still holds points in its range, or a tombstone that hides segments up to the
//!   bucket's seq or later overlaps it. The planner then answers that bucket from raw points.
//! - A crash between the tier files and the raw files of a flush leaves buckets that include
//!   points only in the WAL; replay puts them back in the head, where the first rule applies.

pub mod build;
pub mod chunk;
pub mod file;
pub mod read;

use crate::query::summary::Summary;

/// One bucket of a tier: the summary of the used points in `[start, start + width)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Start of the bucket, a multiple of the tier's width since the epoch.
    pub start: i64,
    /// Its used points (good quality, not NaN); count 0 when it has none.
    pub summary: Summary,
}

/// Start of the bucket of width `width` holding `ts`.
pub fn bucket_start(ts: i64, width: i64) -> i64 {
    ts.div_euclid(width).saturating_mul(width)
}

/// Last timestamp of the bucket starting at `start`.
pub fn bucket_last(start: i64, width: i64) -> i64 {
    start.saturating_add(width - 1)
}

/// Length of the time partitions of a tier of `width`: at least `raw_partition`, and long
/// enough for 1024 buckets, so that a coarse tier is not spread over many small files.
pub fn tier_partition(width: i64, raw_partition: i64) -> i64 {
    raw_partition.max(width.saturating_mul(1024))
}
