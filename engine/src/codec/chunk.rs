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
    last_bool: bool,
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
            last_bool: false,
        }
    }

    /// The chunk's value type.
    pub fn value_type(&self) -> ValueType {
        self.vt
    }

    /// Appends a point. Values of another type are refused.
    #[inline(always)]
    pub fn push(&mut self, ts: i64, value: Value, quality: Quality) -> Result<(), CodecError> {
        match (self.vt, value) {
            (ValueType::F64, Value::F64(v)) => self.xor.push(&mut self.vals, v.to_bits()),
            (ValueType::I64, Value::I64(v)) => self.ints.push(&mut self.vals, v, &INTEGER_WIDTHS),
            (ValueType::Bool, Value::Bool(v)) => {
                boolean::push(&mut self.vals, v);
                self.last_bool = v;
            }
            _ => {
                return Err(CodecError::TypeMismatch {
                    expected: self.vt,
                    got: value.value_type(),
                })
            }
        }
        self.ts_state.push(&mut self.ts, ts, &TIMESTAMP_WIDTHS);
        self.quality.push(quality.0);
        if self.count == 0 {
            self.first_ts = ts;
        }
        self.count += 1;
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
        self.ts_state.last()
    }

    /// The last point pushed.
    pub fn last_point(&self) -> Option<Point> {
        let ts = self.ts_state.last()?;
        let value = match self.vt {
            ValueType::F64 => Value::F64(f64::from_bits(self.xor.last()?)),
            ValueType::I64 => Value::I64(self.ints.last()?),
            ValueType::Bool => Value::Bool(self.last_bool),
        };
        Some(Point::with_quality(
            ts,
            value,
            Quality(self.quality.last()?),
        ))
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
    let bad = |detail: String| CodecError::Invalid {
        what: "chunk header",
        detail,
    };
    let enc = *bytes.first().ok_or(CodecError::Truncated {
        what: "chunk header",
    })?;
    let encoding =
        Encoding::from_code(enc).ok_or_else(|| bad(format!("unknown encoding {enc}")))?;
    let vt_code = *bytes.get(1).ok_or(CodecError::Truncated {
        what: "chunk header",
    })?;
    let value_type = ValueType::from_code(vt_code)
        .ok_or_else(|| bad(format!("unknown value type {vt_code}")))?;
    let mut pos = 2;
    let count = get_varint(bytes, &mut pos, "chunk header")?;
    let ts_len = get_varint(bytes, &mut pos, "chunk header")?;
    let val_len = get_varint(bytes, &mut pos, "chunk header")?;
    let body = bytes.len() - pos;
    if ts_len.saturating_add(val_len) > body as u64 {
        return Err(CodecError::Truncated {
            what: "chunk streams",
        });
    }
    // Every point after the first costs at least one bit in each bit stream.
    let max_points = 1 + 8 * ts_len.min(val_len);
    if count > u32::MAX as u64 || count > max_points {
        return Err(bad(format!(
            "point count {count} exceeds what {ts_len}+{val_len} stream bytes can hold"
        )));
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
    let ts = &bytes[ts_at..val_at];
    let vals = &bytes[val_at..q_at];
    out.reserve(h.count as usize);
    match h.value_type {
        ValueType::F64 => decode_rows::<XorDecoder>(ts, vals, &runs, out)?,
        ValueType::I64 => decode_rows::<IntDecoder>(ts, vals, &runs, out)?,
        ValueType::Bool => decode_rows::<BoolDecoder>(ts, vals, &runs, out)?,
    }
    Ok(h)
}

/// Decodes one value stream; one implementation per value type, so the row loop below is
/// monomorphized and keeps all decoder state in registers.
trait ValueDecoder: Default {
    fn next_value(&mut self, r: &mut BitReader<'_>) -> Result<Value, CodecError>;
    /// The value that each zero bit repeats right now, if a zero bit means "unchanged".
    fn repeated(&self) -> Option<Value>;
    /// Notes that `k` repeated values were consumed.
    fn skip_repeats(&mut self, k: u32);
}

impl ValueDecoder for XorDecoder {
    #[inline(always)]
    fn next_value(&mut self, r: &mut BitReader<'_>) -> Result<Value, CodecError> {
        Ok(Value::F64(f64::from_bits(self.next(r)?)))
    }
    #[inline(always)]
    fn repeated(&self) -> Option<Value> {
        XorDecoder::repeated(self).map(|b| Value::F64(f64::from_bits(b)))
    }
    #[inline(always)]
    fn skip_repeats(&mut self, k: u32) {
        XorDecoder::skip_repeats(self, k)
    }
}

#[derive(Default)]
struct IntDecoder(DodDecoder);

impl ValueDecoder for IntDecoder {
    #[inline(always)]
    fn next_value(&mut self, r: &mut BitReader<'_>) -> Result<Value, CodecError> {
        Ok(Value::I64(self.0.next(r, &INTEGER_WIDTHS)?))
    }
    #[inline(always)]
    fn repeated(&self) -> Option<Value> {
        self.0.repeated().map(Value::I64)
    }
    #[inline(always)]
    fn skip_repeats(&mut self, k: u32) {
        self.0.zero_run(k, |_| {});
    }
}

#[derive(Default)]
struct BoolDecoder;

impl ValueDecoder for BoolDecoder {
    #[inline(always)]
    fn next_value(&mut self, r: &mut BitReader<'_>) -> Result<Value, CodecError> {
        Ok(Value::Bool(boolean::next(r)?))
    }
    #[inline(always)]
    fn repeated(&self) -> Option<Value> {
        None
    }
    #[inline(always)]
    fn skip_repeats(&mut self, _: u32) {}
}

fn decode_rows<V: ValueDecoder>(
    ts: &[u8],
    vals: &[u8],
    runs: &[(u32, u32)],
    out: &mut Vec<Point>,
) -> Result<(), CodecError> {
    let mut ts_r = BitReader::new(ts, "timestamp stream");
    let mut val_r = BitReader::new(vals, "value stream");
    let mut ts_d = DodDecoder::default();
    let mut val_d = V::default();
    for &(code, len) in runs {
        let quality = Quality(code);
        let mut left = len;
        while left > 0 {
            // Fast path: a run of zero bits in both streams is a run of points one period
            // apart with an unchanged value (the common case of a steady signal).
            if let (true, Some(value)) = (ts_d.started(), val_d.repeated()) {
                let k = ts_r.zeros_ahead().min(val_r.zeros_ahead()).min(left);
                if k > 1 {
                    ts_r.skip(k);
                    val_r.skip(k);
                    val_d.skip_repeats(k);
                    ts_d.zero_run(k, |ts| out.push(Point { ts, value, quality }));
                    left -= k;
                    continue;
                }
            }
            let ts = ts_d.next(&mut ts_r, &TIMESTAMP_WIDTHS)?;
            let value = val_d.next_value(&mut val_r)?;
            out.push(Point { ts, value, quality });
            left -= 1;
        }
    }
    check_consumed(&ts_r, ts.len(), "timestamp stream")?;
    check_consumed(&val_r, vals.len(), "value stream")
}

/// The stream must end in its last byte (only zero padding after the last field).
fn check_consumed(r: &BitReader<'_>, len: usize, what: &'static str) -> Result<(), CodecError> {
    if r.position().div_ceil(8) != len {
        return Err(CodecError::Invalid {
            what,
            detail: format!("{} of {len} bytes used", r.position().div_ceil(8)),
        });
    }
    Ok(())
}

/// Decodes a whole chunk into a new vector.
pub fn decode_chunk(bytes: &[u8]) -> Result<Vec<Point>, CodecError> {
    let mut out = Vec::new();
    decode_chunk_into(bytes, &mut out)?;
    Ok(out)
}
