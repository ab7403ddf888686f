//! The cardinality limit as a client meets it: HTTP `/write` answers 400 naming the limit
//! (so collectors stop resending a batch that cannot succeed), gRPC answers
//! RESOURCE_EXHAUSTED with the same message, which the Rust client does not retry, nothing
//! of the refused batch is stored, and existing series keep being written.

#![allow(clippy::unwrap_used)]

use lodestone_client::{Point, SeriesKey, WriteRequest};
use lodestone_engine::Options;
use lodestone_server::testing::InProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn post_write(addr: std::net::SocketAddr, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /write?precision=s HTTP/1.1\r\nHost: lodestone\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    (status, body.unwrap_or_default())
}

fn key(tag: &str) -> SeriesKey {
    SeriesKey::new("reading", [("tag", tag)])
}

#[tokio::test]
async fn new_series_past_the_limit_are_refused_over_http_and_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        max_series: 2,
        ..Options::default()
    };
    let srv = InProcess::open_with(dir.path(), opts).await;
    let (status, body) = post_write(
        srv.http,
        "reading,tag=A value=1 10\nreading,tag=B value=2 10\n",
    )
    .await;
    assert_eq!(status, 204, "{body}");

    // HTTP: a body with a known and a new series is refused whole with a 400.
    let (status, body) = post_write(
        srv.http,
        "reading,tag=A value=3 20\nreading,tag=C value=4 20\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("series limit reached: max_series is 2"),
        "{body}"
    );
    assert!(
        body.contains(r#"reading{tag=\"C\"}"#) || body.contains("tag=\\\"C\\\""),
        "{body}"
    );

    // gRPC: RESOURCE_EXHAUSTED, the same message, and not a retryable error for the client.
    let req = WriteRequest::new(1).add(key("D"), vec![Point::new(30_000_000_000, 5.0)]);
    let err = srv.client.write(req).await.unwrap_err();
    assert_eq!(err.code(), Some(tonic::Code::ResourceExhausted), "{err:?}");
    assert!(err.to_string().contains("max_series is 2"), "{err}");
    assert!(!err.is_retryable(), "{err:?}");

    // Nothing of the refused requests was stored; the known series stay writable.
    let listed = srv.client.list_series().await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (status, body) = post_write(
        srv.http,
        "reading,tag=A value=5 40\nreading,tag=B value=6 40\n",
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let points = srv.client.query(key("A"), 0, i64::MAX).await.unwrap();
    let times: Vec<i64> = points.iter().map(|p| p.ts_ns).collect();
    assert_eq!(times, [10_000_000_000, 40_000_000_000]);
    srv.stop().await;
}
