//! The chunk: a self-describing, compressed run of points of one series.
//!
//! ```text
//! encoding u8 (1 = Gorilla) │ value_type u8 │ count varint │ ts_len varint │ val_len varint │
//! timestamp stream (ts_len bytes) │ value stream (val_len bytes) │ quality stream (rest)
//! ```
//! - timestamp stream: delta-of-delta, [`dod::TIMESTAMP_WIDTHS`] buckets, bit-packed, MSB first;
//! - value stream: f64 → Gorilla XOR ([`float`]); i64 → delta-of-delta with
//!   [`dod::INTEGER_WIDTHS`]; bool → one bit each; zero-padded to a whole byte;
//! - quality stream: run-length ([`quality`]), its runs covering exactly `count` points.
//!
//! A decoder checks that `count` is possible for the stream sizes (every point takes at least
//! one bit of each bit stream) before allocating, that every stream is consumed to its last
//! byte, and that nothing follows the quality stream.

use super::bits::{BitReader, BitWriter};
use super::dod::{DodDecoder, DodEncoder, INTEGER_WIDTHS, TIMESTAMP_WIDTHS};
use super::error::CodecError;
use super::float::{XorDecoder, XorEncoder};
use super::quality::QualityRuns;
use super::varint::{get_varint, put_varint};
use super::{boolean, Encoding};
use crate::point::{Point, Quality, Value, ValueType};

/// The decoded header of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    /// How the streams are coded.
    pub encoding: Encoding,
    /// The type of every value.
    pub value_type: ValueType,
    /// Points in the chunk.
    pub count: u32,
    /// Length of the timestamp stream.
    pub ts_len: u32,
    /// Length of the value stream.
    pub val_len: u32,
    /// Offset of the timestamp stream (the header's length).
    pub body_offset: u32,
}

/// The head's open chunk: points are compressed as they are pushed.
#[derive(Debug, Clone)]
pub struct ChunkEncoder {
    vt: ValueType,
    ts: BitWriter,
    ts_state: DodEncoder,
    vals: BitWriter,
    xor: XorEncoder,
    ints: DodEncoder,
    quality: QualityRuns,
    count: u32,
    first_ts: i64,
    last: Option<Point>,
}

impl ChunkEncoder {
    /// An empty chunk for values of type `vt`.
    pub fn new(vt: ValueType) -> ChunkEncoder {
        ChunkEncoder {
            vt,
            ts: BitWriter::new(),
            ts_state: DodEncoder::default(),
            vals: BitWriter::new(),
            xor: XorEncoder::default(),
            ints: DodEncoder::default(),
            quality: QualityRuns::default(),
            count: 0,
            first_ts: 0,
            last: None,
        }
    }

    /// The chunk's value type.
    pub fn value_type(&self) -> ValueType {
        self.vt
    }

    /// Appends a point. Values of another type are refused.
    #[inline]
    pub fn push(&mut self, ts: i64, value: Value, quality: Quality) -> Result<(), CodecError> {
        match (self.vt, value) {
            (ValueType::F64, Value::F64(v)) => self.xor.push(&mut self.vals, v.to_bits()),
            (ValueType::I64, Value::I64(v)) => self.ints.push(&mut self.vals, v, &INTEGER_WIDTHS),
            (ValueType::Bool, Value::Bool(v)) => boolean::push(&mut self.vals, v),
            _ => return Err(CodecError::TypeMismatch { expected: self.vt, got: value.value_type() }),
        }
        self.ts_state.push(&mut self.ts, ts, &TIMESTAMP_WIDTHS);
        self.quality.push(quality.0);
        if self.count == 0 {
            self.first_ts = ts;
        }
        self.count += 1;
        self.last = Some(Point::with_quality(ts, value, quality));
        Ok(())
    }

    /// Points pushed.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Timestamp of the first point pushed.
    pub fn first_ts(&self) -> Option<i64> {
        (self.count > 0).then_some(self.first_ts)
    }

    /// Timestamp of the last point pushed.
    pub fn last_ts(&self) -> Option<i64> {
        self.last.map(|p| p.ts)
    }

    /// The last point pushed.
    pub fn last_point(&self) -> Option<Point> {
        self.last
    }

    /// Size of the chunk if finished now, in bytes.
    pub fn encoded_len(&self) -> usize {
        2 + 15 + self.ts.byte_len() + self.vals.byte_len() + self.quality.byte_len()
    }

    /// The chunk as it stands, complete and decodable; the encoder keeps going.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(Encoding::Gorilla.code());
        out.push(self.vt.code());
        put_varint(&mut out, self.count as u64);
        put_varint(&mut out, self.ts.byte_len() as u64);
        put_varint(&mut out, self.vals.byte_len() as u64);
        self.ts.copy_to(&mut out);
        self.vals.copy_to(&mut out);
        self.quality.encode(&mut out);
        out
    }

    /// The finished chunk.
    pub fn finish(self) -> Vec<u8> {
        self.snapshot()
    }
}

/// Encodes points of type `vt` (in the order given) into one chunk.
pub fn encode_chunk(vt: ValueType, points: &[Point]) -> Result<Vec<u8>, CodecError> {
    let mut e = ChunkEncoder::new(vt);
    for p in points {
        e.push(p.ts, p.value, p.quality)?;
    }
    Ok(e.finish())
}

/// Reads and checks a chunk header.
pub fn read_header(bytes: &[u8]) -> Result<ChunkHeader, CodecError> {
    let bad = |detail: String| CodecError::Invalid { what: "chunk header", detail };
    let enc = *bytes.first().ok_or(CodecError::Truncated { what: "chunk header" })?;
    let encoding = Encoding::from_code(enc).ok_or_else(|| bad(format!("unknown encoding {enc}")))?;
    let vt_code = *bytes.get(1).ok_or(CodecError::Truncated { what: "chunk header" })?;
    let value_type = ValueType::from_code(vt_code).ok_or_else(|| bad(format!("unknown value type {vt_code}")))?;
    let mut pos = 2;
    let count = get_varint(bytes, &mut pos, "chunk header")?;
    let ts_len = get_varint(bytes, &mut pos, "chunk header")?;
    let val_len = get_varint(bytes, &mut pos, "chunk header")?;
    let body = bytes.len() - pos;
    if ts_len.saturating_add(val_len) > body as u64 {
        return Err(CodecError::Truncated { what: "chunk streams" });
    }
    // Every point after the first costs at least one bit in each bit stream.
    let max_points = 1 + 8 * ts_len.min(val_len);
    if count > u32::MAX as u64 || count > max_points {
        return Err(bad(format!("point count {count} exceeds what {ts_len}+{val_len} stream bytes can hold")));
    }
    Ok(ChunkHeader {
        encoding,
        value_type,
        count: count as u32,
        ts_len: ts_len as u32,
        val_len: val_len as u32,
        body_offset: pos as u32,
    })
}

/// Decodes a chunk, appending its points (in pushed order) to `out`.
pub fn decode_chunk_into(bytes: &[u8], out: &mut Vec<Point>) -> Result<ChunkHeader, CodecError> {
    let h = read_header(bytes)?;
    let ts_at = h.body_offset as usize;
    let val_at = ts_at + h.ts_len as usize;
    let q_at = val_at + h.val_len as usize;
    let runs = QualityRuns::decode(&bytes[q_at..], h.count)?;
    let mut ts_r = BitReader::new(&bytes[ts_at..val_at], "timestamp stream");
    let mut val_r = BitReader::new(&bytes[val_at..q_at], "value stream");
    let mut ts_d = DodDecoder::default();
    out.reserve(h.count as usize);
    match h.value_type {
        ValueType::F64 => {
            let mut x = XorDecoder::default();
            decode_rows(&runs, out, |out, q| {
                let ts = ts_d.next(&mut ts_r, &TIMESTAMP_WIDTHS)?;
                let v = f64::from_bits(x.next(&mut val_r)?);
                out.push(Point::with_quality(ts, Value::F64(v), q));
                Ok(())
            })?;
        }
        ValueType::I64 => {
            let mut d = DodDecoder::default();
            decode_rows(&runs, out, |out, q| {
                let ts = ts_d.next(&mut ts_r, &TIMESTAMP_WIDTHS)?;
                let v = d.next(&mut val_r, &INTEGER_WIDTHS)?;
                out.push(Point::with_quality(ts, Value::I64(v), q));
                Ok(())
            })?;
        }
        ValueType::Bool => {
            decode_rows(&runs, out, |out, q| {
                let ts = ts_d.next(&mut ts_r, &TIMESTAMP_WIDTHS)?;
                let v = boolean::next(&mut val_r)?;
                out.push(Point::with_quality(ts, Value::Bool(v), q));
                Ok(())
            })?;
        }
    }
    check_consumed(&ts_r, h.ts_len, "timestamp stream")?;
    check_consumed(&val_r, h.val_len, "value stream")?;
    Ok(h)
}

fn decode_rows(
    runs: &[(u32, u32)],
    out: &mut Vec<Point>,
    mut row: impl FnMut(&mut Vec<Point>, Quality) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    for &(code, len) in runs {
        for _ in 0..len {
            row(out, Quality(code))?;
        }
    }
    Ok(())
}

/// The stream must end in its last byte (only zero padding after the last field).
fn check_consumed(r: &BitReader<'_>, len: u32, what: &'static str) -> Result<(), CodecError> {
    if r.position().div_ceil(8) != len as usize {
        return Err(CodecError::Invalid { what, detail: format!("{} of {len} bytes used", r.position().div_ceil(8)) });
    }
    Ok(())
}

/// Decodes a whole chunk into a new vector.
pub fn decode_chunk(bytes: &[u8]) -> Result<Vec<Point>, CodecError> {
    let mut out = Vec::new();
    decode_chunk_into(bytes, &mut out)?;
    Ok(out)
}
