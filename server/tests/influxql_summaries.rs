//! `GROUP BY time` aggregates answered from the engine's window summaries give exactly what
//! folding the points gives. The fold answers each window on its own (a query of that one
//! window without `GROUP BY time` always folds points); the windowed query must show the
//! same cells for the same windows, and no others. The data has segment chunks that the
//! summaries answer, overwrites and a delete over them, a second segment, points still in
//! the head, bad-quality and NaN readings, float and integer series, and integers too large
//! for an f64 (which fall back to the fold).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use lodestone_engine::{Engine, Options, Point, Quality, SeriesKey, Value, WriteBatch};
use lodestone_server::influxql::aggregate::window_start;
use lodestone_server::influxql::respond;
use serde_json::Value as Json;

const DAY: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

/// Every function Lodestone's InfluxQL computes, in one statement.
const SELECT: &str = "SELECT count(value), sum(value), mean(value), min(value), max(value), \
                      first(value), last(value)";

fn key(name: &str, asset: &str) -> SeriesKey {
    SeriesKey::new(name, [("asset", asset)]).unwrap()
}

/// The value of series `n` at second `i`: floats in quarters (sums stay exact, so the
/// answer does not depend on the order of additions), integers, and integers near 2^62.
fn value(name: &str, n: i64, i: i64) -> Value {
    match name {
        "temp" => Value::F64(((i * 7 + n * 13) % 400) as f64 * 0.25 - 20.0),
        "energy" => Value::I64(i * 3 + n - 5_000),
        _ => Value::I64((1 << 62) + i * 1_000 + n),
    }
}

/// Points of second `from` to `to` (exclusive), one a second; every 97th bad, every 89th
/// float NaN.
fn points(name: &str, n: i64, from: i64, to: i64) -> Vec<Point> {
    (from..to)
        .map(|i| {
            let t = DAY + i * SEC;
            let v = match value(name, n, i) {
                Value::F64(_) if i % 89 == 0 => Value::F64(f64::NAN),
                v => v,
            };
            if i % 97 == 0 {
                Point::with_quality(t, v, Quality::BAD)
            } else {
                Point::new(t, v)
            }
        })
        .collect()
}

const SERIES: [(&str, &str, i64); 6] = [
    ("temp", "a1", 1),
    ("temp", "a2", 2),
    ("temp", "a3", 3),
    ("energy", "a1", 1),
    ("energy", "a2", 2),
    ("big", "a1", 1),
];

fn write_seconds(engine: &Engine, from: i64, to: i64) {
    let mut b = WriteBatch::new();
    for (name, asset, n) in SERIES {
        b.add(key(name, asset), points(name, n, from, to));
    }
    engine.write(&b).unwrap();
}

/// Three hours of data: two flushed at once, then overwrites and a delete over them, half
/// an hour more flushed into a second segment, and the last half hour left in the head.
fn plant() -> (Arc<Engine>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), Options::default()).unwrap();
    write_seconds(&engine, 0, 2 * 3600);
    engine.flush().unwrap();
    let mut b = WriteBatch::new();
    for (name, asset, n) in SERIES {
        let over = (3000..3060)
            .map(|i| Point::new(DAY + i * SEC, value(name, n + 7, i)))
            .collect();
        b.add(key(name, asset), over);
    }
    engine.write(&b).unwrap();
    for name in ["temp", "energy"] {
        engine
            .delete_range(&key(name, "a1"), DAY + 100 * MIN, DAY + 105 * MIN)
            .unwrap();
    }
    write_seconds(&engine, 2 * 3600, 5 * 1800);
    engine.flush().unwrap();
    write_seconds(&engine, 5 * 1800, 6 * 1800);
    (Arc::new(engine), dir)
}

/// `q`'s result series as (tags, rows), insisting on 200 and no statement error.
async fn tables(engine: &Arc<Engine>, q: &str) -> Vec<(String, Vec<Vec<Json>>)> {
    let mut url = String::from("db=x&epoch=ns&q=");
    for b in q.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => url.push(b as char),
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    let resp = respond(engine.clone(), &url, b"").await;
    assert_eq!(resp.status(), StatusCode::OK, "{q}");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let j: Json = serde_json::from_slice(&body).unwrap();
    let result = &j["results"][0];
    assert!(result.get("error").is_none(), "{q}: {result}");
    let Some(series) = result.get("series").and_then(Json::as_array) else {
        return Vec::new();
    };
    series
        .iter()
        .map(|s| {
            let rows = s["values"].as_array().unwrap();
            let rows = rows.iter().map(|r| r.as_array().unwrap().clone()).collect();
            (s["tags"].to_string(), rows)
        })
        .collect()
}

/// Compares the windowed answer for measurement `m` over `[start, end)` in windows of
/// `every` (`"1h"`, `"17m"`, `"1h, 20m"`: `interval` and `offset` ns) with a fold of each
/// window; returns the number of windows compared.
async fn compare(
    engine: &Arc<Engine>,
    m: &str,
    by_asset: bool,
    (start, end): (i64, i64),
    (every, interval, offset): (&str, i64, i64),
) -> usize {
    let tags = if by_asset { " GROUP BY asset" } else { "" };
    let group = if by_asset { ", asset" } else { "" };
    let q = format!(
        "{SELECT} FROM {m} WHERE time >= {start} AND time < {end} \
         GROUP BY time({every}){group} fill(none)"
    );
    // (tags, window start) → the row's cells after the time.
    let mut windowed: BTreeMap<(String, i64), Vec<Json>> = BTreeMap::new();
    for (t, rows) in tables(engine, &q).await {
        for row in rows {
            let at = row[0].as_i64().unwrap();
            windowed.insert((t.clone(), at), row[1..].to_vec());
        }
    }
    let mut compared = 0;
    let mut w = window_start(start, interval, offset);
    while w < end {
        let (a, b) = (w.max(start), (w + interval).min(end));
        let q = format!("{SELECT} FROM {m} WHERE time >= {a} AND time < {b}{tags}");
        for (t, rows) in tables(engine, &q).await {
            assert_eq!(rows.len(), 1, "{q}");
            let got = windowed.get(&(t.clone(), w));
            assert_eq!(got, Some(&rows[0][1..].to_vec()), "{m} {t} window {w}: {q}");
            compared += 1;
        }
        w += interval;
    }
    assert_eq!(
        compared,
        windowed.len(),
        "windows only the windowed query has"
    );
    compared
}

#[tokio::test]
async fn windows_from_summaries_equal_the_fold_of_their_points() {
    let (engine, _dir) = plant();
    let before = {
        let s = engine.stats();
        s.summary_chunks + s.rollup_buckets
    };
    let ranges = [
        (DAY, DAY + 3 * HOUR),
        // Neither end on a window boundary: the first window is cut at the range's start.
        (DAY + 10 * MIN + 7 * SEC, DAY + 3 * HOUR - 3 * SEC),
    ];
    let windows = [
        ("1h", HOUR, 0),
        ("1h, 20m", HOUR, 20 * MIN),
        ("17m", 17 * MIN, 0),
    ];
    let mut compared = 0;
    for m in ["temp", "energy", "big"] {
        for by_asset in [false, true] {
            for range in ranges {
                for every in windows {
                    compared += compare(&engine, m, by_asset, range, every).await;
                }
            }
        }
    }
    // Every window with data was checked: 3 h in 1 h, offset and 17 min windows, over two
    // ranges, for 6 series alone and 3 merged measurements.
    assert!(compared > 300, "only {compared} windows compared");
    let stats = engine.stats();
    let used = stats.summary_chunks + stats.rollup_buckets - before;
    assert!(used > 0, "no chunk summary nor rollup bucket was used");
}

#[tokio::test]
async fn integers_beyond_two_to_the_53_are_summed_exactly_and_wrap_as_the_fold_does() {
    let (engine, _dir) = plant();
    let q = format!(
        "SELECT sum(value), max(value) FROM big WHERE time >= {DAY} AND time < {} \
         GROUP BY time(1h)",
        DAY + HOUR
    );
    let rows = &tables(&engine, &q).await[0].1;
    // Good points of the first hour: every second but each 97th, value 2^62 + 1000 i + 1,
    // except seconds 3000 to 3059, overwritten with good points of value 2^62 + 1000 i + 8.
    let want = (0..3600i64).fold(0i64, |sum, i| match i {
        3000..3060 => sum.wrapping_add((1 << 62) + i * 1_000 + 8),
        _ if i % 97 == 0 => sum,
        _ => sum.wrapping_add((1 << 62) + i * 1_000 + 1),
    });
    assert_eq!(rows[0][1], Json::from(want));
    assert_eq!(rows[0][2], Json::from((1i64 << 62) + 3599 * 1_000 + 1));
}
