//! Crash test with real processes: a child writes with fsync-before-ack, deletes some earlier
//! points, and reports each acknowledged batch; the test SIGKILLs it at random moments (60
//! times) and after each kill opens the store and checks that every acknowledged point is
//! there, bit-identical, that no acknowledged delete is undone, and that the metadata set
//! before the first batch is there.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lodestone_engine::{Engine, Options};
use lodestone_suite::crash::{series_keys, verify};

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
