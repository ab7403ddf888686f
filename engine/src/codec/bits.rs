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
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> BitReader<'a> {
    /// Reads `buf`; `what` names the stream in errors.
    pub fn new(buf: &'a [u8], what: &'static str) -> BitReader<'a> {
        BitReader { buf, pos: 0, what }
    }

    /// Reads `n` bits (0..=64) as the low bits of the result.
    #[inline]
    pub fn read(&mut self, n: u32) -> Result<u64, CodecError> {
        if n == 0 {
            return Ok(0);
        }
        let end = self.pos + n as usize;
        if end > self.buf.len() * 8 {
            return Err(CodecError::Truncated { what: self.what });
        }
        let byte = self.pos >> 3;
        let off = (self.pos & 7) as u32;
        let window = if byte + 16 <= self.buf.len() {
            let mut a = [0u8; 16];
            a.copy_from_slice(&self.buf[byte..byte + 16]);
            u128::from_be_bytes(a)
        } else {
            let mut a = [0u8; 16];
            let avail = self.buf.len() - byte;
            a[..avail].copy_from_slice(&self.buf[byte..]);
            u128::from_be_bytes(a)
        };
        self.pos = end;
        Ok(((window << off) >> (128 - n)) as u64)
    }

    /// Reads one bit.
    #[inline]
    pub fn bit(&mut self) -> Result<bool, CodecError> {
        Ok(self.read(1)? == 1)
    }

    /// Counts leading one bits, up to `max`, consuming them and the terminating zero (when
    /// fewer than `max`). Used for unary bucket prefixes.
    #[inline]
    pub fn unary(&mut self, max: u32) -> Result<u32, CodecError> {
        let mut n = 0;
        while n < max && self.bit()? {
            n += 1;
        }
        Ok(n)
    }

    /// Bits consumed.
    pub fn position(&self) -> usize {
        self.pos
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
                let v = if n == 64 { u64::MAX - 5 } else { (0xDEAD_BEEF_CAFE_F00Du64) & ((1u64 << n) - 1) };
                w.write(v, n);
            }
            let mut buf = Vec::new();
            w.copy_to(&mut buf);
            assert_eq!(buf.len(), w.byte_len());
            let mut r = BitReader::new(&buf, "test");
            assert_eq!(r.read(lead).unwrap(), 0);
            for n in 0..=64u32 {
                let v = if n == 64 { u64::MAX - 5 } else { (0xDEAD_BEEF_CAFE_F00Du64) & ((1u64 << n) - 1) };
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
