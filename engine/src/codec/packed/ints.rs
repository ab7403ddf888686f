//! Integer streams: a sequence of unsigned integers (zigzag-mapped residuals, as a rule small),
//! coded the cheapest of four ways.
//!
//! ```text
//! mode u8 │ mode 0, constant:  value varint
//!         │ mode 1, entropy:   rANS stream of tokens, 2 states │ extra_len varint │ extra bits
//!         │ mode 4, entropy:   the same with 4 states (what the encoder writes)
//!         │ mode 2, fixed:     width u8 (1..=64) │ count × width bits
//!         │ mode 3, sparse:    n varint │ len varint │ n × (gap varint │ value varint)
//! ```
//! Sparse streams are zero but for `n` values; each gap counts the zeros before its value.
//! A token is the value itself below 32; above, it names the value's bit length and the bit
//! below the leading one, and the remaining `length - 2` bits follow raw in the extra bits.
//! Bit fields are most significant bit first, the last byte zero-padded.

use super::super::bits::{BitReader, BitWriter};
use super::super::error::CodecError;
use super::super::varint::{get_varint, put_varint};
use super::rans::{self, Lanes};

const DIRECT: u64 = 32;
/// A direct token's signed value (within ±16) plus this, in the decoding table in place of
/// the token: tokens at or above [`DIRECT`] keep their place there, so the two do not mix.
const BIAS: i64 = 16;

/// What the decoding table holds for token `t`: a direct token's value, already
/// unzigzagged, plus [`BIAS`] (below 32), or a longer token itself.
fn direct_map(t: u8) -> u8 {
    match t as u64 {
        t if t < DIRECT => (unzigzag(t) + BIAS) as u8,
        t => t as u8,
    }
}

/// The zigzagged value of mapped token `m` from the decoding table, `None` for a token that
/// needs extra bits.
#[inline(always)]
fn direct_value(m: u8) -> Option<u64> {
    ((m as u64) < DIRECT).then(|| zigzag(m as i64 - BIAS))
}
const WHAT: &str = "integer stream";

/// Maps a signed value to an unsigned one, small magnitudes to small numbers.
#[inline(always)]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline(always)]
pub fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// The token of `z` and the number of extra bits it takes.
#[inline(always)]
fn token(z: u64) -> (u8, u32) {
    if z < DIRECT {
        (z as u8, 0)
    } else {
        let len = 64 - z.leading_zeros(); // 6..=64
        let second = ((z >> (len - 2)) & 1) as u32;
        ((DIRECT as u32 + (len - 6) * 2 + second) as u8, len - 2)
    }
}

/// Histogram of tokens plus the raw bits they need: what choosing a coding looks at.
pub struct Census {
    /// Count of each token.
    pub counts: [u32; 256],
    /// Total extra bits.
    pub extra_bits: u64,
    /// Largest value.
    pub max: u64,
    /// Values counted.
    pub n: usize,
    first: Option<u64>,
    constant: bool,
    nonzero: usize,
    sparse_bytes: usize,
}

impl Census {
    /// Counts `values`.
    pub fn of(values: impl IntoIterator<Item = u64>) -> Census {
        let mut c = Census {
            counts: [0; 256],
            extra_bits: 0,
            max: 0,
            n: 0,
            first: None,
            constant: true,
            nonzero: 0,
            sparse_bytes: 0,
        };
        let mut zeros = 0u64;
        for z in values {
            if z == 0 {
                zeros += 1;
            } else {
                c.nonzero += 1;
                c.sparse_bytes += varint_len(zeros) + varint_len(z);
                zeros = 0;
            }
            let (t, extra) = token(z);
            c.counts[t as usize] += 1;
            c.extra_bits += extra as u64;
            c.max = c.max.max(z);
            c.n += 1;
            match c.first {
                None => c.first = Some(z),
                Some(f) => c.constant &= f == z,
            }
        }
        c
    }

    /// Estimated coded size in bits, with the coding it would use.
    pub fn cost_bits(&self) -> f64 {
        self.choose().1
    }

    fn choose(&self) -> (Mode, f64) {
        if self.n == 0 || self.constant {
            return (
                Mode::Constant,
                8.0 + 8.0 * varint_len(self.first.unwrap_or(0)) as f64,
            );
        }
        let width = (64 - self.max.leading_zeros()).max(1);
        let fixed = 16.0 + (self.n as f64 * width as f64 / 8.0).ceil() * 8.0;
        let sparse = 8.0
            * (1 + varint_len(self.nonzero as u64)
                + varint_len(self.sparse_bytes as u64)
                + self.sparse_bytes) as f64;
        // The entropy coding costs at least its fixed part; when that alone loses, building
        // its model (the dearest step for the short streams of slow tags) changes nothing.
        let entropy_floor = 8.0 + self.extra_bits as f64 + 24.0 + 64.0;
        if entropy_floor >= fixed.min(sparse) {
            return if sparse <= fixed {
                (Mode::Sparse, sparse)
            } else {
                (Mode::Fixed(width), fixed)
            };
        }
        let model = rans::Model::from_counts(&self.counts);
        // Four states: 64 bits more than the two that `cost_bits` counts.
        let entropy = entropy_floor + model.cost_bits(&self.counts);
        // Sparse streams decode fastest: they win ties.
        if sparse <= entropy && sparse <= fixed {
            (Mode::Sparse, sparse)
        } else if entropy < fixed {
            (Mode::Entropy(Box::new(model)), entropy)
        } else {
            (Mode::Fixed(width), fixed)
        }
    }
}

enum Mode {
    Constant,
    Entropy(Box<rans::Model>),
    Fixed(u32),
    Sparse,
}

fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).div_ceil(7).max(1)
}

/// Appends `values` (whose census is `census`) in the cheapest coding.
pub fn encode(values: &[u64], census: &Census, out: &mut Vec<u8>) {
    match census.choose().0 {
        Mode::Constant => {
            out.push(0);
            put_varint(out, values.first().copied().unwrap_or(0));
        }
        Mode::Entropy(model) => encode_entropy(values, &model, Lanes::Four, out),
        Mode::Fixed(width) => {
            out.push(2);
            out.push(width as u8);
            let mut w = BitWriter::new();
            for &z in values {
                w.write(z, width);
            }
            w.copy_to(out);
        }
        Mode::Sparse => {
            out.push(3);
            let mut list = Vec::new();
            let mut n = 0u64;
            let mut zeros = 0u64;
            for &z in values {
                if z == 0 {
                    zeros += 1;
                } else {
                    put_varint(&mut list, zeros);
                    put_varint(&mut list, z);
                    zeros = 0;
                    n += 1;
                }
            }
            put_varint(out, n);
            put_varint(out, list.len() as u64);
            out.extend_from_slice(&list);
        }
    }
}

/// Appends `values` entropy-coded with `model` (built from their tokens' counts) and
/// `lanes` coder states: mode 4, or mode 1 for two states.
fn encode_entropy(values: &[u64], model: &rans::Model, lanes: Lanes, out: &mut Vec<u8>) {
    out.push(match lanes {
        Lanes::Two => 1,
        Lanes::Four => 4,
    });
    let mut tokens = Vec::with_capacity(values.len());
    let mut extra = BitWriter::new();
    for &z in values {
        let (t, n) = token(z);
        tokens.push(t);
        extra.write(z, n);
    }
    rans::encode_lanes(&tokens, model, lanes, out);
    put_varint(out, extra.byte_len() as u64);
    extra.copy_to(out);
}

/// Appends `values` in the cheapest coding, counting them first.
pub fn encode_counted(values: &[u64], out: &mut Vec<u8>) {
    let census = Census::of(values.iter().copied());
    encode(values, &census, out);
}

/// Reads the values of one stream, one at a time, so that several streams can be decoded
/// side by side into one pass over the output.
///
/// [`IntReader::next_value`] never fails: damage met on the way (bits missing, an impossible
/// token) yields zeros and is reported by [`IntReader::finish`], which callers must check.
pub struct IntReader<'a> {
    mode: ReaderMode<'a>,
    bad: bool,
}

enum ReaderMode<'a> {
    Constant(u64),
    Entropy {
        d: rans::Decoder<'a>,
        extra: BitReader<'a>,
        extra_len: usize,
    },
    Fixed {
        r: BitReader<'a>,
        width: u32,
        len: usize,
    },
    Sparse(Sparse<'a>),
}

/// The reading state of a sparse stream.
struct Sparse<'a> {
    list: &'a [u8],
    pos: usize,
    /// Non-zero values not yet loaded.
    left: u64,
    /// Zeros before the loaded value; `u64::MAX` once none is left (more than any stream
    /// holds).
    zeros: u64,
    value: u64,
    /// Every non-zero value was returned.
    done: bool,
    bad: bool,
}

impl Sparse<'_> {
    /// Loads the next non-zero value and its gap.
    #[cold]
    fn load(&mut self) {
        if self.left == 0 {
            self.zeros = u64::MAX;
            self.done = true;
            return;
        }
        self.left -= 1;
        match (
            get_varint(self.list, &mut self.pos, WHAT),
            get_varint(self.list, &mut self.pos, WHAT),
        ) {
            (Ok(gap), Ok(value)) => {
                self.zeros = gap;
                self.value = value;
            }
            _ => {
                self.bad = true;
                self.zeros = u64::MAX;
            }
        }
    }

    #[inline(always)]
    fn next_value(&mut self) -> u64 {
        if self.zeros == 0 {
            let v = self.value;
            self.load();
            v
        } else {
            self.zeros = self.zeros.wrapping_sub(1);
            0
        }
    }
}

impl<'a> IntReader<'a> {
    /// Opens the stream of `n` values at `*pos`; `*pos` moves past it.
    pub fn new(buf: &'a [u8], pos: &mut usize, n: usize) -> Result<IntReader<'a>, CodecError> {
        let mode = *buf.get(*pos).ok_or(CodecError::Truncated { what: WHAT })?;
        *pos += 1;
        let mode = match mode {
            0 => ReaderMode::Constant(get_varint(buf, pos, WHAT)?),
            1 | 4 => {
                let lanes = if mode == 1 { Lanes::Two } else { Lanes::Four };
                let d = rans::Decoder::with_map(buf, pos, lanes, direct_map)?;
                let len = get_varint(buf, pos, WHAT)?;
                let extra = take(buf, pos, len)?;
                ReaderMode::Entropy {
                    d,
                    extra: BitReader::new(extra, WHAT),
                    extra_len: extra.len(),
                }
            }
            2 => {
                let width = *buf.get(*pos).ok_or(CodecError::Truncated { what: WHAT })? as u32;
                *pos += 1;
                if !(1..=64).contains(&width) {
                    return Err(CodecError::Invalid {
                        what: WHAT,
                        detail: format!("bit width {width}"),
                    });
                }
                let bits = take(buf, pos, (n as u64 * width as u64).div_ceil(8))?;
                ReaderMode::Fixed {
                    r: BitReader::new(bits, WHAT),
                    width,
                    len: bits.len(),
                }
            }
            3 => {
                let left = get_varint(buf, pos, WHAT)?;
                let len = get_varint(buf, pos, WHAT)?;
                let list = take(buf, pos, len)?;
                // Each value takes at least two bytes: refuse impossible counts up front.
                if left > n as u64 || left > list.len() as u64 / 2 {
                    return Err(CodecError::Invalid {
                        what: WHAT,
                        detail: format!("{left} sparse values in {n} values and {len} bytes"),
                    });
                }
                let mut sparse = Sparse {
                    list,
                    pos: 0,
                    left,
                    zeros: 0,
                    value: 0,
                    done: false,
                    bad: false,
                };
                sparse.load();
                ReaderMode::Sparse(sparse)
            }
            m => {
                return Err(CodecError::Invalid {
                    what: WHAT,
                    detail: format!("unknown mode {m}"),
                })
            }
        };
        Ok(IntReader { mode, bad: false })
    }

    /// True for a sparse stream, whose runs of zeros [`IntReader::zero_run`] can skip.
    pub fn is_sparse(&self) -> bool {
        matches!(self.mode, ReaderMode::Sparse(_))
    }

    /// Consumes and counts the zeros coming next, at most `max`, in a sparse stream (0 for
    /// other streams).
    #[inline(always)]
    pub fn zero_run(&mut self, max: usize) -> usize {
        match &mut self.mode {
            ReaderMode::Sparse(s) => {
                let k = s.zeros.min(max as u64);
                s.zeros -= k;
                k as usize
            }
            _ => 0,
        }
    }

    /// The value of a constant stream, which costs nothing per value.
    pub fn constant(&self) -> Option<u64> {
        match self.mode {
            ReaderMode::Constant(v) => Some(v),
            _ => None,
        }
    }

    /// The next value.
    #[inline(always)]
    pub fn next_value(&mut self) -> u64 {
        match &mut self.mode {
            ReaderMode::Constant(v) => *v,
            ReaderMode::Entropy { d, extra, .. } => {
                let m = d.symbol();
                if let Some(z) = direct_value(m) {
                    return z;
                }
                long_value(m as u64, extra).unwrap_or_else(|| {
                    self.bad = true;
                    0
                })
            }
            ReaderMode::Fixed { r, width, .. } => r.read(*width).unwrap_or_else(|_| {
                self.bad = true;
                0
            }),
            ReaderMode::Sparse(sparse) => sparse.next_value(),
        }
    }

    /// Reads one value per slot of `out`, in order, and writes `f(state, unzigzag(value))`
    /// there: [`IntReader::next_value`] once a slot, with the stream's coding looked at
    /// once rather than per value, so that each coding's loop is one tight loop around
    /// `f`, and `state` stays in registers. Returns `state` as the last call left it.
    #[inline(always)]
    pub fn decode_signed_into<T, S>(
        &mut self,
        out: &mut [T],
        mut state: S,
        mut f: impl FnMut(&mut S, i64) -> T,
    ) -> S {
        match &mut self.mode {
            ReaderMode::Constant(v) => {
                let r = unzigzag(*v);
                for slot in out {
                    *slot = f(&mut state, r);
                }
                state
            }
            ReaderMode::Entropy { d, extra, .. } => {
                let bad = &mut self.bad;
                d.decode_into(out, state, |state, m| {
                    if (m as u64) < DIRECT {
                        f(state, m as i64 - BIAS)
                    } else {
                        let z = long_value(m as u64, extra);
                        *bad |= z.is_none();
                        f(state, unzigzag(z.unwrap_or(0)))
                    }
                })
            }
            ReaderMode::Fixed { r, width, .. } => {
                for slot in out {
                    let z = r.read(*width);
                    self.bad |= z.is_err();
                    *slot = f(&mut state, unzigzag(z.unwrap_or(0)));
                }
                state
            }
            ReaderMode::Sparse(sparse) => {
                for slot in out {
                    *slot = f(&mut state, unzigzag(sparse.next_value()));
                }
                state
            }
        }
    }

    /// Checks that the values read were all there and that the stream ends with them.
    pub fn finish(&self) -> Result<(), CodecError> {
        let bad = |detail: &str| CodecError::Invalid {
            what: WHAT,
            detail: detail.into(),
        };
        if self.bad {
            return Err(bad("values missing or malformed"));
        }
        match &self.mode {
            ReaderMode::Constant(_) => Ok(()),
            ReaderMode::Entropy {
                d,
                extra,
                extra_len,
            } => {
                d.finish()?;
                if extra.position().div_ceil(8) != *extra_len {
                    return Err(bad("extra bits do not end with the stream"));
                }
                Ok(())
            }
            ReaderMode::Fixed { r, len, .. } => {
                if r.position().div_ceil(8) != *len {
                    return Err(bad("bits do not end with the stream"));
                }
                Ok(())
            }
            ReaderMode::Sparse(sparse) => {
                if sparse.bad || sparse.pos != sparse.list.len() {
                    return Err(bad("sparse values malformed"));
                }
                if !sparse.done {
                    return Err(bad("sparse value beyond the stream's end"));
                }
                Ok(())
            }
        }
    }
}

/// The value of token `t` (at least [`DIRECT`]) with its extra bits from `extra`; `None`
/// for an impossible token or missing bits.
#[inline]
fn long_value(t: u64, extra: &mut BitReader<'_>) -> Option<u64> {
    let len = ((t - DIRECT) / 2 + 6) as u32;
    if len > 64 {
        return None;
    }
    let lead = 1u64 << (len - 1);
    let second = (t & 1) << (len - 2);
    extra.read(len - 2).ok().map(|low| lead | second | low)
}

/// `len` bytes at `*pos`, moving past them.
pub fn take<'a>(buf: &'a [u8], pos: &mut usize, len: u64) -> Result<&'a [u8], CodecError> {
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| pos.checked_add(l))
        .filter(|&e| e <= buf.len())
        .ok_or(CodecError::Truncated { what: WHAT })?;
    let s = &buf[*pos..end];
    *pos = end;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[u64]) -> usize {
        let mut out = vec![9];
        encode_counted(values, &mut out);
        out.push(7);
        let mut pos = 1;
        let mut r = IntReader::new(&out, &mut pos, values.len()).unwrap();
        let got: Vec<u64> = (0..values.len()).map(|_| r.next_value()).collect();
        r.finish().unwrap();
        assert_eq!(got, values);
        assert_eq!(pos, out.len() - 1);
        out.len() - 2
    }

    #[test]
    fn two_state_streams_still_decode() {
        let values: Vec<u64> = (0..777u64)
            .map(|i| (i * 13 % 11) + (i % 97 == 0) as u64 * 5000)
            .collect();
        let census = Census::of(values.iter().copied());
        let Mode::Entropy(model) = census.choose().0 else {
            panic!("these values are entropy-coded")
        };
        for lanes in [Lanes::Two, Lanes::Four] {
            let mut out = Vec::new();
            encode_entropy(&values, &model, lanes, &mut out);
            assert_eq!(out[0], if lanes == Lanes::Two { 1 } else { 4 });
            let mut pos = 0;
            let mut r = IntReader::new(&out, &mut pos, values.len()).unwrap();
            let got: Vec<u64> = (0..values.len()).map(|_| r.next_value()).collect();
            r.finish().unwrap();
            assert_eq!(got, values);
            let mut pos = 0;
            let mut r = IntReader::new(&out, &mut pos, values.len()).unwrap();
            let mut signed = vec![0i64; values.len()];
            r.decode_signed_into(&mut signed, (), |_, v| v);
            r.finish().unwrap();
            assert_eq!(
                signed,
                values.iter().map(|&z| unzigzag(z)).collect::<Vec<_>>()
            );
            assert_eq!(pos, out.len());
        }
    }

    #[test]
    fn every_coding_round_trips() {
        assert!(round_trip(&[5; 1000]) <= 2);
        let small: Vec<u64> = (0..1000u64).map(|i| i * 7 % 5).collect();
        // 2.32 bits a value (290 bytes), the table, and the four coder states (16 bytes).
        let n = round_trip(&small);
        assert!(n < 330, "{n}");
        let wide: Vec<u64> = (0..1000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        round_trip(&wide);
        round_trip(&[u64::MAX, 0, 1 << 63, 31, 32, 33, 63, 64, 65]);
        let mut sparse = vec![0u64; 2000];
        sparse[0] = 3;
        sparse[700] = 1 << 40;
        sparse[1999] = 1;
        assert!(round_trip(&sparse) < 20);
        round_trip(&[]);
        for z in [0, 1, -1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(z)), z);
        }
    }
}
