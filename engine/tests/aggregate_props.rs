//! Property test of windowed aggregates through the engine: after random writes (late and
//! out of order, overwrites, quality codes, NaN readings), deletes, flushes and reopens,
//! every aggregate and fill mode answered from rollup tiers and chunk summaries, from chunk
//! summaries alone, and from a forced raw scan, equals the naive reference over a plain model of the series (exact for count, min, max, first,
//! last and interpolation; within 1e-9 relative for sums, means, spreads and time-weighted
//! averages).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use lodestone_engine::query::reference::naive;
use lodestone_engine::query::window::{Aggregate, Fill, QualityFilter, Window, WindowSpec};
use lodestone_engine::{
    AggregatePath, Durability, Engine, Options, Point, Quality, SeriesKey, Value, WriteBatch,
};
use proptest::prelude::*;

const AGGS: [Aggregate; 11] = Aggregate::ALL;
const FILLS: [Fill; 4] = [Fill::None, Fill::Null, Fill::Previous, Fill::Linear];
const QUALITIES: [QualityFilter; 3] = [
    QualityFilter::Good,
    QualityFilter::GoodOrUncertain,
    QualityFilter::All,
];

fn key(s: usize) -> SeriesKey {
    SeriesKey::new("flow", [("kind", ["float", "int"][s])]).unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    /// Points of one series: (timestamp, value, quality).
    Write(usize, Vec<(i64, f64, u32)>),
    Flush,
    Delete(usize, i64, i64),
    Reopen,
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    let value = prop_oneof![
        8 => (-1000i64..1000).prop_map(|v| v as f64 / 8.0),
        1 => Just(f64::NAN),
        1 => -1e9f64..1e9,
    ];
    let quality = prop::sample::select(vec![0u32, 0, 0, 0, 0x4000_0000, 0x8034_0000]);
    let point = (0i64..2000, value, quality);
    prop_oneof![
        // A run in time order (the common case), or scattered late points.
        6 => (0usize..2, 0i64..2000, 1i64..9, prop::collection::vec(point.clone(), 1..60))
            .prop_map(|(s, t0, dt, pts)| Op::Write(s, pts.into_iter().enumerate()
                .map(|(i, (_, v, q))| (t0 + i as i64 * dt, v, q)).collect())),
        3 => (0usize..2, prop::collection::vec(point, 1..10)).prop_map(|(s, p)| Op::Write(s, p)),
        2 => Just(Op::Flush),
        1 => (0usize..2, 0i64..2000, 0i64..200).prop_map(|(s, a, l)| Op::Delete(s, a, a + l)),
        1 => Just(Op::Reopen),
        1 => Just(Op::Compact),
    ]
}

fn spec() -> impl Strategy<Value = WindowSpec> {
    (
        -100i64..1500,
        0i64..2500,
        prop_oneof![1i64..20, 20i64..400],
        0..AGGS.len(),
        0..FILLS.len(),
        prop_oneof![3 => Just(0usize), 1 => 1..3usize],
    )
        .prop_map(|(start, len, step, a, f, q)| WindowSpec {
            start,
            end: start + len,
            step,
            aggregate: AGGS[a],
            fill: FILLS[f],
            quality: QUALITIES[q],
        })
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        (None, None) => true,
        _ => false,
    }
}

fn same(got: &[Window], want: &[Window]) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len(), "{:?}\nvs\n{:?}", got, want);
    for (g, w) in got.iter().zip(want) {
        prop_assert_eq!((g.start, g.count), (w.start, w.count));
        prop_assert!(close(g.value, w.value), "{:?} vs {:?}", g, w);
    }
    Ok(())
}

/// Small chunks, partitions and tiers, so that a few hundred points use them all.
fn options() -> Options {
    Options {
        durability: Durability::None,
        chunk_max_points: 6,
        head_flush_bytes: 4_000,
        partition: Duration::from_nanos(700),
        tiers: vec![Duration::from_nanos(10), Duration::from_nanos(40)],
        background_compaction: false,
        ..Options::default()
    }
}

const PATHS: [AggregatePath; 3] = [
    AggregatePath::Fastest,
    AggregatePath::Summaries,
    AggregatePath::Raw,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_path_equals_the_naive_reference(
        ops in prop::collection::vec(op(), 1..30),
        specs in prop::collection::vec(spec(), 8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Engine::open(dir.path(), options()).unwrap();
        let mut model: Vec<BTreeMap<i64, Point>> = vec![BTreeMap::new(); 2];
        for (s, m) in model.iter_mut().enumerate() {
            // Declare both series, so that every query names a known one.
            let mut b = WriteBatch::new();
            let p = Point::new(-10_000, if s == 0 { Value::F64(0.5) } else { Value::I64(1) });
            b.push(&key(s), p);
            e.write(&b).unwrap();
            m.insert(p.ts, p);
        }
        for op in ops {
            match op {
                Op::Write(s, pts) => {
                    let mut b = WriteBatch::new();
                    for (t, v, q) in pts {
                        let value = if s == 0 { Value::F64(v) } else { Value::I64(v as i64) };
                        let p = Point::with_quality(t, value, Quality(q));
                        b.push(&key(s), p);
                        model[s].insert(t, p);
                    }
                    e.write(&b).unwrap();
                }
                Op::Flush => e.flush().unwrap(),
                Op::Delete(s, a, z) => {
                    e.delete_range(&key(s), a, z).unwrap();
                    model[s].retain(|&t, _| t < a || t >= z);
                }
                Op::Compact => {
                    e.compact(0).unwrap();
                }
                Op::Reopen => {
                    e.close().unwrap();
                    e = Engine::open(dir.path(), options()).unwrap();
                }
            }
        }
        for (i, spec) in specs.iter().enumerate() {
            let s = i % 2;
            let all: Vec<Point> = model[s].values().copied().collect();
            let want = naive(&all, spec);
            for path in PATHS {
                same(&e.aggregate_by(&key(s), spec, path).unwrap(), &want)?;
            }
            // Window summaries (what merging several series uses) agree with count, sum,
            // min and max of the windows with points.
            let sums = e.window_summaries(&key(s), spec, AggregatePath::Fastest).unwrap();
            let of = |aggregate| naive(&all, &WindowSpec { aggregate, fill: Fill::None, ..*spec });
            let (counts, totals, mins, maxes) = (of(Aggregate::Count), of(Aggregate::Sum), of(Aggregate::Min), of(Aggregate::Max));
            prop_assert_eq!(sums.len(), counts.len());
            for (i, (start, sum)) in sums.iter().enumerate() {
                prop_assert_eq!((*start, sum.count), (counts[i].start, counts[i].count));
                prop_assert!(close(Some(sum.sum), totals[i].value));
                prop_assert_eq!((Some(sum.min), Some(sum.max)), (mins[i].value, maxes[i].value));
            }
        }
    }
}

/// A flushed series in time order is answered from summaries wherever chunks fit windows,
/// and an overwrite or a delete in one chunk's range makes only that chunk be decoded.
#[test]
fn whole_chunks_are_answered_from_summaries_until_something_overlaps_them() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        chunk_max_points: 10,
        ..Options::default()
    };
    let e = Engine::open(dir.path(), opts).unwrap();
    let k = key(0);
    let mut b = WriteBatch::new();
    for t in 0..1000 {
        b.push(&k, Point::new(t, Value::F64((t % 17) as f64 * 0.25)));
    }
    e.write(&b).unwrap();
    e.flush().unwrap();
    let spec = WindowSpec {
        start: 0,
        end: 1000,
        step: 100,
        aggregate: Aggregate::Mean,
        fill: Fill::None,
        quality: QualityFilter::Good,
    };
    let summarised = |e: &Engine| e.stats().summary_chunks;
    let raw = e.aggregate_by(&k, &spec, AggregatePath::Raw).unwrap();
    assert_eq!(summarised(&e), 0);
    assert_eq!(e.aggregate(&k, &spec).unwrap(), raw);
    // 100 chunks of 10 points, every one inside a window of 100.
    assert_eq!(summarised(&e), 100);

    // An overwrite of t = 55 (in the head) and a delete of 300..302.
    let mut b = WriteBatch::new();
    b.push(&k, Point::new(55, Value::F64(1e6)));
    e.write(&b).unwrap();
    e.delete_range(&k, 300, 302).unwrap();
    let before = summarised(&e);
    let got = e.aggregate(&k, &spec).unwrap();
    assert_eq!(summarised(&e) - before, 98);
    let all = e.read_range(&k, i64::MIN, i64::MAX).unwrap();
    assert_eq!(got, naive(&all, &spec));
    assert!(got[0].value.unwrap() > 1e4, "the overwrite is seen");
    assert_eq!(got[3].count, 98, "the delete is seen");
}

/// Hourly means of ten hours of one-second data come from the hourly tier; a bucket with
/// unflushed points or a later delete comes from raw points until the next flush brings it
/// up to date, and a tier added to a store with data covers only what is flushed after.
#[test]
fn rollup_buckets_answer_whole_windows_and_stay_right() {
    const S: i64 = 1_000_000_000;
    const H: i64 = 3600 * S;
    let dir = tempfile::tempdir().unwrap();
    let opts = |tiers: Vec<Duration>| Options {
        tiers,
        ..Options::default()
    };
    let minute_and_hour = vec![Duration::from_secs(60), Duration::from_secs(3600)];
    let mut e = Engine::open(dir.path(), opts(minute_and_hour.clone())).unwrap();
    let k = key(0);
    let write = |e: &Engine, from: i64, to: i64, value: f64| {
        let mut b = WriteBatch::new();
        for t in from..to {
            b.push(
                &k,
                Point::new(t * S, Value::F64(value + (t % 60) as f64 * 0.5)),
            );
        }
        e.write(&b).unwrap();
    };
    write(&e, 0, 10 * 3600, 20.0);
    e.flush().unwrap();
    let hourly = WindowSpec {
        start: 0,
        end: 10 * H,
        step: H,
        aggregate: Aggregate::Mean,
        fill: Fill::None,
        quality: QualityFilter::Good,
    };
    let used = |e: &Engine, spec: &WindowSpec| {
        let before = e.stats().rollup_buckets;
        let got = e.aggregate(&k, spec).unwrap();
        let raw = e.aggregate_by(&k, spec, AggregatePath::Raw).unwrap();
        assert_eq!(got.len(), raw.len());
        for (g, r) in got.iter().zip(&raw) {
            assert_eq!((g.start, g.count), (r.start, r.count));
            assert!(close(g.value, r.value), "{g:?} vs {r:?}");
        }
        e.stats().rollup_buckets - before
    };
    assert_eq!(used(&e, &hourly), 10);

    // A delete inside hour 3 and a late point in hour 5: both hours come from raw points
    // until the flush recomputes their buckets.
    e.delete_range(&k, 3 * H + 600 * S, 3 * H + 2400 * S)
        .unwrap();
    let mut b = WriteBatch::new();
    b.push(&k, Point::new(5 * H + 7 * S, Value::F64(1e6)));
    e.write(&b).unwrap();
    assert_eq!(used(&e, &hourly), 8);
    e.flush().unwrap();
    assert_eq!(used(&e, &hourly), 10);
    // Windows of two hours starting at 30 min: the hours inside them, raw at the edges.
    let offset = WindowSpec {
        start: H / 2,
        end: 9 * H + H / 2,
        step: 2 * H,
        ..hourly
    };
    assert_eq!(used(&e, &offset), 4);
    // Ten-minute windows use the minute tier: 60 buckets an hour.
    let ten_minutes = WindowSpec {
        step: 600 * S,
        ..hourly
    };
    // (The deleted half hour is 30 empty buckets.)
    assert_eq!(used(&e, &ten_minutes), 600);

    // A tier added now covers only what is flushed from now on.
    e.close().unwrap();
    let mut with_ten = minute_and_hour.clone();
    with_ten.push(Duration::from_secs(600));
    e = Engine::open(dir.path(), opts(with_ten)).unwrap();
    assert_eq!(used(&e, &ten_minutes), 0);
    write(&e, 10 * 3600, 11 * 3600, 30.0);
    e.flush().unwrap();
    let eleventh = WindowSpec {
        start: 10 * H,
        end: 11 * H,
        ..ten_minutes
    };
    assert_eq!(used(&e, &eleventh), 6);
    assert_eq!(used(&e, &hourly), 10);

    // Tiers no longer kept lose their files.
    e.close().unwrap();
    let tier_files = |d: &std::path::Path| std::fs::read_dir(d.join("segments")).unwrap().count();
    let before = tier_files(dir.path());
    e = Engine::open(dir.path(), opts(Vec::new())).unwrap();
    assert!(tier_files(dir.path()) < before);
    assert_eq!(used(&e, &hourly), 0);
    e.close().unwrap();
}
