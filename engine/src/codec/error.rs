//! Codec errors: what part of a chunk was wrong.

use crate::point::ValueType;

/// Why a chunk could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The bytes end before the named structure does.
    #[error("{what}: ends early")]
    Truncated {
        /// The structure being read.
        what: &'static str,
    },
    /// The bytes are not a valid encoding.
    #[error("{what}: {detail}")]
    Invalid {
        /// The structure being read.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A value of another type was pushed into a chunk.
    #[error("value of type {got} pushed into a chunk of type {expected}")]
    TypeMismatch {
        /// The chunk's type.
        expected: ValueType,
        /// The value's type.
        got: ValueType,
    },
}
