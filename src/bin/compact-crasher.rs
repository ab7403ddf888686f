//! Child process of `tests/crash_compaction.rs`: writes the crash workload (see
//! `lodestone_suite::crash`) with fsync-before-ack, and after every batch flushes (which
//! builds rollup buckets) and after every fourth compacts (paced slowly), saying on stdout
//! what it does:
//! `A n` once batch `n` (and its delete) is acknowledged, `F`/`f` around a flush, `C`/`c`
//! around a compaction. The test SIGKILLs it at random moments.
//!
//! Usage: `compact-crasher DATA_DIR FIRST_BATCH`

use std::io::Write;
use std::process::ExitCode;

use lodestone_engine::{Engine, ValueType, WriteBatch};
use lodestone_suite::crash::{
    batch_points, compaction_options, deleted_by, deleted_range, metadata, series_keys,
    DELETED_SERIES,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(first)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: compact-crasher DATA_DIR FIRST_BATCH");
        return ExitCode::from(2);
    };
    let engine = match Engine::open(dir, compaction_options()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("open failed: {e}");
            return ExitCode::from(1);
        }
    };
    let keys = series_keys();
    let deleted = &keys[DELETED_SERIES];
    if let Err(e) = engine.declare_series(deleted, ValueType::F64, metadata()) {
        eprintln!("declaring {deleted} failed: {e}");
        return ExitCode::from(1);
    }
    let stdout = std::io::stdout();
    let say = |line: String| {
        let mut out = stdout.lock();
        writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
    };
    for n in first.. {
        let mut batch = WriteBatch::new();
        for (s, key) in keys.iter().enumerate() {
            batch.add(key.clone(), batch_points(s, n));
        }
        if let Err(e) = engine.write(&batch) {
            eprintln!("write of batch {n} failed: {e}");
            return ExitCode::from(1);
        }
        if let Some(m) = deleted_by(n) {
            let (start, end) = deleted_range(m);
            if let Err(e) = engine.delete_range(deleted, start, end) {
                eprintln!("delete after batch {n} failed: {e}");
                return ExitCode::from(1);
            }
        }
        let steps = say(format!("A {n}"))
            && say("F".into())
            && engine
                .flush()
                .map_err(|e| eprintln!("flush failed: {e}"))
                .is_ok()
            && say("f".into())
            && say("C".into())
            && engine
                .compact(0)
                .map_err(|e| eprintln!("compaction failed: {e}"))
                .is_ok()
            && say("c".into());
        if !steps {
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
