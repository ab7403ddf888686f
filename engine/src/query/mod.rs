//! Query helpers: merging the sources of one series into one ordered, de-duplicated stream,
//! and aggregating points into time windows.

pub mod merge;
pub mod reference;
pub mod summary;
pub mod window;
