//! The `tombstones` file: every tombstone of the store, rewritten whole by a flush before it
//! deletes the WAL files whose delete records it replaces (layout in `engine/FORMAT.md`).
//!
//! ```text
//! body: n_series u32 | per series, sorted by key:
//!       series key | value_type u8 | n u32 | n × (start i64 | end i64 | max_segment_seq u64)
//! ```

use std::path::Path;

use super::{Tombstone, Tombstones};
use crate::coding::{PutLe, Reader};
use crate::error::{Error, Result};
use crate::point::ValueType;
use crate::series::SeriesKey;
use crate::whole_file::{Kind, HEADER_LEN};

/// The tombstone file kind: `DATA_DIR/tombstones`, magic `LDSTTOMB`, version 1.
pub const KIND: Kind = Kind {
    name: "tombstones",
    magic: *b"LDSTTOMB",
    version: 1,
};

/// Bytes of one tombstone entry.
pub const ENTRY_LEN: usize = 24;

/// The body of a tombstone file holding `tombstones`.
pub fn encode(tombstones: &Tombstones) -> Vec<u8> {
    let mut series: Vec<_> = tombstones.iter().collect();
    series.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    out.put_u32(series.len() as u32);
    for (key, s) in series {
        key.encode(&mut out);
        out.put_u8(s.value_type.code());
        out.put_u32(s.list.len() as u32);
        for t in &s.list {
            out.put_i64(t.start);
            out.put_i64(t.end);
            out.put_u64(t.max_segment_seq);
        }
    }
    out
}

/// Replaces the tombstone file in data folder `dir`.
pub fn write(dir: &Path, tombstones: &Tombstones) -> Result<()> {
    KIND.write(dir, &encode(tombstones))
}

/// Reads the tombstone file in data folder `dir`; no file means no tombstones.
pub fn read(dir: &Path) -> Result<Tombstones> {
    let Some((_version, body)) = KIND.read(dir)? else {
        return Ok(Tombstones::default());
    };
    decode(&body)
        .map_err(|(off, what)| Error::corrupt(KIND.path(dir), (HEADER_LEN + off) as u64, what))
}

/// Decodes a body; the error gives the offset within the body and what is wrong.
pub fn decode(body: &[u8]) -> std::result::Result<Tombstones, (usize, String)> {
    let mut r = Reader::new(body);
    let short = |r: &Reader<'_>| (r.position(), "tombstone file ends early".to_string());
    let n = r.u32().map_err(|_| short(&r))?;
    let mut out = Tombstones::default();
    let mut prev: Option<SeriesKey> = None;
    for _ in 0..n {
        let at = r.position();
        let key = SeriesKey::decode(&mut r)
            .map_err(|e| (at, e.unwrap_or_else(|| "series key ends early".into())))?;
        if prev.as_ref().is_some_and(|p| *p >= key) {
            return Err((at, format!("series {key} out of order or listed twice")));
        }
        let code = r.u8().map_err(|_| short(&r))?;
        let value_type = ValueType::from_code(code)
            .ok_or_else(|| (r.position() - 1, format!("unknown value type code {code}")))?;
        let count = r.u32().map_err(|_| short(&r))? as usize;
        if count == 0 || count.saturating_mul(ENTRY_LEN) > r.remaining() {
            return Err((
                r.position() - 4,
                format!("bad tombstone count {count} for {key}"),
            ));
        }
        for _ in 0..count {
            let at = r.position();
            let t = Tombstone {
                start: r.i64().map_err(|_| short(&r))?,
                end: r.i64().map_err(|_| short(&r))?,
                max_segment_seq: r.u64().map_err(|_| short(&r))?,
            };
            if t.start >= t.end {
                return Err((
                    at,
                    format!(
                        "tombstone of {key} has start {} not before end {}",
                        t.start, t.end
                    ),
                ));
            }
            out.add(&key, value_type, t);
        }
        prev = Some(key);
    }
    if r.remaining() != 0 {
        return Err((
            r.position(),
            "trailing bytes after the last tombstone".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstones_round_trip_and_every_prefix_is_refused() {
        let mut ts = Tombstones::default();
        let a = SeriesKey::new("a", [("site", "p1")]).unwrap();
        let b = SeriesKey::from_name("b").unwrap();
        ts.add(
            &b,
            ValueType::Bool,
            Tombstone {
                start: i64::MIN,
                end: i64::MAX,
                max_segment_seq: 0,
            },
        );
        ts.add(
            &a,
            ValueType::F64,
            Tombstone {
                start: 1,
                end: 5,
                max_segment_seq: 7,
            },
        );
        ts.add(
            &a,
            ValueType::F64,
            Tombstone {
                start: 3,
                end: 9,
                max_segment_seq: 8,
            },
        );
        let body = encode(&ts);
        let back = decode(&body).unwrap();
        assert_eq!(back.get(&a), ts.get(&a));
        assert_eq!(back.get(&b), ts.get(&b));
        assert_eq!(back.len(), 3);
        for cut in 0..body.len() {
            assert!(decode(&body[..cut]).is_err(), "cut at {cut}");
        }
    }
}
