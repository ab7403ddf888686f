//! Bit-level I/O, most significant bit first, a 64-bit word at a time.
//!
//! The writer collects bits in a `u64` and spills whole words; the reader loads up to nine
//! bytes around the read position and extracts the bits with shifts, so neither loops per bit.

use super::error::CodecError;

/// Appends bit fields to a byte buffer.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    acc: u64,
    used: u32,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> BitWriter {
        BitWriter::default()
    }

    /// Appends the low `n` bits of `v` (`n` in 0..=64), most significant first.
    #[inline]
    pub fn write(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
        let free = 64 - self.used;
        if n < free {
            self.acc |= v << (free - n);
            self.used += n;
        } else {
            let rest = n - free;
            // rest < 64 because free >= 1.
            self.acc |= if rest == 0 { v } else { v >> rest };
            self.buf.extend_from_slice(&self.acc.to_be_bytes());
            self.acc = if rest == 0 { 0 } else { v << (64 - rest) };
            self.used = rest;
        }
    }

    /// Appends one bit.
    #[inline]
    pub fn bit(&mut self, b: bool) {
        self.write(b as u64, 1);
    }

    /// Bytes the stream takes so far (a partial last byte counts as one).
    pub fn byte_len(&self) -> usize {
        self.buf.len() + self.used.div_ceil(8) as usize
    }

    /// Appends the stream so far to `out`, the last byte padded with zeros.
    pub fn copy_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf);
        let tail = self.acc.to_be_bytes();
        out.extend_from_slice(&tail[..self.used.div_ceil(8) as usize]);
    }
}

/// Reads bit fields from a byte slice, most significant bit first.
///
/// Keeps up to 64 unread bits left-aligned in `cache` and refills it a whole word at a time,
/// so a read is a shift and a mask in the common case.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    buf: &'a [u8],
    next: usize,
    cache: u64,
    avail: u32,
    what: &'static str,
}

impl<'a> BitReader<'a> {
    /// Reads `buf`; `what` names the stream in errors.
    pub fn new(buf: &'a [u8], what: &'static str) -> BitReader<'a> {
        BitReader {
            buf,
            next: 0,
            cache: 0,
            avail: 0,
            what,
        }
    }

    /// Tops the cache up to at least 57 bits, or to whatever is left of the input.
    #[inline(always)]
    fn refill(&mut self) {
        if self.next + 8 <= self.buf.len() {
            let mut a = [0u8; 8];
            a.copy_from_slice(&self.buf[self.next..self.next + 8]);
            let word = u64::from_be_bytes(a);
            // avail < 64 here; take as many whole bytes as fit.
            self.cache |= word >> self.avail;
            let take = (63 - self.avail) / 8;
            self.next += take as usize;
            self.avail += take * 8;
        } else {
            while self.avail <= 56 && self.next < self.buf.len() {
                self.cache |= (self.buf[self.next] as u64) << (56 - self.avail);
                self.next += 1;
                self.avail += 8;
            }
        }
    }

    /// Reads `n` bits (0..=64) as the low bits of the result.
    #[inline(always)]
    pub fn read(&mut self, n: u32) -> Result<u64, CodecError> {
        if n > 56 {
            return self.read_wide(n);
        }
        self.read_short(n)
    }

    /// Reads more than 56 bits, in two parts.
    #[cold]
    #[inline(never)]
    fn read_wide(&mut self, n: u32) -> Result<u64, CodecError> {
        let hi = self.read_short(n - 32)?;
        let lo = self.read_short(32)?;
        Ok((hi << 32) | lo)
    }

    /// Reads `n` bits, `n` in 0..=56.
    #[inline(always)]
    fn read_short(&mut self, n: u32) -> Result<u64, CodecError> {
        if self.avail < n {
            self.refill();
            if self.avail < n {
                return Err(CodecError::Truncated { what: self.what });
            }
        }
        // Two shifts instead of `>> (64 - n)`, so that n = 0 needs no branch.
        let v = (self.cache >> 1) >> (63 - n);
        self.cache <<= n;
        self.avail -= n;
        Ok(v)
    }

    /// Reads one bit.
    #[inline(always)]
    pub fn bit(&mut self) -> Result<bool, CodecError> {
        Ok(self.read(1)? == 1)
    }

    /// Counts leading one bits, up to `max` (at most 8), consuming them and the terminating
    /// zero when there are fewer than `max`. Used for unary bucket prefixes.
    #[inline(always)]
    pub fn unary(&mut self, max: u32) -> Result<u32, CodecError> {
        if self.avail < max {
            self.refill();
        }
        let ones = (!self.cache).leading_zeros().min(max);
        let used = if ones < max { ones + 1 } else { max };
        if used > self.avail {
            return Err(CodecError::Truncated { what: self.what });
        }
        self.cache <<= used;
        self.avail -= used;
        Ok(ones)
    }

    /// How many zero bits come next (counting at least up to 56 of them when the input
    /// has that many), without consuming them.
    #[inline(always)]
    pub fn zeros_ahead(&mut self) -> u32 {
        if self.avail < 57 {
            self.refill();
        }
        self.cache.leading_zeros().min(self.avail)
    }

    /// Consumes `n` bits known to be present (`n <= zeros_ahead()`).
    #[inline(always)]
    pub fn skip(&mut self, n: u32) {
        debug_assert!(n <= self.avail && n < 64);
        self.cache <<= n;
        self.avail -= n;
    }

    /// Bits consumed.
    pub fn position(&self) -> usize {
        self.next * 8 - self.avail as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_width_round_trips_at_every_alignment() {
        for lead in 0..64u32 {
            let mut w = BitWriter::new();
            w.write(0, lead);
            for n in 0..=64u32 {
                let v = if n == 64 {
                    u64::MAX - 5
                } else {
                    (0xDEAD_BEEF_CAFE_F00Du64) & ((1u64 << n) - 1)
                };
                w.write(v, n);
            }
            let mut buf = Vec::new();
            w.copy_to(&mut buf);
            assert_eq!(buf.len(), w.byte_len());
            let mut r = BitReader::new(&buf, "test");
            assert_eq!(r.read(lead).unwrap(), 0);
            for n in 0..=64u32 {
                let v = if n == 64 {
                    u64::MAX - 5
                } else {
                    (0xDEAD_BEEF_CAFE_F00Du64) & ((1u64 << n) - 1)
                };
                assert_eq!(r.read(n).unwrap(), v, "lead {lead} width {n}");
            }
        }
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff], "test");
        assert_eq!(r.read(8).unwrap(), 0xff);
        assert!(r.read(1).is_err());
    }
}
