//! Writing a segment file crash-safely: write to `<name>.tmp`, fsync, rename, fsync the folder.
//! A crash at any instant leaves either no segment or a complete one; leftover `.tmp` files
//! are removed on open.

use std::fs::OpenOptions;
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
    let path = super::file_path(dir, id);
    let tmp = path.with_extension("seg.tmp");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&tmp)
        .map_err(|e| Error::io("create", &tmp, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let io = |e| Error::io("write", &tmp, e);

    let head = header(id, info);
    w.write_all(&head).map_err(io)?;
    let mut offset = head.len() as u64;
    let mut index = Vec::new();
    index.put_u32(series.len() as u32);
    for s in series {
        s.key.encode(&mut index);
        index.put_u8(s.value_type.code());
        index.put_u32(s.chunks.len() as u32);
        for c in &s.chunks {
            let mut block = [0u8; BLOCK_HEADER_LEN];
            block[..4].copy_from_slice(&(c.bytes.len() as u32).to_le_bytes());
            block[4..].copy_from_slice(&crc32(&c.bytes).to_le_bytes());
            w.write_all(&block).map_err(io)?;
            w.write_all(&c.bytes).map_err(io)?;
            let meta = ChunkMeta {
                offset,
                len: c.bytes.len() as u32,
                count: c.count,
                min_ts: c.min_ts,
                max_ts: c.max_ts,
                last_bits: c.last.value.to_bits(),
                last_quality: c.last.quality.0,
                summary: c.summary,
            };
            put_chunk_entry(&mut index, &meta);
            offset += (BLOCK_HEADER_LEN + c.bytes.len()) as u64;
        }
    }
    w.write_all(&index).map_err(io)?;
    let footer = Footer {
        index_offset: offset,
        index_len: index.len() as u64,
        index_crc: crc32(&index),
    };
    w.write_all(&footer.encode()).map_err(io)?;
    let file = w
        .into_inner()
        .map_err(|e| Error::io("write", &tmp, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &tmp, e))?;
    sync_dir(dir)?;
    Ok(path)
}
