//! The chunk codec: points of one series compressed Gorilla-style (VLDB 2015):
//! delta-of-delta timestamps, XOR-coded floats, delta-of-delta integers, one bit per boolean,
//! and run-length quality codes. Every chunk records its encoding id, so better encodings can
//! be added beside this one. Decoders never panic and never allocate more than the input can
//! justify: they return [`CodecError`] on any malformed input.

pub mod bits;
pub mod boolean;
pub mod chunk;
pub mod dod;
pub mod error;
pub mod float;
pub mod quality;
pub mod varint;

pub use chunk::{
    decode_chunk, decode_chunk_into, encode_chunk, read_header, ChunkEncoder, ChunkHeader,
};
pub use error::CodecError;

/// How a chunk's streams are coded; stored as the chunk's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    /// Delta-of-delta timestamps, XOR floats, delta-of-delta integers, bit booleans.
    Gorilla = 1,
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
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
