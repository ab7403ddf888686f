//! The InfluxDB-compatible `/query` answer, end to end over a real engine: points written
//! through the engine API, statements sent to `influxql::respond` as the HTTP layer would,
//! JSON checked in InfluxDB v1's shape.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::http::StatusCode;
use lodestone_engine::{Engine, Options, Point, SeriesKey, Value, WriteBatch};
use lodestone_server::influxql::respond;
use serde_json::{json, Value as Json};

const DAY: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * SEC;

struct Db {
    engine: Arc<Engine>,
    _dir: tempfile::TempDir,
}

fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    SeriesKey::new(name, labels.iter().copied()).unwrap()
}

fn asset(a: &str) -> SeriesKey {
    key(
        "temperature",
        &[("site", "p1"), ("line", "l04"), ("asset", a)],
    )
}

/// Three temperature assets at 1 point per 10 s for 2 hours (a0001 has a gap in minute 2),
/// an integer counter, a bool state, a float field of another name, and odd floats.
fn plant() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), Options::default()).unwrap();
    let mut b = WriteBatch::new();
    for (n, a) in ["a0001", "a0002", "a0003"].iter().enumerate() {
        let pts = (0..720)
            .map(|i| DAY + i * 10 * SEC)
            .filter(|&t| n != 0 || !(2 * MIN..3 * MIN).contains(&(t - DAY)))
            .map(|t| Point::new(t, Value::F64(20.0 + n as f64 + ((t - DAY) / MIN) as f64)))
            .collect();
        b.add(asset(a), pts);
    }
    b.add(
        key("energy", &[("asset", "a0001")]),
        (0..10)
            .map(|i| Point::new(DAY + i * SEC, Value::I64(1_000 + i)))
            .collect(),
    );
    b.add(
        key("motor", &[("asset", "a0001")]),
        vec![
            Point::new(DAY, Value::Bool(false)),
            Point::new(DAY + SEC, Value::Bool(true)),
        ],
    );
    b.add(
        key("pump.flow", &[("asset", "a0001")]),
        vec![
            Point::new(DAY, Value::F64(3.5)),
            Point::new(DAY + SEC, Value::F64(4.5)),
        ],
    );
    b.add(
        key("pump", &[("asset", "a0001")]),
        vec![
            Point::new(DAY, Value::I64(1)),
            Point::new(DAY + 2 * SEC, Value::I64(0)),
        ],
    );
    b.add(
        key("odd", &[]),
        vec![
            Point::new(DAY, Value::F64(0.1 + 0.2)),
            Point::new(DAY + 1, Value::F64(1e-300)),
            Point::new(DAY + 2, Value::F64(f64::NAN)),
            Point::new(DAY + 3, Value::F64(-0.0)),
        ],
    );
    engine.write(&b).unwrap();
    Db {
        engine: Arc::new(engine),
        _dir: dir,
    }
}

fn url(q: &str, extra: &str) -> String {
    let mut s = String::from("db=bench&");
    s.push_str(extra);
    s.push_str("&q=");
    for b in q.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => s.push(b as char),
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

async fn call(db: &Db, query_string: &str, body: &[u8]) -> (StatusCode, String) {
    let resp = respond(db.engine.clone(), query_string, body).await;
    let status = resp.status();
    assert_eq!(
        resp.headers()["content-type"],
        "application/json",
        "{query_string}"
    );
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Runs `q` with `epoch=ns` and returns the parsed JSON, insisting on 200.
async fn query(db: &Db, q: &str) -> Json {
    let (status, body) = call(db, &url(q, "epoch=ns"), b"").await;
    assert_eq!(status, StatusCode::OK, "{q}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn series(j: &Json) -> &Vec<Json> {
    j["results"][0]["series"].as_array().unwrap()
}

#[tokio::test]
async fn raw_select_of_one_series() {
    let db = plant();
    let q = format!(
        "SELECT value FROM temperature WHERE site='p1' AND line='l04' AND asset='a0003' \
         AND time >= {DAY} AND time < {}",
        DAY + 60 * SEC
    );
    let j = query(&db, &q).await;
    let s = &series(&j)[0];
    assert_eq!(s["name"], "temperature");
    assert!(s.get("tags").is_none());
    assert_eq!(s["columns"], json!(["time", "value"]));
    let values = s["values"].as_array().unwrap();
    assert_eq!(values.len(), 6);
    assert_eq!(values[0], json!([DAY, 22.0]));
    assert_eq!(values[5], json!([DAY + 50 * SEC, 22.0]));
    assert_eq!(j["results"][0]["statement_id"], 0);
}

#[tokio::test]
async fn floats_are_bit_exact_and_non_finite_is_null() {
    let db = plant();
    let (_, body) = call(&db, &url("SELECT value FROM odd", "epoch=ns"), b"").await;
    let want = format!(
        "\"values\":[[{DAY},0.30000000000000004],[{},1e-300],[{},null],[{},-0.0]]",
        DAY + 1,
        DAY + 2,
        DAY + 3
    );
    assert!(body.contains(&want), "{body}");
    assert_eq!(
        "0.30000000000000004".parse::<f64>().unwrap().to_bits(),
        (0.1f64 + 0.2).to_bits()
    );
    assert_eq!(
        "1e-300".parse::<f64>().unwrap().to_bits(),
        1e-300f64.to_bits()
    );
}

#[tokio::test]
async fn mean_per_minute_includes_empty_windows_as_null() {
    let db = plant();
    let q = format!(
        "SELECT mean(value) FROM temperature WHERE asset='a0001' AND time >= {DAY} AND time < {} \
         GROUP BY time(1m)",
        DAY + 5 * MIN
    );
    let j = query(&db, &q).await;
    let s = &series(&j)[0];
    assert_eq!(s["columns"], json!(["time", "mean"]));
    assert_eq!(
        s["values"],
        json!([
            [DAY, 20.0],
            [DAY + MIN, 21.0],
            [DAY + 2 * MIN, null],
            [DAY + 3 * MIN, 23.0],
            [DAY + 4 * MIN, 24.0]
        ])
    );
    for (fill, want) in [
        ("none", json!(null)),
        ("previous", json!(21.0)),
        ("0", json!(0)),
    ] {
        let j = query(&db, &format!("{q} fill({fill})")).await;
        let values = series(&j)[0]["values"].as_array().unwrap().clone();
        if fill == "none" {
            assert_eq!(values.len(), 4);
        } else {
            assert_eq!(values[2], json!([DAY + 2 * MIN, want]), "fill({fill})");
        }
    }
    // count shows 0 for an empty window; windows start at epoch multiples of the interval.
    let q = format!(
        "SELECT count(value) FROM temperature WHERE asset='a0001' AND time >= {} AND time < {} \
         GROUP BY time(1m)",
        DAY + MIN + 30 * SEC,
        DAY + 3 * MIN
    );
    let j = query(&db, &q).await;
    assert_eq!(
        series(&j)[0]["values"],
        json!([[DAY + MIN, 3], [DAY + 2 * MIN, 0]])
    );
}

#[tokio::test]
async fn max_per_hour_of_every_series_grouped_by_all_tags() {
    let db = plant();
    let q = format!(
        "SELECT max(value) FROM temperature WHERE time >= {DAY} AND time < {} GROUP BY time(1h), *",
        DAY + 24 * 60 * MIN
    );
    let j = query(&db, &q).await;
    let all = series(&j);
    assert_eq!(all.len(), 3);
    for (n, s) in all.iter().enumerate() {
        assert_eq!(
            s["tags"],
            json!({"asset": format!("a000{}", n + 1), "line": "l04", "site": "p1"})
        );
        assert_eq!(s["columns"], json!(["time", "max"]));
        let values = s["values"].as_array().unwrap();
        assert_eq!(values.len(), 24, "every hour of the day, empty ones null");
        assert_eq!(values[0], json!([DAY, 20.0 + n as f64 + 59.0]));
        assert_eq!(values[1], json!([DAY + 60 * MIN, 20.0 + n as f64 + 119.0]));
        assert_eq!(values[2], json!([DAY + 120 * MIN, null]));
    }
    // GROUP BY one tag, and no tag grouping merging the series.
    let by_asset = query(
        &db,
        &q.replace(
            "GROUP BY time(1h), *",
            "GROUP BY time(1h), asset fill(none)",
        ),
    )
    .await;
    assert_eq!(series(&by_asset)[2]["tags"], json!({"asset": "a0003"}));
    let merged = query(
        &db,
        &q.replace("GROUP BY time(1h), *", "GROUP BY time(1h) fill(none)"),
    )
    .await;
    assert_eq!(series(&merged).len(), 1);
    assert_eq!(series(&merged)[0]["values"][0], json!([DAY, 22.0 + 59.0]));
}

#[tokio::test]
async fn last_of_every_series_by_regex() {
    let db = plant();
    let j = query(&db, "SELECT last(value) FROM /.*/ GROUP BY *").await;
    let all = series(&j);
    let names: Vec<&str> = all.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "energy",
            "motor",
            "odd",
            "pump",
            "pump.flow",
            "temperature",
            "temperature",
            "temperature"
        ]
    );
    assert_eq!(all[0]["columns"], json!(["time", "last"]));
    assert_eq!(all[0]["tags"], json!({"asset": "a0001"}));
    assert_eq!(all[0]["values"], json!([[DAY + 9 * SEC, 1009]]));
    assert_eq!(all[1]["values"], json!([[DAY + SEC, true]]));
    assert!(
        all[2].get("tags").is_none(),
        "a series without labels has no tags"
    );
    assert_eq!(
        all[7]["values"],
        json!([[DAY + 7190 * SEC, 20.0 + 2.0 + 119.0]])
    );
    // A time range that ends before the latest point reads the series instead.
    let j = query(
        &db,
        &format!(
            "SELECT last(value) FROM energy WHERE time < {}",
            DAY + 5 * SEC
        ),
    )
    .await;
    assert_eq!(series(&j)[0]["values"], json!([[DAY + 4 * SEC, 1004]]));
}

#[tokio::test]
async fn integer_and_bool_series_keep_their_types() {
    let db = plant();
    let j = query(
        &db,
        "SELECT sum(value), count(value), mean(value), min(value), first(value) FROM energy",
    )
    .await;
    let s = &series(&j)[0];
    assert_eq!(
        s["columns"],
        json!(["time", "sum", "count", "mean", "min", "first"])
    );
    assert_eq!(s["values"], json!([[0, 10_045, 10, 1004.5, 1000, 1000]]));
    let j = query(&db, "SELECT count(value), last(value) FROM motor").await;
    assert_eq!(series(&j)[0]["values"], json!([[0, 2, true]]));
    let j = query(&db, "SELECT mean(value) FROM motor").await;
    let err = j["results"][0]["error"].as_str().unwrap();
    assert!(err.contains("mean()") && err.contains("bool"), "{err}");
}

#[tokio::test]
async fn a_field_other_than_value_reads_measurement_dot_field() {
    let db = plant();
    let j = query(&db, "SELECT flow FROM pump").await;
    let s = &series(&j)[0];
    assert_eq!(s["name"], "pump");
    assert_eq!(s["columns"], json!(["time", "flow"]));
    assert_eq!(s["values"], json!([[DAY, 3.5], [DAY + SEC, 4.5]]));
    let j = query(&db, "SELECT max(flow) AS top FROM \"db\".\"rp\".\"pump\"").await;
    assert_eq!(series(&j)[0]["columns"], json!(["time", "top"]));
    assert_eq!(series(&j)[0]["values"], json!([[DAY + SEC, 4.5]]));
}

#[tokio::test]
async fn times_are_rfc3339_without_epoch_and_units_with_it() {
    let db = plant();
    let q = "SELECT value FROM \"pump.flow\"";
    let (_, body) = call(&db, &url(q, ""), b"").await;
    assert!(
        body.contains(r#"[["2026-01-01T00:00:00Z",3.5],["2026-01-01T00:00:01Z",4.5]]"#),
        "{body}"
    );
    let (_, body) = call(&db, &url(q, "epoch=s"), b"").await;
    assert!(
        body.contains("[[1767225600,3.5],[1767225601,4.5]]"),
        "{body}"
    );
    let (_, body) = call(&db, &url(q, "epoch=ms"), b"").await;
    assert!(body.contains("[[1767225600000,3.5]"), "{body}");
    let (status, body) = call(&db, &url(q, "epoch=d"), b"").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn time_bounds_in_rfc3339_and_relative_forms() {
    let db = plant();
    let j = query(
        &db,
        "SELECT count(value) FROM energy WHERE time >= '2026-01-01T00:00:02Z' AND time <= '2026-01-01 00:00:04'",
    )
    .await;
    assert_eq!(series(&j)[0]["values"], json!([[DAY + 2 * SEC, 3]]));
    let j = query(&db, "SELECT value FROM energy WHERE time > now() + 1000d").await;
    assert!(
        j["results"][0].get("series").is_none(),
        "nothing is that far in the future"
    );
    let j = query(
        &db,
        "SELECT value FROM energy WHERE time < now() + 1000d LIMIT 1",
    )
    .await;
    assert_eq!(series(&j)[0]["values"], json!([[DAY, 1000]]));
}

#[tokio::test]
async fn statements_databases_and_errors() {
    let db = plant();
    let j = query(
        &db,
        "CREATE DATABASE bench; SHOW DATABASES; SELECT value FROM nothing_here",
    )
    .await;
    assert_eq!(
        j,
        json!({"results": [
            {"statement_id": 0},
            {"statement_id": 1, "series": [{"name": "databases", "columns": ["name"], "values": [["lodestone"]]}]},
            {"statement_id": 2}
        ]})
    );
    let (status, body) = call(&db, "db=bench", b"").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, r#"{"error":"missing required parameter \"q\""}"#);
    let (status, body) = call(&db, &url("FOO bar", ""), b"").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"{"error":"error parsing query: found FOO, expected SELECT, SHOW, CREATE at line 1, char 1"}"#
    );
    let j = query(
        &db,
        "SELECT mean(value) FROM energy GROUP BY time(1m); SELECT value FROM energy",
    )
    .await;
    assert!(j["results"][0]["error"]
        .as_str()
        .unwrap()
        .contains("lower limit"));
    assert_eq!(
        j["results"][1],
        json!({"statement_id": 1, "error": "not executed"})
    );
}

#[tokio::test]
async fn post_body_parameters_override_the_url() {
    let db = plant();
    let (status, body) = call(
        &db,
        &url("SELECT nonsense", "epoch=s"),
        b"q=SELECT+value+FROM+energy+LIMIT+2",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let j: Json = serde_json::from_str(&body).unwrap();
    assert_eq!(
        series(&j)[0]["values"],
        json!([[1767225600, 1000], [1767225601, 1001]])
    );
}

#[tokio::test]
async fn order_limit_and_slimit() {
    let db = plant();
    let j = query(
        &db,
        "SELECT value FROM energy ORDER BY time DESC LIMIT 2 OFFSET 1",
    )
    .await;
    assert_eq!(
        series(&j)[0]["values"],
        json!([[DAY + 8 * SEC, 1008], [DAY + 7 * SEC, 1007]])
    );
    let j = query(
        &db,
        "SELECT last(value) FROM temperature GROUP BY * SLIMIT 1 SOFFSET 1",
    )
    .await;
    assert_eq!(series(&j).len(), 1);
    assert_eq!(series(&j)[0]["tags"]["asset"], "a0002");
}

#[tokio::test]
async fn several_fields_join_on_time_and_missing_tags_group_as_empty() {
    let db = plant();
    let j = query(&db, "SELECT value, flow FROM pump").await;
    let s = &series(&j)[0];
    assert_eq!(s["columns"], json!(["time", "value", "flow"]));
    assert_eq!(
        s["values"],
        json!([
            [DAY, 1, 3.5],
            [DAY + SEC, null, 4.5],
            [DAY + 2 * SEC, 0, null]
        ])
    );
    let j = query(&db, "SELECT count(value) FROM energy GROUP BY site").await;
    assert_eq!(series(&j)[0]["tags"], json!({"site": ""}));
    let j = query(
        &db,
        "SELECT count(value) FROM temperature WHERE asset =~ /^a000[12]$/ AND site != 'p2' GROUP BY asset",
    )
    .await;
    let counts: Vec<&Json> = series(&j).iter().map(|s| &s["values"][0][1]).collect();
    assert_eq!(counts, [&json!(714), &json!(720)]);
}

/// What Grafana's InfluxDB query editor asks to offer measurements, tags and fields.
#[tokio::test]
async fn schema_listings_answer_in_influxdb_shape() {
    let db = plant();
    let get = |q: &'static str| {
        let db = &db;
        async move {
            let (status, body) = call(db, &url(q, ""), b"").await;
            assert_eq!(status, StatusCode::OK, "{q}: {body}");
            serde_json::from_str::<Json>(&body).unwrap()
        }
    };
    assert_eq!(
        get("SHOW TAG KEYS FROM temperature").await,
        json!({"results":[{"statement_id":0,"series":[{"name":"temperature","columns":["tagKey"],
            "values":[["asset"],["line"],["site"]]}]}]})
    );
    assert_eq!(
        get("SHOW TAG VALUES FROM /temp.*/ WITH KEY = \"asset\"").await,
        json!({"results":[{"statement_id":0,"series":[{"name":"temperature","columns":["key","value"],
            "values":[["asset","a0001"],["asset","a0002"],["asset","a0003"]]}]}]})
    );
    assert_eq!(
        get("SHOW FIELD KEYS FROM energy, motor, odd").await,
        json!({"results":[{"statement_id":0,"series":[
            {"name":"energy","columns":["fieldKey","fieldType"],"values":[["value","integer"]]},
            {"name":"motor","columns":["fieldKey","fieldType"],"values":[["value","boolean"]]},
            {"name":"odd","columns":["fieldKey","fieldType"],"values":[["value","float"]]}]}]})
    );
    assert_eq!(
        get("SHOW SERIES FROM pump, \"pump.flow\"").await,
        json!({"results":[{"statement_id":0,"series":[{"columns":["key"],
            "values":[["pump,asset=a0001"],["pump.flow,asset=a0001"]]}]}]})
    );
    // Nothing matches: an empty result, as InfluxDB gives.
    assert_eq!(
        get("SHOW TAG KEYS FROM nosuch").await,
        json!({"results":[{"statement_id":0}]})
    );
}
