//! Checkpoints: a copy of the store that opens as a data folder of its own and holds every
//! point, delete and metadata update acknowledged before it was taken, wherever they were
//! (head, segments, tombstones); the store goes on unchanged, and later writes do not reach
//! the checkpoint.

#![allow(clippy::unwrap_used)]

use lodestone_engine::{Engine, Options, Point, SeriesKey, SeriesMetadata, Value, WriteBatch};

fn key(name: &str) -> SeriesKey {
    SeriesKey::new(name, [("site", "p1")]).unwrap()
}

fn write(e: &Engine, k: &SeriesKey, from: i64, n: i64, v: f64) {
    let mut b = WriteBatch::new();
    b.add(
        k.clone(),
        (from..from + n)
            .map(|t| Point::new(t * 1_000_000_000, Value::F64(v + t as f64)))
            .collect(),
    );
    e.write(&b).unwrap();
}

fn all(e: &Engine, k: &SeriesKey) -> Vec<Point> {
    e.read_range(k, i64::MIN, i64::MAX).unwrap()
}

#[test]
fn a_checkpoint_opens_with_everything_written_before_it_and_nothing_after() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path().join("store"), Options::default()).unwrap();
    let (a, b) = (key("temperature"), key("pressure"));
    write(&e, &a, 0, 5_000, 20.0);
    e.flush().unwrap();
    write(&e, &a, 5_000, 1_000, 30.0);
    write(&e, &b, 0, 300, 1.0);
    e.flush().unwrap();
    // A delete over flushed points, metadata, and points only in the head.
    e.delete_range(&a, 1_000_000_000_000, 2_000_000_000_000)
        .unwrap();
    e.set_metadata(&b, SeriesMetadata::new("bar", "inlet pressure"))
        .unwrap();
    write(&e, &b, 300, 50, 2.0);
    let want_a = all(&e, &a);
    let want_b = all(&e, &b);
    assert_eq!(want_a.len(), 6_000 - 1_000);

    let info = e.checkpoint(&dir.path().join("copy")).unwrap();
    assert!(info.files.iter().any(|(p, _)| p.starts_with("segments")));
    assert!(
        e.checkpoint(&dir.path().join("copy")).is_err(),
        "the folder exists"
    );
    // The store goes on; what it takes now is not in the checkpoint.
    write(&e, &b, 1_000, 10, 9.0);
    e.delete_range(&a, 0, 1_000_000_000).unwrap();

    let copy = Engine::open(&info.dir, Options::default()).unwrap();
    assert_eq!(all(&copy, &a), want_a);
    assert_eq!(all(&copy, &b), want_b);
    assert_eq!(
        copy.metadata(&b).unwrap().unwrap(),
        SeriesMetadata::new("bar", "inlet pressure")
    );
    assert_eq!(copy.latest(&b).unwrap(), want_b.last().copied());
    copy.close().unwrap();
    assert_eq!(all(&e, &b).len(), want_b.len() + 10);
    e.close().unwrap();
}
