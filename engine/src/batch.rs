//! Write batches: the unit of atomicity. Every point of a batch becomes durable and visible
//! together, or none does.

use crate::point::Point;
use crate::series::SeriesKey;

/// Points for many series, written atomically by [`crate::Engine::write`].
///
/// Within a batch, a later point for the same series and timestamp wins over an earlier one.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    entries: Vec<(SeriesKey, Vec<Point>)>,
    points: usize,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Adds points for one series.
    pub fn add(&mut self, key: SeriesKey, points: Vec<Point>) {
        self.points += points.len();
        self.entries.push((key, points));
    }

    /// Adds one point; consecutive pushes for the same series share an entry.
    pub fn push(&mut self, key: &SeriesKey, point: Point) {
        self.points += 1;
        match self.entries.last_mut() {
            Some((k, pts)) if k == key => pts.push(point),
            _ => self.entries.push((key.clone(), vec![point])),
        }
    }

    /// Total points.
    pub fn len(&self) -> usize {
        self.points
    }

    /// True when the batch holds no series.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in the order added.
    pub fn entries(&self) -> &[(SeriesKey, Vec<Point>)] {
        &self.entries
    }
}
