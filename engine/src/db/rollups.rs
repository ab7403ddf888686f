//! Keeping rollup tiers up to date (see [`crate::rollup`]): the buckets a flush touches are
//! recomputed from merged raw points and written as tier files before the raw files, and
//! a tier newly configured on an existing store is built from its segments on open.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::read::Snapshot;
use super::Inner;
use crate::error::{Error, Result};
use crate::head::ClosedChunk;
use crate::point::{Point, Value, ValueType};
use crate::rollup::build::{runs, summarise, Touched};
use crate::rollup::{bucket_last, chunk, tier_partition, Bucket};
use crate::segment::reader::Segment;

use crate::segment::partition;
use crate::series::SeriesKey;
use crate::version::{Frozen, Version};

/// Most buckets recomputed from one raw read: bounds the points held at once.
const RUN_BUCKETS: usize = 64;

/// One series' new buckets of one tier.
struct SeriesBuckets<'a> {
    key: &'a SeriesKey,
    value_type: ValueType,
    buckets: Vec<Bucket>,
}

/// Recomputes the buckets `touched` names (per series id) as of `version` plus `frozen`
/// (the memtable being flushed; `None` to read segments alone), and writes them as tier
/// files with sequence number `seq`. Returns the opened files.
pub(super) fn write_tiers(
    inner: &Inner,
    version: &Version,
    frozen: Option<&Frozen>,
    touched: &BTreeMap<SeriesKey, (ValueType, u32, Touched)>,
    seq: u64,
) -> Result<Vec<Arc<Segment>>> {
    let widths = inner.tier_widths();
    let mut files = Vec::new();
    for (t, &width) in widths.iter().enumerate() {
        let mut tier: Vec<SeriesBuckets> = Vec::new();
        for (key, (vt, id, touch)) in touched {
            let starts = &touch.starts[t];
            if starts.is_empty() {
                continue;
            }
            let mut buckets = Vec::with_capacity(starts.len());
            for (first, last) in runs(starts, width, RUN_BUCKETS) {
                let end = bucket_last(last, width).saturating_add(1);
                let points = merged(version, frozen, key, *id, first, end)?;
                let lo = starts.partition_point(|&s| s < first);
                let hi = starts.partition_point(|&s| s <= last);
                buckets.extend(summarise(&points, width, &starts[lo..hi]));
            }
            tier.push(SeriesBuckets {
                key,
                value_type: *vt,
                buckets,
            });
        }
        files.extend(write_tier(inner, width, seq, &tier)?);
    }
    Ok(files)
}

/// The merged raw points of `key` in `[start, end)`: segments of `version`, plus the
/// memtable being flushed, tombstones applied.
fn merged(
    version: &Version,
    frozen: Option<&Frozen>,
    key: &SeriesKey,
    id: u32,
    start: i64,
    end: i64,
) -> Result<Vec<Point>> {
    let mut memory = Vec::new();
    if let Some(h) = frozen.and_then(|f| f.memtable.get(id).map(|h| (f, h))) {
        let (f, h) = h;
        let mut pts = Vec::new();
        h.read_range(start, end, &mut pts)
            .map_err(|e| Error::corrupt("<head in memory>", 0, format!("series {key}: {e}")))?;
        version
            .tombstones
            .hidden(key, f.segment_seq)
            .filter(&mut pts);
        memory.push(pts);
    }
    let snap = Snapshot {
        id,
        version: Arc::new(Version {
            segments: version.segments.clone(),
            frozen: Vec::new(),
            rollups: Vec::new(),
            tombstones: version.tombstones.clone(),
        }),
        memory,
    };
    snap.read(key, start, end, &|_, _| false)
}

/// Writes the buckets of one tier: one file per tier partition, chunks of at most
/// [`chunk::MAX_BUCKETS`] buckets.
fn write_tier(
    inner: &Inner,
    width: i64,
    seq: u64,
    tier: &[SeriesBuckets<'_>],
) -> Result<Vec<Arc<Segment>>> {
    let part_len = tier_partition(width, inner.chunk_limits().partition);
    let mut chunks = Vec::new();
    for s in tier {
        let mut rest = &s.buckets[..];
        while let Some(first) = rest.first() {
            let (_, last_ts) = partition(first.start, part_len);
            let n = rest
                .partition_point(|b| b.start <= last_ts)
                .min(chunk::MAX_BUCKETS);
            let (now, after) = rest.split_at(n);
            rest = after;
            chunks.push((s.key, s.value_type, bucket_chunk(s.key, now)?));
        }
    }
    super::flush::write_partitioned(inner, seq, width, part_len, chunks)
}

/// A tier chunk holding `buckets` (at most [`chunk::MAX_BUCKETS`], one partition).
pub(super) fn bucket_chunk(key: &SeriesKey, buckets: &[Bucket]) -> Result<ClosedChunk> {
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return Err(Error::corrupt(
            "<rollup in memory>",
            0,
            format!("series {key}: no bucket"),
        ));
    };
    let bytes = chunk::encode(buckets)
        .map_err(|e| Error::corrupt("<rollup in memory>", 0, format!("series {key}: {e}")))?;
    Ok(ClosedChunk {
        bytes: bytes.into(),
        count: buckets.len() as u32,
        min_ts: first.start,
        max_ts: last.start,
        last: Point::new(last.start, Value::I64(0)),
        summary: None,
    })
}
