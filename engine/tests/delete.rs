//! Deleting a time range of a series: what a delete removes (points written before it, in its
//! range, wherever they are: head, frozen memtable, segment) and what it keeps (everything
//! else, points written after it included), across flushes, WAL replay and reopens.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lodestone_engine::tombstone::{file as tombstone_file, Tombstone, Tombstones};
use lodestone_engine::{Engine, Error, Options, Point, SeriesKey, Value, ValueType, WriteBatch};

fn key(name: &str) -> SeriesKey {
    SeriesKey::new(name, [("site", "p1")]).unwrap()
}

fn write(e: &Engine, k: &SeriesKey, pts: &[(i64, i64)]) {
    let mut b = WriteBatch::new();
    b.add(
        k.clone(),
        pts.iter()
            .map(|&(t, v)| Point::new(t, Value::I64(v)))
            .collect(),
    );
    e.write(&b).unwrap();
}

fn points(pts: &[(i64, i64)]) -> Vec<Point> {
    pts.iter()
        .map(|&(t, v)| Point::new(t, Value::I64(v)))
        .collect()
}

fn all(e: &Engine, k: &SeriesKey) -> Vec<Point> {
    e.read_range(k, i64::MIN, i64::MAX).unwrap()
}

/// Options that keep the WAL on close, so that reopening replays it.
fn no_flush_on_close() -> Options {
    Options {
        flush_on_close: false,
        ..Options::default()
    }
}

fn ten(v: i64) -> Vec<(i64, i64)> {
    (0..10).map(|t| (t, v)).collect()
}

#[test]
fn a_delete_removes_the_head_points_in_its_range_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("t");
    write(&e, &k, &ten(1));
    e.delete_range(&k, 3, 7).unwrap();
    let want = points(&[(0, 1), (1, 1), (2, 1), (7, 1), (8, 1), (9, 1)]);
    assert_eq!(all(&e, &k), want);
    assert_eq!(e.read_range(&k, 2, 8).unwrap(), want[2..4].to_vec());
    assert_eq!(e.latest(&k).unwrap(), Some(Point::new(9, Value::I64(1))));
    e.close().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(all(&e, &k), want);
}

#[test]
fn a_delete_hides_points_already_in_segments_across_flushes_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        chunk_max_points: 3,
        ..Options::default()
    };
    let e = Engine::open(dir.path(), opts.clone()).unwrap();
    let k = key("t");
    let other = key("other");
    write(&e, &k, &ten(1));
    write(&e, &other, &ten(2));
    e.flush().unwrap();
    write(&e, &k, &[(20, 1)]);
    e.flush().unwrap();
    e.delete_range(&k, 2, 8).unwrap();
    let want = points(&[(0, 1), (1, 1), (8, 1), (9, 1), (20, 1)]);
    assert_eq!(all(&e, &k), want);
    assert_eq!(all(&e, &other), points(&ten(2)), "other series untouched");
    e.flush().unwrap();
    assert_eq!(all(&e, &k), want);
    assert!(dir.path().join("tombstones").exists());
    e.close().unwrap();
    let e = Engine::open(dir.path(), opts).unwrap();
    assert_eq!(all(&e, &k), want);
    assert_eq!(all(&e, &other), points(&ten(2)));
}

#[test]
fn points_written_after_a_delete_in_its_range_survive_it_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("t");
    write(&e, &k, &ten(1));
    e.flush().unwrap();
    write(&e, &k, &[(3, 2)]);
    e.delete_range(&k, 0, 10).unwrap();
    write(&e, &k, &[(5, 3), (6, 3)]);
    let want = points(&[(5, 3), (6, 3)]);
    assert_eq!(all(&e, &k), want);
    e.flush().unwrap();
    assert_eq!(all(&e, &k), want);
    write(&e, &k, &[(7, 4)]);
    e.flush().unwrap();
    let want = points(&[(5, 3), (6, 3), (7, 4)]);
    assert_eq!(all(&e, &k), want);
    e.close().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(all(&e, &k), want);
    assert_eq!(e.latest(&k).unwrap(), Some(Point::new(7, Value::I64(4))));
}

#[test]
fn a_delete_replayed_from_the_wal_applies_in_log_order() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("t");
    {
        let e = Engine::open(dir.path(), no_flush_on_close()).unwrap();
        write(&e, &k, &ten(1));
        e.flush().unwrap(); // in a segment
        write(&e, &k, &[(10, 1), (11, 1)]); // in the WAL only
        e.delete_range(&k, 5, 11).unwrap();
        write(&e, &k, &[(6, 2)]); // after the delete: stays
        drop(e); // no flush: the delete lives in the WAL only
    }
    let want = points(&[(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (6, 2), (11, 1)]);
    let e = Engine::open(dir.path(), no_flush_on_close()).unwrap();
    assert_eq!(all(&e, &k), want);
    assert_eq!(e.latest(&k).unwrap(), Some(Point::new(11, Value::I64(1))));
    // Replayed again on the next open, and then flushed into the tombstone file.
    drop(e);
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(all(&e, &k), want);
    e.flush().unwrap();
    e.close().unwrap();
    let wal_records: u64 = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|f| f.unwrap().metadata().unwrap().len() - 32)
        .sum();
    assert_eq!(wal_records, 0, "the WAL holds nothing after a flush");
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(all(&e, &k), want);
}

#[test]
fn latest_and_the_series_listing_are_recomputed_when_a_delete_covers_the_latest_point() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        chunk_max_points: 4,
        ..Options::default()
    };
    let e = Engine::open(dir.path(), opts.clone()).unwrap();
    let k = key("t");
    write(&e, &k, &ten(1));
    e.flush().unwrap();
    write(&e, &k, &[(12, 2), (15, 2)]);
    // The newest point is in the head; the next one lies inside a segment chunk.
    e.delete_range(&k, 8, 100).unwrap();
    assert_eq!(e.latest(&k).unwrap(), Some(Point::new(7, Value::I64(1))));
    let listed = e.list_series();
    assert_eq!(listed[0].latest, Some(Point::new(7, Value::I64(1))));
    e.close().unwrap();
    let e = Engine::open(dir.path(), opts.clone()).unwrap();
    assert_eq!(e.latest(&k).unwrap(), Some(Point::new(7, Value::I64(1))));
    e.delete_range(&k, i64::MIN, i64::MAX).unwrap();
    assert_eq!(e.latest(&k).unwrap(), None);
    e.close().unwrap();
    let e = Engine::open(dir.path(), opts).unwrap();
    assert_eq!(e.latest(&k).unwrap(), None);
    assert!(all(&e, &k).is_empty());
}

#[test]
fn a_whole_series_delete_keeps_the_series_known_with_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("gone");
    write(&e, &k, &ten(1));
    e.delete_range(&k, i64::MIN, i64::MAX).unwrap();
    // Flushing an emptied head writes no segment for the series and deletes the WAL: only
    // the tombstone file still names it.
    e.flush().unwrap();
    e.close().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let listed = e.list_series();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (&listed[0].key, listed[0].value_type, listed[0].latest),
        (&k, ValueType::I64, None)
    );
    let mut b = WriteBatch::new();
    b.push(&k, Point::new(1, Value::F64(1.0)));
    assert!(matches!(e.write(&b), Err(Error::TypeMismatch { .. })));
    write(&e, &k, &[(3, 3)]);
    assert_eq!(all(&e, &k), points(&[(3, 3)]));
}

#[test]
fn deleting_from_an_unknown_series_or_backwards_is_an_error_that_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("t");
    write(&e, &k, &ten(1));
    let err = e.delete_range(&key("nope"), 0, 10).unwrap_err();
    assert!(matches!(err, Error::UnknownSeries { .. }), "{err}");
    assert!(err.to_string().contains(r#"nope{site="p1"}"#), "{err}");
    let err = e.delete_range(&k, 10, 5).unwrap_err();
    assert!(
        matches!(err, Error::InvalidRange { start: 10, end: 5 }),
        "{err}"
    );
    e.delete_range(&k, 5, 5).unwrap();
    assert_eq!(all(&e, &k), points(&ten(1)));
}

#[test]
fn deletes_racing_background_flushes_hide_exactly_the_points_written_before_them() {
    let dir = tempfile::tempdir().unwrap();
    // A tiny head flush threshold keeps frozen memtables and new segments coming while the
    // deletes are applied.
    let opts = Options {
        head_flush_bytes: 256,
        chunk_max_points: 8,
        ..Options::default()
    };
    let e = Arc::new(Engine::open(dir.path(), opts.clone()).unwrap());
    let k = key("race");
    let done = Arc::new(AtomicBool::new(false));
    let flusher = {
        let (e, done) = (e.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                e.flush().unwrap();
            }
        })
    };
    for t in 0..300i64 {
        write(&e, &k, &[(t, 1), (t + 1000, 1)]);
        e.delete_range(&k, t, t + 1).unwrap();
        // Read at once, while the point may sit in a frozen memtable or a new segment.
        assert_eq!(e.read_range(&k, t, t + 1).unwrap(), vec![], "at {t}");
        if t % 2 == 0 {
            write(&e, &k, &[(t, 2)]);
            assert_eq!(e.read_range(&k, t, t + 1).unwrap(), points(&[(t, 2)]));
        }
    }
    done.store(true, Ordering::Relaxed);
    flusher.join().unwrap();
    let want: Vec<Point> = (0..300)
        .filter(|t| t % 2 == 0)
        .map(|t| Point::new(t, Value::I64(2)))
        .chain((1000..1300).map(|t| Point::new(t, Value::I64(1))))
        .collect();
    assert_eq!(all(&e, &k), want);
    // Many flushes happened (background compaction merges their files meanwhile).
    assert!(e.stats().flushes > 1, "{:?}", e.stats());
    Arc::into_inner(e).unwrap().close().unwrap();
    let e = Engine::open(dir.path(), opts).unwrap();
    assert_eq!(all(&e, &k), want);
}

#[test]
fn a_segment_written_after_a_reopen_is_never_hidden_by_an_older_tombstone() {
    // A tombstone may name a segment number that a crash kept from being written (its
    // memtable was frozen but not flushed). Make one by hand: segment 1 exists, the
    // tombstone names number 5.
    let dir = tempfile::tempdir().unwrap();
    let k = key("t");
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    write(&e, &k, &ten(1));
    e.close().unwrap();
    let mut ts = Tombstones::default();
    ts.add(
        &k,
        ValueType::I64,
        Tombstone {
            start: 0,
            end: 100,
            max_segment_seq: 5,
        },
    );
    tombstone_file::write(dir.path(), &ts).unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert!(all(&e, &k).is_empty());
    write(&e, &k, &[(4, 4)]);
    e.close().unwrap(); // flushes into a new segment, which must be number 6 or later
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(all(&e, &k), points(&[(4, 4)]));
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_damaged_tombstone_file_is_an_error_naming_it_and_a_leftover_tmp_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("t");
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    write(&e, &k, &ten(1));
    e.flush().unwrap();
    e.delete_range(&k, 0, 5).unwrap();
    e.close().unwrap();
    let path = dir.path().join("tombstones");
    std::fs::write(dir.path().join("tombstones.tmp"), b"half a file").unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(all(&e, &k).len(), 5);
    e.close().unwrap();
    assert!(!dir.path().join("tombstones.tmp").exists());

    let len = std::fs::metadata(&path).unwrap().len() as usize;
    for at in [0, 12, 31, 40, len - 1] {
        flip_byte(&path, at);
        let err = Engine::open(dir.path(), Options::default()).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "byte {at}: {err}");
        assert!(err.to_string().contains("tombstones"), "byte {at}: {err}");
        flip_byte(&path, at);
    }
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(all(&e, &k).len(), 5);
}
