//! Flushing: freeze the active memtable at a WAL rotation point, write it to a segment file,
//! install the segment, then delete the WAL files it covers.
//!
//! Crash safety: the segment is complete and durable (tmp, fsync, rename, fsync folder)
//! before it is installed, and WAL files are deleted only after that. A crash in between
//! leaves both; replaying the WAL on top of the segment gives the same points, because WAL
//! replay lands in the head, which wins over every segment.
//!
//! Deletes and metadata updates live in the WAL too, so before WAL files go, the `tombstones`
//! and `metadata` files are rewritten (tmp, fsync, rename) with everything applied so far,
//! which includes every record of those files. A crash before the rename leaves the old file
//! and the WAL; replaying a delete again is harmless (see `open.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::commit::Pending;
use super::{Engine, Inner, SideFiles};
use crate::error::{Error, Result};
use crate::fsutil::sync_dir;
use crate::head::ClosedChunk;
use crate::metadata::file as metadata_file;
use crate::metadata::SeriesMetadata;
use crate::point::ValueType;
use crate::rollup::build::Touched;
use crate::segment::reader::Segment;
use crate::segment::writer::{write_segment, SeriesChunks};
use crate::segment::{partition, SegmentInfo, RAW};
use crate::series::SeriesKey;
use crate::tombstone::file as tombstone_file;
use crate::version::{Frozen, Version};
use crate::wal;

impl Engine {
    /// Moves everything written so far into a segment file and truncates the WAL. Blocks
    /// until done. Writes continue meanwhile into a fresh head.
    pub fn flush(&self) -> Result<()> {
        flush(&self.inner)
    }
}

/// The flusher thread: flushes when the committer asks (head or WAL past its threshold).
pub(super) fn run(inner: Arc<Inner>) {
    loop {
        {
            let mut f = inner.flush_wanted.lock();
            while !f.wanted && !f.shutdown {
                inner.flush_cv.wait(&mut f);
            }
            if f.shutdown {
                return;
            }
            f.wanted = false;
        }
        if let Err(e) = flush(&inner) {
            tracing::error!(error = %e, "background flush failed; will retry on the next trigger");
        }
    }
}

fn flush(inner: &Arc<Inner>) -> Result<()> {
    let mut side_files = inner.flush_lock.lock();
    freeze(inner)?;
    loop {
        let Some(frozen) = inner.version.read().frozen.first().cloned() else {
            break;
        };
        write_frozen(inner, &frozen, &mut side_files)?;
    }
    Ok(())
}

/// Rotates the WAL and queues a freeze of the active memtable at that point; returns when
/// the committer has done it. Does nothing when nothing was written since the last freeze.
fn freeze(inner: &Arc<Inner>) -> Result<()> {
    let ticket = {
        let mut wal = inner.wal.lock();
        if wal.shutdown {
            return Err(Error::Closed);
        }
        if wal.writer.is_empty() && inner.head.read().is_empty() {
            return Ok(());
        }
        let wal_seq_end = wal.writer.rotate()?;
        inner.wal_bytes.store(wal.writer.size(), Ordering::Relaxed);
        let seq = wal.next_seq;
        wal.next_seq += 1;
        wal.queue.push(Pending::Freeze { seq, wal_seq_end });
        inner.wal_cv.notify_one();
        super::Ticket {
            seq,
            inner: inner.clone(),
        }
    };
    ticket.wait()
}

/// Writes one frozen memtable to a new segment, installs it, brings the tombstone and
/// metadata files up to date, and deletes covered WAL files.
fn write_frozen(
    inner: &Arc<Inner>,
    frozen: &Arc<Frozen>,
    side_files: &mut SideFiles,
) -> Result<()> {
    let limits = inner.chunk_limits();
    let widths = inner.tier_widths();
    let current = inner.version.read().clone();
    let mut segs = Vec::new();
    // Raw chunks per series, and the rollup buckets its points and deletes touched.
    let mut series = Vec::new();
    let mut touched: BTreeMap<SeriesKey, (ValueType, u32, Touched)> = BTreeMap::new();
    {
        let catalog = inner.catalog.read();
        let entry_of = |id: u32| {
            catalog.by_id(id).cloned().ok_or_else(|| {
                Error::corrupt("<head in memory>", 0, format!("unknown series id {id}"))
            })
        };
        for (id, head) in frozen.memtable.iter() {
            let entry = entry_of(id)?;
            let mut touch = Touched::new(widths.len());
            let chunks = head
                .to_chunks(limits, &mut |pts| touch.points(&widths, pts))
                .map_err(|e| {
                    Error::corrupt("<head in memory>", 0, format!("series {}: {e}", entry.key))
                })?;
            touched.insert(entry.key.clone(), (entry.value_type, id, touch));
            series.push((entry, chunks));
        }
        if !widths.is_empty() {
            for &(id, start, end) in frozen.memtable.deletes() {
                let entry = entry_of(id)?;
                let (_, _, touch) = touched
                    .entry(entry.key.clone())
                    .or_insert_with(|| (entry.value_type, id, Touched::new(widths.len())));
                touch.deleted(&widths, &current.rollups, (id, &entry.key), start, end)?;
            }
        }
    }
    touched.values_mut().for_each(|t| t.2.finish());
    touched.retain(|_, t| !t.2.is_empty());
    // Tier files first: a crash before the raw files leaves buckets whose points are still
    // in the WAL, which replay puts back in the head (see `rollup`).
    let tiers = if touched.is_empty() {
        Vec::new()
    } else {
        super::rollups::write_tiers(inner, &current, Some(frozen), &touched, frozen.segment_seq)?
    };
    if !series.is_empty() {
        series.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        let chunks = series
            .iter()
            .flat_map(|(e, chunks)| chunks.iter().map(|c| (&e.key, e.value_type, c.clone())));
        segs = write_partitioned(inner, frozen.segment_seq, RAW, limits.partition, chunks)?;
    }
    {
        let mut version = inner.version.write();
        let mut next = Version::clone(&version);
        next.segments.extend(segs);
        next.rollups.extend(tiers);
        next.frozen.retain(|f| !Arc::ptr_eq(f, frozen));
        *version = Arc::new(next);
    }
    write_side_files(inner, side_files)?;
    delete_wal_below(inner, frozen.wal_seq_end)?;
    inner.stats.flushes.fetch_add(1, Ordering::Relaxed);
    super::compact::wake(inner);
    Ok(())
}

/// Writes `chunks` (in series key order, each series' in time order) with sequence number
/// `seq` into the files of tier `tier`: one per time partition of length `part_len`, which
/// each chunk's first point decides (no chunk crosses a partition). Returns them opened.
pub(super) fn write_partitioned<'a>(
    inner: &Inner,
    seq: u64,
    tier: i64,
    part_len: i64,
    chunks: impl IntoIterator<Item = (&'a SeriesKey, ValueType, ClosedChunk)>,
) -> Result<Vec<Arc<Segment>>> {
    let mut parts: BTreeMap<i64, Vec<SeriesChunks<'a>>> = BTreeMap::new();
    for (key, value_type, c) in chunks {
        let files = parts.entry(partition(c.min_ts, part_len).0).or_default();
        match files.last_mut() {
            Some(s) if s.key == key => s.chunks.push(c),
            _ => files.push(SeriesChunks {
                key,
                value_type,
                chunks: vec![c],
            }),
        }
    }
    let mut out = Vec::with_capacity(parts.len());
    for (first, series) in parts {
        let (first, last) = partition(first, part_len);
        let info = SegmentInfo::flushed(seq, tier, first, last);
        let id = inner.next_file_id.fetch_add(1, Ordering::Relaxed);
        let path = write_segment(&inner.segment_dir, id, &info, &series)?;
        out.push(Arc::new(super::open_known(inner, &path, id)?));
    }
    Ok(out)
}

/// Rewrites the tombstone and metadata files when something changed since they were last
/// written.
pub(super) fn write_side_files(inner: &Inner, written: &mut SideFiles) -> Result<()> {
    let tombstones = inner.version.read().tombstones.clone();
    if tombstones.changes() != written.tombstone_changes {
        tombstone_file::write(&inner.dir, &tombstones)?;
        written.tombstone_changes = tombstones.changes();
    }
    // Read the counter first: an update applied while the entries are collected bumps it
    // again, and the next flush writes the file once more.
    let changes = inner.metadata_changes.load(Ordering::Acquire);
    if changes != written.metadata_changes {
        let mut entries: Vec<metadata_file::Entry> = inner
            .catalog
            .read()
            .iter()
            .filter_map(|e| {
                let metadata = match e.metadata() {
                    Some(m) => (*m).clone(),
                    None if e.is_kept() => SeriesMetadata::default(),
                    None => return None,
                };
                Some(metadata_file::Entry {
                    key: e.key.clone(),
                    value_type: e.value_type,
                    metadata,
                })
            })
            .collect();
        metadata_file::write(&inner.dir, &mut entries)?;
        written.metadata_changes = changes;
    }
    Ok(())
}

fn delete_wal_below(inner: &Inner, end: u64) -> Result<()> {
    let mut removed = false;
    for seq in wal::recovery::list_files(&inner.wal_dir)? {
        if seq < end {
            let path = wal::file_path(&inner.wal_dir, seq);
            std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
            removed = true;
        }
    }
    if removed {
        sync_dir(&inner.wal_dir)?;
    }
    Ok(())
}
