//! The head: recent points in memory, per series an open chunk compressed as it grows, the
//! chunks it has closed, and an out-of-order buffer for late points and overwrites.
//!
//! A [`Memtable`] is the unit that is frozen and flushed into one segment file.

mod series;

pub use series::{encode_parts, ClosedChunk, SeriesHead};

use hashbrown::HashMap;

use crate::codec::CodecError;
use crate::point::{Point, ValueType};

/// Settings that shape head chunks.
#[derive(Debug, Clone, Copy)]
pub struct ChunkLimits {
    /// Close a chunk at this many points.
    pub max_points: usize,
    /// Close a chunk when its encoded size passes this many bytes.
    pub max_bytes: usize,
    /// A flush offers chunks whose newest point is older than this to the cold encoding
    /// (`i64::MIN`: none).
    pub cold_before: i64,
    /// Length of a time partition in nanoseconds: a flush never puts points of two
    /// partitions into one chunk (nor one segment file).
    pub partition: i64,
}

/// The head state of every series written since the last freeze.
#[derive(Debug, Default)]
pub struct Memtable {
    series: HashMap<u32, SeriesHead>,
    bytes: usize,
    points: u64,
    /// Every range deleted while this memtable was active, as (series id, start, end), in
    /// order: its flush brings rollup buckets of those ranges up to date.
    deletes: Vec<(u32, i64, i64)>,
}

impl Memtable {
    /// Applies the points of one series, in order (a later point wins over an earlier one
    /// with the same timestamp).
    pub fn apply(&mut self, id: u32, vt: ValueType, points: &[Point], limits: ChunkLimits) {
        let mut before = None;
        let head = self
            .series
            .entry(id)
            .and_modify(|h| before = Some(h.mem_bytes()))
            .or_insert_with(|| SeriesHead::new(vt));
        // A new head counts whole, its fixed cost included.
        let before = before.unwrap_or(0);
        for p in points {
            head.append(*p, limits);
        }
        self.bytes = (self.bytes + head.mem_bytes()).saturating_sub(before);
        self.points += points.len() as u64;
    }

    /// Removes the points of series `id` with `start <= ts < end`; a series left without
    /// points is dropped from the memtable. Returns whether anything was removed.
    pub fn delete_range(
        &mut self,
        id: u32,
        start: i64,
        end: i64,
        limits: ChunkLimits,
    ) -> Result<bool, CodecError> {
        self.deletes.push((id, start, end));
        let Some(head) = self.series.get(&id) else {
            return Ok(false);
        };
        let Some(rest) = head.without_range(start, end, limits)? else {
            return Ok(false);
        };
        let before = head.mem_bytes();
        let after = if rest.is_empty() { 0 } else { rest.mem_bytes() };
        self.bytes = (self.bytes + after).saturating_sub(before);
        if rest.is_empty() {
            self.series.remove(&id);
        } else {
            self.series.insert(id, rest);
        }
        Ok(true)
    }

    /// Approximate memory held, in bytes.
    pub fn mem_bytes(&self) -> usize {
        self.bytes
    }

    /// Points applied (overwrites counted).
    pub fn points(&self) -> u64 {
        self.points
    }

    /// True when no point was applied.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The ranges deleted while this memtable was active, as (series id, start, end).
    pub fn deletes(&self) -> &[(u32, i64, i64)] {
        &self.deletes
    }

    /// The head of series `id`, if it has points here.
    pub fn get(&self, id: u32) -> Option<&SeriesHead> {
        self.series.get(&id)
    }

    /// Every series with points here.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &SeriesHead)> {
        self.series.iter().map(|(id, h)| (*id, h))
    }
}
