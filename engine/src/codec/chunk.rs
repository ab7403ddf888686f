//! The chunk: a self-describing, compressed run of points of one series.
//!
//! ```text
//! encoding u8 (1 = Gorilla) │ value_type u8 │ count varint │ ts_len varint │ val_len varint │
//! ts_unit varint │ [ts_base i64 LE, only when ts_unit > 1] │
//! timestamp stream (ts_len bytes) │ value stream (val_len bytes) │ quality stream (rest)
//! ```
//! - timestamps are `ts_base + k * ts_unit` (wrapping) for the coded sequence `k`; a finished
//!   chunk whose timestamps share a unit (whole milliseconds, whole seconds) codes them in it;
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

/// What every chunk says about itself, whatever its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    /// How the streams are coded.
    pub encoding: Encoding,
    /// The type of every value.
    pub value_type: ValueType,
    /// Points in the chunk.
    pub count: u32,
}

/// The decoded header of a Gorilla chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GorillaHeader {
    /// The type of every value.
    pub value_type: ValueType,
    /// Points in the chunk.
    pub count: u32,
    /// Length of the timestamp stream.
    pub ts_len: u32,
    /// Length of the value stream.
    pub val_len: u32,
    /// Timestamps are `ts_base + k * ts_unit` for the coded `k` (unit 1, base 0: coded as is).
    pub ts_unit: u64,
    /// See `ts_unit`.
    pub ts_base: i64,
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
    unit: TimeUnit,
}

/// What the encoder learns about its timestamps as they arrive, so that closing a chunk only
/// re-codes timestamps when a common unit will pay: strictly increasing (so offsets from the
/// first timestamp cannot wrap), their deltas' greatest common divisor, and how often the
/// delta changed (each change is a delta-of-delta that a coarser unit makes smaller).
#[derive(Debug, Clone, Copy)]
struct TimeUnit {
    increasing: bool,
    gcd: u64,
    prev_delta: u64,
    changes: u32,
}

impl TimeUnit {
    /// Fewer delta changes than this: the 9 header bytes would eat the gain.
    const MIN_CHANGES: u32 = 16;

    #[inline(always)]
    fn observe(&mut self, prev: Option<i64>, ts: i64) {
        let Some(prev) = prev else { return };
        if ts <= prev {
            self.increasing = false;
            return;
        }
        let delta = ts.wrapping_sub(prev) as u64;
        if delta != self.prev_delta {
            self.changes += 1;
            self.prev_delta = delta;
            if self.gcd != 1 {
                self.gcd = gcd(self.gcd, delta);
            }
        }
    }

    fn pays(&self) -> bool {
        self.increasing && self.gcd > 1 && self.changes >= Self::MIN_CHANGES
    }
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
            unit: TimeUnit {
                increasing: true,
                gcd: 0,
                prev_delta: 0,
                changes: 0,
            },
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
        self.unit.observe(self.ts_state.last(), ts);
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

    /// The chunk as it stands, complete and decodable; the encoder keeps going. Cheap: the
    /// streams are copied, not re-encoded.
    pub fn snapshot(&self) -> Vec<u8> {
        self.assemble(None)
    }

    /// The chunk in its final form, the encoder untouched: like [`ChunkEncoder::snapshot`],
    /// but timestamps that share a common unit (say whole milliseconds, in nanoseconds) are
    /// re-coded in that unit when it makes the chunk smaller.
    pub fn to_finished(&self) -> Vec<u8> {
        self.assemble(self.scaled_timestamps())
    }

    /// The finished chunk (see [`ChunkEncoder::to_finished`]).
    pub fn finish(self) -> Vec<u8> {
        self.to_finished()
    }

    fn assemble(&self, scaled: Option<(u64, i64, BitWriter)>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len() + 9);
        out.push(Encoding::Gorilla.code());
        out.push(self.vt.code());
        put_varint(&mut out, self.count as u64);
        let ts = scaled.as_ref().map_or(&self.ts, |(_, _, w)| w);
        put_varint(&mut out, ts.byte_len() as u64);
        put_varint(&mut out, self.vals.byte_len() as u64);
        match &scaled {
            Some((unit, base, _)) => {
                put_varint(&mut out, *unit);
                out.extend_from_slice(&base.to_le_bytes());
            }
            None => put_varint(&mut out, 1),
        }
        ts.copy_to(&mut out);
        self.vals.copy_to(&mut out);
        self.quality.encode(&mut out);
        out
    }

    /// The timestamp stream re-coded as `(t - base) / unit`, with `unit` the greatest common
    /// divisor of the deltas, when the timestamps increase and the unit pays for its header.
    fn scaled_timestamps(&self) -> Option<(u64, i64, BitWriter)> {
        if !self.unit.pays() {
            return None;
        }
        let unit = self.unit.gcd;
        let mut raw = Vec::with_capacity(self.ts.byte_len());
        self.ts.copy_to(&mut raw);
        let mut r = BitReader::new(&raw, "timestamp stream");
        let mut d = DodDecoder::default();
        let mut w = BitWriter::new();
        let mut e = DodEncoder::default();
        let base = self.first_ts;
        for _ in 0..self.count {
            let t = d.next(&mut r, &TIMESTAMP_WIDTHS).ok()?;
            // Increasing timestamps: the offset is exact and a multiple of the unit.
            e.push(
                &mut w,
                (t.wrapping_sub(base) as u64 / unit) as i64,
                &TIMESTAMP_WIDTHS,
            );
        }
        (w.byte_len() + 9 < self.ts.byte_len()).then_some((unit, base, w))
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Encodes points of type `vt` (in the order given) into one chunk.
pub fn encode_chunk(vt: ValueType, points: &[Point]) -> Result<Vec<u8>, CodecError> {
    let mut e = ChunkEncoder::new(vt);
    for p in points {
        e.push(p.ts, p.value, p.quality)?;
    }
    Ok(e.finish())
}

/// Reads and checks the header of a chunk of any encoding.
pub fn read_header(bytes: &[u8]) -> Result<ChunkHeader, CodecError> {
    if bytes.first() == Some(&Encoding::Cold.code()) {
        let inner = super::cold::unwrap(bytes)?;
        return Ok(ChunkHeader {
            encoding: Encoding::Cold,
            ..read_header(&inner)?
        });
    }
    if bytes.first() == Some(&Encoding::Packed.code()) {
        let (value_type, count) = super::packed::value_type_and_count(bytes)?;
        return Ok(ChunkHeader {
            encoding: Encoding::Packed,
            value_type,
            count,
        });
    }
    let h = read_gorilla_header(bytes)?;
    Ok(ChunkHeader {
        encoding: Encoding::Gorilla,
        value_type: h.value_type,
        count: h.count,
    })
}

/// Reads and checks a Gorilla chunk header.
pub(crate) fn read_gorilla_header(bytes: &[u8]) -> Result<GorillaHeader, CodecError> {
    let bad = |detail: String| CodecError::Invalid {
        what: "chunk header",
        detail,
    };
    let enc = *bytes.first().ok_or(CodecError::Truncated {
        what: "chunk header",
    })?;
    if Encoding::from_code(enc) != Some(Encoding::Gorilla) {
        return Err(bad(format!("unknown encoding {enc}")));
    }
    let vt_code = *bytes.get(1).ok_or(CodecError::Truncated {
        what: "chunk header",
    })?;
    let value_type = ValueType::from_code(vt_code)
        .ok_or_else(|| bad(format!("unknown value type {vt_code}")))?;
    let mut pos = 2;
    let count = get_varint(bytes, &mut pos, "chunk header")?;
    let ts_len = get_varint(bytes, &mut pos, "chunk header")?;
    let val_len = get_varint(bytes, &mut pos, "chunk header")?;
    let ts_unit = get_varint(bytes, &mut pos, "chunk header")?;
    if ts_unit == 0 {
        return Err(bad("timestamp unit 0".into()));
    }
    let ts_base = if ts_unit > 1 {
        let b = bytes.get(pos..pos + 8).ok_or(CodecError::Truncated {
            what: "chunk header",
        })?;
        pos += 8;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        i64::from_le_bytes(a)
    } else {
        0
    };
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
    Ok(GorillaHeader {
        value_type,
        count: count as u32,
        ts_len: ts_len as u32,
        val_len: val_len as u32,
        ts_unit,
        ts_base,
        body_offset: pos as u32,
    })
}

/// Decodes a chunk of any encoding, appending its points (in encoded order) to `out`. On
/// error `out` is left as it was.
pub fn decode_chunk_into(bytes: &[u8], out: &mut Vec<Point>) -> Result<ChunkHeader, CodecError> {
    if bytes.first() == Some(&Encoding::Cold.code()) {
        let inner = super::cold::unwrap(bytes)?;
        return Ok(ChunkHeader {
            encoding: Encoding::Cold,
            ..decode_chunk_into(&inner, out)?
        });
    }
    if bytes.first() == Some(&Encoding::Packed.code()) {
        let (value_type, count) = super::packed::decode_into(bytes, out)?;
        return Ok(ChunkHeader {
            encoding: Encoding::Packed,
            value_type,
            count,
        });
    }
    let base = out.len();
    let decoded = decode_gorilla_into(bytes, out);
    if decoded.is_err() {
        out.truncate(base);
    }
    let h = decoded?;
    Ok(ChunkHeader {
        encoding: Encoding::Gorilla,
        value_type: h.value_type,
        count: h.count,
    })
}

fn decode_gorilla_into(bytes: &[u8], out: &mut Vec<Point>) -> Result<GorillaHeader, CodecError> {
    let h = read_gorilla_header(bytes)?;
    let ts_at = h.body_offset as usize;
    let val_at = ts_at + h.ts_len as usize;
    let q_at = val_at + h.val_len as usize;
    let runs = QualityRuns::decode(&bytes[q_at..], h.count)?;
    let ts = &bytes[ts_at..val_at];
    let vals = &bytes[val_at..q_at];
    out.reserve(h.count as usize);
    match h.value_type {
        ValueType::F64 => decode_rows::<XorDecoder>(&h, ts, vals, &runs, out)?,
        ValueType::I64 => decode_rows::<IntDecoder>(&h, ts, vals, &runs, out)?,
        ValueType::Bool => decode_rows::<BoolDecoder>(&h, ts, vals, &runs, out)?,
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
    h: &GorillaHeader,
    ts: &[u8],
    vals: &[u8],
    runs: &[(u32, u32)],
    out: &mut Vec<Point>,
) -> Result<(), CodecError> {
    let mut ts_r = BitReader::new(ts, "timestamp stream");
    let mut val_r = BitReader::new(vals, "value stream");
    let mut ts_d = DodDecoder::default();
    let mut val_d = V::default();
    let (unit, base) = (h.ts_unit, h.ts_base);
    let time = move |k: i64| base.wrapping_add((k as u64).wrapping_mul(unit) as i64);
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
                    ts_d.zero_run(k, |ts| {
                        out.push(Point {
                            ts: time(ts),
                            value,
                            quality,
                        })
                    });
                    left -= k;
                    continue;
                }
            }
            let ts = time(ts_d.next(&mut ts_r, &TIMESTAMP_WIDTHS)?);
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
