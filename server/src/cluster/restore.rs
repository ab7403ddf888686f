//! Installing a snapshot: making the live engine hold exactly what a checkpoint holds,
//! through the engine's public API only (replication never reaches into the engine).
//!
//! The checkpoint is opened as an engine of its own (over hard links, so that the received
//! snapshot stays as it came and can be sent on); every point of the live engine is
//! deleted; then every series of the checkpoint is declared with its type and metadata and
//! its points are written, read a day at a time so memory stays bounded whatever a series
//! holds. A flush makes the result durable. The node is caught up to the snapshot's log
//! position only once this returns; a crash halfway leaves a marker that the next start
//! reports, and the leader sends the snapshot again.

use std::path::Path;

use lodestone_engine::{Durability, Engine, Error, Options, SeriesMetadata, WriteBatch};

/// Points per batch written while copying.
const BATCH_POINTS: usize = 50_000;
/// Width of one read while copying a series.
const WINDOW_NS: i64 = 86_400_000_000_000;

/// What a restore copied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// Series in the checkpoint.
    pub series: u64,
    /// Points written.
    pub points: u64,
}

/// Replaces the contents of `live` with those of the checkpoint in `checkpoint`, using
/// `scratch` (which must not exist) for the copy it opens. Blocking.
pub fn restore(live: &Engine, checkpoint: &Path, scratch: &Path) -> Result<Restored, Error> {
    link_tree(checkpoint, scratch)?;
    let opts = Options {
        durability: Durability::None,
        flush_on_close: false,
        background_compaction: false,
        ..Options::default()
    };
    let source = Engine::open(scratch, opts)?;
    let copied = copy_all(live, &source);
    let closed = source.close();
    let _ = std::fs::remove_dir_all(scratch);
    let copied = copied?;
    closed?;
    live.flush()?;
    Ok(copied)
}

fn copy_all(live: &Engine, source: &Engine) -> Result<Restored, Error> {
    for info in live.list_series() {
        live.delete_range(&info.key, i64::MIN, i64::MAX)?;
    }
    let mut done = Restored::default();
    for info in source.list_series() {
        let key = info.key;
        let metadata = source
            .metadata(&key)?
            .unwrap_or_else(SeriesMetadata::default);
        live.declare_series(&key, info.value_type, metadata)?;
        done.series += 1;
        let Some((first, last)) = source.time_span(&key)? else {
            continue;
        };
        let mut batch = WriteBatch::new();
        let mut held = 0;
        let mut from = first;
        loop {
            let to = from.saturating_add(WINDOW_NS);
            let end = if last < to {
                last.saturating_add(1)
            } else {
                to
            };
            let points = source.read_range(&key, from, end)?;
            if !points.is_empty() {
                held += points.len();
                done.points += points.len() as u64;
                batch.add(key.clone(), points);
            }
            if held >= BATCH_POINTS {
                live.write(&std::mem::take(&mut batch))?;
                held = 0;
            }
            // The last window reaches `last` (or i64::MAX, which a window cannot include).
            if end > last || end == i64::MAX {
                break;
            }
            from = end;
        }
        if held > 0 {
            live.write(&batch)?;
        }
    }
    Ok(done)
}

/// Recreates the folder tree `from` at `to` with hard links to its files (copies where
/// links are not possible).
fn link_tree(from: &Path, to: &Path) -> Result<(), Error> {
    let io = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |e| Error::Io {
            op,
            path: p,
            source: e,
        }
    };
    std::fs::create_dir_all(to).map_err(io("create directory", to))?;
    for e in std::fs::read_dir(from).map_err(io("read directory", from))? {
        let e = e.map_err(io("read directory", from))?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().map_err(io("stat", &src))?.is_dir() {
            link_tree(&src, &dst)?;
        } else if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).map_err(io("copy", &src))?;
        }
    }
    Ok(())
}
