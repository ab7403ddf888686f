//! Opening a store of 1,000 series and 10 M points after a clean close: the time from
//! `Engine::open` to a ready engine (segment indexes read, nothing replayed).
//!
//! The store is built once and cached under `target/bench-data/open-store`.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use lodestone_engine::{Durability, Engine, Options, Point, SeriesKey, Value, WriteBatch};

const SERIES: usize = 1_000;
const POINTS_PER_SERIES: i64 = 10_000;

fn build(dir: &Path) {
    let marker = dir.join("complete");
    if marker.exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    let opts = Options {
        durability: Durability::None,
        ..Options::default()
    };
    let engine = Engine::open(dir, opts).expect("open for build");
    let keys: Vec<SeriesKey> = (0..SERIES)
        .map(|i| {
            SeriesKey::new(
                "temperature",
                [
                    ("site", format!("p{}", i / 100)),
                    ("asset", format!("a{i:04}")),
                ],
            )
            .expect("valid key")
        })
        .collect();
    let start = 1_767_225_600_000_000_000i64;
    // 100 points per series per batch, one second apart, values at 0.1 resolution.
    for block in 0..(POINTS_PER_SERIES / 100) {
        let mut batch = WriteBatch::new();
        for (s, key) in keys.iter().enumerate() {
            let pts = (0..100)
                .map(|i| {
                    let n = block * 100 + i;
                    let v = ((s as i64 * 7 + n / 60) % 400) as f64 / 10.0;
                    Point::new(start + n * 1_000_000_000, Value::F64(v))
                })
                .collect();
            batch.add(key.clone(), pts);
        }
        engine.write(&batch).expect("write");
    }
    engine.close().expect("close");
    std::fs::write(marker, b"").expect("marker");
}

fn open(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/open-store");
    build(&dir);
    let mut g = c.benchmark_group("open");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("1k_series_10M_points", |b| {
        b.iter(|| {
            let engine = Engine::open(&dir, Options::default()).expect("open");
            assert_eq!(engine.stats().series, SERIES as u64);
            engine.close().expect("close");
        })
    });
    g.finish();
}

criterion_group!(benches, open);
criterion_main!(benches);
