//! Writing a segment file crash-safely: write to `<name>.tmp`, fsync, rename, fsync the folder.
//! A crash at any instant leaves either no segment or a complete one; leftover `.tmp` files
//! are removed on open. Series are written one at a time, so a writer holds only the index
//! and one series' chunks in memory.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::format::{header, put_chunk_entry, Footer, BLOCK_HEADER_LEN};
use super::{ChunkMeta, SegmentInfo};
use crate::checksum::crc32;
use crate::coding::PutLe;
use crate::error::{Error, Result};
use crate::fsutil::sync_dir;
use crate::head::ClosedChunk;
use crate::point::ValueType;
use crate::series::SeriesKey;

/// The chunks of one series to be written, time-ordered and non-overlapping.
#[derive(Debug)]
pub struct SeriesChunks<'a> {
    /// The series.
    pub key: &'a SeriesKey,
    /// Its value type.
    pub value_type: ValueType,
    /// Its chunks, oldest first.
    pub chunks: Vec<ClosedChunk>,
}

/// Writes segment file number `id`, holding `info`, into `dir` and returns its path. Series
/// must be given in key order, and every chunk must lie in `info`'s time range.
pub fn write_segment(
    dir: &Path,
    id: u64,
    info: &SegmentInfo,
    series: &[SeriesChunks<'_>],
) -> Result<PathBuf> {
    let mut w = SegmentWriter::create(dir, id, info)?;
    for s in series {
        w.add(s.key, s.value_type, &s.chunks)?;
    }
    w.finish()
}

/// A segment file being written, series by series.
pub struct SegmentWriter {
    dir: PathBuf,
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    series: u32,
    index: Vec<u8>,
    last_key: Option<SeriesKey>,
}

impl SegmentWriter {
    /// Starts file number `id` in `dir`, holding `info`.
    pub fn create(dir: &Path, id: u64, info: &SegmentInfo) -> Result<SegmentWriter> {
        let path = super::file_path(dir, id);
        let tmp = path.with_extension("seg.tmp");
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&tmp)
            .map_err(|e| Error::io("create", &tmp, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let head = header(id, info);
        out.write_all(&head)
            .map_err(|e| Error::io("write", &tmp, e))?;
        Ok(SegmentWriter {
            dir: dir.to_path_buf(),
            path,
            tmp,
            out,
            offset: head.len() as u64,
            series: 0,
            index: Vec::new(),
            last_key: None,
        })
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.offset
    }

    /// True when no chunk was written yet.
    pub fn is_empty(&self) -> bool {
        self.series == 0
    }

    /// Appends the chunks of one series, after every series added before in key order.
    pub fn add(&mut self, key: &SeriesKey, vt: ValueType, chunks: &[ClosedChunk]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        debug_assert!(self.last_key.as_ref().is_none_or(|k| k < key));
        self.last_key = Some(key.clone());
        let tmp = &self.tmp;
        let io = |e| Error::io("write", tmp, e);
        key.encode(&mut self.index);
        self.index.put_u8(vt.code());
        self.index.put_u32(chunks.len() as u32);
        for c in chunks {
            let mut block = [0u8; BLOCK_HEADER_LEN];
            block[..4].copy_from_slice(&(c.bytes.len() as u32).to_le_bytes());
            block[4..].copy_from_slice(&crc32(&c.bytes).to_le_bytes());
            self.out.write_all(&block).map_err(io)?;
            self.out.write_all(&c.bytes).map_err(io)?;
            let meta = ChunkMeta {
                offset: self.offset,
                len: c.bytes.len() as u32,
                count: c.count,
                min_ts: c.min_ts,
                max_ts: c.max_ts,
                last_bits: c.last.value.to_bits(),
                last_quality: c.last.quality.0,
                summary: c.summary,
            };
            put_chunk_entry(&mut self.index, &meta);
            self.offset += (BLOCK_HEADER_LEN + c.bytes.len()) as u64;
        }
        self.series += 1;
        Ok(())
    }

    /// Writes the index and footer, fsyncs, renames into place, fsyncs the folder; returns
    /// the file's path.
    pub fn finish(mut self) -> Result<PathBuf> {
        let tmp = self.tmp.clone();
        let io = |e| Error::io("write", &tmp, e);
        let mut index = Vec::with_capacity(self.index.len() + 4);
        index.put_u32(self.series);
        index.extend_from_slice(&self.index);
        self.out.write_all(&index).map_err(io)?;
        let footer = Footer {
            index_offset: self.offset,
            index_len: index.len() as u64,
            index_crc: crc32(&index),
        };
        self.out.write_all(&footer.encode()).map_err(io)?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io("rename", &tmp, e))?;
        sync_dir(&self.dir)?;
        Ok(self.path)
    }
}
