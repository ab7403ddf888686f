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
//! Two or four coder states take turns (symbol `i` with state `i mod n`) over one byte
//! stream, so a decoder works on as many independent dependency chains at once (Giesen's
//! interleaving): the decode of one symbol is a chain of a table load, a multiplication and
//! a refill, and the chains of other states run beside it.
//! The decoder checks the table (frequencies positive, summing to 2048, symbols increasing)
//! and, at the end, that every byte was used and the state is back at its start value: a
//! damaged stream is caught, not decoded into other values.

use std::hint::select_unpredictable;

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

    /// Reads a table written by the encoder: its symbols in increasing order, each with its
    /// frequency (the frequencies sum to the total).
    fn read_table(buf: &[u8], pos: &mut usize) -> Result<Vec<(u8, u16)>, CodecError> {
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
        let mut table = Vec::with_capacity(n);
        let mut sum = 0u64;
        for &s in &syms[..n - 1] {
            let f = get_varint(buf, pos, WHAT)?.saturating_add(1);
            sum = sum.saturating_add(f);
            if sum >= TOTAL as u64 {
                return Err(bad("frequencies exceed the total"));
            }
            table.push((s as u8, f as u16));
        }
        table.push((syms[n - 1] as u8, (TOTAL as u64 - sum) as u16));
        Ok(table)
    }
}

/// Appends `symbols` coded with `model` (built from their counts) and two interleaved
/// states: table, then body.
pub fn encode(symbols: &[u8], model: &Model, out: &mut Vec<u8>) {
    encode_lanes(symbols, model, Lanes::Two, out)
}

/// How many coder states take turns over one stream: each is an independent dependency
/// chain for the decoder, which is bound by the latency of one symbol's decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lanes {
    /// Two states (even and odd symbols).
    Two = 2,
    /// Four states (symbol `i` with state `i mod 4`).
    Four = 4,
}

/// Appends `symbols` coded with `model` (built from their counts) and `lanes` interleaved
/// states: table, then body.
pub fn encode_lanes(symbols: &[u8], model: &Model, lanes: Lanes, out: &mut Vec<u8>) {
    model.write_table(out);
    let n = lanes as usize;
    let mut rev: Vec<u8> = Vec::with_capacity(symbols.len() / 2 + 4 * n);
    let mut x = [L; 4];
    // Symbol i belongs to state i % n; encoding runs backwards so decoding runs forwards.
    for (i, &s) in symbols.iter().enumerate().rev() {
        let x = &mut x[i % n];
        let f = model.freq[s as usize] as u32;
        debug_assert!(f > 0, "symbol {s} missing from the model");
        let x_max = ((L >> PROB_BITS) << 8) * f;
        while *x >= x_max {
            rev.push(*x as u8);
            *x >>= 8;
        }
        *x = ((*x / f) << PROB_BITS) + (*x % f) + model.start[s as usize] as u32;
    }
    for state in x[..n].iter().rev() {
        rev.extend_from_slice(&state.to_le_bytes());
    }
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

/// One slot of the decoding table: `freq | (slot - start) << 12 | symbol << 24` (a
/// frequency is at most 2048, 12 bits; the offset below 2048, 11 bits), where the symbol
/// is the one the caller's map gave (see [`Decoder::with_map`]).
type Slot = u32;

/// A decoder positioned at the start of a coded stream.
pub struct Decoder<'a> {
    slots: Box<[Slot; TOTAL as usize]>,
    body: &'a [u8],
    pos: usize,
    /// The coder states; the first `lanes` are used.
    states: [u32; 4],
    lanes: Lanes,
    /// The state whose turn it is.
    turn: usize,
}

impl<'a> Decoder<'a> {
    /// Reads the table and the two states at `*pos` of `buf`; `*pos` moves past the
    /// stream.
    pub fn new(buf: &'a [u8], pos: &mut usize) -> Result<Decoder<'a>, CodecError> {
        Decoder::with_map(buf, pos, Lanes::Two, |s| s)
    }

    /// [`Decoder::new`] for a stream of `lanes` states, whose symbols come out through
    /// `map`: the decoding table holds `map(symbol)` in place of each symbol, so that what
    /// a caller would compute from a symbol is looked up with it instead.
    pub fn with_map(
        buf: &'a [u8],
        pos: &mut usize,
        lanes: Lanes,
        map: impl Fn(u8) -> u8,
    ) -> Result<Decoder<'a>, CodecError> {
        const WHAT: &str = "entropy-coded stream";
        let table = Model::read_table(buf, pos)?;
        let len = get_varint(buf, pos, WHAT)?;
        let n = lanes as usize;
        let end = pos
            .checked_add(usize::try_from(len).unwrap_or(usize::MAX))
            .filter(|&e| e <= buf.len() && len >= 4 * n as u64)
            .ok_or(CodecError::Truncated { what: WHAT })?;
        let body = &buf[*pos..end];
        *pos = end;
        let mut states = [L; 4];
        for (state, b) in states.iter_mut().zip(body[..4 * n].chunks_exact(4)) {
            *state = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        // Symbols in order, each over its frequency's slots: the slots from its start on.
        let mut slots: Vec<Slot> = Vec::with_capacity(TOTAL as usize);
        for (s, f) in table {
            let base = f as u32 | (map(s) as u32) << 24;
            slots.extend((0..f as u32).map(|k| base | k << 12));
        }
        let slots: Box<[Slot; TOTAL as usize]> =
            slots
                .into_boxed_slice()
                .try_into()
                .map_err(|_| CodecError::Invalid {
                    what: WHAT,
                    detail: "frequencies do not sum to the total".into(),
                })?;
        Ok(Decoder {
            slots,
            body,
            pos: 4 * n,
            states,
            lanes,
            turn: 0,
        })
    }

    /// The next (mapped) symbol. Past the end of the body it returns symbols from a state
    /// that [`Decoder::finish`] will then refuse, so callers may decode a known count
    /// unchecked.
    #[inline(always)]
    pub fn symbol(&mut self) -> u8 {
        let t = self.turn;
        let (s, x) = step(&self.slots, self.states[t]);
        self.states[t] = renormalise(self.body, &mut self.pos, x);
        self.turn = if t + 1 == self.lanes as usize {
            0
        } else {
            t + 1
        };
        s
    }

    /// Decodes one (mapped) symbol per slot of `out`, in order, and writes `f(state,
    /// symbol)` there: [`Decoder::symbol`] once a slot, with the coder states, the
    /// position and `state` held in registers for the whole loop, one symbol per coder
    /// state a turn. Returns `state` as the last call left it.
    #[inline(always)]
    pub fn decode_into<T, S>(
        &mut self,
        out: &mut [T],
        state: S,
        f: impl FnMut(&mut S, u8) -> T,
    ) -> S {
        match self.lanes {
            Lanes::Two => self.decode_lanes::<2, T, S>(out, state, f),
            Lanes::Four => self.decode_lanes::<4, T, S>(out, state, f),
        }
    }

    #[inline(always)]
    fn decode_lanes<const N: usize, T, S>(
        &mut self,
        mut out: &mut [T],
        mut state: S,
        mut f: impl FnMut(&mut S, u8) -> T,
    ) -> S {
        // The loop below starts with the first state: finish the turn one at a time.
        while self.turn != 0 {
            let Some((slot, rest)) = out.split_first_mut() else {
                return state;
            };
            let s = self.symbol();
            *slot = f(&mut state, s);
            out = rest;
        }
        let mut x = [L; N];
        x.copy_from_slice(&self.states[..N]);
        let (slots, body, mut pos) = (&*self.slots, self.body, self.pos);
        // A turn takes at most two bytes a state: with eight bytes ahead, one bounds check
        // and one load serve the whole turn, each state shifting its bytes off the top of
        // the window (`refill`). Indexed with constants once unrolled, the states stay in
        // registers.
        let mut done = 0;
        for turn in out.chunks_exact_mut(N) {
            let Some(ahead) = body.get(pos..).and_then(|rest| rest.first_chunk::<8>()) else {
                break;
            };
            let mut window = u64::from_be_bytes(*ahead);
            #[allow(clippy::needless_range_loop)]
            for j in 0..N {
                let (s, next) = step(slots, x[j]);
                x[j] = refill(next, &mut window, &mut pos);
                turn[j] = f(&mut state, s);
            }
            done += N;
        }
        // The stream's last bytes, and a turn left unfinished: one state at a time.
        let rest = &mut out[done..];
        for (i, slot) in rest.iter_mut().enumerate() {
            let (s, next) = step(slots, x[i % N]);
            x[i % N] = renormalise(body, &mut pos, next);
            *slot = f(&mut state, s);
        }
        self.states[..N].copy_from_slice(&x);
        (self.pos, self.turn) = (pos, rest.len() % N);
        state
    }

    /// Checks that the stream was used exactly: every byte read, every state back at its
    /// start.
    pub fn finish(&self) -> Result<(), CodecError> {
        let states = &self.states[..self.lanes as usize];
        if self.pos != self.body.len() || states.iter().any(|&x| x != L) {
            return Err(CodecError::Invalid {
                what: "entropy-coded stream",
                detail: "does not end where its symbols do".into(),
            });
        }
        Ok(())
    }
}

/// Decodes one symbol from state `x`: the symbol and the state before renormalisation.
#[inline(always)]
fn step(slots: &[Slot; TOTAL as usize], x: u32) -> (u8, u32) {
    let e = slots[(x & (TOTAL - 1)) as usize];
    // Wrapping: a damaged stream can start from any state; `finish` refuses it then.
    let x = (e & 0xfff)
        .wrapping_mul(x >> PROB_BITS)
        .wrapping_add((e >> 12) & 0x7ff);
    ((e >> 24) as u8, x)
}

/// Reads the bytes at `*pos` of `body` that bring `x` back into `[L, 256 L)`. A decoded
/// state is at least `L >> PROB_BITS` (a frequency of 1), so at most two bytes are
/// missing. Both candidates are computed and one is selected, without a branch: whether a
/// symbol needs a byte is as good as random, and a mispredicted branch would cost more
/// than the symbol; the selection also keeps the chain from one state to the next short.
#[inline(always)]
fn renormalise(body: &[u8], pos: &mut usize, x: u32) -> u32 {
    let p = *pos;
    if let Some(pair) = body.get(p..).and_then(|rest| rest.first_chunk::<2>()) {
        let next = u16::from_be_bytes(*pair) as u32;
        let one = x << 8 | next >> 8;
        let two = x << 16 | next;
        *pos = p + (x < L) as usize + (x < L >> 8) as usize;
        let refilled = select_unpredictable(x < L >> 8, two, one);
        return select_unpredictable(x < L, refilled, x);
    }
    renormalise_at_end(body, pos, x)
}

/// [`renormalise`] from `window`, the body's bytes at `*pos` on, big-endian (at least two
/// of them): the bytes taken leave the top of the window and advance `*pos`. A shift
/// replaces the selection: `x` and the window's top half joined into 64 bits, shifted
/// right by 32 less 8 bits a byte taken, end in `x` followed by those bytes.
#[inline(always)]
fn refill(x: u32, window: &mut u64, pos: &mut usize) -> u32 {
    let taken = (x < L) as u32 + (x < L >> 8) as u32;
    let joined = (x as u64) << 32 | *window >> 32;
    *window <<= 8 * taken;
    *pos += taken as usize;
    (joined >> (32 - 8 * taken)) as u32
}

/// [`renormalise`] within the last two bytes of the body, or past it.
#[cold]
fn renormalise_at_end(body: &[u8], pos: &mut usize, mut x: u32) -> u32 {
    while x < L {
        let Some(&b) = body.get(*pos) else {
            // Out of bytes: a damaged stream. Poison the position so that `finish` fails,
            // and stop refilling.
            *pos = usize::MAX;
            return L;
        };
        *pos += 1;
        x = (x << 8) | b as u32;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes `symbols` with two and with four states; checks that both decode, one symbol at
    /// a time and in one loop (from every starting turn); returns the two-state size.
    fn round_trip(symbols: &[u8]) -> usize {
        let model = Model::from_counts(&counts(symbols));
        let mut sizes = Vec::new();
        for lanes in [Lanes::Two, Lanes::Four] {
            let mut out = Vec::new();
            encode_lanes(symbols, &model, lanes, &mut out);
            let mut pos = 0;
            let mut d = Decoder::with_map(&out, &mut pos, lanes, |s| s).unwrap();
            let got: Vec<u8> = (0..symbols.len()).map(|_| d.symbol()).collect();
            assert_eq!(got, symbols);
            d.finish().unwrap();
            assert_eq!(pos, out.len());
            for singles in 0..symbols.len().min(5) {
                let mut pos = 0;
                let mut d = Decoder::with_map(&out, &mut pos, lanes, |s| !s).unwrap();
                let mut got: Vec<u8> = (0..singles).map(|_| !d.symbol()).collect();
                let mut rest = vec![0u8; symbols.len() - singles];
                d.decode_into(&mut rest, (), |_, s| !s);
                got.extend(rest);
                assert_eq!(got, symbols);
                d.finish().unwrap();
            }
            sizes.push(out.len());
        }
        sizes[0]
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
        for lanes in [Lanes::Two, Lanes::Four] {
            let mut out = Vec::new();
            encode_lanes(&s, &model, lanes, &mut out);
            for cut in 0..out.len() {
                let mut pos = 0;
                if let Ok(mut d) = Decoder::with_map(&out[..cut], &mut pos, lanes, |s| s) {
                    let mut got = vec![0u8; s.len()];
                    d.decode_into(&mut got, (), |_, s| s);
                    assert!(d.finish().is_err());
                }
            }
        }
    }
}
