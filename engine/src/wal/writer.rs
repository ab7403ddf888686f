//! Appending to the current WAL file and rotating to the next one.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::record::{file_header, frame};
use crate::error::{Error, Result};
use crate::fsutil::sync_dir;

/// The open WAL file that batches are appended to.
#[derive(Debug)]
pub struct WalWriter {
    dir: PathBuf,
    file: Arc<File>,
    path: PathBuf,
    seq: u64,
    size: u64,
    /// Series ids already defined in this file (see `SeriesDef`).
    defined: HashSet<u32>,
    frame_buf: Vec<u8>,
}

impl WalWriter {
    /// Creates WAL file `seq` in `dir`, writes its header and makes it durable (file and
    /// directory entry) before anything is appended.
    pub fn create(dir: &Path, seq: u64) -> Result<WalWriter> {
        let path = super::file_path(dir, seq);
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        let header = file_header(seq);
        file.write_all(&header)
            .map_err(|e| Error::io("write", &path, e))?;
        file.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
        sync_dir(dir)?;
        Ok(WalWriter {
            dir: dir.to_path_buf(),
            file: Arc::new(file),
            path,
            seq,
            size: header.len() as u64,
            defined: HashSet::new(),
            frame_buf: Vec::new(),
        })
    }

    /// Sequence number of the current file.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Bytes in the current file.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True when nothing but the header has been written.
    pub fn is_empty(&self) -> bool {
        self.size as usize == super::record::FILE_HEADER_LEN
    }

    /// Whether series `id` is already defined in the current file.
    pub fn is_defined(&self, id: u32) -> bool {
        self.defined.contains(&id)
    }

    /// Notes that the record being appended defines series `id`.
    pub fn mark_defined(&mut self, id: u32) {
        self.defined.insert(id);
    }

    /// A handle to the current file, for an fsync outside the WAL lock.
    pub fn file_handle(&self) -> (Arc<File>, PathBuf) {
        (self.file.clone(), self.path.clone())
    }

    /// Appends one record. On a failed write the file is cut back to its previous length so
    /// that no half record is followed by later ones; if even that fails, the error says so
    /// and the caller must poison the engine.
    pub fn append(&mut self, payload: &[u8]) -> Result<()> {
        self.frame_buf.clear();
        frame(payload, &mut self.frame_buf);
        // Positioned write at the known end: after a failed write has been cut back, the
        // next record goes exactly where the cut left off, with no hole.
        if let Err(e) = self.file.write_all_at(&self.frame_buf, self.size) {
            if let Err(e2) = self.file.set_len(self.size) {
                return Err(Error::Poisoned {
                    reason: format!(
                        "WAL write to {} failed ({e}) and cutting back the partial record failed ({e2})",
                        self.path.display()
                    ),
                });
            }
            return Err(Error::io("write", &self.path, e));
        }
        self.size += self.frame_buf.len() as u64;
        Ok(())
    }

    /// fsyncs the current file.
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io("fsync", &self.path, e))
    }

    /// Makes the current file durable and switches to a new file with the next sequence
    /// number. Returns the new file's sequence number.
    pub fn rotate(&mut self) -> Result<u64> {
        self.sync()?;
        let next = WalWriter::create(&self.dir, self.seq + 1)?;
        *self = next;
        Ok(self.seq)
    }
}
