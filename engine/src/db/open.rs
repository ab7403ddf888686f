//! Opening a data folder: lock, metadata and tombstone files, segments, WAL replay,
//! background threads.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock};

use super::commit::{self, Committed};
use super::latest::{newest_in_segment, newest_visible};
use super::{compact, flush, Counters, Engine, FlushSignal, Inner, SideFiles, WalState};
use crate::catalog::{Catalog, SeriesEntry};
use crate::error::{Error, Result};
use crate::fsutil::{create_dir, sync_dir};
use crate::head::{ChunkLimits, Memtable};
use crate::lock::DirLock;
use crate::metadata::file as metadata_file;
use crate::metadata::SeriesMetadata;
use crate::options::Options;
use crate::point::ValueType;
use crate::rollup::file::{self as rollup_file, Tier};
use crate::segment::reader::Segment;
use crate::segment::{self, RAW, SEGMENT_DIR};
use crate::series::SeriesKey;
use crate::tombstone::{file as tombstone_file, Tombstone, Tombstones};
use crate::version::Version;
use crate::wal::reader::WalFile;
use crate::wal::record::{BatchRecord, DeleteRecord, Record};
use crate::wal::{self, recovery, writer::WalWriter, WAL_DIR};

pub(super) fn open(dir: &Path, opts: Options) -> Result<Engine> {
    create_dir(dir)?;
    let lock = DirLock::acquire(dir)?;
    let wal_dir = dir.join(WAL_DIR);
    let segment_dir = dir.join(SEGMENT_DIR);
    create_dir(&wal_dir)?;
    create_dir(&segment_dir)?;
    tombstone_file::KIND.remove_leftover(dir)?;
    metadata_file::KIND.remove_leftover(dir)?;

    let mut catalog = Catalog::default();
    for e in metadata_file::read(dir)? {
        let entry = register(
            &mut catalog,
            &e.key,
            e.value_type,
            &metadata_file::KIND.path(dir),
        )?;
        // An entry without metadata keeps a series known that no data file names.
        if e.metadata == SeriesMetadata::default() {
            entry.keep();
        } else {
            entry.set_metadata(Arc::new(e.metadata));
        }
    }
    let tombstones = tombstone_file::read(dir)?;
    for (key, st) in tombstones.iter() {
        register(
            &mut catalog,
            key,
            st.value_type,
            &tombstone_file::KIND.path(dir),
        )?;
    }
    let segments = open_segments(&segment_dir, &mut catalog, &tombstones)?;
    // A tombstone may name the number of a segment that a crash kept from being written;
    // a later segment must not reuse it, or the tombstone would hide newer points.
    let next_segment_seq = segments
        .iter()
        .map(|s| s.seq() + 1)
        .max()
        .unwrap_or(1)
        .max(tombstones.max_segment_seq() + 1);
    let next_file_id = segments.iter().map(|s| s.id() + 1).max().unwrap_or(1);
    let (segments, rollups): (Vec<_>, Vec<_>) =
        segments.into_iter().partition(|s| s.info().tier == RAW);
    let (tiers, rollups) = kept_tiers(dir, &opts, &segments, rollups, next_segment_seq)?;
    let side_files = SideFiles {
        tombstone_changes: tombstones.changes(),
        metadata_changes: 0,
    };
    let mut version = Version {
        segments,
        rollups,
        frozen: Vec::new(),
        tombstones: Arc::new(tombstones),
    };

    let limits = opts.chunk_limits();
    let mut head = Memtable::default();
    let mut replay = Replay {
        catalog: &mut catalog,
        version: &mut version,
        head: &mut head,
        limits,
        max_segment_seq: next_segment_seq - 1,
        records: 0,
        metadata_records: 0,
    };
    let last_wal = recovery::replay(&wal_dir, |file| replay.file(file))?;
    let (replayed, metadata_records) = (replay.records, replay.metadata_records);
    if replayed == 0 {
        // Header-only files from earlier clean runs: nothing to keep, so do not let them pile up.
        for seq in recovery::list_files(&wal_dir)? {
            let path = wal::file_path(&wal_dir, seq);
            std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        }
    }
    let writer = WalWriter::create(&wal_dir, last_wal + 1)?;
    let wal_bytes = writer.size();
    let head_bytes = head.mem_bytes();

    let inner = Arc::new(Inner {
        dir: dir.to_path_buf(),
        wal_dir,
        segment_dir,
        opts,
        _lock: lock,
        catalog: RwLock::new(catalog),
        wal: Mutex::new(WalState {
            writer,
            queue: Vec::new(),
            next_seq: 1,
            unsynced: false,
            shutdown: false,
        }),
        wal_cv: Condvar::new(),
        committed: Mutex::new(Committed::default()),
        committed_cv: Condvar::new(),
        head: RwLock::new(head),
        head_bytes: AtomicUsize::new(head_bytes),
        wal_bytes: AtomicU64::new(wal_bytes),
        version: RwLock::new(Arc::new(version)),
        flush_lock: Mutex::new(side_files),
        flush_wanted: Mutex::new(FlushSignal::default()),
        flush_cv: Condvar::new(),
        next_segment_seq: AtomicU64::new(next_segment_seq),
        next_file_id: AtomicU64::new(next_file_id),
        tiers,
        compact_lock: Mutex::new(()),
        compact_wanted: Mutex::new(FlushSignal::default()),
        compact_cv: Condvar::new(),
        compact_stop: std::sync::atomic::AtomicBool::new(false),
        // Metadata replayed from the WAL is not in the metadata file yet.
        metadata_changes: AtomicU64::new(metadata_records),
        stats: Counters::default(),
    });
    let spawn = |name: &str, f: fn(Arc<Inner>)| {
        let inner = inner.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || f(inner))
            .map_err(|e| Error::io("spawn thread", dir, e))
    };
    let mut threads = vec![
        spawn("lodestone-commit", commit::run)?,
        spawn("lodestone-flush", flush::run)?,
    ];
    if inner.opts.background_compaction {
        threads.push(spawn("lodestone-compact", compact::run)?);
    }
    Ok(Engine {
        inner,
        threads,
        closed: false,
    })
}

/// Opens every segment in sequence order, registers its series, and takes the latest point
/// of each series from the chunk index (a later segment wins on equal timestamps), skipping
/// points that tombstones hide.
fn open_segments(
    dir: &Path,
    catalog: &mut Catalog,
    tombstones: &Tombstones,
) -> Result<Vec<Arc<Segment>>> {
    let mut ids = Vec::new();
    let mut removed_tmp = false;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".seg.tmp") {
            tracing::info!(file = %entry.path().display(), "removing unfinished segment left by a crash");
            std::fs::remove_file(entry.path()).map_err(|e| Error::io("remove", entry.path(), e))?;
            removed_tmp = true;
        } else if let Some(id) = segment::parse_file_name(&name) {
            ids.push(id);
        } else {
            tracing::warn!(file = %entry.path().display(), "ignoring unexpected file in segment folder");
        }
    }
    if removed_tmp {
        sync_dir(dir)?;
    }
    let mut segments = Vec::with_capacity(ids.len());
    for id in ids {
        let path = segment::file_path(dir, id);
        let seg = Segment::open(&path, id, &mut |text, vt| {
            if let Some(e) = catalog.get_text(text) {
                if e.value_type == vt {
                    return Ok(e.id);
                }
            }
            let key = SeriesKey::from_text(text).ok_or_else(|| {
                Error::corrupt(&path, 0, "a series key that decoded is not canonical")
            })?;
            Ok(register(catalog, &key, vt, &path)?.id)
        })?;
        segments.push(Arc::new(seg));
    }
    // Oldest first: a later file wins on equal timestamps.
    segments.sort_by_key(|s| (s.seq(), s.info().generation, s.id()));
    let segments = remove_replaced(dir, segments)?;
    for seg in segments.iter().filter(|s| s.info().tier == RAW) {
        for id in seg.series_ids() {
            let Some(entry) = catalog.by_id(id) else {
                continue;
            };
            let hidden = tombstones.hidden(&entry.key, seg.seq());
            if let Some(p) = newest_in_segment(seg, (id, &entry.key), &hidden)? {
                entry.offer_latest(p);
            }
        }
    }
    Ok(segments)
}

/// Deletes the files that a compacted file replaces (a crash kept compaction from deleting
/// them): same tier and partition, a lower generation, a seq in its `replaces_from..=seq`.
fn remove_replaced(dir: &Path, segments: Vec<Arc<Segment>>) -> Result<Vec<Arc<Segment>>> {
    let replaced = |s: &Segment| {
        let i = s.info();
        segments.iter().any(|c| {
            let ci = c.info();
            ci.generation > i.generation
                && (ci.tier, ci.first_ts, ci.last_ts) == (i.tier, i.first_ts, i.last_ts)
                && (ci.replaces_from..=ci.seq).contains(&i.seq)
        })
    };
    let (gone, kept): (Vec<_>, Vec<_>) = segments.iter().cloned().partition(|s| replaced(s));
    for seg in &gone {
        tracing::info!(file = %seg.path().display(), "removing a file that compaction replaced");
        std::fs::remove_file(seg.path()).map_err(|e| Error::io("remove", seg.path(), e))?;
    }
    if !gone.is_empty() {
        sync_dir(dir)?;
    }
    Ok(kept)
}

/// The catalog entry of `key`, registered with type `vt` if new; a known series with another
/// type means the store contradicts itself: an error naming `path`, the file that says so.
fn register(
    catalog: &mut Catalog,
    key: &SeriesKey,
    vt: ValueType,
    path: &Path,
) -> Result<Arc<SeriesEntry>> {
    match catalog.get(key) {
        Some(e) if e.value_type != vt => Err(Error::corrupt(
            path,
            0,
            format!(
                "series {key} is {vt} here but {} in files read before",
                e.value_type
            ),
        )),
        Some(e) => Ok(e.clone()),
        None => Ok(catalog.insert(key.clone(), vt)),
    }
}

/// WAL replay into the head, the catalog and the version's tombstones, record by record in
/// log order, as the committer applied them before the restart.
///
/// A replayed delete gets a tombstone over every segment present at open. That may hide
/// points a segment holds from writes logged after the delete (a crash came between writing
/// that segment and deleting its WAL files), but those writes come later in this same replay
/// and land in the head, which is not hidden: the result is what it was before the crash.
struct Replay<'a> {
    catalog: &'a mut Catalog,
    version: &'a mut Version,
    head: &'a mut Memtable,
    limits: ChunkLimits,
    max_segment_seq: u64,
    records: usize,
    metadata_records: u64,
}

impl Replay<'_> {
    fn file(&mut self, file: &WalFile) -> Result<()> {
        self.records += file.records.len();
        let mut local: HashMap<u32, (u32, ValueType)> = HashMap::new();
        for rec in &file.records {
            match rec {
                Record::Batch(b) => self.batch(file, b, &mut local)?,
                Record::Delete(d) => self.delete(file, d)?,
                Record::Metadata(m) => {
                    let entry = register(self.catalog, &m.key, m.value_type, &file.path)?;
                    entry.set_metadata(Arc::new(m.metadata.clone()));
                    self.metadata_records += 1;
                }
            }
        }
        Ok(())
    }

    fn batch(
        &mut self,
        file: &WalFile,
        rec: &BatchRecord,
        local: &mut HashMap<u32, (u32, ValueType)>,
    ) -> Result<()> {
        for def in &rec.defs {
            let entry = register(self.catalog, &def.key, def.value_type, &file.path)?;
            local.insert(def.id, (entry.id, entry.value_type));
        }
        for (local_id, points) in &rec.writes {
            let Some(&(id, vt)) = local.get(local_id) else {
                return Err(Error::corrupt(
                    &file.path,
                    0,
                    format!("record uses undefined series id {local_id}"),
                ));
            };
            if let Some(p) = points.iter().find(|p| p.value.value_type() != vt) {
                return Err(Error::corrupt(
                    &file.path,
                    0,
                    format!("point at {} has the wrong type", p.ts),
                ));
            }
            self.head.apply(id, vt, points, self.limits);
            if let (Some(e), Some(p)) = (self.catalog.by_id(id), commit::newest_point(points)) {
                e.offer_latest(p);
            }
        }
        Ok(())
    }

    fn delete(&mut self, file: &WalFile, d: &DeleteRecord) -> Result<()> {
        let entry = register(self.catalog, &d.key, d.value_type, &file.path)?;
        self.head
            .delete_range(entry.id, d.start, d.end, self.limits)
            .map_err(|e| Error::corrupt("<head in memory>", 0, format!("series {}: {e}", d.key)))?;
        let tombstone = Tombstone {
            start: d.start,
            end: d.end,
            max_segment_seq: self.max_segment_seq,
        };
        Arc::make_mut(&mut self.version.tombstones).add(&d.key, d.value_type, tombstone);
        if entry
            .latest()
            .is_some_and(|p| p.ts >= d.start && p.ts < d.end)
        {
            entry.set_latest(newest_visible(&d.key, entry.id, self.version, self.head)?);
        }
        Ok(())
    }
}

/// The tiers this store keeps from now on, and their files. A configured tier the store did
/// not keep before covers only what is flushed from now on (`since`) when raw segments
/// exist already. Files of tiers no longer configured, or not kept until now, are deleted:
/// nothing keeps them up to date.
fn kept_tiers(
    dir: &Path,
    opts: &Options,
    raw: &[Arc<Segment>],
    rollups: Vec<Arc<Segment>>,
    next_seq: u64,
) -> Result<(Vec<Tier>, Vec<Arc<Segment>>)> {
    rollup_file::KIND.remove_leftover(dir)?;
    let recorded = rollup_file::read(dir)?;
    let since_new = if raw.is_empty() { 0 } else { next_seq };
    let tiers: Vec<Tier> = opts
        .tier_widths()
        .into_iter()
        .map(|width| {
            let known = recorded.iter().flatten().find(|t| t.width == width);
            known.copied().unwrap_or(Tier {
                width,
                since: since_new,
            })
        })
        .collect();
    let kept = |w: i64| {
        recorded.iter().flatten().any(|t| t.width == w) && tiers.iter().any(|t| t.width == w)
    };
    let mut files = Vec::with_capacity(rollups.len());
    let mut removed = false;
    for seg in rollups {
        if kept(seg.info().tier) {
            files.push(seg);
        } else {
            tracing::info!(file = %seg.path().display(), "removing the file of a tier no longer kept");
            std::fs::remove_file(seg.path()).map_err(|e| Error::io("remove", seg.path(), e))?;
            removed = true;
        }
    }
    if removed {
        sync_dir(&dir.join(SEGMENT_DIR))?;
    }
    if recorded.as_deref() != Some(&tiers[..]) {
        rollup_file::write(dir, &tiers)?;
    }
    Ok((tiers, files))
}
