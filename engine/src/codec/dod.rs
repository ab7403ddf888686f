//! Delta-of-delta coding of i64 sequences, shared by timestamps and integer values.
//!
//! The first value is stored raw (64 bits). Each later value `v` is coded as
//! `dod = (v - prev) - prev_delta` (wrapping, so every i64 sequence round-trips), zigzag-mapped
//! to an unsigned number and written with a unary bucket prefix: `0` for zero, then `10`,
//! `110`, `1110`, `11110` each followed by that bucket's width of bits, and `11111` followed by
//! 64 bits. The widths are chosen per use (see [`TIMESTAMP_WIDTHS`], [`INTEGER_WIDTHS`]).

use super::bits::{BitReader, BitWriter};
use super::error::CodecError;

/// Bucket widths for nanosecond timestamps: exact periods cost 1 bit; millisecond jitter
/// (a few 10^6 ns) fits the 24-bit bucket.
pub const TIMESTAMP_WIDTHS: [u32; 4] = [8, 16, 24, 32];
/// Bucket widths for integer values (states and counters move by small steps).
pub const INTEGER_WIDTHS: [u32; 4] = [4, 8, 16, 32];

#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Streaming delta-of-delta encoder state.
#[derive(Debug, Clone, Default)]
pub struct DodEncoder {
    count: u64,
    prev: i64,
    prev_delta: i64,
}

impl DodEncoder {
    /// The last value pushed.
    #[inline(always)]
    pub fn last(&self) -> Option<i64> {
        (self.count > 0).then_some(self.prev)
    }

    /// Appends `v` to `w`.
    #[inline(always)]
    pub fn push(&mut self, w: &mut BitWriter, v: i64, widths: &[u32; 4]) {
        if self.count == 0 {
            w.write(v as u64, 64);
        } else {
            let delta = v.wrapping_sub(self.prev);
            let dod = delta.wrapping_sub(self.prev_delta);
            if dod == 0 {
                w.write(0, 1);
            } else {
                write_bucketed(w, zigzag(dod), widths);
            }
            self.prev_delta = delta;
        }
        self.prev = v;
        self.count += 1;
    }
}

#[inline]
fn write_bucketed(w: &mut BitWriter, zz: u64, widths: &[u32; 4]) {
    if zz == 0 {
        w.write(0, 1);
        return;
    }
    for (i, &width) in widths.iter().enumerate() {
        if zz < (1u64 << width) {
            let prefix_len = i as u32 + 2;
            let prefix = ((1u64 << prefix_len) - 1) ^ 1; // i+1 ones then a zero
            w.write((prefix << width) | zz, prefix_len + width);
            return;
        }
    }
    w.write(0b11111, 5);
    w.write(zz, 64);
}

/// Streaming delta-of-delta decoder state.
#[derive(Debug, Clone, Default)]
pub struct DodDecoder {
    count: u64,
    prev: i64,
    prev_delta: i64,
}

impl DodDecoder {
    /// Reads the next value.
    #[inline(always)]
    pub fn next(&mut self, r: &mut BitReader<'_>, widths: &[u32; 4]) -> Result<i64, CodecError> {
        let v = if self.count == 0 {
            r.read(64)? as i64
        } else {
            let ones = r.unary(5)?;
            let zz = match ones {
                0 => 0,
                5 => r.read(64)?,
                n => r.read(widths[n as usize - 1])?,
            };
            let delta = self.prev_delta.wrapping_add(unzigzag(zz));
            self.prev_delta = delta;
            self.prev.wrapping_add(delta)
        };
        self.prev = v;
        self.count += 1;
        Ok(v)
    }
}

impl DodDecoder {
    /// The values that `k` zero bits (delta of delta 0) stand for: each one delta further.
    /// Only valid once the first value has been read.
    #[inline(always)]
    pub fn zero_run(&mut self, k: u32, mut emit: impl FnMut(i64)) {
        debug_assert!(self.count > 0);
        for _ in 0..k {
            self.prev = self.prev.wrapping_add(self.prev_delta);
            emit(self.prev);
        }
        self.count += k as u64;
    }

    /// True once the first value was read, so that a zero bit means "delta of delta 0".
    #[inline(always)]
    pub fn started(&self) -> bool {
        self.count > 0
    }

    /// The value a zero bit repeats, when a zero bit means "same value as before" (the
    /// previous delta was 0).
    #[inline(always)]
    pub fn repeated(&self) -> Option<i64> {
        (self.count > 0 && self.prev_delta == 0).then_some(self.prev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_is_a_bijection_at_the_extremes() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 12345, -98765] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn every_bucket_boundary_round_trips() {
        let mut values = vec![0i64];
        for width in [4u32, 8, 16, 24, 32, 63] {
            let b = 1i64 << (width - 1);
            for d in [b - 1, b, b + 1, -b, -b - 1] {
                values.push(values.last().unwrap().wrapping_add(d));
            }
        }
        values.extend([i64::MAX, i64::MIN, 0, i64::MIN, i64::MAX]);
        for widths in [&TIMESTAMP_WIDTHS, &INTEGER_WIDTHS] {
            let mut w = BitWriter::new();
            let mut e = DodEncoder::default();
            values.iter().for_each(|&v| e.push(&mut w, v, widths));
            let mut buf = Vec::new();
            w.copy_to(&mut buf);
            let mut r = BitReader::new(&buf, "test");
            let mut d = DodDecoder::default();
            for &v in &values {
                assert_eq!(d.next(&mut r, widths).unwrap(), v);
            }
        }
    }
}
