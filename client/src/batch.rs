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
    index: HashMap<SeriesKeyId, usize>,
    series: Vec<SeriesPoints>,
}

/// A series key in a hashable, label-order-independent form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SeriesKeyId(String, Vec<(String, String)>);

impl SeriesKeyId {
    fn of(key: &SeriesKey) -> SeriesKeyId {
        let mut labels: Vec<(String, String)> = key
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        labels.sort();
        SeriesKeyId(key.name.clone(), labels)
    }
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
        if self.is_full() {
            return Err(Full);
        }
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
        let id = SeriesKeyId::of(&key);
        let at = match self.index.get(&id) {
            Some(&i) => i,
            None => {
                self.series.push(SeriesPoints {
                    series: Some(key),
                    points: Vec::new(),
                });
                self.index.insert(id, self.series.len() - 1);
                self.series.len() - 1
            }
        };
        self.series[at].points.push(point);
        self.points += 1;
        Ok(())
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
        let req = b.take().unwrap();
        assert_eq!(req.sequence, 1);
        assert_eq!(req.series.len(), 2);
        assert_eq!(req.series[0].points.len(), 2);
        assert!(b.take().is_none(), "nothing left after take");
    }

    #[test]
    fn a_full_batch_refuses_points_until_taken_and_sequences_increase() {
        let mut b = BatchBuilder::new(2, 7);
        b.push("t", &[], p(1, 1.0)).unwrap();
        b.push("t", &[], p(2, 1.0)).unwrap();
        assert_eq!(b.push("t", &[], p(3, 1.0)), Err(Full));
        assert_eq!(b.take().unwrap().sequence, 7);
        b.push("t", &[], p(3, 1.0)).unwrap();
        assert_eq!(b.take().unwrap().sequence, 8);
    }
}
