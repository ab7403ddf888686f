//! Short ways to build the messages callers build most: series keys, points, write
//! batches and aggregate requests. The generated structs stay plain; these only fill their
//! fields.

use crate::v1::{
    aggregate_request::Selection, point, AggregateFunction, AggregateRequest, Fill, Label,
    LabelMatcher, MatchOp, Point, QualityFilter, SeriesKey, SeriesPoints, SeriesSelector,
    WriteRequest,
};

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

impl LabelMatcher {
    /// `label` equal to `value`.
    pub fn equal(label: &str, value: &str) -> LabelMatcher {
        LabelMatcher::with_op(label, MatchOp::Equal, value)
    }

    /// `label` not equal to `value`.
    pub fn not_equal(label: &str, value: &str) -> LabelMatcher {
        LabelMatcher::with_op(label, MatchOp::NotEqual, value)
    }

    /// `label` wholly matched by the regular expression `pattern`.
    pub fn matches(label: &str, pattern: &str) -> LabelMatcher {
        LabelMatcher::with_op(label, MatchOp::Matches, pattern)
    }

    /// `label` not wholly matched by the regular expression `pattern`.
    pub fn not_matches(label: &str, pattern: &str) -> LabelMatcher {
        LabelMatcher::with_op(label, MatchOp::NotMatches, pattern)
    }

    fn with_op(label: &str, op: MatchOp, value: &str) -> LabelMatcher {
        LabelMatcher {
            label: label.to_string(),
            op: op as i32,
            value: value.to_string(),
        }
    }
}

impl SeriesSelector {
    /// Series whose name passes `name` (any name when `None`; its `label` is ignored) and
    /// whose labels pass every one of `labels`.
    pub fn new(
        name: Option<LabelMatcher>,
        labels: impl IntoIterator<Item = LabelMatcher>,
    ) -> SeriesSelector {
        SeriesSelector {
            name,
            labels: labels.into_iter().collect(),
        }
    }
}

impl AggregateRequest {
    /// `aggregate` over the windows `[start_ns + i × step_ns, ...)` up to `end_ns` of one
    /// series, windows without a value left out, good-quality points only; change those with
    /// [`AggregateRequest::with_fill`] and [`AggregateRequest::with_quality`].
    pub fn of_series(
        series: SeriesKey,
        start_ns: i64,
        end_ns: i64,
        step_ns: i64,
        aggregate: AggregateFunction,
    ) -> AggregateRequest {
        AggregateRequest::of(
            Selection::Series(series),
            start_ns,
            end_ns,
            step_ns,
            aggregate,
        )
    }

    /// As [`AggregateRequest::of_series`], for every series `selector` matches.
    pub fn of_selector(
        selector: SeriesSelector,
        start_ns: i64,
        end_ns: i64,
        step_ns: i64,
        aggregate: AggregateFunction,
    ) -> AggregateRequest {
        AggregateRequest::of(
            Selection::Selector(selector),
            start_ns,
            end_ns,
            step_ns,
            aggregate,
        )
    }

    fn of(
        selection: Selection,
        start_ns: i64,
        end_ns: i64,
        step_ns: i64,
        aggregate: AggregateFunction,
    ) -> AggregateRequest {
        AggregateRequest {
            selection: Some(selection),
            start_ns,
            end_ns,
            step_ns,
            aggregate: aggregate as i32,
            fill: Fill::None as i32,
            quality: QualityFilter::Good as i32,
            stale_ok: false,
        }
    }

    /// The same request, answerable by a node that is not the leader (see `stale_ok`).
    pub fn stale_ok(mut self) -> AggregateRequest {
        self.stale_ok = true;
        self
    }

    /// The same request with what windows without a value report.
    pub fn with_fill(mut self, fill: Fill) -> AggregateRequest {
        self.fill = fill as i32;
        self
    }

    /// The same request with which points are used.
    pub fn with_quality(mut self, quality: QualityFilter) -> AggregateRequest {
        self.quality = quality as i32;
        self
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

    #[test]
    fn aggregate_requests_fill_every_field() {
        let sel = SeriesSelector::new(
            Some(LabelMatcher::matches("", "temp.*")),
            [
                LabelMatcher::equal("site", "p1"),
                LabelMatcher::not_matches("asset", "a9.*"),
            ],
        );
        let req = AggregateRequest::of_selector(sel, 10, 20, 5, AggregateFunction::Mean)
            .with_fill(Fill::Linear)
            .with_quality(QualityFilter::All);
        assert_eq!((req.start_ns, req.end_ns, req.step_ns), (10, 20, 5));
        assert_eq!(req.aggregate(), AggregateFunction::Mean);
        assert_eq!(req.fill(), Fill::Linear);
        assert_eq!(req.quality(), QualityFilter::All);
        let Some(Selection::Selector(sel)) = req.selection else {
            panic!("selector expected: {:?}", req.selection)
        };
        assert_eq!(
            sel.name.map(|m| (m.op(), m.value)),
            Some((MatchOp::Matches, "temp.*".into()))
        );
        assert_eq!(sel.labels[1].op(), MatchOp::NotMatches);
        assert_eq!(sel.labels[1].label, "asset");
        let one =
            AggregateRequest::of_series(SeriesKey::new("t", []), 0, 1, 1, AggregateFunction::Count);
        assert_eq!(one.fill(), Fill::None);
        assert_eq!(one.quality(), QualityFilter::Good);
        assert!(matches!(one.selection, Some(Selection::Series(k)) if k.name == "t"));
    }
}
