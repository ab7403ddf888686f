//! Windowed aggregates through the engine: across segments and the head, after overwrites
//! and deletes, and the requests it refuses.

#![allow(clippy::unwrap_used)]

use lodestone_engine::query::window::{Aggregate, Fill, QualityFilter, WindowSpec};
use lodestone_engine::{Engine, Error, Options, Point, SeriesKey, Value, WriteBatch};

const S: i64 = 1_000_000_000;

fn write(e: &Engine, k: &SeriesKey, pts: Vec<Point>) {
    let mut b = WriteBatch::new();
    b.add(k.clone(), pts);
    e.write(&b).unwrap();
}

fn spec(aggregate: Aggregate, step: i64) -> WindowSpec {
    WindowSpec {
        start: 0,
        end: 40 * S,
        step,
        aggregate,
        fill: Fill::Null,
        quality: QualityFilter::Good,
    }
}

#[test]
fn windows_span_segments_and_head_and_see_overwrites_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = SeriesKey::new("pressure", [("asset", "a1")]).unwrap();
    // 0..20 s flushed to a segment, 20..30 s in the head; value = seconds.
    write(
        &e,
        &k,
        (0..20)
            .map(|s| Point::new(s * S, Value::F64(s as f64)))
            .collect(),
    );
    e.flush().unwrap();
    write(
        &e,
        &k,
        (20..30)
            .map(|s| Point::new(s * S, Value::F64(s as f64)))
            .collect(),
    );
    // An overwrite of 5 s (in the segment) and a delete of 10..15 s.
    write(&e, &k, vec![Point::new(5 * S, Value::F64(105.0))]);
    e.delete_range(&k, 10 * S, 15 * S).unwrap();

    let sums: Vec<(i64, u64, Option<f64>)> = e
        .aggregate(&k, &spec(Aggregate::Sum, 10 * S))
        .unwrap()
        .iter()
        .map(|w| (w.start / S, w.count, w.value))
        .collect();
    assert_eq!(
        sums,
        vec![
            (0, 10, Some(145.0)), // 0+1+..+9 = 45, with 5 overwritten by 105
            (10, 5, Some(85.0)),  // 15..19
            (20, 10, Some(245.0)),
            (30, 0, None),
        ]
    );
    let maxes = e.aggregate(&k, &spec(Aggregate::Max, 40 * S)).unwrap();
    assert_eq!((maxes[0].count, maxes[0].value), (25, Some(105.0)));
}

#[test]
fn impossible_requests_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = SeriesKey::new("flow", [("asset", "a1")]).unwrap();
    write(&e, &k, vec![Point::new(0, Value::F64(1.0))]);
    let err = e.aggregate(&k, &spec(Aggregate::Mean, 0)).unwrap_err();
    assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
    assert!(err.to_string().contains("step 0"), "{err}");
    let mut too_many = spec(Aggregate::Mean, 1);
    too_many.end = i64::MAX;
    let err = e.aggregate(&k, &too_many).unwrap_err();
    assert!(err.to_string().contains("windows asked for"), "{err}");
    let mut backwards = spec(Aggregate::Mean, S);
    backwards.start = 50 * S;
    assert!(matches!(
        e.aggregate(&k, &backwards).unwrap_err(),
        Error::InvalidRange { .. }
    ));
    let unknown = SeriesKey::new("nothing", [("asset", "a1")]).unwrap();
    assert!(matches!(
        e.aggregate(&unknown, &spec(Aggregate::Mean, S))
            .unwrap_err(),
        Error::UnknownSeries { .. }
    ));
}
