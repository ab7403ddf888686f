//! The engine's error type: one enum for the whole layer, each variant carrying the file,
//! offset, series or field involved so that a message alone tells an operator what happened.

use std::io;
use std::path::PathBuf;

use crate::point::ValueType;

/// Result alias for engine operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A series key (name or labels) is not acceptable.
    #[error("invalid series {series}: {reason}")]
    InvalidSeries {
        /// The series as given, in display form.
        series: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A batch was rejected as a whole because of one of its parts.
    #[error("invalid batch: {reason}")]
    InvalidBatch {
        /// What is wrong, naming the series and point index.
        reason: String,
    },
    /// A point's value type differs from the type the series already has.
    #[error("series {series}: point {index} has type {got}, but the series holds {expected}")]
    TypeMismatch {
        /// The series, in display form.
        series: String,
        /// Index of the offending point within its series' list in the batch.
        index: usize,
        /// The series' type.
        expected: ValueType,
        /// The point's type.
        got: ValueType,
    },
    /// Series metadata breaks a limit (length, characters).
    #[error("invalid metadata for series {series}: {reason}")]
    InvalidMetadata {
        /// The series, in display form.
        series: String,
        /// What is wrong, naming the field and the limit.
        reason: String,
    },
    /// A series was declared with a value type other than the one it already holds.
    #[error("series {series} holds {existing} values; it cannot be declared as {requested}")]
    TypeConflict {
        /// The series, in display form.
        series: String,
        /// The type it has.
        existing: ValueType,
        /// The type asked for.
        requested: ValueType,
    },
    /// A query range with `start > end`.
    #[error("invalid range: start {start} is after end {end}")]
    InvalidRange {
        /// Inclusive start, ns.
        start: i64,
        /// Exclusive end, ns.
        end: i64,
    },
    /// A query asks for something that cannot be answered (a window step below 1, too many
    /// windows).
    #[error("invalid query: {reason}")]
    InvalidQuery {
        /// What is wrong, with the limit it breaks.
        reason: String,
    },
    /// The series does not exist.
    #[error("unknown series {series}")]
    UnknownSeries {
        /// The series, in display form.
        series: String,
    },
    /// An I/O call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What the engine was doing ("open", "fsync", "write", ...).
        op: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Bytes on disk failed a check: a checksum, a magic number, a length or a decoder.
    #[error("corrupt {path} at offset {offset}: {what}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged structure within the file.
        offset: u64,
        /// Which check failed.
        what: String,
    },
    /// A file has a format version this build does not know.
    #[error("{path}: unsupported format version {version} (this build reads up to {supported})")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Another process (or another engine in this one) has the data folder open.
    #[error("data folder {path} is locked by another process")]
    Locked {
        /// The data folder.
        path: PathBuf,
    },
    /// The store holds `limit` series, the most [`crate::Options::max_series`] allows: a
    /// batch naming a new series is refused whole, and retrying will not help until the
    /// limit is raised. Batches of known series are still written.
    #[error(
        "series limit reached: max_series is {limit}; refusing new series {series} (raise \
         max_series, or write only to existing series)"
    )]
    SeriesLimit {
        /// The limit.
        limit: usize,
        /// The first new series of the refused request.
        series: String,
    },
    /// Memory bounds are reached; the caller should retry later.
    #[error("overloaded: {what}")]
    Overloaded {
        /// Which bound was hit.
        what: String,
    },
    /// An earlier fsync failure or worker panic left the on-disk state unknown; the engine
    /// refuses further writes until it is reopened.
    #[error("engine is poisoned and refuses writes: {reason}")]
    Poisoned {
        /// The failure that poisoned it.
        reason: String,
    },
    /// The engine was closed.
    #[error("engine is closed")]
    Closed,
}

impl Error {
    /// Wraps an I/O error with the operation and path.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A failed on-disk check.
    pub(crate) fn corrupt(path: impl Into<PathBuf>, offset: u64, what: impl Into<String>) -> Error {
        Error::Corrupt {
            path: path.into(),
            offset,
            what: what.into(),
        }
    }
}
