//! Windowed aggregates of one series (see [`crate::query::window`]). A segment chunk that
//! lies inside one window and shares its time range with no other source (no later
//! segment, memtable or tombstone touches it) is answered from the summary in the segment's
//! index, without decoding; everything else is read and merged as a range read would.
//! Both give the same windows.

use super::read::Snapshot;
use super::Engine;
use crate::codec::Columns;
use crate::error::{Error, Result};
use crate::point::Point;
use std::sync::atomic::Ordering::Relaxed;

use crate::query::summary::Summary;
use crate::query::window::QualityFilter;
use crate::query::window::{Aggregate, Neighbours, Window, WindowBuilder, WindowSpec};
use crate::rollup::read as rollup_read;
use crate::rollup::{bucket_last, bucket_start};
use crate::segment::ChunkMeta;
use crate::series::SeriesKey;
use crate::tombstone::HiddenRanges;

/// Most windows one request may produce: a year of one-second windows is 31.5 M, and a
/// request for more is almost certainly a mistake that would exhaust memory.
pub const MAX_WINDOWS: u64 = 50_000_000;

/// Which stored forms an aggregate may be answered from; the answer is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AggregatePath {
    /// The cheapest: chunk summaries where they apply, points elsewhere.
    #[default]
    Fastest,
    /// Chunk summaries where they apply, points elsewhere; no rollup tier.
    Summaries,
    /// Every point decoded (for checks and benchmarks).
    Raw,
}

/// Time ranges answered by rollup buckets: sorted, disjoint, consecutive buckets merged.
struct Covered(Vec<(i64, i64)>);

impl Covered {
    fn of(buckets: &[(i64, Summary)], width: i64) -> Covered {
        let mut out: Vec<(i64, i64)> = Vec::new();
        for &(start, _) in buckets {
            let last = bucket_last(start, width);
            match out.last_mut() {
                Some(r) if r.1.checked_add(1) == Some(start) => r.1 = last,
                _ => out.push((start, last)),
            }
        }
        Covered(out)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `first..=last` lies inside one covered range.
    fn contains(&self, first: i64, last: i64) -> bool {
        let i = self.0.partition_point(|r| r.0 <= first);
        i > 0 && last <= self.0[i - 1].1
    }

    /// True when some of `first..=last` is covered.
    fn overlaps(&self, first: i64, last: i64) -> bool {
        let i = self.0.partition_point(|r| r.0 <= last);
        i > 0 && self.0[i - 1].1 >= first
    }
}

/// True when one of `ranges` (inclusive, sorted by start, may overlap) meets
/// `first..=last`.
fn overlaps_any(ranges: &[(i64, i64)], first: i64, last: i64) -> bool {
    let below = ranges.partition_point(|r| r.0 <= last);
    ranges[..below].iter().rev().any(|r| r.1 >= first)
}

impl Engine {
    /// The windows of `spec` over series `key`. Errors: [`Error::InvalidRange`] when
    /// `spec.start > spec.end`, [`Error::InvalidQuery`] when `spec.step < 1` or the request
    /// has more than [`MAX_WINDOWS`] windows, and those of [`Engine::read_range`].
    pub fn aggregate(&self, key: &SeriesKey, spec: &WindowSpec) -> Result<Vec<Window>> {
        self.aggregate_by(key, spec, AggregatePath::Fastest)
    }

    /// [`Engine::aggregate`], answered from the stored forms `path` allows.
    pub fn aggregate_by(
        &self,
        key: &SeriesKey,
        spec: &WindowSpec,
        path: AggregatePath,
    ) -> Result<Vec<Window>> {
        check(spec)?;
        let around = if spec.aggregate.needs_neighbours() {
            self.neighbours(key, spec)?
        } else {
            Neighbours::default()
        };
        let b = self.feed(key, spec, path, WindowBuilder::new(spec, around.before))?;
        Ok(b.finish(around.after))
    }

    /// The start and [`Summary`] of each window of `spec` that has used points, in time
    /// order: what callers merging windows of several series need. `spec.fill` does not
    /// matter here, and `spec.aggregate` only says whether the spread (`Summary::m2`, two
    /// divisions a point) and the integral are wanted: only for [`Aggregate::Stddev`] and
    /// [`Aggregate::TimeWeighted`] (otherwise they are meaningless). Errors as
    /// [`Engine::aggregate`].
    pub fn window_summaries(
        &self,
        key: &SeriesKey,
        spec: &WindowSpec,
        path: AggregatePath,
    ) -> Result<Vec<(i64, Summary)>> {
        check(spec)?;
        let b = self.feed(key, spec, path, WindowBuilder::summaries(spec))?;
        Ok(b.finish_summaries())
    }

    /// Feeds `b` with what answers `spec` over `key`, in time order: rollup buckets, then
    /// chunk summaries where no bucket applies, then points for the rest.
    fn feed<'a>(
        &self,
        key: &SeriesKey,
        spec: &WindowSpec,
        path: AggregatePath,
        mut b: WindowBuilder<'a>,
    ) -> Result<WindowBuilder<'a>> {
        let snap = self.snapshot(key, spec.start, spec.end)?;
        let (width, buckets) = match path {
            AggregatePath::Fastest if spec.quality == QualityFilter::Good => {
                self.usable_buckets(&snap, key, spec)?
            }
            _ => (1, Vec::new()),
        };
        let covered = Covered::of(&buckets, width);
        let summarised = match path {
            AggregatePath::Fastest | AggregatePath::Summaries => {
                summarisable(&snap, key, spec, &covered)?
            }
            AggregatePath::Raw => Vec::new(),
        };
        let skip = |i: usize, m: &ChunkMeta| {
            covered.contains(m.min_ts, m.max_ts)
                || summarised
                    .binary_search_by_key(&(m.min_ts, i), |s| (s.1.min_ts, s.0))
                    .is_ok()
        };
        // Buckets and summarised chunks never overlap: merge them by start.
        let mut pieces: Vec<(i64, &Summary)> = buckets
            .iter()
            .map(|(start, s)| (*start, s))
            .chain(summarised.iter().filter_map(|(_, m)| {
                let s = m.summary.as_ref()?.for_filter(spec.quality)?;
                Some((m.min_ts, s))
            }))
            .collect();
        pieces.sort_by_key(|p| p.0);
        let mut pieces = pieces.into_iter().peekable();
        // Points go in between the pieces (none lies inside one); points inside the
        // buckets' ranges are left out.
        let mut take = |b: &mut WindowBuilder<'_>, cols: &mut Columns| {
            keep_used(cols, spec.quality, &covered);
            let (mut ts, mut values) = (&cols.ts[..], &cols.values[..]);
            while let Some(&last) = ts.last() {
                match pieces.next_if(|(start, _)| *start <= last) {
                    Some((start, s)) => {
                        let cut = ts.partition_point(|&t| t < start);
                        b.push_columns(&ts[..cut], &values[..cut], cols.scale);
                        b.push_summary(s);
                        (ts, values) = (&ts[cut..], &values[cut..]);
                    }
                    None => {
                        b.push_columns(ts, values, cols.scale);
                        break;
                    }
                }
            }
        };
        let streamed = snap.stream(key, spec.start, spec.end, &skip, &mut |cols| {
            take(&mut b, cols)
        })?;
        if !streamed {
            let mut cols = Columns::default();
            cols.set_points(&snap.read(key, spec.start, spec.end, &skip)?);
            take(&mut b, &mut cols);
        }
        for (_, s) in pieces {
            b.push_summary(s);
        }
        let stats = &self.inner.stats;
        stats
            .summary_chunks
            .fetch_add(summarised.len() as u64, Relaxed);
        stats
            .rollup_buckets
            .fetch_add(buckets.len() as u64, Relaxed);
        Ok(b)
    }

    /// The rollup buckets of the coarsest tier no wider than the step that answer whole
    /// parts of `spec`'s windows: inside one window and `[start, end)`, and not stale (no
    /// unflushed point or later delete in their range, no raw data from before the tier was
    /// kept). As the tier's width and (bucket start, summary), sorted.
    fn usable_buckets(
        &self,
        snap: &Snapshot,
        key: &SeriesKey,
        spec: &WindowSpec,
    ) -> Result<(i64, Vec<(i64, Summary)>)> {
        let Some(tier) = self.inner.tiers.iter().rev().find(|t| t.width <= spec.step) else {
            return Ok((1, Vec::new()));
        };
        let w = tier.width;
        let first = bucket_start(spec.start, w);
        let first = if first < spec.start {
            first.saturating_add(w)
        } else {
            first
        };
        let last = bucket_start(spec.end.saturating_sub(w), w);
        if first > last {
            return Ok((w, Vec::new()));
        }
        let version = &snap.version;
        let stored = rollup_read::buckets(&version.rollups, (snap.id, key), w, first, last)?;
        if stored.is_empty() {
            return Ok((w, Vec::new()));
        }
        // Raw chunks the tier may not include: from segments older than the tier.
        let mut older: Vec<(i64, i64)> = version
            .segments
            .iter()
            .filter(|s| s.seq() < tier.since)
            .filter_map(|s| s.get(snap.id).transpose())
            .collect::<Result<Vec<_>>>()?
            .iter()
            .flat_map(|si| si.chunks.iter().map(|m| (m.min_ts, m.max_ts)))
            .collect();
        older.sort_unstable();
        let mut hidden = (u64::MAX, HiddenRanges::default());
        let mut out = Vec::with_capacity(stored.len());
        for st in stored {
            let (b0, b1) = (st.bucket.start, bucket_last(st.bucket.start, w));
            if b1 >= spec.end || spec.index(b0) != spec.index(b1) {
                continue;
            }
            let in_memory = snap.memory.iter().any(|pts| {
                let i = pts.partition_point(|p| p.ts < b0);
                pts.get(i).is_some_and(|p| p.ts <= b1)
            });
            if in_memory || overlaps_any(&older, b0, b1) {
                continue;
            }
            if hidden.0 != st.seq {
                hidden = (st.seq, version.tombstones.hidden(key, st.seq));
            }
            if hidden.1.overlaps(b0, b1) {
                continue;
            }
            out.push((b0, st.bucket.summary));
        }
        Ok((w, out))
    }

    /// The last used point before `spec.start` and the first at or after `spec.end`,
    /// found by reading ranges that double in length away from the request (a range that
    /// holds no chunk costs no decoding).
    fn neighbours(&self, key: &SeriesKey, spec: &WindowSpec) -> Result<Neighbours> {
        let used = |p: &Point| spec.quality.uses(p).map(|x| (p.ts, x));
        let mut before = None;
        let mut width = spec.step.max(1);
        let mut to = spec.start;
        while to > i64::MIN {
            let from = to.saturating_sub(width);
            let pts = self.read_range(key, from, to)?;
            if let Some(p) = pts.iter().rev().find_map(used) {
                before = Some(p);
                break;
            }
            to = from;
            width = width.saturating_mul(2);
        }
        let mut after = None;
        if spec.aggregate == Aggregate::InterpolateLinear {
            let mut width = spec.step.max(1);
            let mut from = spec.end;
            while from < i64::MAX {
                let to = from.saturating_add(width);
                let pts = self.read_range(key, from, to)?;
                if let Some(p) = pts.iter().find_map(used) {
                    after = Some(p);
                    break;
                }
                from = to;
                width = width.saturating_mul(2);
            }
        }
        Ok(Neighbours { before, after })
    }
}

/// Leaves in `cols` only the points an aggregate uses: quality passing `filter`, value a
/// number, and outside the rollup buckets' ranges. Most chunks are all good and free of
/// NaN, and are left as they are.
fn keep_used(cols: &mut Columns, filter: QualityFilter, covered: &Covered) {
    let admitted = cols.single_quality().is_some_and(|q| filter.admits(q));
    let numbers = cols.nan_free || !cols.values.iter().any(|v| v.is_nan());
    if !(admitted && numbers) {
        cols.retain(|_, v, q| !v.is_nan() && filter.admits(q));
    }
    if !covered.is_empty() {
        cols.retain(|t, _, _| !covered.contains(t, t));
    }
}

fn check(spec: &WindowSpec) -> Result<()> {
    if spec.start > spec.end {
        return Err(Error::InvalidRange {
            start: spec.start,
            end: spec.end,
        });
    }
    if spec.step < 1 {
        return Err(Error::InvalidQuery {
            reason: format!("window step {} ns: it must be at least 1", spec.step),
        });
    }
    if let Some(n) = spec.windows().filter(|&n| n > MAX_WINDOWS) {
        return Err(Error::InvalidQuery {
            reason: format!(
                "{n} windows asked for, more than the {MAX_WINDOWS} one request may have"
            ),
        });
    }
    Ok(())
}

/// The segment chunks of `key` that can be answered from their summaries: inside one
/// window of `spec`, with a summary for its quality filter, no point hidden by a tombstone,
/// and no other source (chunk of another segment, memtable) with points in their time
/// range. Sorted by time (then segment index), as `(segment index, chunk)`.
fn summarisable(
    snap: &Snapshot,
    key: &SeriesKey,
    spec: &WindowSpec,
    covered: &Covered,
) -> Result<Vec<(usize, ChunkMeta)>> {
    let version = &snap.version;
    // Every source's time range, marked with the chunk when it is a candidate.
    type Range = (i64, i64, Option<(usize, ChunkMeta)>);
    let mut ranges: Vec<Range> = Vec::new();
    for (i, seg) in version.segments.iter().enumerate() {
        if !seg.overlaps(spec.start, spec.end) {
            continue;
        }
        let Some(si) = seg.get(snap.id)? else {
            continue;
        };
        let hidden = version.tombstones.hidden(key, seg.seq());
        // Only chunks in the range matter (they are sorted and disjoint within a file).
        let from = si.chunks.partition_point(|m| m.max_ts < spec.start);
        for m in &si.chunks[from..] {
            if m.min_ts >= spec.end {
                break;
            }
            // A chunk inside the buckets' ranges is neither summarised nor in the way of
            // one that is (that one would overlap the buckets too).
            let inside_buckets = !covered.is_empty() && covered.contains(m.min_ts, m.max_ts);
            if inside_buckets || hidden.covers(m.min_ts, m.max_ts) {
                continue;
            }
            let candidate = m.min_ts >= spec.start
                && m.max_ts < spec.end
                && spec.index(m.min_ts) == spec.index(m.max_ts)
                && m.summary
                    .is_some_and(|cs| cs.for_filter(spec.quality).is_some())
                && !hidden.overlaps(m.min_ts, m.max_ts)
                && !covered.overlaps(m.min_ts, m.max_ts);
            ranges.push((m.min_ts, m.max_ts, candidate.then_some((i, *m))));
        }
    }
    for pts in &snap.memory {
        if let (Some(first), Some(last)) = (pts.first(), pts.last()) {
            ranges.push((first.ts, last.ts, None));
        }
    }
    ranges.sort_unstable_by_key(|r| (r.0, r.1));
    let mut out = Vec::new();
    let mut reach = None; // the latest end among the ranges so far
    for (j, r) in ranges.iter().enumerate() {
        let clear_before = reach.is_none_or(|e| e < r.0);
        let clear_after = ranges.get(j + 1).is_none_or(|n| n.0 > r.1);
        if let (true, true, Some(c)) = (clear_before, clear_after, r.2) {
            out.push(c);
        }
        reach = Some(reach.map_or(r.1, |e: i64| e.max(r.1)));
    }
    out.sort_unstable_by_key(|(i, m)| (m.min_ts, *i));
    Ok(out)
}
