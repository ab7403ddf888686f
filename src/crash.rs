//! The deterministic workload of the crash test (`tests/crash.rs`, `src/bin/crash-writer.rs`):
//! which points batch `n` holds, which earlier batch's points of series 0 batch `n` deletes,
//! and the metadata series 0 is declared with, so that the test can recompute what was
//! acknowledged.

use std::collections::HashSet;

use lodestone_engine::{Engine, Point, Quality, SeriesKey, SeriesMetadata, Value};

/// Points per series per batch.
pub const POINTS: u64 = 40;

/// The series written: floats (any bit pattern), integers, booleans, and one series whose
/// every point arrives late (timestamps decrease from batch to batch).
pub fn series_keys() -> Vec<SeriesKey> {
    ["f64_a", "f64_b", "i64", "bool", "late"]
        .iter()
        .map(|k| SeriesKey::new("crash", [("series", *k)]).expect("valid key"))
        .collect()
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The one value series `s` may ever hold at `ts`.
pub fn value_at(s: usize, ts: i64) -> Value {
    let h = mix(ts as u64 ^ ((s as u64) << 59));
    match s {
        2 => Value::I64(h as i64),
        3 => Value::Bool(h & 1 == 1),
        _ => Value::F64(f64::from_bits(h)),
    }
}

/// Timestamp of point `i` of batch `n` in series `s`.
pub fn ts_of(s: usize, n: u64, i: u64) -> i64 {
    let base = (n * POINTS + i) as i64 * 1_000_000_000;
    if s == 4 {
        -base
    } else {
        base
    }
}

/// The points of series `s` in batch `n` (in reverse order every third batch, to exercise
/// out-of-order arrival within a batch).
pub fn batch_points(s: usize, n: u64) -> Vec<Point> {
    let mut pts: Vec<Point> = (0..POINTS)
        .map(|i| {
            let ts = ts_of(s, n, i);
            Point::with_quality(ts, value_at(s, ts), quality_of(n))
        })
        .collect();
    if n.is_multiple_of(3) {
        pts.reverse();
    }
    pts
}

/// The quality batch `n` writes.
pub fn quality_of(n: u64) -> Quality {
    Quality((n % 3) as u32 * 0x4000_0000)
}

/// The series whose points are deleted (the first float series).
pub const DELETED_SERIES: usize = 0;
/// Every this many batches, one is followed by a delete.
pub const DELETE_EVERY: u64 = 7;
/// A delete removes the points of the batch this many batches back, which are in a segment
/// or in the WAL by then, depending on when the last flush ran.
pub const DELETE_LAG: u64 = 5;

/// The batch whose points of [`DELETED_SERIES`] are deleted right after batch `n` is written
/// (and before `n` is reported), if any.
pub fn deleted_by(n: u64) -> Option<u64> {
    (n % DELETE_EVERY == DELETE_EVERY - 1 && n >= DELETE_LAG).then(|| n - DELETE_LAG)
}

/// The time range, `[start, end)`, holding exactly the points of [`DELETED_SERIES`] in batch
/// `m`.
pub fn deleted_range(m: u64) -> (i64, i64) {
    (
        ts_of(DELETED_SERIES, m, 0),
        ts_of(DELETED_SERIES, m, POINTS - 1) + 1,
    )
}

/// The metadata [`DELETED_SERIES`] is declared with before the first batch.
pub fn metadata() -> SeriesMetadata {
    SeriesMetadata::new("degC", "crash test: points deleted every few batches")
}

/// Every point of batches `0..=last` is present with its exact bits and quality, except the
/// points of series 0 that an acknowledged delete removed, which are absent; the delete after
/// batch `last + 1` may or may not have happened, but wholly. Every point present
/// (acknowledged or not) holds the one value its timestamp may have.
pub fn verify(engine: &Engine, keys: &[lodestone_engine::SeriesKey], last: u64, kill: u32) {
    assert_eq!(
        engine.metadata(&keys[DELETED_SERIES]).unwrap(),
        Some(metadata()),
        "kill {kill}: metadata of series 0"
    );
    let acked = (last + 1) * POINTS;
    for (s, key) in keys.iter().enumerate() {
        let all = engine.read_range(key, i64::MIN, i64::MAX).unwrap();
        for p in &all {
            assert_eq!(
                p.value,
                value_at(s, p.ts),
                "kill {kill}: series {s} wrong value at {}",
                p.ts
            );
        }
        // The acknowledged timestamps of a series are consecutive; walk them in time order.
        let mut expected: Vec<i64> = (0..acked)
            .map(|k| ts_of(s, k / POINTS, k % POINTS))
            .collect();
        expected.sort_unstable();
        let (lo, hi) = (expected[0], expected[expected.len() - 1]);
        let got: Vec<&Point> = all.iter().filter(|p| p.ts >= lo && p.ts <= hi).collect();
        if s == DELETED_SERIES {
            let gone = deleted_batches(&all, last, kill);
            expected.retain(|&ts| !gone.contains(&batch_of(ts)));
        }
        assert_eq!(
            got.len(),
            expected.len(),
            "kill {kill}: series {s} lost acknowledged points or kept deleted ones (batches 0..={last})"
        );
        for (p, ts) in got.iter().zip(&expected) {
            assert_eq!(p.ts, *ts, "kill {kill}: series {s} lost the point at {ts}");
            let n = batch_of(p.ts);
            assert_eq!(
                p.quality,
                quality_of(n),
                "kill {kill}: quality of batch {n}"
            );
        }
    }
}

/// The batch a timestamp belongs to.
fn batch_of(ts: i64) -> u64 {
    (ts.unsigned_abs() / 1_000_000_000) / POINTS
}

/// The batches whose points of series 0 are deleted: those of every acknowledged delete, and
/// that of the delete after batch `last + 1` if it happened (all its points gone, or none).
fn deleted_batches(all: &[Point], last: u64, kill: u32) -> HashSet<u64> {
    let mut gone: HashSet<u64> = (0..=last).filter_map(deleted_by).collect();
    if let Some(m) = deleted_by(last + 1) {
        let left = all.iter().filter(|p| batch_of(p.ts) == m).count() as u64;
        assert!(
            left == 0 || left == POINTS,
            "kill {kill}: the delete of batch {m} was applied in part: {left} points left"
        );
        if left == 0 {
            gone.insert(m);
        }
    }
    gone
}

/// Options of the compaction crash test (`tests/crash_compaction.rs` and its child
/// `src/bin/compact-crasher.rs`): two-minute partitions and rollup tiers of 10 s and 1 min,
/// so that every few batches fill a partition and touch many buckets, and compaction paced
/// slowly so that a kill often lands inside it. Compaction runs only when the child calls
/// it, so that the child can say when it does.
pub fn compaction_options() -> lodestone_engine::Options {
    use std::time::Duration;
    lodestone_engine::Options {
        durability: lodestone_engine::Durability::SyncEachBatch,
        head_flush_bytes: 64 << 20,
        chunk_max_points: 32,
        partition: Duration::from_secs(120),
        tiers: vec![Duration::from_secs(10), Duration::from_secs(60)],
        compact_files: 2,
        compact_bytes_per_sec: 256 << 10,
        background_compaction: false,
        ..lodestone_engine::Options::default()
    }
}

/// What the compaction crash child was doing, as the lines it prints say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Writing a batch.
    Writing,
    /// Flushing: rollup tier files, then raw segment files.
    Flushing,
    /// Compacting.
    Compacting,
}

/// What each crash child does first: opens the store in `dir` with `opts` and declares
/// series 0 with its metadata. Returns the engine and the workload's series.
pub fn open_child(
    dir: &str,
    opts: lodestone_engine::Options,
) -> Result<(Engine, Vec<SeriesKey>), String> {
    let engine = Engine::open(dir, opts).map_err(|e| format!("open failed: {e}"))?;
    let keys = series_keys();
    let deleted = &keys[DELETED_SERIES];
    engine
        .declare_series(deleted, lodestone_engine::ValueType::F64, metadata())
        .map_err(|e| format!("declaring {deleted} failed: {e}"))?;
    Ok((engine, keys))
}

/// Writes batch `n` of the workload, then the delete that follows it, if any; returns once
/// both are acknowledged.
pub fn write_batch(engine: &Engine, keys: &[SeriesKey], n: u64) -> Result<(), String> {
    let mut batch = lodestone_engine::WriteBatch::new();
    for (s, key) in keys.iter().enumerate() {
        batch.add(key.clone(), batch_points(s, n));
    }
    engine
        .write(&batch)
        .map_err(|e| format!("write of batch {n} failed: {e}"))?;
    if let Some(m) = deleted_by(n) {
        let (start, end) = deleted_range(m);
        engine
            .delete_range(&keys[DELETED_SERIES], start, end)
            .map_err(|e| format!("delete after batch {n} failed: {e}"))?;
    }
    Ok(())
}
