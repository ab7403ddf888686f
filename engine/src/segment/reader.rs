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
    /// Where the index of the file starts, and its format version.
    index_at: usize,
    version: u32,
    header_len: usize,
    /// Per series in the file, sorted by series id: the id the catalog gave its key, and the
    /// offset from the index's start of its index entry past the key. Entries are decoded when asked
    /// for (they were checked on open), so a file costs 8 bytes a series in memory.
    series: Vec<(u32, u32)>,
}

impl Segment {
    /// Opens and checks segment file `path`, number `id`. Reads only header, footer and
    /// index. `resolve` gives the catalog id of each series key the file holds (registering
    /// it if new); its error stops the open.
    pub fn open(
        path: &Path,
        id: u64,
        resolve: &mut dyn FnMut(&str, ValueType) -> Result<u32>,
    ) -> Result<Segment> {
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
        let series = parse_index(index_bytes, at as u64, version, header_len, &info, resolve)?
            .map_err(|(off, what)| Error::corrupt(path, off, what))?;
        release_pages(&map, at, footer_at - at);
        Ok(Segment {
            path: path.to_path_buf(),
            id,
            info,
            index_at: at,
            version,
            header_len,
            map,
            series,
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

    /// The ids of the series in this segment, in increasing order.
    pub fn series_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.series.iter().map(|&(id, _)| id)
    }

    /// True when series `id` has chunks here.
    pub fn contains(&self, id: u32) -> bool {
        self.series.binary_search_by_key(&id, |&(i, _)| i).is_ok()
    }

    /// The chunks of series `id`, if present, decoded from the index.
    pub fn get(&self, id: u32) -> Result<Option<SeriesIndex>> {
        let Ok(i) = self.series.binary_search_by_key(&id, |&(i, _)| i) else {
            return Ok(None);
        };
        let at = self.series[i].1 as usize;
        let footer_at = self.map.len() - FOOTER_LEN;
        let index = &self.map[self.index_at..footer_at];
        let mut r = Reader::new(index);
        r.bytes(at).map_err(|_| {
            Error::corrupt(
                &self.path,
                (self.index_at + at) as u64,
                "series entry out of bounds",
            )
        })?;
        let ctx = IndexContext {
            base: self.index_at as u64,
            version: self.version,
            header_len: self.header_len,
            info: &self.info,
        };
        let si = read_series_entry(&mut r, &ctx, &|| format!("series {id}"))
            .map_err(|(off, what)| Error::corrupt(&self.path, off, what))?;
        Ok(Some(si))
    }

    /// Every series here with its chunks, in id order.
    pub fn series(&self) -> impl Iterator<Item = Result<(u32, SeriesIndex)>> + '_ {
        self.series_ids().filter_map(move |id| match self.get(id) {
            Ok(Some(si)) => Some(Ok((id, si))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
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

/// Drops the mapping's pages of `len` bytes at `offset` from this process (they stay in the
/// page cache, and a later access reads them again from there). The index was read whole to
/// check it on open; without this, every index of a store of a million series would count in
/// the process's resident memory for good, though only the entries queries ask for are read
/// again. Failure only leaves the pages where they are.
fn release_pages(map: &Mmap, offset: usize, len: usize) {
    #[cfg(unix)]
    {
        // SAFETY: the mapping is a read-only, shared mapping of a file nobody modifies (see
        // the module docs); MADV_DONTNEED on such a mapping only unmaps the pages from this
        // process: the next access faults them in again from the page cache, with the same
        // bytes. No reference into the range is held across this call that could observe a
        // change, because no change can happen.
        let _ =
            unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len) };
    }
}

/// What decoding one index entry needs to know of its file.
struct IndexContext<'a> {
    base: u64,
    version: u32,
    header_len: usize,
    info: &'a SegmentInfo,
}

/// Checks the index and resolves each key to a series id: the outer error stops the open
/// (the resolver's), the inner one is damage at a file offset.
#[allow(clippy::type_complexity)]
fn parse_index(
    buf: &[u8],
    base: u64,
    version: u32,
    header_len: usize,
    info: &SegmentInfo,
    resolve: &mut dyn FnMut(&str, ValueType) -> Result<u32>,
) -> Result<std::result::Result<Vec<(u32, u32)>, (u64, String)>> {
    let ctx = IndexContext {
        base,
        version,
        header_len,
        info,
    };
    let mut r = Reader::new(buf);
    let at = |r: &Reader<'_>| base + r.position() as u64;
    let short = |r: &Reader<'_>| (at(r), "segment index ends early".to_string());
    let Ok(n) = r.u32() else {
        return Ok(Err(short(&r)));
    };
    if buf.len() > u32::MAX as usize {
        return Ok(Err((base, "segment index larger than 4 GiB".into())));
    }
    let mut series = Vec::with_capacity((n as usize).min(buf.len() / 8));
    let mut text = String::new();
    for _ in 0..n {
        let key_at = at(&r);
        if let Err(e) = SeriesKey::decode_text(&mut r, &mut text) {
            return Ok(Err((
                key_at,
                e.unwrap_or_else(|| "series key ends early".into()),
            )));
        }
        let entry_at = r.position() as u32;
        let name = || SeriesKey::from_text(&text).map_or_else(String::new, |k| k.to_string());
        let si = match read_series_entry(&mut r, &ctx, &name) {
            Ok(si) => si,
            Err(e) => return Ok(Err(e)),
        };
        series.push((resolve(&text, si.value_type)?, entry_at));
    }
    if r.remaining() != 0 {
        return Ok(Err((at(&r), "trailing bytes after segment index".into())));
    }
    series.sort_unstable_by_key(|&(id, _)| id);
    if let Some(w) = series.windows(2).find(|w| w[0].0 == w[1].0) {
        return Ok(Err((
            base + w[1].1 as u64,
            "a series is listed twice".into(),
        )));
    }
    Ok(Ok(series))
}

/// Reads and checks one series' entry past its key: type, chunk count, chunk entries.
fn read_series_entry(
    r: &mut Reader<'_>,
    ctx: &IndexContext<'_>,
    name: &dyn Fn() -> String,
) -> std::result::Result<SeriesIndex, (u64, String)> {
    let at = |r: &Reader<'_>| ctx.base + r.position() as u64;
    let short = |r: &Reader<'_>| (at(r), "segment index ends early".to_string());
    let code = r.u8().map_err(|_| short(r))?;
    let value_type = ValueType::from_code(code)
        .ok_or_else(|| (at(r) - 1, format!("unknown value type code {code}")))?;
    let nc = r.u32().map_err(|_| short(r))? as usize;
    if nc.saturating_mul(CHUNK_ENTRY_LEN) > r.remaining() {
        return Err(short(r));
    }
    let mut chunks = Vec::with_capacity(nc);
    let mut prev_max: Option<i64> = None;
    for _ in 0..nc {
        let entry_at = at(r);
        let m = match get_chunk_entry(r, ctx.version, value_type) {
            Ok(m) => m,
            Err(EntryError::Short) => return Err(short(r)),
            Err(EntryError::Inconsistent) => {
                return Err((
                    entry_at,
                    format!("chunk summary of {} is inconsistent", name()),
                ))
            }
        };
        let in_blocks = m.offset >= ctx.header_len as u64
            && m.offset + BLOCK_HEADER_LEN as u64 + m.len as u64 <= ctx.base;
        if !in_blocks
            || m.count == 0
            || m.min_ts > m.max_ts
            || m.min_ts < ctx.info.first_ts
            || m.max_ts > ctx.info.last_ts
            || prev_max.is_some_and(|p| p >= m.min_ts)
        {
            return Err((
                entry_at,
                format!("chunk entry of {} is inconsistent", name()),
            ));
        }
        prev_max = Some(m.max_ts);
        chunks.push(m);
    }
    Ok(SeriesIndex { value_type, chunks })
}
