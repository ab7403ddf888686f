//! Byte layout of a segment file; offsets derive one from another, as in `engine/FORMAT.md`.
//!
//! ```text
//! header (76):  magic "LDSTSEG\0" | version u32 | flags u32 | file id u64 | seq u64
//!               | replaces_from u64 | generation u32 | reserved u32 | tier i64
//!               | first_ts i64 | last_ts i64 | crc u32
//!   (version 1, 32 bytes: magic | version | flags | seq u64 (= file id) | reserved u32 | crc)
//! blocks:       (len u32 | crc u32 | chunk bytes[len])*
//! index:        n_series u32 | (key | type u8 | n_chunks u32 | chunk entry (44 bytes)*)*
//! footer (32):  index_offset u64 | index_len u64 | index_crc u32 | footer_crc u32 | magic
//! chunk entry:  offset u64 | len u32 | count u32 | min_ts i64 | max_ts i64 | last_bits u64 | last_quality u32
//!               | summary (version 2 on)
//! summary:      flags u8 | [used u32 | first_ts i64 | last_ts i64 | first f64 | last f64]
//!               | sum f64 | min f64 | max f64 | m2 f64 | integral f64
//! ```
//! Summary flags: bit 0 every point has good quality, bit 1 the chunk has good points that
//! are numbers (the rest of the summary follows only then), bit 2 every point is good and a
//! number (the bracketed fields are then implied: `count`, `min_ts`, `max_ts`, and the values
//! of the first and last points, the last from `last_bits`, the first stored alone).

use super::{ChunkMeta, ChunkSummary, SegmentInfo, RAW};
use crate::checksum::crc32;
use crate::coding::{PutLe, Reader, Short};
use crate::point::{Value, ValueType};
use crate::query::summary::Summary;
use crate::query::window::number;

/// Magic bytes at the start and end of every segment file.
pub const MAGIC: [u8; 8] = *b"LDSTSEG\0";
/// The segment format version this build writes and the newest it reads. Version 1 (no
/// chunk summaries) is still read.
pub const VERSION: u32 = 2;
/// Size of the file header of version 1.
pub const HEADER_V1_LEN: usize = 32;
/// Size of the file header of version 2.
pub const HEADER_LEN: usize = 76;
/// Size of the footer.
pub const FOOTER_LEN: usize = 32;
/// Size of a block header (len, crc).
pub const BLOCK_HEADER_LEN: usize = 8;
/// Smallest size of one chunk entry in the index (version 1; version 2 adds the summary).
pub const CHUNK_ENTRY_LEN: usize = 44;

const ALL_GOOD: u8 = 1;
const HAS_GOOD: u8 = 2;
const ALL_USED: u8 = 4;

/// The header of segment `info` stored as file `id` (version 2).
pub fn header(id: u64, info: &SegmentInfo) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(&MAGIC);
    h.put_u32(VERSION);
    h.put_u32(0);
    h.put_u64(id);
    h.put_u64(info.seq);
    h.put_u64(info.replaces_from);
    h.put_u32(info.generation);
    h.put_u32(0);
    h.put_i64(info.tier);
    h.put_i64(info.first_ts);
    h.put_i64(info.last_ts);
    h.put_u32(crc32(&h));
    debug_assert_eq!(h.len(), HEADER_LEN);
    h
}

/// Checks the header of file `id` (version 1 or 2): returns its version, its length and
/// what it says of the segment, or what is wrong.
pub fn parse_header(buf: &[u8], id: u64) -> Result<(u32, usize, SegmentInfo), String> {
    let short = |_: Short| "file shorter than its header".to_string();
    let mut r = Reader::new(buf);
    if r.bytes(8).map_err(short)? != MAGIC {
        return Err("wrong magic in segment header".into());
    }
    let version = r.u32().map_err(short)?;
    let _flags = r.u32().map_err(short)?;
    let len = if version >= 2 {
        HEADER_LEN
    } else {
        HEADER_V1_LEN
    };
    if buf.len() < len {
        return Err("file shorter than its header".into());
    }
    let info = if version >= 2 {
        let found = r.u64().map_err(short)?;
        if found != id {
            return Err(format!("header names file {found}, expected {id}"));
        }
        let seq = r.u64().map_err(short)?;
        let replaces_from = r.u64().map_err(short)?;
        let generation = r.u32().map_err(short)?;
        let _reserved = r.u32().map_err(short)?;
        SegmentInfo {
            seq,
            replaces_from,
            generation,
            tier: r.i64().map_err(short)?,
            first_ts: r.i64().map_err(short)?,
            last_ts: r.i64().map_err(short)?,
        }
    } else {
        // Version 1: the file is named by its sequence number and holds any time range.
        let seq = r.u64().map_err(short)?;
        if seq != id {
            return Err(format!("header names segment {seq}, expected {id}"));
        }
        let _reserved = r.u32().map_err(short)?;
        SegmentInfo::flushed(seq, RAW, i64::MIN, i64::MAX)
    };
    let crc = r.u32().map_err(short)?;
    if crc != crc32(&buf[..len - 4]) {
        return Err("segment header checksum mismatch".into());
    }
    if version >= 2
        && (info.replaces_from > info.seq || info.first_ts > info.last_ts || info.tier < RAW)
    {
        return Err("segment header fields contradict one another".into());
    }
    Ok((version, len, info))
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

/// Appends one chunk entry (version 2).
pub fn put_chunk_entry(out: &mut Vec<u8>, m: &ChunkMeta) {
    out.put_u64(m.offset);
    out.put_u32(m.len);
    out.put_u32(m.count);
    out.put_i64(m.min_ts);
    out.put_i64(m.max_ts);
    out.put_u64(m.last_bits);
    out.put_u32(m.last_quality);
    let Some(cs) = m.summary.filter(|cs| cs.good.count > 0) else {
        let all_good = m.summary.is_some_and(|cs| cs.all_good);
        out.put_u8(if all_good { ALL_GOOD } else { 0 });
        return;
    };
    let s = &cs.good;
    let all_used = s.count == m.count as u64;
    let flags =
        HAS_GOOD | if cs.all_good { ALL_GOOD } else { 0 } | if all_used { ALL_USED } else { 0 };
    out.put_u8(flags);
    if all_used {
        out.put_u64(s.first.1.to_bits());
    } else {
        out.put_u32(s.count as u32);
        out.put_i64(s.first.0);
        out.put_i64(s.last.0);
        out.put_u64(s.first.1.to_bits());
        out.put_u64(s.last.1.to_bits());
    }
    for x in [s.sum, s.min, s.max, s.m2, s.integral] {
        out.put_u64(x.to_bits());
    }
}

/// Why a chunk entry cannot be read.
pub enum EntryError {
    /// The index ends inside it.
    Short,
    /// Its fields contradict one another.
    Inconsistent,
}

impl From<Short> for EntryError {
    fn from(_: Short) -> Self {
        EntryError::Short
    }
}

/// Reads one chunk entry of a segment of format `version`, whose series has type `vt`.
pub fn get_chunk_entry(
    r: &mut Reader<'_>,
    version: u32,
    vt: ValueType,
) -> Result<ChunkMeta, EntryError> {
    let mut m = ChunkMeta {
        offset: r.u64()?,
        len: r.u32()?,
        count: r.u32()?,
        min_ts: r.i64()?,
        max_ts: r.i64()?,
        last_bits: r.u64()?,
        last_quality: r.u32()?,
        summary: None,
    };
    if version >= 2 {
        m.summary = Some(get_summary(r, &m, vt)?);
    }
    Ok(m)
}

fn get_summary(
    r: &mut Reader<'_>,
    m: &ChunkMeta,
    vt: ValueType,
) -> Result<ChunkSummary, EntryError> {
    let flags = r.u8()?;
    if flags & !(ALL_GOOD | HAS_GOOD | ALL_USED) != 0 {
        return Err(EntryError::Inconsistent);
    }
    let all_good = flags & ALL_GOOD != 0;
    if flags & HAS_GOOD == 0 {
        if flags & ALL_USED != 0 {
            return Err(EntryError::Inconsistent);
        }
        return Ok(ChunkSummary {
            good: Summary::EMPTY,
            all_good,
        });
    }
    let f = |r: &mut Reader<'_>| r.u64().map(f64::from_bits);
    let mut s = Summary::EMPTY;
    if flags & ALL_USED != 0 {
        let last = number(Value::from_bits(vt, m.last_bits)).ok_or(EntryError::Inconsistent)?;
        s.count = m.count as u64;
        s.first = (m.min_ts, f(r)?);
        s.last = (m.max_ts, last);
    } else {
        s.count = r.u32()? as u64;
        let (first_ts, last_ts) = (r.i64()?, r.i64()?);
        s.first = (first_ts, f(r)?);
        s.last = (last_ts, f(r)?);
        let inside = m.min_ts <= first_ts && first_ts <= last_ts && last_ts <= m.max_ts;
        if s.count == 0 || s.count > m.count as u64 || !inside {
            return Err(EntryError::Inconsistent);
        }
    }
    (s.sum, s.min, s.max, s.m2, s.integral) = (f(r)?, f(r)?, f(r)?, f(r)?, f(r)?);
    Ok(ChunkSummary { good: s, all_good })
}
