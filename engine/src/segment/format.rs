//! Byte layout of a segment file; offsets derive one from another, as in `engine/FORMAT.md`.
//!
//! ```text
//! header (32):  magic "LDSTSEG\0" | version u32 | flags u32 | seq u64 | reserved u32 | crc u32
//! blocks:       (len u32 | crc u32 | chunk bytes[len])*
//! index:        n_series u32 | (key | type u8 | n_chunks u32 | chunk entry (44 bytes)*)*
//! footer (32):  index_offset u64 | index_len u64 | index_crc u32 | footer_crc u32 | magic
//! chunk entry:  offset u64 | len u32 | count u32 | min_ts i64 | max_ts i64 | last_bits u64 | last_quality u32
//! ```

use super::ChunkMeta;
use crate::checksum::crc32;
use crate::coding::{PutLe, Reader, Short};

/// Magic bytes at the start and end of every segment file.
pub const MAGIC: [u8; 8] = *b"LDSTSEG\0";
/// The segment format version this build writes and the newest it reads.
pub const VERSION: u32 = 1;
/// Size of the file header.
pub const HEADER_LEN: usize = 32;
/// Size of the footer.
pub const FOOTER_LEN: usize = 32;
/// Size of a block header (len, crc).
pub const BLOCK_HEADER_LEN: usize = 8;
/// Size of one chunk entry in the index.
pub const CHUNK_ENTRY_LEN: usize = 44;

/// The 32-byte header of segment `seq`.
pub fn header(seq: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(&MAGIC);
    h.put_u32(VERSION);
    h.put_u32(0);
    h.put_u64(seq);
    h.put_u32(0);
    h.put_u32(crc32(&h));
    h
}

/// Checks a header; returns (version, seq) or what is wrong.
pub fn parse_header(buf: &[u8]) -> Result<(u32, u64), &'static str> {
    let short = |_: Short| "file shorter than its header";
    let mut r = Reader::new(buf);
    if r.bytes(8).map_err(short)? != MAGIC {
        return Err("wrong magic in segment header");
    }
    let version = r.u32().map_err(short)?;
    let _flags = r.u32().map_err(short)?;
    let seq = r.u64().map_err(short)?;
    let _reserved = r.u32().map_err(short)?;
    let crc = r.u32().map_err(short)?;
    if crc != crc32(&buf[..HEADER_LEN - 4]) {
        return Err("segment header checksum mismatch");
    }
    Ok((version, seq))
}

/// Where the index is, as recorded in the footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Offset of the index.
    pub index_offset: u64,
    /// Length of the index.
    pub index_len: u64,
    /// CRC-32 of the index bytes.
    pub index_crc: u32,
}

impl Footer {
    /// The 32-byte footer.
    pub fn encode(&self) -> Vec<u8> {
        let mut f = Vec::with_capacity(FOOTER_LEN);
        f.put_u64(self.index_offset);
        f.put_u64(self.index_len);
        f.put_u32(self.index_crc);
        f.put_u32(crc32(&f));
        f.extend_from_slice(&MAGIC);
        f
    }

    /// Checks and parses the last 32 bytes of a file.
    pub fn parse(buf: &[u8]) -> Result<Footer, &'static str> {
        let short = |_: Short| "file shorter than its footer";
        let mut r = Reader::new(buf);
        let index_offset = r.u64().map_err(short)?;
        let index_len = r.u64().map_err(short)?;
        let index_crc = r.u32().map_err(short)?;
        let crc = r.u32().map_err(short)?;
        if r.bytes(8).map_err(short)? != MAGIC {
            return Err("wrong magic in segment footer");
        }
        if crc != crc32(&buf[..20]) {
            return Err("segment footer checksum mismatch");
        }
        Ok(Footer {
            index_offset,
            index_len,
            index_crc,
        })
    }
}

/// Appends one chunk entry.
pub fn put_chunk_entry(out: &mut Vec<u8>, m: &ChunkMeta) {
    out.put_u64(m.offset);
    out.put_u32(m.len);
    out.put_u32(m.count);
    out.put_i64(m.min_ts);
    out.put_i64(m.max_ts);
    out.put_u64(m.last_bits);
    out.put_u32(m.last_quality);
}

/// Reads one chunk entry.
pub fn get_chunk_entry(r: &mut Reader<'_>) -> Result<ChunkMeta, Short> {
    Ok(ChunkMeta {
        offset: r.u64()?,
        len: r.u32()?,
        count: r.u32()?,
        min_ts: r.i64()?,
        max_ts: r.i64()?,
        last_bits: r.u64()?,
        last_quality: r.u32()?,
    })
}
