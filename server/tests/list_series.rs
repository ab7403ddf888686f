//! Listing series at plant scale: `ListSeries` answers pages in key order that a client walks
//! with `after` (every series exactly once), filtered by a selector through the series
//! index, 10,000 per page unless asked otherwise and never more than 100,000; the `lodestone
//! series` command walks the same pages; InfluxQL's `SHOW SERIES` and `SHOW TAG VALUES`
//! take `LIMIT` and `OFFSET` as InfluxDB 1.x does. The server runs in-process on port 0.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use lodestone_client::{
    Error, LabelMatcher, Point, SeriesKey, SeriesSelector, ValueType, WriteRequest,
};
use lodestone_engine::{Engine, Options, Value, WriteBatch};
use lodestone_proto::v1::PutSeriesMetadataRequest;
use lodestone_server::grpc::convert::{key_from_proto, selector_to_proto};
use lodestone_server::grpc::{LIST_SERIES_DEFAULT, LIST_SERIES_MAX};
use lodestone_server::series_text::parse_selector;
use lodestone_server::testing::InProcess;
use serde_json::{json, Value as Json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_lodestone");

/// 3 names × 2 sites × 8 assets, a name without labels, and one series declared without
/// points: 50 series, written in an order unrelated to key order.
async fn plant(s: &InProcess) -> Vec<lodestone_engine::SeriesKey> {
    let mut batch = WriteRequest::new(1);
    let mut keys = Vec::new();
    for a in (0..8).rev() {
        for site in ["p2", "p1"] {
            for (n, name) in ["temperature", "flow", "temp.x"].iter().enumerate() {
                let asset = format!("a{a:03}");
                let key = SeriesKey::new(name, [("site", site), ("asset", asset.as_str())]);
                let ts = 1_000 + a * 10 + n as i64;
                batch = batch.add(key.clone(), vec![Point::new(ts, ts as f64)]);
                keys.push(key);
            }
        }
    }
    let odd = SeriesKey::new("odd", []);
    batch = batch.add(odd.clone(), vec![Point::new(5, 7i64)]);
    keys.push(odd);
    s.client.write(batch).await.unwrap();
    let declared = SeriesKey::new("valve", [("site", "p1")]);
    s.client
        .put_metadata(PutSeriesMetadataRequest {
            series: Some(declared.clone()),
            value_type: ValueType::Bool as i32,
            unit: String::new(),
            description: String::new(),
        })
        .await
        .unwrap();
    keys.push(declared);
    let mut keys: Vec<_> = keys
        .iter()
        .map(|k| key_from_proto(Some(k)).unwrap())
        .collect();
    keys.sort();
    keys
}

fn engine_keys(infos: &[lodestone_client::SeriesInfo]) -> Vec<lodestone_engine::SeriesKey> {
    infos
        .iter()
        .map(|i| key_from_proto(i.series.as_ref()).unwrap())
        .collect()
}

#[tokio::test]
async fn paging_walks_every_series_exactly_once_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let all = plant(&s).await;
    assert_eq!(all.len(), 50);

    // Pages of 7 by hand: 7 full pages, then one of 1 without a next key.
    let mut walked = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = s.client.list_series_page(None, after, 7).await.unwrap();
        pages += 1;
        assert!(pages <= 8, "the walk must end");
        assert!(page.series.len() <= 7);
        walked.extend(engine_keys(&page.series));
        match page.next_after {
            Some(next) => {
                assert_eq!(page.series.len(), 7, "only a full page has a next key");
                assert_eq!(Some(&next), page.series.last().unwrap().series.as_ref());
                after = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, 8);
    assert_eq!(walked, all, "every series once, in key order");

    // A limit that divides the count: the last full page still names a next key, whose
    // page is empty; the walker stops there without yielding an empty page.
    let mut pages = s.client.list_series_pages(None, 10);
    let mut sizes = Vec::new();
    let mut walked = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        sizes.push(page.len());
        walked.extend(engine_keys(&page));
    }
    assert_eq!(sizes, [10, 10, 10, 10, 10]);
    assert_eq!(walked, all);
    let last = s
        .client
        .list_series_page(None, Some(SeriesKey::new("valve", [("site", "p1")])), 10)
        .await
        .unwrap();
    assert!(last.series.is_empty() && last.next_after.is_none());

    // `after` need not be a known key: the page starts at the next one.
    let page = s
        .client
        .list_series_page(None, Some(SeriesKey::new("temp", [])), 2)
        .await
        .unwrap();
    assert_eq!((all[16].name(), all[17].name()), ("odd", "temp.x"));
    assert_eq!(engine_keys(&page.series), all[17..19]);

    // Types and newest points come with the keys; a declared series has no point.
    let listed = s.client.list_series().await.unwrap();
    assert_eq!(engine_keys(&listed), all);
    let odd = listed
        .iter()
        .find(|i| i.series.as_ref().unwrap().name == "odd");
    let odd = odd.unwrap();
    assert_eq!(odd.value_type, ValueType::I64 as i32);
    assert_eq!(odd.latest, Some(Point::new(5, 7i64)));
    let valve = listed.last().unwrap();
    assert_eq!(valve.value_type, ValueType::Bool as i32);
    assert_eq!(valve.latest, None);
    assert_eq!(s.client.list_series_all(None).await.unwrap(), listed);
    s.stop().await;
}

#[tokio::test]
async fn a_selector_lists_only_the_series_it_matches() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let all = plant(&s).await;
    for text in [
        r#"temp*{site="p1",asset=~"a00[1-3]"}"#,
        r#"temperature"#,
        r#"{asset!~"a00[0-6]", site!="p2"}"#,
        r#"{__name__=~"flow|odd"}"#,
        r#"nothing{site="p1"}"#,
    ] {
        let sel = parse_selector(text).unwrap();
        let want: Vec<_> = all.iter().filter(|k| sel.matches(k)).cloned().collect();
        let wire = selector_to_proto(&sel);
        let mut pages = s.client.list_series_pages(Some(wire.clone()), 3);
        let mut got = Vec::new();
        while let Some(page) = pages.next_page().await.unwrap() {
            assert!(page.len() <= 3);
            got.extend(engine_keys(&page));
        }
        assert_eq!(got, want, "{text}");
        let collected = s.client.list_series_all(Some(wire)).await.unwrap();
        assert_eq!(engine_keys(&collected), want, "{text}");
    }
    // Spot checks that the reference above is not vacuous.
    let p1_temps = parse_selector(r#"temp*{site="p1",asset=~"a00[1-3]"}"#).unwrap();
    assert_eq!(all.iter().filter(|k| p1_temps.matches(k)).count(), 6);

    // A pattern that does not compile, an unknown operator or a bad `after` is refused,
    // naming the problem.
    let bad = SeriesSelector::new(None, [LabelMatcher::matches("asset", "a(b")]);
    let e = s
        .client
        .list_series_page(Some(bad), None, 0)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.contains("a(b")),
        "{e:?}"
    );
    let mut unknown_op = LabelMatcher::equal("site", "p1");
    unknown_op.op = 9;
    let sel = SeriesSelector::new(None, [unknown_op]);
    let e = s
        .client
        .list_series_page(Some(sel), None, 0)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.contains("unknown op 9")),
        "{e:?}"
    );
    let e = s
        .client
        .list_series_page(None, Some(SeriesKey::new("", [])), 0)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.starts_with("after: ")),
        "{e:?}"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_limit_of_zero_is_the_default_and_no_page_exceeds_the_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), Options::default()).unwrap();
    let count = LIST_SERIES_MAX + 5;
    let mut batch = WriteBatch::new();
    for i in 0..count {
        let asset = format!("a{i:06}");
        let key = lodestone_engine::SeriesKey::new("t", [("asset", asset.as_str())]).unwrap();
        batch.add(key, vec![lodestone_engine::Point::new(1, Value::F64(1.0))]);
    }
    engine.write(&batch).unwrap();
    let s = InProcess::start(engine).await;

    let page = s.client.list_series_page(None, None, 0).await.unwrap();
    assert_eq!(page.series.len(), LIST_SERIES_DEFAULT);
    let next = page.next_after.unwrap();
    assert_eq!(
        next.labels[0].value,
        format!("a{:06}", LIST_SERIES_DEFAULT - 1)
    );

    let page = s
        .client
        .list_series_page(None, None, u32::MAX)
        .await
        .unwrap();
    assert_eq!(page.series.len(), LIST_SERIES_MAX);
    let next = page.next_after.unwrap();
    let rest = s
        .client
        .list_series_page(None, Some(next), u32::MAX)
        .await
        .unwrap();
    assert_eq!(rest.series.len(), 5);
    assert_eq!(rest.next_after, None);
    assert_eq!(
        rest.series[0].series.as_ref().unwrap().labels[0].value,
        format!("a{LIST_SERIES_MAX:06}")
    );
    // The default page size is what the walk uses too.
    assert_eq!(s.client.list_series().await.unwrap().len(), count);
    s.stop().await;
}

/// Runs `lodestone ARGS --addr <server>`: (success, stdout, stderr).
async fn cli(s: &InProcess, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg(args[0])
        .args(["--addr", &s.grpc_url()])
        .args(&args[1..]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_series_command_walks_the_pages_of_a_selection() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let all = plant(&s).await;

    // Pages of 2 for 6 series: every row once, in key order.
    let select = r#"temp*{site="p1",asset=~"a00[1-3]"}"#;
    let (ok, out, err) = cli(
        &s,
        &[
            "series",
            "--select",
            select,
            "--page-size",
            "2",
            "--format",
            "csv",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "series,type,timestamp,value,quality");
    assert_eq!(
        lines[1],
        r#""temp.x{asset=""a001"",site=""p1""}",f64,1970-01-01T00:00:00.000001012Z,1012,0"#
    );
    let listed: Vec<String> = lines[1..]
        .iter()
        .map(|l| {
            l.split(",f64,")
                .next()
                .unwrap()
                .trim_matches('"')
                .replace("\"\"", "\"")
        })
        .collect();
    let sel = parse_selector(select).unwrap();
    let want: Vec<String> = all
        .iter()
        .filter(|k| sel.matches(k))
        .map(|k| k.to_string())
        .collect();
    assert_eq!(listed, want);
    assert!(err.contains("6 series"), "{err}");

    // --limit stops after that many, whatever the page size.
    let (ok, out, err) = cli(&s, &["series", "--limit", "3", "--page-size", "2"]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "header and 3 rows:\n{out}");
    assert!(
        lines[0].starts_with("series") && lines[0].ends_with("quality"),
        "{out}"
    );
    assert!(
        lines[1].starts_with(r#"flow{asset="a000",site="p1"}  f64 "#),
        "{out}"
    );
    assert!(err.contains("3 series"), "{err}");

    // JSON lines; a series without points has a null latest.
    let (ok, out, err) = cli(&s, &["series", "--select", "valve", "--format", "json"]).await;
    assert!(ok, "{err}");
    let row: Json = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        row,
        json!({"series": "valve{site=\"p1\"}", "type": "bool", "latest": null})
    );

    // Everything, by default.
    let (ok, out, _) = cli(&s, &["series", "--format", "csv"]).await;
    assert!(ok);
    assert_eq!(out.lines().count(), all.len() + 1);

    let (ok, _, err) = cli(&s, &["series", "--select", r#"t{asset=~"a(b"}"#]).await;
    assert!(!ok);
    assert!(err.contains("bad pattern"), "{err}");
    let (ok, _, err) = cli(&s, &["series", "--page-size", "0"]).await;
    assert!(!ok);
    assert!(err.contains("page size"), "{err}");
    s.stop().await;
}

/// `GET /query?q=...` on the server's HTTP port: the JSON answer.
async fn influxql(s: &InProcess, q: &str) -> Json {
    let mut target = String::from("/query?db=plant&q=");
    for b in q.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => target.push(b as char),
            _ => target.push_str(&format!("%{b:02X}")),
        }
    }
    let mut stream = TcpStream::connect(s.http).await.unwrap();
    let head = format!("GET {target} HTTP/1.1\r\nHost: lodestone\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{q}: {text}");
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

/// The `values` of the only result series, as strings.
fn column(j: &Json) -> Vec<Vec<String>> {
    let series = j["results"][0]["series"].as_array();
    series
        .map(|all| {
            all.iter()
                .flat_map(|s| s["values"].as_array().unwrap())
                .map(|row| {
                    row.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn show_series_and_tag_values_take_limit_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let mut batch = WriteRequest::new(1);
    let keys = [
        SeriesKey::new("temperature", [("site", "p1"), ("asset", "a03")]),
        SeriesKey::new("temperature", [("site", "p1"), ("asset", "a01")]),
        SeriesKey::new("temperature", [("site", "p2"), ("asset", "a02")]),
        SeriesKey::new("pressure", [("site", "p1"), ("asset", "a01")]),
        SeriesKey::new("pump.flow", [("asset", "a01")]),
        SeriesKey::new("pump", [("asset", "a01")]),
        // Ordered by key, "a" comes before "a!"; by line-protocol text, as InfluxDB orders
        // series, "a!,k=v" comes before "a,k=v".
        SeriesKey::new("a", [("k", "v")]),
        SeriesKey::new("a!", [("k", "v")]),
        SeriesKey::new("odd", []),
    ];
    for k in keys {
        batch = batch.add(k, vec![Point::new(1, 1.0)]);
    }
    s.client.write(batch).await.unwrap();

    let every = [
        "a!,k=v",
        "a,k=v",
        "odd",
        "pressure,asset=a01,site=p1",
        "pump,asset=a01",
        "pump.flow,asset=a01",
        "temperature,asset=a01,site=p1",
        "temperature,asset=a02,site=p2",
        "temperature,asset=a03,site=p1",
    ];
    let keys_of = |rows: Vec<Vec<String>>| -> Vec<String> {
        rows.into_iter().map(|mut r| r.remove(0)).collect()
    };
    let j = influxql(&s, "SHOW SERIES").await;
    assert_eq!(j["results"][0]["series"][0]["columns"], json!(["key"]));
    assert_eq!(keys_of(column(&j)), every);
    assert_eq!(
        keys_of(column(&influxql(&s, "SHOW SERIES LIMIT 2").await)),
        every[..2]
    );
    assert_eq!(
        keys_of(column(&influxql(&s, "SHOW SERIES LIMIT 3 OFFSET 2").await)),
        every[2..5]
    );
    assert_eq!(
        keys_of(column(&influxql(&s, "SHOW SERIES OFFSET 7").await)),
        every[7..]
    );
    // Pages of 4 walk the whole list once.
    let mut walked = Vec::new();
    for offset in [0, 4, 8] {
        let q = format!("SHOW SERIES LIMIT 4 OFFSET {offset}");
        walked.extend(keys_of(column(&influxql(&s, &q).await)));
    }
    assert_eq!(walked, every);
    // Past the end: no series, as InfluxDB answers.
    assert_eq!(
        influxql(&s, "SHOW SERIES OFFSET 9").await,
        json!({"results": [{"statement_id": 0}]})
    );
    // With sources, the window applies to what they select.
    assert_eq!(
        keys_of(column(
            &influxql(&s, "SHOW SERIES FROM temperature, /^pu/ LIMIT 2 OFFSET 1").await
        )),
        ["pump.flow,asset=a01", "temperature,asset=a01,site=p1"]
    );

    // SHOW TAG VALUES: per measurement, as InfluxDB 1.x counts.
    let j = influxql(&s, "SHOW TAG VALUES WITH KEY = asset LIMIT 1 OFFSET 1").await;
    let series = j["results"][0]["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "only temperature has a second asset: {j}");
    assert_eq!(series[0]["name"], "temperature");
    assert_eq!(series[0]["values"], json!([["asset", "a02"]]));
    let j = influxql(
        &s,
        "SHOW TAG VALUES FROM temperature WITH KEY IN (asset, site) LIMIT 3",
    )
    .await;
    assert_eq!(
        column(&j),
        [["asset", "a01"], ["asset", "a02"], ["asset", "a03"]]
    );
    let j = influxql(
        &s,
        "SHOW TAG VALUES FROM temperature WITH KEY IN (asset, site) OFFSET 3",
    )
    .await;
    assert_eq!(column(&j), [["site", "p1"], ["site", "p2"]]);
    // Without a window, measurements lacking the key are left out and the rest listed whole.
    let j = influxql(&s, "SHOW TAG VALUES WITH KEY = site").await;
    let names: Vec<&str> = j["results"][0]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pressure", "temperature"]);
    s.stop().await;
}
