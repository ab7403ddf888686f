//! WAL file header, record framing, the batch record payload, and the dispatch on a
//! payload's kind byte (batch here; delete and metadata in `series_record`).
//!
//! ```text
//! file header (32 bytes): magic "LDSTWAL\0" | version u32 | flags u32 | seq u64 | reserved u32 | crc u32
//! record:                 len u32 | payload_crc u32 | header_crc u32 | payload[len]
//! ```
//! `header_crc` covers the first 8 bytes of the record header, so that a damaged length is
//! caught before it is trusted; `payload_crc` covers the payload.

use crate::checksum::{crc32, crc32_parts};
use crate::coding::{PutLe, Reader, Short};
use crate::point::{Point, Quality, Value, ValueType};
use crate::series::SeriesKey;

pub use super::series_record::{DeleteRecord, MetadataRecord, KIND_DELETE, KIND_METADATA};

/// Magic bytes at the start of every WAL file.
pub const MAGIC: [u8; 8] = *b"LDSTWAL\0";
/// The WAL format version this build writes and the newest it reads. Version 2 added the
/// delete and metadata record kinds, version 3 the packed batch; older files are read as
/// they are.
pub const VERSION: u32 = 3;
/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 32;
/// Size of a record header.
pub const RECORD_HEADER_LEN: usize = 12;
/// Largest payload accepted; a larger length field is damage.
pub const MAX_RECORD_LEN: u32 = 1 << 30;
/// Payload kind byte of a write batch with fixed-width points.
pub const KIND_BATCH: u8 = 1;
/// Payload kind byte of a write batch whose points are packed with the chunk codec (what
/// this build writes): about a quarter of the bytes of [`KIND_BATCH`] on plant data, so
/// less to copy into the page cache and to fsync per acknowledged point.
pub const KIND_BATCH_PACKED: u8 = 4;

/// Builds the 32-byte file header of WAL file `seq`.
pub fn file_header(seq: u64) -> [u8; FILE_HEADER_LEN] {
    let mut h = Vec::with_capacity(FILE_HEADER_LEN);
    h.extend_from_slice(&MAGIC);
    h.put_u32(VERSION);
    h.put_u32(0);
    h.put_u64(seq);
    h.put_u32(0);
    h.put_u32(crc32(&h));
    let mut out = [0u8; FILE_HEADER_LEN];
    out.copy_from_slice(&h);
    out
}

/// What is wrong with a file header.
#[derive(Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 32 bytes.
    Short,
    /// Magic or checksum wrong.
    Bad(&'static str),
    /// A version newer than this build.
    Version(u32),
}

/// Checks a file header and returns the sequence number it records.
pub fn parse_file_header(buf: &[u8]) -> Result<u64, HeaderError> {
    if buf.len() < FILE_HEADER_LEN {
        return Err(HeaderError::Short);
    }
    let mut r = Reader::new(&buf[..FILE_HEADER_LEN]);
    let bad = |_: Short| HeaderError::Short;
    if r.bytes(8).map_err(bad)? != MAGIC {
        return Err(HeaderError::Bad("wrong magic in WAL file header"));
    }
    let version = r.u32().map_err(bad)?;
    let _flags = r.u32().map_err(bad)?;
    let seq = r.u64().map_err(bad)?;
    let _reserved = r.u32().map_err(bad)?;
    let crc = r.u32().map_err(bad)?;
    if crc != crc32(&buf[..FILE_HEADER_LEN - 4]) {
        return Err(HeaderError::Bad("WAL file header checksum mismatch"));
    }
    if version == 0 || version > VERSION {
        return Err(HeaderError::Version(version));
    }
    Ok(seq)
}

/// Appends `payload` as one framed record.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = payload.len() as u32;
    let pcrc = crc32(payload);
    let mut head = [0u8; 8];
    head[..4].copy_from_slice(&len.to_le_bytes());
    head[4..].copy_from_slice(&pcrc.to_le_bytes());
    out.extend_from_slice(&head);
    out.put_u32(crc32(&head));
    out.extend_from_slice(payload);
}

/// The result of looking for a record at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole, checksum-valid record: its payload and its total framed length.
    Record(&'a [u8], usize),
    /// The buffer ends inside the record (or is empty).
    Short,
    /// The bytes are not a valid record.
    Bad(&'static str),
}

/// Parses the record at the start of `buf`.
pub fn parse_frame(buf: &[u8]) -> Frame<'_> {
    if buf.len() < RECORD_HEADER_LEN {
        return Frame::Short;
    }
    let head = &buf[..8];
    let hcrc = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
    if hcrc != crc32(head) {
        return Frame::Bad("record header checksum mismatch");
    }
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let pcrc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if len > MAX_RECORD_LEN {
        return Frame::Bad("record length out of range");
    }
    let end = RECORD_HEADER_LEN + len as usize;
    if buf.len() < end {
        return Frame::Short;
    }
    let payload = &buf[RECORD_HEADER_LEN..end];
    if crc32_parts(&[payload]) != pcrc {
        return Frame::Bad("record payload checksum mismatch");
    }
    Frame::Record(payload, end)
}

/// A series introduced in this WAL file: later records name it by `id` only.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDef {
    /// Id of the series within this WAL file.
    pub id: u32,
    /// Its value type.
    pub value_type: ValueType,
    /// Its key.
    pub key: SeriesKey,
}

/// One write batch as logged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchRecord {
    /// Series first used in this file by this batch.
    pub defs: Vec<SeriesDef>,
    /// Points per series id, in batch order.
    pub writes: Vec<(u32, Vec<Point>)>,
}

/// Bytes one point takes in a batch record.
pub const POINT_LEN: usize = 20;

/// Encodes a batch payload, packed ([`KIND_BATCH_PACKED`]):
/// `kind u8 = 4 | n_defs u32 | (id u32, type u8, key)* | n_writes u32 |
///  (id u32, type u8, n u32, chunk_len u32, chunk[chunk_len])*`, each chunk holding the
/// write's `n` points in the order given (see the chunk format). Should the codec refuse a
/// write, the whole batch is written with fixed-width points instead ([`encode_batch_plain`]).
pub fn encode_batch<'a>(
    defs: impl ExactSizeIterator<Item = (u32, ValueType, &'a SeriesKey)> + Clone,
    writes: &[(u32, ValueType, &[Point])],
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.put_u8(KIND_BATCH_PACKED);
    put_defs(defs.clone(), out);
    out.put_u32(writes.len() as u32);
    for (id, vt, points) in writes {
        let Ok(chunk) = crate::codec::encode_chunk(*vt, points) else {
            out.truncate(start);
            return encode_batch_plain(defs, writes, out);
        };
        out.put_u32(*id);
        out.put_u8(vt.code());
        out.put_u32(points.len() as u32);
        out.put_u32(chunk.len() as u32);
        out.extend_from_slice(&chunk);
    }
}

fn put_defs<'a>(
    defs: impl ExactSizeIterator<Item = (u32, ValueType, &'a SeriesKey)>,
    out: &mut Vec<u8>,
) {
    out.put_u32(defs.len() as u32);
    for (id, vt, key) in defs {
        out.put_u32(id);
        out.put_u8(vt.code());
        key.encode(out);
    }
}

/// Encodes a batch payload with fixed-width points ([`KIND_BATCH`]):
/// `kind u8 = 1 | n_defs u32 | (id u32, type u8, key)* | n_writes u32 |
///  (id u32, type u8, n u32, (ts i64, value bits u64, quality u32)*n)*`.
pub fn encode_batch_plain<'a>(
    defs: impl ExactSizeIterator<Item = (u32, ValueType, &'a SeriesKey)>,
    writes: &[(u32, ValueType, &[Point])],
    out: &mut Vec<u8>,
) {
    out.put_u8(KIND_BATCH);
    out.put_u32(defs.len() as u32);
    for (id, vt, key) in defs {
        out.put_u32(id);
        out.put_u8(vt.code());
        key.encode(out);
    }
    out.put_u32(writes.len() as u32);
    for (id, vt, points) in writes {
        out.put_u32(*id);
        out.put_u8(vt.code());
        out.put_u32(points.len() as u32);
        out.reserve(points.len() * POINT_LEN);
        for p in points.iter() {
            out.put_i64(p.ts);
            out.put_u64(p.value.to_bits());
            out.put_u32(p.quality.0);
        }
    }
}

/// A decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A write batch (kind 1).
    Batch(BatchRecord),
    /// A delete of a time range of one series (kind 2).
    Delete(DeleteRecord),
    /// A metadata update of one series (kind 3).
    Metadata(MetadataRecord),
}

/// Decodes any record payload by its kind byte; the error names what is wrong.
pub fn decode_record(payload: &[u8]) -> Result<Record, String> {
    let mut r = Reader::new(payload);
    let kind = r.u8().map_err(|_| "empty record".to_string())?;
    let rec = match kind {
        KIND_BATCH | KIND_BATCH_PACKED => return decode_batch(payload).map(Record::Batch),
        KIND_DELETE => Record::Delete(DeleteRecord::decode_rest(&mut r)?),
        KIND_METADATA => Record::Metadata(MetadataRecord::decode_rest(&mut r)?),
        _ => return Err(format!("unknown record kind {kind}")),
    };
    if r.remaining() != 0 {
        return Err(format!("{} trailing bytes after record", r.remaining()));
    }
    Ok(rec)
}

/// Decodes a batch payload; the error names what is wrong.
pub fn decode_batch(payload: &[u8]) -> Result<BatchRecord, String> {
    let mut r = Reader::new(payload);
    let short = |_: Short| "batch record ends early".to_string();
    let kind = r.u8().map_err(short)?;
    if kind != KIND_BATCH && kind != KIND_BATCH_PACKED {
        return Err(format!("unknown record kind {kind}"));
    }
    let n_defs = r.u32().map_err(short)? as usize;
    let mut rec = BatchRecord::default();
    for _ in 0..n_defs {
        let id = r.u32().map_err(short)?;
        let value_type = read_type(&mut r)?;
        let key = SeriesKey::decode(&mut r)
            .map_err(|e| e.unwrap_or_else(|| "series key ends early".into()))?;
        rec.defs.push(SeriesDef {
            id,
            value_type,
            key,
        });
    }
    let n_writes = r.u32().map_err(short)? as usize;
    for _ in 0..n_writes {
        let id = r.u32().map_err(short)?;
        let vt = read_type(&mut r)?;
        let n = r.u32().map_err(short)? as usize;
        if kind == KIND_BATCH_PACKED {
            rec.writes.push((id, unpack(&mut r, vt, n, id)?));
            continue;
        }
        if n.saturating_mul(POINT_LEN) > r.remaining() {
            return Err(format!("series {id}: {n} points do not fit in the record"));
        }
        let mut points = Vec::with_capacity(n);
        for _ in 0..n {
            let ts = r.i64().map_err(short)?;
            let bits = r.u64().map_err(short)?;
            let q = r.u32().map_err(short)?;
            points.push(Point::with_quality(
                ts,
                Value::from_bits(vt, bits),
                Quality(q),
            ));
        }
        rec.writes.push((id, points));
    }
    if r.remaining() != 0 {
        return Err(format!(
            "{} trailing bytes after batch record",
            r.remaining()
        ));
    }
    Ok(rec)
}

/// The points of one packed write: a chunk that must hold exactly `n` points of type `vt`.
fn unpack(r: &mut Reader<'_>, vt: ValueType, n: usize, id: u32) -> Result<Vec<Point>, String> {
    let len = r.u32().map_err(|_| "batch record ends early".to_string())? as usize;
    let bytes = r
        .bytes(len)
        .map_err(|_| format!("series {id}: chunk of {len} bytes does not fit in the record"))?;
    let header = crate::codec::read_header(bytes).map_err(|e| format!("series {id}: {e}"))?;
    if header.count as usize != n || header.value_type != vt {
        return Err(format!(
            "series {id}: chunk holds {} points of type {}, the record says {n} of type {}",
            header.count,
            header.value_type.name(),
            vt.name()
        ));
    }
    crate::codec::decode_chunk(bytes).map_err(|e| format!("series {id}: {e}"))
}

fn read_type(r: &mut Reader<'_>) -> Result<ValueType, String> {
    let code = r.u8().map_err(|_| "batch record ends early".to_string())?;
    ValueType::from_code(code).ok_or_else(|| format!("unknown value type code {code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trips_and_every_prefix_is_short() {
        let mut buf = Vec::new();
        frame(b"hello world", &mut buf);
        assert_eq!(parse_frame(&buf), Frame::Record(b"hello world", buf.len()));
        for cut in 0..buf.len() {
            assert_eq!(parse_frame(&buf[..cut]), Frame::Short, "cut at {cut}");
        }
    }

    #[test]
    fn damaged_length_is_caught_by_the_header_checksum() {
        let mut buf = Vec::new();
        frame(b"payload", &mut buf);
        buf[1] ^= 0x40;
        assert_eq!(
            parse_frame(&buf),
            Frame::Bad("record header checksum mismatch")
        );
    }

    #[test]
    fn batch_round_trips() {
        let key = SeriesKey::new("t", [("a", "b")]).unwrap();
        let pts = vec![
            Point::new(-5, Value::F64(f64::from_bits(0x7ff8_dead_beef_0001))),
            Point::with_quality(i64::MAX, Value::F64(-0.0), Quality::BAD),
        ];
        let mut buf = Vec::new();
        encode_batch(
            [(7, ValueType::F64, &key)].into_iter(),
            &[(7, ValueType::F64, &pts)],
            &mut buf,
        );
        let rec = decode_batch(&buf).unwrap();
        assert_eq!(
            rec.defs,
            vec![SeriesDef {
                id: 7,
                value_type: ValueType::F64,
                key
            }]
        );
        assert_eq!(rec.writes, vec![(7, pts)]);
        assert!(decode_batch(&buf[..buf.len() - 1]).is_err());
        assert!(matches!(decode_record(&buf), Ok(Record::Batch(_))));
    }

    #[test]
    fn packed_and_plain_batches_decode_alike_in_the_order_given() {
        let key = SeriesKey::new("t", [("a", "b")]).unwrap();
        // Out of order, a duplicate timestamp (the later one must win on apply), quality.
        let floats: Vec<Point> = (0..500)
            .map(|i| {
                Point::new(
                    1_000_000_000 * (i % 97),
                    Value::F64(20.0 + (i as f64) * 0.1),
                )
            })
            .chain([Point::with_quality(5, Value::F64(f64::NAN), Quality::BAD)])
            .collect();
        let ints: Vec<Point> = (0..300).map(|i| Point::new(i, Value::I64(i * 3))).collect();
        let writes = [
            (1, ValueType::F64, floats.as_slice()),
            (2, ValueType::I64, ints.as_slice()),
        ];
        let defs = [(1, ValueType::F64, &key)];
        let (mut packed, mut plain) = (Vec::new(), Vec::new());
        encode_batch(defs.into_iter(), &writes, &mut packed);
        encode_batch_plain(defs.into_iter(), &writes, &mut plain);
        assert_eq!(packed[0], KIND_BATCH_PACKED);
        assert_eq!(plain[0], KIND_BATCH);
        let a = decode_batch(&packed).unwrap();
        let b = decode_batch(&plain).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.writes[0].1.len(), 501);
        assert!(
            packed.len() * 3 < plain.len(),
            "{} vs {}",
            packed.len(),
            plain.len()
        );
        for cut in [1, 10, packed.len() / 2, packed.len() - 1] {
            assert!(decode_batch(&packed[..cut]).is_err(), "prefix {cut}");
        }
        // A count that disagrees with the chunk is refused, not trusted.
        let count_at = 1 + 4 + (4 + 1 + key_len(&key)) + 4 + 4 + 1;
        packed[count_at] ^= 1;
        assert!(decode_batch(&packed)
            .unwrap_err()
            .contains("the record says"));
    }

    fn key_len(key: &SeriesKey) -> usize {
        let mut v = Vec::new();
        key.encode(&mut v);
        v.len()
    }

    #[test]
    fn delete_and_metadata_records_round_trip_and_prefixes_are_refused() {
        let key = SeriesKey::new("t", [("a", "b")]).unwrap();
        let del = DeleteRecord {
            key: key.clone(),
            value_type: ValueType::I64,
            start: i64::MIN,
            end: i64::MAX,
        };
        let meta = MetadataRecord {
            key,
            value_type: ValueType::Bool,
            metadata: crate::metadata::SeriesMetadata::new("on/off", "Pump 3 running"),
        };
        let mut a = Vec::new();
        del.encode(&mut a);
        let mut b = Vec::new();
        meta.encode(&mut b);
        assert_eq!(decode_record(&a).unwrap(), Record::Delete(del));
        assert_eq!(decode_record(&b).unwrap(), Record::Metadata(meta));
        for buf in [&a, &b] {
            for cut in 0..buf.len() {
                assert!(decode_record(&buf[..cut]).is_err(), "cut at {cut}");
            }
            let mut long = buf.clone();
            long.push(0);
            assert!(decode_record(&long).is_err());
        }
        assert!(decode_record(&[9])
            .unwrap_err()
            .contains("unknown record kind 9"));
    }
}
