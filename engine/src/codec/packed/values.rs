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

use super::super::bits::BitWriter;
use super::super::float::XorEncoder;
use super::super::varint::put_varint;
use super::ints::{self, zigzag, Census};
use super::rans;

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
    // Each order's cost is estimated once (it builds an entropy model).
    let mut best = (1, Census::of(residuals(v, 1)));
    let mut best_cost = best.1.cost_bits();
    for order in [0, 2] {
        let census = Census::of(residuals(v, order));
        let cost = census.cost_bits();
        if cost < best_cost {
            (best, best_cost) = ((order, census), cost);
        }
    }
    let (order, census) = best;
    out.push(order);
    put_varint(out, zigzag(v[0]));
    let res: Vec<u64> = residuals(v, order).collect();
    ints::encode(&res, &census, out);
}

// ---- Decimal ------------------------------------------------------------------------------

pub(super) const MAX_SCALE: usize = 18;
pub(super) const POW10: [f64; MAX_SCALE + 1] = [
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
    /// Takes the largest of the values' smallest exact scales (a value exact at one scale is
    /// exact at every larger one while its integer stays below 2^53); values exact at none
    /// become exceptions.
    pub fn analyse(bits: &[u64]) -> Decimal {
        let mut scale = 0usize;
        for &b in bits {
            if at_scale(b, scale).is_some() {
                continue;
            }
            if let Some(s) = (scale + 1..=MAX_SCALE).find(|&s| at_scale(b, s).is_some()) {
                scale = s;
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
        Decimal {
            scale: scale as u8,
            ints,
            exceptions,
        }
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
