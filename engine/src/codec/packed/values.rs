//! Values of a packed chunk, one section per coding.
//!
//! ```text
//! Xor:     len varint │ Gorilla XOR bit stream (len bytes)
//! Int:     order u8 (0..=2) │ first zigzag varint │ residual stream (count-1 values)
//! Decimal: scale u8 (0..=18) │ n_exceptions varint │ n × (position gap varint │ bits u64 LE) │
//!          Int section of the scaled integers (an exception's slot repeats the integer
//!          before it)
//! Split:   high_bits u8 (1..=64) │ dictionary n-1 u8 │ n × (entry gap varint) │
//!          rANS stream of dictionary indices │ count × (64 - high_bits) raw low bits
//! ```
//! - Int orders: 0 codes `v - first`, 1 the delta to the previous value, 2 the change of
//!   that delta (counters that climb steadily).
//! - Decimal: a float `v` is the integer `k` at scale `s` when `k as f64 / 10^s` (one IEEE
//!   division, correctly rounded) gives back `v` bit for bit; that is true of every value a
//!   sensor reports at a fixed resolution (21.4, 4.57, 1789.624). Anything else (NaN, -0.0,
//!   0.1 + 0.2) is an exception stored raw.
//! - Split: full-precision floats. Sign, exponent and the top of the mantissa repeat a lot
//!   and are entropy-coded through a dictionary; the low mantissa bits are noise and stored
//!   as they are.

use super::super::bits::{BitReader, BitWriter};
use super::super::error::CodecError;
use super::super::float::{XorDecoder, XorEncoder};
use super::super::varint::{get_varint, put_varint};
use super::ints::{self, unzigzag, zigzag, Census};
use super::rans;

const WHAT: &str = "value section";

fn bad(detail: String) -> CodecError {
    CodecError::Invalid { what: WHAT, detail }
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, len: u64) -> Result<&'a [u8], CodecError> {
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| pos.checked_add(l))
        .filter(|&e| e <= buf.len())
        .ok_or(CodecError::Truncated { what: WHAT })?;
    let s = &buf[*pos..end];
    *pos = end;
    Ok(s)
}

fn byte(buf: &[u8], pos: &mut usize) -> Result<u8, CodecError> {
    let b = *buf.get(*pos).ok_or(CodecError::Truncated { what: WHAT })?;
    *pos += 1;
    Ok(b)
}

// ---- Xor ----------------------------------------------------------------------------------

/// Appends the Xor section of `bits`.
pub fn encode_xor(bits: &[u64], out: &mut Vec<u8>) {
    let mut w = BitWriter::new();
    let mut e = XorEncoder::default();
    for &b in bits {
        e.push(&mut w, b);
    }
    put_varint(out, w.byte_len() as u64);
    w.copy_to(out);
}

/// Decodes `n` values of a Xor section.
pub fn decode_xor(
    buf: &[u8],
    pos: &mut usize,
    n: usize,
    mut sink: impl FnMut(u64),
) -> Result<(), CodecError> {
    let len = get_varint(buf, pos, WHAT)?;
    let stream = take(buf, pos, len)?;
    let mut r = BitReader::new(stream, WHAT);
    let mut d = XorDecoder::default();
    for _ in 0..n {
        sink(d.next(&mut r)?);
    }
    if r.position().div_ceil(8) != stream.len() {
        return Err(bad("XOR stream longer than its values".into()));
    }
    Ok(())
}

// ---- Int ----------------------------------------------------------------------------------

fn residuals(v: &[i64], order: u8) -> impl Iterator<Item = u64> + '_ {
    (1..v.len()).map(move |i| {
        let d1 = v[i].wrapping_sub(v[i - 1]);
        zigzag(match order {
            0 => v[i].wrapping_sub(v[0]),
            1 => d1,
            _ if i == 1 => d1,
            _ => d1.wrapping_sub(v[i - 1].wrapping_sub(v[i - 2])),
        })
    })
}

/// Appends the Int section of `v` (at least one value), with the cheapest order.
pub fn encode_int(v: &[i64], out: &mut Vec<u8>) {
    let (order, census) = (0..=2u8)
        .map(|o| (o, Census::of(residuals(v, o))))
        .min_by(|a, b| a.1.cost_bits().total_cmp(&b.1.cost_bits()))
        .unwrap_or_else(|| (1, Census::of(residuals(v, 1))));
    out.push(order);
    put_varint(out, zigzag(v[0]));
    let res: Vec<u64> = residuals(v, order).collect();
    ints::encode(&res, &census, out);
}

/// Decodes `n` values (n >= 1) of an Int section.
pub fn decode_int(
    buf: &[u8],
    pos: &mut usize,
    n: usize,
    mut sink: impl FnMut(i64),
) -> Result<(), CodecError> {
    let order = byte(buf, pos)?;
    if order > 2 {
        return Err(bad(format!("integer order {order}")));
    }
    let first = unzigzag(get_varint(buf, pos, WHAT)?);
    sink(first);
    let (mut prev, mut delta) = (first, 0i64);
    let mut i = 1usize;
    ints::decode(buf, pos, n - 1, |z| {
        let r = unzigzag(z);
        let v = match order {
            0 => first.wrapping_add(r),
            1 => prev.wrapping_add(r),
            _ => {
                delta = if i == 1 { r } else { delta.wrapping_add(r) };
                prev.wrapping_add(delta)
            }
        };
        prev = v;
        i += 1;
        sink(v);
    })
}

// ---- Decimal ------------------------------------------------------------------------------

const MAX_SCALE: usize = 18;
const POW10: [f64; MAX_SCALE + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];
/// Integers up to this magnitude convert to f64 exactly.
const EXACT: f64 = (1u64 << 53) as f64;

/// `v` as an integer at scale `s`, if dividing it back gives exactly `v`.
#[inline(always)]
fn at_scale(bits: u64, s: usize) -> Option<i64> {
    let v = f64::from_bits(bits);
    let k = (v * POW10[s]).round();
    // Also refuses NaN, whose comparisons are all false.
    if k.is_nan() || k.abs() > EXACT {
        return None;
    }
    let k = k as i64;
    ((k as f64 / POW10[s]).to_bits() == bits).then_some(k)
}

/// Floats seen as integers at one decimal scale.
pub struct Decimal {
    scale: u8,
    ints: Vec<i64>,
    exceptions: Vec<(u32, u64)>,
}

impl Decimal {
    /// Finds the smallest scale at which all but at most `max_exceptions` values are exact
    /// decimals; `None` when there is none.
    pub fn analyse(bits: &[u64], max_exceptions: usize) -> Option<Decimal> {
        let mut scale = 0usize;
        let mut misses = 0usize;
        for &b in bits {
            if at_scale(b, scale).is_some() {
                continue;
            }
            match (scale + 1..=MAX_SCALE).find(|&s| at_scale(b, s).is_some()) {
                Some(s) => scale = s,
                None => {
                    misses += 1;
                    if misses > max_exceptions {
                        return None;
                    }
                }
            }
        }
        let mut ints = Vec::with_capacity(bits.len());
        let mut exceptions = Vec::new();
        let mut prev = 0i64;
        for (i, &b) in bits.iter().enumerate() {
            match at_scale(b, scale) {
                Some(k) => prev = k,
                None => exceptions.push((i as u32, b)),
            }
            ints.push(prev);
        }
        if exceptions.len() > max_exceptions {
            return None;
        }
        Some(Decimal {
            scale: scale as u8,
            ints,
            exceptions,
        })
    }

    /// Values that are not exact decimals at the chosen scale.
    pub fn exceptions(&self) -> usize {
        self.exceptions.len()
    }

    /// Appends the Decimal section.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.scale);
        put_varint(out, self.exceptions.len() as u64);
        let mut prev = 0u32;
        for (j, &(p, b)) in self.exceptions.iter().enumerate() {
            put_varint(out, (if j == 0 { p } else { p - prev - 1 }) as u64);
            out.extend_from_slice(&b.to_le_bytes());
            prev = p;
        }
        encode_int(&self.ints, out);
    }
}

/// Decodes `n` values (n >= 1) of a Decimal section, handing each to `sink` (an exception's
/// slot gets a placeholder), and returns the exceptions as (position, bits), positions below
/// `n`.
pub fn decode_decimal(
    buf: &[u8],
    pos: &mut usize,
    n: usize,
    mut sink: impl FnMut(u64),
) -> Result<Vec<(usize, u64)>, CodecError> {
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
        let b = take(buf, pos, 8)?;
        exceptions.push((
            p as usize,
            u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        ));
        next = p + 1;
    }
    let p10 = POW10[scale];
    decode_int(buf, pos, n, |k| sink((k as f64 / p10).to_bits()))?;
    Ok(exceptions)
}

// ---- Split --------------------------------------------------------------------------------

/// Full-precision floats split into dictionary-coded high bits and raw low bits.
pub struct Split {
    high: u32,
    dict: Vec<u64>,
}

impl Split {
    /// Chooses the split that makes the section smallest (the dictionary holds at most 256
    /// entries, so at least `high = 8` always fits).
    pub fn analyse(bits: &[u64]) -> Split {
        let mut sorted = bits.to_vec();
        sorted.sort_unstable();
        let n = bits.len() as f64;
        let mut best = (f64::INFINITY, 8u32);
        for high in 1..=32u32 {
            let shift = 64 - high;
            let mut entropy = 0.0;
            let mut distinct = 0usize;
            let mut i = 0;
            while i < sorted.len() && distinct <= 256 {
                let h = sorted[i] >> shift;
                let run = sorted[i..].iter().take_while(|&&b| b >> shift == h).count();
                entropy += run as f64 * (n / run as f64).log2();
                distinct += 1;
                i += run;
            }
            if distinct > 256 {
                break;
            }
            let cost = entropy + n * (64 - high) as f64 + distinct as f64 * (high as f64 + 12.0);
            if cost < best.0 {
                best = (cost, high);
            }
        }
        let shift = 64 - best.1;
        let mut dict: Vec<u64> = sorted.iter().map(|&b| b >> shift).collect();
        dict.dedup();
        Split { high: best.1, dict }
    }

    /// Appends the Split section of `bits` (the values analysed).
    pub fn encode(&self, bits: &[u64], out: &mut Vec<u8>) {
        let shift = 64 - self.high;
        out.push(self.high as u8);
        out.push((self.dict.len() - 1) as u8);
        let mut prev = 0u64;
        for (i, &h) in self.dict.iter().enumerate() {
            put_varint(out, if i == 0 { h } else { h - prev - 1 });
            prev = h;
        }
        let symbols: Vec<u8> = bits
            .iter()
            .map(|&b| self.dict.binary_search(&(b >> shift)).unwrap_or(0) as u8)
            .collect();
        let model = rans::Model::from_counts(&rans::counts(&symbols));
        rans::encode(&symbols, &model, out);
        let mut w = BitWriter::new();
        if shift > 0 {
            for &b in bits {
                w.write(b, shift);
            }
        }
        w.copy_to(out);
    }
}

/// Decodes `n` values of a Split section.
pub fn decode_split(
    buf: &[u8],
    pos: &mut usize,
    n: usize,
    mut sink: impl FnMut(u64),
) -> Result<(), CodecError> {
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
    let mut d = rans::Decoder::new(buf, pos)?;
    let len = (n as u64 * shift as u64).div_ceil(8);
    let low = take(buf, pos, len)?;
    let mut r = BitReader::new(low, WHAT);
    for _ in 0..n {
        let s = d.symbol() as usize;
        if s >= entries {
            return Err(bad(format!("dictionary index {s} of {entries}")));
        }
        sink(dict[s] | r.read(shift)?);
    }
    d.finish()
}
