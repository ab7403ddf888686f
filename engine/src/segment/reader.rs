//! Opening a segment file: map it, check header, footer and index, and serve chunk bytes
//! only after their block checksum matches.
//!
//! This is the one module that maps files. SAFETY argument for the mapping: segment files are
//! immutable once renamed into place; the engine never writes, truncates or renames a mapped
//! file (deletion only unlinks it, which keeps the mapping valid), and holds the data-folder
//! lock so no other Lodestone process does either. Every byte read from the map is bounds-
//! checked against the map's length and every chunk's CRC is checked before decoding, so a
//! file damaged on disk yields an error, not undefined behaviour. A file truncated behind our
//! back by another program would fault on access; that is outside what the engine can defend.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::format::{
    get_chunk_entry, parse_header, EntryError, Footer, BLOCK_HEADER_LEN, CHUNK_ENTRY_LEN,
    FOOTER_LEN, HEADER_V1_LEN, MAGIC, VERSION,
};
use super::{ChunkMeta, SegmentInfo};
use crate::checksum::crc32;
use crate::codec::Columns;
use crate::coding::Reader;
use crate::error::{Error, Result};
use crate::point::{Point, ValueType};
use crate::series::SeriesKey;

/// The chunks of one series in one segment.
#[derive(Debug, Clone)]
pub struct SeriesIndex {
    /// The series' value type.
    pub value_type: ValueType,
    /// Its chunks, time-ordered, non-overlapping.
    pub chunks: Vec<ChunkMeta>,
}

/// An open, immutable segment.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    id: u64,
    info: SegmentInfo,
    map: Mmap,
    index: HashMap<SeriesKey, SeriesIndex>,
}

impl Segment {
    /// Opens and checks segment file `path`, number `id`. Reads only header, footer and
    /// index.
    pub fn open(path: &Path, id: u64) -> Result<Segment> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        // SAFETY: see the module docs: the file is immutable while mapped, and all access
        // below is bounds-checked and checksummed.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io("mmap", path, e))?;
        let bad = |offset: usize, what: &str| Error::corrupt(path, offset as u64, what);
        if map.len() < HEADER_V1_LEN + FOOTER_LEN {
            return Err(bad(0, "file shorter than header and footer"));
        }
        let version = u32::from_le_bytes([map[8], map[9], map[10], map[11]]);
        if map[..8] == MAGIC && (version == 0 || version > VERSION) {
            return Err(Error::UnsupportedVersion {
                path: path.into(),
                version,
                supported: VERSION,
            });
        }
        let (version, header_len, info) =
            parse_header(&map[..map.len() - FOOTER_LEN], id).map_err(|w| bad(0, &w))?;
        let footer_at = map.len() - FOOTER_LEN;
        let footer = Footer::parse(&map[footer_at..]).map_err(|w| bad(footer_at, w))?;
        let index_end = footer.index_offset.checked_add(footer.index_len);
        if footer.index_offset < header_len as u64 || index_end != Some(footer_at as u64) {
            return Err(bad(footer_at, "footer index bounds do not match the file"));
        }
        let at = footer.index_offset as usize;
        let index_bytes = &map[at..footer_at];
        if crc32(index_bytes) != footer.index_crc {
            return Err(bad(at, "segment index checksum mismatch"));
        }
        let index = parse_index(index_bytes, at as u64, version, header_len, &info)
            .map_err(|(off, what)| Error::corrupt(path, off, what))?;
        Ok(Segment {
            path: path.to_path_buf(),
            id,
            info,
            map,
            index,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sequence number; a higher one holds newer writes.
    pub fn seq(&self) -> u64 {
        self.info.seq
    }

    /// File number (its name).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// True when the file's time partition meets `[start, end)`.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.info.last_ts >= start && self.info.first_ts < end
    }

    /// What the header says the file holds.
    pub fn info(&self) -> &SegmentInfo {
        &self.info
    }

    /// Size of the file in bytes.
    pub fn size(&self) -> u64 {
        self.map.len() as u64
    }

    /// The series in this segment.
    pub fn series(&self) -> impl Iterator<Item = (&SeriesKey, &SeriesIndex)> {
        self.index.iter()
    }

    /// The chunks of one series, if present.
    pub fn get(&self, key: &SeriesKey) -> Option<&SeriesIndex> {
        self.index.get(key)
    }

    /// Decodes chunk `m` of series `key` (checksum first) and appends its points to `out`;
    /// a chunk that fails to decode, or whose point count differs from the index, is an
    /// error naming the file, the block offset and the series.
    pub fn decode_chunk(&self, key: &SeriesKey, m: &ChunkMeta, out: &mut Vec<Point>) -> Result<()> {
        let before = out.len();
        crate::codec::decode_chunk_into(self.chunk_bytes(m)?, out)
            .map_err(|e| Error::corrupt(&self.path, m.offset, format!("chunk of {key}: {e}")))?;
        if out.len() - before != m.count as usize {
            out.truncate(before);
            return Err(Error::corrupt(
                &self.path,
                m.offset,
                format!("chunk of {key}: point count differs from the index"),
            ));
        }
        Ok(())
    }

    /// Decodes one chunk of series `key` into `cols` (replacing what they held), checksum
    /// and point count checked as [`Segment::decode_chunk`] does.
    pub fn decode_chunk_columns(
        &self,
        key: &SeriesKey,
        m: &ChunkMeta,
        cols: &mut Columns,
    ) -> Result<()> {
        crate::codec::decode_columns(self.chunk_bytes(m)?, cols)
            .map_err(|e| Error::corrupt(&self.path, m.offset, format!("chunk of {key}: {e}")))?;
        if cols.len() != m.count as usize {
            cols.clear();
            return Err(Error::corrupt(
                &self.path,
                m.offset,
                format!("chunk of {key}: point count differs from the index"),
            ));
        }
        Ok(())
    }

    /// The bytes of one chunk, after checking its block header and checksum.
    pub fn chunk_bytes(&self, meta: &ChunkMeta) -> Result<&[u8]> {
        let bad = |what: &str| Error::corrupt(&self.path, meta.offset, what);
        let start = meta.offset as usize;
        let data = start + BLOCK_HEADER_LEN;
        let end = data + meta.len as usize;
        let block = self
            .map
            .get(start..end)
            .ok_or_else(|| bad("chunk block out of bounds"))?;
        let len = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        let crc = u32::from_le_bytes([block[4], block[5], block[6], block[7]]);
        if len != meta.len {
            return Err(bad("chunk block length differs from the index"));
        }
        let bytes = &block[BLOCK_HEADER_LEN..];
        if crc32(bytes) != crc {
            return Err(bad("chunk block checksum mismatch"));
        }
        Ok(bytes)
    }
}

fn parse_index(
    buf: &[u8],
    base: u64,
    version: u32,
    header_len: usize,
    info: &SegmentInfo,
) -> std::result::Result<HashMap<SeriesKey, SeriesIndex>, (u64, String)> {
    let mut r = Reader::new(buf);
    let at = |r: &Reader<'_>| base + r.position() as u64;
    let short = |r: &Reader<'_>| (at(r), "segment index ends early".to_string());
    let n = r.u32().map_err(|_| short(&r))? as usize;
    let mut index = HashMap::with_capacity(n.min(buf.len() / 8));
    for _ in 0..n {
        let key_at = at(&r);
        let key = SeriesKey::decode(&mut r)
            .map_err(|e| (key_at, e.unwrap_or_else(|| "series key ends early".into())))?;
        let code = r.u8().map_err(|_| short(&r))?;
        let value_type = ValueType::from_code(code)
            .ok_or_else(|| (at(&r) - 1, format!("unknown value type code {code}")))?;
        let nc = r.u32().map_err(|_| short(&r))? as usize;
        if nc.saturating_mul(CHUNK_ENTRY_LEN) > r.remaining() {
            return Err(short(&r));
        }
        let mut chunks = Vec::with_capacity(nc);
        let mut prev_max: Option<i64> = None;
        for _ in 0..nc {
            let entry_at = at(&r);
            let m = match get_chunk_entry(&mut r, version, value_type) {
                Ok(m) => m,
                Err(EntryError::Short) => return Err(short(&r)),
                Err(EntryError::Inconsistent) => {
                    return Err((entry_at, format!("chunk summary of {key} is inconsistent")))
                }
            };
            let in_blocks = m.offset >= header_len as u64
                && m.offset + BLOCK_HEADER_LEN as u64 + m.len as u64 <= base;
            if !in_blocks
                || m.count == 0
                || m.min_ts > m.max_ts
                || m.min_ts < info.first_ts
                || m.max_ts > info.last_ts
                || prev_max.is_some_and(|p| p >= m.min_ts)
            {
                return Err((entry_at, format!("chunk entry of {key} is inconsistent")));
            }
            prev_max = Some(m.max_ts);
            chunks.push(m);
        }
        if index
            .insert(key.clone(), SeriesIndex { value_type, chunks })
            .is_some()
        {
            return Err((key_at, format!("series {key} listed twice")));
        }
    }
    if r.remaining() != 0 {
        return Err((at(&r), "trailing bytes after segment index".into()));
    }
    Ok(index)
}
