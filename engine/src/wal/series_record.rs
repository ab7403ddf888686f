//! WAL records about a series as a whole rather than its points: a delete of a time range
//! (kind 2) and a metadata update (kind 3). Both name the series by its full key and type,
//! not by a file-local id: they are rare, and a self-contained record can be replayed even
//! when no batch in the same file defines the series.
//!
//! ```text
//! delete (kind 2):   kind u8 | value_type u8 | series key | start i64 | end i64
//! metadata (kind 3): kind u8 | value_type u8 | series key | unit_len u16 | unit | desc_len u16 | description
//! ```

use crate::coding::{PutLe, Reader, Short};
use crate::metadata::SeriesMetadata;
use crate::point::ValueType;
use crate::series::SeriesKey;

/// Payload kind byte of a delete record.
pub const KIND_DELETE: u8 = 2;
/// Payload kind byte of a metadata record.
pub const KIND_METADATA: u8 = 3;

/// A logged delete of the points `start <= ts < end` of one series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRecord {
    /// The series.
    pub key: SeriesKey,
    /// Its value type.
    pub value_type: ValueType,
    /// Inclusive start, ns.
    pub start: i64,
    /// Exclusive end, ns; not before `start`.
    pub end: i64,
}

impl DeleteRecord {
    /// Encodes the record payload.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(KIND_DELETE);
        out.put_u8(self.value_type.code());
        self.key.encode(out);
        out.put_i64(self.start);
        out.put_i64(self.end);
    }

    /// Decodes a payload whose kind byte has been read.
    pub(super) fn decode_rest(r: &mut Reader<'_>) -> Result<DeleteRecord, String> {
        let short = |_: Short| "delete record ends early".to_string();
        let (value_type, key) = type_and_key(r)?;
        let start = r.i64().map_err(short)?;
        let end = r.i64().map_err(short)?;
        if start > end {
            return Err(format!("delete of {key} has start {start} after end {end}"));
        }
        Ok(DeleteRecord {
            key,
            value_type,
            start,
            end,
        })
    }
}

/// A logged metadata update of one series (which it declares, if it is not known yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRecord {
    /// The series.
    pub key: SeriesKey,
    /// Its value type.
    pub value_type: ValueType,
    /// The new metadata, replacing the old.
    pub metadata: SeriesMetadata,
}

impl MetadataRecord {
    /// Encodes the record payload.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(KIND_METADATA);
        out.put_u8(self.value_type.code());
        self.key.encode(out);
        self.metadata.encode(out);
    }

    /// Decodes a payload whose kind byte has been read.
    pub(super) fn decode_rest(r: &mut Reader<'_>) -> Result<MetadataRecord, String> {
        let (value_type, key) = type_and_key(r)?;
        let metadata = SeriesMetadata::decode(r).map_err(|e| match e {
            None => "metadata record ends early".to_string(),
            Some(what) => format!("metadata of {key}: {what}"),
        })?;
        Ok(MetadataRecord {
            key,
            value_type,
            metadata,
        })
    }
}

fn type_and_key(r: &mut Reader<'_>) -> Result<(ValueType, SeriesKey), String> {
    let code = r.u8().map_err(|_| "record ends early".to_string())?;
    let vt = ValueType::from_code(code).ok_or_else(|| format!("unknown value type code {code}"))?;
    let key =
        SeriesKey::decode(r).map_err(|e| e.unwrap_or_else(|| "series key ends early".into()))?;
    Ok((vt, key))
}
