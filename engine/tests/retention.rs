//! Retention with a virtual clock: `apply_retention(now)` and `compact(now)` are driven by a
//! clock the test moves day by day. At every step, partitions past their TTL are gone for
//! every tier and series rule, and nothing younger than its TTL is.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lodestone_engine::query::window::{Aggregate, Fill, QualityFilter, WindowSpec};
use lodestone_engine::{
    AggregatePath, Engine, Matcher, Options, Pattern, Point, RetentionRule, Selector, SeriesKey,
    Value, WriteBatch,
};

const MIN: i64 = 60_000_000_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
const DAYS: i64 = 12;

fn glob(g: &str) -> Selector {
    Selector {
        name: Matcher::Matches(Pattern::glob(g).unwrap()),
        labels: Vec::new(),
    }
}

fn options() -> Options {
    let days = |n: u64| Some(Duration::from_secs(n * 86_400));
    Options {
        partition: Duration::from_secs(86_400),
        tiers: vec![Duration::from_secs(60)],
        retention: vec![
            // Vibration: raw for 2 days, minute buckets for 6.
            RetentionRule {
                series: glob("vib*"),
                raw: days(2),
                tiers: vec![(Duration::from_secs(60), days(6))],
            },
            // Everything else: raw for 5 days, buckets forever.
            RetentionRule {
                series: glob("*"),
                raw: days(5),
                tiers: Vec::new(),
            },
        ],
        background_compaction: false,
        ..Options::default()
    }
}

fn key(name: &str) -> SeriesKey {
    SeriesKey::new(name, [("site", "p1")]).unwrap()
}

/// The raw TTL of each series, as the rules above say.
fn raw_ttl(name: &str) -> i64 {
    if name.starts_with("vib") {
        2 * DAY
    } else {
        5 * DAY
    }
}

#[test]
fn partitions_past_their_ttl_disappear_and_nothing_younger_does() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), options()).unwrap();
    // One point a minute for 12 days, of vibration and temperature (sharing partition
    // files) and of a vibration series that stopped after day 1.
    let names = ["vibration", "temperature", "vib_retired"];
    for day in 0..DAYS {
        let mut b = WriteBatch::new();
        for m in 0..(DAY / MIN) {
            let ts = day * DAY + m * MIN;
            b.push(&key(names[0]), Point::new(ts, Value::F64((m % 7) as f64)));
            b.push(
                &key(names[1]),
                Point::new(ts, Value::F64(20.0 + (m % 5) as f64)),
            );
            if day < 1 {
                b.push(&key(names[2]), Point::new(ts, Value::F64(1.0)));
            }
        }
        e.write(&b).unwrap();
        e.flush().unwrap();
    }
    let raw_count =
        |name: &str, from: i64, to: i64| e.read_range(&key(name), from, to).unwrap().len() as i64;
    for name in names {
        assert!(raw_count(name, 0, DAYS * DAY) > 0);
    }

    // Move the virtual clock from the end of the data through 20 more days.
    let mut dropped_some = false;
    for step in 0..=20 {
        let now = DAYS * DAY + step * DAY / 2;
        let (files, _) = e.apply_retention(now).unwrap();
        e.compact(now).unwrap();
        dropped_some |= files > 0;
        for name in names {
            let ttl = raw_ttl(name);
            let last_day = if name == "vib_retired" { 1 } else { DAYS };
            for day in 0..last_day {
                let (first, last) = (day * DAY, day * DAY + DAY - 1);
                let n = raw_count(name, first, last + 1);
                if last < now - ttl {
                    // The whole partition is past the TTL: gone.
                    assert_eq!(n, 0, "{name} day {day} at step {step}");
                } else {
                    // Some of it is younger than the TTL: all of it is kept.
                    assert_eq!(n, DAY / MIN, "{name} day {day} at step {step}");
                }
            }
        }
        // The newest point is kept as long as its partition is.
        let newest = (
            DAYS * DAY - MIN,
            Value::F64(20.0 + ((DAY / MIN - 1) % 5) as f64),
        );
        let latest = e
            .latest(&key("temperature"))
            .unwrap()
            .map(|p| (p.ts, p.value));
        let last_partition_end = DAYS * DAY - 1;
        let kept = last_partition_end >= now - raw_ttl("temperature");
        assert_eq!(latest, kept.then_some(newest), "at step {step}");
        // Minute buckets of vibration live 6 days, temperature's forever: hourly means
        // over the whole range come from them once raw points are gone.
        for name in ["vibration", "temperature"] {
            let spec = WindowSpec {
                start: 0,
                end: DAYS * DAY,
                step: HOUR,
                aggregate: Aggregate::Count,
                fill: Fill::None,
                quality: QualityFilter::Good,
            };
            let windows = e
                .aggregate_by(&key(name), &spec, AggregatePath::Fastest)
                .unwrap();
            for day in 0..DAYS {
                let (first, last) = (day * DAY, day * DAY + DAY - 1);
                let in_day = windows
                    .iter()
                    .filter(|w| w.start >= first && w.start <= last);
                let counted: u64 = in_day.map(|w| w.count).sum();
                let buckets_kept = name == "temperature" || last >= now - 6 * DAY;
                let raw_kept = last >= now - raw_ttl(name);
                let want = if buckets_kept || raw_kept {
                    (DAY / MIN) as u64
                } else {
                    0
                };
                assert_eq!(counted, want, "{name} day {day} at step {step}");
            }
        }
    }
    assert!(dropped_some, "some files were dropped whole");
    // Twenty days on, every raw point is past its TTL; the latest point of each series went
    // with its data, and the series stay known.
    for name in names {
        assert_eq!(e.latest(&key(name)).unwrap(), None, "{name}");
    }
    e.close().unwrap();
}
