//! End to end with real processes: the `lodestone` binary serves a fresh data folder; the
//! Rust client's batching writer streams plant-like readings plus edge values
//! into it; every point is read back through gRPC, the InfluxDB-compatible HTTP `/query` and
//! the `lodestone query` command, and must match bit for bit. Then the server is stopped with
//! SIGTERM, started again, and everything must still be there; `delete` and `meta` work from
//! the command line.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use lodestone_client::{Client, Point, SeriesKey, Value, WriterOptions};

/// Series text for the CLI and key for the client, from the plant data set's tags.
fn plant_key(measurement: &str, tags: &str) -> (String, SeriesKey) {
    let labels: Vec<(&str, &str)> = tags
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let text = format!(
        "{measurement}{{{}}}",
        labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    (text, SeriesKey::new(measurement, labels.iter().copied()))
}

/// (timestamp, type, bits) of a point: what must survive.
fn bits(ts: i64, v: &Option<Value>) -> (i64, char, u64) {
    match v {
        Some(Value::F64(f)) => (ts, 'f', f.to_bits()),
        Some(Value::I64(i)) => (ts, 'i', *i as u64),
        Some(Value::Bool(b)) => (ts, 'b', *b as u64),
        None => (ts, '-', 0),
    }
}

type Expected = BTreeMap<String, (SeriesKey, Vec<(i64, char, u64)>)>;

/// Plant-like readings made here (the test must not depend on files outside the checkout):
/// for two assets over half an hour at 1 s, a temperature at 0.1 resolution, a pressure at
/// 0.01, a full-precision vibration with millisecond jitter, and an integer motor state.
fn plant_points() -> Vec<(&'static str, String, i64, Value)> {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let start = 1_767_225_600_000_000_000i64;
    let mut out = Vec::new();
    for asset in 0..2 {
        let tags = format!("site=p1,line=l0{asset},asset=a000{asset}");
        let (mut temp, mut press, mut state) = (21.0 + asset as f64, 4.5, 1i64);
        for s in 0..1800i64 {
            let t = start + s * 1_000_000_000;
            let noise = (next() % 1000) as f64 / 1000.0 - 0.5;
            temp += noise * 0.1;
            press += noise * 0.02;
            if next() % 500 == 0 {
                state = (state + 1) % 3;
            }
            let jitter = (next() % 5) as i64 - 2;
            let vib = 2.5 + noise * 1.3;
            out.push((
                "temperature",
                tags.clone(),
                t,
                Value::F64((temp * 10.0).round() / 10.0),
            ));
            out.push((
                "pressure",
                tags.clone(),
                t,
                Value::F64((press * 100.0).round() / 100.0),
            ));
            out.push((
                "vibration",
                tags.clone(),
                t + jitter * 1_000_000,
                Value::F64(vib),
            ));
            out.push(("motor_state", tags.clone(), t, Value::I64(state)));
        }
    }
    out
}

fn dataset() -> Expected {
    let mut want: Expected = BTreeMap::new();
    for (measurement, tags, ts, v) in plant_points() {
        let (text, key) = plant_key(measurement, &tags);
        want.entry(text)
            .or_insert_with(|| (key, Vec::new()))
            .1
            .push(bits(ts, &Some(v)));
    }
    // Values that are easy to lose on the way: shortest-decimal edge cases, signed zero,
    // subnormals, extremes, integers at the i64 limits, booleans.
    let edge_f = [
        0.1 + 0.2,
        -0.0,
        5e-324,
        1e-300,
        f64::MAX,
        f64::MIN,
        1789.624,
        4.57,
    ];
    let (text, key) = plant_key("edge_float", "site=p9");
    let pts = edge_f
        .iter()
        .enumerate()
        .map(|(i, f)| bits(1_767_225_600_000_000_000 + i as i64, &Some(Value::F64(*f))))
        .collect();
    want.insert(text, (key, pts));
    let (text, key) = plant_key("edge_int", "site=p9");
    let pts = [i64::MIN + 1, -1, 0, 1, i64::MAX]
        .iter()
        .enumerate()
        .map(|(i, v)| bits(i as i64 * 1_000, &Some(Value::I64(*v))))
        .collect();
    want.insert(text, (key, pts));
    let (text, key) = plant_key("valve_open", "site=p9");
    let pts = [true, false, true]
        .iter()
        .enumerate()
        .map(|(i, v)| bits(-5_000 + i as i64, &Some(Value::Bool(*v))))
        .collect();
    want.insert(text, (key, pts));
    want
}

fn value_of(kind: char, b: u64) -> Value {
    match kind {
        'f' => Value::F64(f64::from_bits(b)),
        'i' => Value::I64(b as i64),
        _ => Value::Bool(b != 0),
    }
}

async fn check_grpc(client: &Client, want: &Expected) {
    for (text, (key, pts)) in want {
        let got = client.query(key.clone(), i64::MIN, i64::MAX).await.unwrap();
        let got: Vec<_> = got.iter().map(|p| bits(p.ts_ns, &p.value)).collect();
        assert_eq!(&got, pts, "gRPC read of {text}");
    }
}

fn check_http(server: &common::Server, want: &Expected) {
    for (text, (key, pts)) in want {
        let mut q = format!("SELECT value FROM \"{}\"", key.name);
        let conds: Vec<String> = key
            .labels
            .iter()
            .map(|l| format!("\"{}\" = '{}'", l.name, l.value))
            .collect();
        if !conds.is_empty() {
            q.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        let target = format!("/query?epoch=ns&q={}", urlencode(&q));
        let (status, body) = common::http_request(server.http, "GET", &target, b"").unwrap();
        assert_eq!(status, 200, "{q}: {body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        let values = doc["results"][0]["series"][0]["values"]
            .as_array()
            .unwrap_or_else(|| panic!("{q}: {body}"));
        let got: Vec<(i64, char, u64)> = values
            .iter()
            .zip(pts)
            .map(|(row, &(_, kind, _))| {
                let ts = row[0].as_i64().unwrap();
                let v = match kind {
                    'f' => Value::F64(row[1].as_f64().unwrap()),
                    'i' => Value::I64(row[1].as_i64().unwrap()),
                    _ => Value::Bool(row[1].as_bool().unwrap()),
                };
                bits(ts, &Some(v))
            })
            .collect();
        assert_eq!(values.len(), pts.len(), "HTTP row count of {text}");
        assert_eq!(&got, pts, "HTTP read of {text}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn cli(server: &common::Server, args: &[&str]) -> String {
    let out = Command::new(common::lodestone_bin())
        .args(args)
        .arg("--addr")
        .arg(server.grpc.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lodestone {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn check_cli(server: &common::Server, want: &Expected) {
    for (text, (_, pts)) in want {
        let csv = cli(server, &["query", "--series", text, "--format", "csv"]);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("series,timestamp,value,quality"));
        let got: Vec<(i64, char, u64)> = lines
            .zip(pts)
            .map(|(line, &(_, kind, _))| {
                // The series (quoted, with commas) comes first; the last three fields are plain.
                let mut f = line.rsplitn(4, ',');
                let _quality = f.next().unwrap();
                let value = f.next().unwrap();
                let ts = lodestone_server::cli::time::parse(f.next().unwrap()).unwrap();
                let v = match kind {
                    'f' => Value::F64(value.parse().unwrap()),
                    'i' => Value::I64(value.trim_end_matches('i').parse().unwrap()),
                    _ => Value::Bool(value.parse().unwrap()),
                };
                bits(ts, &Some(v))
            })
            .collect();
        assert_eq!(&got, pts, "CLI read of {text}");
    }
}

#[test]
fn writes_streamed_by_the_client_read_back_bit_exact_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let want = dataset();
    let total: usize = want.values().map(|(_, p)| p.len()).sum();
    assert!(total > 10_000, "{total}");

    let server = common::Server::start(&data, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::connect(server.grpc_url()).await.unwrap();
        let writer = client
            .writer(WriterOptions {
                batch_points: 2_000,
                ..WriterOptions::default()
            })
            .unwrap();
        // Interleave series the way a gateway does: one reading of each per scan.
        let longest = want.values().map(|(_, p)| p.len()).max().unwrap();
        for i in 0..longest {
            for (key, pts) in want.values() {
                if let Some(&(ts, kind, b)) = pts.get(i) {
                    writer
                        .push(key, Point::new(ts, value_of(kind, b)))
                        .await
                        .unwrap();
                }
            }
        }
        writer.close().await.unwrap();
        assert_eq!(writer.stats().acked_points, total as u64);
        check_grpc(&client, &want).await;
    });
    check_http(&server, &want);
    check_cli(&server, &want);

    // SIGTERM flushes; a restart finds everything, through every path again.
    server.stop();
    let server = common::Server::start(&data, &[]);
    rt.block_on(async {
        let client = Client::connect(server.grpc_url()).await.unwrap();
        check_grpc(&client, &want).await;
    });
    check_http(&server, &want);
    check_cli(&server, &want);

    // Series administration from the command line.
    let put = cli(
        &server,
        &[
            "meta",
            "put",
            "--series",
            "edge_float{site=\"p9\"}",
            "--unit",
            "bar",
            "--description",
            "test gauge",
        ],
    );
    assert!(put.contains("unit:        bar"), "{put}");
    let get = cli(
        &server,
        &["meta", "get", "--series", "edge_float{site=\"p9\"}"],
    );
    assert!(
        get.contains("type:        f64") && get.contains("test gauge"),
        "{get}"
    );
    cli(
        &server,
        &[
            "delete",
            "--series",
            "edge_int{site=\"p9\"}",
            "--start",
            "0",
            "--end",
            "3000",
        ],
    );
    let mut after = want.clone();
    after
        .get_mut("edge_int{site=\"p9\"}")
        .unwrap()
        .1
        .retain(|&(ts, _, _)| !(0..3000).contains(&ts));
    check_cli(&server, &after);
    server.stop();
}
