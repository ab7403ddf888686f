//! Query helpers: merging the sources of one series into one ordered, de-duplicated stream.

pub mod merge;
