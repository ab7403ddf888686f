//! Gorilla XOR coding of f64 values, bit-exact for every bit pattern (NaN payloads, -0.0,
//! infinities, subnormals): values are handled as raw `u64` bits only.
//!
//! First value: 64 raw bits. Then `x = bits ^ prev_bits`:
//! - `0`: `x == 0` (same value);
//! - `10` + meaningful bits: `x` fits the previous window of leading/trailing zeros;
//! - `11` + 6 bits leading zeros + 6 bits (meaningful length - 1) + meaningful bits.

use super::bits::{BitReader, BitWriter};
use super::error::CodecError;

/// Streaming XOR encoder state.
#[derive(Debug, Clone, Default)]
pub struct XorEncoder {
    count: u64,
    prev: u64,
    lead: u32,
    trail: u32,
}

impl XorEncoder {
    /// Raw bits of the last value pushed.
    #[inline(always)]
    pub fn last(&self) -> Option<u64> {
        (self.count > 0).then_some(self.prev)
    }

    /// Appends the value with raw bits `v`.
    #[inline]
    pub fn push(&mut self, w: &mut BitWriter, v: u64) {
        if self.count == 0 {
            w.write(v, 64);
        } else {
            let x = v ^ self.prev;
            if x == 0 {
                w.write(0, 1);
            } else {
                let lead = x.leading_zeros();
                let trail = x.trailing_zeros();
                if self.count > 1
                    && lead >= self.lead
                    && trail >= self.trail
                    && self.lead + self.trail > 0
                {
                    let len = 64 - self.lead - self.trail;
                    w.write(0b10, 2);
                    w.write(x >> self.trail, len);
                } else {
                    let len = 64 - lead - trail;
                    w.write((0b11 << 12) | ((lead as u64) << 6) | (len as u64 - 1), 14);
                    w.write(x >> trail, len);
                    self.lead = lead;
                    self.trail = trail;
                }
            }
        }
        self.prev = v;
        self.count += 1;
    }
}

impl XorDecoder {
    /// The raw bits a zero bit repeats (every zero bit means "same value"), once the first
    /// value was read.
    #[inline(always)]
    pub fn repeated(&self) -> Option<u64> {
        (self.count > 0).then_some(self.prev)
    }

    /// Notes that `k` repeated values were consumed.
    #[inline(always)]
    pub fn skip_repeats(&mut self, k: u32) {
        self.count += k as u64;
    }
}

/// Streaming XOR decoder state.
#[derive(Debug, Clone, Default)]
pub struct XorDecoder {
    count: u64,
    prev: u64,
    lead: u32,
    trail: u32,
}

impl XorDecoder {
    /// Reads the next value's raw bits.
    #[inline(always)]
    pub fn next(&mut self, r: &mut BitReader<'_>) -> Result<u64, CodecError> {
        let v = if self.count == 0 {
            r.read(64)?
        } else if !r.bit()? {
            self.prev
        } else if !r.bit()? {
            if self.count < 2 || self.lead + self.trail == 0 {
                return Err(CodecError::Invalid {
                    what: "float stream",
                    detail: "window reuse before any window".into(),
                });
            }
            let len = 64 - self.lead - self.trail;
            self.prev ^ (r.read(len)? << self.trail)
        } else {
            let head = r.read(12)?;
            let lead = (head >> 6) as u32;
            let len = (head & 63) as u32 + 1;
            if lead + len > 64 {
                return Err(CodecError::Invalid {
                    what: "float stream",
                    detail: format!("{lead} leading zeros and {len} meaningful bits exceed 64"),
                });
            }
            let trail = 64 - lead - len;
            self.lead = lead;
            self.trail = trail;
            self.prev ^ (r.read(len)? << trail)
        };
        self.prev = v;
        self.count += 1;
        Ok(v)
    }
}
