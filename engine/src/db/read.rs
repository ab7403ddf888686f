//! The read path: merge segments, frozen memtables and the active head of one series, minus
//! the points that tombstones hide in segments and frozen memtables (deletes remove the
//! active head's points in place).

use std::sync::Arc;

use super::Engine;
use crate::codec::Columns;
use crate::error::{Error, Result};
use crate::point::Point;
use crate::query::merge::merge_slices;
use crate::segment::reader::Segment;
use crate::segment::ChunkMeta;
use crate::series::SeriesKey;
use crate::tombstone::HiddenRanges;
use crate::version::Version;

impl Engine {
    /// Every point of series `key` with `start <= ts < end`, in time order, one per
    /// timestamp (the last written wins). Errors: [`Error::InvalidRange`] when `start > end`,
    /// [`Error::UnknownSeries`], and [`Error::Corrupt`] naming the file and offset of a chunk
    /// that fails its checksum.
    pub fn read_range(&self, key: &SeriesKey, start: i64, end: i64) -> Result<Vec<Point>> {
        let snap = self.snapshot(key, start, end)?;
        snap.read(key, start, end, &|_, _| false)
    }

    /// The earliest and latest timestamps at which series `key` may hold points: bounds
    /// from the segment indexes and memory, found without decoding (deleted points may
    /// still count). `Ok(None)` when the series has no point anywhere; unknown series are
    /// [`Error::UnknownSeries`]. What a copy of a series reads through, window by window.
    pub fn time_span(&self, key: &SeriesKey) -> Result<Option<(i64, i64)>> {
        let snap = self.snapshot(key, i64::MIN, i64::MAX)?;
        let mut span: Option<(i64, i64)> = None;
        let mut widen = |a: i64, b: i64| {
            span = Some(span.map_or((a, b), |(lo, hi)| (lo.min(a), hi.max(b))));
        };
        for seg in &snap.version.segments {
            let Some(si) = seg.get(snap.id)? else {
                continue;
            };
            // A file's chunks of one series are sorted and disjoint.
            if let (Some(first), Some(last)) = (si.chunks.first(), si.chunks.last()) {
                widen(first.min_ts, last.max_ts);
            }
        }
        for pts in &snap.memory {
            if let (Some(first), Some(last)) = (pts.first(), pts.last()) {
                widen(first.ts, last.ts);
            }
        }
        Ok(span)
    }

    /// The sources of series `key` for a read of `[start, end)`: the active head's points
    /// in it and the version. Errors: [`Error::InvalidRange`], [`Error::UnknownSeries`].
    pub(super) fn snapshot(&self, key: &SeriesKey, start: i64, end: i64) -> Result<Snapshot> {
        if start > end {
            return Err(Error::InvalidRange { start, end });
        }
        let inner = &self.inner;
        let entry = self.entry(key)?;
        // Copy the active head and take the version under the head lock: a freeze moves
        // data from one to the other under the write side of that lock.
        let head = inner.head.read();
        let mut active = Vec::new();
        if let Some(h) = head.get(entry.id) {
            h.read_range(start, end, &mut active)
                .map_err(|e| head_damage(e.to_string()))?;
        }
        let version = inner.version.read().clone();
        drop(head);
        let mut frozen = Vec::with_capacity(version.frozen.len());
        for f in &version.frozen {
            if let Some(h) = f.memtable.get(entry.id) {
                let mut pts = Vec::new();
                h.read_range(start, end, &mut pts)
                    .map_err(|e| head_damage(e.to_string()))?;
                version
                    .tombstones
                    .hidden(key, f.segment_seq)
                    .filter(&mut pts);
                frozen.push(pts);
            }
        }
        frozen.push(active);
        frozen.retain(|s| !s.is_empty());
        Ok(Snapshot {
            id: entry.id,
            version,
            memory: frozen,
        })
    }

    /// The newest point of series `key` (highest timestamp; the last written on ties), from
    /// memory. `Ok(None)` when every point of the series was deleted (or it was declared
    /// through [`Engine::declare_series`] and has none yet); unknown series are an error.
    pub fn latest(&self, key: &SeriesKey) -> Result<Option<Point>> {
        let catalog = self.inner.catalog.read();
        let entry = catalog.get(key).ok_or_else(|| Error::UnknownSeries {
            series: key.to_string(),
        })?;
        Ok(entry.latest())
    }
}

/// What one read of one series sees: segments (through the version) and the points of
/// memory (frozen memtables, then the active head; tombstones applied), oldest first.
pub(super) struct Snapshot {
    /// The series' id in the catalog.
    pub id: u32,
    /// Segments, frozen memtables and tombstones.
    pub version: Arc<Version>,
    /// The points in range of each frozen memtable holding the series, then of the active
    /// head; empty ones left out.
    pub memory: Vec<Vec<Point>>,
}

impl Snapshot {
    /// Every point of `key` in `[start, end)`, merged, except those of the segment chunks
    /// for which `skip(segment index, chunk)` is true. Skipping a chunk is exact only when
    /// no other source has points in its time range.
    pub fn read(
        self,
        key: &SeriesKey,
        start: i64,
        end: i64,
        skip: &dyn Fn(usize, &ChunkMeta) -> bool,
    ) -> Result<Vec<Point>> {
        let version = &self.version;
        // Segments decode into one vector, each into its own span of it. Flushed in order,
        // their spans are already in time order and disjoint, and then that vector is the
        // answer with no copy; otherwise the spans become sources of a merge.
        let mut decoded = Vec::new();
        let mut spans = Vec::with_capacity(version.segments.len());
        for (i, seg) in version.segments.iter().enumerate() {
            if !seg.overlaps(start, end) {
                continue;
            }
            let hidden = version.tombstones.hidden(key, seg.seq());
            let from = decoded.len();
            let series = (self.id, key);
            read_segment(
                seg,
                series,
                start,
                end,
                &hidden,
                &|m| skip(i, m),
                &mut decoded,
            )?;
            if decoded.len() > from {
                spans.push(from..decoded.len());
            }
        }
        let in_order = spans
            .windows(2)
            .all(|w| decoded[w[0].end - 1].ts < decoded[w[1].start].ts);
        if in_order && self.memory.is_empty() {
            return Ok(decoded);
        }
        let mut all: Vec<&[Point]> = spans.into_iter().map(|r| &decoded[r]).collect();
        all.extend(self.memory.iter().map(Vec::as_slice));
        Ok(merge_slices(&all))
    }
}

impl Snapshot {
    /// Hands every point of `key` in `[start, end)` (except those of skipped chunks) to `f`,
    /// in time order, a chunk at a time as [`Columns`] (which `f` may change: they are
    /// refilled for the next chunk), without gathering them: possible when no two
    /// sources overlap in time, which is the common case (data flushed in order). Returns
    /// `false`, having called nothing, when they do; then [`Snapshot::read`] merges them.
    pub fn stream(
        &self,
        key: &SeriesKey,
        start: i64,
        end: i64,
        skip: &dyn Fn(usize, &ChunkMeta) -> bool,
        f: &mut dyn FnMut(&mut Columns),
    ) -> Result<bool> {
        enum Piece<'a> {
            Chunk(&'a Segment, ChunkMeta, HiddenRanges),
            Memory(&'a [Point]),
        }
        let version = &self.version;
        let mut pieces: Vec<(i64, i64, Piece<'_>)> = Vec::new();
        for (i, seg) in version.segments.iter().enumerate() {
            if !seg.overlaps(start, end) {
                continue;
            }
            let Some(si) = seg.get(self.id)? else {
                continue;
            };
            let hidden = version.tombstones.hidden(key, seg.seq());
            let from = si.chunks.partition_point(|m| m.max_ts < start);
            for &m in &si.chunks[from..] {
                let wanted = m.max_ts >= start
                    && m.min_ts < end
                    && !hidden.covers(m.min_ts, m.max_ts)
                    && !skip(i, &m);
                if wanted {
                    let h = if hidden.overlaps(m.min_ts, m.max_ts) {
                        hidden.clone()
                    } else {
                        HiddenRanges::default()
                    };
                    pieces.push((m.min_ts, m.max_ts, Piece::Chunk(seg, m, h)));
                }
            }
        }
        for pts in &self.memory {
            if let (Some(a), Some(b)) = (pts.first(), pts.last()) {
                pieces.push((a.ts, b.ts, Piece::Memory(pts)));
            }
        }
        pieces.sort_by_key(|p| p.0);
        if pieces.windows(2).any(|w| w[0].1 >= w[1].0) {
            return Ok(false);
        }
        let mut cols = Columns::default();
        for (_, _, piece) in &pieces {
            match piece {
                Piece::Memory(pts) => cols.set_points(pts),
                Piece::Chunk(seg, m, hidden) => {
                    seg.decode_chunk_columns(key, m, &mut cols)?;
                    if m.min_ts < start || m.max_ts >= end {
                        cols.keep_range(start, end);
                    }
                    if !hidden.is_empty() {
                        cols.retain(|t, _, _| !hidden.contains(t));
                    }
                }
            }
            f(&mut cols);
        }
        Ok(true)
    }
}

fn read_segment(
    seg: &Arc<Segment>,
    (id, key): (u32, &SeriesKey),
    start: i64,
    end: i64,
    hidden: &HiddenRanges,
    skip: &dyn Fn(&ChunkMeta) -> bool,
    pts: &mut Vec<Point>,
) -> Result<()> {
    let Some(si) = seg.get(id)? else {
        return Ok(());
    };
    let from = pts.len();
    let wanted = |m: &&ChunkMeta| {
        m.max_ts >= start && m.min_ts < end && !hidden.covers(m.min_ts, m.max_ts) && !skip(m)
    };
    // One allocation for all the chunks' points: growing the vector chunk by chunk would
    // copy it again and again.
    pts.reserve(
        si.chunks
            .iter()
            .filter(wanted)
            .map(|m| m.count as usize)
            .sum(),
    );
    for m in si.chunks.iter().filter(wanted) {
        seg.decode_chunk(key, m, pts)?;
    }
    // Only chunks that straddle the range's edges, and tombstones, leave points to drop.
    let inside = si
        .chunks
        .iter()
        .filter(wanted)
        .all(|m| m.min_ts >= start && m.max_ts < end);
    if !inside || !hidden.is_empty() {
        // Keep this segment's points in range and not hidden, in place.
        let mut kept = from;
        for i in from..pts.len() {
            let p = pts[i];
            if p.ts >= start && p.ts < end && !hidden.contains(p.ts) {
                pts[kept] = p;
                kept += 1;
            }
        }
        pts.truncate(kept);
    }
    Ok(())
}

fn head_damage(what: String) -> Error {
    Error::corrupt("<head in memory>", 0, what)
}
