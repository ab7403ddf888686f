//! Short ways to build the messages callers build most: series keys, points and write
//! batches. The generated structs stay plain; these only fill their fields.

use crate::v1::{point, Label, Point, SeriesKey, SeriesPoints, WriteRequest};

impl SeriesKey {
    /// A series key from a name and `(label, value)` pairs, in any order (the server sorts
    /// and validates them).
    pub fn new<'a>(name: &str, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> SeriesKey {
        SeriesKey {
            name: name.to_string(),
            labels: labels
                .into_iter()
                .map(|(n, v)| Label {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        }
    }
}

impl Point {
    /// A point of good quality (0).
    pub fn new(ts_ns: i64, value: impl Into<point::Value>) -> Point {
        Point::with_quality(ts_ns, value, 0)
    }

    /// A point with an OPC UA quality code (top two bits: 00 good, 01 uncertain, 10 bad).
    pub fn with_quality(ts_ns: i64, value: impl Into<point::Value>, quality: u32) -> Point {
        Point {
            ts_ns,
            value: Some(value.into()),
            quality,
        }
    }
}

impl From<f64> for point::Value {
    fn from(v: f64) -> Self {
        point::Value::F64(v)
    }
}

impl From<i64> for point::Value {
    fn from(v: i64) -> Self {
        point::Value::I64(v)
    }
}

impl From<bool> for point::Value {
    fn from(v: bool) -> Self {
        point::Value::Bool(v)
    }
}

impl WriteRequest {
    /// An empty batch with sequence number `sequence`; add series with [`WriteRequest::add`].
    pub fn new(sequence: u64) -> WriteRequest {
        WriteRequest {
            sequence,
            series: Vec::new(),
        }
    }

    /// Adds the points of one series; returns the batch, so that calls chain.
    pub fn add(mut self, series: SeriesKey, points: Vec<Point>) -> WriteRequest {
        self.series.push(SeriesPoints {
            series: Some(series),
            points,
        });
        self
    }

    /// Points in the batch, over all series.
    pub fn point_count(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_fill_every_field() {
        let req = WriteRequest::new(3)
            .add(
                SeriesKey::new("t", [("site", "p1")]),
                vec![
                    Point::new(1, 2.5),
                    Point::with_quality(2, 7i64, 0x4000_0000),
                ],
            )
            .add(SeriesKey::new("on", []), vec![Point::new(3, true)]);
        assert_eq!(req.sequence, 3);
        assert_eq!(req.point_count(), 3);
        let first = &req.series[0];
        assert_eq!(first.series.as_ref().map(|k| k.labels.len()), Some(1));
        assert_eq!(first.points[1].value, Some(point::Value::I64(7)));
        assert_eq!(first.points[1].quality, 0x4000_0000);
        assert_eq!(
            req.series[1].points[0].value,
            Some(point::Value::Bool(true))
        );
    }
}
