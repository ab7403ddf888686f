//! Tombstones: the record of deletes that hide points already in segment files (or in frozen
//! memtables on their way to one).
//!
//! A delete removes the points of the active head at once; the points that older, immutable
//! sources hold are hidden by a tombstone instead. Every source has a segment sequence number
//! (a frozen memtable gets the number of the segment it will become when it is frozen), and a
//! tombstone carries the highest number given out when the delete was applied: it hides the
//! points in its range of sources up to that number and never those of a later one, so points
//! written after the delete stay visible. Compaction will drop hidden points physically;
//! until then tombstones accumulate (see `engine/FORMAT.md`).

pub mod file;

use std::collections::HashMap;

use crate::point::ValueType;
use crate::series::SeriesKey;

/// One delete of the points `start <= ts < end` of one series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tombstone {
    /// Inclusive start, ns.
    pub start: i64,
    /// Exclusive end, ns; greater than `start`.
    pub end: i64,
    /// Hides points in sources with a segment sequence number up to this one.
    pub max_segment_seq: u64,
}

impl Tombstone {
    /// True when `other` hides nothing this one does not.
    fn subsumes(&self, other: &Tombstone) -> bool {
        self.start <= other.start
            && other.end <= self.end
            && other.max_segment_seq <= self.max_segment_seq
    }
}

/// The tombstones of one series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesTombstones {
    /// The series' value type, kept so that a series stays known with its type even when no
    /// other file names it any more.
    pub value_type: ValueType,
    /// Its tombstones, oldest first; none subsumes another.
    pub list: Vec<Tombstone>,
}

/// Every tombstone of the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tombstones {
    series: HashMap<SeriesKey, SeriesTombstones>,
    changes: u64,
}

impl Tombstones {
    /// Records a tombstone. One that an existing tombstone subsumes changes nothing; existing
    /// ones it subsumes are dropped. Empty ranges are ignored.
    pub fn add(&mut self, key: &SeriesKey, value_type: ValueType, t: Tombstone) {
        if t.start >= t.end {
            return;
        }
        let entry = self
            .series
            .entry(key.clone())
            .or_insert_with(|| SeriesTombstones {
                value_type,
                list: Vec::new(),
            });
        if entry.list.iter().any(|old| old.subsumes(&t)) {
            return;
        }
        entry.list.retain(|old| !t.subsumes(old));
        entry.list.push(t);
        self.changes += 1;
    }

    /// How many times [`Tombstones::add`] changed the set; tells the flusher whether the
    /// tombstone file must be rewritten.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The tombstones of one series, if any.
    pub fn get(&self, key: &SeriesKey) -> Option<&SeriesTombstones> {
        self.series.get(key)
    }

    /// Every series with tombstones, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &SeriesTombstones)> {
        self.series.iter()
    }

    /// Number of tombstones over all series.
    pub fn len(&self) -> usize {
        self.series.values().map(|s| s.list.len()).sum()
    }

    /// True when there is no tombstone.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The highest segment sequence number any tombstone names (0 when none).
    pub fn max_segment_seq(&self) -> u64 {
        self.series
            .values()
            .flat_map(|s| &s.list)
            .map(|t| t.max_segment_seq)
            .max()
            .unwrap_or(0)
    }

    /// The time ranges of series `key` hidden in the source with segment sequence number
    /// `source_seq`.
    pub fn hidden(&self, key: &SeriesKey, source_seq: u64) -> HiddenRanges {
        let Some(s) = self.series.get(key) else {
            return HiddenRanges::default();
        };
        HiddenRanges::new(
            s.list
                .iter()
                .filter(|t| t.max_segment_seq >= source_seq)
                .map(|t| (t.start, t.end)),
        )
    }
}

/// Sorted, disjoint, non-adjacent `[start, end)` ranges of hidden timestamps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HiddenRanges(Vec<(i64, i64)>);

impl HiddenRanges {
    /// Merges any ranges into sorted, disjoint ones; empty ranges are dropped.
    pub fn new(ranges: impl IntoIterator<Item = (i64, i64)>) -> HiddenRanges {
        let mut v: Vec<(i64, i64)> = ranges.into_iter().filter(|(s, e)| s < e).collect();
        v.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        HiddenRanges(out)
    }

    /// True when nothing is hidden.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when timestamp `ts` is hidden.
    pub fn contains(&self, ts: i64) -> bool {
        let i = self.0.partition_point(|&(s, _)| s <= ts);
        i > 0 && ts < self.0[i - 1].1
    }

    /// True when every timestamp in `first..=last` is hidden.
    pub fn covers(&self, first: i64, last: i64) -> bool {
        let i = self.0.partition_point(|&(s, _)| s <= first);
        i > 0 && last < self.0[i - 1].1
    }

    /// True when some timestamp in `first..=last` is hidden.
    pub fn overlaps(&self, first: i64, last: i64) -> bool {
        let i = self.0.partition_point(|&(_, e)| e <= first);
        self.0.get(i).is_some_and(|&(s, _)| s <= last)
    }

    /// Removes the hidden points from `points`.
    pub fn filter(&self, points: &mut Vec<crate::point::Point>) {
        if !self.is_empty() {
            points.retain(|p| !self.contains(p.ts));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(start: i64, end: i64, seq: u64) -> Tombstone {
        Tombstone {
            start,
            end,
            max_segment_seq: seq,
        }
    }

    #[test]
    fn a_tombstone_hides_only_sources_up_to_its_sequence_number() {
        let k = SeriesKey::from_name("k").unwrap();
        let mut ts = Tombstones::default();
        ts.add(&k, ValueType::F64, t(10, 20, 3));
        assert!(ts.hidden(&k, 3).contains(10));
        assert!(ts.hidden(&k, 1).contains(19));
        assert!(!ts.hidden(&k, 3).contains(20));
        assert!(ts.hidden(&k, 4).is_empty());
        let other = SeriesKey::from_name("other").unwrap();
        assert!(ts.hidden(&other, 1).is_empty());
    }

    #[test]
    fn subsumed_tombstones_are_not_kept_twice() {
        let k = SeriesKey::from_name("k").unwrap();
        let mut ts = Tombstones::default();
        ts.add(&k, ValueType::F64, t(10, 20, 3));
        ts.add(&k, ValueType::F64, t(12, 15, 2));
        assert_eq!((ts.len(), ts.changes()), (1, 1));
        ts.add(&k, ValueType::F64, t(0, 30, 5));
        assert_eq!((ts.len(), ts.changes()), (1, 2));
        ts.add(&k, ValueType::F64, t(40, 40, 9));
        assert_eq!((ts.len(), ts.max_segment_seq()), (1, 5));
    }

    #[test]
    fn hidden_ranges_merge_and_answer_containment() {
        let h = HiddenRanges::new([(5, 10), (0, 3), (3, 4), (8, 12), (20, 20)]);
        assert_eq!(h, HiddenRanges(vec![(0, 4), (5, 12)]));
        for (ts, hidden) in [
            (-1, false),
            (0, true),
            (3, true),
            (4, false),
            (11, true),
            (12, false),
        ] {
            assert_eq!(h.contains(ts), hidden, "{ts}");
        }
        assert!(h.covers(5, 11));
        assert!(!h.covers(3, 5));
        assert!(!h.covers(-5, 1));
        for (first, last, hit) in [
            (4, 4, false),
            (4, 5, true),
            (-9, 0, true),
            (12, 19, false),
            (11, 30, true),
        ] {
            assert_eq!(h.overlaps(first, last), hit, "{first}..={last}");
        }
        let full = HiddenRanges::new([(i64::MIN, i64::MAX)]);
        assert!(full.contains(i64::MIN) && !full.contains(i64::MAX));
    }
}
