//! Child process of `tests/crash.rs`: declares series 0 with its metadata, then writes
//! deterministic batches with fsync-before-ack, deletes an earlier batch's points of series 0
//! after some of them, and prints the number of each batch once its write (and delete) is
//! acknowledged. The test kills it with SIGKILL at random moments and checks that every
//! acknowledged batch survived and every acknowledged delete stayed deleted.
//!
//! Usage: `crash-writer DATA_DIR FIRST_BATCH`

use std::io::Write;
use std::process::ExitCode;

use lodestone_engine::{Durability, Options};
use lodestone_suite::crash::{open_child, write_batch};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(first)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: crash-writer DATA_DIR FIRST_BATCH");
        return ExitCode::from(2);
    };
    let opts = Options {
        durability: Durability::SyncEachBatch,
        head_flush_bytes: 96 << 10,
        chunk_max_points: 128,
        ..Options::default()
    };
    let (engine, keys) = match open_child(dir, opts) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let stdout = std::io::stdout();
    for n in first.. {
        if let Err(e) = write_batch(&engine, &keys, n) {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
        let mut out = stdout.lock();
        if writeln!(out, "{n}").and_then(|_| out.flush()).is_err() {
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
