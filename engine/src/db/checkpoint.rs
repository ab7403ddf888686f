//! Checkpoints: a consistent copy of the store in another folder, which [`Engine::open`]
//! opens like any data folder. Replication sends one to a node that is too far behind to
//! catch up from the log, and an operator can take one as a backup while writes go on.
//!
//! Segment files are immutable, so they are hard-linked when the folder is on the same file
//! system (no bytes copied) and copied otherwise; the small side files (`tombstones`,
//! `metadata`, `rollups`) are copied. Compaction is held off while the files are gathered,
//! so that none of them is deleted halfway, and the flush lock is held so that the side
//! files match the segments.

use std::fs;
use std::path::{Path, PathBuf};

use super::Engine;
use crate::error::{Error, Result};
use crate::fsutil::{create_dir, sync_dir};
use crate::segment::SEGMENT_DIR;
use crate::wal::WAL_DIR;

/// The side files a checkpoint copies when the store has them.
const SIDE_FILES: [&str; 3] = ["tombstones", "metadata", "rollups"];

/// What a checkpoint holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// The checkpoint's folder.
    pub dir: PathBuf,
    /// Its files, relative to `dir`, with their sizes in bytes.
    pub files: Vec<(PathBuf, u64)>,
}

impl Engine {
    /// Writes a checkpoint of the store into `dest`, which must not exist yet: every point,
    /// delete and metadata update acknowledged before the call (and perhaps some after),
    /// as a data folder of its own. Flushes first, so the checkpoint needs no WAL. The
    /// folder is durable when this returns.
    pub fn checkpoint(&self, dest: &Path) -> Result<CheckpointInfo> {
        if dest.exists() {
            return Err(Error::io(
                "create checkpoint",
                dest,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
            ));
        }
        let inner = &self.inner;
        // Compaction deletes the files it merged: none may go while they are linked.
        let _no_compaction = inner.compact_lock.lock();
        self.flush()?;
        let _side_files = inner.flush_lock.lock();
        let version = inner.version.read().clone();
        let segments = dest.join(SEGMENT_DIR);
        create_dir(&segments)?;
        create_dir(&dest.join(WAL_DIR))?;
        let mut files = Vec::new();
        for seg in version.segments.iter().chain(&version.rollups) {
            let from = seg.path();
            let name = from
                .file_name()
                .ok_or_else(|| Error::corrupt(from, 0, "segment path without a file name"))?;
            let to = segments.join(name);
            link_or_copy(from, &to)?;
            files.push((Path::new(SEGMENT_DIR).join(name), seg.size()));
        }
        sync_dir(&segments)?;
        for name in SIDE_FILES {
            let from = inner.dir.join(name);
            if from.exists() {
                let to = dest.join(name);
                copy_synced(&from, &to)?;
                let size = fs::metadata(&to)
                    .map_err(|e| Error::io("stat", &to, e))?
                    .len();
                files.push((PathBuf::from(name), size));
            }
        }
        sync_dir(dest)?;
        Ok(CheckpointInfo {
            dir: dest.to_path_buf(),
            files,
        })
    }
}

/// Hard-links `from` to `to`, or copies it (durably) when the two are on different file
/// systems.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(_) => copy_synced(from, to),
    }
}

fn copy_synced(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).map_err(|e| Error::io("copy", from, e))?;
    fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("fsync", to, e))
}
