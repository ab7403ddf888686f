//! Opening a data folder: lock, segments, WAL replay, background threads.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock};

use super::commit::{self, Committed};
use super::{flush, Counters, Engine, FlushSignal, Inner, WalState};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::fsutil::{create_dir, sync_dir};
use crate::head::{ChunkLimits, Memtable};
use crate::lock::DirLock;
use crate::options::Options;
use crate::point::{Point, Quality, Value};
use crate::segment::reader::Segment;
use crate::segment::{self, SEGMENT_DIR};
use crate::version::Version;
use crate::wal::{self, recovery, writer::WalWriter, WAL_DIR};

pub(super) fn open(dir: &Path, opts: Options) -> Result<Engine> {
    create_dir(dir)?;
    let lock = DirLock::acquire(dir)?;
    let wal_dir = dir.join(WAL_DIR);
    let segment_dir = dir.join(SEGMENT_DIR);
    create_dir(&wal_dir)?;
    create_dir(&segment_dir)?;

    let mut catalog = Catalog::default();
    let segments = open_segments(&segment_dir, &mut catalog)?;
    let next_segment_seq = segments.last().map_or(1, |s| s.seq() + 1);

    let limits = ChunkLimits {
        max_points: opts.chunk_max_points,
        max_bytes: opts.chunk_max_bytes,
    };
    let mut head = Memtable::default();
    let mut replayed = 0usize;
    let last_wal = recovery::replay(&wal_dir, |file| {
        replayed += file.records.len();
        let mut local: HashMap<u32, (u32, crate::point::ValueType)> = HashMap::new();
        for rec in &file.records {
            for def in &rec.defs {
                let entry = match catalog.get(&def.key) {
                    Some(e) if e.value_type != def.value_type => {
                        return Err(Error::corrupt(
                            &file.path,
                            0,
                            format!(
                                "series {} defined as {} but stored as {}",
                                def.key, def.value_type, e.value_type
                            ),
                        ))
                    }
                    Some(e) => e.clone(),
                    None => catalog.insert(def.key.clone(), def.value_type),
                };
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
                head.apply(id, vt, points, limits);
                if let (Some(e), Some(p)) = (catalog.by_id(id), commit::newest_point(points)) {
                    e.offer_latest(p);
                }
            }
        }
        Ok(())
    })?;
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
        version: RwLock::new(Arc::new(Version {
            segments,
            frozen: Vec::new(),
        })),
        flush_lock: Mutex::new(()),
        flush_wanted: Mutex::new(FlushSignal::default()),
        flush_cv: Condvar::new(),
        next_segment_seq: AtomicU64::new(next_segment_seq),
        stats: Counters::default(),
    });
    let spawn = |name: &str, f: fn(Arc<Inner>)| {
        let inner = inner.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || f(inner))
            .map_err(|e| Error::io("spawn thread", dir, e))
    };
    let threads = vec![
        spawn("lodestone-commit", commit::run)?,
        spawn("lodestone-flush", flush::run)?,
    ];
    Ok(Engine {
        inner,
        threads,
        closed: false,
    })
}

/// Opens every segment in sequence order, registers its series, and takes the latest point
/// of each series from the chunk index (a later segment wins on equal timestamps).
fn open_segments(dir: &Path, catalog: &mut Catalog) -> Result<Vec<Arc<Segment>>> {
    let mut seqs = Vec::new();
    let mut removed_tmp = false;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".seg.tmp") {
            tracing::info!(file = %entry.path().display(), "removing unfinished segment left by a crash");
            std::fs::remove_file(entry.path()).map_err(|e| Error::io("remove", entry.path(), e))?;
            removed_tmp = true;
        } else if let Some(seq) = segment::parse_file_name(&name) {
            seqs.push(seq);
        } else {
            tracing::warn!(file = %entry.path().display(), "ignoring unexpected file in segment folder");
        }
    }
    if removed_tmp {
        sync_dir(dir)?;
    }
    seqs.sort_unstable();
    let mut segments = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let path = segment::file_path(dir, seq);
        let seg = Segment::open(&path, seq)?;
        for (key, si) in seg.series() {
            let entry = match catalog.get(key) {
                Some(e) if e.value_type != si.value_type => {
                    return Err(Error::corrupt(
                        &path,
                        0,
                        format!(
                            "series {key} stored as {} here but {} in an older segment",
                            si.value_type, e.value_type
                        ),
                    ))
                }
                Some(e) => e.clone(),
                None => catalog.insert(key.clone(), si.value_type),
            };
            if let Some(m) = si.chunks.last() {
                entry.offer_latest(Point::with_quality(
                    m.max_ts,
                    Value::from_bits(si.value_type, m.last_bits),
                    Quality(m.last_quality),
                ));
            }
        }
        segments.push(Arc::new(seg));
    }
    Ok(segments)
}
