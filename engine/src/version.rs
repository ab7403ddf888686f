//! A version: the immutable part of the store at one moment (segment files, frozen
//! memtables waiting to be flushed, and the tombstones that hide points in both). Readers
//! clone the `Arc` and read without further locks; a flush or a delete installs a new version
//! atomically.

use std::sync::Arc;

use crate::head::Memtable;
use crate::segment::reader::Segment;
use crate::tombstone::Tombstones;

/// A frozen memtable and the WAL position it covers.
#[derive(Debug)]
pub struct Frozen {
    /// The points.
    pub memtable: Memtable,
    /// Sequence number of the segment this memtable becomes, given when it was frozen, so
    /// that tombstones can tell its points from those of later writes.
    pub segment_seq: u64,
    /// WAL files with a lower sequence number hold nothing that is not in this memtable, an
    /// older frozen one, or a segment; they can go once this one is flushed.
    pub wal_seq_end: u64,
}

/// Segments and frozen memtables, oldest first (a later one wins on equal timestamps), and
/// the tombstones that hide some of their points.
#[derive(Debug, Default, Clone)]
pub struct Version {
    /// Segment files of raw points, oldest first (by seq, then generation).
    pub segments: Vec<Arc<Segment>>,
    /// Segment files of rollup tiers, oldest first likewise.
    pub rollups: Vec<Arc<Segment>>,
    /// Frozen memtables not yet flushed, oldest first.
    pub frozen: Vec<Arc<Frozen>>,
    /// Every tombstone; a point of a segment or frozen memtable is visible only when no
    /// tombstone hides it.
    pub tombstones: Arc<Tombstones>,
}
