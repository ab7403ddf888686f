//! A version: the immutable part of the store at one moment (segment files and frozen
//! memtables waiting to be flushed). Readers clone the `Arc` and read without further locks;
//! a flush installs a new version atomically.

use std::sync::Arc;

use crate::head::Memtable;
use crate::segment::reader::Segment;

/// A frozen memtable and the WAL position it covers.
#[derive(Debug)]
pub struct Frozen {
    /// The points.
    pub memtable: Memtable,
    /// WAL files with a lower sequence number hold nothing that is not in this memtable, an
    /// older frozen one, or a segment; they can go once this one is flushed.
    pub wal_seq_end: u64,
}

/// Segments and frozen memtables, oldest first (a later one wins on equal timestamps).
#[derive(Debug, Default, Clone)]
pub struct Version {
    /// Segment files, in sequence order.
    pub segments: Vec<Arc<Segment>>,
    /// Frozen memtables not yet flushed, oldest first.
    pub frozen: Vec<Arc<Frozen>>,
}
