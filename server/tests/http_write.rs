//! The InfluxDB-compatible `POST /write`, driven with raw HTTP/1.1 requests as `curl` would
//! send them, against a server run in-process on port 0: line protocol comes back bit-exact
//! through gRPC, precision and gzip work, and every bad body gets a 4xx naming the problem
//! (with its line number) and writes nothing.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;

use lodestone_client::{SeriesKey, Value};
use lodestone_server::testing::InProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP/1.1 request on a fresh connection; returns status and body.
async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: lodestone\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    // A server that refuses early (413) may close before the whole body is sent; its answer
    // is still there to read.
    let _ = s.write_all(body).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status: u16 = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn write(addr: std::net::SocketAddr, query: &str, body: &[u8]) -> (u16, String) {
    request(addr, "POST", &format!("/write?{query}"), &[], body).await
}

fn key(name: &str) -> SeriesKey {
    SeriesKey::new(name, [("asset", "a0003"), ("site", "p1")])
}

#[tokio::test]
async fn line_protocol_comes_back_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::open(dir.path()).await;
    let floats = [21.4, 0.1 + 0.2, 1e-300, -0.0, 5e-324, 1789.624, f64::MAX];
    let mut body = String::from("# plant gateway\n");
    for (i, v) in floats.iter().enumerate() {
        body.push_str(&format!(
            "temperature,site=p1,asset=a0003 value={v:?} {}\n",
            1_000 + i
        ));
    }
    body.push_str("motor_state,site=p1,asset=a0003 value=2i 1000\n");
    body.push_str("pump,asset=a0003,site=p1 running=true,speed=1450i 1000\r\n");
    let (status, text) = write(srv.http, "db=plant&precision=ns", body.as_bytes()).await;
    assert_eq!(status, 204, "{text}");

    let got = srv
        .client
        .query(key("temperature"), 0, i64::MAX)
        .await
        .unwrap();
    let bits: Vec<(i64, u64)> = got
        .iter()
        .map(|p| match p.value {
            Some(Value::F64(v)) => (p.ts_ns, v.to_bits()),
            ref other => panic!("{other:?}"),
        })
        .collect();
    let want: Vec<(i64, u64)> = floats
        .iter()
        .enumerate()
        .map(|(i, v)| (1_000 + i as i64, v.to_bits()))
        .collect();
    assert_eq!(bits, want);
    let state = srv
        .client
        .query(key("motor_state"), 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(state[0].value, Some(Value::I64(2)));
    let running = srv
        .client
        .query(key("pump.running"), 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(running[0].value, Some(Value::Bool(true)));
    let speed = srv
        .client
        .query(key("pump.speed"), 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(speed[0].value, Some(Value::I64(1450)));
    srv.stop().await;
}

#[tokio::test]
async fn precision_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::open(dir.path()).await;
    let (status, text) = write(
        srv.http,
        "precision=s",
        b"flow,site=p1,asset=a0003 value=1.5 3\n",
    )
    .await;
    assert_eq!(status, 204, "{text}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"flow,site=p1,asset=a0003 value=2.5 4000\n")
        .unwrap();
    let zipped = gz.finish().unwrap();
    let (status, text) = request(
        srv.http,
        "POST",
        "/write?precision=ms",
        &[("Content-Encoding", "gzip")],
        &zipped,
    )
    .await;
    assert_eq!(status, 204, "{text}");
    let got = srv.client.query(key("flow"), 0, i64::MAX).await.unwrap();
    let ts: Vec<i64> = got.iter().map(|p| p.ts_ns).collect();
    assert_eq!(ts, [3_000_000_000, 4_000_000_000]);
    srv.stop().await;
}

#[tokio::test]
async fn bad_bodies_are_refused_whole_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::open(dir.path()).await;
    let (status, _) = write(srv.http, "", b"setpoint,site=p1 value=1 1\n").await;
    assert_eq!(status, 204);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "",
            b"m value=1 1\nm value=2 2\nm value=oops 3\n".to_vec(),
            400,
            "line 3",
        ),
        (
            "",
            b"m value=1 1\nm,site value=1 2\n".to_vec(),
            400,
            "line 2",
        ),
        ("", b"m value=\"text\" 1\n".to_vec(), 400, "string values"),
        ("", b"m value=1 1e9\n".to_vec(), 400, "invalid timestamp"),
        (
            "precision=s",
            b"m value=1 9223372036854775807\n".to_vec(),
            400,
            "out of range",
        ),
        (
            "precision=fortnight",
            b"m value=1 1\n".to_vec(),
            400,
            "invalid precision",
        ),
        ("", b"\n\n".to_vec(), 400, "no points"),
        (
            "",
            b"m value=1 1\n\xff\xfe value=1 2\n".to_vec(),
            400,
            "line 2",
        ),
        (
            "",
            b"m value=1 1\nsetpoint,site=p1 value=true 2\n".to_vec(),
            400,
            "setpoint",
        ),
    ];
    for (query, body, want_status, needle) in cases {
        let (status, text) = write(srv.http, query, &body).await;
        assert_eq!(status, want_status, "{query} {body:?}: {text}");
        assert!(text.contains(needle), "{body:?}: {text}");
        assert!(
            text.starts_with("{\"error\":"),
            "InfluxDB error shape: {text}"
        );
    }
    let (status, text) = request(
        srv.http,
        "POST",
        "/write",
        &[("Content-Encoding", "gzip")],
        b"not gzip at all",
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("gzip"), "{text}");
    // Nothing of the refused bodies was written: only the first series exists.
    let series = srv.client.list_series().await.unwrap();
    assert_eq!(series.len(), 1, "{series:?}");
    srv.stop().await;
}

#[tokio::test]
async fn admin_flush_moves_the_head_to_segments() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::open(dir.path()).await;
    let (status, _) = write(srv.http, "", b"m value=1 1\n").await;
    assert_eq!(status, 204);
    let (status, text) = request(srv.http, "GET", "/admin/flush", &[], b"").await;
    assert_eq!(status, 200, "{text}");
    let stats = srv.client.stats().await.unwrap();
    assert_eq!(stats.segments, 1, "{stats:?}");
    srv.stop().await;
}

#[tokio::test]
async fn admin_compact_leaves_one_file_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::open(dir.path()).await;
    for t in [1, 2, 3] {
        let line = format!("m,asset=a0003,site=p1 value={t} {t}\n");
        assert_eq!(write(srv.http, "", line.as_bytes()).await.0, 204);
        let (status, text) = request(srv.http, "GET", "/admin/flush", &[], b"").await;
        assert_eq!(status, 200, "{text}");
    }
    let (status, text) = request(srv.http, "POST", "/admin/compact", &[], b"").await;
    assert_eq!(status, 200, "{text}");
    // The background compaction may have merged them already; either way one file is left.
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    for field in [
        "partitions_compacted",
        "files_in",
        "bytes_out",
        "retention_files_dropped",
    ] {
        assert!(report[field].is_u64(), "{field} in {text}");
    }
    let stats = srv.client.stats().await.unwrap();
    assert_eq!(stats.segments, 1, "{stats:?}");
    let points = srv.client.query(key("m"), 0, 10).await.unwrap();
    assert_eq!(points.len(), 3);
    srv.stop().await;
}

#[tokio::test]
async fn metrics_show_latency_histograms_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::open(dir.path()).await;
    assert_eq!(write(srv.http, "", b"m value=1 1\n").await.0, 204);
    assert_eq!(write(srv.http, "", b"m value=x 1\n").await.0, 400);
    srv.client.query(key("m"), 0, 10).await.unwrap_err(); // unknown series: not a refusal
    let (status, text) = request(srv.http, "GET", "/metrics", &[], b"").await;
    assert_eq!(status, 200);
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
    };
    assert_eq!(value("lodestone_points_written_total"), 1.0);
    assert!(value("lodestone_wal_fsync_seconds_count") >= 1.0);
    assert_eq!(value("lodestone_write_seconds_count"), 2.0);
    assert_eq!(value("lodestone_query_seconds_count"), 1.0);
    assert_eq!(value("lodestone_requests_invalid_total"), 1.0);
    assert!(value("process_resident_memory_bytes") > 1e6);
    assert!(text.contains("lodestone_wal_fsync_seconds_bucket{le=\"+Inf\"}"));
    srv.stop().await;
}

#[tokio::test]
async fn oversized_bodies_get_413_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let srv = InProcess::open(dir.path()).await;
    let line = b"big,site=p1 value=1.5 1\n";
    let body: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(lodestone_server::influx::MAX_BODY_BYTES + line.len())
        .collect();
    let (status, text) = write(srv.http, "", &body).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("larger than"), "{text}");
    assert!(srv.client.list_series().await.unwrap().is_empty());
    srv.stop().await;
}
