//! The engine's user-visible promises, one test each.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lodestone_engine::{
    Durability, Engine, Error, Options, Point, Quality, SeriesKey, Value, ValueType, WriteBatch,
};

fn key(name: &str) -> SeriesKey {
    SeriesKey::new(name, [("site", "p1")]).unwrap()
}

fn batch_of(k: &SeriesKey, pts: &[(i64, Value)]) -> WriteBatch {
    let mut b = WriteBatch::new();
    b.add(
        k.clone(),
        pts.iter().map(|&(t, v)| Point::new(t, v)).collect(),
    );
    b
}

#[test]
fn a_batch_with_one_point_of_the_wrong_type_is_rejected_whole_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let t = key("temperature");
    e.write(&batch_of(&t, &[(1, Value::F64(1.5))])).unwrap();

    let mut bad = WriteBatch::new();
    bad.add(key("new_series"), vec![Point::new(5, Value::I64(3))]);
    bad.add(
        t.clone(),
        vec![Point::new(2, Value::F64(2.5)), Point::new(3, Value::I64(7))],
    );
    let err = e.write(&bad).unwrap_err();
    match &err {
        Error::TypeMismatch {
            series,
            index,
            expected,
            got,
        } => {
            assert!(series.contains("temperature"));
            assert_eq!(
                (*index, *expected, *got),
                (1, ValueType::F64, ValueType::I64)
            );
        }
        other => panic!("expected a type mismatch, got {other}"),
    }
    assert_eq!(
        e.read_range(&t, 0, 100).unwrap(),
        vec![Point::new(1, Value::F64(1.5))]
    );
    assert!(matches!(
        e.read_range(&key("new_series"), 0, 100),
        Err(Error::UnknownSeries { .. })
    ));
    assert_eq!(e.list_series().len(), 1);
}

#[test]
fn empty_batches_and_series_without_points_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert!(matches!(
        e.write(&WriteBatch::new()),
        Err(Error::InvalidBatch { .. })
    ));
    let mut b = WriteBatch::new();
    b.add(key("x"), vec![]);
    let err = e.write(&b).unwrap_err().to_string();
    assert!(err.contains("has no points"), "{err}");
}

#[test]
fn start_after_end_and_unknown_series_are_errors_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let t = key("t");
    e.write(&batch_of(&t, &[(1, Value::Bool(true))])).unwrap();
    let err = e.read_range(&t, 10, 5).unwrap_err().to_string();
    assert!(err.contains("start 10 is after end 5"), "{err}");
    let err = e.read_range(&key("nope"), 0, 5).unwrap_err().to_string();
    assert!(err.contains(r#"nope{site="p1"}"#), "{err}");
}

#[test]
fn last_write_wins_and_late_points_come_back_in_order_across_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        chunk_max_points: 3,
        ..Options::default()
    };
    let e = Engine::open(dir.path(), opts.clone()).unwrap();
    let t = key("p");
    e.write(&batch_of(
        &t,
        &[
            (10, Value::I64(1)),
            (20, Value::I64(2)),
            (30, Value::I64(3)),
        ],
    ))
    .unwrap();
    e.flush().unwrap();
    e.write(&batch_of(
        &t,
        &[
            (20, Value::I64(22)),
            (5, Value::I64(0)),
            (40, Value::I64(4)),
        ],
    ))
    .unwrap();
    e.write(&batch_of(&t, &[(25, Value::I64(25)), (40, Value::I64(44))]))
        .unwrap();
    let want = vec![
        Point::new(5, Value::I64(0)),
        Point::new(10, Value::I64(1)),
        Point::new(20, Value::I64(22)),
        Point::new(25, Value::I64(25)),
        Point::new(30, Value::I64(3)),
        Point::new(40, Value::I64(44)),
    ];
    assert_eq!(e.read_range(&t, i64::MIN, i64::MAX).unwrap(), want);
    assert_eq!(e.latest(&t).unwrap(), Some(Point::new(40, Value::I64(44))));
    e.close().unwrap();
    let e = Engine::open(dir.path(), opts).unwrap();
    assert_eq!(e.read_range(&t, i64::MIN, i64::MAX).unwrap(), want);
    assert_eq!(e.read_range(&t, 20, 30).unwrap(), want[2..4].to_vec());
    assert_eq!(e.latest(&t).unwrap(), Some(Point::new(40, Value::I64(44))));
}

#[test]
fn a_second_open_of_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _e = Engine::open(dir.path(), Options::default()).unwrap();
    let err = Engine::open(dir.path(), Options::default()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
}

#[test]
fn writes_from_many_threads_are_all_acknowledged_and_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let e = Arc::new(Engine::open(dir.path(), Options::default()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                let k = key(&format!("s{t}"));
                for i in 0..50 {
                    e.write(&batch_of(&k, &[(i, Value::F64(i as f64))]))
                        .unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    for t in 0..8 {
        assert_eq!(
            e.read_range(&key(&format!("s{t}")), 0, 100).unwrap().len(),
            50
        );
    }
    let stats = e.stats();
    assert_eq!((stats.batches_written, stats.points_written), (400, 400));
    assert!(
        stats.wal_fsyncs >= 1 && stats.wal_fsyncs <= 400,
        "{stats:?}"
    );
}

#[test]
fn async_writes_are_acknowledged_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("async");
    let b = batch_of(
        &k,
        &[(1, Value::F64(f64::from_bits(0x7ff8_0000_0000_0bad)))],
    );
    // A minimal executor: the ticket's waker is called by the committer thread.
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(e.write_async(&b));
    loop {
        match fut.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => break r.unwrap(),
            std::task::Poll::Pending => std::thread::park_timeout(Duration::from_millis(50)),
        }
    }
    let got = e.read_range(&k, 0, 2).unwrap();
    assert_eq!(got[0].value.to_bits(), 0x7ff8_0000_0000_0bad);
}

#[test]
fn every_durability_mode_keeps_acknowledged_points_across_a_reopen() {
    for mode in [
        Durability::SyncEachBatch,
        Durability::Interval(Duration::from_millis(5)),
        Durability::None,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options {
            durability: mode,
            flush_on_close: false,
            ..Options::default()
        };
        let e = Engine::open(dir.path(), opts.clone()).unwrap();
        let k = key("d");
        for i in 0..20 {
            e.write(&batch_of(&k, &[(i, Value::Bool(i % 2 == 0))]))
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
        drop(e);
        let e = Engine::open(dir.path(), opts).unwrap();
        assert_eq!(e.read_range(&k, 0, 100).unwrap().len(), 20, "{mode:?}");
    }
}

#[test]
fn quality_codes_are_kept_per_point() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("q");
    let pts: Vec<Point> = (0..10)
        .map(|i| {
            Point::with_quality(
                i,
                Value::F64(1.0),
                if i == 4 { Quality::BAD } else { Quality::GOOD },
            )
        })
        .collect();
    let mut b = WriteBatch::new();
    b.add(k.clone(), pts.clone());
    e.write(&b).unwrap();
    e.flush().unwrap();
    assert_eq!(e.read_range(&k, 0, 10).unwrap(), pts);
}

#[test]
fn flush_moves_the_head_to_a_segment_and_truncates_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("f");
    e.write(&batch_of(&k, &[(1, Value::F64(1.0)), (2, Value::F64(2.0))]))
        .unwrap();
    assert!(e.stats().wal_bytes > 32);
    e.flush().unwrap();
    let s = e.stats();
    assert_eq!((s.segments, s.head_bytes, s.wal_bytes), (1, 0, 32), "{s:?}");
    let wal_files = std::fs::read_dir(dir.path().join("wal")).unwrap().count();
    assert_eq!(wal_files, 1, "older WAL files are deleted after a flush");
    assert_eq!(e.read_range(&k, 0, 10).unwrap().len(), 2);
}
