//! The write path: validate the whole batch, log it, queue it for the committer.

use hashbrown::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::MutexGuard;

use super::commit::{Pending, Ticket, Writes};
use super::{Engine, Inner, WalState};
use crate::batch::WriteBatch;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::point::{Point, ValueType};
use crate::series::SeriesKey;
use crate::wal::record::encode_batch;

impl Engine {
    /// Writes a batch atomically and returns once it is acknowledged: durable under the
    /// configured [`crate::Durability`] and visible to readers. Blocks the calling thread; from
    /// async code use [`Engine::write_async`].
    ///
    /// The batch is rejected whole, changing nothing, when it is empty, when a series has no
    /// points, or when a point's type differs from its series' type.
    pub fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.submit(batch)?.wait()
    }

    /// Like [`Engine::write`], but awaits the acknowledgement instead of blocking. Logging the
    /// batch is one short `write(2)` on the calling thread; the wait for the fsync is async.
    pub async fn write_async(&self, batch: &WriteBatch) -> Result<()> {
        self.submit(batch)?.await
    }

    /// Validates and logs a batch and returns a [`Ticket`] that completes when it is
    /// acknowledged. Many tickets can be in flight; they share fsyncs (group commit).
    pub fn submit(&self, batch: &WriteBatch) -> Result<Ticket> {
        let inner = &self.inner;
        inner.check_writable()?;
        if batch.is_empty() {
            return Err(Error::InvalidBatch {
                reason: "batch holds no series".into(),
            });
        }
        let frozen: usize = inner
            .version
            .read()
            .frozen
            .iter()
            .map(|f| f.memtable.mem_bytes())
            .sum();
        let head = inner.head_bytes.load(Ordering::Relaxed) + frozen;
        if head > inner.opts.head_max_bytes {
            inner.request_flush();
            return Err(Error::Overloaded {
                what: format!(
                    "head holds {head} bytes, limit {}; flush is behind",
                    inner.opts.head_max_bytes
                ),
            });
        }
        let resolved = resolve(inner, batch)?;
        let mut writes = Writes::with_capacity(resolved.len(), batch.len());
        for ((_, pts), &(id, vt)) in batch.entries().iter().zip(&resolved) {
            writes.push(id, vt, pts);
        }
        let wal = inner.wal.lock();
        if wal.shutdown {
            return Err(Error::Closed);
        }
        let mut defs = Vec::new();
        for ((key, _), &(id, vt)) in batch.entries().iter().zip(&resolved) {
            if !wal.writer.is_defined(id) && !defs.iter().any(|(d, _, _)| *d == id) {
                defs.push((id, vt, key));
            }
        }
        let refs: Vec<(u32, ValueType, &[Point])> = writes.iter().collect();
        let mut payload = Vec::with_capacity(64 + batch.len() * crate::wal::record::POINT_LEN);
        encode_batch(defs.iter().copied(), &refs, &mut payload);
        let ids: Vec<u32> = defs.iter().map(|(id, _, _)| *id).collect();
        append_and_queue(
            inner,
            wal,
            &payload,
            |w| ids.into_iter().for_each(|id| w.writer.mark_defined(id)),
            |seq| Pending::Batch { seq, writes },
        )
    }
}

/// Appends one record to the WAL under the caller's lock, runs `appended` on the WAL state
/// once the append succeeded, and queues `item(seq)` for the committer. A failed append
/// changes nothing (the writer cuts the file back) or, if even that failed, poisons the
/// engine.
pub(super) fn append_and_queue(
    inner: &Arc<Inner>,
    mut wal: MutexGuard<'_, WalState>,
    payload: &[u8],
    appended: impl FnOnce(&mut WalState),
    item: impl FnOnce(u64) -> Pending,
) -> Result<Ticket> {
    if let Err(e) = wal.writer.append(payload) {
        if let Error::Poisoned { reason } = &e {
            drop(wal);
            super::commit::poison(inner, reason.clone());
        }
        return Err(e);
    }
    appended(&mut wal);
    let seq = wal.next_seq;
    wal.next_seq += 1;
    wal.unsynced = true;
    wal.queue.push(item(seq));
    inner.wal_bytes.store(wal.writer.size(), Ordering::Relaxed);
    inner.wal_cv.notify_one();
    drop(wal);
    Ok(Ticket {
        seq,
        inner: inner.clone(),
    })
}

/// Id and type for every entry of the batch, registering new series. Fails, registering
/// nothing, at the first point whose type differs from its series (known or earlier in the
/// batch). New series are checked again under the catalog's write lock, so two batches racing
/// to create one series with different types cannot both succeed.
fn resolve(inner: &Inner, batch: &WriteBatch) -> Result<Vec<(u32, ValueType)>> {
    {
        let catalog = inner.catalog.read();
        let checked = check_types(&catalog, batch)?;
        if let Some(all_known) = checked
            .iter()
            .map(|&(id, vt)| id.map(|id| (id, vt)))
            .collect()
        {
            return Ok(all_known);
        }
    }
    let mut catalog = inner.catalog.write();
    let checked = check_types(&catalog, batch)?;
    check_series_limit(inner, &catalog, batch, &checked)?;
    let mut out = Vec::with_capacity(checked.len());
    for ((key, _), (id, vt)) in batch.entries().iter().zip(checked) {
        let id = match id.or_else(|| catalog.get(key).map(|e| e.id)) {
            Some(id) => id,
            None => catalog.insert(key.clone(), vt).id,
        };
        out.push((id, vt));
    }
    Ok(out)
}

/// Refuses a batch whose new series would take the catalog past `max_series`.
fn check_series_limit(
    inner: &Inner,
    catalog: &Catalog,
    batch: &WriteBatch,
    checked: &[(Option<u32>, ValueType)],
) -> Result<()> {
    let new: Vec<&SeriesKey> = batch
        .entries()
        .iter()
        .zip(checked)
        .filter(|(_, (id, _))| id.is_none())
        .map(|((key, _), _)| key)
        .collect();
    let Some(first) = new.first() else {
        return Ok(());
    };
    // Counting entries bounds the new series from above; only near the limit is it worth
    // counting distinct keys.
    if catalog.len().saturating_add(new.len()) <= inner.opts.max_series {
        return Ok(());
    }
    // A key may stand in several entries of one batch.
    let distinct: std::collections::HashSet<&SeriesKey> = new.iter().copied().collect();
    super::metadata::check_room(inner, catalog, distinct.len(), first)
}

/// Per entry: the series id if known, and the type its points must have.
fn check_types(catalog: &Catalog, batch: &WriteBatch) -> Result<Vec<(Option<u32>, ValueType)>> {
    let mut new_types: HashMap<&SeriesKey, ValueType> = HashMap::new();
    let mut out = Vec::with_capacity(batch.entries().len());
    for (key, points) in batch.entries() {
        let Some(first) = points.first() else {
            return Err(Error::InvalidBatch {
                reason: format!("series {key} has no points"),
            });
        };
        let known = catalog.get(key);
        let expected = match known {
            Some(e) => e.value_type,
            None => new_types
                .get(key)
                .copied()
                .unwrap_or_else(|| first.value.value_type()),
        };
        if let Some((index, p)) = points
            .iter()
            .enumerate()
            .find(|(_, p)| p.value.value_type() != expected)
        {
            return Err(Error::TypeMismatch {
                series: key.to_string(),
                index,
                expected,
                got: p.value.value_type(),
            });
        }
        if known.is_none() {
            new_types.insert(key, expected);
        }
        out.push((known.map(|e| e.id), expected));
    }
    Ok(out)
}
