//! Crash test with real processes: a child writes with fsync-before-ack, deletes some earlier
//! points, and reports each acknowledged batch; the test SIGKILLs it at random moments (60
//! times) and after each kill opens the store and checks that every acknowledged point is
//! there, bit-identical, that no acknowledged delete is undone, and that the metadata set
//! before the first batch is there.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lodestone_engine::{Engine, Options, Point};
use lodestone_suite::crash::{
    deleted_by, metadata, quality_of, series_keys, ts_of, value_at, DELETED_SERIES, POINTS,
};

const KILLS: u32 = 60;

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_point() {
    let dir = tempfile::tempdir().unwrap();
    let keys = series_keys();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next_batch = 0u64;
    let mut total_acked = 0u64;
    for kill in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
            .arg(dir.path())
            .arg(next_batch.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let acked = Arc::new(AtomicU64::new(u64::MAX));
        let stdout = child.stdout.take().unwrap();
        let reader = {
            let acked = acked.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    acked.store(line.trim().parse().unwrap(), Ordering::SeqCst);
                }
            })
        };
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(30 + rng % 250));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        reader.join().unwrap();
        assert!(
            status.code().is_none(),
            "kill {kill}: writer exited by itself: {status}"
        );

        let last = acked.load(Ordering::SeqCst);
        let engine = Engine::open(dir.path(), Options::default())
            .unwrap_or_else(|e| panic!("kill {kill}: store does not open: {e}"));
        if last != u64::MAX {
            total_acked += last + 1 - next_batch;
            verify(&engine, &keys, last, kill);
            next_batch = last + 1;
        }
        // Alternate between leaving the WAL for the next child to replay and a clean close.
        if kill % 2 == 0 {
            drop(engine);
        } else {
            engine.close().unwrap();
        }
    }
    let segments = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .count();
    eprintln!("{KILLS} kills, {total_acked} acknowledged batches checked, {segments} segment files at the end");
    assert!(
        total_acked > KILLS as u64,
        "the writer acknowledged too little to test anything: {total_acked}"
    );
}

/// Every point of batches `0..=last` is present with its exact bits and quality, except the
/// points of series 0 that an acknowledged delete removed, which are absent; the delete after
/// batch `last + 1` may or may not have happened, but wholly. Every point present
/// (acknowledged or not) holds the one value its timestamp may have.
fn verify(engine: &Engine, keys: &[lodestone_engine::SeriesKey], last: u64, kill: u32) {
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
