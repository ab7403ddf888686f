//! Static range asymmetric numeral systems (rANS, Duda 2013; byte-wise renormalisation as in
//! Giesen's `rans_byte`) over byte symbols: the entropy coder of packed chunks.
//!
//! A stream's symbol frequencies are counted by the encoder, scaled to sum to 2^11 and stored
//! ahead of the coded bytes, so a symbol costs about `log2(count / total)` bits, fractions of a
//! bit included: a value that is almost always the same costs almost nothing.
//!
//! ```text
//! table: n_symbols-1 u8 │ n × (symbol gap varint) │ (n-1) × (frequency-1 varint)
//!        (the last frequency is what the others leave of 2048)
//! body:  len varint │ len bytes: the two final coder states (4 bytes each, big-endian),
//!        then the renormalisation bytes
//! ```
//! Two coder states take turns (even symbols, odd symbols) over one byte stream, so a decoder
//! works on two independent dependency chains at once (Giesen's interleaving).
//! The decoder checks the table (frequencies positive, summing to 2048, symbols increasing)
//! and, at the end, that every byte was used and the state is back at its start value: a
//! damaged stream is caught, not decoded into other values.

use super::super::error::CodecError;
use super::super::varint::{get_varint, put_varint};

/// Precision of the frequencies: they sum to `1 << PROB_BITS`.
pub const PROB_BITS: u32 = 11;
const TOTAL: u32 = 1 << PROB_BITS;
/// Lower bound of the normalised state interval `[L, 256 L)`.
const L: u32 = 1 << 23;

/// Scaled symbol frequencies: `freq[s] > 0` for every symbol that occurs, summing to 2048.
#[derive(Debug, Clone)]
pub struct Model {
    freq: [u16; 256],
    start: [u16; 256],
}

impl Model {
    /// Scales the counts of the symbols (at least one non-zero) to frequencies.
    pub fn from_counts(counts: &[u32; 256]) -> Model {
        let total: u64 = counts.iter().map(|&c| c as u64).sum();
        let mut freq = [0u16; 256];
        let mut sum = 0u32;
        for (f, &c) in freq.iter_mut().zip(counts) {
            if c > 0 {
                let scaled = ((c as u64 * TOTAL as u64) / total.max(1)).max(1) as u32;
                *f = scaled.min(TOTAL) as u16;
                sum += *f as u32;
            }
        }
        // Rounding left the sum off 2048: give or take from the symbols that suffer least.
        while sum != TOTAL {
            if sum < TOTAL {
                let best = (0..256).max_by_key(|&s| counts[s]).unwrap_or(0);
                freq[best] += (TOTAL - sum) as u16;
                sum = TOTAL;
            } else {
                // Take one from the symbol whose cost grows least: smallest count per frequency.
                let mut best = None;
                let mut best_ratio = f64::INFINITY;
                for s in 0..256 {
                    if freq[s] > 1 {
                        let ratio = counts[s] as f64 / freq[s] as f64;
                        if ratio < best_ratio {
                            best_ratio = ratio;
                            best = Some(s);
                        }
                    }
                }
                let Some(s) = best else { break };
                let take = ((sum - TOTAL) as u16)
                    .min(freq[s] - 1)
                    .min((freq[s] / 8).max(1));
                freq[s] -= take;
                sum -= take as u32;
            }
        }
        Model::with_freqs(freq)
    }

    fn with_freqs(freq: [u16; 256]) -> Model {
        let mut start = [0u16; 256];
        let mut acc = 0u32;
        for s in 0..256 {
            start[s] = acc as u16;
            acc += freq[s] as u32;
        }
        Model { freq, start }
    }

    /// Estimated size in bits of coding symbols with these `counts` (the model's own counts).
    pub fn cost_bits(&self, counts: &[u32; 256]) -> f64 {
        let mut bits = 0.0;
        for (&c, &f) in counts.iter().zip(&self.freq) {
            if c > 0 {
                bits += c as f64 * (PROB_BITS as f64 - (f as f64).log2());
            }
        }
        bits + 8.0 * self.table_len() as f64 + 32.0
    }

    fn symbols(&self) -> impl Iterator<Item = usize> + '_ {
        (0..256).filter(|&s| self.freq[s] > 0)
    }

    fn table_len(&self) -> usize {
        let mut out = Vec::new();
        self.write_table(&mut out);
        out.len()
    }

    fn write_table(&self, out: &mut Vec<u8>) {
        let syms: Vec<usize> = self.symbols().collect();
        out.push((syms.len() - 1) as u8);
        let mut prev = 0;
        for (i, &s) in syms.iter().enumerate() {
            put_varint(out, if i == 0 { s } else { s - prev - 1 } as u64);
            prev = s;
        }
        for &s in &syms[..syms.len() - 1] {
            put_varint(out, self.freq[s] as u64 - 1);
        }
    }

    /// Reads a table written by the encoder.
    fn read_table(buf: &[u8], pos: &mut usize) -> Result<Model, CodecError> {
        const WHAT: &str = "entropy-coder table";
        let bad = |detail: &str| CodecError::Invalid {
            what: WHAT,
            detail: detail.into(),
        };
        let n = *buf.get(*pos).ok_or(CodecError::Truncated { what: WHAT })? as usize + 1;
        *pos += 1;
        let mut syms = [0usize; 256];
        let mut next = 0u64;
        for (i, slot) in syms.iter_mut().take(n).enumerate() {
            let gap = get_varint(buf, pos, WHAT)?;
            let s = if i == 0 {
                gap
            } else {
                next.saturating_add(gap)
            };
            if s > 255 {
                return Err(bad("symbol above 255"));
            }
            *slot = s as usize;
            next = s + 1;
        }
        let mut freq = [0u16; 256];
        let mut sum = 0u64;
        for &s in &syms[..n - 1] {
            let f = get_varint(buf, pos, WHAT)?.saturating_add(1);
            sum = sum.saturating_add(f);
            if sum >= TOTAL as u64 {
                return Err(bad("frequencies exceed the total"));
            }
            freq[s] = f as u16;
        }
        freq[syms[n - 1]] = (TOTAL as u64 - sum) as u16;
        Ok(Model::with_freqs(freq))
    }
}

/// Appends `symbols` coded with `model` (built from their counts): table, then body.
pub fn encode(symbols: &[u8], model: &Model, out: &mut Vec<u8>) {
    model.write_table(out);
    let mut rev: Vec<u8> = Vec::with_capacity(symbols.len() / 2 + 8);
    let mut x = [L, L];
    // Symbol i belongs to state i % 2; encoding runs backwards so decoding runs forwards.
    for (i, &s) in symbols.iter().enumerate().rev() {
        let x = &mut x[i & 1];
        let f = model.freq[s as usize] as u32;
        debug_assert!(f > 0, "symbol {s} missing from the model");
        let x_max = ((L >> PROB_BITS) << 8) * f;
        while *x >= x_max {
            rev.push(*x as u8);
            *x >>= 8;
        }
        *x = ((*x / f) << PROB_BITS) + (*x % f) + model.start[s as usize] as u32;
    }
    rev.extend_from_slice(&x[1].to_le_bytes());
    rev.extend_from_slice(&x[0].to_le_bytes());
    put_varint(out, rev.len() as u64);
    out.extend(rev.iter().rev());
}

/// Counts symbols.
pub fn counts(symbols: &[u8]) -> [u32; 256] {
    let mut c = [0u32; 256];
    for &s in symbols {
        c[s as usize] += 1;
    }
    c
}

/// One slot of the decoding table: `symbol | (freq - 1) << 8 | (slot - start) << 20`.
type Slot = u32;

/// A decoder positioned at the start of a coded stream.
pub struct Decoder<'a> {
    slots: Box<[Slot; TOTAL as usize]>,
    body: &'a [u8],
    pos: usize,
    /// The state whose turn it is, then the other one: they swap after every symbol.
    x: u32,
    y: u32,
}

impl<'a> Decoder<'a> {
    /// Reads the table and the states at `*pos` of `buf`; `*pos` moves past the stream.
    pub fn new(buf: &'a [u8], pos: &mut usize) -> Result<Decoder<'a>, CodecError> {
        const WHAT: &str = "entropy-coded stream";
        let model = Model::read_table(buf, pos)?;
        let len = get_varint(buf, pos, WHAT)?;
        let end = pos
            .checked_add(usize::try_from(len).unwrap_or(usize::MAX))
            .filter(|&e| e <= buf.len() && len >= 8)
            .ok_or(CodecError::Truncated { what: WHAT })?;
        let body = &buf[*pos..end];
        *pos = end;
        let x0 = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        let x1 = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
        let mut slots = Box::new([0; TOTAL as usize]);
        for s in 0..256 {
            let (f, st) = (model.freq[s] as u32, model.start[s] as u32);
            for (k, slot) in slots[st as usize..(st + f) as usize].iter_mut().enumerate() {
                *slot = s as u32 | (f - 1) << 8 | (k as u32) << 20;
            }
        }
        Ok(Decoder {
            slots,
            body,
            pos: 8,
            x: x0,
            y: x1,
        })
    }

    /// The next symbol. Past the end of the body it returns symbols from a state that
    /// [`Decoder::finish`] will then refuse, so callers may decode a known count unchecked.
    #[inline(always)]
    pub fn symbol(&mut self) -> u8 {
        let mut x = self.x;
        let e = self.slots[(x & (TOTAL - 1)) as usize];
        // Wrapping: a damaged stream can start from any state; `finish` refuses it then.
        x = ((e >> 8) & 0xfff)
            .wrapping_mul(x >> PROB_BITS)
            .wrapping_add(x >> PROB_BITS)
            .wrapping_add(e >> 20);
        while x < L {
            let Some(&b) = self.body.get(self.pos) else {
                // Out of bytes: a damaged stream. Poison the position so that `finish`
                // fails, and stop refilling.
                self.pos = usize::MAX;
                x = L;
                break;
            };
            self.pos += 1;
            x = (x << 8) | b as u32;
        }
        self.x = self.y;
        self.y = x;
        e as u8
    }

    /// Checks that the stream was used exactly: every byte read, both states back at their
    /// start.
    pub fn finish(&self) -> Result<(), CodecError> {
        if self.pos != self.body.len() || self.x != L || self.y != L {
            return Err(CodecError::Invalid {
                what: "entropy-coded stream",
                detail: "does not end where its symbols do".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(symbols: &[u8]) -> usize {
        let model = Model::from_counts(&counts(symbols));
        let mut out = Vec::new();
        encode(symbols, &model, &mut out);
        let mut pos = 0;
        let mut d = Decoder::new(&out, &mut pos).unwrap();
        let got: Vec<u8> = (0..symbols.len()).map(|_| d.symbol()).collect();
        assert_eq!(got, symbols);
        d.finish().unwrap();
        assert_eq!(pos, out.len());
        out.len()
    }

    #[test]
    fn skewed_streams_cost_fractions_of_a_bit() {
        let mut s = vec![0u8; 4000];
        s[100] = 1;
        s[2000] = 2;
        assert!(round_trip(&s) < 20);
        let all: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        let n = round_trip(&all);
        assert!(n < 10_000 + 800, "{n}");
        round_trip(&[7]);
    }

    #[test]
    fn damaged_streams_are_refused() {
        let s: Vec<u8> = (0..500u32).map(|i| (i * 7 % 13) as u8).collect();
        let model = Model::from_counts(&counts(&s));
        let mut out = Vec::new();
        encode(&s, &model, &mut out);
        for cut in 0..out.len() {
            let mut pos = 0;
            if let Ok(mut d) = Decoder::new(&out[..cut], &mut pos) {
                for _ in 0..s.len() {
                    d.symbol();
                }
                assert!(d.finish().is_err());
            }
        }
    }
}
