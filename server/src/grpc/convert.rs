//! Conversion between `lodestone.v1` messages and engine types: the only place where
//! protobuf types meet the engine. Bad input becomes INVALID_ARGUMENT naming the series,
//! point and field.

use lodestone_engine::query::window::{Aggregate, Fill, QualityFilter, Window, WindowSpec};
use lodestone_engine::{
    Matcher, Pattern, Point, Quality, Selector, SeriesInfo, SeriesKey, Stats, Value, ValueType,
    WriteBatch,
};
use lodestone_proto::v1 as pb;
use tonic::Status;

use super::status::to_status;

/// A series key from the wire, validated (labels sorted, names checked).
pub fn key_from_proto(key: Option<&pb::SeriesKey>) -> Result<SeriesKey, Status> {
    let key = key.ok_or_else(|| Status::invalid_argument("series key is missing"))?;
    SeriesKey::new(
        key.name.clone(),
        key.labels.iter().map(|l| (l.name.clone(), l.value.clone())),
    )
    .map_err(|e| Status::invalid_argument(e.to_string()))
}

/// A series key for the wire.
pub fn key_to_proto(key: &SeriesKey) -> pb::SeriesKey {
    pb::SeriesKey {
        name: key.name().to_string(),
        labels: key
            .labels()
            .map(|(n, v)| pb::Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
    }
}

/// A point from the wire; `index` and `key` name it in errors.
pub fn point_from_proto(p: &pb::Point, key: &SeriesKey, index: usize) -> Result<Point, Status> {
    let value = match p.value {
        Some(pb::point::Value::F64(v)) => Value::F64(v),
        Some(pb::point::Value::I64(v)) => Value::I64(v),
        Some(pb::point::Value::Bool(v)) => Value::Bool(v),
        None => {
            return Err(Status::invalid_argument(format!(
                "series {key}: point {index} has no value"
            )));
        }
    };
    Ok(Point::with_quality(p.ts_ns, value, Quality(p.quality)))
}

/// A point for the wire.
pub fn point_to_proto(p: &Point) -> pb::Point {
    let value = match p.value {
        Value::F64(v) => pb::point::Value::F64(v),
        Value::I64(v) => pb::point::Value::I64(v),
        Value::Bool(v) => pb::point::Value::Bool(v),
    };
    pb::Point {
        ts_ns: p.ts,
        value: Some(value),
        quality: p.quality.0,
    }
}

/// A value type for the wire.
pub fn value_type_to_proto(vt: ValueType) -> pb::ValueType {
    match vt {
        ValueType::F64 => pb::ValueType::F64,
        ValueType::I64 => pb::ValueType::I64,
        ValueType::Bool => pb::ValueType::Bool,
    }
}

/// A value type from the wire: `None` for UNSPECIFIED; a number this server does not know
/// is INVALID_ARGUMENT.
pub fn value_type_from_proto(code: i32) -> Result<Option<ValueType>, Status> {
    match pb::ValueType::try_from(code) {
        Ok(pb::ValueType::Unspecified) => Ok(None),
        Ok(pb::ValueType::F64) => Ok(Some(ValueType::F64)),
        Ok(pb::ValueType::I64) => Ok(Some(ValueType::I64)),
        Ok(pb::ValueType::Bool) => Ok(Some(ValueType::Bool)),
        Err(_) => Err(Status::invalid_argument(format!(
            "unknown value_type {code}; expected 1 (f64), 2 (i64) or 3 (bool)"
        ))),
    }
}

/// A series listing for the wire.
pub fn series_info_to_proto(s: &SeriesInfo) -> pb::SeriesInfo {
    pb::SeriesInfo {
        series: Some(key_to_proto(&s.key)),
        value_type: value_type_to_proto(s.value_type) as i32,
        latest: s.latest.as_ref().map(point_to_proto),
    }
}

/// Engine statistics for the wire.
pub fn stats_to_proto(s: &Stats) -> pb::StatsResponse {
    pb::StatsResponse {
        series: s.series,
        segments: s.segments,
        segment_bytes: s.segment_bytes,
        wal_bytes: s.wal_bytes,
        head_bytes: s.head_bytes,
        points_written: s.points_written,
        batches_written: s.batches_written,
        wal_fsyncs: s.wal_fsyncs,
        wal_fsync_nanos: s.wal_fsync_nanos,
        flushes: s.flushes,
        frozen_memtables: s.frozen_memtables,
    }
}

/// Largest batch accepted in one request, in points.
pub const MAX_BATCH_POINTS: usize = 1_000_000;

/// A write batch from the wire, checked whole: an empty or oversized batch, a missing or bad
/// series key, or a point without a value rejects all of it.
pub fn batch_from_proto(req: &pb::WriteRequest) -> Result<WriteBatch, Status> {
    if req.series.is_empty() {
        return Err(Status::invalid_argument("batch holds no series"));
    }
    let total: usize = req.series.iter().map(|s| s.points.len()).sum();
    if total > MAX_BATCH_POINTS {
        return Err(Status::invalid_argument(format!(
            "batch holds {total} points, at most {MAX_BATCH_POINTS} allowed; split it"
        )));
    }
    let mut batch = WriteBatch::new();
    for s in &req.series {
        let key = key_from_proto(s.series.as_ref())?;
        let points = s
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| point_from_proto(p, &key, i))
            .collect::<Result<Vec<_>, _>>()?;
        batch.add(key, points);
    }
    Ok(batch)
}

/// The wire form of a batch (what a cluster node replicates for a line-protocol body).
pub fn batch_to_proto(batch: &WriteBatch) -> pb::WriteRequest {
    pb::WriteRequest {
        sequence: 0,
        series: batch
            .entries()
            .iter()
            .map(|(key, points)| pb::SeriesPoints {
                series: Some(key_to_proto(key)),
                points: points.iter().map(point_to_proto).collect(),
            })
            .collect(),
    }
}

/// Which series an aggregate reads.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Exactly this series.
    Key(SeriesKey),
    /// Every series it matches.
    Selector(Selector),
}

/// Most label matchers one selector may have: as many labels as a series may have. Each
/// pattern may compile to a megabyte, so the count is bounded for input from the network.
pub const MAX_MATCHERS: usize = lodestone_engine::series::MAX_LABELS;

/// The series an aggregate request selects. A missing selection, a bad key, too many
/// matchers or an unknown match operator is INVALID_ARGUMENT; so is a pattern that does not
/// compile, with the engine's message naming it.
pub fn selection_from_proto(
    selection: Option<&pb::aggregate_request::Selection>,
) -> Result<Selection, Status> {
    use pb::aggregate_request::Selection as Wire;
    match selection {
        None => Err(Status::invalid_argument(
            "selection is missing: give a series or a selector",
        )),
        Some(Wire::Series(key)) => Ok(Selection::Key(key_from_proto(Some(key))?)),
        Some(Wire::Selector(sel)) => Ok(Selection::Selector(selector_from_proto(sel)?)),
    }
}

/// A selector from the wire; an absent name matcher matches every name.
pub fn selector_from_proto(sel: &pb::SeriesSelector) -> Result<Selector, Status> {
    if sel.labels.len() > MAX_MATCHERS {
        return Err(Status::invalid_argument(format!(
            "selector has {} label matchers, at most {MAX_MATCHERS} allowed",
            sel.labels.len()
        )));
    }
    let name = match &sel.name {
        Some(m) => matcher_from_proto(m, "name")?,
        None => Matcher::Matches(Pattern::new(".*").map_err(to_status)?),
    };
    let labels = sel
        .labels
        .iter()
        .map(|m| Ok((m.label.clone(), matcher_from_proto(m, &m.label)?)))
        .collect::<Result<_, Status>>()?;
    Ok(Selector { name, labels })
}

/// A selector for the wire. Patterns travel as their text ([`Pattern::as_str`]), which the
/// server compiles as a regular expression: a pattern made by `Pattern::glob` keeps its glob
/// as text, so it must not be given here (`series_text` makes globs into regexes).
pub fn selector_to_proto(sel: &Selector) -> pb::SeriesSelector {
    let matcher = |label: &str, m: &Matcher| match m {
        Matcher::Equal(v) => pb::LabelMatcher::equal(label, v),
        Matcher::NotEqual(v) => pb::LabelMatcher::not_equal(label, v),
        Matcher::Matches(p) => pb::LabelMatcher::matches(label, p.as_str()),
        Matcher::NotMatches(p) => pb::LabelMatcher::not_matches(label, p.as_str()),
    };
    pb::SeriesSelector {
        name: Some(matcher("", &sel.name)),
        labels: sel.labels.iter().map(|(l, m)| matcher(l, m)).collect(),
    }
}

/// One matcher; `what` (the label, or `name`) names it in errors.
fn matcher_from_proto(m: &pb::LabelMatcher, what: &str) -> Result<Matcher, Status> {
    let pattern = || Pattern::new(&m.value).map_err(to_status);
    Ok(match pb::MatchOp::try_from(m.op) {
        Ok(pb::MatchOp::Equal) => Matcher::Equal(m.value.clone()),
        Ok(pb::MatchOp::NotEqual) => Matcher::NotEqual(m.value.clone()),
        Ok(pb::MatchOp::Matches) => Matcher::Matches(pattern()?),
        Ok(pb::MatchOp::NotMatches) => Matcher::NotMatches(pattern()?),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "matcher of {what:?}: unknown op {}; expected 0 (equal), 1 (not equal), 2 \
                 (matches) or 3 (not matches)",
                m.op
            )))
        }
    })
}

/// The window request of an aggregate. A missing or unknown aggregate, fill or quality is
/// INVALID_ARGUMENT; the range and step are checked by the engine.
pub fn window_spec_from_proto(req: &pb::AggregateRequest) -> Result<WindowSpec, Status> {
    use pb::AggregateFunction as F;
    let aggregate = match F::try_from(req.aggregate) {
        Ok(F::Count) => Aggregate::Count,
        Ok(F::Sum) => Aggregate::Sum,
        Ok(F::Min) => Aggregate::Min,
        Ok(F::Max) => Aggregate::Max,
        Ok(F::Mean) => Aggregate::Mean,
        Ok(F::First) => Aggregate::First,
        Ok(F::Last) => Aggregate::Last,
        Ok(F::Stddev) => Aggregate::Stddev,
        Ok(F::TimeWeighted) => Aggregate::TimeWeighted,
        Ok(F::InterpolatePrevious) => Aggregate::InterpolatePrevious,
        Ok(F::InterpolateLinear) => Aggregate::InterpolateLinear,
        Ok(F::Unspecified) => return Err(Status::invalid_argument("aggregate is missing")),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "unknown aggregate {}; expected 1 to 11",
                req.aggregate
            )))
        }
    };
    let fill = match pb::Fill::try_from(req.fill) {
        Ok(pb::Fill::Unspecified | pb::Fill::None) => Fill::None,
        Ok(pb::Fill::Null) => Fill::Null,
        Ok(pb::Fill::Previous) => Fill::Previous,
        Ok(pb::Fill::Linear) => Fill::Linear,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "unknown fill {}; expected 0 to 4",
                req.fill
            )))
        }
    };
    let quality = match pb::QualityFilter::try_from(req.quality) {
        Ok(pb::QualityFilter::Unspecified | pb::QualityFilter::Good) => QualityFilter::Good,
        Ok(pb::QualityFilter::GoodOrUncertain) => QualityFilter::GoodOrUncertain,
        Ok(pb::QualityFilter::All) => QualityFilter::All,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "unknown quality {}; expected 0 to 3",
                req.quality
            )))
        }
    };
    Ok(WindowSpec {
        start: req.start_ns,
        end: req.end_ns,
        step: req.step_ns,
        aggregate,
        fill,
        quality,
    })
}

/// A window for the wire.
pub fn window_to_proto(w: &Window) -> pb::Window {
    pb::Window {
        start_ns: w.start,
        count: w.count,
        value: w.value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_cross_both_ways_bit_exact() {
        let key = SeriesKey::from_name("t").unwrap();
        let points = [
            Point::with_quality(
                -1,
                Value::F64(f64::from_bits(0x7ff4_0000_0000_0001)),
                Quality(0x8000_0000),
            ),
            Point::new(0, Value::F64(-0.0)),
            Point::new(i64::MAX, Value::I64(i64::MIN)),
            Point::with_quality(i64::MIN, Value::Bool(true), Quality(0x4000_0000)),
        ];
        for (i, p) in points.iter().enumerate() {
            let back = point_from_proto(&point_to_proto(p), &key, i).unwrap();
            assert_eq!(back, *p);
            assert_eq!(back.value.to_bits(), p.value.to_bits());
        }
    }

    #[test]
    fn a_batch_is_refused_whole_naming_the_series_and_point() {
        let good = pb::Point::new(1, 1.0);
        let bad = pb::Point {
            ts_ns: 2,
            value: None,
            quality: 0,
        };
        let req = pb::WriteRequest::new(1)
            .add(pb::SeriesKey::new("a", []), vec![good])
            .add(pb::SeriesKey::new("b", [("site", "p1")]), vec![good, bad]);
        let e = batch_from_proto(&req).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert_eq!(e.message(), r#"series b{site="p1"}: point 1 has no value"#);
    }

    #[test]
    fn value_types_cross_both_ways_and_unknown_numbers_are_refused() {
        for vt in [ValueType::F64, ValueType::I64, ValueType::Bool] {
            let wire = value_type_to_proto(vt) as i32;
            assert_eq!(value_type_from_proto(wire).unwrap(), Some(vt));
        }
        assert_eq!(value_type_from_proto(0).unwrap(), None);
        let e = value_type_from_proto(9).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("unknown value_type 9"), "{e:?}");
    }

    #[test]
    fn labels_arrive_in_any_order_and_leave_sorted() {
        let wire = pb::SeriesKey::new("t", [("z", "1"), ("a", "2")]);
        let key = key_from_proto(Some(&wire)).unwrap();
        let out = key_to_proto(&key);
        let names: Vec<&str> = out.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["a", "z"]);
    }

    #[test]
    fn aggregate_requests_become_window_specs_and_unknown_numbers_are_refused() {
        let key = pb::SeriesKey::new("t", []);
        let req =
            pb::AggregateRequest::of_series(key, 5, 50, 10, pb::AggregateFunction::TimeWeighted)
                .with_fill(pb::Fill::Previous)
                .with_quality(pb::QualityFilter::GoodOrUncertain);
        let spec = window_spec_from_proto(&req).unwrap();
        assert_eq!((spec.start, spec.end, spec.step), (5, 50, 10));
        assert_eq!(spec.aggregate, Aggregate::TimeWeighted);
        assert_eq!(spec.fill, Fill::Previous);
        assert_eq!(spec.quality, QualityFilter::GoodOrUncertain);
        // Unset fill and quality are none and good.
        let plain = pb::AggregateRequest {
            fill: 0,
            quality: 0,
            ..req.clone()
        };
        let spec = window_spec_from_proto(&plain).unwrap();
        assert_eq!((spec.fill, spec.quality), (Fill::None, QualityFilter::Good));
        for (bad, needle) in [
            (
                pb::AggregateRequest {
                    aggregate: 0,
                    ..req.clone()
                },
                "aggregate is missing",
            ),
            (
                pb::AggregateRequest {
                    aggregate: 12,
                    ..req.clone()
                },
                "unknown aggregate 12",
            ),
            (
                pb::AggregateRequest {
                    fill: 5,
                    ..req.clone()
                },
                "unknown fill 5",
            ),
            (
                pb::AggregateRequest {
                    quality: -1,
                    ..req.clone()
                },
                "unknown quality -1",
            ),
        ] {
            let e = window_spec_from_proto(&bad).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
            assert!(e.message().contains(needle), "{e:?}");
        }
    }

    #[test]
    fn selectors_cross_with_their_matchers_and_bad_ones_are_refused() {
        let key = |name: &str, labels: &[(&str, &str)]| {
            SeriesKey::new(name, labels.iter().copied()).unwrap()
        };
        let wire = pb::SeriesSelector::new(
            Some(pb::LabelMatcher::matches("", "temp.*")),
            [
                pb::LabelMatcher::equal("site", "p1"),
                pb::LabelMatcher::not_matches("asset", "a9.*"),
                pb::LabelMatcher::not_equal("line", "l2"),
            ],
        );
        let sel = selector_from_proto(&wire).unwrap();
        assert!(sel.matches(&key("temperature", &[("site", "p1"), ("asset", "a1")])));
        assert!(!sel.matches(&key("temperature", &[("site", "p1"), ("asset", "a91")])));
        assert!(!sel.matches(&key("temperature", &[("site", "p1"), ("line", "l2")])));
        assert!(!sel.matches(&key("pressure", &[("site", "p1")])));
        // No name matcher: any name.
        let any = selector_from_proto(&pb::SeriesSelector::new(None, [])).unwrap();
        assert!(any.matches(&key("x", &[])));

        let bad_regex = pb::SeriesSelector::new(None, [pb::LabelMatcher::matches("asset", "a(b")]);
        let e = selector_from_proto(&bad_regex).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("pattern \"a(b\""), "{e:?}");
        let mut bad_op = pb::LabelMatcher::equal("site", "p1");
        bad_op.op = 7;
        let e = selector_from_proto(&pb::SeriesSelector::new(None, [bad_op])).unwrap_err();
        assert!(
            e.message().contains("matcher of \"site\": unknown op 7"),
            "{e:?}"
        );
        let many = (0..=MAX_MATCHERS).map(|i| pb::LabelMatcher::equal(&format!("l{i}"), ""));
        let e = selector_from_proto(&pb::SeriesSelector::new(None, many)).unwrap_err();
        assert!(e.message().contains("at most 64 allowed"), "{e:?}");
        let e = selection_from_proto(None).unwrap_err();
        assert!(e.message().contains("selection is missing"), "{e:?}");
    }

    #[test]
    fn a_selector_from_text_selects_the_same_series_after_crossing_the_wire() {
        let keys = [
            SeriesKey::new("temperature", [("site", "p1"), ("asset", "a1")]).unwrap(),
            SeriesKey::new("temperature", [("site", "p2"), ("asset", "a1")]).unwrap(),
            SeriesKey::new("temp.x", [("site", "p1"), ("asset", "a2")]).unwrap(),
            SeriesKey::new("tempo", [("asset", "a1")]).unwrap(),
        ];
        for text in [
            r#"temp*{site!="p2"}"#,
            r#"temp.x"#,
            r#"{__name__!~"temp.x", asset=~"a[12]"}"#,
            r#"t?mpo{asset="a1", site=""}"#,
        ] {
            let sel = crate::series_text::parse_selector(text).unwrap();
            let back = selector_from_proto(&selector_to_proto(&sel)).unwrap();
            let picked = |s: &Selector| keys.iter().map(|k| s.matches(k)).collect::<Vec<_>>();
            assert_eq!(picked(&sel), picked(&back), "{text}");
            assert!(picked(&sel).contains(&true), "{text} selects something");
        }
    }
}
