//! Compaction: merges the files of one tier and time partition into one, newest write
//! winning, without the points tombstones hide and without series whose retention has
//! passed, re-coding chunks that changed and compressing cold ones (zstd) where it pays.
//!
//! Crash safety: the output is complete and durable (tmp, fsync, rename, fsync folder)
//! before it replaces its inputs in the version, and inputs are deleted only after that. Its
//! header says which files it replaces (same tier and partition, `replaces_from ≤ seq ≤ its
//! seq`, lower generation); a crash before they are deleted leaves both, which read the same
//! (the output wins ties), and open deletes the replaced ones. Memory is bounded by one
//! series' points in one partition; writes are paced to `compact_bytes_per_sec`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Engine, Inner};
use crate::codec::{cold, Encoding};
use crate::error::{Error, Result};
use crate::fsutil::sync_dir;
use crate::head::encode_parts;
use crate::head::{ChunkLimits, ClosedChunk};
use crate::point::{Point, Quality, Value, ValueType};
use crate::query::merge::merge_slices;
use crate::retention;
use crate::rollup::read as rollup_read;
use crate::segment::reader::Segment;
use crate::segment::writer::SegmentWriter;
use crate::segment::{ChunkMeta, SegmentInfo, RAW};
use crate::series::SeriesKey;
use crate::version::Version;

/// What one compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Partitions merged.
    pub partitions: u64,
    /// Files read and deleted.
    pub files_in: u64,
    /// Files written.
    pub files_out: u64,
    /// Bytes of the files read.
    pub bytes_in: u64,
    /// Bytes of the files written.
    pub bytes_out: u64,
}

/// The files of one tier and time partition, oldest first.
type Group = Vec<Arc<Segment>>;

impl Engine {
    /// Merges every time partition that has more than one file, or hidden or expired
    /// data in one, at `now` (nanoseconds since the epoch, for retention). Blocks until
    /// done; writes continue meanwhile.
    pub fn compact(&self, now: i64) -> Result<CompactReport> {
        compact(&self.inner, now, |_| true)
    }

    /// Applies retention at `now` (nanoseconds since the epoch): deletes every file whose
    /// series have all outlived their TTL in that file's tier, for the whole of its time
    /// partition. Files that also hold series kept longer are rewritten without the
    /// expired ones by [`Engine::compact`]. Returns the files and bytes deleted.
    pub fn apply_retention(&self, now: i64) -> Result<(u64, u64)> {
        apply_retention(&self.inner, now)
    }
}

/// See [`Engine::apply_retention`].
pub(super) fn apply_retention(inner: &Arc<Inner>, now: i64) -> Result<(u64, u64)> {
    let rules = &inner.opts.retention;
    if rules.is_empty() {
        return Ok((0, 0));
    }
    let _one_at_a_time = inner.compact_lock.lock();
    let version = inner.version.read().clone();
    let expired: Group = {
        let catalog = inner.catalog.read();
        version
            .segments
            .iter()
            .chain(&version.rollups)
            .filter(|seg| {
                let i = seg.info();
                seg.series_ids().all(|id| {
                    catalog
                        .by_id(id)
                        .is_some_and(|e| retention::expired(rules, &e.key, i.tier, i.last_ts, now))
                })
            })
            .cloned()
            .collect()
    };
    if expired.is_empty() {
        return Ok((0, 0));
    }
    let bytes = expired.iter().map(|s| s.size()).sum();
    install(inner, &expired, None)?;
    keep_forgotten(inner, expired.iter().flat_map(|s| s.series_ids()))?;
    // The newest point of a series may have gone with its file.
    let ids: BTreeSet<u32> = expired
        .iter()
        .filter(|s| s.info().tier == RAW)
        .flat_map(|s| s.series_ids())
        .collect();
    refresh_latest(inner, &ids)?;
    inner
        .stats
        .retention_drops
        .fetch_add(expired.len() as u64, Ordering::Relaxed);
    Ok((expired.len() as u64, bytes))
}

/// Series stay known for good, also once retention has dropped every file that named them:
/// of `ids`, those that no file names any more are marked kept, and the `metadata` file,
/// which lists them from then on, is rewritten before this returns.
fn keep_forgotten(inner: &Inner, ids: impl Iterator<Item = u32>) -> Result<()> {
    let version = inner.version.read().clone();
    let named = |id: u32| {
        version
            .segments
            .iter()
            .chain(&version.rollups)
            .any(|s| s.contains(id))
    };
    let mut marked = false;
    {
        let catalog = inner.catalog.read();
        for id in ids.collect::<BTreeSet<u32>>() {
            let Some(entry) = catalog.by_id(id) else {
                continue;
            };
            let elsewhere = entry.is_kept()
                || entry.metadata().is_some()
                || version.tombstones.get(&entry.key).is_some();
            if !elsewhere && !named(id) {
                entry.keep();
                marked = true;
            }
        }
    }
    if marked {
        inner.metadata_changes.fetch_add(1, Ordering::Release);
        let mut side_files = inner.flush_lock.lock();
        super::flush::write_side_files(inner, &mut side_files)?;
    }
    Ok(())
}

/// Recomputes the newest visible point of series `ids` after their data was dropped.
fn refresh_latest(inner: &Inner, ids: &BTreeSet<u32>) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let catalog = inner.catalog.read();
    let head = inner.head.read();
    let version = inner.version.read().clone();
    for &id in ids {
        if let Some(entry) = catalog.by_id(id) {
            entry.set_latest(super::latest::newest_visible(
                &entry.key, id, &version, &head,
            )?);
        }
    }
    Ok(())
}

/// How often the background compaction looks at the store without being woken.
const INTERVAL: Duration = Duration::from_secs(60);

/// Asks the background compaction to look at the store.
pub(super) fn wake(inner: &Inner) {
    let mut c = inner.compact_wanted.lock();
    c.wanted = true;
    inner.compact_cv.notify_one();
}

/// The background compaction: after flushes and every [`INTERVAL`], applies retention and
/// merges partitions that have `compact_files` files, or that are over and have more than
/// one, or that hold hidden or expired data.
pub(super) fn run(inner: Arc<Inner>) {
    loop {
        {
            let mut c = inner.compact_wanted.lock();
            if !c.wanted && !c.shutdown {
                inner.compact_cv.wait_for(&mut c, INTERVAL);
            }
            if c.shutdown {
                return;
            }
            c.wanted = false;
        }
        let now = crate::options::wall_clock_nanos();
        if let Err(e) = apply_retention(&inner, now) {
            tracing::error!(error = %e, "retention failed; will retry");
        }
        let many = inner.opts.compact_files.max(2);
        let wanted = |g: &Group| g.len() >= many || g.len() == 1 || g[0].info().last_ts < now;
        match compact(&inner, now, wanted) {
            Ok(r) if r.partitions > 0 => tracing::info!(
                partitions = r.partitions,
                files_in = r.files_in,
                bytes_in = r.bytes_in,
                bytes_out = r.bytes_out,
                "compacted"
            ),
            Ok(_) | Err(Error::Closed) => {}
            Err(e) => tracing::error!(error = %e, "compaction failed; will retry"),
        }
    }
}

/// Merges the groups for which `wanted` is true (and that need it) at time `now`.
pub(super) fn compact(
    inner: &Arc<Inner>,
    now: i64,
    wanted: impl Fn(&Group) -> bool,
) -> Result<CompactReport> {
    let _one_at_a_time = inner.compact_lock.lock();
    let mut report = CompactReport::default();
    let version = inner.version.read().clone();
    for group in groups(&version) {
        if group.len() < 2 && !has_dropped_data(inner, &version, &group, now)? {
            continue;
        }
        if !wanted(&group) {
            continue;
        }
        let mut expired = BTreeSet::new();
        let out = merge(inner, &version, &group, now, &mut expired)?;
        install(inner, &group, out.clone())?;
        keep_forgotten(inner, expired.iter().copied())?;
        refresh_latest(inner, &expired)?;
        report.partitions += 1;
        report.files_in += group.len() as u64;
        report.bytes_in += group.iter().map(|s| s.size()).sum::<u64>();
        if let Some(seg) = out {
            report.files_out += 1;
            report.bytes_out += seg.size();
        }
    }
    inner
        .stats
        .compactions
        .fetch_add(report.partitions, Ordering::Relaxed);
    Ok(report)
}

/// The files of every (tier, partition), oldest first; files of format version 1 (no
/// partition) are left alone.
fn groups(version: &Version) -> Vec<Group> {
    let mut by: BTreeMap<(i64, i64, i64), Group> = BTreeMap::new();
    for seg in version.segments.iter().chain(&version.rollups) {
        let i = seg.info();
        if i.first_ts == i64::MIN && i.last_ts == i64::MAX {
            continue;
        }
        by.entry((i.tier, i.first_ts, i.last_ts))
            .or_default()
            .push(seg.clone());
    }
    by.into_values()
        .map(|mut g| {
            g.sort_by_key(|s| (s.seq(), s.info().generation, s.id()));
            g
        })
        .collect()
}

/// True when a file of `group` holds points a tombstone hides or series whose retention
/// has passed: merging it alone drops them.
fn has_dropped_data(inner: &Inner, version: &Version, group: &Group, now: i64) -> Result<bool> {
    for seg in group {
        let info = seg.info();
        let entries = super::entries_of(inner, seg.series_ids())?;
        for entry in entries {
            let key = &entry.key;
            if retention::expired(&inner.opts.retention, key, info.tier, info.last_ts, now) {
                return Ok(true);
            }
            if info.tier != RAW {
                continue;
            }
            let h = version.tombstones.hidden(key, seg.seq());
            if h.is_empty() {
                continue;
            }
            let Some(si) = seg.get(entry.id)? else {
                continue;
            };
            if si.chunks.iter().any(|m| h.overlaps(m.min_ts, m.max_ts)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Writes the merge of `group`; `None` when nothing is left in it. Adds to `expired` the
/// series left out because their retention has passed.
fn merge(
    inner: &Inner,
    version: &Version,
    group: &Group,
    now: i64,
    expired: &mut BTreeSet<u32>,
) -> Result<Option<Arc<Segment>>> {
    let first = group[0].info();
    let info = SegmentInfo {
        seq: group.iter().map(|s| s.seq()).max().unwrap_or(first.seq),
        generation: group.iter().map(|s| s.info().generation).max().unwrap_or(0) + 1,
        replaces_from: group
            .iter()
            .map(|s| s.info().replaces_from)
            .min()
            .unwrap_or(first.seq),
        ..*first
    };
    let ids: BTreeSet<u32> = group.iter().flat_map(|s| s.series_ids()).collect();
    let mut entries = super::entries_of(inner, ids.into_iter())?;
    // The file lists its series in key order, as a flush writes them.
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    let id = inner.next_file_id.fetch_add(1, Ordering::Relaxed);
    let mut w = SegmentWriter::create(&inner.segment_dir, id, &info)?;
    let mut pace = Pace::new(inner.opts.compact_bytes_per_sec);
    let limits = inner.chunk_limits();
    for entry in &entries {
        let key = &entry.key;
        if inner.compact_stop.load(Ordering::Relaxed) {
            drop(w);
            let tmp = crate::segment::file_path(&inner.segment_dir, id).with_extension("seg.tmp");
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Closed);
        }
        if retention::expired(&inner.opts.retention, key, info.tier, info.last_ts, now) {
            expired.insert(entry.id);
            continue;
        }
        let vt = entry.value_type;
        let chunks = if info.tier == RAW {
            raw_chunks(version, group, (entry.id, key), vt, limits)?
        } else {
            let series = (entry.id, key);
            let buckets = rollup_read::buckets(group, series, info.tier, i64::MIN, i64::MAX)?;
            let buckets: Vec<_> = buckets.into_iter().map(|s| s.bucket).collect();
            buckets
                .chunks(crate::rollup::chunk::MAX_BUCKETS)
                .map(|b| super::rollups::bucket_chunk(key, b))
                .collect::<Result<Vec<_>>>()?
        };
        let before = w.len();
        w.add(key, vt, &chunks)?;
        pace.wrote(w.len() - before);
    }
    if w.is_empty() {
        drop(w);
        let tmp = crate::segment::file_path(&inner.segment_dir, id).with_extension("seg.tmp");
        std::fs::remove_file(&tmp).map_err(|e| Error::io("remove", &tmp, e))?;
        return Ok(None);
    }
    let path = w.finish()?;
    Ok(Some(Arc::new(super::open_known(inner, &path, id)?)))
}

/// The chunks of `key` merged from the raw files of `group`: copied when no two of them
/// overlap in time, nothing of them is hidden and they are not mostly small (compressed
/// cold first when old enough), else decoded, merged (newest write winning) and coded
/// afresh into as few chunks as the chunk size allows.
fn raw_chunks(
    version: &Version,
    group: &Group,
    (id, key): (u32, &SeriesKey),
    vt: ValueType,
    limits: ChunkLimits,
) -> Result<Vec<ClosedChunk>> {
    let mut holders: Vec<(&Arc<Segment>, Vec<ChunkMeta>)> = Vec::new();
    for seg in group {
        if let Some(si) = seg.get(id)? {
            holders.push((seg, si.chunks));
        }
    }
    let mut all: Vec<(&Arc<Segment>, &ChunkMeta)> = Vec::new();
    let mut hidden_any = false;
    for (seg, chunks) in &holders {
        let hidden = version.tombstones.hidden(key, seg.seq());
        for m in chunks {
            hidden_any |= hidden.overlaps(m.min_ts, m.max_ts);
            all.push((seg, m));
        }
    }
    all.sort_by_key(|(_, m)| m.min_ts);
    let disjoint = all.windows(2).all(|w| w[0].1.max_ts < w[1].1.min_ts);
    // A slow tag gets a chunk of a few points at every flush; merged, its partition holds
    // one chunk, which pays its framing, index entry, summary and coder tables once.
    // Chunks that are mostly full are copied as they are: re-coding them gains little.
    let points: usize = all.iter().map(|(_, m)| m.count as usize).sum();
    let fragmented = all.len() > 1 && points < all.len() * limits.max_points / 4;
    if disjoint && !hidden_any && !fragmented {
        return all
            .into_iter()
            .map(|(seg, m)| copy_chunk(seg, m, vt, limits.cold_before))
            .collect();
    }
    let mut sources = Vec::with_capacity(holders.len());
    for (seg, chunks) in &holders {
        let mut pts = Vec::with_capacity(chunks.iter().map(|m| m.count as usize).sum());
        for m in chunks {
            seg.decode_chunk(key, m, &mut pts)?;
        }
        version.tombstones.hidden(key, seg.seq()).filter(&mut pts);
        sources.push(pts);
    }
    let slices: Vec<&[Point]> = sources.iter().map(Vec::as_slice).collect();
    let merged = merge_slices(&slices);
    let mut chunks = Vec::new();
    encode_parts(vt, &merged, limits, &mut chunks)
        .map_err(|e| Error::corrupt("<compaction in memory>", 0, format!("series {key}: {e}")))?;
    Ok(chunks)
}

/// A stored chunk as it is, or compressed cold when it is older than `cold_before` and that
/// pays.
fn copy_chunk(
    seg: &Segment,
    m: &ChunkMeta,
    vt: ValueType,
    cold_before: i64,
) -> Result<ClosedChunk> {
    let bytes = seg.chunk_bytes(m)?;
    let packed = bytes.first() == Some(&Encoding::Packed.code());
    let bytes = match (m.max_ts < cold_before && packed)
        .then(|| cold::wrap(bytes))
        .flatten()
    {
        Some(wrapped) => wrapped,
        None => bytes.to_vec(),
    };
    Ok(ClosedChunk {
        bytes: bytes.into(),
        count: m.count,
        min_ts: m.min_ts,
        max_ts: m.max_ts,
        last: Point::with_quality(
            m.max_ts,
            Value::from_bits(vt, m.last_bits),
            Quality(m.last_quality),
        ),
        summary: m.summary,
    })
}

/// Replaces `group` by `out` in the version, then deletes the group's files.
fn install(inner: &Inner, group: &Group, out: Option<Arc<Segment>>) -> Result<()> {
    {
        let mut version = inner.version.write();
        let mut next = Version::clone(&version);
        let gone = |s: &Arc<Segment>| group.iter().any(|g| g.id() == s.id());
        next.segments.retain(|s| !gone(s));
        next.rollups.retain(|s| !gone(s));
        if let Some(seg) = out {
            let list = if seg.info().tier == RAW {
                &mut next.segments
            } else {
                &mut next.rollups
            };
            list.push(seg);
            list.sort_by_key(|s| (s.seq(), s.info().generation, s.id()));
        }
        *version = Arc::new(next);
    }
    for seg in group {
        std::fs::remove_file(seg.path()).map_err(|e| Error::io("remove", seg.path(), e))?;
    }
    sync_dir(&inner.segment_dir)
}

/// Paces writes to a byte rate.
struct Pace {
    per_sec: u64,
    start: Instant,
    bytes: u64,
}

impl Pace {
    fn new(per_sec: u64) -> Pace {
        Pace {
            per_sec,
            start: Instant::now(),
            bytes: 0,
        }
    }

    fn wrote(&mut self, n: u64) {
        self.bytes += n;
        if self.per_sec == 0 {
            return;
        }
        let due = Duration::from_secs_f64(self.bytes as f64 / self.per_sec as f64);
        if let Some(wait) = due.checked_sub(self.start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}
