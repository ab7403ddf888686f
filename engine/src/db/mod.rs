//! The engine: opening a data folder, and the shared state behind [`Engine`].

mod aggregate;
pub use aggregate::{AggregatePath, MAX_WINDOWS};
mod checkpoint;
pub use checkpoint::CheckpointInfo;
pub use compact::CompactReport;
mod commit;
mod compact;
mod delete;
mod flush;
mod latest;
mod metadata;
mod open;
mod read;
mod rollups;
mod write;

pub use commit::Ticket;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, RwLock};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::head::{ChunkLimits, Memtable};
use crate::lock::DirLock;
use crate::options::Options;
use crate::point::{Point, ValueType};
use crate::series::SeriesKey;
use crate::version::Version;
use crate::wal::writer::WalWriter;
use commit::{Committed, Pending};

/// An open Lodestone store: a data folder with its WAL, head and segment files.
///
/// `Engine` is `Send + Sync`; share it with an `Arc`. Writes block the calling thread until
/// acknowledged ([`Engine::write`]) or can be awaited ([`Engine::write_async`]); reads never
/// wait for writers for longer than a head copy of one series.
#[derive(Debug)]
pub struct Engine {
    inner: Arc<Inner>,
    threads: Vec<JoinHandle<()>>,
    closed: bool,
}

/// State shared by the engine handle, its committer and its flusher.
#[derive(Debug)]
pub(crate) struct Inner {
    dir: PathBuf,
    wal_dir: PathBuf,
    segment_dir: PathBuf,
    opts: Options,
    _lock: DirLock,
    catalog: RwLock<Catalog>,
    wal: Mutex<WalState>,
    wal_cv: Condvar,
    committed: Mutex<Committed>,
    committed_cv: Condvar,
    head: RwLock<Memtable>,
    head_bytes: AtomicUsize,
    wal_bytes: AtomicU64,
    version: RwLock<Arc<Version>>,
    flush_lock: Mutex<SideFiles>,
    flush_wanted: Mutex<FlushSignal>,
    flush_cv: Condvar,
    /// The sequence number the next frozen memtable's segment gets.
    next_segment_seq: AtomicU64,
    /// Number of the next segment file written (names only; see `SegmentInfo`).
    next_file_id: AtomicU64,
    /// The rollup tiers kept, finest first.
    tiers: Vec<crate::rollup::file::Tier>,
    /// Held by the one compaction (or retention pass) running.
    compact_lock: Mutex<()>,
    /// Wakes the background compaction (after a flush) or stops it.
    compact_wanted: Mutex<FlushSignal>,
    compact_cv: Condvar,
    /// Set on shutdown: a running compaction gives up at the next series.
    compact_stop: std::sync::atomic::AtomicBool,
    /// Bumped by every applied metadata update; tells the flusher to rewrite the file.
    metadata_changes: AtomicU64,
    stats: Counters,
}

/// What the `tombstones` and `metadata` files hold, as change counters; kept under the flush
/// lock, the one place that writes them.
#[derive(Debug, Default)]
struct SideFiles {
    tombstone_changes: u64,
    metadata_changes: u64,
}

/// The WAL writer and the queue of logged batches not yet applied, in WAL order.
#[derive(Debug)]
struct WalState {
    writer: WalWriter,
    queue: Vec<Pending>,
    next_seq: u64,
    unsynced: bool,
    shutdown: bool,
}

#[derive(Debug, Default)]
struct FlushSignal {
    wanted: bool,
    shutdown: bool,
}

#[derive(Debug, Default)]
struct Counters {
    points: AtomicU64,
    batches: AtomicU64,
    fsyncs: AtomicU64,
    fsync_latency: crate::histogram::Histogram,
    fsync_nanos: AtomicU64,
    flushes: AtomicU64,
    summary_chunks: AtomicU64,
    rollup_buckets: AtomicU64,
    compactions: AtomicU64,
    retention_drops: AtomicU64,
}

/// A series as listed by [`Engine::list_series`].
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInfo {
    /// The key.
    pub key: SeriesKey,
    /// Its value type.
    pub value_type: ValueType,
    /// Its newest point.
    pub latest: Option<Point>,
}

/// A snapshot of the engine's counters and sizes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Known series.
    pub series: u64,
    /// Segment files.
    pub segments: u64,
    /// Bytes in segment files.
    pub segment_bytes: u64,
    /// Bytes in the current WAL file.
    pub wal_bytes: u64,
    /// Approximate bytes held by the active head.
    pub head_bytes: u64,
    /// Frozen memtables waiting to be flushed.
    pub frozen_memtables: u64,
    /// Approximate bytes held by the frozen memtables.
    pub frozen_bytes: u64,
    /// Approximate bytes held by the catalog: series entries, their keys, the key table.
    pub catalog_bytes: u64,
    /// Approximate bytes held by the series index (postings lists).
    pub index_bytes: u64,
    /// Points written since open.
    pub points_written: u64,
    /// Batches written since open.
    pub batches_written: u64,
    /// WAL fsyncs by group commit since open.
    pub wal_fsyncs: u64,
    /// Total time spent in those fsyncs, in nanoseconds.
    pub wal_fsync_nanos: u64,
    /// Flushes completed since open.
    pub flushes: u64,
    /// Segment chunks that aggregates answered from their index summaries, without
    /// decoding, since open.
    pub summary_chunks: u64,
    /// Rollup buckets that aggregates used in place of raw points, since open.
    pub rollup_buckets: u64,
    /// Time partitions compacted since open.
    pub compactions: u64,
    /// Files deleted by retention since open.
    pub retention_drops: u64,
    /// How long those fsyncs took, one observation each.
    pub wal_fsync_histogram: crate::histogram::HistogramSnapshot,
}

impl Inner {
    fn chunk_limits(&self) -> ChunkLimits {
        self.opts.chunk_limits()
    }

    fn tier_widths(&self) -> Vec<i64> {
        self.tiers.iter().map(|t| t.width).collect()
    }

    fn request_flush(&self) {
        let mut f = self.flush_wanted.lock();
        if !f.wanted {
            f.wanted = true;
            self.flush_cv.notify_one();
        }
    }

    fn check_writable(&self) -> Result<()> {
        if let Some(reason) = &self.committed.lock().poisoned {
            return Err(Error::Poisoned {
                reason: reason.clone(),
            });
        }
        Ok(())
    }
}

/// The catalog entries of `ids`, taken under a short read lock so that long work over them
/// (a compaction) never holds the catalog against writers of new series.
fn entries_of(
    inner: &Inner,
    ids: impl Iterator<Item = u32>,
) -> Result<Vec<Arc<crate::catalog::SeriesEntry>>> {
    let catalog = inner.catalog.read();
    ids.map(|id| {
        catalog.by_id(id).cloned().ok_or_else(|| {
            Error::corrupt("<catalog in memory>", 0, format!("unknown series id {id}"))
        })
    })
    .collect()
}

/// Opens a segment file this engine wrote (a flush or compaction): every series it holds
/// is in the catalog already.
fn open_known(inner: &Inner, path: &Path, id: u64) -> Result<crate::segment::reader::Segment> {
    let catalog = inner.catalog.read();
    crate::segment::reader::Segment::open(path, id, &mut |text, _| {
        catalog.get_text(text).map(|e| e.id).ok_or_else(|| {
            let key = SeriesKey::from_text(text).map_or_else(String::new, |k| k.to_string());
            Error::corrupt(path, 0, format!("series {key} is not in the catalog"))
        })
    })
}

impl Engine {
    /// Opens (creating if needed) the store in `dir`: takes the folder lock, opens segment
    /// indexes, replays the WAL (cutting a torn tail), and starts the committer and flusher.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Engine> {
        open::open(dir.as_ref(), opts)
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The options it runs with.
    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// Every known series with its type and newest point, sorted by key.
    pub fn list_series(&self) -> Vec<SeriesInfo> {
        let catalog = self.inner.catalog.read();
        let mut out: Vec<SeriesInfo> = catalog
            .iter()
            .map(|e| SeriesInfo {
                key: e.key.clone(),
                value_type: e.value_type,
                latest: e.latest(),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// The keys of the series `selector` selects, sorted.
    pub fn select(&self, selector: &crate::select::Selector) -> Vec<SeriesKey> {
        let catalog = self.inner.catalog.read();
        let mut out: Vec<SeriesKey> = catalog
            .select(selector)
            .into_iter()
            .filter_map(|id| catalog.by_id(id).map(|e| e.key.clone()))
            .collect();
        drop(catalog);
        out.sort();
        out
    }

    /// One page of the series `selector` selects (every series without one), sorted by key:
    /// at most `limit` of them, starting after the key `after` when given. The last key of
    /// a page is the `after` of the next; a page shorter than `limit` is the last.
    pub fn list_series_page(
        &self,
        selector: Option<&crate::select::Selector>,
        after: Option<&SeriesKey>,
        limit: usize,
    ) -> Vec<SeriesInfo> {
        let catalog = self.inner.catalog.read();
        let mut ids = match selector {
            Some(s) => catalog.select(s),
            None => catalog.all_ids(),
        };
        ids.retain(|&id| after.is_none_or(|a| catalog.by_id(id).is_some_and(|e| e.key > *a)));
        let key_of = |id: u32| catalog.by_id(id).map(|e| &e.key);
        let limit = limit.min(ids.len());
        if limit < ids.len() {
            ids.select_nth_unstable_by(limit, |a, b| key_of(*a).cmp(&key_of(*b)));
            ids.truncate(limit);
        }
        ids.sort_by(|a, b| key_of(*a).cmp(&key_of(*b)));
        ids.iter()
            .filter_map(|&id| catalog.by_id(id))
            .map(|e| SeriesInfo {
                key: e.key.clone(),
                value_type: e.value_type,
                latest: e.latest(),
            })
            .collect()
    }

    /// Counters and sizes.
    pub fn stats(&self) -> Stats {
        let i = &self.inner;
        let version = i.version.read().clone();
        let (series, (catalog_bytes, index_bytes)) = {
            let catalog = i.catalog.read();
            (catalog.len() as u64, catalog.mem_bytes())
        };
        Stats {
            series,
            frozen_bytes: version
                .frozen
                .iter()
                .map(|f| f.memtable.mem_bytes() as u64)
                .sum(),
            catalog_bytes: catalog_bytes as u64,
            index_bytes: index_bytes as u64,
            segments: version.segments.len() as u64,
            segment_bytes: version.segments.iter().map(|s| s.size()).sum(),
            wal_bytes: i.wal_bytes.load(Ordering::Relaxed),
            head_bytes: i.head_bytes.load(Ordering::Relaxed) as u64,
            frozen_memtables: version.frozen.len() as u64,
            points_written: i.stats.points.load(Ordering::Relaxed),
            batches_written: i.stats.batches.load(Ordering::Relaxed),
            wal_fsyncs: i.stats.fsyncs.load(Ordering::Relaxed),
            wal_fsync_nanos: i.stats.fsync_nanos.load(Ordering::Relaxed),
            flushes: i.stats.flushes.load(Ordering::Relaxed),
            summary_chunks: i.stats.summary_chunks.load(Ordering::Relaxed),
            rollup_buckets: i.stats.rollup_buckets.load(Ordering::Relaxed),
            compactions: i.stats.compactions.load(Ordering::Relaxed),
            retention_drops: i.stats.retention_drops.load(Ordering::Relaxed),
            wal_fsync_histogram: i.stats.fsync_latency.snapshot(),
        }
    }

    /// Flushes (when the options say so), stops the background threads and releases the
    /// folder lock. Every acknowledged point is on disk afterwards whatever the options.
    pub fn close(mut self) -> Result<()> {
        let flushed = if self.inner.opts.flush_on_close {
            self.flush()
        } else {
            Ok(())
        };
        let stopped = self.shutdown();
        flushed.and(stopped)
    }

    fn shutdown(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        {
            let mut f = self.inner.flush_wanted.lock();
            f.shutdown = true;
            self.inner.flush_cv.notify_all();
        }
        {
            self.inner.compact_stop.store(true, Ordering::Relaxed);
            let mut c = self.inner.compact_wanted.lock();
            c.shutdown = true;
            self.inner.compact_cv.notify_all();
        }
        {
            let mut wal = self.inner.wal.lock();
            wal.shutdown = true;
            self.inner.wal_cv.notify_all();
        }
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                return Err(Error::Poisoned {
                    reason: "a background thread panicked".into(),
                });
            }
        }
        let wal = self.inner.wal.lock();
        wal.writer.sync()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "engine shutdown on drop failed");
        }
    }
}
