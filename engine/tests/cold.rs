//! The cold encoding at flush: chunks older than `cold_after` are compressed with zstd when
//! that pays, read back exactly, and recent chunks are left as they are.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lodestone_engine::{Engine, Options, Point, SeriesKey, Value, WriteBatch};

/// Full-precision values repeating every 16 points, one a second from `start`.
fn patterned(start: i64, n: i64) -> Vec<Point> {
    (0..n)
        .map(|i| {
            let v = 1.0 + ((i % 16) as f64 * 0.618_033_988_749_895).fract() / 3.0;
            Point::new(start + i * 1_000_000_000, Value::F64(v))
        })
        .collect()
}

fn segments_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// Writes `pts`, flushes, reopens, checks the read-back, and returns the segments' size.
fn store(cold_after: Option<Duration>, pts: &[Point]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        cold_after,
        ..Options::default()
    };
    let key = SeriesKey::new("vibration_pattern", [("asset", "a1")]).unwrap();
    let e = Engine::open(dir.path(), opts.clone()).unwrap();
    let mut b = WriteBatch::new();
    b.add(key.clone(), pts.to_vec());
    e.write(&b).unwrap();
    e.flush().unwrap();
    e.close().unwrap();
    let e = Engine::open(dir.path(), opts).unwrap();
    assert_eq!(e.read_range(&key, i64::MIN, i64::MAX).unwrap(), pts);
    let mid = pts[pts.len() / 2].ts;
    assert_eq!(
        e.read_range(&key, mid, mid + 10_000_000_000).unwrap(),
        pts[pts.len() / 2..pts.len() / 2 + 10].to_vec()
    );
    e.close().unwrap();
    segments_size(dir.path())
}

#[test]
fn old_chunks_are_stored_cold_when_it_pays_and_read_back_exactly() {
    let old = patterned(1_600_000_000_000_000_000, 20_000);
    let warm = store(None, &old);
    let cold = store(Some(Duration::from_secs(7 * 86_400)), &old);
    assert!(cold * 3 < warm, "cold {cold} bytes, warm {warm}");
}

#[test]
fn recent_chunks_stay_as_they_are() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let recent = patterned(now - 3_600_000_000_000, 3_000);
    let warm = store(None, &recent);
    let default = store(Options::default().cold_after, &recent);
    assert_eq!(default, warm);
}
