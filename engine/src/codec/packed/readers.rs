//! Decoding the value sections of [`super::values`], one value at a time, so that a chunk is
//! decoded in one pass that writes each point once.
//!
//! Readers never fail per value: damage met on the way yields placeholder values and is
//! reported by `finish`, which the caller checks before handing out any point.

use super::super::bits::BitReader;
use super::super::error::CodecError;
use super::super::float::XorDecoder;
use super::super::varint::get_varint;
use super::ints::{self, unzigzag, IntReader};
use super::rans;
use super::values::{MAX_SCALE, POW10};
use crate::point::Value;

const WHAT: &str = "value section";

fn bad(detail: String) -> CodecError {
    CodecError::Invalid { what: WHAT, detail }
}

fn byte(buf: &[u8], pos: &mut usize) -> Result<u8, CodecError> {
    let b = *buf.get(*pos).ok_or(CodecError::Truncated { what: WHAT })?;
    *pos += 1;
    Ok(b)
}

/// Values of one section, in order.
pub trait ValueReader {
    /// The first value.
    fn first(&mut self) -> Value {
        self.next_value()
    }
    /// The value after the last one returned.
    fn next_value(&mut self) -> Value;
    /// True when [`ValueReader::repeats`] can find runs (a sparse stream of changes).
    fn has_runs(&self) -> bool {
        false
    }
    /// Consumes and counts the values coming next, at most `max`, that repeat the last one
    /// returned.
    fn repeats(&mut self, _max: usize) -> usize {
        0
    }
    /// Checks the section after all values were read.
    fn finish(&self) -> Result<(), CodecError>;
}

// ---- Int ----------------------------------------------------------------------------------

/// Integers of an Int section, for a fixed predictor order (so the per-value code has no
/// branch on it).
pub struct Ints<'a, const ORDER: u8> {
    r: IntReader<'a>,
    base: i64,
    prev: i64,
    delta: i64,
}

/// Reads the order and first value of an Int section.
pub fn int_header(buf: &[u8], pos: &mut usize) -> Result<(u8, i64), CodecError> {
    let order = byte(buf, pos)?;
    if order > 2 {
        return Err(bad(format!("integer order {order}")));
    }
    Ok((order, unzigzag(get_varint(buf, pos, WHAT)?)))
}

impl<'a, const ORDER: u8> Ints<'a, ORDER> {
    /// Opens the residuals of an Int section (after [`int_header`]) holding `n` values.
    pub fn new(buf: &'a [u8], pos: &mut usize, n: usize, first: i64) -> Result<Self, CodecError> {
        Ok(Ints {
            r: IntReader::new(buf, pos, n.saturating_sub(1))?,
            base: first,
            prev: first,
            delta: 0,
        })
    }

    /// The first integer.
    #[inline(always)]
    pub fn first_int(&self) -> i64 {
        self.base
    }

    /// The integer after the last one returned.
    #[inline(always)]
    pub fn next_int(&mut self) -> i64 {
        let r = unzigzag(self.r.next_value());
        let v = match ORDER {
            0 => self.base.wrapping_add(r),
            1 => self.prev.wrapping_add(r),
            _ => {
                // The first residual is a plain delta: `delta` starts at 0.
                self.delta = self.delta.wrapping_add(r);
                self.prev.wrapping_add(self.delta)
            }
        };
        self.prev = v;
        v
    }

    /// Writes every integer of the section, the first included, through `map` into
    /// `out` (one slot each; `out` holds the `n` values the section was opened with): the
    /// one-loop decode of a column.
    #[inline(always)]
    pub fn decode_all<T>(&mut self, out: &mut [T], mut map: impl FnMut(i64) -> T) {
        let Some((head, rest)) = out.split_first_mut() else {
            return;
        };
        *head = map(self.base);
        let base = self.base;
        let (prev, delta) = self
            .r
            .decode_signed_into(rest, (self.prev, self.delta), |s, r| {
                let v = match ORDER {
                    0 => base.wrapping_add(r),
                    1 => s.0.wrapping_add(r),
                    _ => {
                        s.1 = s.1.wrapping_add(r);
                        s.0.wrapping_add(s.1)
                    }
                };
                s.0 = v;
                map(v)
            });
        (self.prev, self.delta) = (prev, delta);
    }

    /// True when runs of repeated integers can be skipped (order 1, sparse changes).
    pub fn has_runs(&self) -> bool {
        ORDER == 1 && self.r.is_sparse()
    }

    /// Consumes the integers coming next, at most `max`, that repeat the last one.
    #[inline(always)]
    pub fn repeats(&mut self, max: usize) -> usize {
        if ORDER == 1 {
            self.r.zero_run(max)
        } else {
            0
        }
    }

    /// Checks the residual stream.
    pub fn finish_ints(&self) -> Result<(), CodecError> {
        self.r.finish()
    }
}

/// How the integers of an Int section become values.
pub trait IntMap {
    /// The value of integer `v`.
    fn value(&mut self, v: i64) -> Value;
    /// Checks what the mapping saw, after the last value.
    fn check(&self) -> Result<(), CodecError> {
        Ok(())
    }
}

/// Integers as they are.
pub struct AsInt;

impl IntMap for AsInt {
    #[inline(always)]
    fn value(&mut self, v: i64) -> Value {
        Value::I64(v)
    }
}

/// Integers that must be 0 or 1, as booleans.
#[derive(Default)]
pub struct AsBool {
    bad: bool,
}

impl IntMap for AsBool {
    #[inline(always)]
    fn value(&mut self, v: i64) -> Value {
        self.bad |= v as u64 > 1;
        Value::Bool(v == 1)
    }
    fn check(&self) -> Result<(), CodecError> {
        if self.bad {
            return Err(bad("boolean other than 0 or 1".into()));
        }
        Ok(())
    }
}

/// Integers divided by the power of ten of a decimal scale (one IEEE division, as the
/// encoder checked).
pub struct AsDecimal(pub f64);

impl IntMap for AsDecimal {
    #[inline(always)]
    fn value(&mut self, v: i64) -> Value {
        Value::F64(v as f64 / self.0)
    }
}

/// The values of an Int section (or of a Decimal section's integers).
pub struct IntValues<'a, const ORDER: u8, M> {
    ints: Ints<'a, ORDER>,
    map: M,
}

impl<'a, const ORDER: u8, M: IntMap> IntValues<'a, ORDER, M> {
    /// Reads `ints` as values through `map`.
    pub fn new(ints: Ints<'a, ORDER>, map: M) -> Self {
        IntValues { ints, map }
    }
}

impl<const ORDER: u8, M: IntMap> ValueReader for IntValues<'_, ORDER, M> {
    fn first(&mut self) -> Value {
        let v = self.ints.first_int();
        self.map.value(v)
    }
    #[inline(always)]
    fn next_value(&mut self) -> Value {
        let v = self.ints.next_int();
        self.map.value(v)
    }
    fn has_runs(&self) -> bool {
        self.ints.has_runs()
    }
    #[inline(always)]
    fn repeats(&mut self, max: usize) -> usize {
        self.ints.repeats(max)
    }
    fn finish(&self) -> Result<(), CodecError> {
        self.map.check()?;
        self.ints.finish_ints()
    }
}

// ---- Decimal ------------------------------------------------------------------------------

/// Reads the scale and exceptions of a Decimal section of `n` values; the Int section
/// follows at `*pos`. Returns the scale's power of ten and the exceptions.
pub fn decimal_header(
    buf: &[u8],
    pos: &mut usize,
    n: usize,
) -> Result<(f64, Vec<(usize, u64)>), CodecError> {
    let scale = byte(buf, pos)? as usize;
    if scale > MAX_SCALE {
        return Err(bad(format!("decimal scale {scale}")));
    }
    let n_exc = get_varint(buf, pos, WHAT)?;
    if n_exc > n as u64 {
        return Err(bad(format!("{n_exc} exceptions in {n} values")));
    }
    let mut exceptions = Vec::with_capacity(n_exc as usize);
    let mut next = 0u64;
    for _ in 0..n_exc {
        let p = next.saturating_add(get_varint(buf, pos, WHAT)?);
        if p >= n as u64 {
            return Err(bad(format!("exception at {p} of {n} values")));
        }
        let b = ints::take(buf, pos, 8)?;
        exceptions.push((
            p as usize,
            u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        ));
        next = p + 1;
    }
    Ok((POW10[scale], exceptions))
}

// ---- Split --------------------------------------------------------------------------------

/// Floats of a Split section.
pub struct Splits<'a> {
    d: rans::Decoder<'a>,
    low: BitReader<'a>,
    low_len: usize,
    dict: [u64; 256],
    entries: usize,
    shift: u32,
    bad: bool,
}

impl<'a> Splits<'a> {
    /// Opens the Split section of `n` values at `*pos`; `*pos` moves past it.
    pub fn new(buf: &'a [u8], pos: &mut usize, n: usize) -> Result<Self, CodecError> {
        let high = byte(buf, pos)? as u32;
        if !(1..=64).contains(&high) {
            return Err(bad(format!("split at {high} high bits")));
        }
        let shift = 64 - high;
        let entries = byte(buf, pos)? as usize + 1;
        let mut dict = [0u64; 256];
        let mut next = 0u64;
        for (i, slot) in dict.iter_mut().take(entries).enumerate() {
            let gap = get_varint(buf, pos, WHAT)?;
            let h = if i == 0 {
                gap
            } else {
                next.saturating_add(gap)
            };
            if high < 64 && h >> high != 0 {
                return Err(bad(format!("dictionary entry wider than {high} bits")));
            }
            *slot = h << shift;
            next = h.saturating_add(1);
        }
        let d = rans::Decoder::new(buf, pos)?;
        let low = ints::take(buf, pos, (n as u64 * shift as u64).div_ceil(8))?;
        Ok(Splits {
            d,
            low: BitReader::new(low, WHAT),
            low_len: low.len(),
            dict,
            entries,
            shift,
            bad: false,
        })
    }
}

impl ValueReader for Splits<'_> {
    #[inline(always)]
    fn next_value(&mut self) -> Value {
        let s = self.d.symbol() as usize;
        self.bad |= s >= self.entries;
        let low = match self.low.read(self.shift) {
            Ok(v) => v,
            Err(_) => {
                self.bad = true;
                0
            }
        };
        Value::F64(f64::from_bits(self.dict[s] | low))
    }
    fn finish(&self) -> Result<(), CodecError> {
        if self.bad {
            return Err(bad("split values missing or outside the dictionary".into()));
        }
        if self.low.position().div_ceil(8) != self.low_len {
            return Err(bad("low bits do not end with the values".into()));
        }
        self.d.finish()
    }
}

// ---- Xor ----------------------------------------------------------------------------------

/// Floats of a Xor section.
pub struct Xors<'a> {
    d: XorDecoder,
    r: BitReader<'a>,
    len: usize,
    bad: bool,
}

impl<'a> Xors<'a> {
    /// Opens the Xor section at `*pos`; `*pos` moves past it.
    pub fn new(buf: &'a [u8], pos: &mut usize) -> Result<Self, CodecError> {
        let len = get_varint(buf, pos, WHAT)?;
        let stream = ints::take(buf, pos, len)?;
        Ok(Xors {
            d: XorDecoder::default(),
            r: BitReader::new(stream, WHAT),
            len: stream.len(),
            bad: false,
        })
    }
}

impl ValueReader for Xors<'_> {
    #[inline(always)]
    fn next_value(&mut self) -> Value {
        match self.d.next(&mut self.r) {
            Ok(b) => Value::F64(f64::from_bits(b)),
            Err(_) => {
                self.bad = true;
                Value::F64(0.0)
            }
        }
    }
    fn finish(&self) -> Result<(), CodecError> {
        if self.bad {
            return Err(bad("XOR values missing".into()));
        }
        if self.r.position().div_ceil(8) != self.len {
            return Err(bad("XOR stream longer than its values".into()));
        }
        Ok(())
    }
}
