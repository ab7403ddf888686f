//! The `metadata` file: the metadata of every series that has some, rewritten whole by a
//! flush before it deletes the WAL files whose metadata records it replaces (layout in
//! `engine/FORMAT.md`).
//!
//! ```text
//! body: n u32 | n × (series key | value_type u8 | unit_len u16 | unit | desc_len u16 | description)
//!       entries sorted by key, each key once
//! ```

use std::path::Path;

use super::SeriesMetadata;
use crate::coding::{PutLe, Reader};
use crate::error::{Error, Result};
use crate::point::ValueType;
use crate::series::SeriesKey;
use crate::whole_file::{Kind, HEADER_LEN};

/// The metadata file kind: `DATA_DIR/metadata`, magic `LDSTMETA`, version 1.
pub const KIND: Kind = Kind {
    name: "metadata",
    magic: *b"LDSTMETA",
    version: 1,
};

/// The metadata of one series as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The series.
    pub key: SeriesKey,
    /// Its value type.
    pub value_type: ValueType,
    /// Its metadata.
    pub metadata: SeriesMetadata,
}

/// The body of a metadata file holding `entries` (sorted here).
pub fn encode(entries: &mut [Entry]) -> Vec<u8> {
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = Vec::new();
    out.put_u32(entries.len() as u32);
    for e in entries.iter() {
        e.key.encode(&mut out);
        out.put_u8(e.value_type.code());
        e.metadata.encode(&mut out);
    }
    out
}

/// Replaces the metadata file in data folder `dir`.
pub fn write(dir: &Path, entries: &mut [Entry]) -> Result<()> {
    KIND.write(dir, &encode(entries))
}

/// Reads the metadata file in data folder `dir`; no file means no metadata.
pub fn read(dir: &Path) -> Result<Vec<Entry>> {
    let Some((_version, body)) = KIND.read(dir)? else {
        return Ok(Vec::new());
    };
    decode(&body)
        .map_err(|(off, what)| Error::corrupt(KIND.path(dir), (HEADER_LEN + off) as u64, what))
}

/// Decodes a body; the error gives the offset within the body and what is wrong.
pub fn decode(body: &[u8]) -> std::result::Result<Vec<Entry>, (usize, String)> {
    let mut r = Reader::new(body);
    let short = |r: &Reader<'_>| (r.position(), "metadata file ends early".to_string());
    let n = r.u32().map_err(|_| short(&r))? as usize;
    let mut out: Vec<Entry> = Vec::with_capacity(n.min(body.len() / 8));
    for _ in 0..n {
        let at = r.position();
        let key = SeriesKey::decode(&mut r)
            .map_err(|e| (at, e.unwrap_or_else(|| "series key ends early".into())))?;
        if out.last().is_some_and(|p| p.key >= key) {
            return Err((at, format!("series {key} out of order or listed twice")));
        }
        let code = r.u8().map_err(|_| short(&r))?;
        let value_type = ValueType::from_code(code)
            .ok_or_else(|| (r.position() - 1, format!("unknown value type code {code}")))?;
        let at = r.position();
        let metadata = SeriesMetadata::decode(&mut r).map_err(|e| match e {
            None => short(&r),
            Some(what) => (at, format!("metadata of {key}: {what}")),
        })?;
        out.push(Entry {
            key,
            value_type,
            metadata,
        });
    }
    if r.remaining() != 0 {
        return Err((r.position(), "trailing bytes after the last entry".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_sorted_and_every_prefix_is_refused() {
        let mut entries = vec![
            Entry {
                key: SeriesKey::from_name("z").unwrap(),
                value_type: ValueType::I64,
                metadata: SeriesMetadata::new("", ""),
            },
            Entry {
                key: SeriesKey::new("a", [("site", "p1")]).unwrap(),
                value_type: ValueType::F64,
                metadata: SeriesMetadata::new("bar", "Header pressure"),
            },
        ];
        let body = encode(&mut entries);
        assert_eq!(decode(&body).unwrap(), entries);
        assert_eq!(entries[0].key.name(), "a");
        for cut in 0..body.len() {
            assert!(decode(&body[..cut]).is_err(), "cut at {cut}");
        }
    }
}
