//! The real `lodestone` binary: `serve` opens a data folder, answers its HTTP probes with the
//! store's statistics, and stops cleanly on SIGTERM; the client commands `write`, `query`,
//! `latest` and `stats` talk to it; `stats --data-dir` reports a folder offline.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use lodestone_engine::{Engine, Options, Point, SeriesKey, Value, WriteBatch};

mod common;

use common::{free_port, get, Server, BIN};

fn seed(dir: &std::path::Path) {
    let e = Engine::open(dir, Options::default()).unwrap();
    let mut b = WriteBatch::new();
    let k = SeriesKey::new("temperature", [("site", "p1")]).unwrap();
    b.add(
        k,
        (0..100)
            .map(|i| Point::new(i * 1_000_000_000, Value::F64(20.0 + i as f64 / 10.0)))
            .collect(),
    );
    e.write(&b).unwrap();
    e.close().unwrap();
}

#[test]
fn serve_answers_probes_with_store_stats_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let server = Server::start(dir.path());
    let (status, _) = get(server.http, "/ping").unwrap();
    assert_eq!(status, 204);
    let (status, body) = get(server.http, "/health").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"series\":1"), "{body}");
    let (status, body) = get(server.http, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("lodestone_series 1"), "{body}");
    assert!(body.contains("lodestone_segments 1"), "{body}");
    server.terminate();

    // The folder is released and intact.
    let out = Command::new(BIN)
        .args(["stats", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(r#"temperature{site="p1"} (f64) latest 29.9"#),
        "{text}"
    );
}

#[test]
fn write_query_latest_and_stats_go_through_a_running_server_which_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let series = r#"temperature{site="p1",line="l\"04\""}"#;
    for (ts, value, quality) in [
        ("1000", "21.5", "0"),
        ("1970-01-01T00:00:00.000002Z", "-0", "0x40000000"),
        ("3000", "22.25", "0"),
    ] {
        let (ok, out, err) = server.cli(&[
            "write",
            "--series",
            series,
            "--value",
            value,
            "--ts",
            ts,
            "--quality",
            quality,
        ]);
        assert!(ok, "write {value}: {err}");
        assert!(out.contains("wrote 1 point"), "{out}");
    }

    let (ok, out, err) =
        server.cli(&["query", "--series", series, "--start", "0", "--end", "3000"]);
    assert!(ok, "query: {err}");
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows.len(),
        3,
        "header and two points, 3000 excluded:\n{out}"
    );
    assert!(
        rows[1].starts_with("1970-01-01T00:00:00.000001000Z") && rows[1].contains("21.5"),
        "{out}"
    );
    assert!(
        rows[2].contains("-0") && rows[2].ends_with("uncertain (0x40000000)"),
        "{out}"
    );
    assert!(err.contains("2 points of"), "{err}");

    let (ok, out, err) = server.cli(&["latest", "--series", series]);
    assert!(ok, "latest: {err}");
    assert!(
        out.contains("1970-01-01T00:00:00.000003000Z") && out.contains("22.25"),
        "{out}"
    );

    let (ok, out, err) = server.cli(&["stats"]);
    assert!(ok, "stats: {err}");
    assert!(out.contains("series        1"), "{out}");
    assert!(out.contains("written       3 points in 3 batches"), "{out}");
    assert!(
        out.contains(r#"temperature{line="l\"04\"",site="p1"} (f64) latest 22.25"#),
        "{out}"
    );

    // Rejections come back as messages naming the problem, with a failing exit status.
    let (ok, _, err) = server.cli(&["write", "--series", series, "--value", "7i"]);
    assert!(!ok);
    assert!(
        err.contains("point 0 has type i64, but the series holds f64"),
        "{err}"
    );
    let (ok, _, err) = server.cli(&["query", "--series", "pressure"]);
    assert!(!ok);
    assert!(err.contains("unknown series pressure"), "{err}");
    let (ok, _, err) = server.cli(&["query", "--series", r#"t{site="p1"#]);
    assert!(!ok);
    assert!(err.contains("unterminated label value"), "{err}");

    let log = server.terminate();
    assert!(log.contains("stopped cleanly"), "{log}");
    // The head was flushed on the way out: the folder holds one segment and no head.
    let out = Command::new(BIN)
        .args(["stats", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("segments      1"), "{text}");
    assert!(text.contains("head          0 bytes"), "{text}");
}

/// Three `temperature` assets and a `pressure` series, one point per second for two
/// minutes, asset n's value `100 n + second`.
fn seed_assets(dir: &std::path::Path) {
    let e = Engine::open(dir, Options::default()).unwrap();
    let mut b = WriteBatch::new();
    for (name, asset, n) in [
        ("temperature", "a1", 1),
        ("temperature", "a2", 2),
        ("temperature", "a3", 3),
        ("pressure", "a1", 4),
    ] {
        let k = SeriesKey::new(name, [("site", "p1"), ("asset", asset)]).unwrap();
        let points = (0..120)
            .map(|i| Point::new(i * 1_000_000_000, Value::F64((100 * n + i) as f64)))
            .collect();
        b.add(k, points);
    }
    e.write(&b).unwrap();
    e.close().unwrap();
}

#[test]
fn query_agg_prints_one_row_per_window_of_a_series_or_of_a_selection() {
    let dir = tempfile::tempdir().unwrap();
    seed_assets(dir.path());
    let server = Server::start(dir.path());
    let a1 = r#"temperature{asset="a1",site="p1"}"#;
    let minutes = ["--start", "0", "--end", "1970-01-01T00:03:00Z"];

    let mut args = vec!["query", "--series", a1, "--agg", "mean", "--step", "1m"];
    args.extend(minutes);
    let (ok, out, err) = server.cli(&args);
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "series                             start                           count  value",
            r#"temperature{asset="a1",site="p1"}  1970-01-01T00:00:00.000000000Z     60  129.5"#,
            r#"temperature{asset="a1",site="p1"}  1970-01-01T00:01:00.000000000Z     60  189.5"#,
        ],
        "the third minute has no point and fill is none"
    );
    assert!(err.contains("2 windows of 1 series"), "{err}");

    args.extend(["--fill", "null", "--format", "csv"]);
    let (ok, out, err) = server.cli(&args);
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().last(),
        Some(r#""temperature{asset=""a1"",site=""p1""}",1970-01-01T00:02:00.000000000Z,0,"#)
    );

    // A selector: a glob name and a pattern, every matching series in key order.
    let mut args = vec![
        "query",
        "--select",
        r#"temp*{asset=~"a[12]"}"#,
        "--agg",
        "max",
        "--step",
        "2m",
        "--format",
        "json",
    ];
    args.extend(minutes);
    let (ok, out, err) = server.cli(&args);
    assert!(ok, "{err}");
    let rows: Vec<(String, u64, f64)> = out
        .lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).unwrap();
            let series = j["series"].as_str().unwrap().to_string();
            (
                series,
                j["count"].as_u64().unwrap(),
                j["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (a1.to_string(), 120, 219.0),
            (
                r#"temperature{asset="a2",site="p1"}"#.to_string(),
                120,
                319.0
            ),
        ]
    );

    // Refusals name the problem: the server's for a step of 0, the parser's for a pattern.
    let mut args = vec!["query", "--series", a1, "--agg", "count", "--step", "0s"];
    args.extend(minutes);
    let (ok, _, err) = server.cli(&args);
    assert!(!ok);
    assert!(
        err.contains("window step 0 ns: it must be at least 1"),
        "{err}"
    );
    let mut args = vec![
        "query",
        "--select",
        r#"t{a=~"("}"#,
        "--agg",
        "count",
        "--step",
        "1s",
    ];
    args.extend(minutes);
    let (ok, _, err) = server.cli(&args);
    assert!(!ok);
    assert!(err.contains(r#"bad pattern at byte 5"#), "{err}");
    // --select without --agg is a usage error: raw points are of one series.
    let (ok, _, err) = server.cli(&["query", "--select", "temp*"]);
    assert!(!ok);
    assert!(err.contains("--agg"), "{err}");
    server.terminate();
}

#[test]
fn client_commands_without_a_server_name_the_address_they_tried() {
    let port = free_port();
    let out = Command::new(BIN)
        .args(["stats", "--addr", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot connect to http://127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn a_config_file_sets_folder_ports_and_durability_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, http) = (free_port(), free_port());
    let config = dir.path().join("lodestone.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\ngrpc_listen = \"127.0.0.1:{grpc}\"\nhttp_listen = \"127.0.0.1:1\"\n\
             [storage]\ndurability = \"interval:50ms\"\nhead_max_size = \"256MiB\"\n",
            dir.path().join("data")
        ),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--config"])
        .arg(&config)
        .args(["--http-listen", &format!("127.0.0.1:{http}")]);
    let server = Server::spawn(cmd, grpc, http);
    let (ok, _, err) = server.cli(&["write", "--series", "flow", "--value", "1.5", "--ts", "1"]);
    assert!(ok, "{err}");
    let log = server.terminate();
    assert!(log.contains("Interval(50ms)"), "{log}");
    assert!(
        dir.path().join("data").is_dir(),
        "data folder from the file"
    );
}

#[test]
fn a_config_file_with_an_unknown_key_is_refused_naming_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lodestone.toml");
    std::fs::write(&config, "[storage]\nhead_max = \"1GiB\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lodestone.toml"), "{err}");
    assert!(
        err.contains("line 2") && err.contains("unknown field `head_max`"),
        "{err}"
    );
}

#[test]
fn a_bad_durability_setting_is_refused_with_the_allowed_values() {
    let out = Command::new(BIN)
        .args(["serve", "--durability", "fast"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sync, interval:<duration> (e.g. interval:100ms), none"),
        "{err}"
    );
}

#[test]
fn a_folder_in_use_is_reported_not_opened_twice() {
    let dir = tempfile::tempdir().unwrap();
    let _held = Engine::open(dir.path(), Options::default()).unwrap();
    let out = Command::new(BIN)
        .args(["stats", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked by another process"), "{err}");
}
