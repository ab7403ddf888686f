//! Booleans: one bit per value. Plant digital inputs change rarely, but a bit each is already
//! small beside the timestamp; a run-length mode can come with a new encoding id.

use super::bits::{BitReader, BitWriter};
use super::error::CodecError;

/// Appends one boolean.
#[inline]
pub fn push(w: &mut BitWriter, v: bool) {
    w.bit(v);
}

/// Reads one boolean.
#[inline]
pub fn next(r: &mut BitReader<'_>) -> Result<bool, CodecError> {
    r.bit()
}
