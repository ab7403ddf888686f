//! Property test of the series index: after random writes over a small universe of series
//! keys (a few names, labels some series lack), range and whole-series deletes, flushes,
//! compactions, retention at a moving virtual clock, and closes or drops with a reopen,
//! `Engine::select` of random selectors (every matcher kind; exact, regex and glob names;
//! empty values; labels no series has) equals a scan of `Engine::list_series` through
//! `Selector::matches`, and the model: every key ever written, since a series stays known
//! once written. Walking `Engine::list_series_page` with a small limit gives the same keys.
//!
//! The retention rules here expire raw files but keep the rollup tier, so every series
//! stays named by some file. A series whose every file expires is the subject of the last
//! test.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use lodestone_engine::{
    Durability, Engine, Matcher, Options, Pattern, Point, RetentionRule, Selector, SeriesKey,
    Value, WriteBatch,
};
use proptest::prelude::*;

const NAMES: [&str; 3] = ["flow", "temp", "level"];
const SITES: [&str; 2] = ["p1", "p2"];
const UNITS: [&str; 2] = ["degC", "bar"];
const ASSETS: [&str; 3] = ["a1", "a2", "a10"];
/// Raw partition length, ns: timestamps span a handful of partitions.
const PARTITION: u64 = 1000;
/// Width of the one rollup tier, ns (its files span 1024 buckets, about a raw partition).
const TIER: u64 = 1;

/// A key of the universe: name and, for each label, its value or none.
type KeySpec = (usize, Option<usize>, Option<usize>, Option<usize>);

fn key_of(&(name, site, unit, asset): &KeySpec) -> SeriesKey {
    let mut labels = Vec::new();
    if let Some(s) = site {
        labels.push(("site", SITES[s]));
    }
    if let Some(u) = unit {
        labels.push(("unit", UNITS[u]));
    }
    if let Some(a) = asset {
        labels.push(("asset", ASSETS[a]));
    }
    SeriesKey::new(NAMES[name], labels).unwrap()
}

fn universe() -> impl Strategy<Value = Vec<SeriesKey>> {
    let spec = (
        0..NAMES.len(),
        prop::option::weighted(0.8, 0..SITES.len()),
        prop::option::of(0..UNITS.len()),
        prop::option::weighted(0.6, 0..ASSETS.len()),
    );
    prop::collection::btree_set(spec, 1..10).prop_map(|specs| specs.iter().map(key_of).collect())
}

#[derive(Debug, Clone)]
enum Op {
    /// Points of universe keys (index modulo its size), at the clock plus an offset.
    Write(Vec<(usize, i64)>),
    /// Deletes `[clock + offset, clock + offset + len)` of one key.
    Delete(usize, i64, i64),
    /// Deletes every point of one key.
    DeleteAll(usize),
    Flush,
    Compact,
    /// Moves the clock on, then applies retention and compacts at the new time.
    Retention(i64),
    CloseReopen,
    DropReopen,
}

fn op() -> impl Strategy<Value = Op> {
    let offset = -2500i64..3000;
    prop_oneof![
        8 => prop::collection::vec((0usize..10, offset.clone()), 1..12).prop_map(Op::Write),
        2 => (0usize..10, offset, 0i64..2000).prop_map(|(k, o, l)| Op::Delete(k, o, l)),
        1 => (0usize..10).prop_map(Op::DeleteAll),
        2 => Just(Op::Flush),
        1 => Just(Op::Compact),
        3 => (500i64..6000).prop_map(Op::Retention),
        1 => Just(Op::CloseReopen),
        1 => Just(Op::DropReopen),
    ]
}

fn regex(text: &str) -> Matcher {
    Matcher::Matches(Pattern::new(text).unwrap())
}

fn name_matcher() -> impl Strategy<Value = Matcher> {
    let names = || prop::sample::select(vec!["flow", "temp", "level", "nothing"]);
    let patterns = || prop::sample::select(vec![".*", "t.*|flow", "fl.w", "le", ".+l", "x.*"]);
    let globs = prop::sample::select(vec!["*", "t*", "fl?w", "le*el", "*o*", "l?"]);
    prop_oneof![
        3 => names().prop_map(|n| Matcher::Equal(n.into())),
        1 => names().prop_map(|n| Matcher::NotEqual(n.into())),
        2 => patterns().prop_map(regex),
        1 => patterns().prop_map(|p| Matcher::NotMatches(Pattern::new(p).unwrap())),
        2 => globs.prop_map(|g| Matcher::Matches(Pattern::glob(g).unwrap())),
    ]
}

fn label_matcher() -> impl Strategy<Value = (String, Matcher)> {
    // "ghost": a label no series has.
    const LABELS: [(&str, &[&str]); 4] = [
        ("site", &SITES),
        ("unit", &UNITS),
        ("asset", &ASSETS),
        ("ghost", &["x"]),
    ];
    (0..LABELS.len()).prop_flat_map(|l| {
        let (label, own) = LABELS[l];
        // The label's own values, the empty value (a missing label) and one no series has.
        let mut values = own.to_vec();
        values.extend(["", "", "zz"]);
        let values = move || prop::sample::select(values.clone());
        let patterns = || {
            prop::sample::select(vec![
                "",
                ".*",
                ".+",
                "p.*",
                "a[12]",
                "a1.*",
                "deg.*|bar",
                "p2|",
                "zz",
            ])
        };
        let matcher = prop_oneof![
            3 => values().prop_map(|v| Matcher::Equal(v.into())),
            2 => values().prop_map(|v| Matcher::NotEqual(v.into())),
            2 => patterns().prop_map(regex),
            2 => patterns().prop_map(|p| Matcher::NotMatches(Pattern::new(p).unwrap())),
            1 => Just(Matcher::Matches(Pattern::glob("a*").unwrap())),
        ];
        matcher.prop_map(move |m| (label.to_string(), m))
    })
}

/// A selector and the page size to walk its pages with.
fn selector() -> impl Strategy<Value = (Selector, usize)> {
    (
        name_matcher(),
        prop::collection::vec(label_matcher(), 0..3),
        1usize..5,
    )
        .prop_map(|(name, labels, limit)| (Selector { name, labels }, limit))
}

fn options(retention: Vec<RetentionRule>) -> Options {
    Options {
        durability: Durability::None,
        chunk_max_points: 8,
        head_flush_bytes: 4_000,
        partition: Duration::from_nanos(PARTITION),
        tiers: vec![Duration::from_nanos(TIER)],
        retention,
        background_compaction: false,
        ..Options::default()
    }
}

/// Raw points of site p2 live 2000 ns, of flows 3000 ns, the rest forever; tier buckets
/// are kept forever, so every series written stays in some file.
fn raw_only_rules() -> Vec<RetentionRule> {
    let ns = Duration::from_nanos;
    vec![
        RetentionRule {
            series: Selector {
                name: regex(".*"),
                labels: vec![("site".into(), Matcher::Equal("p2".into()))],
            },
            raw: Some(ns(2000)),
            tiers: Vec::new(),
        },
        RetentionRule {
            series: Selector {
                name: Matcher::Matches(Pattern::glob("flow*").unwrap()),
                labels: Vec::new(),
            },
            raw: Some(ns(3000)),
            tiers: vec![(ns(TIER), None)],
        },
    ]
}

/// Every page of `sel` (every series when `None`) walked `limit` at a time.
fn walk_pages(e: &Engine, sel: Option<&Selector>, limit: usize) -> Vec<SeriesKey> {
    let mut out: Vec<SeriesKey> = Vec::new();
    loop {
        let page = e.list_series_page(sel, out.last(), limit);
        assert!(page.len() <= limit, "a page of {} over {limit}", page.len());
        let n = page.len();
        out.extend(page.into_iter().map(|s| s.key));
        if n < limit {
            return out;
        }
    }
}

/// The index against a scan, the model and the pages, for every selector.
fn check(
    e: &Engine,
    known: &BTreeSet<SeriesKey>,
    selectors: &[(Selector, usize)],
    step: &str,
) -> Result<(), TestCaseError> {
    let listed: Vec<SeriesKey> = e.list_series().into_iter().map(|s| s.key).collect();
    let model: Vec<SeriesKey> = known.iter().cloned().collect();
    prop_assert_eq!(&listed, &model, "known series after {}", step);
    prop_assert_eq!(
        walk_pages(e, None, 3),
        listed.clone(),
        "pages of every series"
    );
    for (sel, limit) in selectors {
        let got = e.select(sel);
        let scan: Vec<SeriesKey> = listed.iter().filter(|k| sel.matches(k)).cloned().collect();
        prop_assert_eq!(&got, &scan, "select vs scan of {:?} after {}", sel, step);
        let want: Vec<SeriesKey> = model.iter().filter(|k| sel.matches(k)).cloned().collect();
        prop_assert_eq!(&got, &want, "select vs model of {:?} after {}", sel, step);
        let paged = walk_pages(e, Some(sel), *limit);
        prop_assert_eq!(
            &paged,
            &got,
            "pages of {} of {:?} after {}",
            limit,
            sel,
            step
        );
    }
    Ok(())
}

/// Runs `ops` over `keys`, checking after every step.
fn run(
    keys: &[SeriesKey],
    ops: Vec<Op>,
    selectors: &[(Selector, usize)],
    rules: fn() -> Vec<RetentionRule>,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let open = || Engine::open(dir.path(), options(rules())).unwrap();
    let mut engine = Some(open());
    let mut known: BTreeSet<SeriesKey> = BTreeSet::new();
    let mut now = 3000i64;
    for (i, op) in ops.into_iter().enumerate() {
        let step = format!("op {i} {op:?} (clock {now})");
        let e = engine.as_ref().unwrap();
        match op {
            Op::Write(points) => {
                let mut batch = WriteBatch::new();
                for (k, offset) in points {
                    let key = &keys[k % keys.len()];
                    let ts = (now + offset).max(0);
                    batch.push(key, Point::new(ts, Value::F64(ts as f64 / 8.0)));
                    known.insert(key.clone());
                }
                e.write(&batch).unwrap();
            }
            Op::Delete(k, offset, len) => {
                let key = &keys[k % keys.len()];
                let start = now + offset;
                let deleted = e.delete_range(key, start, start + len);
                prop_assert_eq!(deleted.is_ok(), known.contains(key), "delete of {}", key);
            }
            Op::DeleteAll(k) => {
                let key = &keys[k % keys.len()];
                let deleted = e.delete_range(key, i64::MIN, i64::MAX);
                prop_assert_eq!(deleted.is_ok(), known.contains(key), "delete of {}", key);
            }
            Op::Flush => e.flush().unwrap(),
            Op::Compact => {
                e.compact(now).unwrap();
            }
            Op::Retention(advance) => {
                now += advance;
                e.apply_retention(now).unwrap();
                e.compact(now).unwrap();
            }
            Op::CloseReopen => {
                engine.take().unwrap().close().unwrap();
                engine = Some(open());
            }
            Op::DropReopen => {
                drop(engine.take());
                engine = Some(open());
            }
        }
        check(engine.as_ref().unwrap(), &known, selectors, &step)?;
    }
    engine.take().unwrap().close().unwrap();
    check(&open(), &known, selectors, "the last reopen")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn select_agrees_with_a_scan_the_model_and_the_pages(
        keys in universe(),
        ops in prop::collection::vec(op(), 1..30),
        selectors in prop::collection::vec(selector(), 8..16),
    ) {
        run(&keys, ops, &selectors, raw_only_rules)?;
    }
}

/// Every tier of flows lives 3000 ns: once retention has passed, no file names them.
fn whole_series_rules() -> Vec<RetentionRule> {
    let ns = Duration::from_nanos;
    vec![RetentionRule {
        series: Selector {
            name: Matcher::Equal("flow".into()),
            labels: Vec::new(),
        },
        raw: Some(ns(3000)),
        tiers: vec![(ns(TIER), Some(ns(3000)))],
    }]
}

/// A series whose every file retention dropped (whole, or rewritten by compaction without
/// it, beside a series kept) stays known while the engine runs, and after a reopen: the
/// catalog is never smaller after a restart than before it.
#[test]
fn series_emptied_by_retention_stay_known_across_reopen() {
    let flow = SeriesKey::new("flow", [("site", "p1")]).unwrap();
    let temp = SeriesKey::new("temp", [("site", "p1")]).unwrap();
    for with_temp in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let opts = || options(whole_series_rules());
        let e = Engine::open(dir.path(), opts()).unwrap();
        let mut batch = WriteBatch::new();
        batch.push(&flow, Point::new(10, Value::F64(1.0)));
        if with_temp {
            batch.push(&temp, Point::new(20, Value::F64(2.0)));
        }
        e.write(&batch).unwrap();
        e.flush().unwrap();
        // Alone, flow's files are dropped whole; beside temp, compaction rewrites them.
        let (dropped, _) = e.apply_retention(10_000).unwrap();
        let rewritten = e.compact(10_000).unwrap().partitions;
        assert!(
            dropped > 0 || rewritten > 0,
            "retention removed flow's data"
        );
        let keys =
            |e: &Engine| -> Vec<SeriesKey> { e.list_series().into_iter().map(|s| s.key).collect() };
        let written: Vec<SeriesKey> = if with_temp {
            vec![flow.clone(), temp.clone()]
        } else {
            vec![flow.clone()]
        };
        assert_eq!(keys(&e), written, "before reopen, with temp: {with_temp}");
        assert_eq!(e.latest(&flow).unwrap(), None);
        e.close().unwrap();
        let e = Engine::open(dir.path(), opts()).unwrap();
        assert_eq!(keys(&e), written, "after reopen, with temp: {with_temp}");
        let by_name = Selector {
            name: Matcher::Equal("flow".into()),
            labels: Vec::new(),
        };
        assert_eq!(e.select(&by_name), vec![flow.clone()]);
        e.close().unwrap();
    }
}
