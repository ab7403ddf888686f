//! Conversion between `lodestone.v1` messages and engine types: the only place where
//! protobuf types meet the engine. Bad input becomes INVALID_ARGUMENT naming the series,
//! point and field.

use lodestone_engine::{
    Point, Quality, SeriesInfo, SeriesKey, Stats, Value, ValueType, WriteBatch,
};
use lodestone_proto::v1 as pb;
use tonic::Status;

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
            .iter()
            .map(|(n, v)| pb::Label {
                name: n.clone(),
                value: v.clone(),
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
}
