//! The cardinality limit: a write or declaration that would add a series past `max_series`
//! is refused whole with an error naming the limit and the series, and changes nothing;
//! known series keep being written, and a store past a lowered limit still opens.

#![allow(clippy::unwrap_used)]

use lodestone_engine::{
    Engine, Error, Options, Point, SeriesKey, SeriesMetadata, Value, ValueType, WriteBatch,
};

fn key(tag: &str) -> SeriesKey {
    SeriesKey::new("reading", [("site", "s01"), ("tag", tag)]).unwrap()
}

fn opts(max_series: usize) -> Options {
    Options {
        max_series,
        ..Options::default()
    }
}

fn batch(points: &[(&str, i64, f64)]) -> WriteBatch {
    let mut b = WriteBatch::new();
    for &(tag, ts, v) in points {
        b.push(&key(tag), Point::new(ts, Value::F64(v)));
    }
    b
}

#[test]
fn series_past_the_limit_are_refused_and_known_ones_stay_writable() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), opts(3)).unwrap();
    engine
        .write(&batch(&[("A", 1, 1.0), ("B", 1, 2.0), ("C", 1, 3.0)]))
        .unwrap();

    // A known series and a new one in one batch: refused whole, naming limit and series.
    let err = engine
        .write(&batch(&[("A", 2, 10.0), ("D", 2, 4.0)]))
        .unwrap_err();
    assert!(
        matches!(err, Error::SeriesLimit { limit: 3, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("max_series is 3"), "{text}");
    assert!(text.contains(r#"tag="D""#), "{text}");
    assert!(
        engine.read_range(&key("D"), 0, 10).is_err(),
        "D must not exist"
    );
    assert_eq!(engine.read_range(&key("A"), 0, 10).unwrap().len(), 1);
    assert_eq!(engine.list_series().len(), 3);

    // Declaring a new series is refused the same way.
    let err = engine
        .declare_series(&key("E"), ValueType::F64, SeriesMetadata::default())
        .unwrap_err();
    assert!(matches!(err, Error::SeriesLimit { .. }), "{err:?}");

    // Every earlier series keeps being written.
    engine
        .write(&batch(&[("A", 3, 5.0), ("B", 3, 6.0), ("C", 3, 7.0)]))
        .unwrap();
    for tag in ["A", "B", "C"] {
        assert_eq!(
            engine.read_range(&key(tag), 0, 10).unwrap().len(),
            2,
            "{tag}"
        );
    }
    engine.close().unwrap();

    // A store holding more series than a lowered limit still opens and is read and written.
    let engine = Engine::open(dir.path(), opts(2)).unwrap();
    assert_eq!(engine.list_series().len(), 3);
    engine.write(&batch(&[("C", 4, 8.0)])).unwrap();
    assert!(matches!(
        engine.write(&batch(&[("F", 4, 8.0)])).unwrap_err(),
        Error::SeriesLimit { limit: 2, .. }
    ));
    engine.close().unwrap();
}

#[test]
fn a_batch_repeating_one_new_series_counts_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), opts(2)).unwrap();
    engine.write(&batch(&[("A", 1, 1.0)])).unwrap();
    let mut b = WriteBatch::new();
    b.add(key("B"), vec![Point::new(1, Value::F64(1.0))]);
    b.add(key("A"), vec![Point::new(2, Value::F64(1.0))]);
    b.add(key("B"), vec![Point::new(2, Value::F64(2.0))]);
    engine.write(&b).unwrap();
    assert_eq!(engine.read_range(&key("B"), 0, 10).unwrap().len(), 2);
    engine.close().unwrap();
}
