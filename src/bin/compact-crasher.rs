//! Child process of `tests/crash_compaction.rs`: writes the crash workload (see
//! `lodestone_suite::crash`) with fsync-before-ack, and after every batch flushes (which
//! builds rollup buckets) and compacts (paced slowly), saying on stdout what it does: `A n`
//! once batch `n` (and its delete) is acknowledged, `F`/`f` around a flush, `C`/`c` around a
//! compaction. The test SIGKILLs it a random moment into a flush or a compaction.
//!
//! Usage: `compact-crasher DATA_DIR FIRST_BATCH`

use std::io::Write;
use std::process::ExitCode;

use lodestone_suite::crash::{compaction_options, open_child, write_batch};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(first)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: compact-crasher DATA_DIR FIRST_BATCH");
        return ExitCode::from(2);
    };
    let (engine, keys) = match open_child(dir, compaction_options()) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let stdout = std::io::stdout();
    let say = |line: String| {
        let mut out = stdout.lock();
        writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
    };
    for n in first.. {
        if let Err(e) = write_batch(&engine, &keys, n) {
            eprintln!("{e}");
            return ExitCode::from(1);
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
