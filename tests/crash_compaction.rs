//! Crash test of compaction and rollup building with real processes: a child writes the
//! crash workload, flushing (which builds rollup buckets) and compacting (paced slowly)
//! after every batch, and says when each step starts. The test waits for a compaction or a
//! flush to start and SIGKILLs the child a random moment into it, until 30 kills have
//! landed inside a compaction and 15 inside a flush. After each kill it opens the store and
//! checks that every acknowledged point is there, bit-identical, that no acknowledged
//! delete is undone, and that aggregates answered from rollup tiers and chunk summaries
//! equal the naive reference over the raw points.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;

use lodestone_engine::query::reference::naive;
use lodestone_engine::query::window::{Aggregate, Fill, QualityFilter, WindowSpec};
use lodestone_engine::{AggregatePath, Engine, SeriesKey};
use lodestone_suite::crash::{compaction_options, series_keys, verify, Phase};

const IN_COMPACTION: u32 = 30;
const IN_FLUSH: u32 = 15;
const MAX_KILLS: u32 = 150;

/// What the child said last: its phase and the last acknowledged batch.
#[derive(Debug, Clone, Copy)]
struct Said {
    phase: Phase,
    acked: Option<u64>,
}

#[test]
fn sigkill_during_compaction_and_rollup_building_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = series_keys();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next_batch = 0u64;
    let (mut in_compaction, mut in_flush, mut kills) = (0u32, 0u32, 0u32);
    while in_compaction < IN_COMPACTION || in_flush < IN_FLUSH {
        assert!(
            kills < MAX_KILLS,
            "{kills} kills, only {in_compaction} in compaction and {in_flush} in a flush"
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_compact-crasher"))
            .arg(dir.path())
            .arg(next_batch.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let said = Arc::new(Mutex::new(Said {
            phase: Phase::Writing,
            acked: None,
        }));
        let stdout = child.stdout.take().unwrap();
        let (started, phases) = mpsc::channel();
        let reader = {
            let said = said.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let mut s = said.lock().unwrap();
                    match line.trim() {
                        "F" => s.phase = Phase::Flushing,
                        "C" => s.phase = Phase::Compacting,
                        "f" | "c" => s.phase = Phase::Writing,
                        other => {
                            let n = other.strip_prefix("A ").unwrap().parse().unwrap();
                            s.acked = Some(n);
                        }
                    }
                    let _ = started.send(s.phase);
                }
            })
        };
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Aim at the phase still short of kills: wait for a few of its starts (so the
        // store grows between kills), then a random moment into it.
        let (target, within_ms) =
            if in_compaction < IN_COMPACTION && (kills % 2 == 0 || in_flush >= IN_FLUSH) {
                (Phase::Compacting, 150)
            } else {
                (Phase::Flushing, 6)
            };
        let mut seen = 0;
        while seen < 1 + rng % 3 {
            match phases.recv_timeout(Duration::from_secs(20)) {
                Ok(p) if p == target => seen += 1,
                Ok(_) => {}
                Err(e) => panic!("kill {kills}: the child stopped talking: {e}"),
            }
        }
        std::thread::sleep(Duration::from_micros((rng >> 8) % (within_ms * 1000)));
        // Read the phase just before the kill: the child cannot move on unobserved, since
        // it writes the line before it starts the step.
        let at_kill = *said.lock().unwrap();
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        reader.join().unwrap();
        assert!(
            status.code().is_none(),
            "kill {kills}: child exited by itself: {status}"
        );
        match at_kill.phase {
            Phase::Compacting => in_compaction += 1,
            Phase::Flushing => in_flush += 1,
            Phase::Writing => {}
        }

        let engine = Engine::open(dir.path(), compaction_options())
            .unwrap_or_else(|e| panic!("kill {kills}: store does not open: {e}"));
        // Lines said after the phase was read may name later batches: use the final count.
        if let Some(last) = said.lock().unwrap().acked {
            verify(&engine, &keys, last, kills);
            check_aggregates(&engine, &keys, kills);
            next_batch = last + 1;
        }
        drop(engine);
        kills += 1;
    }
    let files = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .count();
    eprintln!(
        "{kills} kills: {in_compaction} during compaction, {in_flush} during a flush \
         (rollup building), {next_batch} batches acknowledged, {files} segment files at the end"
    );
    assert!(
        next_batch > 20,
        "the child acknowledged too little: {next_batch} batches"
    );
}

/// Count, min and max of every series, and the mean and time-weighted average of the
/// boolean one, over 10 s, 1 min and 5 min windows, answered the fastest way, equal the
/// naive reference over the raw points.
fn check_aggregates(engine: &Engine, keys: &[SeriesKey], kill: u32) {
    for (s, key) in keys.iter().enumerate() {
        let all = engine.read_range(key, i64::MIN, i64::MAX).unwrap();
        let (Some(first), Some(last)) = (all.first(), all.last()) else {
            continue;
        };
        let mut aggs = vec![Aggregate::Count, Aggregate::Min, Aggregate::Max];
        if s == 3 {
            aggs.extend([Aggregate::Mean, Aggregate::TimeWeighted]);
        }
        for step_s in [10, 60, 300] {
            let step = step_s * 1_000_000_000;
            for &aggregate in &aggs {
                let spec = WindowSpec {
                    start: first.ts.div_euclid(step) * step,
                    end: last.ts + 1,
                    step,
                    aggregate,
                    fill: Fill::None,
                    quality: QualityFilter::All,
                };
                let good = WindowSpec {
                    quality: QualityFilter::Good,
                    ..spec
                };
                for spec in [spec, good] {
                    let got = engine
                        .aggregate_by(key, &spec, AggregatePath::Fastest)
                        .unwrap();
                    let want = naive(&all, &spec);
                    assert_eq!(got.len(), want.len(), "kill {kill}: {key} {spec:?}");
                    for (g, w) in got.iter().zip(&want) {
                        assert_eq!((g.start, g.count), (w.start, w.count), "kill {kill}: {key}");
                        let same = match (g.value, w.value) {
                            (Some(a), Some(b)) => {
                                a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
                            }
                            (a, b) => a.is_none() && b.is_none(),
                        };
                        assert!(same, "kill {kill}: {key} {aggregate:?} {g:?} vs {w:?}");
                    }
                }
            }
        }
    }
}
