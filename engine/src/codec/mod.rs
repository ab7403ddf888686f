//! The chunk codec: points of one series compressed Gorilla-style (VLDB 2015):
//! delta-of-delta timestamps, XOR-coded floats, delta-of-delta integers, one bit per boolean,
//! and run-length quality codes. Every chunk records its encoding id, so better encodings can
//! be added beside this one. Decoders never panic and never allocate more than the input can
//! justify: they return [`CodecError`] on any malformed input.

pub mod bits;
pub mod boolean;
pub mod chunk;
pub mod cold;
pub mod columns;
pub mod dod;
pub mod error;
pub mod float;
pub mod packed;
pub mod quality;
pub mod varint;

use crate::point;

pub use chunk::{
    decode_chunk, decode_chunk_into, encode_chunk, read_header, ChunkEncoder, ChunkHeader,
};
pub use columns::{decode_columns, Columns};
pub use error::CodecError;

/// Encodes points (in the order given) into the smallest chunk this build can make: a
/// [`packed`] chunk choosing its codings per chunk, or Gorilla for more than
/// [`packed::MAX_POINTS`] points. This is what segments store.
pub fn compress(vt: point::ValueType, points: &[point::Point]) -> Result<Vec<u8>, CodecError> {
    if points.len() > packed::MAX_POINTS as usize {
        return encode_chunk(vt, points);
    }
    packed::encode_packed(vt, points, None)
}

/// How a chunk's streams are coded; stored as the chunk's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    /// Delta-of-delta timestamps, XOR floats, delta-of-delta integers, bit booleans: what
    /// the head and the WAL write, point by point.
    Gorilla = 1,
    /// Per-chunk choice of entropy-coded streams ([`packed`]): what segments store.
    Packed = 2,
    /// Another encoding's chunk compressed with zstd ([`cold`]): old data, where it pays.
    Cold = 3,
}

impl Encoding {
    /// The byte stored in the chunk.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Parses the stored byte; `None` for an encoding this build does not know.
    pub fn from_code(code: u8) -> Option<Encoding> {
        match code {
            1 => Some(Encoding::Gorilla),
            2 => Some(Encoding::Packed),
            3 => Some(Encoding::Cold),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
