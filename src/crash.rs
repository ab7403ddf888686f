//! The deterministic workload of the crash test (`tests/crash.rs`, `src/bin/crash-writer.rs`):
//! which points batch `n` holds, which earlier batch's points of series 0 batch `n` deletes,
//! and the metadata series 0 is declared with, so that the test can recompute what was
//! acknowledged.

use lodestone_engine::{Point, Quality, SeriesKey, SeriesMetadata, Value};

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
