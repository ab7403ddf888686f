//! Replaying the WAL on open.

use std::fs::OpenOptions;
use std::path::Path;

use super::reader::{read_file, Tail, WalFile};
use crate::error::{Error, Result};
use crate::fsutil::sync_dir;

/// Sequence numbers of the WAL files in `dir`, oldest first.
pub fn list_files(dir: &Path) -> Result<Vec<u64>> {
    let mut seqs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let name = entry.file_name();
        match name.to_str().and_then(super::parse_file_name) {
            Some(seq) => seqs.push(seq),
            None => tracing::warn!(file = ?entry.path(), "ignoring unexpected file in WAL folder"),
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// Reads every WAL file in order, hands each to `apply`, and repairs a torn tail of the newest
/// file (cut and fsynced, or the file removed when even its header is incomplete) so that the
/// next open sees a clean log. Returns the highest sequence number seen (0 when none).
pub fn replay(dir: &Path, mut apply: impl FnMut(&WalFile) -> Result<()>) -> Result<u64> {
    let seqs = list_files(dir)?;
    let Some(&last) = seqs.last() else {
        return Ok(0);
    };
    for &seq in &seqs {
        let path = super::file_path(dir, seq);
        let file = read_file(&path, seq, seq == last)?;
        apply(&file)?;
        match file.tail {
            Tail::Clean => {}
            Tail::Torn { offset, reason } => {
                tracing::warn!(file = %path.display(), offset, reason, "cutting torn WAL tail");
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| Error::io("open", &path, e))?;
                f.set_len(offset)
                    .map_err(|e| Error::io("truncate", &path, e))?;
                f.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
            }
            Tail::NoHeader => {
                tracing::warn!(file = %path.display(), "removing WAL file whose header never reached the disk");
                std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
                sync_dir(dir)?;
            }
        }
    }
    Ok(last)
}
