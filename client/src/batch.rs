//! Building bounded write batches.

use std::collections::HashMap;

use lodestone_proto::v1::{Label, Point, SeriesKey, SeriesPoints, WriteRequest};

/// Groups readings per series into [`WriteRequest`]s of at most `max_points` points, each
/// with the next sequence number. Memory stays bounded: a full batch must be taken with
/// [`BatchBuilder::take`] before more points are accepted.
#[derive(Debug)]
pub struct BatchBuilder {
    max_points: usize,
    next_sequence: u64,
    points: usize,
    /// Hash of a key (label order ignored) → indexes into `series` of keys with that hash.
    index: HashMap<u64, Vec<usize>>,
    series: Vec<SeriesPoints>,
}

/// The batch is full; take it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl BatchBuilder {
    /// A builder whose batches hold at most `max_points` points (at least 1), numbered from
    /// `first_sequence`.
    pub fn new(max_points: usize, first_sequence: u64) -> BatchBuilder {
        BatchBuilder {
            max_points: max_points.max(1),
            next_sequence: first_sequence,
            points: 0,
            index: HashMap::new(),
            series: Vec::new(),
        }
    }

    /// Adds one point of series `name{labels}`; `Err(Full)` when the batch is full.
    pub fn push(&mut self, name: &str, labels: &[(&str, &str)], point: Point) -> Result<(), Full> {
        let key = SeriesKey {
            name: name.to_string(),
            labels: labels
                .iter()
                .map(|(n, v)| Label {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        };
        self.push_key(&key, point)
    }

    /// Adds one point of series `key`; `Err(Full)` when the batch is full. The key is copied
    /// only the first time its series enters the batch, so a steady feed of known series
    /// allocates nothing per point.
    pub fn push_key(&mut self, key: &SeriesKey, point: Point) -> Result<(), Full> {
        if self.is_full() {
            return Err(Full);
        }
        let at = self.slot(key);
        self.series[at].points.push(point);
        self.points += 1;
        Ok(())
    }

    /// Moves points from the front of `points` into the batch until it is full or `points`
    /// is empty; returns how many were taken.
    pub fn push_some(&mut self, key: &SeriesKey, points: &mut Vec<Point>) -> usize {
        let room = self.max_points.saturating_sub(self.points);
        let n = room.min(points.len());
        if n == 0 {
            return 0;
        }
        let at = self.slot(key);
        self.series[at].points.extend(points.drain(..n));
        self.points += n;
        n
    }

    /// The index in `series` of `key`'s entry, created if new.
    fn slot(&mut self, key: &SeriesKey) -> usize {
        let hash = key_hash(key);
        let candidates = self.index.entry(hash).or_default();
        for &i in candidates.iter() {
            if self.series[i]
                .series
                .as_ref()
                .is_some_and(|k| same_key(k, key))
            {
                return i;
            }
        }
        self.series.push(SeriesPoints {
            series: Some(key.clone()),
            points: Vec::new(),
        });
        candidates.push(self.series.len() - 1);
        self.series.len() - 1
    }

    /// Points waiting.
    pub fn len(&self) -> usize {
        self.points
    }

    /// True when no point is waiting.
    pub fn is_empty(&self) -> bool {
        self.points == 0
    }

    /// True when the next push would be refused.
    pub fn is_full(&self) -> bool {
        self.points >= self.max_points
    }

    /// The sequence number the waiting points will get from [`BatchBuilder::take`].
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// The waiting points as one request with the next sequence number; `None` when empty.
    pub fn take(&mut self) -> Option<WriteRequest> {
        if self.is_empty() {
            return None;
        }
        let req = WriteRequest {
            sequence: self.next_sequence,
            series: std::mem::take(&mut self.series),
        };
        self.next_sequence += 1;
        self.points = 0;
        self.index.clear();
        Some(req)
    }
}

/// A hash of `key` that ignores label order (the server sorts labels, so `{a,b}` and `{b,a}`
/// are one series): each label is hashed on its own and the label hashes are added, which
/// needs neither a sort nor an allocation per point. The map it feeds lives for one batch of
/// the caller's own keys, and equal hashes are compared key by key, so a fast
/// non-cryptographic mix (FxHash's) is enough.
fn key_hash(key: &SeriesKey) -> u64 {
    let mut labels = 0u64;
    for l in &key.labels {
        labels = labels.wrapping_add(fx(fx(0, l.name.as_bytes()), l.value.as_bytes()));
    }
    let h = fx(0, key.name.as_bytes());
    (h.rotate_left(5) ^ labels).wrapping_mul(FX_SEED) ^ key.labels.len() as u64
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// FxHash over `bytes`, continuing from `h`, with the length mixed in so that `("ab", "c")`
/// and `("a", "bc")` differ.
fn fx(mut h: u64, bytes: &[u8]) -> u64 {
    let mut add = |word: u64| h = (h.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        add(u64::from_le_bytes(w));
    }
    let mut tail = [0u8; 8];
    let rest = chunks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    add(u64::from_le_bytes(tail));
    add(bytes.len() as u64);
    h
}

/// True when `a` and `b` name the same series, whatever their label order.
fn same_key(a: &SeriesKey, b: &SeriesKey) -> bool {
    if a.name != b.name || a.labels.len() != b.labels.len() {
        return false;
    }
    // A feed names a series the same way every time: the same order is the common case.
    a.labels == b.labels
        || a.labels.iter().all(|l| {
            b.labels
                .iter()
                .any(|m| m.name == l.name && m.value == l.value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodestone_proto::v1::point::Value;

    fn p(ts: i64, v: f64) -> Point {
        Point {
            ts_ns: ts,
            value: Some(Value::F64(v)),
            quality: 0,
        }
    }

    #[test]
    fn points_are_grouped_per_series_whatever_the_label_order() {
        let mut b = BatchBuilder::new(10, 1);
        b.push("t", &[("site", "p1"), ("line", "l1")], p(1, 1.0))
            .unwrap();
        b.push("t", &[("line", "l1"), ("site", "p1")], p(2, 2.0))
            .unwrap();
        b.push("q", &[], p(1, 3.0)).unwrap();
        b.push("t", &[("line", "l1"), ("site", "p2")], p(1, 3.0))
            .unwrap();
        let req = b.take().unwrap();
        assert_eq!(req.sequence, 1);
        assert_eq!(req.series.len(), 3);
        assert_eq!(req.series[0].points.len(), 2);
        assert!(b.take().is_none(), "nothing left after take");
    }

    #[test]
    fn keys_that_only_look_alike_stay_apart() {
        let mut b = BatchBuilder::new(10, 1);
        let keys = [
            SeriesKey::new("t", [("a", "1"), ("b", "2")]),
            SeriesKey::new("t", [("a", "2"), ("b", "1")]),
            SeriesKey::new("t", [("ab", "c")]),
            SeriesKey::new("t", [("a", "bc")]),
            SeriesKey::new("t", [("a", "1")]),
            SeriesKey::new("t1", []),
        ];
        for k in &keys {
            b.push_key(k, p(1, 1.0)).unwrap();
        }
        assert_eq!(b.take().unwrap().series.len(), keys.len());
    }

    #[test]
    fn a_full_batch_refuses_points_until_taken_and_sequences_increase() {
        let mut b = BatchBuilder::new(2, 7);
        b.push("t", &[], p(1, 1.0)).unwrap();
        b.push("t", &[], p(2, 1.0)).unwrap();
        assert_eq!(b.push("t", &[], p(3, 1.0)), Err(Full));
        assert_eq!(b.next_sequence(), 7);
        assert_eq!(b.take().unwrap().sequence, 7);
        b.push("t", &[], p(3, 1.0)).unwrap();
        assert_eq!(b.take().unwrap().sequence, 8);
    }

    #[test]
    fn push_some_takes_only_what_fits() {
        let key = SeriesKey::new("t", [("a", "1")]);
        let mut b = BatchBuilder::new(3, 1);
        let mut pts: Vec<Point> = (0..5).map(|i| p(i, 0.0)).collect();
        assert_eq!(b.push_some(&key, &mut pts), 3);
        assert_eq!(pts.len(), 2);
        assert_eq!(pts[0].ts_ns, 3, "the rest stays in order");
        assert!(b.is_full());
        assert_eq!(b.push_some(&key, &mut pts), 0);
        let req = b.take().unwrap();
        assert_eq!(req.point_count(), 3);
        assert_eq!(req.series.len(), 1);
    }
}
