//! The packed chunk encoding (encoding 2): what segments store.
//!
//! Each chunk chooses, from the points it holds, the coding of its timestamps ([`time`]) and
//! of its values ([`values`]) that makes it smallest, and records the choice:
//! ```text
//! encoding u8 = 2 │ value_type u8 │ count varint │ time coding u8 │ value coding u8 │
//! timestamp section │ value section │ quality runs (the rest, see `quality`)
//! ```
//! Time codings: 0 Delta, 1 Grid. Value codings: 0 Xor, 1 Decimal, 2 Split (floats), 3 Int
//! (integers, and booleans as 0 and 1). A chunk of no points has no sections but the quality
//! runs. Streams are entropy-coded with static rANS ([`rans`]) through [`ints`].
//!
//! Decoding checks every length against the bytes present, refuses counts above
//! [`MAX_POINTS`] before allocating, and requires each section to end exactly where the next
//! begins, so damage is reported rather than decoded into other points.

pub mod columns;
pub mod ints;
pub mod rans;
pub mod readers;
pub mod time;
pub mod values;

use super::error::CodecError;
use super::quality::QualityRuns;
use super::varint::{get_varint, put_varint};
use super::Encoding;
use crate::point::{Point, Quality, Value, ValueType};
use readers::{AsBool, AsDecimal, AsInt, IntMap, IntValues, Ints, Splits, ValueReader, Xors};
use time::{TimeReader, Times};
use values::{Decimal, Split};

/// Most points a packed chunk may hold. A packed chunk can code a constant run in a few bytes,
/// so the decoder needs this bound to refuse allocating without limit; the encoder never
/// makes a bigger one.
pub const MAX_POINTS: u32 = 1 << 16;

/// How a packed chunk codes its timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeCoding {
    /// Each delta minus the chunk's typical period, entropy-coded.
    Delta,
    /// Each timestamp's offset from a regular grid of the chunk's period, and the periods
    /// skipped (gaps), entropy-coded: jitter does not accumulate.
    Grid,
}

/// How a packed chunk codes its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueCoding {
    /// Floats XOR-coded against the previous value (Gorilla).
    Xor,
    /// Floats that are exact decimals at one scale, coded as integers (exceptions kept raw).
    Decimal,
    /// Floats split into entropy-coded high bits (sign, exponent, top of mantissa) and raw
    /// low bits.
    Split,
    /// Integers and booleans, delta-coded and entropy-coded.
    Int,
}

/// The codings of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Plan {
    /// Timestamp coding.
    pub time: TimeCoding,
    /// Value coding.
    pub value: ValueCoding,
}

impl TimeCoding {
    fn code(self) -> u8 {
        match self {
            TimeCoding::Delta => 0,
            TimeCoding::Grid => 1,
        }
    }

    fn from_code(c: u8) -> Option<TimeCoding> {
        match c {
            0 => Some(TimeCoding::Delta),
            1 => Some(TimeCoding::Grid),
            _ => None,
        }
    }
}

impl ValueCoding {
    fn code(self) -> u8 {
        match self {
            ValueCoding::Xor => 0,
            ValueCoding::Decimal => 1,
            ValueCoding::Split => 2,
            ValueCoding::Int => 3,
        }
    }

    fn from_code(c: u8) -> Option<ValueCoding> {
        match c {
            0 => Some(ValueCoding::Xor),
            1 => Some(ValueCoding::Decimal),
            2 => Some(ValueCoding::Split),
            3 => Some(ValueCoding::Int),
            _ => None,
        }
    }

    fn fits(self, vt: ValueType) -> bool {
        (self == ValueCoding::Int) == (vt != ValueType::F64)
    }
}

const WHAT: &str = "packed chunk";

fn invalid(detail: String) -> CodecError {
    CodecError::Invalid { what: WHAT, detail }
}

/// Encodes points (any order, any values of type `vt`) as one packed chunk, with the codings
/// of `plan`, or the smallest ones when `plan` is `None`. A plan that does not fit the value
/// type (`Int` for floats, a float coding for integers or booleans) is an error, as are more
/// than [`MAX_POINTS`] points.
pub fn encode_packed(
    vt: ValueType,
    points: &[Point],
    plan: Option<Plan>,
) -> Result<Vec<u8>, CodecError> {
    if points.len() > MAX_POINTS as usize {
        return Err(invalid(format!(
            "{} points, more than the {MAX_POINTS} a chunk holds",
            points.len()
        )));
    }
    if let Some(p) = plan.filter(|p| !p.value.fits(vt)) {
        return Err(invalid(format!(
            "{:?} cannot code values of type {}",
            p.value,
            vt.name()
        )));
    }
    let mut quality = QualityRuns::default();
    let mut ts = Vec::with_capacity(points.len());
    let mut bits = Vec::with_capacity(points.len());
    for p in points {
        if p.value.value_type() != vt {
            return Err(CodecError::TypeMismatch {
                expected: vt,
                got: p.value.value_type(),
            });
        }
        ts.push(p.ts);
        bits.push(p.value.to_bits());
        quality.push(p.quality.0);
    }
    let mut out = Vec::with_capacity(16 + points.len() * 2);
    out.push(Encoding::Packed.code());
    out.push(vt.code());
    put_varint(&mut out, points.len() as u64);
    let (at_time, at_value) = (out.len(), out.len() + 1);
    out.extend_from_slice(&[0, 0]);
    if !points.is_empty() {
        let time = Times::new(&ts).encode(plan.map(|p| p.time), &mut out);
        out[at_time] = time.code();
        let value = encode_values(vt, &bits, plan.map(|p| p.value), &mut out);
        out[at_value] = value.code();
    } else if let Some(p) = plan {
        out[at_time] = p.time.code();
        out[at_value] = p.value.code();
    } else if vt != ValueType::F64 {
        out[at_value] = ValueCoding::Int.code();
    }
    quality.encode(&mut out);
    Ok(out)
}

/// Appends the value section with `coding`, or the smallest when `None`.
fn encode_values(
    vt: ValueType,
    bits: &[u64],
    coding: Option<ValueCoding>,
    out: &mut Vec<u8>,
) -> ValueCoding {
    if vt != ValueType::F64 {
        let ints: Vec<i64> = bits.iter().map(|&b| b as i64).collect();
        values::encode_int(&ints, out);
        return ValueCoding::Int;
    }
    // Code the values every way asked for and keep the smallest, so the choice is exact.
    let mut best: Option<(ValueCoding, Vec<u8>)> = None;
    for c in [ValueCoding::Decimal, ValueCoding::Split, ValueCoding::Xor] {
        if coding.is_some_and(|want| want != c) {
            continue;
        }
        // A split keeps at least 32 low bits of each value raw: skip it when something
        // already beats that.
        if c == ValueCoding::Split && best.as_ref().is_some_and(|(_, b)| b.len() < bits.len() * 4) {
            continue;
        }
        let mut body = Vec::new();
        match c {
            ValueCoding::Decimal => Decimal::analyse(bits).encode(&mut body),
            ValueCoding::Split => Split::analyse(bits).encode(bits, &mut body),
            _ => values::encode_xor(bits, &mut body),
        }
        if best.as_ref().is_none_or(|(_, b)| body.len() < b.len()) {
            best = Some((c, body));
        }
    }
    let (c, body) = best.unwrap_or((ValueCoding::Xor, Vec::new()));
    out.extend_from_slice(&body);
    c
}

/// The header fields of a packed chunk, and where its sections start.
#[derive(Clone, Copy)]
struct Header {
    value_type: ValueType,
    count: u32,
    plan: Plan,
    body: usize,
}

fn read_header(bytes: &[u8]) -> Result<Header, CodecError> {
    let byte = |i: usize| {
        bytes
            .get(i)
            .copied()
            .ok_or(CodecError::Truncated { what: WHAT })
    };
    if byte(0)? != Encoding::Packed.code() {
        return Err(invalid(format!("encoding {} is not packed", byte(0)?)));
    }
    let value_type = ValueType::from_code(byte(1)?)
        .ok_or_else(|| invalid(format!("unknown value type {}", bytes[1])))?;
    let mut pos = 2;
    let count = get_varint(bytes, &mut pos, WHAT)?;
    if count > MAX_POINTS as u64 {
        return Err(invalid(format!(
            "{count} points, more than the {MAX_POINTS} a chunk holds"
        )));
    }
    let time = TimeCoding::from_code(byte(pos)?)
        .ok_or_else(|| invalid(format!("unknown time coding {}", bytes[pos])))?;
    let value = ValueCoding::from_code(byte(pos + 1)?)
        .ok_or_else(|| invalid(format!("unknown value coding {}", bytes[pos + 1])))?;
    if !value.fits(value_type) {
        return Err(invalid(format!(
            "value coding {value:?} for values of type {}",
            value_type.name()
        )));
    }
    Ok(Header {
        value_type,
        count: count as u32,
        plan: Plan { time, value },
        body: pos + 2,
    })
}

/// The plan a packed chunk was encoded with.
pub fn describe(bytes: &[u8]) -> Result<Plan, CodecError> {
    Ok(read_header(bytes)?.plan)
}

/// The value type and point count of a packed chunk.
pub fn value_type_and_count(bytes: &[u8]) -> Result<(ValueType, u32), CodecError> {
    let h = read_header(bytes)?;
    Ok((h.value_type, h.count))
}

/// Decodes a packed chunk, appending its points (in encoded order) to `out`. On error `out`
/// is left as it was.
pub fn decode_into(bytes: &[u8], out: &mut Vec<Point>) -> Result<(ValueType, u32), CodecError> {
    let h = read_header(bytes)?;
    let n = h.count as usize;
    let base = out.len();
    let decoded = decode_rows(bytes, h, out);
    if decoded.is_err() {
        out.truncate(base);
    }
    decoded?;
    debug_assert_eq!(out.len() - base, n);
    Ok((h.value_type, h.count))
}

fn decode_rows(bytes: &[u8], h: Header, out: &mut Vec<Point>) -> Result<(), CodecError> {
    let n = h.count as usize;
    let mut pos = h.body;
    let base = out.len();
    let mut exceptions = Vec::new();
    if n > 0 {
        let mut times = TimeReader::new(bytes, &mut pos, n, h.plan.time)?;
        let vt = h.value_type;
        match h.plan.value {
            ValueCoding::Int => {
                let (order, first) = readers::int_header(bytes, &mut pos)?;
                match vt {
                    ValueType::I64 => {
                        fill_ints(&mut times, bytes, &mut pos, n, order, first, AsInt, out)?
                    }
                    _ => fill_ints(
                        &mut times,
                        bytes,
                        &mut pos,
                        n,
                        order,
                        first,
                        AsBool::default(),
                        out,
                    )?,
                }
            }
            ValueCoding::Decimal => {
                let (p10, exc) = readers::decimal_header(bytes, &mut pos, n)?;
                exceptions = exc;
                let (order, first) = readers::int_header(bytes, &mut pos)?;
                fill_ints(
                    &mut times,
                    bytes,
                    &mut pos,
                    n,
                    order,
                    first,
                    AsDecimal(p10),
                    out,
                )?
            }
            ValueCoding::Split => fill(&mut times, Splits::new(bytes, &mut pos, n)?, n, out)?,
            ValueCoding::Xor => fill(&mut times, Xors::new(bytes, &mut pos)?, n, out)?,
        }
        times.finish()?;
    }
    let rows = &mut out[base..];
    for (i, b) in exceptions {
        rows[i].value = Value::F64(f64::from_bits(b));
    }
    let runs = QualityRuns::decode(bytes.get(pos..).unwrap_or(&[]), h.count)?;
    let mut i = 0;
    for (code, len) in runs {
        let run = &mut rows[i..i + len as usize];
        if code != Quality::GOOD.0 {
            for p in run {
                p.quality = Quality(code);
            }
        }
        i += len as usize;
    }
    Ok(())
}

/// Appends the `n` points of an Int section (with its `order` and `first` value read)
/// through `map`, monomorphized per order.
#[allow(clippy::too_many_arguments)]
fn fill_ints<M: IntMap>(
    times: &mut TimeReader<'_>,
    bytes: &[u8],
    pos: &mut usize,
    n: usize,
    order: u8,
    first: i64,
    map: M,
    out: &mut Vec<Point>,
) -> Result<(), CodecError> {
    match order {
        0 => fill(
            times,
            IntValues::new(Ints::<0>::new(bytes, pos, n, first)?, map),
            n,
            out,
        ),
        1 => fill(
            times,
            IntValues::new(Ints::<1>::new(bytes, pos, n, first)?, map),
            n,
            out,
        ),
        _ => fill(
            times,
            IntValues::new(Ints::<2>::new(bytes, pos, n, first)?, map),
            n,
            out,
        ),
    }
}

/// Appends `n` points (n >= 1) read from `times` and `values`, all of good quality, in one
/// pass; checks the value section.
fn fill<V: ValueReader>(
    times: &mut TimeReader<'_>,
    mut values: V,
    n: usize,
    out: &mut Vec<Point>,
) -> Result<(), CodecError> {
    let q = Quality::GOOD;
    out.reserve(n);
    out.push(Point {
        ts: times.first(),
        value: values.first(),
        quality: q,
    });
    let regular = times.regular_step();
    if let (Some(step), true) = (regular, values.has_runs()) {
        // A regular clock and a value that changes now and then: fill whole runs.
        let t0 = times.first();
        let mut i = 1;
        while i < n {
            let run = values.repeats(n - i);
            let value = match run {
                0 => values.next_value(),
                _ => out[out.len() - 1].value,
            };
            let end = i + run.max(1);
            out.extend((i as i64..end as i64).map(|j| Point {
                ts: t0.wrapping_add(j.wrapping_mul(step)),
                value,
                quality: q,
            }));
            i = end;
        }
    } else if let Some(step) = regular {
        // A regular clock: no timestamp stream to read.
        let t0 = times.first();
        out.extend((1..n as i64).map(|i| Point {
            ts: t0.wrapping_add(i.wrapping_mul(step)),
            value: values.next_value(),
            quality: q,
        }));
    } else {
        out.extend((1..n).map(|_| Point {
            ts: times.next_ts(),
            value: values.next_value(),
            quality: q,
        }));
    }
    values.finish()
}

#[cfg(test)]
mod tests;
