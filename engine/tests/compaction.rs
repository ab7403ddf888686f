//! Compaction through the engine: files of a partition merge into one with the same
//! points, hidden points leave the files, old chunks are compressed cold, and the inputs
//! that a crash kept from being deleted are deleted on the next open.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use lodestone_engine::{Engine, Options, Point, SeriesKey, Value, WriteBatch};

const S: i64 = 1_000_000_000;

fn options(cold_after: Option<Duration>) -> Options {
    Options {
        background_compaction: false,
        cold_after,
        ..Options::default()
    }
}

fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn bytes(dir: &Path) -> u64 {
    segment_files(dir)
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum()
}

/// Three flushes of one hour each of two series, in one day partition.
fn three_flushes(e: &Engine, keys: &[SeriesKey]) {
    for hour in 0..3i64 {
        let mut b = WriteBatch::new();
        for (i, k) in keys.iter().enumerate() {
            for s in 0..3600 {
                let t = hour * 3600 + s;
                b.push(
                    k,
                    Point::new(t * S, Value::F64((t % 100) as f64 * 0.25 + i as f64)),
                );
            }
        }
        e.write(&b).unwrap();
        e.flush().unwrap();
    }
}

#[test]
fn a_partition_merges_into_one_file_without_hidden_points() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [
        SeriesKey::from_name("a").unwrap(),
        SeriesKey::from_name("b").unwrap(),
    ];
    let e = Engine::open(dir.path(), options(None)).unwrap();
    three_flushes(&e, &keys);
    e.delete_range(&keys[0], 0, 2 * 3600 * S).unwrap();
    let before: Vec<Vec<Point>> = keys
        .iter()
        .map(|k| e.read_range(k, i64::MIN, i64::MAX).unwrap())
        .collect();
    let (files, size) = (segment_files(dir.path()).len(), bytes(dir.path()));
    let report = e.compact(0).unwrap();
    // Raw and both tiers' partitions each had three files.
    assert_eq!((report.files_in, report.files_out), (9, 3), "{report:?}");
    assert_eq!(segment_files(dir.path()).len(), files - 6);
    assert!(
        bytes(dir.path()) < size * 3 / 4,
        "hidden points left: {size} -> {}",
        bytes(dir.path())
    );
    for (k, want) in keys.iter().zip(&before) {
        assert_eq!(&e.read_range(k, i64::MIN, i64::MAX).unwrap(), want, "{k}");
    }
    // Nothing left to do.
    assert_eq!(e.compact(0).unwrap().partitions, 0);
    e.close().unwrap();
    let e = Engine::open(dir.path(), options(None)).unwrap();
    for (k, want) in keys.iter().zip(&before) {
        assert_eq!(&e.read_range(k, i64::MIN, i64::MAX).unwrap(), want, "{k}");
    }
}

#[test]
fn old_chunks_are_compressed_cold_and_replaced_inputs_go_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [SeriesKey::from_name("a").unwrap()];
    let e = Engine::open(dir.path(), options(None)).unwrap();
    three_flushes(&e, &keys);
    let want = e.read_range(&keys[0], i64::MIN, i64::MAX).unwrap();
    e.close().unwrap();
    // Keep copies of the inputs, as a crash right after the output's rename would.
    let saved = tempfile::tempdir().unwrap();
    let inputs = segment_files(dir.path());
    for p in &inputs {
        std::fs::copy(p, saved.path().join(p.file_name().unwrap())).unwrap();
    }
    let size = bytes(dir.path());
    // Data from 1970 is older than any cold_after.
    let e = Engine::open(dir.path(), options(Some(Duration::from_secs(86_400)))).unwrap();
    e.compact(0).unwrap();
    assert!(
        bytes(dir.path()) < size,
        "no cold saving: {size} -> {}",
        bytes(dir.path())
    );
    assert_eq!(e.read_range(&keys[0], i64::MIN, i64::MAX).unwrap(), want);
    e.close().unwrap();
    for p in &inputs {
        std::fs::copy(saved.path().join(p.file_name().unwrap()), p).unwrap();
    }
    let e = Engine::open(dir.path(), options(None)).unwrap();
    assert_eq!(
        segment_files(dir.path()).len(),
        3,
        "raw and two tiers, one file each"
    );
    assert_eq!(e.read_range(&keys[0], i64::MIN, i64::MAX).unwrap(), want);
}
