//! Windowed aggregates of one series (see [`crate::query::window`]). A segment chunk that
//! lies inside one window and shares its time range with no other source (no later
//! segment, memtable or tombstone touches it) is answered from the summary in the segment's
//! index, without decoding; everything else is read and merged as a range read would.
//! Both give the same windows.

use super::read::Snapshot;
use super::Engine;
use crate::error::{Error, Result};
use crate::point::Point;
use crate::query::summary::Summary;
use crate::query::window::{Aggregate, Neighbours, Window, WindowBuilder, WindowSpec};
use crate::segment::ChunkMeta;
use crate::series::SeriesKey;

/// Most windows one request may produce: a year of one-second windows is 31.5 M, and a
/// request for more is almost certainly a mistake that would exhaust memory.
pub const MAX_WINDOWS: u64 = 50_000_000;

/// Which stored forms an aggregate may be answered from; the answer is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AggregatePath {
    /// The cheapest: chunk summaries where they apply, points elsewhere.
    #[default]
    Fastest,
    /// Every point decoded (for checks and benchmarks).
    Raw,
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
    /// order: what callers merging windows of several series need (`spec.aggregate` and
    /// `spec.fill` do not matter here). Errors as [`Engine::aggregate`].
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

    /// Feeds `b` with the used points and chunk summaries of `key` in `spec`'s range.
    fn feed<'a>(
        &self,
        key: &SeriesKey,
        spec: &WindowSpec,
        path: AggregatePath,
        mut b: WindowBuilder<'a>,
    ) -> Result<WindowBuilder<'a>> {
        let snap = self.snapshot(key, spec.start, spec.end)?;
        let summarised = match path {
            AggregatePath::Fastest => summarisable(&snap, key, spec),
            AggregatePath::Raw => Vec::new(),
        };
        let skip = |i: usize, m: &ChunkMeta| {
            summarised
                .binary_search_by_key(&(m.min_ts, i), |s| (s.1.min_ts, s.0))
                .is_ok()
        };
        let points = snap.read(key, spec.start, spec.end, &skip)?;
        let mut at = 0;
        let mut feed = |b: &mut WindowBuilder<'_>, until: i64| {
            while let Some(p) = points.get(at).filter(|p| p.ts < until) {
                if let Some(x) = spec.quality.uses(p) {
                    b.push(p.ts, x);
                }
                at += 1;
            }
        };
        for (_, m) in &summarised {
            // No raw point lies in the chunk's range: those before it go first.
            feed(&mut b, m.min_ts);
            if let Some(s) = m
                .summary
                .as_ref()
                .and_then(|cs| cs.for_filter(spec.quality))
            {
                b.push_summary(s);
            }
        }
        feed(&mut b, i64::MAX);
        self.inner.stats.summary_chunks.fetch_add(
            summarised.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(b)
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
fn summarisable(snap: &Snapshot, key: &SeriesKey, spec: &WindowSpec) -> Vec<(usize, ChunkMeta)> {
    let version = &snap.version;
    // Every source's time range, marked with the chunk when it is a candidate.
    type Range = (i64, i64, Option<(usize, ChunkMeta)>);
    let mut ranges: Vec<Range> = Vec::new();
    for (i, seg) in version.segments.iter().enumerate() {
        let Some(si) = seg.get(key) else { continue };
        let hidden = version.tombstones.hidden(key, seg.seq());
        for m in &si.chunks {
            if m.max_ts < spec.start || m.min_ts >= spec.end || hidden.covers(m.min_ts, m.max_ts) {
                continue;
            }
            let candidate = m.min_ts >= spec.start
                && m.max_ts < spec.end
                && spec.index(m.min_ts) == spec.index(m.max_ts)
                && m.summary
                    .is_some_and(|cs| cs.for_filter(spec.quality).is_some())
                && !hidden.overlaps(m.min_ts, m.max_ts);
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
    out
}
