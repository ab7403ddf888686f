//! Model test: random interleavings of writes, overwrites, out-of-order points, range deletes,
//! flushes, reopens and queries agree with a plain in-memory reference (a sorted map per
//! series, and which series are known).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use lodestone_engine::{Durability, Engine, Options, Point, Quality, SeriesKey, Value, WriteBatch};
use proptest::prelude::*;

const SERIES: usize = 3;

fn key(i: usize) -> SeriesKey {
    SeriesKey::new(format!("s{i}"), [("kind", ["float", "int", "bool"][i])]).unwrap()
}

/// Series 0 holds floats, 1 integers, 2 booleans.
fn value(series: usize, raw: u64) -> Value {
    match series {
        0 => Value::F64(f64::from_bits(raw)),
        1 => Value::I64(raw as i64),
        _ => Value::Bool(raw & 1 == 1),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write(Vec<(usize, i64, u64, u32)>),
    Flush,
    CloseReopen,
    DropReopen,
    Query(usize, i64, i64),
    Delete(usize, i64, i64),
    Compact,
}

fn ts() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => 0i64..200,
        1 => Just(i64::MIN),
        1 => Just(i64::MAX - 1),
        1 => any::<i64>().prop_map(|t| t.min(i64::MAX - 1)),
    ]
}

fn raw_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => (0u64..50).prop_map(|v| (v as f64 * 0.1).to_bits()),
        1 => any::<u64>(),
        1 => prop::sample::select(vec![f64::NAN.to_bits(), 0x7ff0_0000_0000_0001, (-0.0f64).to_bits(), 1]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let point = (
        0..SERIES,
        ts(),
        raw_value(),
        prop::sample::select(vec![0u32, 0, 0, 0x4000_0000, 0x8034_0000]),
    );
    prop_oneof![
        10 => prop::collection::vec(point, 1..20).prop_map(Op::Write),
        1 => Just(Op::Flush),
        1 => Just(Op::CloseReopen),
        1 => Just(Op::DropReopen),
        4 => (0..SERIES, ts(), ts()).prop_map(|(s, a, b)| Op::Query(s, a.min(b), a.max(b))),
        2 => (0..SERIES, ts(), ts()).prop_map(|(s, a, b)| Op::Delete(s, a.min(b), a.max(b))),
        1 => Just(Op::Compact),
    ]
}

fn options() -> Options {
    Options {
        durability: Durability::None,
        chunk_max_points: 5,
        head_flush_bytes: 2_000,
        partition: std::time::Duration::from_nanos(64),
        background_compaction: false,
        ..Options::default()
    }
}

/// Per series: `None` while unknown, else its points. A series stays known once written,
/// even when deletes empty it.
type Model = Vec<Option<BTreeMap<i64, Point>>>;

fn check_all(engine: &Engine, model: &Model) -> Result<(), TestCaseError> {
    for (s, m) in model.iter().enumerate() {
        let Some(m) = m else {
            continue;
        };
        let got = engine.read_range(&key(s), i64::MIN, i64::MAX).unwrap();
        let want: Vec<Point> = m.values().copied().filter(|p| p.ts < i64::MAX).collect();
        prop_assert_eq!(&got, &want, "series {}", s);
        let latest = engine.latest(&key(s)).unwrap();
        prop_assert_eq!(
            latest,
            m.values().next_back().copied(),
            "latest of series {}",
            s
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_reference_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = Some(Engine::open(dir.path(), options()).unwrap());
        let mut model: Model = vec![None; SERIES];
        for op in ops {
            let e = engine.as_ref().unwrap();
            match op {
                Op::Write(points) => {
                    let mut batch = WriteBatch::new();
                    for &(s, t, raw, q) in &points {
                        let p = Point::with_quality(t, value(s, raw), Quality(q));
                        batch.push(&key(s), p);
                        model[s].get_or_insert_with(BTreeMap::new).insert(t, p);
                    }
                    e.write(&batch).unwrap();
                }
                Op::Flush => e.flush().unwrap(),
                Op::CloseReopen => {
                    engine.take().unwrap().close().unwrap();
                    engine = Some(Engine::open(dir.path(), options()).unwrap());
                }
                Op::DropReopen => {
                    drop(engine.take());
                    engine = Some(Engine::open(dir.path(), options()).unwrap());
                }
                Op::Query(s, start, end) => {
                    let Some(m) = &model[s] else {
                        prop_assert!(e.read_range(&key(s), start, end).is_err(), "unknown series must be an error");
                        continue;
                    };
                    let got = e.read_range(&key(s), start, end).unwrap();
                    let want: Vec<Point> = m.range(start..end).map(|(_, p)| *p).collect();
                    prop_assert_eq!(got, want);
                }
                Op::Compact => {
                    e.compact(0).unwrap();
                }
                Op::Delete(s, start, end) => {
                    let Some(m) = &mut model[s] else {
                        prop_assert!(e.delete_range(&key(s), start, end).is_err(), "unknown series must be an error");
                        continue;
                    };
                    e.delete_range(&key(s), start, end).unwrap();
                    m.retain(|&t, _| t < start || t >= end);
                }
            }
        }
        check_all(engine.as_ref().unwrap(), &model)?;
        let listed: Vec<SeriesKey> = engine.as_ref().unwrap().list_series().into_iter().map(|s| s.key).collect();
        let mut want: Vec<SeriesKey> = (0..SERIES).filter(|&s| model[s].is_some()).map(key).collect();
        want.sort();
        prop_assert_eq!(listed, want);
        engine.take().unwrap().close().unwrap();
        let engine = Engine::open(dir.path(), options()).unwrap();
        check_all(&engine, &model)?;
    }
}
