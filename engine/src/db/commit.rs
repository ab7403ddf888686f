//! Group commit: writers append to the WAL under a short lock and queue their batch; one
//! committer thread fsyncs once for every batch queued at that moment, applies them to the
//! head in WAL order, and only then wakes their writers. Applying in WAL order keeps last
//! write wins identical before and after a replay; applying after the fsync keeps
//! unacknowledged points invisible.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::Inner;
use crate::error::{Error, Result};
use crate::metadata::SeriesMetadata;
use crate::options::Durability;
use crate::point::{Point, ValueType};
use crate::series::SeriesKey;
use crate::tombstone::Tombstone;
use crate::version::{Frozen, Version};

/// A queued unit of work for the committer, in WAL order.
#[derive(Debug)]
pub(crate) enum Pending {
    /// A logged batch: per series id, its type and points.
    Batch { seq: u64, writes: Writes },
    /// A logged delete of `start <= ts < end` of series `id`.
    Delete {
        seq: u64,
        id: u32,
        key: SeriesKey,
        value_type: ValueType,
        start: i64,
        end: i64,
    },
    /// A logged metadata update of series `id`.
    Metadata {
        seq: u64,
        id: u32,
        metadata: Arc<SeriesMetadata>,
    },
    /// Freeze the active memtable here; WAL files below `wal_seq_end` are covered by it.
    Freeze { seq: u64, wal_seq_end: u64 },
}

impl Pending {
    fn seq(&self) -> u64 {
        match self {
            Pending::Batch { seq, .. }
            | Pending::Delete { seq, .. }
            | Pending::Metadata { seq, .. }
            | Pending::Freeze { seq, .. } => *seq,
        }
    }

    /// True for items that stand for a WAL record (everything but a freeze).
    fn is_logged(&self) -> bool {
        !matches!(self, Pending::Freeze { .. })
    }
}

/// What the committer has made durable and visible.
#[derive(Debug, Default)]
pub(crate) struct Committed {
    pub applied: u64,
    pub poisoned: Option<String>,
    pub wakers: Vec<(u64, Waker)>,
}

/// A queued write. Wait for it (blocking) with [`Ticket::wait`] or `.await` it; either ends
/// when the batch is durable under the configured mode and visible to readers.
#[must_use = "a write is acknowledged only when its ticket completes"]
#[derive(Debug)]
pub struct Ticket {
    pub(crate) seq: u64,
    pub(crate) inner: Arc<Inner>,
}

impl Ticket {
    fn check(&self, c: &Committed) -> Option<Result<()>> {
        if c.applied >= self.seq {
            return Some(Ok(()));
        }
        c.poisoned
            .as_ref()
            .map(|r| Err(Error::Poisoned { reason: r.clone() }))
    }

    /// Blocks the calling thread until the write is acknowledged or fails.
    pub fn wait(self) -> Result<()> {
        let mut c = self.inner.committed.lock();
        loop {
            if let Some(r) = self.check(&c) {
                return r;
            }
            self.inner.committed_cv.wait(&mut c);
        }
    }
}

impl Future for Ticket {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut c = self.inner.committed.lock();
        if let Some(r) = self.check(&c) {
            return Poll::Ready(r);
        }
        c.wakers.push((self.seq, cx.waker().clone()));
        Poll::Pending
    }
}

/// The committer thread's loop; returns when the engine shuts down and the queue is empty.
pub(crate) fn run(inner: Arc<Inner>) {
    let mut last_sync = Instant::now();
    loop {
        let (items, file, must_sync) = {
            let mut wal = inner.wal.lock();
            loop {
                if !wal.queue.is_empty() || wal.shutdown {
                    break;
                }
                match inner.opts.durability {
                    Durability::Interval(every) if wal.unsynced => {
                        let left = every.saturating_sub(last_sync.elapsed());
                        if left.is_zero() {
                            break;
                        }
                        inner.wal_cv.wait_for(&mut wal, left);
                    }
                    _ => inner.wal_cv.wait(&mut wal),
                }
            }
            if wal.queue.is_empty() && wal.shutdown {
                return;
            }
            let has_record = wal.queue.iter().any(Pending::is_logged);
            let must_sync = match inner.opts.durability {
                Durability::SyncEachBatch => has_record,
                Durability::Interval(every) => wal.unsynced && last_sync.elapsed() >= every,
                Durability::None => false,
            };
            if must_sync {
                wal.unsynced = false;
            }
            (
                std::mem::take(&mut wal.queue),
                wal.writer.file_handle(),
                must_sync,
            )
        };
        if must_sync {
            let (file, path) = file;
            let started = Instant::now();
            if let Err(e) = file.sync_data() {
                poison(
                    &inner,
                    format!("fsync of WAL {} failed: {e}", path.display()),
                );
                return;
            }
            last_sync = Instant::now();
            inner.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
            let took = started.elapsed();
            inner
                .stats
                .fsync_nanos
                .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
            inner.stats.fsync_latency.record(took);
        }
        if let Some(last) = items.last().map(Pending::seq) {
            if let Err(reason) = apply(&inner, items) {
                poison(&inner, reason);
                return;
            }
            let mut c = inner.committed.lock();
            c.applied = last;
            let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut c.wakers)
                .into_iter()
                .partition(|(s, _)| *s <= last);
            c.wakers = waiting;
            drop(c);
            inner.committed_cv.notify_all();
            ready.into_iter().for_each(|(_, w)| w.wake());
            maybe_request_flush(&inner);
        }
    }
}

/// The points of one logged batch, per series, in one allocation: a batch of many slow
/// series holds one or two points for each, and a vector apiece would cost more than the
/// points.
#[derive(Debug, Default)]
pub(super) struct Writes {
    points: Vec<Point>,
    /// Per series: id, type, and the end of its points in `points`.
    series: Vec<(u32, ValueType, u32)>,
}

impl Writes {
    /// Room for `series` series and `points` points.
    pub fn with_capacity(series: usize, points: usize) -> Writes {
        Writes {
            points: Vec::with_capacity(points),
            series: Vec::with_capacity(series),
        }
    }

    /// Adds the points of series `id`.
    pub fn push(&mut self, id: u32, vt: ValueType, points: &[Point]) {
        self.points.extend_from_slice(points);
        self.series.push((id, vt, self.points.len() as u32));
    }

    /// Per series: id, type and points, in the order pushed.
    pub fn iter(&self) -> impl Iterator<Item = (u32, ValueType, &[Point])> {
        let mut start = 0usize;
        self.series.iter().map(move |&(id, vt, end)| {
            let pts = &self.points[start..end as usize];
            start = end as usize;
            (id, vt, pts)
        })
    }
}

/// Applies committed items to the head, catalog and version, in WAL order. An error means
/// the in-memory state can no longer be trusted (a head chunk failed to decode): the caller
/// poisons the engine.
fn apply(inner: &Inner, items: Vec<Pending>) -> std::result::Result<(), String> {
    let limits = inner.chunk_limits();
    let catalog = inner.catalog.read();
    let mut head = inner.head.write();
    for item in items {
        match item {
            Pending::Batch { writes, .. } => {
                let mut points = 0u64;
                for (id, vt, pts) in writes.iter() {
                    head.apply(id, vt, pts, limits);
                    points += pts.len() as u64;
                    if let (Some(entry), Some(newest)) = (catalog.by_id(id), newest_point(pts)) {
                        entry.offer_latest(newest);
                    }
                }
                inner.stats.points.fetch_add(points, Ordering::Relaxed);
                inner.stats.batches.fetch_add(1, Ordering::Relaxed);
            }
            Pending::Delete {
                id,
                key,
                value_type,
                start,
                end,
                ..
            } => {
                head.delete_range(id, start, end, limits)
                    .map_err(|e| format!("delete in the head of {key} failed: {e}"))?;
                // Every segment sequence number given out so far belongs to a segment or a
                // frozen memtable that holds only writes logged before this delete.
                let tombstone = Tombstone {
                    start,
                    end,
                    max_segment_seq: inner.next_segment_seq.load(Ordering::Relaxed) - 1,
                };
                let next = {
                    let mut version = inner.version.write();
                    let mut next = Version::clone(&version);
                    Arc::make_mut(&mut next.tombstones).add(&key, value_type, tombstone);
                    let next = Arc::new(next);
                    *version = next.clone();
                    next
                };
                if let Some(entry) = catalog.by_id(id) {
                    if entry.latest().is_some_and(|p| p.ts >= start && p.ts < end) {
                        // A damaged segment fails reads of this series as well; latest then
                        // says "no point" rather than show the deleted one.
                        let newest = super::latest::newest_visible(&key, id, &next, &head)
                            .unwrap_or_else(|e| {
                                tracing::error!(series = %key, error = %e, "cannot recompute the latest point after a delete");
                                None
                            });
                        entry.set_latest(newest);
                    }
                }
            }
            Pending::Metadata { id, metadata, .. } => {
                if let Some(entry) = catalog.by_id(id) {
                    entry.set_metadata(metadata);
                }
                inner.metadata_changes.fetch_add(1, Ordering::Release);
            }
            Pending::Freeze { wal_seq_end, .. } => {
                let memtable = std::mem::take(&mut *head);
                let segment_seq = inner.next_segment_seq.fetch_add(1, Ordering::Relaxed);
                let mut version = inner.version.write();
                let mut next = Version::clone(&version);
                next.frozen.push(Arc::new(Frozen {
                    memtable,
                    segment_seq,
                    wal_seq_end,
                }));
                *version = Arc::new(next);
            }
        }
    }
    inner.head_bytes.store(head.mem_bytes(), Ordering::Relaxed);
    Ok(())
}

/// The point with the highest timestamp; the later one on ties.
pub(crate) fn newest_point(pts: &[Point]) -> Option<Point> {
    pts.iter()
        .copied()
        .reduce(|a, b| if b.ts >= a.ts { b } else { a })
}

fn maybe_request_flush(inner: &Inner) {
    let head = inner.head_bytes.load(Ordering::Relaxed);
    let wal = inner.wal_bytes.load(Ordering::Relaxed);
    if head >= inner.opts.head_flush_bytes || wal >= inner.opts.wal_flush_bytes {
        inner.request_flush();
    }
}

/// Marks the engine poisoned and fails every waiting writer.
pub(crate) fn poison(inner: &Inner, reason: String) {
    tracing::error!(%reason, "engine poisoned; refusing further writes");
    let mut c = inner.committed.lock();
    if c.poisoned.is_none() {
        c.poisoned = Some(reason);
    }
    let wakers = std::mem::take(&mut c.wakers);
    drop(c);
    inner.committed_cv.notify_all();
    wakers.into_iter().for_each(|(_, w)| w.wake());
}
